"""Exercise 2: the backward of a matrix product whose batch dimensions broadcast.

    y = a @ b,   a: (..., n, k),  b: (..., k, m),  y: (..., n, m)

The leading (batch) dims broadcast as in NumPy: (5, 2, 3) @ (3, 4) multiplies each of the
5 matrices of a by the same b, giving (5, 2, 4).

Your task: write `MatMul.backward`, returning (dL/da, dL/db) with EXACTLY the shapes of a
and b. The engine would quietly sum a too-big gradient for you; this exercise checks
that you did it yourself. Tensor ops you may want: `@`, `t.mT` (swap the last two dims),
`t.sum(dim=(0, 1), keepdim=...)`.

Check it with:  minigan exercise check matmul_broadcast
"""
import numpy as np

import minigan as mg


class MatMul(mg.Function):
    def forward(self, a, b):                  # a: (..., n, k), b: (..., k, m) NumPy arrays
        return np.matmul(a, b)                # (..., n, m), batch dims broadcast

    def backward(self, grad_y):               # grad_y: (..., n, m), the broadcast batch shape
        a, b = self.inputs                    # the input Tensors
        # TODO: return grad_a (shaped like a), grad_b (shaped like b).
        raise NotImplementedError(
            "write MatMul.backward, then: minigan exercise check matmul_broadcast")


def matmul(a, b):
    return MatMul.apply(a, b)
