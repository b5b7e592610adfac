"""minigan.autograd: the backward engine and the gradient checks, with PyTorch's names.

  engine.py              backward, grad: walk the graph from outputs back to inputs
  finite_differences.py  gradcheck, gradgradcheck, jacobians: the oracle every backward
                         is tested against (it calls the engine; the engine never calls it)

    >>> (g,) = minigan.autograd.grad(y, x, create_graph=True)
    >>> minigan.autograd.gradcheck(minigan.tanh, (x,))
"""
from ..creation import Variable  # noqa: F401  (PyTorch's legacy name: returns a Tensor)
from ..function import Function  # noqa: F401  (torch.autograd.Function)
from .engine import backward, grad  # noqa: F401
from .finite_differences import GradcheckError, gradcheck, gradgradcheck, jacobians  # noqa: F401

__all__ = ["backward", "grad", "Function", "GradcheckError", "gradcheck", "gradgradcheck",
           "jacobians", "Variable"]
