"""Activation layers: ReLU, LeakyReLU, Tanh, Sigmoid, Softplus (modules around nn.functional).

    >>> nn.LeakyReLU(0.2)(minigan.tensor([-1.0, 1.0]))
    tensor([-0.2000,  1.0000])
"""
from ..ops.elementwise import LeakyReLU as _LeakyReLU, Sigmoid as _Sigmoid, Tanh as _Tanh
from . import functional as F
from .module import Module


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace     # accepted for PyTorch compatibility; always out of place

    def forward(self, x):
        # the Function directly (this runs every step); ReLU is leaky ReLU with slope 0
        return _LeakyReLU.apply(x, negative_slope=0.0)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return _LeakyReLU.apply(x, negative_slope=self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    def forward(self, x):
        return _Tanh.apply(x)


class Sigmoid(Module):
    def forward(self, x):
        return _Sigmoid.apply(x)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above `threshold` (as PyTorch)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
