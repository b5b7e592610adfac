"""Exercise 9: the R1 penalty (Mescheder et al., 2018).

    penalty = weight / 2 * mean over n of || d D(x) / d x  at x = real[n] ||^2

R1 keeps D smooth on the real data: it penalises D's gradient w.r.t. its INPUT, on real
samples only, pushing it towards 0 (so G's samples near the data feel no wall).

Your task: fill in `r1_penalty`. D is trained on the penalty, and the penalty depends on
D's weights through a gradient: think about what `mg.autograd.grad` must do for that.

Check it with:  minigan exercise check r1_penalty
"""
import minigan as mg


def r1_penalty(D, real, weight=10.0):
    """D: a callable (N, ...) -> (N, 1); real: a real batch (N, ...).

    Returns the penalty, a scalar Tensor that is differentiable w.r.t. D's weights.
    """
    x = real.detach().requires_grad_()         # a fresh leaf we can differentiate at
    scores = D(x)                              # (N, 1)
    # TODO: grads = the gradient of the scores w.r.t. x, one per sample; then the penalty.
    raise NotImplementedError("write r1_penalty, then: minigan exercise check r1_penalty")
