"""nn.utils: gradient clipping, flattening parameters, spectral normalisation, eval mode.

    >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> D_layer = nn.utils.spectral_norm(nn.Conv2d(64, 128, 4, 2, 1))   # SN-GAN critic
    >>> with nn.utils.eval_mode(G):                                     # BatchNorm: running stats
    ...     images = G(z)
"""
import contextlib
import math

import numpy as np

from ..grad_mode import no_grad
from ..tensor import Tensor
from ..random import randn_array


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most `max_norm`.
    Returns the joint norm before clipping (a 0-dim Tensor), as PyTorch."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    xp = grads[0]._xp
    norm_type = float(norm_type)
    if norm_type == math.inf:
        norms = [xp.abs(g._data).max() for g in grads]
        total = xp.max(xp.stack(norms))
    else:
        # The norm of the per-tensor norms is the norm of everything joined together.
        norms = [xp.sum(xp.abs(g._data) ** norm_type) for g in grads]
        total = xp.sum(xp.stack(norms)) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           "gradients is non-finite, so it cannot be clipped")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    if coef < 1.0:
        for g in grads:
            g._data *= g.dtype.type(coef)
            g._bump_version()
    return Tensor._wrap(xp.asarray(total, dtype=grads[0].dtype))


@no_grad()
def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value]."""
    for g in _grads(parameters):
        xp = g._xp
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    from ..ops import cat
    return cat([p.reshape(-1) for p in parameters])


@no_grad()
def vector_to_parameters(vec, parameters):
    """Copy slices of the 1-D `vec` back into the parameters (the inverse of the above)."""
    start = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[start:start + n].reshape(p.shape)
        p._bump_version()
        start += n
    if start != vec.numel():
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements, the "
                         f"parameters {start}")


# --- spectral normalisation (Miyato et al., 2018) ---
def _l2_normalize(a, eps):
    return a / max(float(np.sqrt((a * a).sum())), eps)


class SpectralNorm:
    """weight = weight_orig / sigma, sigma = u^T W v ~ the largest singular value of W (the
    weight as a matrix (out, -1)), with u and v refined by power iteration while training.

    Like PyTorch, u and v are constants in the graph: the gradient flows through W in both
    W and sigma(W) = u^T W v, which is differentiable to any order.
    """

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.name, self.dim = name, dim
        self.n_power_iterations, self.eps = n_power_iterations, eps

    def _matrix(self, w):
        """The weight as a matrix (size of `dim`, everything else)."""
        if self.dim != 0:
            w = w.permute(self.dim, *[d for d in range(w.ndim) if d != self.dim])
        return w.reshape(w.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        w = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self._matrix(w)                                     # (h, w)
        if do_power_iteration:
            m = mat._data
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v._data[...] = _l2_normalize(m.T @ u._data, self.eps)   # (w,)
                    u._data[...] = _l2_normalize(m @ v._data, self.eps)     # (h,)
            u._bump_version()
            v._bump_version()
        # Copies: the buffers change in place later, the graph must keep these values.
        u_c, v_c = Tensor._wrap(u._data.copy()), Tensor._wrap(v._data.copy())
        sigma = (u_c * (mat @ v_c)).sum()
        return w / sigma

    def __call__(self, module, inputs):
        # Runs before every forward (a forward pre-hook).
        setattr(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Constrain `module.<name>` to spectral norm ~1 (as torch.nn.utils.spectral_norm).

    The trained parameter becomes `<name>_orig`; buffers `<name>_u`, `<name>_v` hold the
    power-iteration vectors; `<name>` is recomputed before each forward. dim defaults to
    1 for ConvTranspose2d (its output channels) and 0 otherwise.
    """
    from .conv import ConvTranspose2d
    if dim is None:
        dim = 1 if isinstance(module, ConvTranspose2d) else 0
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    h, w = fn._matrix(weight.detach()).shape
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    u = _l2_normalize(randn_array((h,), weight.dtype, weight.device), eps)
    v = _l2_normalize(randn_array((w,), weight.dtype, weight.device), eps)
    module.register_buffer(name + "_u", Tensor._wrap(u))
    module.register_buffer(name + "_v", Tensor._wrap(v))
    setattr(module, name, weight.detach())
    module._spectral_norm_handle = module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: `<name>` becomes a plain Parameter holding W / sigma."""
    from .parameter import Parameter
    handle = module.__dict__.pop("_spectral_norm_handle", None)
    if handle is None:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    fn = handle.hooks[handle.key]
    handle.remove()
    with no_grad():
        weight = fn.compute_weight(module, do_power_iteration=False)
    for suffix in ("_orig", "_u", "_v"):
        delattr(module, name + suffix)
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight.detach()))
    return module


@contextlib.contextmanager
def eval_mode(*modules):
    """Put `modules` in eval mode inside the block, then give each its own mode back
    (a model that was training goes on training; one in eval mode stays there)."""
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, was_training):
            m.train(mode)
