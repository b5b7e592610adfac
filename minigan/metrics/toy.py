"""Mode coverage on the 2-D Gaussian mixtures: how many modes a generator hits, and how
many of its samples land on any mode at all.

    >>> ring = ring_of_gaussians(1000)
    >>> mode_coverage(ring.tensors[0], ring.centers, ring.std)["modes_covered"]
    8

The usual definition (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): each sample
is assigned to its nearest mode; it is *high quality* if it lies within 3 standard
deviations of that mode's centre; a mode is *covered* if it receives enough high-quality
samples.
"""
import numpy as np

from ._arrays import to_numpy


def default_min_count(num_samples, num_modes):
    """max(1, ceil(20% of an even share)): the default bar for "covered".

    PacGAN (Lin et al., 2018) draws 2,500 samples from a generator for the 25-mode grid and
    counts a mode as lost if it gets fewer than 20 high-quality samples, i.e. 20% of the
    100 an even share would give. We keep that rule but scale it with the numbers, so it
    means the same for 1,000 samples on the ring of 8 (bar 25) as for 2,500 on the grid
    (bar 20): a mode hit by a few stray samples is not "covered", while a perfect
    generator (about n/K per mode, give or take sqrt(n/K)) covers every mode.
    """
    return max(1, -(-num_samples // (5 * num_modes)))              # ceil(n / (5K))


def mode_coverage(samples, centers, std, threshold=3.0, min_count=None):
    """Assign samples to their nearest centre; count the good ones per mode.

    samples: (N, D) generated points (Tensor or array).
    centers: (K, D) mode centres; std: the modes' standard deviation (a number).
    threshold: a sample is high quality if |x - nearest centre| < threshold * std.
    min_count: high-quality samples a mode needs to count as covered; default
        `default_min_count(N, K)` = max(1, ceil(0.2 * N / K)) (PacGAN's 20 of 2,500 on 25).

    Returns {"modes_covered": int, "num_modes": K, "high_quality_fraction": float,
             "counts": (K,) int array of high-quality samples per mode,
             "min_count": the bar used}.
    """
    samples = to_numpy(samples, "mode_coverage: samples").astype(np.float64)
    centers = np.atleast_2d(to_numpy(centers, "mode_coverage: centers").astype(np.float64))
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"mode_coverage: expected samples of shape (N, {centers.shape[1]}) "
                         f"to match centers {centers.shape}, got {samples.shape}")
    if std <= 0:
        raise ValueError(f"mode_coverage: std must be > 0, got {std}")
    n, k = len(samples), len(centers)
    min_count = default_min_count(n, k) if min_count is None else int(min_count)
    # (N, K) distances: fine here, K is 8 or 25.
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)                                 # (N,)
    good = distances[np.arange(n), nearest] < threshold * std          # (N,)
    counts = np.bincount(nearest[good], minlength=k)                   # (K,)
    return {"modes_covered": int(np.sum(counts >= min_count)),
            "num_modes": k,
            "high_quality_fraction": float(good.mean()) if n else 0.0,
            "counts": counts,
            "min_count": min_count}


def evaluate_toy(samples, dataset, threshold=3.0, min_count=None):
    """`mode_coverage` against a `MixtureDataset` (`ring_of_gaussians`, `grid_of_gaussians`,
    ...), which carries `.centers` and `.std`."""
    if not hasattr(dataset, "centers") or not hasattr(dataset, "std"):
        raise TypeError(f"evaluate_toy: expected a MixtureDataset with .centers and .std "
                        f"(e.g. ring_of_gaussians(n)), got {type(dataset).__name__}")
    return mode_coverage(samples, dataset.centers, dataset.std, threshold, min_count)
