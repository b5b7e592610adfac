"""Toy distributions for watching a GAN learn (and fail) in 1-D and 2-D.

Every function returns a `TensorDataset` of `(points, label)`: points are float32 of shape
(n, D), labels are int64 of shape (n,) (the mode, or spiral arm, each point came from).
The Gaussian mixtures return a `MixtureDataset`, which also carries the truth a metric
needs: `.centers` (K, D) and `.std`.

    >>> minigan.manual_seed(0)
    >>> ring = ring_of_gaussians(1000)           # 8 modes on a circle of radius 2
    >>> ring.tensors[0].shape, ring.centers.shape, ring.std
    ((1000, 2), (8, 2), 0.02)

All random draws come from minigan's seeded generator (`minigan.manual_seed`).
"""
import numpy as np

from .. import random as mg_random
from .dataset import TensorDataset


class MixtureDataset(TensorDataset):
    """Samples of an equal-weight mixture of isotropic Gaussians, plus its parameters.

    tensors: (points (n, D) float32, mode (n,) int64)
    centers: (K, D) float64 array, the mode means
    std:     the standard deviation of every mode (in each coordinate)
    """

    def __init__(self, points, modes, centers, std):
        super().__init__(points, modes)
        self.centers = np.asarray(centers, dtype=np.float64)
        self.std = float(std)


def sample_mixture(n, centers, std):
    """Draw n points from equal-weight Gaussians at `centers` (K, D) with `std`.

    Returns `(points (n, D) float32, modes (n,) int64)` as NumPy arrays.
    """
    centers = np.asarray(centers, dtype=np.float64)                  # (K, D)
    if n < 0:
        raise ValueError(f"number of samples must be >= 0, got {n}")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    rng = mg_random.generator()
    modes = rng.integers(0, len(centers), size=n, dtype=np.int64)    # (n,)
    noise = rng.standard_normal((n, centers.shape[1]))               # (n, D)
    points = centers[modes] + std * noise                            # (n, D)
    return points.astype(np.float32), modes


def gaussian_1d(n, mean=0.0, std=1.0):
    """n samples of a 1-D Gaussian, shape (n, 1): the simplest target for a GAN.

    >>> ds = gaussian_1d(500, mean=4.0, std=0.5)     # ds.centers == [[4.0]]
    """
    centers = np.array([[float(mean)]])                              # (1, 1)
    return MixtureDataset(*sample_mixture(n, centers, std), centers, std)


def ring_centers(modes=8, radius=2.0):
    """`modes` points evenly spaced on a circle of `radius`: shape (modes, 2)."""
    angles = 2 * np.pi * np.arange(modes) / modes                    # (K,)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_of_gaussians(n, modes=8, radius=2.0, std=0.02):
    """The classic mode-collapse test: `modes` tight Gaussians on a circle.

    A collapsed generator covers one or a few of the modes; `.centers` lets a metric count
    how many it hits.
    """
    centers = ring_centers(modes, radius)
    return MixtureDataset(*sample_mixture(n, centers, std), centers, std)


def grid_centers(side=5, spacing=2.0):
    """A side x side grid of points `spacing` apart, centred on 0: shape (side**2, 2)."""
    coords = (np.arange(side) - (side - 1) / 2) * spacing            # (side,)
    xs, ys = np.meshgrid(coords, coords, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def grid_of_gaussians(n, side=5, spacing=2.0, std=0.05):
    """`side`**2 Gaussians on a grid (25 by default): harder to cover than the ring."""
    centers = grid_centers(side, spacing)
    return MixtureDataset(*sample_mixture(n, centers, std), centers, std)


def spirals(n, arms=2, turns=1.5, radius=2.0, noise=0.05):
    """Points on `arms` interleaved spiral arms (a thin, curved 2-D manifold).

    Each arm goes from the centre out to `radius` in `turns` full turns; arm k is arm 0
    rotated by 2*pi*k/arms. `noise` is the std of Gaussian noise added to each point.
    Labels say which arm a point is on.
    """
    rng = mg_random.generator()
    arm = rng.integers(0, arms, size=n, dtype=np.int64)              # (n,)
    # sqrt spreads points evenly along the arm: outer turns are longer, so get more.
    t = np.sqrt(rng.random(n))                                       # (n,) in [0, 1)
    angle = 2 * np.pi * (turns * t + arm / arms)                     # (n,)
    points = radius * t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points += noise * rng.standard_normal((n, 2))                    # (n, 2)
    return TensorDataset(points.astype(np.float32), arm)
