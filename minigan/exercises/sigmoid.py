"""Exercise 1: the backward of the sigmoid, s(x) = 1 / (1 + exp(-x))."""
import numpy as np

from .checking import Case, Exercise, Known, check_backward

HINTS = (
    "Work out ds/dx on paper: differentiate 1 / (1 + exp(-x)), then try to write the result "
    "with s(x) itself, with no exp left in it.",
    "ds/dx = s(x) * (1 - s(x)). s(x) is what forward returned: self.output, already a "
    "Tensor, so there is nothing to recompute.",
    "The chain rule: backward receives grad_y = dL/dy and returns dL/dx = grad_y * ds/dx, "
    "elementwise. Use Tensor operations only (*, -): no .numpy(), so that your backward "
    "can itself be differentiated.",
)

SOLUTION = """\
dL/dx = grad_y * s * (1 - s),   s = s(x) = self.output

    def backward(self, grad_y):
        y = self.output
        return grad_y * y * (1 - y)"""


def check(module):
    rng = np.random.default_rng(0)
    cases = [Case("x of shape (5,)", [rng.standard_normal(5) * 3], ["x"]),
             Case("x of shape (3, 4)", [rng.standard_normal((3, 4)) * 3], ["x"]),
             Case("x = [-30, -2, 0, 2, 30] (saturated ends)", [[-30.0, -2, 0, 2, 30]], ["x"])]
    known = [Known("your dL/dx is what the right formula gives when it is fed the input x "
                   "where it needs the output s(x): s(x) is self.output",
                   lambda p: p.grad_y * p.inputs["x"] * (1 - p.inputs["x"]))]
    return check_backward(module.Sigmoid, cases, known)


EXERCISE = Exercise("sigmoid", "backward of the sigmoid", "Sigmoid", "Sigmoid.backward",
                    HINTS, SOLUTION, check)
