"""`Tensor`: an array (NumPy or CuPy) plus what autograd needs to differentiate through it.

    >>> x = minigan.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""
import builtins
import numbers

import numpy as np

from . import grad_mode
from ._device import (array_module, default_float, device_of, is_floating, normalize_dtype,
                      parse_to_args, to_device)


def _python_category_dtype(array):
    """dtype for data given as Python numbers: float32 for floats, int64 ints, bool bools."""
    if array.dtype.kind == "f":
        return default_float
    if array.dtype.kind in "iu":
        return np.dtype("int64")
    return array.dtype


def as_array(data, dtype=None, device=None):
    """Turn `data` (Tensor, array, list, number) into an array with PyTorch's dtype rules."""
    dtype = normalize_dtype(dtype)
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        array = data
    else:
        array = np.asarray(data)
        if array.dtype == object:
            raise TypeError(f"tensor: could not make a tensor from {type(data).__name__} data")
        if dtype is None:
            dtype = _python_category_dtype(array)
    if device is not None:
        array = to_device(array, device)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


class Size(tuple):
    """A tensor's shape: a tuple of ints, as PyTorch's torch.Size (`x.shape`, `x.size()`).

        >>> minigan.zeros(2, 3).shape
        minigan.Size([2, 3])
        >>> minigan.zeros(2, 3).shape == (2, 3)
        True
    """
    __slots__ = ()

    def numel(self):
        """The number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"minigan.Size({list(self)})"


def _ndarray(array):
    """`array` as an array: NumPy gives scalars (np.float32) for full reductions and for
    operations on 0-d arrays; a tensor always holds an ndarray (np.asarray(loss) works)."""
    return np.asarray(array) if isinstance(array, np.generic) else array


def new_tensor(data, dtype=None, device=None, requires_grad=False):
    """A tensor holding a copy of `data`, with PyTorch's dtype rules (minigan.tensor)."""
    array = as_array(data, dtype, device)
    if array is (data._data if isinstance(data, Tensor) else data):
        array = array.copy()        # like torch.tensor, never share the caller's memory
    return Tensor._wrap(array).requires_grad_(requires_grad)


def _legacy_array(args, dtype, device, who):
    """The array of PyTorch's legacy constructors (`Tensor(2, 3)`, `FloatTensor([1, 2])`):
    integers (or one Size) are a shape, filled with zeros here (PyTorch leaves the memory
    uninitialised); anything else is data, converted to `dtype`."""
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        if any(a < 0 for a in args):
            raise ValueError(f"{who}: sizes must be non-negative, got {list(args)}")
        return to_device(np.zeros(tuple(int(a) for a in args), dtype=dtype), device or "cpu")
    if len(args) != 1:
        raise TypeError(f"{who}: expected sizes (ints) or one sequence of data, got "
                        f"{len(args)} arguments")
    return as_array(args[0], dtype, device).copy()


class VersionCounter:
    """How many in-place writes a tensor's memory has had. Every tensor that shares the memory
    (views from reshape, permute or basic indexing; detach(); .data) shares the counter, so a
    write through any of them is seen by all. A Function records the versions of what its
    backward will read, and backward raises if one changed (see Function.check_saved_versions).
    """
    __slots__ = ("value", "has_views")

    def __init__(self):
        self.value = 0
        self.has_views = False      # set when a view op in a graph shares this memory


class Tensor:
    # Makes `ndarray + Tensor` call Tensor.__radd__ instead of NumPy's elementwise loop.
    __array_priority__ = 1000
    __hash__ = object.__hash__   # tensors are graph nodes: hashed by identity
    # Made on first need (see _counter): most tensors are never written in place or viewed.
    _version_counter = None

    def __init__(self, *args, device=None):
        """PyTorch's legacy constructor, kept so code written against it runs:
        `Tensor(2, 3)` is a float32 tensor of shape (2, 3) (zeros here; PyTorch leaves it
        uninitialised) and `Tensor(data)` a float32 copy of `data`. New code writes
        `minigan.zeros(2, 3)` and `minigan.tensor(data)` (which keeps integer data integer).
        """
        self._data = _legacy_array(args, default_float, device, "Tensor")
        self.grad = None
        self.grad_fn = None
        self._requires_grad = False

    @classmethod
    def _wrap(cls, array, requires_grad=False, grad_fn=None, version_counter=None):
        """A Tensor around `array`, without copying or checks (used by the engine). Pass the
        `version_counter` of the tensor whose memory `array` shares, if any."""
        t = cls.__new__(cls)
        t._data = array if type(array) is np.ndarray else _ndarray(array)
        if version_counter is not None:
            t._version_counter = version_counter
        t.grad = None
        t.grad_fn = grad_fn
        t._requires_grad = requires_grad
        return t

    # --- attributes ---
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and not is_floating(self.dtype):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, "
                               f"got dtype {self.dtype}")
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use "
                               ".detach() to get a tensor cut from the graph")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def is_cuda(self):
        return self.device == "cuda"

    @property
    def _xp(self):
        return array_module(self._data)

    @property
    def data(self):
        """A tensor sharing this one's memory, cut from the graph (as PyTorch's `.data`).

        NOTE: unlike PyTorch's, it shares the version counter too: a write through `.data` to
        a value that backward needs is caught, not silently used.
        """
        return Tensor._wrap(self._data, version_counter=self._counter())

    @data.setter
    def data(self, value):
        array = value._data if isinstance(value, Tensor) else as_array(value)
        if array.shape != self._data.shape:
            raise ValueError(f".data: expected shape {tuple(self.shape)}, got {tuple(array.shape)}")
        self._data = array
        self._bump_version()      # a graph that saved this tensor must not read the new value

    @property
    def _version(self):
        """How many in-place writes this tensor's memory has had (PyTorch's `x._version`)."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def _counter(self):
        """This tensor's version counter, made the first time it is needed."""
        if self._version_counter is None:
            self._version_counter = VersionCounter()
        return self._version_counter

    def size(self, dim=None):
        return self.shape if dim is None else self._data.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self._data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # --- conversions ---
    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item: only one element tensors can be converted to Python "
                             f"scalars, this one has shape {tuple(self.shape)}")
        return self._data.reshape(()).item()

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self.device != "cpu":
            raise TypeError("can't convert a cuda tensor to numpy: use .cpu() first")
        return self._data

    def tolist(self):
        return to_device(self._data, "cpu").tolist()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.numel()} elements is "
                               "ambiguous; use .any() or .all()")
        return builtins.bool(self.item())

    def __array__(self, dtype=None, copy=None):
        array = np.asarray(to_device(self._data, "cpu"))
        return array if dtype is None else array.astype(dtype)

    def detach(self):
        """The same memory (and version counter), cut from the graph."""
        return Tensor._wrap(self._data, version_counter=self._counter())

    def detach_(self):
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self):
        return ops_clone(self)

    def to(self, *args, dtype=None, device=None):
        """to(dtype), to(device) or to(device, dtype); differentiable."""
        dtype, device = parse_to_args(args, dtype, device)
        out = self
        if dtype is not None:
            out = ops.to_dtype(out, normalize_dtype(dtype))
        if device is not None and device_of(out._data) != str(device).split(":")[0]:
            out = ToDevice.apply(out, device=str(device))
        return out

    def float(self):
        return self.to(np.dtype("float32"))

    def double(self):
        return self.to(np.dtype("float64"))

    def long(self):
        return self.to(np.dtype("int64"))

    def int(self):
        return self.to(np.dtype("int32"))

    def bool(self):
        return self.to(np.dtype("bool"))

    def type(self, dtype=None):
        """x.type() is the legacy type name ('minigan.FloatTensor'); x.type(t) converts to
        t: a dtype, a legacy type (minigan.FloatTensor) or its name."""
        from .creation import legacy_type, type_name
        if dtype is None:
            return type_name(self.dtype, self.device)
        legacy = legacy_type(dtype)
        if legacy is not None:
            return self.to(legacy.device, legacy.dtype)
        return self.to(dtype)

    def type_as(self, other):
        """This tensor in `other`'s dtype (and on its device)."""
        return self.to(other.device, other.dtype)

    def is_contiguous(self, memory_format=None):
        """Whether the elements lie in memory in row-major order, with no gaps (False after
        permute or transpose, or for a strided slice)."""
        return builtins.bool(self._data.flags.c_contiguous)

    def contiguous(self, memory_format=None):
        """This tensor if it is contiguous, else a contiguous copy (differentiable)."""
        return self if self.is_contiguous() else ops_clone(self)

    # new tensors like this one: same dtype and device unless given
    def _new(self, array_fn, dtype, device, requires_grad):
        dtype = normalize_dtype(dtype) or self.dtype
        array = to_device(array_fn(dtype), device or self.device)
        return Tensor._wrap(array).requires_grad_(requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new(lambda d: np.full(_sizes((size,)), fill_value, dtype=d), dtype, device,
                         requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_sizes(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_sizes(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return new_tensor(data, dtype or self.dtype, device or self.device, requires_grad)

    def cuda(self):
        return self.to(device="cuda")

    def cpu(self):
        return self.to(device="cpu")

    def _accumulate_grad(self, g, create_graph, owned=False):
        """Add `g` into `.grad` (a leaf's gradients accumulate across backward calls)."""
        if self.grad is None:
            # Copy unless the array is ours alone: .grad may later be changed in place.
            self.grad = g if create_graph else Tensor._wrap(g._data if owned else g._data.copy())
        elif create_graph:
            self.grad = self.grad + g
        else:
            self.grad._data = _ndarray(self.grad._data + g._data)
            self.grad._bump_version()

    # --- autograd ---
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see minigan.autograd)."""
        from .autograd import backward
        backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph)

    # --- printing ---
    def __repr__(self):
        data = to_device(self._data, "cpu")
        body = np.array2string(data, separator=", ", precision=4, prefix="tensor(",
                               floatmode="maxprec_equal" if data.dtype.kind == "f" else "maxprec")
        extras = []
        if data.dtype not in (np.dtype("float32"), np.dtype("int64"), np.dtype("bool")):
            extras.append(f"dtype=minigan.{data.dtype}")
        if self.device != "cpu":
            extras.append("device='cuda:0'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # --- operators ---
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.remainder(self, other)

    def __rmod__(self, other):
        return ops.remainder(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(as_tensor_arg(other, self), self)

    # ndarray (op) Tensor defers to the Tensor's reflected operator, not NumPy's loop
    __array_ufunc__ = None

    # --- methods: each is the function of the same name in minigan.ops (x.sum(1) is
    # ops.sum(x, 1)); its forward and backward live there ---
    def add(self, other, alpha=1):
        return ops.add(self, other, alpha)

    def sub(self, other, alpha=1):
        return ops.sub(self, other, alpha)

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other):
        return ops.div(self, other)

    def neg(self):
        return ops.neg(self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return ops.matmul(self, other)

    def mm(self, other):
        return ops.mm(self, other)

    def bmm(self, other):
        return ops.bmm(self, other)

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    # math and activations
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def log1p(self):
        return ops.log1p(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def sign(self):
        return ops.sign(self)

    def floor(self):
        return ops.floor(self)

    def ceil(self):
        return ops.ceil(self)

    def round(self, decimals=0):
        return ops.round(self, decimals)

    def floor_divide(self, other):
        return ops.floor_divide(self, other)

    def remainder(self, other):
        return ops.remainder(self, other)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def square(self):
        return ops.mul(self, self)

    def lerp(self, end, weight):
        return ops.lerp(self, end, weight)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        operands = (value,) if isinstance(value, Tensor) else ()
        return self._inplace(lambda a, *v: ops.masked_fill(a, mask, *(v or (value,))), operands,
                             "masked_fill_")

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp

    def sigmoid(self):
        return ops.sigmoid(self)

    def tanh(self):
        return ops.tanh(self)

    def relu(self):
        return ops.relu(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return ops.softplus(self, beta, threshold)

    # reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        return ops.sum(self, dim, keepdim, dtype)

    def mean(self, dim=None, keepdim=False):
        return ops.mean(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return ops.var(self, dim, unbiased, keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return ops.std(self, dim, unbiased, keepdim, correction)

    def amax(self, dim=None, keepdim=False):
        return ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return ops.amin(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return ops.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return ops.logsumexp(self, dim, keepdim)

    def softmax(self, dim):
        return ops.softmax(self, dim)

    def log_softmax(self, dim):
        return ops.log_softmax(self, dim)

    def norm(self, p=2, dim=None, keepdim=False):
        return ops.norm(self, p, dim, keepdim)

    def sort(self, dim=-1, descending=False, stable=False):
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.topk(self, k, dim, largest, sorted)

    def nonzero(self, as_tuple=False):
        return ops.nonzero(self, as_tuple)

    def sum_to(self, shape):
        return ops.sum_to(self, shape)

    # shapes
    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    def view(self, *shape):
        return ops.view(self, *shape)

    def view_as(self, other):
        return ops.view(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return ops.unflatten(self, dim, sizes)

    def permute(self, *dims):
        return ops.permute(self, *dims)

    def transpose(self, dim0, dim1):
        return ops.transpose(self, dim0, dim1)

    @property
    def T(self):
        return ops.permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self):
        return ops.transpose(self, -2, -1)

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def expand(self, *sizes):
        return ops.expand(self, *sizes)

    def expand_as(self, other):
        return ops.broadcast_to(self, other.shape)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def repeat(self, *repeats):
        return ops.repeat(self, *repeats)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def __getitem__(self, key):
        return ops.getitem(self, key)

    def __setitem__(self, key, value):
        key = ops.shape._array_key(key, self._xp)
        if self._records_inplace((value,), "__setitem__"):
            self._inplace(lambda old, v: SetItem.apply(old, v, key=key),
                          (as_tensor_arg(value, self),), "__setitem__")
            return
        self._data[key] = value._data if isinstance(value, Tensor) else value
        self._bump_version()

    # comparisons give bool tensors and are never differentiated
    def _compare(self, other, op):
        b = other._data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self._data, b))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __invert__(self):
        if self.dtype != np.bool_:
            raise TypeError(f"~ is defined for bool tensors, got {self.dtype}")
        return Tensor._wrap(~self._data)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b)

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self, dim=None):
        return Tensor._wrap(self._xp.asarray(self._data.any(axis=dim)))

    def all(self, dim=None):
        return Tensor._wrap(self._xp.asarray(self._data.all(axis=dim)))

    def isnan(self):
        return ops.isnan(self)

    def isinf(self):
        return ops.isinf(self)

    def isfinite(self):
        return ops.isfinite(self)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        return ops.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return ops.equal(self, other)

    # --- in-place operations ---
    # Every write bumps the memory's version counter (see VersionCounter). In grad mode, an
    # in-place op on a tensor in a graph, or with an operand that requires grad, is recorded
    # as PyTorch records it: the op runs on an alias of the old value, and this tensor takes
    # the result's grad_fn. Backward raises if it needs a value that was overwritten since.
    def _bump_version(self):
        """Count one in-place write to this tensor's memory (seen by every tensor sharing it)."""
        self._counter().value += 1

    def _records_inplace(self, operands, name):
        """Whether this in-place op must go into the graph; raises where it may not."""
        if not grad_mode.is_grad_enabled():
            return False
        if not (self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                           for o in operands)):
            return False
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(f"{name}: a leaf Tensor that requires grad is being used in an "
                               "in-place operation; wrap it in `with minigan.no_grad():` (as "
                               "optimisers and nn.init do) or use an out-of-place op")
        if self._version_counter is not None and self._version_counter.has_views:
            raise RuntimeError(f"{name}: this tensor shares its memory with a view of it in the "
                               "autograd graph (from reshape, permute or indexing), and an "
                               "in-place change through a view is not tracked here; use an "
                               "out-of-place op (y = x * 2 instead of x.mul_(2))")
        return True

    def _write(self, result, name):
        """Copy `result` (a Tensor or array of this tensor's shape) into this tensor's memory."""
        array = result._data if isinstance(result, Tensor) else result
        if array.shape != self.shape:
            raise RuntimeError(f"{name}: the result of shape {tuple(array.shape)} does not fit "
                               f"in place into a tensor of shape {tuple(self.shape)}")
        if not np.can_cast(array.dtype, self.dtype, casting="same_kind"):
            raise RuntimeError(f"{name}: result type {array.dtype} can't be cast to the desired "
                               f"output type {self.dtype}")
        self._data[...] = array
        self._bump_version()
        return self

    def _inplace(self, op, operands, name):
        """self = op(self, *operands), written into this tensor's memory."""
        if not self._records_inplace(operands, name):
            with grad_mode.no_grad():
                return self._write(op(self, *operands), name)
        # `old` is this tensor's value before the write: same memory, same version counter.
        old = Tensor._wrap(self._data, self._requires_grad, self.grad_fn, self._counter())
        result = op(old, *operands)
        if result is old:
            return self
        node = result.grad_fn
        if any(t is old for t in node.saved_inputs()):
            # This op's own backward reads the value about to be overwritten (clamp_, mul_ by
            # a tensor that requires grad): keep a private copy of it for backward.
            old._data = old._data.copy()
            old._version_counter = VersionCounter()
            old._version_counter.value = self._version                  # as forward saw it
        self._write(result, name)
        self.grad_fn, self._requires_grad = node, True
        node.output_is_now(self)
        return self

    def __iadd__(self, other):
        return self._inplace(ops.add, (other,), "+=")

    def __isub__(self, other):
        return self._inplace(ops.sub, (other,), "-=")

    def __imul__(self, other):
        return self._inplace(ops.mul, (other,), "*=")

    def __itruediv__(self, other):
        return self._inplace(ops.div, (other,), "/=")

    def add_(self, other, alpha=1):
        return self._inplace(lambda a, b: ops.add(a, b, alpha=alpha), (other,), "add_")

    def sub_(self, other, alpha=1):
        return self._inplace(lambda a, b: ops.sub(a, b, alpha=alpha), (other,), "sub_")

    def mul_(self, other):
        return self._inplace(ops.mul, (other,), "mul_")

    def div_(self, other):
        return self._inplace(ops.div, (other,), "div_")

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda a: ops.clamp(a, min, max), (), "clamp_")

    def lerp_(self, end, weight):
        return self._inplace(lambda a, b, w: a + (b - a) * w, (end, weight), "lerp_")

    def copy_(self, src):
        return self._overwrite(src, "copy_")

    def _overwrite(self, src, name):
        """Write `src` (broadcast to this shape) over this tensor; the old value gets no
        gradient (see Overwrite)."""
        return self._inplace(Overwrite.apply, (as_tensor_arg(src, self),), name)

    def zero_(self):
        return self._fill(0, "zero_")

    def fill_(self, value):
        return self._fill(value, "fill_")

    def _fill(self, value, name):
        if self._records_inplace((value,), name):
            return self._overwrite(value, name)
        self._data[...] = value._data if isinstance(value, Tensor) else value    # no copy made
        self._bump_version()
        return self

    def uniform_(self, a=0.0, b=1.0):
        from .random import rand_array
        samples = rand_array(self.shape, self.dtype, self.device) * (b - a) + a
        return self._overwrite(Tensor._wrap(samples), "uniform_")

    def normal_(self, mean=0.0, std=1.0):
        from .random import randn_array
        samples = randn_array(self.shape, self.dtype, self.device) * std + mean
        return self._overwrite(Tensor._wrap(samples), "normal_")


def _sizes(size):
    """Sizes given as ints or as one tuple/list/Size: (2, 3) or ((2, 3),) -> (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def as_tensor_arg(x, like):
    return x if isinstance(x, Tensor) else Tensor._wrap(like._xp.asarray(x, dtype=like.dtype))


# --- a few primitives that belong with the Tensor itself ---
from .function import Function  # noqa: E402
from . import ops  # noqa: E402


class Clone(Function):
    saves_inputs = False     # the gradient does not depend on x

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class Overwrite(Function):
    """dst.copy_(src) in a graph: the new value is `src` broadcast to dst's shape, so the
    gradient goes to src (summed back by the engine) and none to dst's old value."""
    saves_inputs = False

    def forward(self, old, src):
        self.src_dtype = src.dtype
        return array_module(old).broadcast_to(src.astype(old.dtype, copy=False), old.shape)

    def backward(self, gy):
        return None, gy.to(self.src_dtype)


class SetItem(Function):
    """x[key] = v in a graph: v's gradient is the gradient at `key`; x's old value gets the
    gradient everywhere else."""
    saves_inputs = False

    def forward(self, old, value, key):
        self.key = key
        out = old.copy()
        out[key] = value
        return out

    def backward(self, gy):
        keep = gy._xp.ones(gy.shape, dtype=gy.dtype)
        keep[self.key] = 0
        return gy * Tensor._wrap(keep), gy[self.key]


class ToDevice(Function):
    saves_inputs = False     # backward reads only the device

    def forward(self, x, device):
        self.source = device_of(x)
        return to_device(x, device)

    def backward(self, gy):
        return gy.to(device=self.source)


def ops_clone(x):
    return Clone.apply(x)
