"""Creation functions with PyTorch's names: tensor, zeros, ones, arange, rand, randn, normal,
..., and PyTorch's legacy typed constructors (FloatTensor, LongTensor, Variable) for code
written against them."""
import numpy as np

from ._device import default_float, normalize_dtype, to_device
from .random import rand_array, randint_array, randn_array
from .tensor import Tensor, _legacy_array, new_tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm", "normal", "FloatTensor",
           "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"]


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _filled(value, size, dtype, device, requires_grad):
    array = to_device(np.full(size, value, dtype=normalize_dtype(dtype) or default_float),
                      device or "cpu")
    return Tensor._wrap(array).requires_grad_(requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (float data becomes float32, ints int64)."""
    return new_tensor(data, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a Tensor or array where it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and dtype is None and device is None:
        return Tensor._wrap(data)
    return new_tensor(data, dtype, device)


def from_numpy(array):
    return Tensor._wrap(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _filled(0.0, _size(size), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _filled(1.0, _size(size), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `fill_value`; its dtype follows the value (bool, int64 or float32)."""
    if dtype is None and isinstance(fill_value, (bool, int)):
        dtype = np.dtype("bool") if isinstance(fill_value, bool) else np.dtype("int64")
    return _filled(fill_value, _size((size,)), dtype, device, requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                 requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return zeros_like(x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def rand_like(x, dtype=None, device=None):
    return rand(x.shape, dtype=dtype or x.dtype, device=device or x.device)


def randn_like(x, dtype=None, device=None):
    return randn(x.shape, dtype=dtype or x.dtype, device=device or x.device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    is_float = any(isinstance(v, float) for v in (start, end, step))
    dtype = normalize_dtype(dtype) or (default_float if is_float else np.dtype("int64"))
    array = np.arange(start, end, step).astype(dtype)
    return new_tensor(array, None, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    array = np.linspace(start, end, steps).astype(normalize_dtype(dtype) or default_float)
    return new_tensor(array, None, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    array = np.eye(n, m, dtype=normalize_dtype(dtype) or default_float)
    return new_tensor(array, None, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from minigan's seeded generator."""
    return Tensor._wrap(rand_array(_size(size), dtype, device)).requires_grad_(requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from minigan's seeded generator."""
    return Tensor._wrap(randn_array(_size(size), dtype, device)).requires_grad_(requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None):
    """Integers in [low, high); `randint(high, size)` also works, as in PyTorch."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: `size` is required, e.g. randint(0, 10, (4,))")
    array = randint_array(low, high, _size((size,)), device)
    if dtype is not None:
        array = array.astype(normalize_dtype(dtype))
    return Tensor._wrap(array)


def randperm(n, device=None):
    from .random import permutation_array
    return Tensor._wrap(to_device(permutation_array(n).astype(np.int64), device or "cpu"))


def normal(mean, std=1.0, size=None, dtype=None, device=None, requires_grad=False):
    """Samples of N(mean, std^2): normal(0.0, 1.0, size=(2, 3)) with numbers, or
    normal(mean, std) with tensors (shapes broadcast). With tensors the samples are
    mean + std * eps, eps ~ N(0, 1), so gradients reach mean and std (as PyTorch's)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        like = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(np.shape(mean._data if isinstance(mean, Tensor) else mean),
                                    np.shape(std._data if isinstance(std, Tensor) else std))
        eps = randn(shape, dtype=like.dtype, device=like.device)
        return mean + std * eps
    if size is None:
        raise TypeError("normal: with numbers for mean and std, give `size`, e.g. "
                        "normal(0.0, 1.0, size=(2, 3))")
    return (randn(size, dtype=dtype, device=device) * std + mean).requires_grad_(requires_grad)


# --- PyTorch's legacy typed constructors ---
class LegacyTensorType:
    """minigan.FloatTensor, LongTensor, ... and minigan.cuda.FloatTensor, ...: PyTorch's
    legacy constructors, kept so code written against them runs. FloatTensor(2, 3) is a
    float32 tensor of shape (2, 3) (zeros here; PyTorch leaves it uninitialised) and
    FloatTensor([1, 2]) one holding that data. New code writes minigan.zeros(2, 3) and
    minigan.tensor(data, dtype=...). `x.type(minigan.FloatTensor)` converts x."""

    def __init__(self, name, dtype, device):
        self.__name__, self.dtype, self.device = name, np.dtype(dtype), device

    def __call__(self, *args):
        return Tensor._wrap(_legacy_array(args, self.dtype, self.device, self.__name__))

    def __repr__(self):
        prefix = "minigan.cuda." if self.device == "cuda" else "minigan."
        return f"<class '{prefix}{self.__name__}'>"


LEGACY_NAMES = {"FloatTensor": "float32", "DoubleTensor": "float64", "LongTensor": "int64",
                "IntTensor": "int32", "BoolTensor": "bool"}
LEGACY_TYPES = {(name, device): LegacyTensorType(name, dtype, device)
                for name, dtype in LEGACY_NAMES.items() for device in ("cpu", "cuda")}
FloatTensor, DoubleTensor, LongTensor, IntTensor, BoolTensor = (
    LEGACY_TYPES[name, "cpu"] for name in LEGACY_NAMES)


def legacy_type(t):
    """The LegacyTensorType that `t` names ('torch.FloatTensor', 'minigan.cuda.LongTensor'
    or the object itself), or None when `t` is not one."""
    if isinstance(t, LegacyTensorType):
        return t
    if isinstance(t, str) and t.endswith("Tensor"):
        parts = t.split(".")
        device = "cuda" if "cuda" in parts[:-1] else "cpu"
        if parts[-1] in LEGACY_NAMES:
            return LEGACY_TYPES[parts[-1], device]
    return None


def type_name(dtype, device):
    """'minigan.FloatTensor' for float32 on the CPU, 'minigan.cuda.LongTensor', ..."""
    for (name, dev), t in LEGACY_TYPES.items():
        if t.dtype == dtype and dev == device:
            return repr(t)[8:-2]
    return f"minigan.{dtype}"


def Variable(data, requires_grad=False, volatile=False):
    """PyTorch's pre-0.4 wrapper, kept for old code: since then a Tensor is a Variable, and
    Variable(t) is t cut from the graph, requiring grad if asked (as PyTorch's today).
    New code writes minigan.tensor(..., requires_grad=True) or t.requires_grad_()."""
    return data.detach().requires_grad_(requires_grad)
