"""Adam and AdamW (PyTorch's rules), one fused kernel call per parameter.

Per parameter, at step t (1, 2, ...), with g its gradient:
    g = g + weight_decay * p                   (Adam: L2 penalty in the gradient)
    p = p * (1 - lr * weight_decay)            (AdamW: decoupled decay of the weight)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
With amsgrad, v in the denominator is the running maximum of v.

    >>> opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))   # DCGAN's setting
"""
import math

from .. import kernels
from .._device import array_module
from ..grad_mode import no_grad
from .optimizer import Optimizer, _grad_array


class Adam(Optimizer):
    decoupled = False       # AdamW sets True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: invalid lr {lr}, eps {eps} or "
                             f"weight_decay {weight_decay} (all must be >= 0)")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd = group["weight_decay"]
            for p in group["params"]:
                g = _grad_array(p, type(self).__name__)
                if g is None:
                    continue
                if group["maximize"]:
                    g = -g
                state = self.state.get(p)
                if state is None:
                    xp = p._xp
                    state = self.state[p] = {"step": 0, "exp_avg": xp.zeros_like(p._data),
                                             "exp_avg_sq": xp.zeros_like(p._data)}
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = xp.zeros_like(p._data)
                state["step"] += 1
                if group["amsgrad"]:
                    _amsgrad_step(p._data, g, state, lr, beta1, beta2, eps, wd, self.decoupled)
                else:
                    kernels.adam_update(p._data, g, state["exp_avg"], state["exp_avg_sq"],
                                        state["step"], lr, beta1, beta2, eps, wd, self.decoupled)
                p._bump_version()       # a graph that saved p must not use the new value
        return loss


def _amsgrad_step(p, g, state, lr, beta1, beta2, eps, wd, decoupled):
    """The AMSGrad variant in plain array code (rarely used, so not fused)."""
    t = state["step"]
    if wd:
        if decoupled:
            p *= 1 - lr * wd
        else:
            g = g + wd * p
    m, v, vmax = state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"]
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    array_module(p).maximum(vmax, v, out=vmax)
    denom = (vmax ** 0.5) / math.sqrt(1 - beta2 ** t) + eps
    p -= (lr / (1 - beta1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): default weight_decay 0.01."""
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
