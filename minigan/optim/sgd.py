"""SGD with momentum, dampening, Nesterov momentum and weight decay (PyTorch's rule).

Per parameter, with g its gradient:
    g = g + weight_decay * p
    buf = g                                 (first step)
    buf = momentum * buf + (1 - dampening) * g
    g = g + momentum * buf  (nesterov)  or  g = buf
    p = p - lr * g

    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
"""
from ..grad_mode import no_grad
from .optimizer import Optimizer, _grad_array


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr {lr}, momentum {momentum} or weight_decay "
                             f"{weight_decay} (all must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                g = _grad_array(p, "SGD")
                if g is None:
                    continue
                if group["maximize"]:
                    g = -g
                if wd:
                    g = g + wd * p._data
                if momentum:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        buf *= momentum
                        buf += (1 - group["dampening"]) * g
                    g = g + momentum * buf if group["nesterov"] else buf
                p._data -= lr * g
                p._bump_version()       # a graph that saved p must not use the new value
        return loss
