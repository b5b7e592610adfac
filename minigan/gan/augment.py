"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): D sees translated and
cut-out images, real and fake alike, in its own loss and in G's.

Why: MNIST-5k's training split has 4,500 digits. A discriminator that has seen each of
them dozens of times starts to remember them; its outputs on the real set drift up, its
gradients tell G "be one of these 4,500" instead of "look like a digit", and sample
quality stalls or falls. Augmenting only the real images would teach G to draw the
augmentations; augmenting both, with operations G's gradient can flow through, changes
what D can memorise without changing what G should draw.

    translation  every image shifted by up to `shift` pixels in x and y, the border
                 filled with the background (-1)
    cutout       a square of half the image's side set to the background, at a random place

Both are linear in the image for fixed random draws, so their backward is exact and
twice differentiable (the R1 and gradient penalties differentiate through them).

    >>> augment = DiffAugment("translation,cutout")
    >>> logits = D(augment(images))
"""
import numpy as np

from ..function import Function
from ..random import generator
from ..tensor import Tensor

__all__ = ["DiffAugment", "translate", "cutout"]

BACKGROUND = -1.0          # the value of an empty pixel in G's [-1, 1] images


class Shift(Function):
    """y[n, c, i, j] = x[n, c, i - dy[n], j - dx[n]], and `fill` where that is outside.

    The fill is a constant, so the derivative is the shift alone; its adjoint shifts the
    gradient back (zeros where it fell outside), which is again a Shift: gradients of any
    order are Shifts.
    """

    def forward(self, x, dy, dx, fill):
        self.dy, self.dx = dy, dx
        return _shift(x, dy, dx, fill)

    def backward(self, gy):
        return Shift.apply(gy, dy=-self.dy, dx=-self.dx, fill=0.0)


def _shift(x, dy, dx, fill):
    """Shift each image n of x (N, C, H, W) by (dy[n], dx[n]) pixels; `fill` outside."""
    n, _, h, w = x.shape
    r = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.full(x.shape[:2] + (h + 2 * r, w + 2 * r), fill, dtype=x.dtype)
    padded[:, :, r:r + h, r:r + w] = x                                  # (N, C, H+2r, W+2r)
    rows = (r - dy)[:, None] + np.arange(h)                             # (N, H)
    cols = (r - dx)[:, None] + np.arange(w)                             # (N, W)
    batch = np.arange(n)[:, None, None]
    # (N, H, W, C) from the advanced index, back to (N, C, H, W)
    return np.ascontiguousarray(padded.transpose(0, 2, 3, 1)[batch, rows[:, :, None],
                                                             cols[:, None, :]].transpose(0, 3, 1, 2))


def translate(x, shift, rng=None):
    """Shift every image by a random whole number of pixels in [-shift, shift] per axis."""
    rng = rng or generator()
    n = x.shape[0]
    dy = rng.integers(-shift, shift + 1, n)
    dx = rng.integers(-shift, shift + 1, n)
    return Shift.apply(x, dy=dy, dx=dx, fill=BACKGROUND)


def cutout(x, ratio=0.5, rng=None):
    """Set a random square of side ratio * size (one per image) to the background."""
    rng = rng or generator()
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = rng.integers(0, h - sh + 1, n)[:, None, None]
    left = rng.integers(0, w - sw + 1, n)[:, None, None]
    i, j = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    hole = (i >= top) & (i < top + sh) & (j >= left) & (j < left + sw)          # (N, H, W)
    keep = Tensor._wrap((~hole)[:, None].astype(x.dtype))                       # (N, 1, H, W)
    return x * keep + BACKGROUND * (1 - keep)


class DiffAugment:
    """The same random augmentation policy for every batch D sees.

    policy: comma-separated names, applied in order: "translation", "cutout".
    shift: translation's largest shift in pixels (default: an eighth of the image side).
    """

    POLICIES = ("translation", "cutout")

    def __init__(self, policy="translation,cutout", shift=None, cutout_ratio=0.5):
        self.policy = [p.strip() for p in policy.split(",") if p.strip()]
        unknown = [p for p in self.policy if p not in self.POLICIES]
        if unknown:
            raise ValueError(f"DiffAugment: unknown policy {unknown}; choose from {self.POLICIES}")
        self.shift, self.cutout_ratio = shift, cutout_ratio

    def __call__(self, x):
        for name in self.policy:
            if name == "translation":
                x = translate(x, self.shift or max(1, x.shape[-1] // 8))
            else:
                x = cutout(x, self.cutout_ratio)
        return x

    def __repr__(self):
        return f"DiffAugment({','.join(self.policy)!r})"
