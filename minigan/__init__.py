"""minigan: Generative Adversarial Networks from the ground up.

A reverse-mode autograd engine on NumPy (and CuPy) arrays with PyTorch's names, fast conv
and matmul kernels, the layers and optimisers a GAN needs, and the GAN toolkit itself.
"""
import importlib.util as _importlib_util

# `kernels/` is installed as `minigan.kernels` (pyproject.toml maps the folder). A source
# checkout that was never installed has no such package, and the engine's
# `from minigan import kernels` would fail with a misleading "circular import" message.
if _importlib_util.find_spec("minigan.kernels") is None:
    raise ImportError(
        "minigan.kernels is missing: this looks like a source checkout of minigan that is not "
        f"installed ({__path__[0]}). Install it first, from the folder that holds "
        "pyproject.toml: pip install -e .")

from ._version import __version__  # noqa: E402,F401
from ._device import (bool_ as bool, cuda_is_available, device, double, float, float32,  # noqa: F401
                      float64, int32, int64, long)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor import Tensor  # noqa: F401
from .creation import *  # noqa: F401,F403
from .random import get_rng_state, manual_seed, set_rng_state  # noqa: F401
from .ops import (abs, amax, amin, argmax, argmin, broadcast_to, cat, chunk, clamp, concatenate,  # noqa: F401
                  exp, flatten, gather, leaky_relu, log, log1p, log_softmax, logsigmoid,
                  logsumexp, matmul, max, maximum, mean, min, minimum, norm, permute, pow, relu,
                  repeat, reshape, sigmoid, sign, softmax, softplus, split, sqrt, squeeze,
                  stack, std, sum, tanh, transpose, unsqueeze, var, where)
from . import autograd  # noqa: F401
from .function import Function  # noqa: F401
from .serialization import load, save  # noqa: F401

from . import nn, optim  # noqa: F401,E402  (light: numba loads on the first kernel call)

clip = clamp


def __getattr__(name):
    """`minigan.data`, `.gan`, `.metrics`, `.viz`, `.apps` load on first use (import stays quick)."""
    if name in ("data", "gan", "metrics", "viz", "apps", "kernels"):
        import importlib
        return importlib.import_module(f"minigan.{name}")
    raise AttributeError(f"module 'minigan' has no attribute {name!r}")
