"""minigan.kernels: arrays in, arrays out. No autograd, no import of the rest of minigan.

Every kernel has a NumPy reference (the specification), a CPU fast path and a CuPy
version; this module picks one per call:

* a CuPy array always goes to the CuPy version;
* a NumPy array goes to the fastest correct CPU version we measured (`CPU_DEFAULT`),
  or to the NumPy reference after `set_backend("numpy")` or with the environment
  variable MINIGAN_KERNELS=numpy (read at import; for teaching and debugging).

    >>> import numpy as np
    >>> from minigan import kernels
    >>> x = np.ones((1, 1, 4, 4), dtype=np.float32); w = np.ones((2, 1, 3, 3), dtype=np.float32)
    >>> kernels.conv2d(x, w, padding=(1, 1))[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)

Importing this package does not import numba (it loads on the first fast call) nor cupy.
"""
import os

from . import activation, adam, batchnorm, conv, im2col as _im2col, matmul as _matmul
from ._jit import is_cupy, numba_installed

# name -> {backend: function}; looked up on every call, so tests can patch entries.
REGISTRY = {
    "conv2d": conv.CONV2D,
    "conv2d_grad_input": conv.CONV2D_GRAD_INPUT,
    "conv2d_grad_weight": conv.CONV2D_GRAD_WEIGHT,
    "im2col": _im2col.IM2COL,
    "col2im": _im2col.COL2IM,
    "matmul": _matmul.MATMUL,
    "adam_update": adam.ADAM_UPDATE,
    "leaky_relu": activation.LEAKY_RELU,
    "leaky_relu_grad": activation.LEAKY_RELU_GRAD,
    "batch_norm_forward": batchnorm.BATCH_NORM_FORWARD,
    "batch_norm_backward": batchnorm.BATCH_NORM_BACKWARD,
}

# Every CUDA source the CuPy versions compile (checked with nvcc by tests/test_cuda_sources.py)
CUDA_SOURCES = {**_im2col.CUDA_SOURCES, **adam.CUDA_SOURCES, **activation.CUDA_SOURCES}

# Fastest correct CPU version per kernel, measured with `python -m minigan.bench.kernels`
# (2-core x86 VM shared with other jobs, OpenBLAS, batch 64, DCGAN-28 layers, float32,
# best of 20). What the measurement said:
#   conv2d / grad_input / grad_weight: Numba im2col|col2im + one batch-wide BLAS GEMM,
#     8-28x faster than the einsum-per-tap reference on the 64/128-channel layers
#     (e.g. Conv2d(64,128) 14->7 forward 7.3 ms vs 101 ms; torch 7.0 ms in the same run)
#     and 1.5-20x on the 1-channel layers.
#   im2col (public, NCHW columns): the reference's KH*KW strided slice copies and the Numba
#     loops are level (3.8 vs 4.4 ms for x (64, 64, 14, 14)), so the reference stays.
#     (conv2d calls its kernels directly: the Numba loops when C < 4, NHWC columns otherwise.)
#   col2im: Numba 4.8 ms vs 8.0 ms.
#   matmul: BLAS (np.matmul) 2.6-3.4 ms vs Numba 7-11 ms for (512,1024)@(1024,512); the
#     Numba loop is a lesson exhibit.
#   adam_update: the NumPy reference. On 1M float32 params one VM measured 2.1 ms for it vs
#     3.3 ms for the serial Numba loop, another VM the reverse (3.4 vs 2.2 ms; and 0.22 vs
#     0.29 ms on 131K params); inside the DCGAN step the two are level (median 106.4 vs
#     104.9 ms per iteration, alternating, 40 each). A parallel loop was worse still there
#     (1-40 ms), stalled behind OpenBLAS's threads. The Numba version stays, tested against
#     the reference.
#   leaky_relu / leaky_relu_grad: one Numba pass, 0.09 / 0.12 ms vs 0.22 ms for
#     np.maximum(x, a*x) and 3.9 ms for gy * where(x > 0, 1, a), on (64, 64, 14, 14) float32.
#   batch_norm_forward / backward: two Numba passes each: 0.60 / 0.95 ms vs 2.1 / 2.0 ms
#     for the NumPy reference on (64, 64, 196) float32.
CPU_DEFAULT = {
    "conv2d": "numba",
    "conv2d_grad_input": "numba",
    "conv2d_grad_weight": "numba",
    "im2col": "numpy",
    "col2im": "numba",
    "matmul": "blas",
    "adam_update": "numpy",
    "leaky_relu": "numba",
    "leaky_relu_grad": "numba",
    "batch_norm_forward": "numba",
    "batch_norm_backward": "numba",
}

_BACKENDS = ("auto", "numpy")
_backend = "numpy" if os.environ.get("MINIGAN_KERNELS", "").strip().lower() == "numpy" else "auto"
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


def set_backend(name):
    """"auto" (fastest measured CPU path) or "numpy" (the reference) for NumPy arrays."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend():
    return _backend


def implementation(name, array):
    """The function that kernel `name` would run for `array` right now."""
    table = REGISTRY[name]
    if is_cupy(array):
        return table["cupy"]
    if _backend == "numpy":
        return table["numpy"]
    choice = CPU_DEFAULT[name]
    if choice == "numba" and not numba_installed():
        return table["numpy"]
    return table[choice]


# --- public kernels (signatures are the contract; see each module's docstring) ---------

def conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """(N, C, H, W) * (O, C, KH, KW) [+ bias (O,)] -> (N, O, OH, OW)."""
    return implementation("conv2d", x)(x, w, bias, stride, padding, dilation)


def conv2d_grad_input(gy, w, input_hw, stride, padding, dilation):
    """Gradient of conv2d w.r.t. x: (N, O, OH, OW), (O, C, KH, KW) -> (N, C, *input_hw)."""
    return implementation("conv2d_grad_input", gy)(gy, w, input_hw, stride, padding, dilation)


def conv2d_grad_weight(x, gy, kernel_hw, stride, padding, dilation):
    """Gradient of conv2d w.r.t. w: (N, C, H, W), (N, O, OH, OW) -> (O, C, KH, KW)."""
    return implementation("conv2d_grad_weight", x)(x, gy, kernel_hw, stride, padding, dilation)


def im2col(x, kernel_hw, stride, padding, dilation):
    """(N, C, H, W) -> (N, C*KH*KW, OH*OW)."""
    return implementation("im2col", x)(x, kernel_hw, stride, padding, dilation)


def col2im(cols, input_shape, kernel_hw, stride, padding, dilation):
    """(N, C*KH*KW, OH*OW) -> (N, C, H, W), summing overlaps (adjoint of im2col)."""
    return implementation("col2im", cols)(cols, input_shape, kernel_hw, stride, padding, dilation)


def matmul(a, b):
    """NumPy matmul semantics, batch dims broadcast."""
    return implementation("matmul", a)(a, b)


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                weight_decay=0.0, decoupled=False):
    """Adam (decoupled=False) / AdamW (decoupled=True) step, in place; returns None."""
    implementation("adam_update", param)(param, grad, exp_avg, exp_avg_sq, step, lr, beta1,
                                         beta2, eps, weight_decay, decoupled)


def leaky_relu(x, negative_slope):
    """x if x > 0 else negative_slope * x (0 gives ReLU); same shape and dtype."""
    return implementation("leaky_relu", x)(x, negative_slope)


def leaky_relu_grad(gy, x, negative_slope):
    """gy if x > 0 else negative_slope * gy: the gradient of leaky_relu at x."""
    return implementation("leaky_relu_grad", gy)(gy, x, negative_slope)


def batch_norm_forward(x, weight, bias, eps):
    """Training-mode batch norm of x (N, C, L): (y, xhat, mean, var, inv); see batchnorm.py."""
    return implementation("batch_norm_forward", x)(x, weight, bias, eps)


def batch_norm_backward(gy, xhat, inv, weight):
    """Gradient of batch_norm_forward's y: (gx, gweight, gbias); see batchnorm.py."""
    return implementation("batch_norm_backward", gy)(gy, xhat, inv, weight)


__all__ = ["batch_norm_forward", "batch_norm_backward", "leaky_relu", "leaky_relu_grad", "conv2d", "conv2d_grad_input", "conv2d_grad_weight", "im2col", "col2im", "matmul",
           "adam_update", "available", "set_backend", "get_backend", "implementation",
           "REGISTRY", "CPU_DEFAULT", "CUDA_SOURCES"]
