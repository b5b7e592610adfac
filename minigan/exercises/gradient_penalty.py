"""Exercise 6: the WGAN-GP gradient penalty."""
import numpy as np

from .checking import Exercise, Known, check_input_gradient_penalty, tensor64

HINTS = (
    "x_hat is a leaf that requires grad. mg.autograd.grad(outputs, inputs) returns "
    "d outputs / d inputs; sample n's score depends only on x_hat[n], so the gradient of "
    "scores.sum() holds every sample's gradient at once: grads, shaped like x_hat.",
    "The critic is trained on this penalty, and the penalty depends on the critic's weights "
    "through a gradient. autograd.grad must record its own backward pass for that: "
    "create_graph=True; without it the gradient is a constant.",
    "One norm per sample: grads.flatten(1).norm(dim=1) has shape (N,). The penalty is "
    "weight * mean((norm - 1) ** 2): the norm itself (not its square) pulled towards 1.",
)

SOLUTION = """\
penalty = weight * mean over n of (|| d critic(x_hat) / d x_hat [n] ||_2 - 1)^2

    (grads,) = mg.autograd.grad(scores.sum(), x_hat, create_graph=True)   # (N, ...)
    norms = grads.flatten(1).norm(dim=1)                                  # (N,)
    return weight * ((norms - 1) ** 2).mean()"""

def _norms(p):
    return np.linalg.norm(p.grads, axis=1)


KNOWN = [
    Known("one gradient norm PER SAMPLE (over dim 1 of grads.flatten(1)), not one norm over "
          "the whole batch: the constraint holds at every point",
          lambda p: p.weight * (np.linalg.norm(p.grads) - 1) ** 2),
    Known("you squared the norm: the penalty pulls the norm itself, ||g|| = sqrt(sum of "
          "squares), towards 1; (||g||^2 - 1)^2 is another penalty",
          lambda p: p.weight * np.mean((_norms(p) ** 2 - 1) ** 2)),
    Known("the target is a norm of 1: the penalty is (||g|| - 1)^2, not ||g||^2",
          lambda p: p.weight * np.mean(_norms(p) ** 2)),
    Known("the distance from 1 is squared: (||g|| - 1)^2",
          lambda p: p.weight * np.mean(_norms(p) - 1)),
    Known("multiply by weight", lambda p: np.mean((_norms(p) - 1) ** 2)),
]


def check(module):
    rng = np.random.default_rng(5)
    n, shape = 4, (2, 3)                 # images of 2 x 3 "pixels", flattened by the critic
    real, fake = rng.standard_normal((n,) + shape), rng.standard_normal((n,) + shape)
    alpha = rng.uniform(0, 1, (n, 1, 1))
    x_hat = alpha * real + (1 - alpha) * fake          # where the learner's penalty looks
    weight = 3.0

    def penalty(critic):
        return module.gradient_penalty(critic, tensor64(real, False), tensor64(fake, False),
                                       tensor64(alpha, False), weight=weight)

    def formula(grads):
        return weight * np.mean((np.linalg.norm(grads, axis=1) - 1) ** 2)
    return check_input_gradient_penalty(penalty, x_hat, weight, formula, KNOWN,
                                        "gradient_penalty", "critic", rng)


EXERCISE = Exercise("gradient_penalty", "the WGAN-GP gradient penalty", "gradient_penalty",
                    "gradient_penalty", HINTS, SOLUTION, check)
