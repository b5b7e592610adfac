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

What to look at
    snapshots.png   a panel per snapshot: data density (blue line), G's histogram (orange)
                    and D(x) (dashed, right axis)
    optimal_d.png   for one frozen G: p, q, the optimum p / (p + q) and the trained D(x)

How to run
    python lessons/06_generator_and_discriminator.py [--quick] [--out DIR] [--seed N]
    (--quick trains fewer steps; the optimal-D check is the same)

It writes snapshots.png and optimal_d.png under --out (default
lessons/out/06_generator_and_discriminator/), and ends by asserting that the trained D
matches p / (p + q) within a margin where the densities have mass.
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

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/06_generator_and_discriminator/",
                    help="folder for the figures")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

MEAN, STD = 2.0, 0.5                   # the data: N(2, 0.5^2)
STEPS = 600 if args.quick else 4000
BATCH = 128
HIDDEN = 32
LR = 1e-3
LR_D = 4e-3                            # a quicker D: its D(x) shows where p > q
FREEZE_AT = 60                         # the G whose optimal D we compute in section 3
D_STEPS = 1000 if args.quick else 3000  # D's training "to convergence" against that frozen G
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


# --- 2. training, with snapshots of p, q and D(x) ---
snapshot_steps = {0, FREEZE_AT, STEPS // 4, STEPS // 2, 3 * STEPS // 4, STEPS}
snapshots = []
t0 = time.perf_counter()
for step in range(STEPS + 1):
    if step == FREEZE_AT:
        G_frozen = copy.deepcopy(G)                               # section 3 studies this G
    if step in snapshot_steps:
        snapshots.append({"step": step, "real": points[:2000].numpy().ravel(),
                          "fake": samples(G, 2000),
                          "d_curve": viz.toy_1d_curve(probability(D), BOUNDS)})
    if step == STEPS:
        break
    real = points[mg.randint(0, len(points), (BATCH,))]           # (128, 1)
    row = gan.train_step(G, D, opt_g, opt_d, real, loss, step)    # one D step, one G step
    if (step + 1) % LOG_EVERY == 0:
        fake = samples(G, 2000)
        print(f"step {step + 1:5d}  loss_d {row['loss_d']:.3f}  loss_g {row['loss_g']:.3f}  "
              f"D(real) {row['d_real']:.2f}  D(fake) {row['d_fake']:.2f}  "
              f"G: mean {fake.mean():.2f} std {fake.std():.2f}  {time.perf_counter() - t0:.1f}s")

viz.plot_toy_1d_snapshots(snapshots, os.path.join(args.out, "snapshots.png"),
                          data_density=data_density, bounds=BOUNDS, ncols=3)

# --- 3. the optimal discriminator for a fixed G ---
# For fixed G, D maximises E_p log D(x) + E_q log(1 - D(x)) = integral of
# p log D + q log(1 - D): point by point, a log y + b log(1 - y) peaks at y = a / (a + b).
# So D*(x) = p(x) / (p(x) + q(x)). We check it: freeze G, train a fresh D for a long time
# on large fixed samples, and compare.
real_set = mg.tensor(dataset.tensors[0].numpy()[:8000])          # (8000, 1)
with mg.no_grad():
    fake_set = G_frozen(mg.randn(8000, 1))                        # (8000, 1), G fixed
D_star = gan.MLPDiscriminator(in_dim=1, hidden=HIDDEN, layers=2)
opt = optim.Adam(D_star.parameters(), lr=5e-3)
for step in range(D_STEPS):
    idx = mg.randint(0, 8000, (512,))
    d_loss = loss.d_loss(D_star(real_set[idx]), D_star(fake_set[idx]))  # G gets no step
    opt.zero_grad()
    d_loss.backward()
    opt.step()
    if (step + 1) % (D_STEPS // 3) == 0:
        print(f"D* training  step {step + 1:5d}  loss_d {d_loss.item():.4f}")

xs = np.linspace(*BOUNDS, 400)                                    # (400,)
p = data_density(xs)
q = viz.gaussian_kde(samples(G_frozen, 20_000), xs)               # G's density, estimated
optimum = p / (p + q + 1e-12)
trained = probability(D_star)(xs)
# D only ever sees samples of p and q, so measure the error where they put their mass,
# under the mixture m = (p + q) / 2 that D is trained on: its mean, and the level that 90%
# of the mass stays under. (Not the max: G's density has a sharp edge that the KDE blurs,
# so right at the edge our "optimum" is itself off.)
error = np.abs(trained - optimum)                                 # (400,)
m = (p + q) / 2
mean_error = float((error * m).sum() / m.sum())
order = np.argsort(error)
mass_below = np.cumsum(m[order]) / m.sum()                        # (400,) increasing
error_90 = float(error[order][np.searchsorted(mass_below, 0.9)])
mask = np.minimum(p, q) > 0.25 * p.max()                          # (400,) where p and q overlap
print(f"|D - p/(p+q)| under (p+q)/2: mean {mean_error:.3f}, 90% of the mass below "
      f"{error_90:.3f}")

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(xs, p, color="tab:blue", linewidth=2, label="data density p")
ax.plot(xs, q, color="tab:orange", linewidth=2, label=f"G's density q (KDE, G at step {FREEZE_AT})")
ax.set_xlabel("x")
ax.set_ylabel("density")
ax2 = ax.twinx()
# (where p + q is ~0 the ratio is 0/0: leave it out of the picture)
ax2.plot(xs, np.where(p + q > 1e-3, optimum, np.nan), color="black", linewidth=2,
         label="optimum D*(x) = p / (p + q)")
ax2.plot(xs, trained, color="tab:red", linestyle="--", linewidth=2,
         label=f"D(x) trained {D_STEPS} steps, G frozen")
ax2.fill_between(xs, 0, 1, where=mask, color="grey", alpha=0.15, label="p and q overlap")
ax2.set_ylim(-0.02, 1.02)
ax2.set_ylabel("D(x)")
handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
ax.legend(handles=handles, loc="upper left", fontsize="small")
ax.set_title(f"The optimal discriminator for a fixed G: mean |D - D*| = {mean_error:.3f}")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "optimal_d.png"), dpi=100)
plt.close(fig)
print(f"wrote the figures to {args.out}")

# --- 4. the claim ---
assert mean_error < 0.05 and error_90 < 0.1, (
    f"a D trained to convergence against a fixed G should approach p/(p+q): mean |diff| "
    f"{mean_error:.3f} (want < 0.05), 90% of the mass below {error_90:.3f} (want < 0.1)")
print("claim holds: with G fixed, the trained D(x) is p(x) / (p(x) + q(x))")
