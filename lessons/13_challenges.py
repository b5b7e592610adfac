"""Lesson 13: the classic GAN failures (mode collapse, instability) and three fixes.

What you will learn:
  - mode collapse: the generator finds a few outputs that fool the current discriminator
    and puts all its mass there. On a ring of 8 Gaussians you can SEE it (the generated
    points sit on one or two modes) and MEASURE it (metrics.mode_coverage: how many modes
    receive enough samples);
  - instability: when D learns much faster than G, D's verdict flips whenever G moves, and
    G chases it from mode to mode instead of spreading out;
  - three fixes, run side by side on the same toy with the same budget (same networks,
    same number of steps, same seed), each changing one thing of the baseline:
      WGAN-GP        a critic with a gradient penalty (lesson 11; weight 1 on this toy):
                     smooth, informative gradients everywhere, so G is pulled towards
                     every mode;
      spectral norm  every layer of D divided by its largest singular value (SN-GAN): D is
                     Lipschitz, it cannot become arbitrarily sharp around G's samples;
      TTUR           two time-scales chosen on purpose (Heusel et al., 2017): here the
                     baseline's D runs 10x ahead of G; we narrow the gap to 2.5x.
    --quick runs the baseline, WGAN-GP and TTUR; spectral norm joins in the full run (its
    power iteration makes every step of D about 1.7x dearer, past the 20-second budget).

What to look at in the figures (under the out folder):
  - fixes_side_by_side.png: one panel per method, real points (blue) and generated points
    (the method's colour), with modes reached and the largest share of one mode in the
    title; dotted circles mark 6 std around each mode.
  - baseline_over_time.png: the collapsed baseline at four moments: a few tight clusters
    that move around (instability), never all eight modes.
  - baseline_history.png: the baseline's losses and D outputs.

Run it:
    python lessons/13_challenges.py            # full: 2,000 steps per method (~1 min)
    python lessons/13_challenges.py --quick    # 750 steps per method, 3 methods (~15 s)
    python lessons/13_challenges.py --out DIR
    python lessons/13_challenges.py --lr-ratio 10   # TTUR with the baseline's ratio
    python lessons/13_challenges.py --quick --baseline   # every "fix" is the baseline: fails

It writes, under --out (default lessons/out/13_challenges/): fixes_side_by_side.png,
baseline_over_time.png, baseline_history.png, and prints a table of modes covered /
high-quality fraction per method.

A mode counts as "reached" when 25 of 1,000 generated points land within 6 std (0.3) of its
centre (neighbouring modes are 1.53 apart, 30 std): a short run cannot yet place points
within 3 std of a mode, but it can already show whether it spreads over the modes or
collapses onto a few. The strict 3-std numbers are in the table too.

The claim checked at the end: the baseline collapses (at most half the modes), and EACH fix
reaches at least 3 more modes than it (and at least 5 of 8), with at most half the
baseline's share of samples on its most popular mode. --baseline replaces every fix
by the baseline itself: then no fix beats it, and the check fails.
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
from matplotlib.patches import Circle  # noqa: E402

from minigan import data, gan, metrics, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- 0. config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="750 steps, 3 methods")
parser.add_argument("--out", default=os.path.join("lessons", "out", "13_challenges"))
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--lr-ratio", type=float, default=2.5,
                    help="TTUR: D's learning rate over G's (the baseline's is 10)")
claims.add_baseline_flag(parser, "every fix replaced by the collapsed baseline")
args = parser.parse_args()
claims.announce(args.baseline, "every fix is replaced by the baseline's own settings")

STEPS = 750 if args.quick else 2000          # the same budget for every method
BATCH, HIDDEN = 64, 64                        # a small batch makes collapse likelier
RING_STD = 0.05
NEAR = 6.0                                    # "reached": 25 of 1000 points within 6 std
NUM_EVAL = 1000
os.makedirs(args.out, exist_ok=True)
start_time = time.perf_counter()

# name: (loss, lr_g, lr_d, betas, spectral_norm, gp_weight). TTUR keeps D's rate and
# raises G's, narrowing the ratio.
TTUR_LR_D = 2e-3
METHODS = {
    "baseline (lr_d = 10 x lr_g)": ("nonsaturating", 2e-4, 2e-3, (0.5, 0.999), False, 0.0),
    "WGAN-GP":                     ("wgan", 2e-4, 2e-3, (0.5, 0.9), False, 1.0),
    "spectral norm D":             ("nonsaturating", 2e-4, 2e-3, (0.5, 0.999), True, 0.0),
    f"TTUR (lr_d = {args.lr_ratio:g} x lr_g)": ("nonsaturating", TTUR_LR_D / args.lr_ratio,
                                                TTUR_LR_D, (0.5, 0.999), False, 0.0),
}
if args.quick:
    del METHODS["spectral norm D"]             # the full run only (see the docstring)
BASELINE = "baseline (lr_d = 10 x lr_g)"
# One colour per method, the same in every figure: the baseline's samples are orange, as in
# baseline_over_time.png (viz draws a generator's samples in orange).
COLOURS = {name: colour for name, colour in zip(
    ["baseline (lr_d = 10 x lr_g)", "WGAN-GP", "spectral norm D", "TTUR"],
    ["tab:orange", "tab:green", "tab:purple", "tab:brown"])}


def colour_of(name):
    if name.endswith("(= baseline)"):                # under --baseline
        return COLOURS[BASELINE]
    return COLOURS["TTUR" if name.startswith("TTUR") else name]

# --- 1. the data: 8 Gaussians on a circle ---
mg.manual_seed(args.seed)
ring = data.ring_of_gaussians(50_000, std=RING_STD)
points = ring.tensors[0]                                   # (50000, 2)
real_eval = points[:NUM_EVAL].numpy()


def train(name, loss_name, lr_g, lr_d, betas, spectral_norm, gp_weight):
    """One run with the same seed, data order and budget as the others."""
    mg.manual_seed(args.seed)
    G = gan.MLPGenerator(latent_dim=2, out_dim=2, hidden=HIDDEN)   # 3 hidden layers
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
    near = metrics.mode_coverage(fake, ring.centers, ring.std, threshold=NEAR)
    result = {"name": name, "history": history, "snapshots": snapshots, "fake": fake,
              "reached": near["modes_covered"], "near_fraction": near["high_quality_fraction"],
              "covered": strict["modes_covered"], "hq": strict["high_quality_fraction"],
              "counts": near["counts"], "top_share": top_mode_share(fake)}
    print(f"{name:28s} modes reached {result['reached']}/8 (within {NEAR:g} std), "
          f"covered {result['covered']}/8 (within 3 std), largest share of one mode "
          f"{result['top_share']:.2f}, {time.perf_counter() - start_time:.1f}s", flush=True)
    return result


def top_mode_share(fake):
    """The share of samples whose nearest mode is the most popular one: 1/8 = 0.125 for an
    even spread, 1 for a full collapse (however far from the centres the samples are)."""
    nearest = np.linalg.norm(fake[:, None] - ring.centers[None], axis=2).argmin(1)  # (N,)
    return float(np.bincount(nearest, minlength=len(ring.centers)).max() / len(fake))


# --- 2. the runs: baseline first, then the fixes on the same budget ---
# Under --baseline every fix IS the baseline: it is trained once and stands in for each.
results = [train(BASELINE, *METHODS[BASELINE])]
for name, cfg in METHODS.items():
    if name != BASELINE:
        results.append(dict(results[0], name=f"{name} (= baseline)") if args.baseline
                       else train(name, *cfg))
baseline, fixes = results[0], results[1:]

# --- 3. the table ---
print()
print(f"| method                           | modes reached ({NEAR:g} std) | modes covered (3 std) "
      f"| largest share of one mode |")
print("|----------------------------------|-----------------------|-----------------------"
      "|---------------------------|")
for r in results:
    print(f"| {r['name']:32s} | {r['reached']:15d} / 8 | {r['covered']:15d} / 8 "
          f"| {r['top_share']:25.2f} |")
print(f"baseline: samples per mode (within {NEAR:g} std) {baseline['counts'].tolist()}")

# --- 4. figures ---
bounds = (-3, 3, -3, 3)
# One panel per method, titled with its scores (a bare Figure: no pyplot, no window).
fig = Figure(figsize=(4.2 * len(results), 4.6))
axes = fig.subplots(1, len(results))
for ax, r in zip(axes, results):
    ax.scatter(real_eval[:, 0], real_eval[:, 1], s=6, c="tab:blue", alpha=0.6, label="real data")
    ax.scatter(r["fake"][:, 0], r["fake"][:, 1], s=5, c=colour_of(r["name"]), alpha=0.7,
               marker="^", label="G's samples")
    for centre in ring.centers:
        ax.add_patch(Circle(centre, NEAR * ring.std, fill=False, color="grey", linestyle=":",
                            linewidth=0.8))
    ax.set(xlim=bounds[:2], ylim=bounds[2:], aspect="equal", xlabel="x₁", ylabel="x₂",
           title=f"{r['name']}\nreached {r['reached']}/8 (within {NEAR:g} std), "
                 f"top mode {r['top_share']:.0%}")
    ax.title.set_fontsize(9)
    ax.legend(loc="upper right", fontsize="x-small", markerscale=2)
fig.suptitle(f"Same toy, same budget ({STEPS} steps, batch {BATCH}): mode collapse and fixes "
             f"(dotted: {NEAR:g} std around each mode)")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "fixes_side_by_side.png"), dpi=90)
viz.plot_toy_2d_snapshots(baseline["snapshots"], os.path.join(args.out, "baseline_over_time.png"),
                          bounds=bounds, ncols=4)
viz.plot_history(baseline["history"], os.path.join(args.out, "baseline_history.png"),
                 title="the collapsing baseline (D lr 10x G lr)")

# --- 5. check the claim ---
# Each fix against the collapsed baseline, on the same budget.
print(f"done in {time.perf_counter() - start_time:.1f}s; figures in {args.out}")
check = claims.ClaimCheck(args.baseline, "the collapsed baseline")
check.fact("the baseline collapses onto at most half of the modes", baseline["reached"] <= 4,
           f"it reaches {baseline['reached']}/8 within {NEAR:g} std")
for r in fixes:
    check.higher(f"{r['name']}: modes reached within {NEAR:g} std (of 8)", r["reached"],
                 baseline["reached"], by=3, at_least=5, fmt="d")
    check.lower(f"{r['name']}: largest share of one mode", r["top_share"], baseline["top_share"],
                times=0.5, fmt=".2f")
check.done("each fix spreads G over the ring where the baseline collapses")

# --- Questions ---
# 1. Why does a D that learns 10x faster than G push G into collapse?
#    (Answer: D sharpens around G's current samples before G can spread; G's best move is
#    then to jump wholesale to the region D currently likes, one or two modes at a time.)
# 2. Why judge each fix against the collapsed baseline, rather than the best fix alone?
#    (Answer: a best-of-3 can pass by luck; each fix must show the effect on its own.)
#
# --- Try this ---
# 1. python lessons/13_challenges.py --quick --lr-ratio 10
#    Expect: "TTUR" with the baseline's own ratio IS the baseline: 2 of 8 modes, 67% of
#    the samples on one mode, and its checks FAIL: "claim fails".
# 2. python lessons/13_challenges.py --quick --lr-ratio 1
#    Expect: equal learning rates also spread G (6 of 8 modes, at most 14% on one mode):
#    the ratio, not TTUR's particular 2.5, is what matters here.
