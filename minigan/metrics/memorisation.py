"""Has the generator memorised its training set? Nearest-neighbour distances in pixel space.

A GAN that copies training images gets a perfect-looking score on quality metrics. The
check: for each generated image, the L2 distance to the closest *training* image. Real
digits that the generator never saw (the held-out test split) give the yardstick: a
generated digit should be about as far from the training set as a new real digit is.

    >>> result = memorisation_check(fake_images, train_images, reference=test_images)
    >>> result["distance_ratio"], result["copy_fraction"]
    (1.05, 0.0)          # a healthy generator: as far as new real digits, no copies
"""
import numpy as np

from ._arrays import to_numpy


def _flat(x, name):
    """(N, ...) images -> (N, P) float64 rows."""
    x = to_numpy(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a batch of shape (N, ...), got {x.shape}")
    return x.reshape(len(x), -1).astype(np.float64)


def nearest_neighbour_distances(generated, train, batch_size=256, return_index=False):
    """For each row of `generated`, the L2 distance to its nearest row of `train`.

    generated: (N, ...) and train: (M, ...) with the same trailing shape (flattened).
    Returns (N,) distances, and with `return_index=True` also the (N,) indices into train.

    |a - b|² = |a|² - 2 a.b + |b|²: one matrix product per batch of `batch_size` generated
    rows, so memory is batch_size x M numbers (256 x 4,500 float64 = 9 MB), never N x M.
    """
    gen = _flat(generated, "nearest_neighbour_distances: generated")    # (N, P)
    ref = _flat(train, "nearest_neighbour_distances: train")            # (M, P)
    if gen.shape[1] != ref.shape[1] or len(ref) == 0:
        raise ValueError(f"nearest_neighbour_distances: generated {gen.shape} and train "
                         f"{ref.shape} must have the same number of values per item, and "
                         f"train must not be empty")
    ref_sq = np.sum(ref * ref, axis=1)                                  # (M,)
    distances = np.empty(len(gen))
    indices = np.empty(len(gen), dtype=np.int64)
    for start in range(0, len(gen), batch_size):
        g = gen[start:start + batch_size]                               # (B, P)
        sq = np.sum(g * g, axis=1)[:, None] - 2 * g @ ref.T + ref_sq[None, :]   # (B, M)
        best = sq.argmin(axis=1)                                        # (B,)
        # NOTE: the expansion loses digits to cancellation for near-identical vectors, and
        # can even dip below 0; clip, then take the root.
        distances[start:start + len(g)] = np.sqrt(np.clip(sq[np.arange(len(g)), best], 0, None))
        indices[start:start + len(g)] = best
    return (distances, indices) if return_index else distances


def memorisation_check(generated, train, reference=None, copy_threshold=None,
                       batch_size=256):
    """Compare how close generated images come to the training set with how close real,
    held-out images come. Images are compared as raw pixels (L2).

    generated: (N, ...) generator samples; train: (M, ...) the images it trained on;
    reference: (R, ...) real images it did NOT train on (e.g. mnist_5k("test")).
    copy_threshold: a generated image closer than this to a training image counts as a
        copy. Default: 10% of the reference median: far below the gap between a real digit
        and its nearest *different* real digit, well above the noise of a re-saved copy.
        Without a reference, give copy_threshold yourself (the generated images cannot be
        their own yardstick: if all of them are copies, their median is 0).

    Returns a dict:
      generated_median  median nearest-train distance of the generated images
      reference_median  the same for the held-out real images (None without a reference)
      distance_ratio    generated_median / reference_median (None without a reference)
      copy_fraction     fraction of generated images within copy_threshold of a train image
      copy_threshold    the threshold used

    How to read it:
      ratio ~ 1, copy_fraction ~ 0   the generator's images are as new as unseen real ones.
      ratio << 1 or copy_fraction > 0  it reproduces training images: memorisation.
      ratio >> 1                     its images are far from every real digit: usually low
                                     quality (blurry, noisy), not novelty.
    """
    if reference is None and copy_threshold is None:
        raise ValueError("memorisation_check: pass reference= (held-out real images, e.g. "
                         "mnist_5k('test').tensors[0]) or an explicit copy_threshold=")
    gen_d = nearest_neighbour_distances(generated, train, batch_size)
    gen_median = float(np.median(gen_d)) if len(gen_d) else float("nan")
    ref_median = ratio = None
    if reference is not None:
        ref_d = nearest_neighbour_distances(reference, train, batch_size)
        ref_median = float(np.median(ref_d))
        ratio = gen_median / ref_median if ref_median > 0 else float("inf")
    if copy_threshold is None:
        copy_threshold = 0.1 * ref_median
    return {"generated_median": gen_median,
            "reference_median": ref_median,
            "distance_ratio": ratio,
            "copy_fraction": float(np.mean(gen_d < copy_threshold)) if len(gen_d) else 0.0,
            "copy_threshold": float(copy_threshold)}
