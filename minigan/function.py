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
"""
import weakref

from . import grad_mode
from . import tensor as _tensor   # NOTE: a module reference, since tensor.py imports this file


class Function:
    # Set on a node when the engine frees it after a backward without retain_graph.
    _freed = False

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors `inputs`; `params` are plain Python values for forward."""
        fn = cls()
        out = fn.forward(*[t._data for t in inputs], **params)
        requires_grad = grad_mode.is_grad_enabled() and any(t.requires_grad for t in inputs)
        result = _tensor.Tensor._wrap(out, requires_grad=requires_grad, grad_fn=fn if requires_grad else None)
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            fn._output_ref = weakref.ref(result)
        return result

    @property
    def output(self):
        """The Tensor this node produced (alive whenever backward runs through it)."""
        out = self._output_ref()
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: its output tensor no longer exists")
        return out

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
