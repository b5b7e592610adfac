"""Devices and dtypes: which array module holds a tensor's data, and which dtypes exist.

A tensor's data is a NumPy array on the CPU or a CuPy array on a CUDA GPU. Code that must
work on both asks `array_module(x)` for the module (`numpy` or `cupy`) instead of
importing one; CuPy is imported only when a GPU is actually used.
"""
import builtins

import numpy as np

# dtypes: minigan uses NumPy's dtype objects under PyTorch's names.
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
bool_ = np.dtype("bool")
float = float32      # PyTorch aliases
double = float64
long = int64

default_float = float32


def normalize_dtype(dtype):
    """Accept minigan/NumPy dtypes, Python types and names; return a np.dtype."""
    if dtype is None:
        return None
    if dtype is builtins.float:
        return default_float
    if dtype is builtins.int:
        return int64
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; use minigan.float32, float64, int64 or bool") from None


def is_floating(dtype):
    return np.dtype(dtype).kind == "f"


# --- devices ---
class device(str):
    """A device name, 'cpu' or 'cuda', that compares equal to its string."""

    def __new__(cls, name="cpu"):
        name = str(name)
        kind = name.split(":")[0]
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {name!r}: expected 'cpu' or 'cuda'")
        return super().__new__(cls, "cuda" if kind == "cuda" else "cpu")

    @property
    def type(self):
        return str(self)

    def __repr__(self):
        return f"device(type='{self}')"


def parse_to_args(args, dtype=None, device=None):
    """Split `.to(...)`'s positional arguments into (dtype, device), as PyTorch accepts
    to(dtype), to(device) and to(device, dtype)."""
    for a in args:
        if isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda"):
            device = a
        else:
            dtype = a
    return dtype, device


_cupy = None


def cupy_module():
    """Import CuPy on first use; a clear error says how to get it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise RuntimeError("device 'cuda' needs CuPy: pip install 'minigan[gpu]'") from None
        _cupy = cupy
    return _cupy


def array_module(array):
    """`numpy` for NumPy arrays, `cupy` for CuPy arrays."""
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return np
    if type(array).__module__.startswith("cupy"):
        return cupy_module()
    return np


def device_of(array):
    return device("cpu") if array_module(array) is np else device("cuda")


def to_device(array, dev):
    """Move an array to device 'cpu' or 'cuda' (no copy when it is already there)."""
    dev = device(dev)
    if dev == "cpu":
        return array.get() if array_module(array) is not np else array
    cp = cupy_module()
    return cp.asarray(array)


def cuda_is_available():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def add_at(out, index, values):
    """out[index] += values, adding repeated indices up (np.add.at; cupyx.scatter_add)."""
    if array_module(out) is np:
        np.add.at(out, index, values)
    else:
        import cupyx
        cupyx.scatter_add(out, index, values)


# --- CPU threads ---
def get_num_threads():
    """The threads minigan's CPU kernels run on (kernels/threads.py: one pool, with numpy's
    BLAS on one thread inside it), as torch.get_num_threads."""
    from .kernels import threads
    return threads.get_num_threads()


def set_num_threads(n):
    """Run minigan's CPU kernels, BLAS included, on n threads (n >= 1), as
    torch.set_num_threads. MINIGAN_NUM_THREADS=n sets it before the first kernel runs."""
    from .kernels import threads
    threads.set_num_threads(n)
