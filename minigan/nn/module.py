"""`Module`: the base class of every layer and model.

A Module owns three kinds of state, found by attribute assignment:
  parameters  (`self.weight = Parameter(...)`)   trained by an optimiser
  buffers     (`self.register_buffer("running_mean", t)`)  saved, but not trained
  submodules  (`self.fc = Linear(2, 3)`)         searched recursively
`state_dict()` gathers parameters and buffers under dotted names ("fc.weight").

    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(2, 3)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [name for name, _ in MLP().named_parameters()]
    ['fc.weight', 'fc.bias']
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import grad_mode
from .._device import is_floating, normalize_dtype, parse_to_args, to_device
from ..tensor import Tensor
from .parameter import Parameter

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns, as PyTorch: (missing_keys, unexpected_keys)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


IncompatibleKeys = _IncompatibleKeys


class Module:
    training = True

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist first.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:             # spectral_norm recomputes the weight here
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        return self.forward(*args, **kwargs)

    def register_forward_pre_hook(self, hook):
        """Run `hook(module, args)` before every forward; returns a handle with .remove()."""
        key = object()
        self._forward_pre_hooks[key] = hook
        return _Handle(self._forward_pre_hooks, key)

    # --- registration ---
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called "
                                 "(call super().__init__() first)")
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for store in (self.__dict__, self._parameters, self._buffers, self._modules):
            store.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the three registries.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not trained (BatchNorm's running mean, say)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # --- iteration ---
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named(self, store, prefix, recurse):
        seen = set()        # a tensor shared by two layers is listed once
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in modules:
            for name, t in getattr(m, store).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield mod_prefix + ("." if mod_prefix else "") + name, t

    def named_parameters(self, prefix="", recurse=True):
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and gradients ---
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients (set them to None, PyTorch's default since 2.0).

        NOTE: a backward that does not reach a parameter (a loss that uses only some of a
        module's parameters) leaves that parameter's .grad as it was, None after zero_grad,
        exactly as PyTorch does; optimisers skip parameters whose .grad is None.
        """
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = Tensor._wrap(p._xp.zeros_like(p.grad._data))

    def apply(self, fn):
        """Call fn(m) on every submodule (children first) and self; used for custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- device and dtype ---
    def _convert(self, fn):
        """Replace every parameter's and buffer's array by fn(array), keeping the objects
        (an optimiser holding the parameters keeps working)."""
        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is None:
                    continue
                for tensor in (t, t.grad):
                    if tensor is None:
                        continue
                    array = fn(tensor._data)
                    if array is not tensor._data:
                        tensor._data = array
                        tensor._bump_version()      # a graph that saved it must not read it
        return self

    def to(self, *args, dtype=None, device=None):
        """to(device), to(dtype) or to(device, dtype); only floating tensors change dtype."""
        dtype, device = parse_to_args(args, dtype, device)
        dtype = normalize_dtype(dtype)
        if dtype is not None and not is_floating(dtype):
            raise TypeError(f"Module.to: only floating dtypes are accepted, got {dtype}")

        def convert(array):
            if device is not None:
                array = to_device(array, device)
            if dtype is not None and is_floating(array.dtype) and array.dtype != dtype:
                array = array.astype(dtype)
            return array
        return self._convert(convert)

    def cuda(self):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(np.dtype("float32"))

    def double(self):
        return self.to(np.dtype("float64"))

    # --- state dict ---
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers under dotted names, sharing memory (detached)."""
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into this module's tensors (in place: an optimiser holding them keeps
        working). Shapes must match; with strict=True every key must match too. Any
        mismatch raises RuntimeError naming all of them, before anything is copied.
        Returns (missing_keys, unexpected_keys), as PyTorch's _IncompatibleKeys."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and missing:
            errors.append(f"missing keys {missing}")
        if strict and unexpected:
            errors.append(f"unexpected keys {unexpected}")
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(array.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: the checkpoint has shape "
                              f"{tuple(array.shape)}, the model has shape {tuple(target.shape)}")
            arrays[key] = array
        if errors:
            raise RuntimeError(f"Error(s) in load_state_dict for {type(self).__name__}: "
                               + "; ".join(errors))
        with grad_mode.no_grad():
            for key, array in arrays.items():
                target = own[key]
                target._data[...] = to_device(array, target.device).astype(target.dtype,
                                                                             copy=False)
                target._bump_version()
        return _IncompatibleKeys(missing, unexpected)

    # --- printing ---
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        body = type(self).__name__ + "("
        if not self._modules:
            return body + extra + ")"
        return body + "\n  " + "\n  ".join(lines) + "\n)"


class _Handle:
    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self):
        self.hooks.pop(self.key, None)
