"""`Optimizer`: parameter groups, per-parameter state, zero_grad and state_dict.

    >>> opt = optim.Adam([{"params": G.parameters()},
    ...                   {"params": head.parameters(), "lr": 1e-4}], lr=2e-4, betas=(0.5, 0.999))
    >>> opt.zero_grad(); loss.backward(); opt.step()

Subclasses write `step()`; state lives in `self.state[param]` as plain arrays (the update
runs on arrays, outside autograd). A step writes each parameter in place, so it bumps the
parameter's version counter: a graph built before the step, with the old weights, then
refuses to run backward (the classic GAN bug: stepping D between G's forward and backward).
"""
import copy

import numpy as np

from .._device import to_device
from ..tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}                  # param -> dict of arrays and numbers
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def step(self, closure=None):
        raise NotImplementedError

    # --- state dict: parameters are named by their position across groups (as PyTorch) ---
    def state_dict(self):
        """{'state': {index: {name: Tensor or number}}, 'param_groups': [{..., 'params':
        [indices]}]}; tensors share memory with the optimiser's state."""
        index, groups = {}, []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: Tensor._wrap(v) if _is_array(v) else v
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the saved state has {len(groups)} parameter "
                             f"groups, this optimizer {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameters in the saved state and "
                                 f"{len(group['params'])} here")
        # Keys may come back as strings from a file format with string keys only.
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        self.state = {}
        for saved, group in zip(groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if key == "betas" else copy.deepcopy(value)
            for i, p in zip(saved["params"], group["params"]):
                if int(i) not in saved_state:
                    continue
                entry = {}
                for k, v in saved_state[int(i)].items():
                    if isinstance(v, Tensor) or isinstance(v, np.ndarray):
                        array = v._data if isinstance(v, Tensor) else v
                        if array.shape != p.shape and array.ndim > 0:
                            raise ValueError(f"load_state_dict: state {k!r} of parameter {i} has "
                                             f"shape {tuple(array.shape)}, the parameter "
                                             f"{tuple(p.shape)}")
                        v = to_device(array, p.device).astype(p.dtype if array.ndim else
                                                              array.dtype, copy=True)
                    entry[k] = v
                self.state[p] = entry

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _is_array(v):
    return isinstance(v, np.ndarray) or type(v).__module__.startswith("cupy")


def _grad_array(p, who):
    """The gradient's array in the parameter's dtype (None when there is no gradient)."""
    if p.grad is None:
        return None
    g = p.grad._data
    if g.shape != p.shape:
        raise RuntimeError(f"{who}: gradient of shape {tuple(g.shape)} for a parameter of "
                           f"shape {tuple(p.shape)}")
    return g
