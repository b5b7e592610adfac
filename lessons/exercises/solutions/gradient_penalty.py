"""Exercise: the WGAN-GP gradient penalty (reference solution).

    x_hat = alpha * real + (1 - alpha) * fake          one alpha ~ U[0, 1] per sample
    penalty = weight * mean_n (|| d critic(x_hat) / d x_hat [n] ||_2 - 1)^2

The penalty is a function of the critic's weights through a gradient, so training the
critic on it differentiates a gradient: autograd.grad must build a graph of its own
backward pass (create_graph=True), or the penalty carries no gradient to the weights.

Check it with:  minigan exercise check gradient_penalty --file lessons/exercises/solutions/gradient_penalty.py
"""
import minigan as mg


def gradient_penalty(critic, real, fake, alpha, weight=10.0):
    """critic: a callable (N, ...) -> (N, 1); real, fake: (N, ...); alpha: (N, 1, ..., 1).

    Returns the penalty, a scalar Tensor that is differentiable w.r.t. the critic's weights.
    """
    # Points on the lines between real and fake samples; a fresh leaf we can differentiate at.
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_()
    scores = critic(x_hat)                                      # (N, 1)
    # Sample n's score depends only on x_hat[n], so the gradient of the sum holds every
    # per-sample gradient at once. create_graph=True: the penalty needs its own gradient.
    (grads,) = mg.autograd.grad(scores.sum(), x_hat, create_graph=True)   # (N, ...)
    norms = grads.flatten(1).norm(dim=1)                        # (N,): one norm per sample
    return weight * ((norms - 1) ** 2).mean()
