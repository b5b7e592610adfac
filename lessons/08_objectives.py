"""Lesson 8: GAN objectives: minimax, non-saturating, LSGAN, WGAN and hinge.

What you will learn
    * The five objectives in minigan.gan.losses, each as (d_loss, g_loss) on D's raw
      outputs: logits for minimax / non-saturating, unbounded scores for the others.
    * Why the original minimax generator loss saturates: d loss_G / d logit = -D(G(z)),
      which vanishes exactly when G needs help most (D confidently rejects its samples),
      while the non-saturating loss has gradient -(1 - D(G(z))) -> -1 there. You compute
      both with minigan.autograd.grad and check them against the formulas.
    * That the saturation is real in training, not only on paper: give D a head start
      (100 steps against the untrained G, so that it confidently rejects the fakes, as it
      does early in most runs), then train G with each objective. Minimax's gradient starts
      an order of magnitude below the non-saturating one's.
    * How each objective trains the same generator on the ring of 8 Gaussians.

What to look at
    saturation.png   left: G's gradient per logit against D(G(z)) (log scale) for the two
                     logit losses; right: the same for the score losses against the score
                     (LSGAN's gradient is 0 only at the target score 1, where G already
                     fools D; WGAN's and hinge's are constant)
    losses_ring.png  one panel per loss: G's samples (orange) on the ring (blue) over D's
                     surface after the same number of steps
    grad_norm_g.png  the generator's gradient norm during training, per loss, after D's
                     head start. Look at the first steps: minimax (red) sits far below
                     non-saturating (green) while D(G(z)) is near 0, and climbs only once G
                     has crept to where D is unsure. Each loss keeps its colour in every
                     figure.

How to run
    python lessons/08_objectives.py [--quick] [--out DIR] [--seed N] [--head-start N]
    (--quick trains each loss for a few hundred steps instead of a few thousand)
    --baseline gives D no head start (a D that has learned nothing says 1/2, where both
    gradients are equal): the closing check then fails, as it must.

It writes saturation.png, losses_ring.png and grad_norm_g.png under --out (default
lessons/out/08_objectives/), and ends by checking the saturation claim exactly (the
formulas) and in training (minimax's gradient against the non-saturating one's).
"""
import argparse
import copy
import os
import time

# Toy MLPs multiply small matrices: BLAS worker threads cost more than they save, and on a
# shared 2-core machine they stall each other. One thread each (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import matplotlib  # noqa: E402
matplotlib.use("Agg")                                 # figures go to files, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import autograd, data, gan, metrics, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="short training runs (what the tests run)")
parser.add_argument("--out", default="lessons/out/08_objectives/", help="folder for the figures")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--head-start", type=int, default=100,
                    help="D-only steps before G trains (D learns to reject the fakes)")
claims.add_baseline_flag(parser, "no head start for D")
args = parser.parse_args()
claims.announce(args.baseline, "D gets no head start: it has learned nothing when G starts")

LOSS_NAMES = ["minimax", "nonsaturating", "lsgan", "wgan", "hinge"]
STEPS = 150 if args.quick else 3000                 # per loss
BATCH = 128
HIDDEN = 64
LR = 5e-4
GP_WEIGHT = 1.0                                       # WGAN-GP: the critic needs a Lipschitz bound
HEAD_START = 0 if args.baseline else args.head_start  # D-only steps before G's first step
EARLY = 20                                            # G steps over which saturation is measured
LOG_EVERY = max(1, STEPS // 3)
# One colour per objective, the same in every figure (blue and orange are kept for the real
# data and G's samples).
COLOURS = {"minimax": "tab:red", "nonsaturating": "tab:green", "lsgan": "tab:purple",
           "wgan": "tab:brown", "hinge": "tab:pink"}
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)

# --- 1. the objectives ---
# Everything is minimised. r, f: D's raw outputs on a real and a fake batch; s = sigmoid.
FORMULAS = {
    "minimax":       ("-E log s(r) - E log(1 - s(f))", "E log(1 - s(f))"),
    "nonsaturating": ("-E log s(r) - E log(1 - s(f))", "-E log s(f)"),
    "lsgan":         ("E (r - 1)^2 / 2 + E f^2 / 2", "E (f - 1)^2 / 2"),
    "wgan":          ("E f - E r  (+ gradient penalty)", "-E f"),
    "hinge":         ("E relu(1 - r) + E relu(1 + f)", "-E f"),
}
for name in LOSS_NAMES:
    d_formula, g_formula = FORMULAS[name]
    print(f"{name:14s} D outputs a {gan.get_loss(name).output:5s}  "
          f"loss_D = {d_formula:32s}  loss_G = {g_formula}")

# --- 2. saturation: G's gradient with respect to D's output on a fake ---
# One fake per logit value; g_loss averages over the batch, so multiply by N to get the
# gradient of each sample's own loss.
N = 2001
logits = mg.linspace(-12, 12, N, dtype=mg.float64).reshape(N, 1).requires_grad_()  # (N, 1)
gradients = {}
for name in LOSS_NAMES:
    grad, = autograd.grad(gan.get_loss(name).g_loss(logits), logits)
    gradients[name] = N * grad.numpy().ravel()                                      # (N,)
l = logits.detach().numpy().ravel()
d_fake = 1 / (1 + np.exp(-l))                         # D(G(z)) = sigmoid(logit)
# By hand: minimax loss_G = log(1 - s(l)) = -softplus(l)  => d/dl = -s(l)     = -D(G(z))
#          non-saturating  = -log s(l)    = softplus(-l) => d/dl = -(1 - s(l)) = D(G(z)) - 1
#          lsgan (score s) = (s - 1)^2 / 2               => d/ds = s - 1
#          wgan, hinge     = -s                          => d/ds = -1
for name, by_hand in [("minimax", -d_fake), ("nonsaturating", d_fake - 1), ("lsgan", l - 1),
                      ("wgan", -np.ones_like(l)), ("hinge", -np.ones_like(l))]:
    error = float(np.abs(gradients[name] - by_hand).max())
    print(f"{name:14s} autograd vs formula: max |diff| {error:.1e}")
    assert error < 1e-12, f"{name}: autograd gradient disagrees with the formula by {error:.1e}"

rejected = d_fake < 1e-4                              # D is sure these fakes are fake
print(f"where D(G(z)) < 1e-4: minimax gradient max |.| "
      f"{np.abs(gradients['minimax'][rejected]).max():.1e}, "
      f"non-saturating gradient in [{gradients['nonsaturating'][rejected].min():.5f}, "
      f"{gradients['nonsaturating'][rejected].max():.5f}]")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
ax1.semilogx(d_fake, gradients["minimax"], label="minimax: log(1 - D(G(z)))", linewidth=2,
             color=COLOURS["minimax"])
ax1.semilogx(d_fake, gradients["nonsaturating"], label="non-saturating: -log D(G(z))",
             linewidth=2, color=COLOURS["nonsaturating"])
ax1.axvspan(d_fake.min(), 1e-2, color="tab:red", alpha=0.08, label="D rejects the fakes")
ax1.axhline(0, color="grey", linewidth=0.8)
ax1.set_xlabel("D(G(z))  (probability D gives the fake of being real)")
ax1.set_ylabel("d loss_G / d logit")
ax1.set_title("Logit losses: minimax saturates where G is worst")
ax1.legend(fontsize="small", loc="center right")
ax1.grid(alpha=0.3)
ax2.plot(l, gradients["lsgan"], label="LSGAN: (D(G(z)) - 1)² / 2", linewidth=2,
         color=COLOURS["lsgan"])
ax2.plot(l, gradients["wgan"], label="WGAN: -D(G(z))", linewidth=2, color=COLOURS["wgan"])
ax2.plot(l, gradients["hinge"], label="hinge: -D(G(z))", linewidth=2, linestyle="--",
         color=COLOURS["hinge"])
ax2.plot([1], [0], "o", color=COLOURS["lsgan"], markersize=7)
ax2.annotate("LSGAN: 0 at score 1\n(the target: G already fools D)", (1, 0), (1.4, 1.6),
             fontsize="small", arrowprops=dict(arrowstyle="->", color="grey"))
ax2.axhline(0, color="grey", linewidth=0.8)
ax2.set_xlim(-4, 4)
ax2.set_ylim(-5.5, 3.5)
ax2.set_xlabel("D(G(z))  (critic score)")
ax2.set_ylabel("d loss_G / d score")
ax2.set_title("Score losses: no saturation where G is worst\n(LSGAN's gradient is 0 only at "
              "its target; WGAN's and hinge's never)")
ax2.legend(fontsize="small")
ax2.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "saturation.png"), dpi=100)
plt.close(fig)

# --- 3. each objective on the ring of 8 ---
# Same data, same starting weights, same hyper-parameters; only the objective changes.
# One D step per G step for all (WGAN papers take 5 critic steps per G step; the gradient
# penalty, which the WGAN critic needs to stay Lipschitz, keeps it workable with 1 here).
ring = data.ring_of_gaussians(10_000)
points = ring.tensors[0]                                                     # (10000, 2)
G_start = gan.MLPGenerator(latent_dim=2, out_dim=2, hidden=HIDDEN, layers=3)  # (N, 2) -> (N, 2)
D_start = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, layers=3)             # (N, 2) -> (N, 1)
BOUNDS = (-3, 3, -3, 3)
results = {}
t0 = time.perf_counter()
for name in LOSS_NAMES:
    loss = gan.get_loss(name)
    G, D = copy.deepcopy(G_start), copy.deepcopy(D_start)
    opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    mg.manual_seed(args.seed + 1)                     # the same batches and noise for every loss
    # D's head start: D alone learns to tell the ring from G's untrained samples, as it
    # does early in most runs (it learns faster than G). Then G trains with each loss.
    for step in range(HEAD_START):
        real = points[mg.randint(0, len(points), (BATCH,))]                  # (128, 2)
        with mg.no_grad():
            fake = G(mg.randn(BATCH, 2))                                     # G fixed
        head_loss = loss.d_loss(D(real), D(fake))
        if name == "wgan":
            head_loss = head_loss + gan.gradient_penalty(D, real, fake, GP_WEIGHT)[0]
        opt_d.zero_grad()
        head_loss.backward()
        opt_d.step()
    rows = []
    for step in range(STEPS):
        real = points[mg.randint(0, len(points), (BATCH,))]                  # (128, 2)
        rows.append(gan.train_step(G, D, opt_g, opt_d, real, loss, step,
                                   gp_weight=GP_WEIGHT if name == "wgan" else 0.0))
        if (step + 1) % LOG_EVERY == 0:
            print(f"{name:14s} step {step + 1:5d}  loss_d {rows[-1]['loss_d']:8.3f}  "
                  f"loss_g {rows[-1]['loss_g']:8.3f}  |grad G| {rows[-1]['grad_norm_g']:.3f}  "
                  f"{time.perf_counter() - t0:.1f}s")
    with mg.no_grad():
        fake = G(mg.randn(1000, 2)).numpy()                                  # (1000, 2)

    def surface_fn(p, D=D, logit=(loss.output == "logit")):
        with mg.no_grad():
            out = D(mg.tensor(p, dtype=mg.float32))
            return (mg.sigmoid(out) if logit else out).numpy().ravel()

    coverage = metrics.mode_coverage(fake, ring.centers, ring.std)
    results[name] = {"fake": fake, "rows": rows, "coverage": coverage["modes_covered"],
                     "surface": viz.toy_2d_surface(surface_fn, BOUNDS, resolution=60)}
    early = rows[:EARLY]
    results[name]["early_grad"] = float(np.median([r["grad_norm_g"] for r in early]))
    results[name]["early_d_fake"] = float(np.mean([r["d_fake"] for r in early]))
    print(f"{name:14s} after {STEPS} steps: {coverage['modes_covered']}/8 modes covered; first "
          f"{EARLY} steps: median |grad G| {results[name]['early_grad']:.3f}, mean D(G(z)) "
          f"{results[name]['early_d_fake']:.3f}")

fig, axes = plt.subplots(1, len(LOSS_NAMES), figsize=(3.6 * len(LOSS_NAMES), 3.9))
real_np = points[:500].numpy()
for ax, name in zip(axes, LOSS_NAMES):
    r = results[name]
    xx, yy, zz = r["surface"]
    ax.contourf(xx, yy, zz, levels=20, cmap="Greys", alpha=0.6)
    ax.scatter(real_np[:, 0], real_np[:, 1], s=6, c="tab:blue", label="real")
    ax.scatter(r["fake"][:, 0], r["fake"][:, 1], s=4, c="tab:orange", marker="^",
               label="generated")
    ax.set_xlim(BOUNDS[0], BOUNDS[1])
    ax.set_ylim(BOUNDS[2], BOUNDS[3])
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    kind = "D(x)" if gan.get_loss(name).output == "logit" else "critic score"
    ax.set_title(f"{name}\n{r['coverage']}/8 modes; grey: {kind}", fontsize=10)
axes[0].set_ylabel("x₂")
axes[0].legend(loc="upper right", fontsize="x-small", markerscale=2)
fig.suptitle(f"The same G and D after {STEPS} steps with each objective (darker = more real)")
fig.tight_layout(rect=(0, 0, 1, 0.92))
fig.savefig(os.path.join(args.out, "losses_ring.png"), dpi=100)
plt.close(fig)

fig, ax = plt.subplots(figsize=(8, 4.8))
for name in LOSS_NAMES:
    norms = np.array([row["grad_norm_g"] for row in results[name]["rows"]])
    ax.semilogy(norms, color=COLOURS[name], alpha=0.2, linewidth=0.8)
    ax.semilogy(viz.ema(norms, 0.9), color=COLOURS[name], linewidth=2,
                label=f"{name} (first {EARLY} steps: median {results[name]['early_grad']:.2f})")
ax.axvspan(0, EARLY, color="grey", alpha=0.12, label=f"first {EARLY} G steps (the check)")
ax.set_xlabel("G step (after D's head start)")
ax.set_ylabel("|grad of loss_G w.r.t. G's weights|")
ax.set_title(f"G's gradient norm after a {HEAD_START}-step head start for D "
             f"(D(G(z)) ≈ {results['minimax']['early_d_fake']:.2f}):\nminimax starts saturated, "
             "far below non-saturating", fontsize=10)
ax.legend(fontsize="small", loc="lower right")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "grad_norm_g.png"), dpi=100)
plt.close(fig)
print(f"wrote the figures to {args.out}")

# --- 4. the claim ---
# On paper: exact. In training: minimax's gradient against the non-saturating one's, from
# the same D and G. The baseline is a D without a head start, which has learned nothing and
# says 1/2: there -D(G(z)) and D(G(z)) - 1 are both -1/2, and nothing saturates.
minimax_tail = np.abs(gradients["minimax"][rejected]).max()
ns_tail = np.abs(gradients["nonsaturating"][rejected] + 1).max()
check = claims.ClaimCheck(args.baseline, "the non-saturating loss, same D and G")
check.fact("minimax G gradient -> 0 as D(G(z)) -> 0", minimax_tail < 1e-4,
           f"max |.| where D(G(z)) < 1e-4: {minimax_tail:.1e}")
check.fact("non-saturating G gradient -> -1 there", ns_tail < 1e-4, f"off by {ns_tail:.1e}")
print(f"D's head start: {HEAD_START} steps; mean D(G(z)) over the first {EARLY} G steps: "
      f"minimax {results['minimax']['early_d_fake']:.3f}, non-saturating "
      f"{results['nonsaturating']['early_d_fake']:.3f}")
check.lower(f"median |grad G| over the first {EARLY} steps, minimax",
            results["minimax"]["early_grad"], results["nonsaturating"]["early_grad"], times=0.1)
check.done("as D(G(z)) -> 0 the minimax gradient -> 0 (= -D(G(z))), the non-saturating one "
           "-> -1 (= D(G(z)) - 1), and in training minimax's G gradient starts 10x smaller "
           "once D rejects the fakes")

# --- Questions ---
# 1. LSGAN's G gradient is 0 at score 1. Why is that no saturation problem?
#    (Answer: score 1 is LSGAN's target for the fakes: G gets no push exactly when D
#    already takes its samples for real; where G is worst the gradient is largest.)
# 2. Why does the training check need D's head start, when the formulas alone show the
#    saturation? (Answer: an untrained D says 1/2 everywhere, where both losses have the
#    same gradient, -1/2; saturation needs a D that confidently rejects the fakes.)
#
# --- Try this ---
# 1. python lessons/08_objectives.py --quick --head-start 300
#    Expect: D(G(z)) starts near 0.01; minimax's median |grad G| over the first 20 steps
#    falls to about 0.04 against about 8 for the non-saturating loss (200x, not 20x).
# 2. python lessons/08_objectives.py --quick --head-start 0   (the same as --baseline)
#    Expect: no saturation: both logit losses start with the same small gradient (~0.08),
#    the ratio is about 1 and the training check FAILS: "claim fails".
