"""Lesson 6: the generator and the discriminator, in one dimension.

What you will learn
    * The two players of a GAN on the smallest possible problem: data from a 1-D Gaussian,
      a generator G that turns noise z ~ N(0, 1) into numbers, a discriminator D that says
      how likely a number is to be real.
    * How G's density q moves onto the data density p while D(x) follows it: D is high
      where p > q, low where q > p, and flattens to 1/2 as the two densities meet.
    * The optimal discriminator: for a FIXED G, the best D is D*(x) = p(x) / (p(x) + q(x)).
      You freeze G, train D to convergence, and compare D(x) with p / (p + q), computed
      from the known data density and a kernel density estimate of q.

    * What D* does to the game: put D* back into V(G, D) and it becomes
      V(G, D*) = 2 JS(p || q) - log 4, a distance between the densities (derived in
      section 4). Hence the loss_d = 1.386 = log 4 you see in every balanced GAN log.

What to look at
    snapshots.png      a panel per snapshot: data density (blue line), G's histogram
                       (orange) and D(x) (dashed, right axis)
    optimal_d.png      for one frozen G: p, q, the optimum p / (p + q) and the trained D(x)
    js_divergence.png  2 JS(p||q) - log 4 over training, next to the measured -loss_d:
                       the measured value stays below it (the D being trained, one step
                       per G step, is never the best D) and both end near -log 4

How to run
    python lessons/06_generator_and_discriminator.py [--quick] [--out DIR] [--seed N]
    (--quick trains fewer steps; the optimal-D check is the same)
    --baseline: the D that should approach p / (p + q) is never trained (0 steps); the
    closing check then fails, as it must

It writes snapshots.png, optimal_d.png and js_divergence.png under --out (default
lessons/out/06_generator_and_discriminator/), and ends by checking, against an untrained
D, that the trained D matches p / (p + q) where the densities have mass and that its value
-loss_d is 2 JS(p||q) - log 4.
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
from minigan import data, gan, nn, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/06_generator_and_discriminator/",
                    help="folder for the figures")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "an untrained D in place of the trained one")
args = parser.parse_args()
claims.announce(args.baseline, "D* gets 0 training steps")

MEAN, STD = 2.0, 0.5                   # the data: N(2, 0.5^2)
STEPS = 600 if args.quick else 4000
BATCH = 128
HIDDEN = 32
LR = 1e-3
LR_D = 4e-3                            # a quicker D: its D(x) shows where p > q
FREEZE_AT = 60                         # the G whose optimal D we compute in section 3
D_STEPS = 1000 if args.quick else 3000  # D's training "to convergence" against that frozen G
if args.baseline:
    D_STEPS = 0                         # the do-nothing variant: D* stays as initialised
BOUNDS = (-2.0, 4.0)
LOG_EVERY = STEPS // 6
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)


def data_density(x):
    """p(x): the true density of the data (we know it; a real data set would need a KDE)."""
    return np.exp(-0.5 * ((x - MEAN) / STD) ** 2) / (STD * np.sqrt(2 * np.pi))


# --- 1. data and the two players ---
dataset = data.gaussian_1d(20_000, mean=MEAN, std=STD)
points = dataset.tensors[0]                                   # (20000, 1)


class Generator(nn.Module):
    """z (N, 1) -> x (N, 1), a smooth map (tanh). NOTE: with a 1-D latent, a ReLU generator
    is piecewise linear in z and flat wherever its units are all off: it puts a point mass
    there, a spike in q that no density estimate or smooth D can follow."""

    def __init__(self, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                 nn.Tanh(), nn.Linear(hidden, 1))
        self.latent_dim = 1                                       # train_step samples z by it

    def forward(self, z):
        return self.net(z)


G = Generator(HIDDEN)                                                    # z (N, 1) -> x (N, 1)
D = gan.MLPDiscriminator(in_dim=1, hidden=HIDDEN, layers=2)              # x (N, 1) -> logit (N, 1)
opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
opt_d = optim.Adam(D.parameters(), lr=LR_D, betas=(0.5, 0.999))
loss = gan.get_loss("nonsaturating")


def probability(D):
    """D as a NumPy function: (M,) positions -> (M,) probabilities sigmoid(logit)."""
    def f(xs):
        with mg.no_grad():
            logits = D(mg.tensor(np.asarray(xs).reshape(-1, 1), dtype=mg.float32))  # (M, 1)
            return mg.sigmoid(logits).numpy().ravel()                              # (M,)
    return f


def samples(G, n):
    with mg.no_grad():
        return G(mg.randn(n, 1)).numpy().ravel()                  # (n,)


XS = np.linspace(*BOUNDS, 400)                                    # (400,) where densities live


def js_divergence(p, q, xs):
    """JS(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2, in nats, as a sum
    over the evenly spaced grid xs. 0 when p = q, at most log 2 when they do not overlap."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0)
    return float((kl_pm + kl_qm).sum() * (xs[1] - xs[0]) / 2)


# --- 2. training, with snapshots of p, q and D(x), and JS(p || q) along the way ---
snapshot_steps = {0, FREEZE_AT, STEPS // 4, STEPS // 2, 3 * STEPS // 4, STEPS}
JS_EVERY = max(1, STEPS // 30)
snapshots, losses_d, js_track = [], [], []
t0 = time.perf_counter()
for step in range(STEPS + 1):
    if step == FREEZE_AT:
        G_frozen = copy.deepcopy(G)                               # section 3 studies this G
    if step in snapshot_steps:
        snapshots.append({"step": step, "real": points[:2000].numpy().ravel(),
                          "fake": samples(G, 2000),
                          "d_curve": viz.toy_1d_curve(probability(D), BOUNDS)})
    if step % JS_EVERY == 0:                                      # q by a KDE of 2000 samples
        q_now = viz.gaussian_kde(samples(G, 2000), XS)
        js_track.append((step, js_divergence(data_density(XS), q_now, XS)))
    if step == STEPS:
        break
    real = points[mg.randint(0, len(points), (BATCH,))]           # (128, 1)
    row = gan.train_step(G, D, opt_g, opt_d, real, loss, step)    # one D step, one G step
    losses_d.append(row["loss_d"])
    if (step + 1) % LOG_EVERY == 0:
        fake = samples(G, 2000)
        print(f"step {step + 1:5d}  loss_d {row['loss_d']:.3f}  loss_g {row['loss_g']:.3f}  "
              f"D(real) {row['d_real']:.2f}  D(fake) {row['d_fake']:.2f}  "
              f"JS(p||q) {js_track[-1][1]:.3f}  G: mean {fake.mean():.2f} std {fake.std():.2f}  "
              f"{time.perf_counter() - t0:.1f}s")

viz.plot_toy_1d_snapshots(snapshots, os.path.join(args.out, "snapshots.png"),
                          data_density=data_density, bounds=BOUNDS, ncols=3)

# --- 3. the optimal discriminator for a fixed G ---
# For fixed G, D maximises V(G, D) = E_p log D(x) + E_q log(1 - D(x)) = integral of
# p log D + q log(1 - D): point by point, a log y + b log(1 - y) peaks at y = a / (a + b).
# So D*(x) = p(x) / (p(x) + q(x)). We check it: freeze G, train a fresh D for a long time
# on large fixed samples, and compare.
real_set = mg.tensor(dataset.tensors[0].numpy()[:8000])          # (8000, 1)
with mg.no_grad():
    fake_set = G_frozen(mg.randn(8000, 1))                        # (8000, 1), G fixed
p = data_density(XS)
q = viz.gaussian_kde(samples(G_frozen, 20_000), XS)               # G's density, estimated
optimum = p / (p + q + 1e-12)


def distance_to_optimum(D):
    """|D - p/(p+q)| where the data lives: (mean, level under which 90% of the mass lies).

    D only ever sees samples of p and q, so the error is weighed by the mixture
    m = (p + q) / 2 that D is trained on. (Not the max: G's density has a sharp edge that
    the KDE blurs, so right at the edge our "optimum" is itself off.)"""
    error = np.abs(probability(D)(XS) - optimum)                  # (400,)
    m = (p + q) / 2
    order = np.argsort(error)
    mass_below = np.cumsum(m[order]) / m.sum()                    # (400,) increasing
    return float((error * m).sum() / m.sum()), float(error[order][np.searchsorted(mass_below, 0.9)])


def value_of_game(D):
    """V(G, D) = E_p log D(x) + E_q log(1 - D(x)) on the 8000 + 8000 fixed samples = -loss_d."""
    with mg.no_grad():
        return -loss.d_loss(D(real_set), D(fake_set)).item()


D_star = gan.MLPDiscriminator(in_dim=1, hidden=HIDDEN, layers=2)
untrained_error, untrained_error_90 = distance_to_optimum(D_star)   # the baseline
untrained_value = value_of_game(D_star)
opt = optim.Adam(D_star.parameters(), lr=5e-3)
for step in range(D_STEPS):
    idx = mg.randint(0, 8000, (512,))
    d_loss = loss.d_loss(D_star(real_set[idx]), D_star(fake_set[idx]))  # G gets no step
    opt.zero_grad()
    d_loss.backward()
    opt.step()
    if (step + 1) % (D_STEPS // 3) == 0:
        print(f"D* training  step {step + 1:5d}  loss_d {d_loss.item():.4f}")

trained = probability(D_star)(XS)
mean_error, error_90 = distance_to_optimum(D_star)
mask = np.minimum(p, q) > 0.25 * p.max()                          # (400,) where p and q overlap
print(f"|D - p/(p+q)| under (p+q)/2: mean {mean_error:.3f}, 90% of the mass below "
      f"{error_90:.3f} (untrained D: {untrained_error:.3f}, {untrained_error_90:.3f})")

# --- 4. what the game's value is at D*: twice the Jensen-Shannon divergence, minus log 4 ---
# Put D* = p / (p + q) back into V. With m = (p + q) / 2, p / (p + q) = p / (2m), so
#   V(G, D*) = integral p log(p / (p + q)) + q log(q / (p + q))
#            = integral p log(p / m) + q log(q / m)  -  log 2 - log 2     (p, q integrate to 1)
#            = KL(p || m) + KL(q || m) - log 4
#            = 2 JS(p || q) - log 4.
# So the best D turns the game into a distance: G, minimising V(G, D*), minimises the
# Jensen-Shannon divergence between the data and its samples, and the minimum, at q = p,
# is V = -log 4, with D*(x) = 1/2 everywhere.
# loss_d is -V (D MAXIMISES V by minimising loss_d), so with the best D:
#   loss_d = log 4 - 2 JS(p || q) <= log 4 = 1.386.
# That is the 1.386 in every log of a balanced GAN: D can no longer tell, loss_d sits at
# log 4. NOTE: a D that learned nothing (D = 1/2 everywhere) ALSO scores log 4, whatever G
# does, so loss_d = 1.386 alone does not prove that G is good.
js_frozen = js_divergence(p, q, XS)
bound = 2 * js_frozen - np.log(4)
trained_value = value_of_game(D_star)
print(f"G at step {FREEZE_AT}: JS(p||q) = {js_frozen:.3f}, so V(G, D*) = 2 JS - log 4 = "
      f"{bound:.3f}; the trained D reaches V = -loss_d = {trained_value:.3f} "
      f"(untrained D: {untrained_value:.3f}, -log 4 = {-np.log(4):.3f})")

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(XS, p, color="tab:blue", linewidth=2, label="data density p")
ax.plot(XS, q, color="tab:orange", linewidth=2, label=f"G's density q (KDE, G at step {FREEZE_AT})")
ax.set_xlabel("x")
ax.set_ylabel("density")
ax2 = ax.twinx()
# (where p + q is ~0 the ratio is 0/0: leave it out of the picture)
ax2.plot(XS, np.where(p + q > 1e-3, optimum, np.nan), color="black", linewidth=2,
         label="optimum D*(x) = p / (p + q)")
ax2.plot(XS, trained, color="tab:red", linestyle="--", linewidth=2,
         label=f"D(x) trained {D_STEPS} steps, G frozen")
ax2.fill_between(XS, 0, 1, where=mask, color="grey", alpha=0.15, label="p and q overlap")
ax2.set_ylim(-0.02, 1.02)
ax2.set_ylabel("D(x)")
handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
ax.legend(handles=handles, loc="upper left", fontsize="small")
ax.set_title(f"The optimal discriminator for a fixed G: mean |D - D*| = {mean_error:.3f}")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "optimal_d.png"), dpi=100)
plt.close(fig)

js_steps, js_values = (np.array(v) for v in zip(*js_track))
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(js_steps, 2 * js_values - np.log(4), color="black", linewidth=2,
        label="V(G, D*) = 2 JS(p||q) - log 4  (the best D, from the densities)")
ax.plot(np.arange(1, len(losses_d) + 1), -viz.ema(losses_d, 0.95), color="tab:blue",
        label="-loss_d measured on batches (EMA): V(G, D) for the D being trained")
ax.axhline(-np.log(4), color="grey", linestyle=":", label="-log 4 = -1.386: q = p, D = 1/2")
ax.set_xlabel("training step")
ax.set_ylabel("value of the game V")
ax.set_title("At the best D the game's value is 2 JS - log 4; it falls to -log 4 as q -> p")
ax.legend(fontsize="small")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "js_divergence.png"), dpi=100)
plt.close(fig)
print(f"wrote the figures to {args.out}")

# --- 5. the claim ---
check = claims.ClaimCheck(args.baseline, "an untrained D")
check.lower("mean |D - p/(p+q)| under (p+q)/2", mean_error, untrained_error, times=0.3,
            at_most=0.05)
check.lower("|D - p/(p+q)| below which 90% of the mass lies", error_90, untrained_error_90,
            times=0.5, at_most=0.1)
check.lower("|V(G, D) - (2 JS(p||q) - log 4)|", abs(trained_value - bound),
            abs(untrained_value - bound), times=0.3, at_most=0.05)
check.done("with G fixed, the trained D(x) is p(x) / (p(x) + q(x)), and the game's value "
           "there is 2 JS(p||q) - log 4")

# --- Questions ---
# 1. Why is D*(x) = 1/2 everywhere once q = p, and what is loss_d there?
#    (Answer: p / (p + q) = 1/2; then V = 2 log(1/2) = -log 4, so loss_d = log 4 = 1.386.)
# 2. Your GAN's log shows loss_d = 1.386 for thousands of steps. Can you conclude that G
#    matches the data? (Answer: no: a D that learned nothing, D = 1/2, also scores log 4.
#    Look at the samples or a metric, lesson 14.)
#
# --- Try this ---
# 1. Set FREEZE_AT = 0: the optimal D for the untrained G.
#    Expect: q and p barely overlap, JS(p||q) = 0.693 = log 2 (its maximum), so
#    V(G, D*) = 2 log 2 - log 4 = 0, and the trained D reaches it (-0.002): a perfect D,
#    whose gradient tells G almost nothing (lesson 08).
# 2. python lessons/06_generator_and_discriminator.py --quick --baseline
#    Expect: an untrained D sits near 1/2, 0.32 away from p/(p+q) on average, its value is
#    near -log 4 instead of 2 JS - log 4, and the checks FAIL: "claim fails".
