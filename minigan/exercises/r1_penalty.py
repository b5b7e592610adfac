"""Exercise 9: the R1 penalty (Mescheder et al.): D's input gradient on real data, pushed to 0."""
import numpy as np

from .checking import Exercise, Known, tensor64
from .gradient_penalty import check_penalty

HINTS = (
    "R1 penalises D's gradient w.r.t. its input, on real data only. x is a leaf that "
    "requires grad; sample n's score depends only on x[n], so one mg.autograd.grad of "
    "scores.sum() w.r.t. x gives every sample's gradient.",
    "D is trained on this penalty, which depends on D's weights through a gradient: "
    "autograd.grad needs create_graph=True, or the penalty reaches D's weights as a constant.",
    "The squared norm per sample is a sum of squares, (grads.flatten(1) ** 2).sum(dim=1), "
    "shape (N,); the penalty is weight / 2 times its mean. There is no target 1 here (that "
    "is WGAN-GP): R1 pushes the gradient on real data to 0.",
)

SOLUTION = """\
penalty = weight / 2 * mean over n of || d D(x) / d x [n] ||^2,   x = the real batch

    (grads,) = mg.autograd.grad(scores.sum(), x, create_graph=True)   # (N, ...)
    squared = (grads.flatten(1) ** 2).sum(dim=1)                      # (N,)
    return 0.5 * weight * squared.mean()"""


def _squared(p):
    return (p.grads ** 2).sum(axis=1)


KNOWN = [
    Known("R1 is weight / 2 times the mean squared norm: the 1/2 is missing",
          lambda p: p.weight * np.mean(_squared(p))),
    Known("R1 penalises the SQUARED norm, ||g||^2 (a sum of squares), not the norm",
          lambda p: p.weight / 2 * np.mean(np.sqrt(_squared(p)))),
    Known("(||g|| - 1)^2 is WGAN-GP's penalty: R1 pushes D's gradient on real data to 0, "
          "so there is no target 1",
          lambda p: p.weight / 2 * np.mean((np.sqrt(_squared(p)) - 1) ** 2)),
    Known("(||g|| - 1)^2 is WGAN-GP's penalty: R1 pushes D's gradient on real data to 0, "
          "so there is no target 1",
          lambda p: p.weight * np.mean((np.sqrt(_squared(p)) - 1) ** 2)),
    Known("one squared norm per sample, averaged over the batch: the squared norm of the "
          "whole batch is the SUM of the samples'",
          lambda p: p.weight / 2 * np.sum(_squared(p))),
]


def check(module):
    rng = np.random.default_rng(9)
    real = rng.standard_normal((4, 2, 3))              # 4 images of 2 x 3 "pixels"
    weight = 3.0

    def penalty(D):
        return module.r1_penalty(D, tensor64(real, False), weight=weight)

    def formula(grads):
        return weight / 2 * np.mean((grads ** 2).sum(axis=1))
    return check_penalty(penalty, real, weight, formula, KNOWN, "r1_penalty", "D", rng)


EXERCISE = Exercise("r1_penalty", "the R1 penalty on real data", "r1_penalty", "r1_penalty",
                    HINTS, SOLUTION, check)
