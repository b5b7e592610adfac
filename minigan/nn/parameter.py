"""`Parameter`: a Tensor that a Module registers as something to train.

    >>> w = nn.Parameter(minigan.zeros(3, 2))
    >>> w.requires_grad
    True
"""
from ..tensor import Tensor, as_array


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True by default; assigning one to a Module attribute
    registers it, so `module.parameters()` (and the optimiser) can find it."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = as_array([])
        # Share the memory of `data` (as PyTorch's Parameter does): no copy.
        self._data = data._data if isinstance(data, Tensor) else as_array(data)
        if isinstance(data, Tensor):
            self._version_counter = data._counter()      # shared memory, shared version counter
        self.grad = None
        self.grad_fn = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
