"""minigan.backends: PyTorch's `torch.backends` switches, where minigan has a meaning for them.

    cudnn   flags that scripts set (benchmark, deterministic); minigan does not use cuDNN,
            so they are accepted and change nothing
    mps     Apple's GPU backend: never available here (minigan's GPU path is CUDA via CuPy)

minigan's own backend switch is for its kernels: minigan.kernels.set_backend("numpy") (or
MINIGAN_KERNELS=numpy) runs the NumPy reference kernels instead of the fast ones.
"""
from . import cudnn, mps  # noqa: F401
