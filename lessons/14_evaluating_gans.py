"""Lesson 14: evaluating GANs: what the losses do not tell you, and what to measure instead.

What you will learn:
  - why the GAN losses are not a quality score: they measure how the two players do
    AGAINST EACH OTHER, not how close the samples are to the data. A run can keep roughly
    the same losses while its samples go from a blob to a good fit;
  - the Inception Score, IS = exp(E_x KL(p(y|x) || p(y))): high when every sample is
    classified confidently AND all classes are used. Any classifier can play Inception's
    role: on the ring of 8 the exact one is known (which Gaussian did x come from?), for
    digits minigan trains a small CNN (metrics.load_digit_classifier);
  - the Fréchet distance between Gaussians fitted to real and generated features (FID
    with Inception features; here raw 2-D points, or the digit CNN's 128 features);
  - mode coverage (modes hit by enough samples within 3 std of a centre) and the
    high-quality fraction, when the true modes are known;
  - a memorisation check: nearest-training-image distances. A "generator" that replays
    training images scores a perfect IS and FID, and only this check catches it.

What to look at in the figures (under the out folder):
  - losses_vs_metrics.png: left, the losses over training (they settle early and then
    stay in a band); right, FD, IS and modes covered over the same steps (they keep moving).
  - checkpoints.png: the samples at the two checkpoints the assert compares.
  - memorisation.png: nearest-training-digit distances of held-out real digits and of a
    copying "generator".

Run it:
    python lessons/14_evaluating_gans.py            # full: longer toy run + digit metrics
    python lessons/14_evaluating_gans.py --quick    # toy run + memorisation check (~10 s)
    python lessons/14_evaluating_gans.py --out DIR
    python lessons/14_evaluating_gans.py --quick --baseline   # G never learns: the check fails

--quick trains no digit classifier (that takes ~60 s the first time): it measures IS and FD
on the ring, where the exact class posterior is known, and runs the memorisation check on
real digits (pixel distances need no classifier). The full run also trains (or loads from
the cache) the digit CNN and reports classifier IS / FD for real held-out digits, for the
copying "generator", for blurred digits and for noise, next to the memorisation check.

It writes, under --out (default lessons/out/14_evaluating_gans/): losses_vs_metrics.png,
checkpoints.png, memorisation.png.

The claims checked at the end: two checkpoints whose discriminator losses differ by less
than 0.1 have Fréchet distances that differ by a factor of 3 or more (a G that never learns,
the baseline, gives a factor of 1); the last checkpoint's FD is below a fifth of the
untrained G's; and the memorisation check flags the copying generator (copy fraction > 0.9)
but not held-out real digits (copy fraction < 0.05).
"""
import argparse
import os
import time

# Small MLPs and a small CNN: BLAS worker threads cost more than they save, and on a shared
# 2-core machine they stall each other (measured: --quick 11 s with one thread, over 120 s
# with two, at load average 4). One thread each (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, metrics, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- 0. config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="toy metrics only, a short run")
parser.add_argument("--out", default=os.path.join("lessons", "out", "14_evaluating_gans"))
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "a G that never learns: its learning rate is 0")
args = parser.parse_args()
claims.announce(args.baseline, "G's learning rate is 0: only D trains")

STEPS = 1200 if args.quick else 6000
EVAL_EVERY = STEPS // 20                    # 20 checkpoints
BATCH, HIDDEN, LR = 128, 64, 1e-3
RING_STD = 0.05
NUM_EVAL = 1000                             # generated points per checkpoint
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start_time = time.perf_counter()

# --- 1. the toy data and its exact "Inception network" ---
ring = data.ring_of_gaussians(50_000, std=RING_STD)
points = ring.tensors[0]                                 # (50000, 2)
real_eval = points[:NUM_EVAL].numpy()                    # (1000, 2)
real_stats = metrics.feature_statistics(real_eval)       # mean (2,), covariance (2, 2)


def mode_posterior(x):
    """p(mode | x) for the ring: the Bayes classifier, the ideal "Inception net" here."""
    sq = ((x[:, None, :] - ring.centers[None]) ** 2).sum(-1)       # (N, 8)
    logits = -sq / (2 * RING_STD ** 2)
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)                              # (N, 8)


def evaluate(fake):
    """All toy metrics for generated points (N, 2)."""
    cover = metrics.mode_coverage(fake, ring.centers, ring.std)
    return {"fd": metrics.frechet_distance(*metrics.feature_statistics(fake), *real_stats),
            "is": metrics.inception_score(mode_posterior(fake)),
            "modes": cover["modes_covered"], "hq": cover["high_quality_fraction"]}


print(f"real data: IS {metrics.inception_score(mode_posterior(real_eval)):.2f} (of 8), "
      f"FD to a second real sample "
      f"{evaluate(points[NUM_EVAL:2 * NUM_EVAL].numpy())['fd']:.4f}")

# --- 2. train a GAN, recording losses every step and metrics at checkpoints ---
G = gan.MLPGenerator(latent_dim=2, out_dim=2, hidden=HIDDEN)
D = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN)
opt_g = optim.Adam(G.parameters(), lr=0.0 if args.baseline else LR, betas=(0.5, 0.999))
opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
loss = gan.get_loss("nonsaturating")
eval_z = mg.randn(NUM_EVAL, 2)
with mg.no_grad():
    untrained = evaluate(G(eval_z).numpy())              # the baseline: G as initialised
print(f"untrained G: FD {untrained['fd']:.3f}  IS {untrained['is']:.2f}  modes {untrained['modes']}/8")
loader = data.DataLoader(data.TensorDataset(points), batch_size=BATCH, shuffle=True,
                         drop_last=True)
history, checkpoints = [], []
batches = iter(loader)
for step in range(STEPS):
    try:
        (real,) = next(batches)
    except StopIteration:
        batches = iter(loader)
        (real,) = next(batches)
    history.append(gan.train_step(G, D, opt_g, opt_d, real, loss, step))
    if (step + 1) % EVAL_EVERY == 0:
        with mg.no_grad():
            fake = G(eval_z).numpy()                     # (1000, 2)
        window = history[-EVAL_EVERY:]
        ck = {"step": step + 1, "fake": fake, **evaluate(fake),
              "loss_d": float(np.mean([r["loss_d"] for r in window])),
              "loss_g": float(np.mean([r["loss_g"] for r in window]))}
        checkpoints.append(ck)
        print(f"step {step + 1:5d}  loss_d {ck['loss_d']:.3f}  loss_g {ck['loss_g']:.3f}  "
              f"FD {ck['fd']:.3f}  IS {ck['is']:.2f}  modes {ck['modes']}/8  "
              f"high quality {ck['hq']:.2f}  {time.perf_counter() - start_time:.1f}s", flush=True)

# --- 3. the pair of checkpoints that shows it: similar D loss, very different FD ---
best = None
for i, a in enumerate(checkpoints):
    for b in checkpoints[i + 1:]:
        if abs(a["loss_d"] - b["loss_d"]) < 0.1:
            ratio = max(a["fd"], b["fd"]) / max(min(a["fd"], b["fd"]), 1e-12)
            if best is None or ratio > best[2]:
                best = (a, b, ratio)
a, b, fd_ratio = best if best is not None else (checkpoints[0], checkpoints[-1], 1.0)
print(f"checkpoints at steps {a['step']} and {b['step']}: loss_d {a['loss_d']:.3f} vs "
      f"{b['loss_d']:.3f}, FD {a['fd']:.3f} vs {b['fd']:.3f} (ratio {fd_ratio:.1f})")

# --- 4. figures: losses vs metrics, and the two checkpoints ---
steps = np.arange(1, STEPS + 1)
fig = Figure(figsize=(13, 4.2))
ax_loss, ax_fd = fig.subplots(1, 2)
for key, color in (("loss_d", "tab:blue"), ("loss_g", "tab:orange")):
    y = np.array([r[key] for r in history])
    ax_loss.plot(steps, y, color=color, alpha=0.2, linewidth=0.6)
    ax_loss.plot(steps, viz.ema(y, 0.98), color=color, label=f"{key} (EMA)")
for ck in (a, b):
    ax_loss.axvline(ck["step"], color="gray", linestyle=":")
ax_loss.set(title="GAN losses", xlabel="step", ylabel="loss")
ax_loss.legend()
ck_steps = [c["step"] for c in checkpoints]
ax_fd.plot(ck_steps, [c["fd"] for c in checkpoints], "o-", color="tab:red", label="FD (2-D)")
ax_fd.set_yscale("log")
ax_fd.set(title="Sample quality at checkpoints", xlabel="step", ylabel="Fréchet distance (log)")
ax_is = ax_fd.twinx()
ax_is.plot(ck_steps, [c["is"] for c in checkpoints], "s--", color="tab:green", label="IS (of 8)")
ax_is.plot(ck_steps, [c["modes"] for c in checkpoints], "^:", color="tab:purple",
           label="modes covered (of 8)")
ax_is.set_ylabel("IS / modes covered")
ax_is.set_ylim(0, 8.5)
lines = ax_fd.get_legend_handles_labels()
more = ax_is.get_legend_handles_labels()
ax_fd.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", fontsize="small")
fig.suptitle("The losses settle; the samples keep changing (ring of 8)")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "losses_vs_metrics.png"), dpi=90)
viz.plot_toy_2d_snapshots(
    [{"step": c["step"], "real": real_eval, "fake": c["fake"]} for c in (a, b)],
    os.path.join(args.out, "checkpoints.png"), bounds=(-3, 3, -3, 3), ncols=2)

# --- 5. memorisation: a "generator" that copies training digits ---
digits_train = data.mnist_5k("train").tensors[0].numpy()    # (4500, 1, 28, 28)
digits_test = data.mnist_5k("test").tensors[0].numpy()      # (500, 1, 28, 28), never trained on
rng = np.random.default_rng(args.seed)
copies = digits_train[rng.choice(len(digits_train), 500, replace=False)]
copies = np.clip(copies + 0.02 * rng.standard_normal(copies.shape), -1, 1).astype(np.float32)
memo_copy = metrics.memorisation_check(copies, digits_train, reference=digits_test)
memo_real = metrics.memorisation_check(digits_test[:250], digits_train,
                                       reference=digits_test[250:])
d_copy = metrics.nearest_neighbour_distances(copies, digits_train)
d_real = metrics.nearest_neighbour_distances(digits_test, digits_train)
print(f"memorisation: copying generator copy fraction {memo_copy['copy_fraction']:.2f}, "
      f"distance ratio {memo_copy['distance_ratio']:.2f}; held-out real digits copy fraction "
      f"{memo_real['copy_fraction']:.2f}, ratio {memo_real['distance_ratio']:.2f}")
fig = Figure(figsize=(7, 4))
ax = fig.subplots()
bins = np.linspace(0, max(d_real.max(), d_copy.max()), 50)
ax.hist(d_real, bins=bins, alpha=0.6, label="held-out real digits")
ax.hist(d_copy, bins=bins, alpha=0.6, label="copying 'generator'")
ax.axvline(memo_copy["copy_threshold"], color="black", linestyle=":", label="copy threshold")
ax.set(title="Distance to the nearest training digit", xlabel="L2 distance (pixels in [-1, 1])",
       ylabel="count")
ax.legend()
fig.tight_layout()
fig.savefig(os.path.join(args.out, "memorisation.png"), dpi=90)

# --- 6. (full run) digit metrics with the classifier: IS and FD are fooled by copies ---
if not args.quick:
    classifier = metrics.load_digit_classifier(verbose=True)
    blurred = (digits_test[:250] + digits_test[250:]) / 2      # two digits on top of each other
    noise = rng.uniform(-1, 1, size=(500, 1, 28, 28)).astype(np.float32)
    print("classifier metrics (IS up to 10, FD to the 500 held-out test digits):")
    for name, imgs in (("real train digits", digits_train[:500]), ("copying generator", copies),
                       ("two digits averaged", blurred), ("uniform noise", noise)):
        score = metrics.classifier_inception_score(imgs, classifier)
        fd = metrics.classifier_frechet_distance(imgs, digits_test, classifier)
        print(f"  {name:22s} IS {score:5.2f}  FD {fd:8.2f}")

# --- 7. check the claims ---
print(f"done in {time.perf_counter() - start_time:.1f}s; figures in {args.out}")
check = claims.ClaimCheck(args.baseline, "a G that never learns")
check.higher("FD ratio of two checkpoints whose D losses differ by < 0.1", fd_ratio, 1.0,
             times=3, fmt=".2f", against="a G that never learns: its FD never changes")
check.lower("FD of the last checkpoint", checkpoints[-1]["fd"], untrained["fd"], times=0.2,
            against="the untrained G")
check.fact("the memorisation check flags copies", memo_copy["copy_fraction"] > 0.9,
           f"copy fraction {memo_copy['copy_fraction']:.2f}")
check.fact("...and not new real digits", memo_real["copy_fraction"] < 0.05,
           f"copy fraction {memo_real['copy_fraction']:.2f}")
check.done("the losses do not track sample quality, the metrics do, and the memorisation "
           "check tells copies from new samples")

# --- Questions ---
# 1. Why do the losses settle within a band while the Fréchet distance keeps falling?
#    (Answer: the losses measure G against the CURRENT D, which improves with it; FD
#    measures G against the fixed data.)
# 2. A "generator" that replays training images scores a perfect IS and FD. Which check
#    catches it, and how? (Answer: the memorisation check: its samples sit much closer to
#    a training image than held-out real digits do.)
#
# --- Try this ---
# 1. Set NUM_EVAL = 100 (generated points per checkpoint).
#    Expect: FD gets noisy: a Gaussian fitted to 100 points is itself off, so the last
#    checkpoint scores 0.16 instead of 0.03 and the best pair's FD ratio drops from 198 to
#    67. Metrics need enough samples; the losses would not have told you either way.
# 2. python lessons/14_evaluating_gans.py --quick --baseline
#    Expect: G never learns: every checkpoint has the same FD (ratio 1.00), and the
#    check FAILS: "claim fails"; the memorisation checks still hold (they need no G).
