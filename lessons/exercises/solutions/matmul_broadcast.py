"""Exercise: the backward of a matrix product whose batch dimensions broadcast (reference solution).

    y = a @ b,   a: (..., n, k),  b: (..., k, m),  y: (..., n, m)
    dL/da = dL/dy @ b^T,   dL/db = a^T @ dL/dy,   then sum over the batch dims each input
    was broadcast along, so each gradient has its input's shape.

Check it with:  minigan exercise check matmul_broadcast --file lessons/exercises/solutions/matmul_broadcast.py
"""
import numpy as np

import minigan as mg


class MatMul(mg.Function):
    def forward(self, a, b):                  # a: (..., n, k), b: (..., k, m) NumPy arrays
        return np.matmul(a, b)                # (..., n, m), batch dims broadcast

    def backward(self, grad_y):               # grad_y: (..., n, m), the broadcast batch shape
        a, b = self.inputs                    # the input Tensors
        grad_a = grad_y @ b.mT                # (..., n, m) @ (..., m, k) -> (..., n, k)
        grad_b = a.mT @ grad_y                # (..., k, n) @ (..., n, m) -> (..., k, m)
        # A dim an input was broadcast along received one gradient per copy: add them up.
        return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)


def sum_to_shape(g, shape):
    """Sum g over the leading dims it has in excess and the dims where `shape` has size 1."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(dim=tuple(range(extra)))                          # drop the added leading dims
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if ones:
        g = g.sum(dim=ones, keepdim=True)                           # size-1 dims that were stretched
    return g


def matmul(a, b):
    return MatMul.apply(a, b)
