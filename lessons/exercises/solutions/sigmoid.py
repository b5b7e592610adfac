"""Exercise: the backward of the sigmoid (reference solution).

    s(x) = 1 / (1 + exp(-x)),    ds/dx = s(x) * (1 - s(x))

Check it with:  minigan exercise check sigmoid --file lessons/exercises/solutions/sigmoid.py
"""
import numpy as np

import minigan as mg


class Sigmoid(mg.Function):
    def forward(self, x):                     # x: a NumPy array
        # exp(-|x|) never overflows: 1/(1+e) for x >= 0, e/(1+e) for x < 0.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0, e) / (1.0 + e)

    def backward(self, grad_y):               # grad_y: a Tensor shaped like the output
        y = self.output                       # the Tensor forward returned: s(x)
        # Chain rule: dL/dx = dL/dy * dy/dx, elementwise.
        return grad_y * y * (1 - y)


def sigmoid(x):
    return Sigmoid.apply(x)
