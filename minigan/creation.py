"""Creation functions with PyTorch's names: tensor, zeros, ones, arange, rand, randn, ..."""
import numpy as np

from ._device import default_float, normalize_dtype, to_device
from .random import rand_array, randint_array, randn_array
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm"]


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
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a Tensor or array where it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and dtype is None and device is None:
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype, device=device)


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
    return Tensor(array, device=device, requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    array = np.linspace(start, end, steps).astype(normalize_dtype(dtype) or default_float)
    return Tensor(array, device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    array = np.eye(n, m, dtype=normalize_dtype(dtype) or default_float)
    return Tensor(array, device=device, requires_grad=requires_grad)


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
