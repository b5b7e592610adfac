"""`Function`: one differentiable operation, forward on arrays and backward on Tensors.

    class Exp(Function):
        def forward(self, x):            # x is a numpy/cupy array
            return xp.exp(x)
        def backward(self, grad_y):      # grad_y is a Tensor
            return grad_y * self.output  # Tensor ops: differentiable again

`Exp.apply(t)` runs forward on the tensors' arrays and, when any input requires grad
(and grad mode is on), links the result to this node so that backward can find it.
Because backward is written with Tensor operations, running it with grad mode on builds
a graph of the backward pass itself: that is how higher-order gradients work.

Saved tensors: backward reads `self.inputs` and `self.output`, so an in-place write to one
of them between forward and backward would silently change the gradient. As in PyTorch, a
node records their versions at forward (see tensor.VersionCounter); just before backward
the engine checks the inputs that backward reads (`saved_inputs()`), and `self.output`
checks itself, raising RuntimeError on a change. Every input counts as read unless the op
says otherwise: `saves_inputs = False` when backward needs only shapes (add, reshape, sum),
or a narrower `saved_inputs()` (mul: a's gradient reads only b).
"""
import weakref

from . import grad_mode
from . import tensor as _tensor   # NOTE: a module reference, since tensor.py imports this file


class Function:
    # Set on a node when the engine frees it after a backward without retain_graph.
    _freed = False
    # Backward reads the inputs' values (False: only their shapes and dtypes).
    saves_inputs = True

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors `inputs`; `params` are plain Python values for forward."""
        fn = cls()
        out = fn.forward(*[t._data for t in inputs], **params)
        requires_grad = grad_mode.is_grad_enabled() and any(t._requires_grad for t in inputs)
        # A view of an input (out.base is set) shares the input's version counter.
        shared = _shared_version_counter(out, inputs, requires_grad) if out.base is not None else None
        result = _tensor.Tensor._wrap(out, requires_grad, fn if requires_grad else None, shared)
        if requires_grad:
            fn.inputs = inputs
            # Where each input's gradient goes, fixed now (a later in-place op may give the
            # input a new grad_fn): its grad_fn, the leaf itself, or nowhere (None).
            fn.next_nodes = [t.grad_fn or (t if t._requires_grad else None) for t in inputs]
            fn.needs_input_grad = tuple([t._requires_grad for t in inputs])
            if fn.saves_inputs:
                fn._input_versions = [t._version for t in inputs]
            fn._output_ref = weakref.ref(result)
            fn._output_version = 0 if shared is None else shared.value
        return result

    @property
    def output(self):
        """The Tensor this node produced (alive whenever backward runs through it), checked
        to hold the value forward gave it."""
        out = self._output_ref()
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: its output tensor no longer exists")
        if out._version != self._output_version:
            raise RuntimeError(_modified_message(f"the output of {self.name}", out,
                                                 self._output_version))
        return out

    def output_is_now(self, tensor):
        """An in-place op wrote this node's result into `tensor`: backward reads it there."""
        self._output_ref = weakref.ref(tensor)
        self._output_version = tensor._version

    def saved_inputs(self):
        """The inputs whose values backward reads: all of them unless `saves_inputs` is
        False. Ops can narrow it by `needs_input_grad` (a product's gradient for a reads b)."""
        return self.inputs if self.saves_inputs else ()

    def check_saved_versions(self):
        """Raise if an input that backward reads was changed in place after forward (the
        engine calls this just before backward)."""
        if not self.saves_inputs:
            return
        for i, (t, version) in enumerate(zip(self.inputs, self._input_versions)):
            if t._version != version and any(t is s for s in self.saved_inputs()):
                raise RuntimeError(_modified_message(f"input {i} of {self.name}", t, version))

    @property
    def name(self):
        return type(self).__name__

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad_output):
        """Return one gradient Tensor (or None) per input, shaped like the output's broadcast."""
        raise NotImplementedError

    def release(self):
        """Drop the inputs and everything saved for backward (the graph is then freed)."""
        self.__dict__.clear()
        self._freed = True

    def __repr__(self):
        return f"<{self.name}Backward>"


def _shared_version_counter(out, inputs, in_graph):
    """The version counter of the input whose memory `out` shares, or None.

    reshape, permute and basic indexing return NumPy/CuPy views, whose `.base` is the array
    that owns the memory: a write through the view is a write to the input, and the other
    way round, so both count their writes on one counter.
    NOTE: a forward must not return an input array itself; return a view of it (x.view()).
    """
    base = out.base
    for t in inputs:
        data = t._data
        if base is data or (base is not None and base is data.base):
            if in_graph:
                t._counter().has_views = True
            return t._counter()
    return None


def _modified_message(what, tensor, saved_version):
    return (f"one of the tensors needed for gradient computation has been modified by an "
            f"in-place operation: {what} (shape {tuple(tensor.shape)}, {tensor.dtype}) is at "
            f"version {tensor._version}; it was at version {saved_version} when "
            "forward ran. Hint: did an optimiser step (or another in-place write such as +=, "
            "x[i] = ..., .data, zero_()) run between this forward and backward? Compute the "
            "loss again after the step, or call backward before it.")
