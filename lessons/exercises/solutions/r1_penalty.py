"""Exercise: the R1 penalty (reference solution).

    penalty = weight / 2 * mean over n of || d D(x) / d x  at x = real[n] ||^2

Sample n's score depends only on x[n], so one gradient of scores.sum() holds every
sample's gradient. create_graph=True makes that gradient (and so the penalty) a function
of D's weights that autograd can differentiate: D is trained on it. The squared norm is a
sum of squares: no square root, and no target of 1 (that is WGAN-GP).

Check it with:  minigan exercise check r1_penalty --file lessons/exercises/solutions/r1_penalty.py
"""
import minigan as mg


def r1_penalty(D, real, weight=10.0):
    """D: a callable (N, ...) -> (N, 1); real: a real batch (N, ...).

    Returns the penalty, a scalar Tensor that is differentiable w.r.t. D's weights.
    """
    x = real.detach().requires_grad_()         # a fresh leaf we can differentiate at
    scores = D(x)                              # (N, 1)
    (grads,) = mg.autograd.grad(scores.sum(), x, create_graph=True)   # (N, ...)
    squared = (grads.flatten(1) ** 2).sum(dim=1)                      # (N,): one per sample
    return 0.5 * weight * squared.mean()
