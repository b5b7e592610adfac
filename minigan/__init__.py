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

from ._version import __version__  # noqa: F401
from ._device import (bool_ as bool, cuda_is_available, device, double, float, float32,  # noqa: F401
                      float64, get_num_threads, int32, int64, long, set_num_threads)
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,  # noqa: F401
                        set_grad_enabled)
from .tensor import Size, Tensor  # noqa: F401
from .creation import *  # noqa: F401,F403
from .random import get_rng_state, manual_seed, set_rng_state  # noqa: F401
from .ops import (abs, allclose, amax, amin, argmax, argmin, argsort, bmm, broadcast_to, cat,  # noqa: F401
                  ceil, chunk, clamp, concatenate, cos, einsum, equal, exp, flatten, floor,
                  floor_divide, gather, isfinite, isinf, isnan, leaky_relu, lerp, log, log1p,
                  log_softmax, logsigmoid, logsumexp, masked_fill, matmul, max, maximum, mean,
                  min, minimum, mm, nonzero, norm, permute, pow, relu, remainder, repeat,
                  reshape, round, sigmoid, sign, sin, softmax, softplus, sort, split, sqrt,
                  squeeze, stack, std, sum, tanh, topk, transpose, unsqueeze, var, where)
from . import autograd  # noqa: F401
from .function import Function  # noqa: F401
from .serialization import load, save  # noqa: F401
from . import backends, cuda  # noqa: F401

from . import nn, optim  # noqa: F401,E402  (light: numba loads on the first kernel call)

clip = clamp


def is_tensor(obj):
    return isinstance(obj, Tensor)


def square(x):
    return x * x


def __getattr__(name):
    """`minigan.data`, `.gan`, `.metrics`, `.viz`, `.apps` load on first use (import stays quick)."""
    import importlib
    if name in ("data", "gan", "metrics", "viz", "apps", "kernels"):
        return importlib.import_module(f"minigan.{name}")
    if name == "utils":
        # PyTorch spells the data tools torch.utils.data (DataLoader, Dataset, TensorDataset).
        import types
        utils = types.SimpleNamespace(data=importlib.import_module("minigan.data"))
        globals()["utils"] = utils
        return utils
    raise AttributeError(f"module 'minigan' has no attribute {name!r}")
