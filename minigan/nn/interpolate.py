"""F.interpolate: resizing images (N, C, H, W), by nearest neighbour or bilinearly.

    >>> F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)   # pix2pix, CycleGAN

Bilinear resizing is separable: each output row is a weighted mix of two input rows, then
each output column of two input columns. Written as two matrix products,

    y = A_h @ x @ A_w^T        A_h (OH, H), A_w (OW, W): two non-zero weights per row

it is differentiable to any order by matmul's own backward. Where an output pixel samples
the input (its source coordinate) follows PyTorch exactly:

    align_corners=True    src = dst * (in - 1) / (out - 1)        corners land on corners
    align_corners=False   src = (dst + 0.5) * scale - 0.5, >= 0   pixel centres line up
                          scale = 1 / scale_factor if given, else in / out
"""
import math

import numpy as np

from ..tensor import Tensor
from .conv_functional import _pair, interpolate as _nearest

__all__ = ["interpolate"]


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, H, W) to `size` or by `scale_factor`; mode 'nearest' or 'bilinear'."""
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use "
                                  "'nearest' or 'bilinear'")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("interpolate: align_corners can only be set with an interpolating "
                             "mode ('bilinear'), not 'nearest'")
        return _nearest(input, size, scale_factor, mode)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if input.ndim != 4:
        raise ValueError(f"interpolate: mode 'bilinear' expects input of shape (N, C, H, W), "
                         f"got {tuple(input.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    H, W = input.shape[2:]
    if size is not None:
        (out_h, out_w), scales = _pair(size, "size", "interpolate"), (None, None)
    else:
        scales = (scale_factor, scale_factor) if np.isscalar(scale_factor) else tuple(scale_factor)
        out_h, out_w = math.floor(H * scales[0]), math.floor(W * scales[1])
        if recompute_scale_factor:
            scales = (None, None)            # the scale comes from the sizes, as with `size`
    rows = _linear_weights(H, out_h, bool(align_corners), scales[0], input)   # (OH, H)
    cols = _linear_weights(W, out_w, bool(align_corners), scales[1], input)   # (OW, W)
    return rows @ input @ cols.mT                       # (N, C, OH, W) -> (N, C, OH, OW)


def _linear_weights(n_in, n_out, align_corners, scale_factor, like):
    """The (n_out, n_in) matrix of linear interpolation: row o mixes the two input
    positions around o's source coordinate."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        scale = 1.0 / scale_factor if scale_factor else n_in / n_out
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo                                     # weight of `hi`
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), lo), 1 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    return Tensor._wrap(like._xp.asarray(weights.astype(like.dtype)))
