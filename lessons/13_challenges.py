"""Lesson 13: the classic GAN failures (mode collapse, instability) and three fixes.

What you will learn:
  - mode collapse: the generator finds a few outputs that fool the current discriminator
    and puts all its mass there. On a ring of 8 Gaussians you can SEE it (the generated
    points sit on one or two modes) and MEASURE it (metrics.mode_coverage: how many modes
    receive enough samples);
  - instability: when D learns much faster than G, D's verdict flips whenever G moves, and
    G chases it from mode to mode instead of spreading out;
  - three fixes, run side by side on the same toy with the same budget (same networks,
    same number of steps, same seed):
      WGAN-GP        a critic with a gradient penalty (lesson 11): smooth, informative
                     gradients everywhere, so G is pulled towards every mode;
      spectral norm  every layer of D divided by its largest singular value (SN-GAN): D is
                     Lipschitz, it cannot become arbitrarily sharp around G's samples;
      TTUR           two time-scales chosen on purpose (Heusel et al., 2017): here the
                     baseline's D runs 10x ahead of G; we narrow the gap to 2.5x.

What to look at in the figures (under the out folder):
  - fixes_side_by_side.png: one panel per method, real points (blue) and generated points
    (orange), with modes covered and the high-quality fraction in each title.
  - baseline_over_time.png: the collapsed baseline at four moments: a few tight clusters
    that move around (instability), never all eight modes.
  - baseline_history.png: the baseline's losses and D outputs.

Run it:
    python lessons/13_challenges.py            # full: 3,000 steps per method (~1 min)
    python lessons/13_challenges.py --quick    # 600 steps per method (~12 s)
    python lessons/13_challenges.py --out DIR

It writes, under --out (default lessons/out/13_challenges/): fixes_side_by_side.png,
baseline_over_time.png, baseline_history.png, and prints a table of modes covered /
high-quality fraction per method.

A mode counts as "reached" when enough generated points land within 10 std (0.5) of its
centre: a short run cannot yet place points within 3 std of a mode, but it can already show
whether it spreads over the modes or collapses onto a few. The strict 3-std numbers are in
the table too.

The claim checked at the end: at least one fix reaches at least two more modes than the
collapsed baseline, which itself reaches at most half of them.
"""
import argparse
import os
import time

# Toy MLPs multiply small matrices: BLAS worker threads cost more than they save, and on a
# shared 2-core machine they stall each other. One thread each (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, metrics, optim, viz  # noqa: E402

# --- 0. config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="600 steps per method")
parser.add_argument("--out", default=os.path.join("lessons", "out", "13_challenges"))
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

STEPS = 600 if args.quick else 3000          # the same budget for every method
BATCH, HIDDEN = 64, 64                        # a small batch makes collapse likelier
RING_STD = 0.05
LOOSE = 10.0                                  # "reached": within 10 std of a centre
NUM_EVAL = 1000
os.makedirs(args.out, exist_ok=True)
start_time = time.perf_counter()

# name: (loss, lr_g, lr_d, betas, spectral_norm, gp_weight)
METHODS = {
    "baseline (lr_d = 10 x lr_g)": ("nonsaturating", 1e-4, 1e-3, (0.5, 0.999), False, 0.0),
    "WGAN-GP":                     ("wgan", 1e-4, 1e-3, (0.5, 0.9), False, 10.0),
    "spectral norm D":             ("nonsaturating", 1e-4, 1e-3, (0.5, 0.999), True, 0.0),
    "TTUR (lr_d = 2.5 x lr_g)":    ("nonsaturating", 4e-4, 1e-3, (0.5, 0.999), False, 0.0),
}

# --- 1. the data: 8 Gaussians on a circle ---
mg.manual_seed(args.seed)
ring = data.ring_of_gaussians(50_000, std=RING_STD)
points = ring.tensors[0]                                   # (50000, 2)
real_eval = points[:NUM_EVAL].numpy()


def train(name, loss_name, lr_g, lr_d, betas, spectral_norm, gp_weight):
    """One run with the same seed, data order and budget as the others."""
    mg.manual_seed(args.seed)
    G = gan.MLPGenerator(latent_dim=2, out_dim=2, hidden=HIDDEN)
    D = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, spectral_norm=spectral_norm)
    opt_g = optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    opt_d = optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    loss = gan.get_loss(loss_name)
    loader = data.DataLoader(data.TensorDataset(points), batch_size=BATCH, shuffle=True,
                             drop_last=True)
    eval_z = mg.randn(NUM_EVAL, 2)
    history, snapshots, batches = [], [], iter(loader)
    for step in range(STEPS):
        try:
            (real,) = next(batches)                        # (BATCH, 2)
        except StopIteration:                              # a new epoch, a new shuffle
            batches = iter(loader)
            (real,) = next(batches)
        history.append(gan.train_step(G, D, opt_g, opt_d, real, loss, step,
                                      gp_weight=gp_weight))
        if (step + 1) % (STEPS // 4) == 0:
            with mg.no_grad():
                snapshots.append({"step": step + 1, "real": real_eval,
                                  "fake": G(eval_z).numpy()})       # (1000, 2)
    fake = snapshots[-1]["fake"]
    strict = metrics.mode_coverage(fake, ring.centers, ring.std)
    loose = metrics.mode_coverage(fake, ring.centers, ring.std, threshold=LOOSE)
    result = {"name": name, "history": history, "snapshots": snapshots, "fake": fake,
              "reached": loose["modes_covered"], "near_fraction": loose["high_quality_fraction"],
              "covered": strict["modes_covered"], "hq": strict["high_quality_fraction"],
              "counts": loose["counts"]}
    print(f"{name:28s} modes reached {result['reached']}/8 (within {LOOSE:g} std), "
          f"covered {result['covered']}/8 (within 3 std), high quality {result['hq']:.2f}, "
          f"{time.perf_counter() - start_time:.1f}s", flush=True)
    return result


# --- 2. the runs: baseline first, then the fixes on the same budget ---
results = [train(name, *cfg) for name, cfg in METHODS.items()]
baseline, fixes = results[0], results[1:]

# --- 3. the table ---
print()
print(f"| method                       | modes reached (10 std) | modes covered (3 std) "
      f"| high-quality fraction |")
print("|------------------------------|------------------------|-----------------------"
      "|-----------------------|")
for r in results:
    print(f"| {r['name']:28s} | {r['reached']:16d} / 8 | {r['covered']:15d} / 8 "
          f"| {r['hq']:21.2f} |")
print(f"baseline: samples per mode (within {LOOSE:g} std) {baseline['counts'].tolist()}")

# --- 4. figures ---
bounds = (-3, 3, -3, 3)
# One panel per method, titled with its scores (a bare Figure: no pyplot, no window).
fig = Figure(figsize=(16, 4.4))
axes = fig.subplots(1, len(results))
for ax, r in zip(axes, results):
    ax.scatter(real_eval[:, 0], real_eval[:, 1], s=6, c="tab:blue", alpha=0.6, label="real")
    ax.scatter(r["fake"][:, 0], r["fake"][:, 1], s=5, c="tab:orange", alpha=0.7, marker="^",
               label="generated")
    ax.set(xlim=bounds[:2], ylim=bounds[2:], aspect="equal", xlabel="x1", ylabel="x2",
           title=f"{r['name']}\nreached {r['reached']}/8, covered {r['covered']}/8, "
                 f"HQ {r['hq']:.2f}")
axes[0].legend(loc="upper right", fontsize="small", markerscale=2)
fig.suptitle(f"Same toy, same budget ({STEPS} steps, batch {BATCH}): mode collapse and fixes")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "fixes_side_by_side.png"), dpi=90)
viz.plot_toy_2d_snapshots(baseline["snapshots"], os.path.join(args.out, "baseline_over_time.png"),
                          bounds=bounds, ncols=4)
viz.plot_history(baseline["history"], os.path.join(args.out, "baseline_history.png"),
                 title="the collapsing baseline (D lr 10x G lr)")

# --- 5. check the claim ---
best = max(fixes, key=lambda r: r["reached"])
print(f"best fix: {best['name']} reaches {best['reached']}/8 modes; baseline {baseline['reached']}/8")
print(f"done in {time.perf_counter() - start_time:.1f}s; figures in {args.out}")
assert baseline["reached"] <= 4, \
    f"the baseline should collapse onto at most half the modes, reached {baseline['reached']}"
assert best["reached"] >= baseline["reached"] + 2, \
    (f"at least one fix should reach 2+ more modes than the baseline "
     f"({baseline['reached']}): {[(r['name'], r['reached']) for r in fixes]}")
