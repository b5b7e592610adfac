"""Exercise 7: the GAN losses from D's logits: D's, and G's minimax and non-saturating."""
import numpy as np

import minigan as mg

from .checking import (Exercise, Known, Mistake, NotDone, Probe, as_scalar,
                       check_scalar, run_gradcheck, show, tensor64)

HINTS = (
    "D(x) = sigmoid(l). D maximises V = mean log D(x) + mean log(1 - D(G(z))), so its loss "
    "is -V. G (minimax) minimises V's fake term, mean log(1 - D(G(z))); G (non-saturating) "
    "maximises mean log D(G(z)) instead, so its loss is minus that.",
    "Never take log(sigmoid(l)): once sigmoid(l) rounds to 0 (or 1 - sigmoid(l) to 0), the "
    "log is -inf. Use log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l); "
    "mg.softplus and mg.logsigmoid are stable for any logit.",
    "Check one number by hand: with every logit 0, D says 1/2 to everything, so d_loss = "
    "2 log 2 = log 4 = 1.386 (the number in every GAN log), g_loss_minimax = -log 2 and "
    "g_loss_nonsaturating = log 2.",
)

SOLUTION = """\
D(x) = sigmoid(l);  log D = -softplus(-l),  log(1 - D) = -softplus(l)
    d_loss               = -mean log D(x) - mean log(1 - D(G(z)))
                         = softplus(-real_logits).mean() + softplus(fake_logits).mean()
    g_loss_minimax       =  mean log(1 - D(G(z))) = -softplus(fake_logits).mean()
    g_loss_nonsaturating = -mean log D(G(z))      =  softplus(-fake_logits).mean()"""


def _softplus(x):
    return np.logaddexp(0, x)


# What each loss should be, and plausible wrong answers, on arrays of logits.
FORMULAS = {
    "d_loss": lambda p: _softplus(-p.real).mean() + _softplus(p.fake).mean(),
    "g_loss_minimax": lambda p: -_softplus(p.fake).mean(),
    "g_loss_nonsaturating": lambda p: _softplus(-p.fake).mean(),
}
KNOWN = {
    "d_loss": [
        Known("real and fake are swapped: D's loss pushes D(x) towards 1 on the real batch "
              "and towards 0 on the fakes",
              lambda p: _softplus(p.real).mean() + _softplus(-p.fake).mean()),
        Known("D's loss has two terms, one on the real batch and one on the fakes",
              lambda p: _softplus(-p.real).mean()),
    ],
    "g_loss_minimax": [
        Known("that is the non-saturating loss, -log D(G(z)); the minimax G minimises V's "
              "fake term, log(1 - D(G(z)))", lambda p: _softplus(-p.fake).mean()),
    ],
    "g_loss_nonsaturating": [
        Known("that is the minimax loss, log(1 - D(G(z))); the non-saturating G minimises "
              "-log D(G(z))", lambda p: -_softplus(p.fake).mean()),
        Known("that is D's loss on the fakes, -log(1 - D(G(z))): G wants D(G(z)) near 1, "
              "so it minimises -log D(G(z))", lambda p: _softplus(p.fake).mean()),
    ],
}
STABLE = ("log(sigmoid(l)) is log(0) = -inf once sigmoid(l) rounds to 0, and log(1 - "
          "sigmoid(l)) once sigmoid(l) rounds to 1: in float32 that happens for l below "
          "about -100 and above about 17, logits a confident D reaches. Write the logs with "
          "softplus (mg.softplus, mg.logsigmoid)")
BUILT_FROM_OPS = ("build the loss from minigan operations on the logits (mg.softplus, "
                  "mg.logsigmoid, .mean(), ...): NumPy on .numpy() arrays hands autograd a "
                  "constant, so no gradient reaches D or G")


def _arguments(name, real, fake):
    """The learner's loss `name` takes both batches' logits (D's loss) or the fakes' only."""
    if name == "d_loss":
        return {"real_logits": real, "fake_logits": fake}
    return {"fake_logits": fake}


def check(module):
    rng = np.random.default_rng(7)
    confident = np.array([[-120.0], [-40.0], [0.0], [40.0], [120.0]])
    cases = [("logits of an unsure D, shape (4, 1)", rng.standard_normal((4, 1)),
              rng.standard_normal((4, 1)), mg.float64),
             ("every logit 0 (D says 1/2 to everything)", np.zeros((3, 1)), np.zeros((3, 1)),
              mg.float64),
             ("a confident D, float32 logits", confident, confident[::-1].copy(), mg.float32)]
    for name, formula in FORMULAS.items():
        loss = getattr(module, name)
        for label, real, fake, dtype in cases:
            arguments = _arguments(name, real, fake)
            where = f"{label}, {name}({', '.join(arguments)})"
            shown = [f"  {arg} = {show(a.ravel())}" for arg, a in arguments.items()]
            expected = formula(Probe(real=real, fake=fake))
            try:
                with np.errstate(divide="ignore", invalid="ignore"):   # log(0) is reported below
                    got = loss(*(mg.tensor(a, dtype=dtype, requires_grad=True)
                                 for a in arguments.values()))
            except NotImplementedError as error:
                raise NotDone([f"on {where}, with", *("  " + line for line in shown),
                               f"  {name} must return {expected:.6g}"], error) from None
            if not np.isfinite(as_scalar(where, got, name)):
                raise Mistake([f"on {where}:", *shown, f"  expected {expected:.6g}, yours "
                               f"{as_scalar(where, got, name)}"], STABLE)
            check_scalar(where, got, expected, name, KNOWN[name], Probe(real=real, fake=fake),
                         rtol=1e-5 if dtype == mg.float32 else 1e-7, shown=shown)
        # The gradient reaches the logits, and is differentiable again.
        label, real, fake, _ = cases[0]
        arguments = _arguments(name, real, fake)
        inputs = tuple(tensor64(a) for a in arguments.values())
        run_gradcheck(loss, inputs, tuple(arguments), f"{label}, {name}", BUILT_FROM_OPS)
        run_gradcheck(loss, inputs, tuple(arguments) + ("grad_y",),
                      f"{label}, {name} (its gradient's gradient)", BUILT_FROM_OPS,
                      second_order=True)
    return ["each loss matches its closed form for an unsure D, for D = 1/2 everywhere and "
            "for a confident D in float32 (finite, not log(0))",
            "gradcheck and gradgradcheck passed for each loss w.r.t. the logits"]


EXERCISE = Exercise("gan_losses", "D's and G's losses from logits", "d_loss",
                    "d_loss, g_loss_minimax and g_loss_nonsaturating", HINTS, SOLUTION, check)
