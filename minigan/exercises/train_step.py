"""Exercise 8: one step of the adversarial loop: D's update, then G's, with fresh fakes.

The check runs the learner's train_step once on a small G and D (2-D points, plain SGD),
with both models and both optimisers watched: every call of G and D is recorded (its input,
whether D's weights were frozen), and each optimiser records the gradients it steps with.
The gradients are compared with ones computed here from copies of the models, and the
recording shows the three rules that keep the players apart: fakes detached for D's loss,
D frozen for G's update, fresh fakes for G's step.
"""
import copy

import numpy as np

import minigan as mg
from minigan import nn, optim
from minigan.gan.losses import nonsaturating

from .checking import Exercise, Known, Mistake, NotDone, Probe, close, diagnose, element_table

HINTS = (
    "Two updates in a row. D's: noise z, fakes G(z), D's loss on D(real) and D(fakes), "
    "zero D's gradients, backward, opt_d.step(). Then G's: new noise, new fakes, G's loss "
    "on D(fakes), zero G's gradients, backward, opt_g.step().",
    "D's loss must not reach G: D scores fake.detach(). G's loss must not train D: "
    "D.requires_grad_(False) before G's forward and backward, D.requires_grad_(True) after "
    "(in a finally: block, so an error cannot leave D frozen).",
    "The article's step 6 draws NEW noise for G's update: z = mg.randn(N, G.latent_dim), "
    "fake = G(z) again, after D's step. And .grad adds up across backward calls: each "
    "optimiser's zero_grad() comes right before its backward.",
)

SOLUTION = """\
D's step, then G's (the whole function: lessons/exercises/solutions/train_step.py):
  1. fakes from noise:  fake = G(mg.randn(n, G.latent_dim))
  2. D's loss, the fakes detached so that it stops at D:
         loss_d = loss.d_loss(D(real), D(fake.detach()))
  3. D's update:  opt_d.zero_grad(), loss_d.backward(), opt_d.step()
  4. the article's step 6, fresh fakes:  fake = G(mg.randn(n, G.latent_dim))
  5. G's loss with D frozen:  D.requires_grad_(False), then loss_g = loss.g_loss(D(fake)),
     opt_g.zero_grad(), loss_g.backward(); D.requires_grad_(True) in a finally: block
  6. G's update:  opt_g.step(); return loss_d.item(), loss_g.item()"""

STALE = 0.5             # what .grad holds before the step, as if left by the previous one


class _Call:
    def __init__(self, role, x, out, frozen):
        self.role, self.x, self.out, self.frozen = role, x, out, frozen


class _Watched(nn.Module):
    """A model that records each call: its input, its output, whether it was frozen."""

    def __init__(self, role, net, log, latent_dim=None):
        super().__init__()
        self.net = net
        self.role, self.log = role, log
        if latent_dim is not None:
            self.latent_dim = latent_dim

    def forward(self, x):
        out = self.net(x)
        frozen = not any(p.requires_grad for p in self.net.parameters())
        self.log.append(_Call(self.role, x, out, frozen))
        return out


class _WatchedSGD(optim.SGD):
    """Plain SGD that records the gradients it steps with."""

    def __init__(self, role, model, log):
        super().__init__(model.parameters(), lr=0.1)
        self.role, self.model, self.log = role, model, log

    def step(self, closure=None):
        grads = {name: None if p.grad is None else np.array(p.grad.detach(), dtype=np.float64)
                 for name, p in self.model.net.named_parameters()}
        self.log.append(("step", self.role, grads))
        return super().step(closure)


def _gradients(loss, model):
    names, params = zip(*model.named_parameters())
    grads = mg.autograd.grad(loss, list(params), allow_unused=True)
    return {n: np.zeros(p.shape) if g is None else np.array(g, dtype=np.float64)
            for n, p, g in zip(names, params, grads)}


def _compare_gradients(who, when, got, expected):
    """The gradients an optimiser stepped with, against the right ones, parameter by parameter."""
    for name, want in expected.items():
        have = got[name] if got[name] is not None else np.zeros_like(want)
        if close(have, want):
            continue
        known = [Known(f"{who}'s .grad still held the previous step's gradient ({STALE} in every "
                       f"element here) when {when} ran: backward adds to .grad, so clear "
                       f"{who}'s gradients before its backward", lambda p: p.expected + STALE)]
        label = f"gradient for {who}'s {name}"
        raise Mistake([f"at {when}:", *("  " + line for line in element_table(label, want, have))],
                      diagnose(label, want, have, Probe(expected=want), known))


def _value(x):
    return float(x.item()) if isinstance(x, mg.Tensor) else float(x)


def check(module):
    mg.manual_seed(8)
    log = []
    G = _Watched("G", nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)), log,
                 latent_dim=2)
    D = _Watched("D", nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)), log)
    opt_g, opt_d = _WatchedSGD("G", G, log), _WatchedSGD("D", D, log)
    real = mg.randn(6, 2) * 0.5 + 1                   # (6, 2): a real batch of 2-D points
    for p in list(G.parameters()) + list(D.parameters()):
        p.grad = mg.ones_like(p) * STALE
    G0, D0 = copy.deepcopy(G.net), copy.deepcopy(D.net)
    try:
        result = module.train_step(G, D, opt_g, opt_d, real, nonsaturating)
    except NotImplementedError as error:
        raise NotDone(["called once on a small G and D (2-D points, plain SGD), train_step "
                       "must step each optimiser with the gradient of its own player's loss, "
                       "and nothing else; every call of G and D is watched"], error) from None

    # 1. One D update, then one G update.
    steps = [(i, e[1], e[2]) for i, e in enumerate(log) if isinstance(e, tuple)]
    order = [role for _, role, _ in steps]
    if order != ["D", "G"]:
        said = ", ".join(f"opt_{r.lower()}.step()" for r in order) or "no optimiser step"
        raise Mistake([f"the optimisers stepped in this order: {said}"],
                      "one opt_d.step() (D's update) and then one opt_g.step() (G's update, "
                      "against the D that has just learned)")
    (d_at, _, d_grads), (g_at, _, g_grads) = steps
    d_phase = [c for c in log[:d_at] if isinstance(c, _Call)]
    g_phase = [c for c in log[d_at:g_at] if isinstance(c, _Call)]

    # 2. D's step: fakes from G, detached; gradients of D's loss alone.
    fakes = [c for c in d_phase if c.role == "G"]
    d_calls = [c for c in d_phase if c.role == "D"]
    if not fakes or not d_calls:
        raise Mistake(["before opt_d.step(): " + ("G made no fakes" if not fakes else
                                                  "D scored nothing")],
                      "D's loss needs D's outputs on the real batch and on fakes G(z)")
    for c in d_calls:
        if c.x.requires_grad:
            raise Mistake(["before opt_d.step(): D scored a batch that requires grad (its "
                           "graph leads back into G)"],
                          "D's loss must not reach G: score fake.detach(), so that D's "
                          "backward stops at D and leaves G's weights and graph alone")
    fake_d = fakes[-1].out.detach()
    loss_d = nonsaturating.d_loss(D0(real), D0(fake_d))
    _compare_gradients("D", "opt_d.step()", d_grads, _gradients(loss_d, D0))

    # 3. G's step: fresh fakes, D frozen; gradients of G's loss through the updated D.
    fresh = [c for c in g_phase if c.role == "G"]
    if not fresh:
        raise Mistake(["between opt_d.step() and opt_g.step() G was never called: G's step "
                       "reused the fakes made for D's step"],
                      "the article's step 6 draws new noise z and makes fresh fakes G(z) for "
                      "G's update (reusing D's fakes saves one forward pass of G, a common "
                      "shortcut, but this exercise follows the article)")
    if np.array_equal(np.asarray(fresh[-1].x), np.asarray(fakes[-1].x)):
        raise Mistake(["G's step called G on the same noise z as D's step"],
                      "the article's step 6 draws NEW noise for G's update: mg.randn again")
    d_scores = [c for c in g_phase if c.role == "D"]
    if not d_scores:
        raise Mistake(["between opt_d.step() and opt_g.step() D was never called"],
                      "G's loss is D's verdict on the fresh fakes: loss.g_loss(D(fake))")
    if not all(c.frozen for c in d_scores):
        raise Mistake(["during G's step D's weights still required grad: G's backward "
                       "filled D's .grad too"],
                      "freeze D for G's update (its weights stop requiring grad), and unfreeze "
                      "it after. G's loss must train G only; its gradient in D's .grad is "
                      "wasted work, and leaks into D's next step whenever a zero_grad is "
                      "missed")
    D1 = copy.deepcopy(D.net)                            # D after its update
    loss_g = nonsaturating.g_loss(D1(G0(fresh[-1].x.detach())))
    _compare_gradients("G", "opt_g.step()", g_grads, _gradients(loss_g, G0))

    # 4. D is trainable again, and the losses come back.
    if not all(p.requires_grad for p in D.parameters()):
        raise Mistake(["after your train_step D's weights are still frozen"],
                      "unfreeze D after G's update (best in a finally: block, so an error "
                      "cannot leave it frozen), or D's next step gets no gradient and learns "
                      "nothing")
    try:
        got = [_value(x) for x in result]
    except (TypeError, ValueError):
        got = None
    expected = [loss_d.item(), loss_g.item()]
    if got is None or len(got) != 2 or not close(got, expected, rtol=1e-5):
        raise Mistake([f"train_step returned {result!r}; expected (loss_d, loss_g) = "
                       f"({expected[0]:.6g}, {expected[1]:.6g})"],
                      "return D's loss and G's loss, as numbers (.item()) or scalar Tensors")
    return ["D's step: fakes detached, D's gradient is its own loss's alone",
            "G's step: fresh noise and fakes, D frozen, G's gradient through the updated D",
            "D is unfrozen afterwards, and (loss_d, loss_g) are returned"]


EXERCISE = Exercise("train_step", "one step of the adversarial loop", "train_step",
                    "train_step", HINTS, SOLUTION, check)
