"""k-means clusters of the training images: labels for a GAN that was given none.

Why: an unconditional G maps ONE continuous latent space onto digits of ten separate
classes. A continuous map cannot jump from a 3 to a 7, so the latents between two classes
come out as blends of both, and no amount of training removes them (the ring of 8 in
lesson 11 shows the same bridges). Self-conditioning (Liu et al., "Diverse Image
Generation via Self-Conditioned GANs", 2020) first groups the training images into k
clusters, then trains a conditional GAN on the cluster ids: G draws "an image of cluster
c", and the discrete choice of c does the tearing. No class labels are used anywhere.

    >>> ids = kmeans(images, 50)                  # (N,) int64, cluster of each image
    >>> np.bincount(ids, minlength=50) / len(ids) # how often G should draw each cluster
"""
import numpy as np

__all__ = ["kmeans", "cluster_frequencies"]


def _as_rows(images):
    a = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(f"kmeans: expected images shaped (N, ...) with N >= 1, got shape "
                         f"{tuple(a.shape)}")
    a = a.reshape(a.shape[0], -1).astype(np.float64)        # (N, D): one row per image
    if not np.isfinite(a).all():
        raise ValueError("kmeans: the images hold NaN or infinite values")
    return a


def kmeans(images, k, iterations=30, seed=0):
    """The cluster id (0..k-1) of each image, by Lloyd's k-means in pixel space.

    The k starting centres are picked by k-means++ (each new centre drawn with probability
    proportional to its squared distance from the nearest centre so far), from a NumPy
    generator seeded with `seed`, so the same images and seed give the same clusters:
    a resumed run rebuilds them exactly. Returns an int64 array (N,).
    """
    rows = _as_rows(images)
    n = rows.shape[0]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"kmeans: k must be an integer from 1 to the number of images ({n}), "
                         f"got {k!r}")
    rng = np.random.default_rng(seed)
    norms = (rows * rows).sum(1)                            # (N,) ||x||^2, reused below

    def squared_distances(centres):                         # (N, k) ||x - c||^2
        return norms[:, None] - 2 * rows @ centres.T + (centres * centres).sum(1)[None, :]

    # k-means++: spread the starting centres out
    centres = rows[[rng.integers(n)]]                       # (1, D)
    nearest = np.maximum(squared_distances(centres)[:, 0], 0)
    for _ in range(k - 1):
        if nearest.sum() == 0:                              # fewer distinct images than k
            pick = rng.integers(n)
        else:
            pick = rng.choice(n, p=nearest / nearest.sum())
        centres = np.vstack([centres, rows[pick]])
        nearest = np.minimum(nearest, np.maximum(squared_distances(centres[-1:])[:, 0], 0))

    # Lloyd: assign each image to its nearest centre, move each centre to its images' mean
    ids = np.argmin(squared_distances(centres), 1)
    for _ in range(iterations):
        for j in range(k):
            members = ids == j
            if members.any():                               # an empty cluster keeps its centre
                centres[j] = rows[members].mean(0)
        new_ids = np.argmin(squared_distances(centres), 1)
        if np.array_equal(new_ids, ids):
            break                                           # converged
        ids = new_ids
    return ids.astype(np.int64)


def cluster_frequencies(ids, k):
    """The share of the images in each of the k clusters: (k,) float64, summing to 1."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0 or ids.min() < 0 or ids.max() >= k:
        raise ValueError(f"cluster_frequencies: expected a non-empty 1-D array of ids in "
                         f"0..{k - 1}, got shape {ids.shape}"
                         + (f" with ids {ids.min()}..{ids.max()}" if ids.size else ""))
    return np.bincount(ids, minlength=k) / ids.size
