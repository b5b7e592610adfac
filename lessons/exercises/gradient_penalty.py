"""Exercise 6: the WGAN-GP gradient penalty.

    x_hat = alpha * real + (1 - alpha) * fake          one alpha ~ U[0, 1] per sample
    penalty = weight * mean_n (|| d critic(x_hat) / d x_hat [n] ||_2 - 1)^2

Your task: fill in `gradient_penalty`. The penalty must be differentiable w.r.t. the
critic's weights (the critic is trained on it), and it depends on them through a gradient:
use `mg.autograd.grad(outputs, inputs, create_graph=...)` and think about that flag.

Check it with:  minigan exercise check gradient_penalty
"""
import minigan as mg


def gradient_penalty(critic, real, fake, alpha, weight=10.0):
    """critic: a callable (N, ...) -> (N, 1); real, fake: (N, ...); alpha: (N, 1, ..., 1).

    Returns the penalty, a scalar Tensor that is differentiable w.r.t. the critic's weights.
    """
    # Points on the lines between real and fake samples; a fresh leaf we can differentiate at.
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_()
    scores = critic(x_hat)                                      # (N, 1)
    # TODO: grads = the gradient of the scores w.r.t. x_hat, (N, ...), one per sample;
    # then norms (N,) and the penalty.
    raise NotImplementedError(
        "write gradient_penalty, then: minigan exercise check gradient_penalty")
