"""minigan.kernels: arrays in, arrays out. No autograd, no import of the rest of minigan.

Every kernel lives in one file: its contract, the NumPy reference (the specification),
the Numba version (CPU), the CuPy version (GPU), then the public function that picks one.

| kernel              | file          | reference               | Numba (CPU)               | CuPy (GPU)              | CPU default |
|---------------------|---------------|-------------------------|---------------------------|-------------------------|-------------|
| conv2d              | conv.py       | conv2d_ref              | conv2d_numba              | conv2d_cupy             | numba       |
| conv2d_grad_input   | conv.py       | conv2d_grad_input_ref   | conv2d_grad_input_numba   | conv2d_grad_input_cupy  | numba       |
| conv2d_grad_weight  | conv.py       | conv2d_grad_weight_ref  | conv2d_grad_weight_numba  | conv2d_grad_weight_cupy | numba       |
| im2col              | conv.py       | im2col_ref              | im2col_numba              | im2col_cupy             | numpy       |
| col2im              | conv.py       | col2im_ref              | col2im_numba              | col2im_cupy             | numba       |
| leaky_relu          | activation.py | leaky_relu_ref          | leaky_relu_numba          | leaky_relu_cupy         | numba       |
| leaky_relu_grad     | activation.py | leaky_relu_grad_ref     | leaky_relu_grad_numba     | leaky_relu_grad_cupy    | numba       |
| batch_norm_forward  | batchnorm.py  | batch_norm_forward_ref  | batch_norm_forward_numba  | batch_norm_forward_ref  | numba       |
| batch_norm_backward | batchnorm.py  | batch_norm_backward_ref | batch_norm_backward_numba | batch_norm_backward_ref | numba       |
| channel_sums        | batchnorm.py  | channel_sums_ref        | channel_sums_numba        | channel_sums_ref        | numba       |
| adam_update         | adam.py       | adam_update_ref         | adam_update_numba         | adam_update_cupy        | numba       |
| matmul (exhibit)    | gemm.py       | matmul_ref              | matmul_numba              | matmul_cupy             | blas        |

Notes on the table:
* "CPU default" is what a NumPy array gets: the fastest correct version measured (each
  file gives its measurement next to its `register` call). "numpy" means the reference
  won (im2col, whose strided slice copies level the Numba loops).
* conv2d and its gradients run im2col / col2im inside: conv.py holds the columns too.
* matmul is a lesson exhibit (lesson 05 races the einsum reference, BLAS and the Numba
  loop): the engine calls `xp.matmul` directly, which is BLAS ("blas": np.matmul).
* batch norm (and channel_sums) on CuPy runs the reference, written with the array's own
  module.

Threads and layouts: the fast CPU versions split their work over one thread pool
(threads.py: set_num_threads / get_num_threads, MINIGAN_NUM_THREADS; numpy's BLAS then runs
one thread inside each of ours, so two pools never compete for the cores), and keep
activations channels last between layers (layout.py).

Dispatch (kernels/_dispatch.py): a CuPy array always goes to the CuPy version; a NumPy
array to its CPU default, or to the NumPy reference after `set_backend("numpy")` or with
the environment variable MINIGAN_KERNELS=numpy (read at import; teaching and debugging).

    >>> import numpy as np
    >>> from minigan import kernels
    >>> x = np.ones((1, 1, 4, 4), dtype=np.float32); w = np.ones((2, 1, 3, 3), dtype=np.float32)
    >>> kernels.conv2d(x, w, padding=(1, 1))[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)

Importing this package does not import numba (it loads on the first fast call) nor cupy.
It does ask glibc to keep freed memory for reuse (memory.py says why and how to opt out).
"""
from . import activation, adam, batchnorm, conv, gemm, layout, memory, threads
from ._dispatch import CPU_DEFAULT, REGISTRY, get_backend, implementation, set_backend
from ._jit import numba_installed
from .activation import leaky_relu, leaky_relu_grad
from .adam import adam_update
from .batchnorm import batch_norm_backward, batch_norm_forward, channel_sums
from .conv import col2im, conv2d, conv2d_grad_input, conv2d_grad_weight, im2col
from .gemm import matmul

memory.keep_freed_memory()

# Every CUDA source the CuPy versions compile (checked with nvcc by tests/test_cuda_sources.py)
CUDA_SOURCES = {**conv.CUDA_SOURCES, **adam.CUDA_SOURCES, **activation.CUDA_SOURCES}

_cupy_ok = None


def available():
    """Which backends this machine has: {"numpy": True, "numba": bool, "cupy": bool}.

    "cupy" is True only if cupy imports AND sees at least one CUDA device.
    """
    global _cupy_ok
    if _cupy_ok is None:
        try:
            import cupy
            _cupy_ok = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:  # not installed, no driver, no device: all mean "no"
            _cupy_ok = False
    return {"numpy": True, "numba": numba_installed(), "cupy": _cupy_ok}


__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight", "im2col", "col2im",
           "leaky_relu", "leaky_relu_grad", "batch_norm_forward", "batch_norm_backward", "channel_sums",
           "adam_update", "matmul", "available", "set_backend", "get_backend",
           "implementation", "REGISTRY", "CPU_DEFAULT", "CUDA_SOURCES",
           "activation", "adam", "batchnorm", "conv", "gemm", "layout", "threads"]
