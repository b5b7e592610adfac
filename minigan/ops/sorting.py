"""Sorting and searching: sort, argsort, topk, nonzero.

The values of sort and topk are gathered from the input with the sorting's indices, so they
are differentiable (the gradient goes back to where each value came from); indices and
nonzero are integer tensors and carry no gradient.

    >>> minigan.topk(minigan.tensor([1.0, 3.0, 2.0]), 2)
    topk(values=tensor([3., 2.]), indices=tensor([1, 2]))
"""
from collections import namedtuple

from ..tensor import Tensor
from .reduce import _dims, gather

__all__ = ["sort", "argsort", "topk", "nonzero"]

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort `x` along `dim` (ascending unless `descending`)."""
    d = _dims(dim, x.ndim, "argsort")[0] if x.ndim else None
    xp = x._xp
    if d is None:                                    # a 0-dim tensor: its only index
        return Tensor._wrap(xp.zeros((), dtype="int64"))
    index = xp.argsort(x._data, axis=d, kind="stable")
    if descending:
        # NOTE: equal values then come last-first; PyTorch's default sort is not stable either.
        index = xp.flip(index, axis=d)
    return Tensor._wrap(xp.ascontiguousarray(index).astype("int64", copy=False))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of `x` sorted along `dim`; values are differentiable."""
    index = argsort(x, dim, descending, stable)
    if x.ndim == 0:
        return SortResult(x, index)
    d = _dims(dim, x.ndim, "sort")[0]
    return SortResult(gather(x, d, index), index)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The `k` largest (or smallest) values along `dim` and their indices, largest first."""
    d = _dims(dim, x.ndim, "topk")[0]
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) must be in [0, {n}], the size of dimension {d} of a "
                         f"tensor of shape {tuple(x.shape)}")
    index = argsort(x, d, descending=largest)
    index = index[(slice(None),) * d + (slice(0, k),)]           # (..., k, ...)
    index = Tensor._wrap(x._xp.ascontiguousarray(index._data))
    return TopkResult(gather(x, d, index), index)


def nonzero(x, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, one row per element, or
    with as_tuple=True one 1-D index tensor per dimension (what x[...] accepts)."""
    xp = x._xp
    if x.ndim == 0:                                  # 0 dims: one row per True, no columns
        count = int(bool(x._data))
        return (Tensor._wrap(xp.zeros(count, dtype="int64")),) if as_tuple else \
            Tensor._wrap(xp.zeros((count, 0), dtype="int64"))
    found = xp.nonzero(x._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype("int64", copy=False)) for i in found)
    return Tensor._wrap(xp.stack(found, axis=1).astype("int64", copy=False))   # (n, ndim)
