"""Inception Score and Fréchet distance, from class probabilities and feature statistics.

Both are pure NumPy on arrays a classifier produced; `digits.py` wires them to the digit
classifier. Neither needs SciPy.

    >>> inception_score(np.eye(10))                       # 10 confident, distinct classes
    10.0
    >>> mu, sigma = feature_statistics(features)          # (D,), (D, D)
    >>> frechet_distance(mu, sigma, mu, sigma)            # same Gaussian: 0
    0.0
"""
import numpy as np

from ._arrays import to_numpy


# --- Inception Score ---
def inception_score(probs, splits=1, eps=1e-12):
    """IS = exp( E_x KL(p(y|x) || p(y)) ), with p(y) the mean of p(y|x) over the samples.

    probs: (N, C) class probabilities, one row per generated sample.
    splits: compute the score on `splits` equal chunks and return their mean (the original
        paper used 10 splits of 5,000); `inception_score_splits` returns every chunk.

    Reading it: between 1 and C. It is high when each sample is classified confidently
    (low entropy of p(y|x)) AND the classes are used evenly (high entropy of p(y)); C
    confident samples of C different classes give C, a generator that makes one class
    gives 1 however sharp its digits are.
    """
    return float(np.mean(inception_score_splits(probs, splits, eps)))


def inception_score_splits(probs, splits=1, eps=1e-12):
    """The Inception Score of each of `splits` equal chunks of `probs` (a list of floats)."""
    probs = to_numpy(probs, "inception_score: probs").astype(np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"inception_score: expected probabilities of shape (N, C) with N > 0, "
                         f"got {probs.shape}")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("inception_score: each row must be a probability distribution "
                         "(non-negative, summing to 1); pass softmax outputs, not logits")
    if not 1 <= splits <= len(probs):
        raise ValueError(f"inception_score: splits must be between 1 and N={len(probs)}, "
                         f"got {splits}")
    scores = []
    for part in np.array_split(probs, splits):                     # (n, C) each
        marginal = part.mean(axis=0, keepdims=True)                # p(y): (1, C)
        # KL(p(y|x) || p(y)) per sample; 0 * log 0 counts as 0, hence the eps.
        kl = np.sum(part * (np.log(part + eps) - np.log(marginal + eps)), axis=1)   # (n,)
        scores.append(float(np.exp(kl.mean())))
    return scores


# --- Fréchet distance ---
def feature_statistics(feats):
    """Mean (D,) and covariance (D, D) of features (N, D), float64 (N - 1 in the denominator,
    like `np.cov`)."""
    feats = to_numpy(feats, "feature_statistics: feats").astype(np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"feature_statistics: expected features of shape (N, D) with N >= 2, "
                         f"got {feats.shape}")
    mu = feats.mean(axis=0)                                        # (D,)
    centred = feats - mu                                           # (N, D)
    sigma = centred.T @ centred / (len(feats) - 1)                 # (D, D)
    return mu, sigma


def sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix, by eigendecomposition.

    S = V diag(w) V^T  =>  sqrt(S) = V diag(sqrt(w)) V^T. Round-off can leave tiny negative
    eigenvalues; they are clipped to 0 (the true ones are >= 0).
    """
    matrix = (matrix + matrix.T) / 2                               # symmetric to the last bit
    w, v = np.linalg.eigh(matrix)                                  # (D,), (D, D)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet (2-Wasserstein) distance² between N(mu1, sigma1) and N(mu2, sigma2):

        d² = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr( sqrt(S1 S2) )

    FID is this number for Inception features; here it is for the digit classifier's.
    Lower is better; 0 means the two Gaussians are the same.

    How we get tr sqrt(S1 S2) without SciPy's general `sqrtm`: S1 S2 is not symmetric, but
    with R = sqrt(S1) it is similar to M = R S2 R (R^-1 (R S2 R) R = S1 S2 when R is
    invertible, and by continuity otherwise). Similar matrices have the same eigenvalues,
    so sqrt(S1 S2) and sqrt(M) have the same eigenvalues sqrt(lambda_i), and the same
    trace. M is symmetric positive semi-definite, so `eigvalsh` gives its eigenvalues
    stably and real: tr sqrt(S1 S2) = sum_i sqrt(lambda_i(M)).
    """
    mu1, mu2 = (np.atleast_1d(to_numpy(m, "frechet_distance: mu").astype(np.float64))
                for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(to_numpy(s, "frechet_distance: sigma").astype(np.float64))
                      for s in (sigma1, sigma2))
    d = mu1.shape[0]
    for name, array, shape in [("mu2", mu2, (d,)), ("sigma1", sigma1, (d, d)),
                               ("sigma2", sigma2, (d, d))]:
        if array.shape != shape:
            raise ValueError(f"frechet_distance: expected {name} of shape {shape} to match "
                             f"mu1 {mu1.shape}, got {array.shape}")
    root1 = sqrtm_psd(sigma1)                                      # (D, D)
    middle = root1 @ sigma2 @ root1                                # (D, D), symmetric PSD
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)      # (D,)
    trace_sqrt = np.sum(np.sqrt(np.clip(eigenvalues, 0, None)))
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    return float(max(distance, 0.0))        # NOTE: round-off can give -1e-12 for equal inputs
