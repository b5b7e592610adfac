"""What is missing, and what is noisy: the masks and corruptions the restoration apps undo.

Masks are float32 arrays of shape (N, 1, H, W) with 1 on the HOLE (missing pixels) and 0
on the known pixels, so `x * (1 - mask)` is what the model sees and `mask` selects the
pixels every inpainting loss and metric is measured on.

    >>> rng = np.random.default_rng(0)
    >>> mask = make_masks("center", 16, rng)              # (16, 1, 28, 28), a 14x14 hole
    >>> seen = apply_mask(images, mask)                   # holes filled with -1 (black)
    >>> noisy = add_noise(images, "gaussian", rng)        # (N, 1, 28, 28) in [-1, 1]

Images are in [-1, 1] like minigan's MNIST-5k; every function takes a NumPy
`np.random.Generator`, so an evaluation draws the same holes and noise every time.
"""
import numpy as np

MASK_KINDS = ("center", "squares", "half")
NOISE_KINDS = ("gaussian", "salt_pepper")


# --- masks (1 = missing) ---
def center_mask(n, size=28, hole=14):
    """A `hole` x `hole` square in the middle of every image."""
    mask = np.zeros((n, 1, size, size), np.float32)
    top = (size - hole) // 2
    mask[:, :, top:top + hole, top:top + hole] = 1
    return mask


def random_squares_mask(n, rng, size=28, count=3, side=(6, 10)):
    """`count` squares per image, sides drawn in [side[0], side[1]], anywhere inside."""
    mask = np.zeros((n, 1, size, size), np.float32)
    for i in range(n):
        for _ in range(count):
            s = int(rng.integers(side[0], side[1] + 1))
            top, left = rng.integers(0, size - s + 1, size=2)
            mask[i, 0, top:top + s, left:left + s] = 1
    return mask


def half_mask(n, rng, size=28):
    """One half of every image missing: top, bottom, left or right, drawn per image."""
    mask = np.zeros((n, 1, size, size), np.float32)
    sides = rng.integers(0, 4, size=n)
    h = size // 2
    for i, side in enumerate(sides):
        if side == 0:
            mask[i, 0, :h] = 1            # top half missing
        elif side == 1:
            mask[i, 0, h:] = 1            # bottom
        elif side == 2:
            mask[i, 0, :, :h] = 1         # left
        else:
            mask[i, 0, :, h:] = 1         # right
    return mask


def make_masks(kind, n, rng, size=28):
    """Masks of one kind ("center", "squares", "half"), or "mixed": each image draws a kind."""
    if kind == "center":
        return center_mask(n, size)
    if kind == "squares":
        return random_squares_mask(n, rng, size)
    if kind == "half":
        return half_mask(n, rng, size)
    if kind == "mixed":
        which = rng.integers(0, len(MASK_KINDS), size=n)
        all_kinds = [make_masks(k, n, rng, size) for k in MASK_KINDS]
        return np.stack(all_kinds)[which, np.arange(n)]       # (N, 1, H, W)
    raise ValueError(f"mask kind must be one of {MASK_KINDS + ('mixed',)}, got {kind!r}")


def apply_mask(images, mask, fill=-1.0):
    """Known pixels kept, holes set to `fill` (-1: black background in [-1, 1])."""
    return images * (1 - mask) + fill * mask


def composite(completion, images, mask):
    """Known pixels from `images`, hole pixels from `completion`: what an inpainter returns."""
    return images * (1 - mask) + completion * mask


# --- noise ---
# NOTE: heavy enough that some strokes are really uncertain: with std 0.5 and 20% the L1
# baseline restored the digits so well that pix2pix had nothing to add (see pix2pix.py).
def gaussian_noise(images, rng, std=0.8):
    """x + N(0, std^2) per pixel, clipped to [-1, 1] (std 0.8 = 40% of the range)."""
    noisy = images + std * rng.standard_normal(images.shape)
    return np.clip(noisy, -1, 1).astype(np.float32)


def salt_and_pepper(images, rng, amount=0.35):
    """A fraction `amount` of pixels set to white (+1) or black (-1), half each."""
    u = rng.random(images.shape)
    noisy = np.array(images, dtype=np.float32, copy=True)
    noisy[u < amount / 2] = -1.0                              # pepper
    noisy[(u >= amount / 2) & (u < amount)] = 1.0             # salt
    return noisy


def add_noise(images, kind, rng):
    """Gaussian, salt-and-pepper, or "mixed": each image draws one of the two."""
    if kind == "gaussian":
        return gaussian_noise(images, rng)
    if kind == "salt_pepper":
        return salt_and_pepper(images, rng)
    if kind == "mixed":
        which = rng.integers(0, 2, size=len(images)).astype(bool)[:, None, None, None]
        return np.where(which, gaussian_noise(images, rng), salt_and_pepper(images, rng))
    raise ValueError(f"noise kind must be one of {NOISE_KINDS + ('mixed',)}, got {kind!r}")
