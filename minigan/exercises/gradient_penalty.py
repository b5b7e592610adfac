"""Exercise 6: the WGAN-GP gradient penalty."""
import numpy as np

import minigan as mg

from .checking import (Exercise, Known, Mistake, NotDone, Probe, check_scalar, run_gradcheck,
                       tensor64)

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
    Known("square the distance from 1: the penalty is (||g|| - 1)^2",
          lambda p: p.weight * np.mean(_norms(p) - 1)),
    Known("the weight is missing: the penalty is weight times the mean",
          lambda p: np.mean((_norms(p) - 1) ** 2)),
]


def check_penalty(penalty, points, weight, formula, known, who, player, rng):
    """A penalty on D's gradient w.r.t. its input (WGAN-GP, R1), taken at `points` (N, ...).

    1. Its value for two D's whose input gradient is known in closed form (a linear and a
       quadratic one) against `formula(grads)`, grads (N, F) the per-sample gradients.
    2. Its gradient w.r.t. the weights of a small tanh MLP: the second derivative D trains
       on, against central differences.
    `penalty(D)` calls the learner's function with the exercise's real (and fake) batch;
    `player` is "critic" or "D".
    """
    owner = "D's" if player == "D" else f"the {player}'s"
    n = points.shape[0]
    flat = points.reshape(n, -1)                                      # (N, F)
    w = rng.standard_normal((flat.shape[1], 1))
    cases = [(f"a linear {player}, D(x) = x.flatten(1) @ w, whose gradient is w for every "
              "sample", lambda x: x.flatten(1) @ tensor64(w, False), np.tile(w.T, (n, 1))),
             (f"a quadratic {player}, D(x) = |x|^2 / 2, whose gradient at a point is the point",
              lambda x: 0.5 * (x * x).flatten(1).sum(1, keepdim=True), flat)]
    for label, D, grads in cases:
        try:
            got = penalty(D)
        except NotImplementedError as error:
            raise NotDone([f"on {label}, weight={weight}, {who} must return "
                           f"{formula(grads):.6g}"], error) from None
        check_scalar(f"{label} (weight={weight})", got, formula(grads), who, known,
                     Probe(grads=grads, weight=weight))

    def penalty_of_weights(W1, w2):
        return penalty(lambda x: mg.tanh(x.flatten(1) @ W1) @ w2)
    penalty_of_weights.__qualname__ = f"{who} (as a function of {owner} weights)"
    label = f"a tanh MLP {player}, W1 ({flat.shape[1]}, 5) and w2 (5, 1)"
    weights = (tensor64(rng.standard_normal((flat.shape[1], 5)) * 0.5),
               tensor64(rng.standard_normal((5, 1))))
    if not penalty_of_weights(*weights).requires_grad:
        raise Mistake([f"on {label}: the {who} you return does not require grad, so "
                       f"{owner} weights would get no gradient from it"],
                      "mg.autograd.grad(..., create_graph=True) records the backward pass, so "
                      f"the gradient (and the penalty) can be differentiated w.r.t. {owner} "
                      "weights; without it, or with a .detach(), it is a constant")
    run_gradcheck(penalty_of_weights, weights, ("W1", "w2"), label,
                  "the penalty must reach the weights through the gradient: "
                  "create_graph=True, and no .detach() of the gradient or the norms")
    return [f"the value matches the closed form for a linear and a quadratic {player}",
            f"gradcheck passed for the penalty w.r.t. {owner} weights (a second derivative)"]


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
    return check_penalty(penalty, x_hat, weight, formula, KNOWN, "gradient_penalty",
                         "critic", rng)


EXERCISE = Exercise("gradient_penalty", "the WGAN-GP gradient penalty", "gradient_penalty",
                    "gradient_penalty", HINTS, SOLUTION, check)
