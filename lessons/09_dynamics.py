"""Lesson 9: training dynamics, or why GANs oscillate (the Dirac-GAN).

What you will learn
    * The smallest GAN there is (Mescheder et al., "Which Training Methods for GANs do
      actually Converge?", 2018): the data is a point mass at 0, the generator a point mass
      at theta, the discriminator D(x) = psi * x. Two numbers play the whole game.
    * Its vector field v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi), derived by hand AND
      computed with minigan's autograd from the library's own losses: they agree.
    * Simultaneous gradient steps spiral OUT of the equilibrium, alternating steps circle
      around it forever: the Jacobian at the equilibrium has purely imaginary eigenvalues,
      so plain gradient descent has nothing that pulls it in.
    * A gradient penalty on D (R1: gamma/2 * psi^2 here) adds damping: the eigenvalues move
      into the left half-plane and training converges.

What to look at
    field_wgan.png       arrows circle the equilibrium; simultaneous GD (spiral out) vs
                         alternating GD (a closed orbit)
    field_ns_r1.png      the non-saturating loss, with and without R1: only R1 reaches the star
    distance.png         distance to the equilibrium over the steps, log scale
    eigenvalues.png      eigenvalues of the Jacobian (left) and of one update step vs the unit
                         circle (right): inside the circle shrinks, outside grows

How to run
    python lessons/09_dynamics.py [--quick] [--out DIR] [--seed N] [--h H] [--steps N]
    (--quick takes fewer steps; the dynamics are the same. --h sets the step size, 0.1.)
    --baseline runs the game without the penalty (gamma = 0) wherever R1 should act: the
    closing check then fails, as it must.

It writes field_wgan.png, field_ns_r1.png, distance.png and eigenvalues.png under --out
(default lessons/out/09_dynamics/), and ends by asserting that the distance to the
equilibrium grows under simultaneous updates without a penalty and shrinks with R1.
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")                               # figures go to files, no window
import matplotlib.pyplot as plt                     # noqa: E402
import numpy as np

import minigan as mg
from minigan import autograd, gan, nn, viz

import claims

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer steps (what the tests run)")
parser.add_argument("--out", default="lessons/out/09_dynamics/", help="folder for the figures")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--h", type=float, default=0.1, help="step size of gradient descent")
parser.add_argument("--steps", type=int, default=None, help="gradient steps per path")
claims.add_baseline_flag(parser, "no R1 penalty (gamma = 0)")
args = parser.parse_args()
claims.announce(args.baseline, "the R1 weight gamma is 0: no damping")

LR = args.h                    # step size h of gradient descent, for both players
STEPS = args.steps or (120 if args.quick else 400)
GAMMA = 0.0 if args.baseline else 1.0   # R1 weight
START = (1.0, 0.0)             # (theta, psi): generator off the data, D indifferent
START_NS = (0.2, 0.0)          # NS: start near the equilibrium, where the linear picture holds
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)


# --- 1. the Dirac-GAN as two minigan modules ---
# G ignores its noise: every sample is theta. D is linear: D(x) = psi * x (a logit or a
# critic score, depending on the loss). The real data is the single point x = 0.
class DiracGenerator(nn.Module):
    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(mg.tensor([theta], dtype=mg.float64))    # (1,)
        self.latent_dim = 1

    def forward(self, z):
        return z * 0 + self.theta                   # (N, 1): every sample is theta


class DiracDiscriminator(nn.Module):
    def __init__(self, psi):
        super().__init__()
        self.psi = nn.Parameter(mg.tensor([psi], dtype=mg.float64))        # (1,)

    def forward(self, x):
        return x * self.psi                         # (N, 1)


def autograd_field(theta, psi, loss, r1_weight=0.0):
    """v = (-dL_G/dtheta, -dL_D/dpsi) from the library's losses, by backpropagation."""
    G, D = DiracGenerator(theta), DiracDiscriminator(psi)
    real = mg.zeros(1, 1, dtype=mg.float64)         # the data: x = 0
    fake = G(mg.zeros(1, 1, dtype=mg.float64))      # (1, 1) = theta
    loss_d = loss.d_loss(D(real), D(fake.detach()))
    if r1_weight:
        # R1 = gamma/2 * E ||dD/dx||^2 on real data; dD/dx = psi, so it is gamma/2 * psi^2.
        penalty, _ = gan.r1_penalty(D, real, weight=r1_weight)
        loss_d = loss_d + penalty
    grad_psi, = autograd.grad(loss_d, D.psi)
    grad_theta, = autograd.grad(loss.g_loss(D(fake)), G.theta)
    return -grad_theta.item(), -grad_psi.item()


# --- 2. the field by hand ---
# Write t = psi * theta, D's output on the fake (on the real point it is psi * 0 = 0).
#   WGAN:  L_D = t - 0,          L_G = -t           => v = ( psi,            -theta )
#   NS:    L_D = sp(-0) + sp(t), L_G = sp(-t)       => v = ( psi * s(-t),    -theta * s(t) )
#   (sp = softplus, s = sigmoid, sp'(t) = s(t)). R1 adds gamma/2 psi^2 to L_D: -gamma*psi in v.
# NOTE: Mescheder et al. write D's output on the fake with the other sign (psi -> -psi);
# the picture is the same, mirrored.
def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def field_by_hand(theta, psi, loss_name, gamma=0.0):
    t = psi * theta
    if loss_name == "wgan":
        return psi + 0 * theta, -theta - gamma * psi
    if loss_name == "nonsaturating":
        return psi * sigmoid(-t), -theta * sigmoid(t) - gamma * psi
    raise ValueError(loss_name)


points = rng.uniform(-2, 2, size=(40, 2))           # (40, 2) random (theta, psi)
worst = 0.0
for name in ("wgan", "nonsaturating"):
    for gamma in (0.0, GAMMA):
        for theta, psi in points:
            by_autograd = autograd_field(theta, psi, gan.get_loss(name), gamma)
            by_hand = field_by_hand(theta, psi, name, gamma)
            worst = max(worst, float(np.max(np.abs(np.subtract(by_autograd, by_hand)))))
print(f"hand-derived field vs autograd on {len(points)} points x 4 games: max |diff| {worst:.2e}")


# --- 3. why it oscillates: the Jacobian at the equilibrium (0, 0) ---
# Differentiate the field (itself a gradient) once more: create_graph=True keeps the graph
# of the first backward, so autograd gives second derivatives (the same machinery as R1).
def jacobian_at_equilibrium(loss, r1_weight=0.0):
    G, D = DiracGenerator(0.0), DiracDiscriminator(0.0)
    real = mg.zeros(1, 1, dtype=mg.float64)
    fake = G(mg.zeros(1, 1, dtype=mg.float64))
    loss_d = loss.d_loss(D(real), D(fake))          # no detach: we need d/dtheta of dL_D/dpsi
    if r1_weight:
        loss_d = loss_d + gan.r1_penalty(D, real, weight=r1_weight)[0]
    grad_psi, = autograd.grad(loss_d, D.psi, create_graph=True)
    grad_theta, = autograd.grad(loss.g_loss(D(fake)), G.theta, create_graph=True)
    rows = []
    for v in (-grad_theta, -grad_psi):              # rows: d v_i / d (theta, psi)
        d_theta, d_psi = autograd.grad(v.sum(), [G.theta, D.psi], retain_graph=True,
                                       allow_unused=True)
        rows.append([0.0 if d is None else d.item() for d in (d_theta, d_psi)])
    return np.array(rows)                           # (2, 2)


jacobians = {
    "WGAN": jacobian_at_equilibrium(gan.get_loss("wgan")),
    "NS": jacobian_at_equilibrium(gan.get_loss("nonsaturating")),
    f"WGAN + R1 (γ={GAMMA:g})": jacobian_at_equilibrium(gan.get_loss("wgan"), GAMMA),
    f"NS + R1 (γ={GAMMA:g})": jacobian_at_equilibrium(gan.get_loss("nonsaturating"), GAMMA),
}
eigenvalues = {name: np.linalg.eigvals(J) for name, J in jacobians.items()}
for name, J in jacobians.items():
    print(f"J[{name:14s}] = {J.round(3).tolist()}  eigenvalues {np.round(eigenvalues[name], 3)}")
# Without a penalty: J = [[0, c], [-c, 0]] (c = 1 for WGAN, s(0) = 1/2 for NS): rotation only.
# R1 adds -gamma in the psi-psi entry: eigenvalues (-gamma +- sqrt(gamma^2 - 4c^2)) / 2,
# real part -gamma/2 (or less): damping.


# --- 4. simultaneous vs alternating gradient descent ---
def run(loss_name, mode, steps, gamma=0.0, start=START):
    """Follow the game with step size LR; returns the (steps + 1, 2) path of (theta, psi)."""
    loss = gan.get_loss(loss_name)
    theta, psi = start
    path = [(theta, psi)]
    for _ in range(steps):
        if mode == "simultaneous":                  # both players move from the same point
            v_theta, v_psi = autograd_field(theta, psi, loss, gamma)
            theta, psi = theta + LR * v_theta, psi + LR * v_psi
        else:                                       # G moves, then D answers the new G
            theta = theta + LR * autograd_field(theta, psi, loss, gamma)[0]
            psi = psi + LR * autograd_field(theta, psi, loss, gamma)[1]
        path.append((theta, psi))
    return np.array(path)                           # (steps + 1, 2)


paths = {
    "WGAN simultaneous": run("wgan", "simultaneous", STEPS),
    "WGAN alternating": run("wgan", "alternating", STEPS),
    "NS simultaneous": run("nonsaturating", "simultaneous", STEPS, start=START_NS),
    "NS alternating": run("nonsaturating", "alternating", STEPS, start=START_NS),
    "NS simultaneous + R1": run("nonsaturating", "simultaneous", STEPS, GAMMA, START_NS),
    "WGAN simultaneous + R1": run("wgan", "simultaneous", STEPS, GAMMA),
}
distance = {name: np.linalg.norm(p, axis=1) for name, p in paths.items()}   # (steps + 1,)
for name, d in distance.items():
    print(f"{name:24s} |(theta, psi)|: start {d[0]:.3f} -> end {d[-1]:.3e}")

# NOTE: the NS field also has a slow pull of its own far from 0: d/dt (theta^2 + psi^2)/2
# = -t tanh(t/2) <= 0, of fourth order in the radius. Near the equilibrium the step's
# outward push (second order) wins, so NS spirals out to a limit cycle (radius ~0.45 at
# h = 0.1) and stays there: it oscillates forever instead of converging.
# Simultaneous WGAN steps multiply by I + h J, and (I + hJ)^T (I + hJ) = (1 + h^2) I: the
# distance grows by exactly sqrt(1 + h^2) per step. Alternating steps have determinant 1.
expected = distance["WGAN simultaneous"][0] * (1 + LR ** 2) ** (STEPS / 2)
print(f"WGAN simultaneous: predicted end distance {expected:.4f}, "
      f"measured {distance['WGAN simultaneous'][-1]:.4f}")

# --- 5. figures ---
# One colour per update rule, the same in every figure; the loss is the line style
# (WGAN solid, NS dashed).
COLOURS = {"simultaneous": "tab:red", "alternating": "tab:green", "simultaneous + R1": "tab:purple"}


def colour_of(run):
    """'NS simultaneous + R1' -> the colour of 'simultaneous + R1'."""
    return COLOURS[run.split(" ", 1)[1]]


bound = max(2.0, 1.1 * float(np.abs(paths["WGAN simultaneous"]).max()))
viz.plot_vector_field(
    lambda th, ps: field_by_hand(th, ps, "wgan"), os.path.join(args.out, "field_wgan.png"),
    trajectories={f"simultaneous GD ({STEPS} steps)": paths["WGAN simultaneous"],
                  f"alternating GD ({STEPS} steps)": paths["WGAN alternating"]},
    colors={f"simultaneous GD ({STEPS} steps)": COLOURS["simultaneous"],
            f"alternating GD ({STEPS} steps)": COLOURS["alternating"]},
    bounds=(-bound, bound, -bound, bound), equilibrium=(0, 0),
    title=f"Dirac-GAN, WGAN loss, step size {LR}")
viz.plot_vector_field(
    lambda th, ps: field_by_hand(th, ps, "nonsaturating", GAMMA),
    os.path.join(args.out, "field_ns_r1.png"),
    trajectories={"simultaneous GD, no penalty": paths["NS simultaneous"],
                  "alternating GD, no penalty": paths["NS alternating"],
                  f"simultaneous GD + R1 (γ={GAMMA:g})": paths["NS simultaneous + R1"]},
    colors={"simultaneous GD, no penalty": COLOURS["simultaneous"],
            "alternating GD, no penalty": COLOURS["alternating"],
            f"simultaneous GD + R1 (γ={GAMMA:g})": COLOURS["simultaneous + R1"]},
    bounds=(-0.6, 0.6, -0.6, 0.6), equilibrium=(0, 0),
    title=f"Dirac-GAN, non-saturating loss\narrows: the field with R1 (γ={GAMMA:g})")

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, d in distance.items():
    ax.semilogy(d, label=name, color=colour_of(name),
                linestyle="--" if name.startswith("NS") else "-")
ax.set_xlabel("gradient step")
ax.set_ylabel("distance to equilibrium |(θ, ψ)|")
ax.set_title("Plain GD never converges; R1 does (colour: update rule, dashed: NS loss)")
ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "distance.png"), dpi=100)
plt.close(fig)

# Eigenvalues of one update step: simultaneous = I + hJ; alternating (G first, then D) has
# the matrix [[1, h c], [-h c', 1 - h^2 c c']] for J = [[0, c], [-c', 0]].
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5.6))
for name, ev in eigenvalues.items():
    with_r1 = "R1" in name
    ax1.plot(ev.real, ev.imag, "o" if name.startswith("WGAN") else "s", markersize=9,
             color=COLOURS["simultaneous + R1" if with_r1 else "simultaneous"], alpha=0.8,
             label=name)
ax1.axvline(0, color="grey", linewidth=1)
ax1.set_xlabel("Re λ")
ax1.set_ylabel("Im λ")
ax1.set_title("Eigenvalues of the Jacobian at the equilibrium\n(on the axis: rotation, no pull)")
ax1.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
ax1.set_xlim(-1.6, 0.4)
ax1.set_ylim(-1.2, 1.2)
ax1.grid(alpha=0.3)
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 400))
ax2.plot(circle.real, circle.imag, color="grey", linewidth=1, label="|μ| = 1")
J = jacobians["WGAN"]
c, c2 = J[0, 1], -J[1, 0]
updates = {"simultaneous": np.eye(2) + LR * J,
           "alternating": np.array([[1, LR * c], [-LR * c2, 1 - LR ** 2 * c * c2]]),
           "simultaneous + R1": np.eye(2) + LR * jacobians[f"WGAN + R1 (γ={GAMMA:g})"]}
update_names = {"simultaneous": "simultaneous GD", "alternating": "alternating GD",
                "simultaneous + R1": f"simultaneous GD + R1 (γ={GAMMA:g})"}
mus = []
for name, M in updates.items():
    mu = np.linalg.eigvals(M)
    mus.append(mu)
    ax2.plot(mu.real, mu.imag, "o", markersize=9, color=COLOURS[name],
             label=f"{update_names[name]} (WGAN): |μ| = {np.abs(mu).max():.4f}")
mus = np.concatenate(mus)
span = 1.3 * max(np.abs(mus.imag).max(), 1 - mus.real.min(), 0.02)   # adapts to --h
ax2.set_xlim(1 - span, 1 + 0.3 * span)
ax2.set_ylim(-span * 0.9, span * 0.9)
ax2.set_aspect("equal")
ax2.set_xlabel("Re μ")
ax2.set_ylabel("Im μ")
ax2.set_title(f"Eigenvalues of one update step (h = {LR})\n|μ| > 1 grows, < 1 shrinks")
ax2.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14))
ax2.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "eigenvalues.png"), dpi=100)
plt.close(fig)
print(f"wrote the figures to {args.out}")

# --- 6. the claim ---
# The baseline is the same game without the penalty: R1 must damp it, where plain GD does not.
check = claims.ClaimCheck(args.baseline, "the same game without R1")
check.fact("the hand-derived field is autograd's", worst < 1e-12, f"max |diff| {worst:.2e}")
for name in ("WGAN", "NS"):
    check.fact(f"{name}: purely imaginary eigenvalues (rotation, no pull)",
               np.allclose(eigenvalues[name].real, 0.0, atol=1e-12),
               f"{np.round(eigenvalues[name], 3)}")
    check.lower(f"{name} + R1: largest real part of the Jacobian's eigenvalues",
                float(eigenvalues[f"{name} + R1 (γ={GAMMA:g})"].real.max()),
                float(eigenvalues[name].real.max()), by=0.25, fmt=".3f")
for name in ("WGAN simultaneous", "NS simultaneous"):
    check.fact(f"{name}: the distance to the equilibrium grows",
               distance[name][-1] > distance[name][0],
               f"{distance[name][0]:.4f} -> {distance[name][-1]:.4f}")
check.fact("simultaneous WGAN steps grow the distance by exactly sqrt(1 + h^2) per step",
           np.isclose(distance["WGAN simultaneous"][-1], expected, rtol=1e-9),
           f"measured {distance['WGAN simultaneous'][-1]:.6f}, predicted {expected:.6f}")
for name, without in (("NS simultaneous + R1", "NS simultaneous"),
                      ("WGAN simultaneous + R1", "WGAN simultaneous")):
    check.lower(f"{name}: end distance / start distance", distance[name][-1] / distance[name][0],
                distance[without][-1] / distance[without][0], times=0.2, at_most=0.2)
check.done("simultaneous GD drifts away from the equilibrium; with R1 it converges")

# --- Questions ---
# 1. Simultaneous steps spiral out, alternating ones circle forever. What does the
#    eigenvalues figure show for each? (Answer: |mu| = sqrt(1 + h^2) > 1 for simultaneous
#    steps, |mu| = 1 exactly for alternating ones (determinant 1), < 1 only with R1.)
# 2. What does R1 add to the Jacobian, and why does that pull the game in?
#    (Answer: -gamma on the psi-psi entry; the eigenvalues get real part -gamma/2, a
#    damping term, so each step shrinks the distance.)
#
# --- Try this ---
# 1. python lessons/09_dynamics.py --quick --h 0.01 --steps 1200
#    Expect: simultaneous WGAN steps still grow the distance exactly as predicted, but
#    only to 1.062 after 1200 steps; NS no longer spirals out: its slow inward pull (the
#    NOTE in section 4) beats the h^2 push, so the NS check FAILS. The step size decides.
# 2. python lessons/09_dynamics.py --quick --h 0.5
#    Expect: simultaneous WGAN steps blow up to 6.5e5 in 120 steps (sqrt(1.25)^120),
#    alternating steps stay on a bounded orbit (1.15), and R1 converges faster than with
#    h = 0.1 (3e-8): a large step multiplies both the instability and the damping.
# 3. python lessons/09_dynamics.py --quick --baseline
#    Expect: gamma = 0, so the "+ R1" paths are plain GD: they drift, and the check fails.
