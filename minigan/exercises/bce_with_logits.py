"""Exercise 3: the backward of binary cross-entropy on logits, with soft labels."""
import numpy as np

from .checking import Case, Exercise, Known, check_backward

HINTS = (
    "Use the second form, loss = softplus(x) - t * x, and differentiate it twice: by x "
    "(t held fixed), then by t (x held fixed).",
    "softplus(x) = log(1 + exp(x)); its derivative exp(x) / (1 + exp(x)) is a function you "
    "already have: mg.sigmoid. The term -t * x gives -t by x, and -x by t.",
    "t is an input like x (soft labels are numbers in [0, 1]), so backward returns two "
    "gradients, (dL/dx, dL/dt), each multiplied by grad_y; not None for t.",
)

SOLUTION = """\
dL/dx = grad_y * (sigmoid(x) - t),   dL/dt = grad_y * (-x)

    def backward(self, grad_y):
        x, t = self.inputs
        return grad_y * (mg.sigmoid(x) - t), grad_y * -x"""


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def check(module):
    rng = np.random.default_rng(2)
    cases = [Case(f"logits x and soft targets t of shape {shape}",
                  [rng.standard_normal(shape) * 3, rng.uniform(0, 1, shape)], ["x", "t"])
             for shape in [(6,), (3, 4)]]
    known = [
        Known("sign error in the target's term: the loss has -t * x, so t enters dL/dx with "
              "a minus sign",
              lambda p: p.grad_y * (_sigmoid(p.inputs["x"]) + p.inputs["t"]), index=0),
        Known("sign error: the loss has -t * x, so dL/dt is minus x (times grad_y)",
              lambda p: p.grad_y * p.inputs["x"], index=1),
    ]
    return check_backward(module.BCEWithLogits, cases, known)


EXERCISE = Exercise("bce_with_logits", "backward of binary cross-entropy on logits",
                    "BCEWithLogits", "BCEWithLogits.backward", HINTS, SOLUTION, check)
