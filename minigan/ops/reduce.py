"""Reductions (sum, max, mean, var, ...), broadcasting and the softmax family."""
import builtins
from collections import namedtuple

from .._device import add_at, array_module, is_floating
from ..function import Function
from ..tensor import Tensor
from .elementwise import _mask, exp, log, sqrt, where

__all__ = ["sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin",
           "logsumexp", "softmax", "log_softmax", "norm", "expand", "broadcast_to", "sum_to",
           "gather", "prod_shape"]


def prod_shape(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _dims(dim, ndim, op="reduction"):
    """Normalise `dim` (None, int or tuple) to a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    rank = builtins.max(ndim, 1)      # a 0-dim tensor accepts dim 0 and -1
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(f"{op}: dimension {d} out of range for a tensor of {ndim} dims "
                             f"(expected to be in [{-rank}, {rank - 1}])")
        out.append(d % rank)
    return tuple(sorted(set(out))) if ndim else ()


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


# --- broadcasting: expand and its adjoint, sum_to ---
class BroadcastTo(Function):
    saves_inputs = False     # backward reads only shapes

    def forward(self, x, shape):
        return array_module(x).broadcast_to(x, shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """Sum `x` down to `shape` (the shape it was broadcast from)."""
    saves_inputs = False     # backward reads only shapes

    def forward(self, x, shape):
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                          if s == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        return BroadcastTo.apply(x, shape=shape)
    except ValueError:
        raise ValueError(f"expand: the shape {tuple(x.shape)} cannot be broadcast to "
                         f"{shape}") from None


def expand(x, *sizes):
    """PyTorch's expand: -1 keeps a dimension's size."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"tensor's dims ({x.ndim})")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def sum_to(x, shape):
    shape = tuple(shape)
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


# --- sum and max ---
class Sum(Function):
    saves_inputs = False     # backward reads only shapes

    def forward(self, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)

    def backward(self, gy):
        shape = self.inputs[0].shape
        if not self.keepdim:
            gy = gy.reshape(_keepdim_shape(shape, self.dims))
        return broadcast_to(gy, shape)


class Amax(Function):
    """Maximum over `dims`; the gradient is shared evenly among tied maxima (as PyTorch)."""

    def forward(self, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        return x.max(axis=dims, keepdims=keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        kshape = _keepdim_shape(x.shape, self.dims)
        is_max = x._data == self.output._data.reshape(kshape)
        share = is_max / is_max.sum(axis=self.dims, keepdims=True)
        return broadcast_to(gy.reshape(kshape), x.shape) * _mask(share, x)


def _reduce_input(x):
    # Summing bools or ints gives int64 (as PyTorch); floats keep their dtype.
    return x if is_floating(x.dtype) else x.to("int64")


def sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(_reduce_input(x), dims=_dims(dim, x.ndim, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    if not is_floating(x.dtype):
        raise TypeError(f"mean: expected a floating point tensor, got {x.dtype}; "
                        "use .float() first")
    dims = _dims(dim, x.ndim, "mean")
    n = prod_shape(x.shape[d] for d in dims)
    return sum(x, dims, keepdim) / n


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance; `correction=1` (the default, Bessel's) divides by n - 1, as PyTorch."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = _dims(dim, x.ndim, "var")
    n = prod_shape(x.shape[d] for d in dims)
    centred = x - mean(x, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim) / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return sqrt(var(x, dim, unbiased, keepdim, correction))


def amax(x, dim=None, keepdim=False):
    dims = _dims(dim, x.ndim, "amax")
    if x.numel() == 0:
        raise RuntimeError("amax: cannot reduce an empty tensor")
    return Amax.apply(x, dims=dims, keepdim=keepdim)


def amin(x, dim=None, keepdim=False):
    return -amax(-x, dim, keepdim)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def max(x, dim=None, keepdim=False):
    """max(x) is the largest element; max(x, dim) returns (values, indices) as PyTorch."""
    if dim is None:
        return amax(x)
    if isinstance(dim, Tensor):          # torch.max(a, b) is the elementwise maximum
        from .elementwise import maximum
        return maximum(x, dim)
    d = _dims(dim, x.ndim, "max")[0]
    index = x._xp.argmax(x._data, axis=d)
    values = gather(x, d, Tensor._wrap(x._xp.expand_dims(index, d)))
    if not keepdim:
        values = values.squeeze(d)
    indices = Tensor._wrap(index if not keepdim else x._xp.expand_dims(index, d))
    return MaxResult(values, indices)


def min(x, dim=None, keepdim=False):
    if dim is None:
        return amin(x)
    if isinstance(dim, Tensor):
        from .elementwise import minimum
        return minimum(x, dim)
    values, indices = max(-x, dim, keepdim)
    return MaxResult(-values, indices)


def argmax(x, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(x._xp.asarray(x._xp.argmax(x._data)))
    return max(x.detach(), dim, keepdim).indices


def argmin(x, dim=None, keepdim=False):
    return argmax(-x, dim, keepdim)


# --- gather and its adjoint ---
class Gather(Function):
    """out[i][j] = x[i][index[i][j]] along `dim` (torch.gather)."""
    saves_inputs = False     # backward reads only the index and shape

    def forward(self, x, dim, index):
        self.dim, self.index = dim, index
        return array_module(x).take_along_axis(x, index, axis=dim)

    def backward(self, gy):
        return ScatterAdd.apply(gy, dim=self.dim, index=self.index, shape=self.inputs[0].shape)


class ScatterAdd(Function):
    """Adjoint of Gather: add `g` into zeros of `shape` at `index` along `dim`."""
    saves_inputs = False     # backward reads only the index

    def forward(self, g, dim, index, shape):
        self.dim, self.index = dim, index
        xp = array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        grids = list(xp.indices(index.shape, sparse=True))
        grids[dim] = index
        add_at(out, tuple(grids), g)
        return out

    def backward(self, gy):
        return Gather.apply(gy, dim=self.dim, index=self.index)


def gather(x, dim, index):
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index has {index.ndim} dims but input has {x.ndim}")
    dim = _dims(dim, x.ndim, "gather")[0]
    return Gather.apply(x, dim=dim, index=index._data)


# --- the softmax family ---
def _max_constant(x, dims):
    """The maximum over `dims` (kept), as a constant: subtracting it keeps exp from
    overflowing, and any constant gives the same result, so it needs no gradient."""
    m = x._xp.max(x._data, axis=dims, keepdims=True)
    return Tensor._wrap(x._xp.where(x._xp.isinf(m), 0, m))   # all -inf rows stay -inf, not nan


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) computed stably: the maximum is taken out first."""
    dims = _dims(dim, x.ndim, "logsumexp")
    m = _max_constant(x, dims)
    out = log(sum(exp(x - m), dims, keepdim=True)) + m
    return out if keepdim else out.squeeze(dims)


def log_softmax(x, dim):
    """(x - m) - log(sum(exp(x - m))), m the maximum along `dim`.

    NOTE: x - (m + log sum) would give the same number in exact arithmetic, but for logits
    of 1e4 in float32, m + log sum rounds to the spacing of 1e4 (~1e-3); x - m is exact.
    """
    dims = _dims(dim, x.ndim, "log_softmax")
    shifted = x - _max_constant(x, dims)
    return shifted - log(sum(exp(shifted), dims, keepdim=True))


def softmax(x, dim):
    """exp(x - m) / sum(exp(x - m)), m the maximum along `dim` (so exp never overflows)."""
    dims = _dims(dim, x.ndim, "softmax")
    e = exp(x - _max_constant(x, dims))
    return e / sum(e, dims, keepdim=True)


# --- norms ---
class Norm2(Function):
    """sqrt(sum(x**2)) over `dims`. NOTE: at x = 0 the gradient is 0 (as PyTorch), not nan."""

    def forward(self, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        return array_module(x).sqrt((x * x).sum(axis=dims, keepdims=keepdim))

    def backward(self, gy):
        x = self.inputs[0]
        kshape = _keepdim_shape(x.shape, self.dims)
        n = self.output.reshape(kshape)
        safe_n = where(n == 0, 1.0, n)
        return gy.reshape(kshape) * x / safe_n


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over `dim` (all elements by default)."""
    dims = _dims(dim, x.ndim, "norm")
    if p == 2 or p == "fro":
        return Norm2.apply(x, dims=dims, keepdim=keepdim)
    if p == float("inf"):
        return amax(x.abs(), dims, keepdim)
    if p == 1:
        return sum(x.abs(), dims, keepdim)
    return sum(x.abs() ** p, dims, keepdim) ** (1.0 / p)
