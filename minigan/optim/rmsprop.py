"""RMSprop (PyTorch's rule); WGAN trains with it (lr 5e-5).

Per parameter, with g its gradient:
    g = g + weight_decay * p
    s = alpha * s + (1 - alpha) * g^2
    centered: a = alpha * a + (1 - alpha) * g;  denom = sqrt(s - a^2) + eps
    else:     denom = sqrt(s) + eps
    momentum > 0: buf = momentum * buf + g / denom;  p = p - lr * buf
    else:         p = p - lr * g / denom

    >>> opt_D = optim.RMSprop(D.parameters(), lr=5e-5)
"""
from .._device import array_module
from ..grad_mode import no_grad
from .optimizer import Optimizer, _grad_array


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        if lr < 0 or eps < 0 or momentum < 0 or weight_decay < 0 or alpha < 0:
            raise ValueError(f"RMSprop: invalid lr {lr}, alpha {alpha}, eps {eps}, momentum "
                             f"{momentum} or weight_decay {weight_decay} (all must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                g = _grad_array(p, "RMSprop")
                if g is None:
                    continue
                if group["maximize"]:
                    g = -g
                xp = array_module(p._data)
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "square_avg": xp.zeros_like(p._data)}
                    if momentum:
                        state["momentum_buffer"] = xp.zeros_like(p._data)
                    if group["centered"]:
                        state["grad_avg"] = xp.zeros_like(p._data)
                state["step"] += 1
                if wd:
                    g = g + wd * p._data
                s = state["square_avg"]
                s *= alpha
                s += (1 - alpha) * g * g
                if group["centered"]:
                    a = state["grad_avg"]
                    a *= alpha
                    a += (1 - alpha) * g
                    denom = xp.sqrt(s - a * a) + eps
                else:
                    denom = xp.sqrt(s) + eps
                if momentum:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g / denom
                    p._data -= lr * buf
                else:
                    p._data -= lr * g / denom
                p._bump_version()       # a graph that saved p must not use the new value
        return loss
