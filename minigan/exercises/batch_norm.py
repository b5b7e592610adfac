"""Exercise 5: the backward of batch normalisation in training mode."""
import numpy as np

from .checking import Case, Exercise, Known, check_backward

HINTS = (
    "Start with the easy two, dL/dgamma and dL/dbeta: y = gamma * x_hat + beta, and one "
    "gamma[c] serves every sample and pixel of channel c. Over which dims do you add up, to "
    "get shape (C,)?",
    "dL/dgamma = sum of grad_y * x_hat and dL/dbeta = sum of grad_y, both over `dims`. For "
    "dL/dx, x reaches y three ways: directly through x_hat, through mu and through var. "
    "The direct path alone is gamma / sqrt(var + eps) * grad_y.",
    "With g = grad_y and means over `dims` (keepdim=True): the path through mu subtracts "
    "mean(g), the path through var subtracts x_hat * mean(g * x_hat); both sit inside the "
    "factor gamma / sqrt(var + eps). Recompute mu, var and x_hat in backward from "
    "self.inputs with Tensor ops.",
)

SOLUTION = """\
with g = grad_y and means over the batch (and pixels), per channel:
    dL/dx     = gamma / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))
    dL/dgamma = sum(g * x_hat),   dL/dbeta = sum(g)

        mu = x.mean(dim=dims, keepdim=True)
        inv_std = 1 / ((x - mu) ** 2).mean(dim=dims, keepdim=True).add(EPS).sqrt()
        x_hat = (x - mu) * inv_std
        g = grad_y
        grad_x = gamma.reshape(shape) * inv_std * (
            g - g.mean(dim=dims, keepdim=True)
            - x_hat * (g * x_hat).mean(dim=dims, keepdim=True))
        return grad_x, (g * x_hat).sum(dim=dims), g.sum(dim=dims)"""

EPS = 1e-5


def _parts(p):
    """x_hat, gamma / sqrt(var + eps) and the reducing dims of a case, as arrays."""
    x, gamma = p.inputs["x"], p.inputs["gamma"]
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=dims, keepdims=True), x.var(axis=dims, keepdims=True)
    scale = gamma.reshape(shape) / np.sqrt(var + EPS)
    return (x - mu) / np.sqrt(var + EPS), scale, dims


def _only_direct(p):
    _, scale, _ = _parts(p)
    return scale * p.grad_y


def _no_variance_path(p):
    x_hat, scale, dims = _parts(p)
    return scale * (p.grad_y - p.grad_y.mean(axis=dims, keepdims=True))


def _no_mean_path(p):
    x_hat, scale, dims = _parts(p)
    return scale * (p.grad_y - x_hat * (p.grad_y * x_hat).mean(axis=dims, keepdims=True))


def check(module):
    rng = np.random.default_rng(4)
    cases = []
    for shape in [(4, 2), (6, 3), (4, 2, 3, 3)]:
        c = shape[1]
        cases.append(Case(f"x of shape {shape}, gamma and beta of shape ({c},)",
                          [rng.standard_normal(shape) * 2 + 1, rng.standard_normal(c),
                           rng.standard_normal(c)], ["x", "gamma", "beta"]))
    known = [
        Known("only the direct path through x_hat is there: x also moves the mean and the "
              "variance of its channel, and dL/dx needs the paths through the mean and "
              "variance too", _only_direct),
        Known("the path through the mean is there, the one through the variance is "
              "missing", _no_variance_path),
        Known("the path through the variance is there, the one through the mean is "
              "missing", _no_mean_path),
    ]
    small = Case("x of shape (4, 2, 2, 2)", [rng.standard_normal((4, 2, 2, 2)),
                                             rng.standard_normal(2), rng.standard_normal(2)],
                 ["x", "gamma", "beta"])
    return check_backward(module.BatchNorm, cases, known, gradgrad_case=small)


EXERCISE = Exercise("batch_norm", "backward of batch norm (training mode)", "BatchNorm",
                    "BatchNorm.backward", HINTS, SOLUTION, check)
