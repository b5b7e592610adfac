"""Shape operations: reshape, permute, indexing, cat, pad, and those composed from them."""
import numpy as np

from .._device import add_at, array_module
from ..function import Function
from ..tensor import Tensor
from .reduce import _dims, broadcast_to, prod_shape

__all__ = ["reshape", "view", "flatten", "permute", "transpose", "squeeze", "unsqueeze",
           "repeat", "cat", "concatenate", "stack", "split", "chunk", "pad", "getitem",
           "unflatten"]


class Reshape(Function):
    saves_inputs = False     # backward reads only shapes

    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.inputs[0].shape)


class Permute(Function):
    saves_inputs = False     # backward reads only the axes

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return gy.permute(*inverse)


def _shape_arg(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _resolved_shape(x, shape, who):
    """`shape` with its -1 (if any) worked out; raises if x's elements do not fit it."""
    known = prod_shape(s for s in shape if s != -1)
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != x.numel()) or (
            shape.count(-1) == 1 and (known == 0 or x.numel() % known)):
        raise RuntimeError(f"{who}: shape {list(shape)} is invalid for input of size "
                           f"{x.numel()} (shape {tuple(x.shape)})")
    return tuple(x.numel() // known if s == -1 else s for s in shape)


def reshape(x, *shape):
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=_resolved_shape(x, shape, "reshape"))


def view(x, *shape):
    """reshape that never copies (PyTorch's view): the new shape must be readable from the
    same memory by strides alone. After permute or transpose it often is not; then view
    raises, as in PyTorch, and .reshape() (which copies when it must) is the answer."""
    shape = _resolved_shape(x, _shape_arg(shape), "view")
    if not _viewable(x._data, shape):
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                           f"(at least one dimension spans across two contiguous subspaces): "
                           f"shape {tuple(x.shape)} with strides {x._data.strides} cannot be "
                           f"viewed as {shape} without a copy. Use .reshape(...) instead.")
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def _viewable(array, shape):
    """Whether `shape` can be read from `array`'s memory without a copy (PyTorch's rule).

    Walk the old dims from the last, in chunks whose dims follow each other in memory
    (stride[d-1] == size[d] * stride[d]); each chunk must be made of whole new dims.
    """
    if array.flags.c_contiguous or array.size == 0:
        return True
    old_shape, old_strides = array.shape, array.strides
    view_d = len(shape) - 1
    chunk_numel = view_numel = 1
    chunk_stride = old_strides[-1]
    for d in range(len(old_shape) - 1, -1, -1):
        chunk_numel *= old_shape[d]
        chunk_ends = d == 0 or (old_shape[d - 1] != 1
                                and old_strides[d - 1] != chunk_numel * chunk_stride)
        if chunk_ends:
            while view_d >= 0 and (view_numel < chunk_numel or shape[view_d] == 1):
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != chunk_numel:
                return False
            if d > 0:
                chunk_stride, chunk_numel, view_numel = old_strides[d - 1], 1, 1
    return view_d == -1


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:start] + (prod_shape(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    dim = dim % x.ndim
    return reshape(x, x.shape[:dim] + tuple(sizes) + x.shape[dim + 1:])


def permute(x, *dims):
    dims = _shape_arg(dims)
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {list(dims)} is not a permutation of the {x.ndim} dims of "
                         f"a tensor of shape {tuple(x.shape)}")
    return Permute.apply(x, axes=tuple(d % x.ndim for d in dims))


def transpose(x, dim0, dim1):
    axes = list(range(x.ndim))
    d0, d1 = _dims(dim0, x.ndim, "transpose")[0], _dims(dim1, x.ndim, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, axes=tuple(axes))


def squeeze(x, dim=None):
    if dim is None:
        dims = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        dims = [d for d in _dims(dim, x.ndim, "squeeze") if x.shape[d] == 1]
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in dims))


def unsqueeze(x, dim):
    d = dim % (x.ndim + 1) if -x.ndim - 1 <= dim <= x.ndim else None
    if d is None:
        raise IndexError(f"unsqueeze: dimension {dim} out of range for a tensor of {x.ndim} dims")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def repeat(x, *repeats):
    """Tile `x` (PyTorch's repeat): each dim i becomes repeats[i] copies side by side."""
    repeats = _shape_arg(repeats)
    if len(repeats) < x.ndim:
        raise ValueError(f"repeat: got {len(repeats)} repeats for a tensor of {x.ndim} dims")
    shape = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
    # (a, b) -> (1, a, 1, b) -> (r0, a, r1, b) -> (r0*a, r1*b)
    interleaved = [v for s in shape for v in (1, s)]
    expanded = [v for r, s in zip(repeats, shape) for v in (r, s)]
    tiled = broadcast_to(reshape(x, interleaved), expanded)
    return reshape(tiled, tuple(r * s for r, s in zip(repeats, shape)))


# --- indexing ---
def _is_basic(key):
    """True when `key` uses only ints, slices, None and Ellipsis (no repeated elements)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, slice, type(None), type(Ellipsis))) for k in items)


class GetItem(Function):
    saves_inputs = False     # backward reads only the key and shape

    def forward(self, x, key):
        self.key = key
        return x[key]

    def backward(self, gy):
        return IndexAdd.apply(gy, key=self.key, shape=self.inputs[0].shape)


class IndexAdd(Function):
    """Adjoint of GetItem: zeros of `shape` with `g` added at `key` (repeats add up)."""
    saves_inputs = False     # backward reads only the key

    def forward(self, g, key, shape):
        self.key = key
        out = array_module(g).zeros(shape, dtype=g.dtype)
        if _is_basic(key):
            out[key] = g
        else:
            add_at(out, key, g)
        return out

    def backward(self, gy):
        return GetItem.apply(gy, key=self.key)


def _array_key(key, xp):
    """Replace Tensors (and lists) in an index by arrays on the right device."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for k in items:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, list):
            k = xp.asarray(k)
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def getitem(x, key):
    key = _array_key(key, x._xp)
    return GetItem.apply(x, key=key)


# --- joining and splitting ---
class Cat(Function):
    saves_inputs = False     # backward reads only sizes

    def forward(self, *xs, dim):
        self.dim = dim
        self.sizes = [x.shape[dim] for x in xs]
        return array_module(xs[0]).concatenate(xs, axis=dim)

    def backward(self, gy):
        grads, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * self.dim + (slice(start, start + size),)
            grads.append(gy[index])
            start += size
        return tuple(grads)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    d = _dims(dim, first.ndim, "cat")[0]
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if j != d):
            raise ValueError(f"cat: tensor {i} has shape {tuple(t.shape)}, which does not match "
                             f"tensor 0's {tuple(first.shape)} outside dimension {d}")
        if t.device != first.device:
            raise RuntimeError(f"cat: tensors on different devices: {first.device} and {t.device}")
    from .elementwise import result_type
    dtype = first.dtype
    for t in tensors[1:]:
        dtype = result_type(first.to(dtype), t) if t.dtype != dtype else dtype
    return Cat.apply(*[t.to(dtype) for t in tensors], dim=d)


concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got "
                             f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at entry {i}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(x, split_size_or_sections, dim=0):
    d = _dims(dim, x.ndim, "split")[0]
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [min(size, n - s) for s in range(0, n, size)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dimension {d}'s size {n}")
    parts, start = [], 0
    for size in sizes:
        parts.append(x[(slice(None),) * d + (slice(start, start + size),)])
        start += size
    return tuple(parts)


def chunk(x, chunks, dim=0):
    n = x.shape[_dims(dim, x.ndim, "chunk")[0]]
    return split(x, -(-n // chunks), dim)


class Pad(Function):
    saves_inputs = False     # backward reads only the widths

    def forward(self, x, widths, value):
        self.widths = widths
        return array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.widths))
        return gy[index]


# How each mode fills the border, as the index of the element it copies (NumPy's np.pad
# names): reflect mirrors without repeating the edge (3 2 | 1 2 3 4 | 3 2), replicate
# repeats the edge (1 1 | 1 2 3 4 | 4 4), circular wraps around (3 4 | 1 2 3 4 | 1 2).
PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's F.pad: `pad` lists (left, right) for the last dim, then the one before, ...

    mode "constant" fills with `value`; "reflect", "replicate" and "circular" copy elements
    of x, so they are x indexed with a padded range of indices (and differentiable as that).
    """
    if mode != "constant" and mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of pads, at most 2 per dim of a "
                         f"{x.ndim}-dim tensor, got {len(pad)}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return Pad.apply(x, widths=tuple(widths), value=value)
    for d, (before, after) in enumerate(widths):
        if before or after:
            x = _pad_by_index(x, d, before, after, mode)
    return x


def _pad_by_index(x, d, before, after, mode):
    n = x.shape[d]
    limit = n - 1 if mode == "reflect" else n
    if max(before, after) > limit:
        raise ValueError(f"pad: {mode} padding of ({before}, {after}) needs dimension {d} to be "
                         f"larger than the padding, got size {n} (input {tuple(x.shape)})")
    index = np.pad(np.arange(n), (before, after), mode=PAD_MODES[mode])   # (before + n + after,)
    return x[(slice(None),) * d + (x._xp.asarray(index),)]
