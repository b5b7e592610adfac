"""The reconstruction losses of the image-to-image GANs (the adversarial ones are gan.losses).

    masked_l1(output, target, mask)      L1 on the hole only (the context encoder):
                                         sum |output - target| * mask / sum mask
    masked_l2(output, target, mask)      the same with squared errors
    l1(output, target)                   L1 on every pixel (pix2pix)
    cycle_loss(a, G_BA(G_AB(a)))         CycleGAN: A -> B -> A must come back to a
    identity_loss(b, G_AB(b))            CycleGAN: a B image given to G_AB should stay put

All are means over pixels (and the batch), Tensors in, a 0-d Tensor out.
"""
from ..nn import functional as F

__all__ = ["masked_l1", "masked_l2", "l1", "cycle_loss", "identity_loss"]


def masked_l1(output, target, mask):
    """Mean absolute error over the pixels where mask == 1 (known pixels cost nothing)."""
    total = mask.sum()
    if float(total.item()) == 0:
        raise ValueError("masked_l1: the mask is empty")
    return ((output - target).abs() * mask).sum() / total


def masked_l2(output, target, mask):
    """Mean squared error over the pixels where mask == 1."""
    total = mask.sum()
    if float(total.item()) == 0:
        raise ValueError("masked_l2: the mask is empty")
    return (((output - target) ** 2) * mask).sum() / total


def l1(output, target):
    return F.l1_loss(output, target)


def cycle_loss(original, reconstructed):
    """||F(G(x)) - x||_1: a translation must keep enough of x to undo it."""
    return F.l1_loss(reconstructed, original)


def identity_loss(image, mapped):
    """||G(y) - y||_1 for y already in G's target domain: don't change what needs no change."""
    return F.l1_loss(mapped, image)
