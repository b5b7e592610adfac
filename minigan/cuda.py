"""minigan.cuda: PyTorch's `torch.cuda` questions, answered through CuPy.

    >>> device = minigan.device("cuda" if minigan.cuda.is_available() else "cpu")

A CUDA tensor here is a CuPy array; CuPy is imported only when one of these is asked.
"""
from ._device import cuda_is_available, cupy_module
from .creation import LEGACY_TYPES

__all__ = ["is_available", "device_count", "current_device", "synchronize", "manual_seed",
           "manual_seed_all", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
           "BoolTensor"]


def is_available():
    """True when CuPy is installed and sees at least one CUDA device."""
    return cuda_is_available()


def device_count():
    """How many CUDA devices CuPy sees (0 without CuPy or without a GPU)."""
    if not cuda_is_available():
        return 0
    return int(cupy_module().cuda.runtime.getDeviceCount())


def current_device():
    """The index of the device in use (minigan uses CuPy's current device, 0 by default)."""
    _require_cuda("current_device")
    return int(cupy_module().cuda.Device().id)


def synchronize():
    """Wait for the GPU to finish its queued work (for timing GPU code honestly)."""
    _require_cuda("synchronize")
    cupy_module().cuda.Device().synchronize()


def manual_seed(seed):
    """Seed the generator. NOTE: minigan has one generator for every device, so this is
    minigan.manual_seed (PyTorch seeds the CUDA generators only)."""
    from .random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed


def _require_cuda(who):
    if not cuda_is_available():
        raise RuntimeError(f"minigan.cuda.{who}: no CUDA device (it needs CuPy and a GPU: "
                           "pip install 'minigan[gpu]')")


# Legacy typed constructors on the GPU (minigan.cuda.FloatTensor(2, 3)).
FloatTensor, DoubleTensor, LongTensor, IntTensor, BoolTensor = (
    LEGACY_TYPES[name, "cuda"] for name in ("FloatTensor", "DoubleTensor", "LongTensor",
                                            "IntTensor", "BoolTensor"))
