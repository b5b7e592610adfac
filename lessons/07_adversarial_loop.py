"""Lesson 7: the adversarial training loop, the article's 8 steps, on the ring of 8 Gaussians.

What you will learn
    * The GAN training loop as the article writes it (section 2.2), one numbered block per
      step: 1 initialise G and D; 2 sample a real batch; 3 sample noise z and let G make a
      fake batch; 4 feed real and fake to D and compute D's loss; 5 update D by gradient
      descent (G fixed); 6 sample NEW noise, make new fakes, compute G's loss through D
      (D fixed); 7 update G by gradient descent; 8 repeat 2-7 until convergence (or a
      budget). Every line says why it is there (`detach`, a frozen D, zero_grad).
    * Step 6, two ways: the article draws new fakes for G's update; most code (minigan's
      `gan.train_step`, PyTorch's DCGAN example) reuses the fakes of step 3, which saves a
      forward pass of G. You measure both: time per step and what they learn.
    * What "convergence" means for a GAN: the equilibrium is q = p, where D(x) = 1/2
      everywhere and neither player can gain alone. Gradient steps circle it rather than
      settle on it (lesson 09), so real loops stop on a budget and are judged by a metric.
    * What D's decision surface looks like while G learns: D(x) is high ("real") near the
      modes G has not reached yet, and G's points slide up that slope.
    * That `minigan.gan.train_step` is this loop (with reused fakes): from the same seed and
      weights, both give the same parameters.
    * The classic GAN bug (section 5): G's loss built before D's optimiser step and
      backpropagated after it. minigan refuses that backward, as PyTorch does, because the
      optimiser step changed D's weights in place after forward saved them.

What to look at
    snapshots.png        G's points and the real ring over D's surface (grey: D(x), colour
                         bar on the right; dashed: D = 0.5), a panel per snapshot
    training.gif         the same snapshots as an animation
    history.png          the two losses and D's mean output on real and fake batches
    fresh_vs_reused.png  the final samples of the two versions of step 6, side by side

How to run
    python lessons/07_adversarial_loop.py [--quick] [--out DIR] [--seed N] [--loss minimax]
    (--quick: 600 steps per version of step 6. The quick claim is the smaller one that a
    short run makes true: G reaches at least 6 of the 8 modes, a mode counting when 25 of
    1,000 samples land within 6 std (0.3) of its centre. The full run, 4,000 steps, asks
    for the strict 3-std coverage of lesson 14.)
    --baseline runs the do-nothing variant, an untrained G (0 steps): the closing check
    then fails, as it must.

It writes snapshots.png, training.gif, history.png and fresh_vs_reused.png under --out
(default lessons/out/07_adversarial_loop/), and ends by checking the claim against an
untrained G, and that the explicit loop with reused fakes equals gan.train_step.
"""
import argparse
import copy
import os
import time

# Toy MLPs multiply small matrices: BLAS worker threads cost more than they save, and on a
# shared 2-core machine they stall each other. One thread each (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, metrics, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/07_adversarial_loop/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--loss", choices=["nonsaturating", "minimax"], default="nonsaturating",
                    help="G's loss in step 6 (lesson 08 explains the difference)")
claims.add_baseline_flag(parser, "an untrained G, 0 steps")
args = parser.parse_args()
claims.announce(args.baseline, "G and D get 0 training steps")

STEPS = 600 if args.quick else 4000
if args.baseline:
    STEPS = 0                          # the do-nothing variant: G as initialised
BATCH = 64
LATENT = 2
HIDDEN, LAYERS = 128, 2                # two wide hidden layers learn the ring quickly
LR = 2e-3
RING_STD = 0.05                        # each mode: a Gaussian of std 0.05 on a circle of radius 2
NEAR = 6.0                             # quick claim: "near a mode" = within 6 std (0.3)
SNAPSHOTS = 8                          # panels in the figure (and frames in the GIF)
LOG_EVERY = max(1, STEPS // 6)
EVAL_SAMPLES = 1000
COLOURS = {"fresh": "tab:orange", "reused": "tab:purple"}   # one colour per run, every figure
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)

# --- the data and the yardsticks ---
ring = data.ring_of_gaussians(10_000, std=RING_STD)     # 8 modes on a circle of radius 2
points = ring.tensors[0]                               # (10000, 2)
BOUNDS = (-3, 3, -3, 3)


def distance_to_ring(samples):
    """Mean distance from each sample to its nearest mode centre."""
    d = np.linalg.norm(samples[:, None, :] - ring.centers[None, :, :], axis=2)   # (n, 8)
    return float(d.min(axis=1).mean())


def evaluate(G):
    """Modes reached within NEAR std, the fraction of samples there, the strict 3-std
    coverage (lesson 14), and the mean distance to the nearest mode, on fresh samples."""
    with mg.no_grad():
        fake = G(mg.randn(EVAL_SAMPLES, LATENT)).numpy()                       # (1000, 2)
    near = metrics.mode_coverage(fake, ring.centers, ring.std, threshold=NEAR)
    strict = metrics.mode_coverage(fake, ring.centers, ring.std)
    return {"fake": fake, "reached": near["modes_covered"],
            "near_fraction": near["high_quality_fraction"],
            "covered": strict["modes_covered"], "hq": strict["high_quality_fraction"],
            "distance": distance_to_ring(fake)}


def surface_of(D):
    """D as a NumPy function (M, 2) -> (M,) probabilities, for the surface plots."""
    def probability(p):
        with mg.no_grad():
            return mg.sigmoid(D(mg.tensor(p, dtype=mg.float32))).numpy().ravel()
    return probability


def d_loss_from_logits(real_logit, fake_logit):
    #   -E log D(x) - E log(1 - D(G(z)))   with D = sigmoid(logit), written stably:
    #   -log sigmoid(r) = softplus(-r),  -log(1 - sigmoid(f)) = softplus(f)
    return mg.softplus(-real_logit).mean() + mg.softplus(fake_logit).mean()


def g_loss_from_logits(fake_logit):
    if args.loss == "minimax":         # the article's objective: minimise E log(1 - D(G(z)))
        return -mg.softplus(fake_logit).mean()
    return mg.softplus(-fake_logit).mean()   # non-saturating: minimise -E log D(G(z))


# --- 1. the loop: the article's 8 steps, one block each ---
def adversarial_training(steps, fresh_fakes, start=None, batches=None, snapshot_steps=()):
    """Train G and D with the 8 steps; returns (G, D, history, snapshots, step times).

    fresh_fakes: step 6 as the article writes it (True) or reusing step 3's fakes (False).
    start: (G, D) to copy instead of initialising; batches: fixed real batches for step 2
    (both used by section 4's comparison with gan.train_step)."""
    # --- step 1: initialise G and D ---
    mg.manual_seed(args.seed)
    if start is None:
        G = gan.MLPGenerator(latent_dim=LATENT, out_dim=2, hidden=HIDDEN, layers=LAYERS)  # (N, 2) -> (N, 2)
        D = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, layers=LAYERS)                  # (N, 2) -> (N, 1)
    else:
        G, D = copy.deepcopy(start[0]), copy.deepcopy(start[1])
    # Adam with beta1 = 0.5 (DCGAN's choice): less momentum, because the target keeps moving.
    opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    mg.manual_seed(args.seed + 1)      # both versions of step 6 see the same first batches
    history, snapshots, step_times = [], [], []

    # --- step 8: repeat steps 2-7 until convergence; in practice, for a budget of steps ---
    for step in range(steps + 1):
        if step in snapshot_steps:     # look before this step's update (outside the timing)
            snapshots.append({"step": step, "real": points[:500].numpy(),
                              "fake": G(mg.randn(500, LATENT)).detach().numpy(),
                              "surface": viz.toy_2d_surface(surface_of(D), BOUNDS, resolution=60)})
        if step == steps:
            break
        tick = time.perf_counter()

        # --- step 2: sample a real batch from the data ---
        real = batches[step] if batches is not None else \
            points[mg.randint(0, len(points), (BATCH,))]            # (64, 2)

        # --- step 3: sample noise z and let G make a fake batch ---
        z = mg.randn(BATCH, LATENT)                                   # (64, 2)
        fake = G(z)                                                   # (64, 2), graph back to G kept
        # NOTE: with new fakes in step 6 this graph is never used (step 4 detaches); it is
        # kept because the reuse needs it. Under mg.no_grad() it would cost a little less.

        # --- step 4: feed real and fake to D and compute D's loss ---
        # fake.detach() cuts the graph: D's loss must not send gradients into G.
        real_logit, fake_logit = D(real), D(fake.detach())            # (64, 1) each
        loss_d = d_loss_from_logits(real_logit, fake_logit)

        # --- step 5: update D by gradient descent (G fixed) ---
        opt_d.zero_grad()              # gradients accumulate: clear last step's first
        loss_d.backward()              # reaches D's weights only (the fakes were detached)
        opt_d.step()

        # --- step 6: sample new noise, make new fakes, compute G's loss through D (D fixed) ---
        # The article draws new fakes. Reusing step 3's (fresh_fakes=False) saves a forward
        # pass of G; D moved one small step since, so they are still a fair sample.
        if fresh_fakes:
            fake = G(mg.randn(BATCH, LATENT))                         # (64, 2), new z
        # D is frozen so that this backward does not fill D's .grad (it is not D's move).
        D.requires_grad_(False)
        loss_g = g_loss_from_logits(D(fake))                          # D's NEW weights judge

        # --- step 7: update G by gradient descent ---
        opt_g.zero_grad()
        loss_g.backward()              # through the frozen D, into G's weights
        D.requires_grad_(True)
        opt_g.step()

        step_times.append(time.perf_counter() - tick)
        with mg.no_grad():
            history.append({"step": step, "loss_d": loss_d.item(), "loss_g": loss_g.item(),
                            "d_real": mg.sigmoid(real_logit).mean().item(),
                            "d_fake": mg.sigmoid(fake_logit).mean().item()})
        if (step + 1) % LOG_EVERY == 0:
            h = history[-1]
            print(f"  step {step + 1:5d}  loss_d {h['loss_d']:.3f}  loss_g {h['loss_g']:.3f}  "
                  f"D(real) {h['d_real']:.2f}  D(fake) {h['d_fake']:.2f}  "
                  f"{sum(step_times):.1f}s",
                  flush=True)
    return G, D, history, snapshots, step_times


# --- 2. train: the article's version of step 6, then the common saving ---
mg.manual_seed(args.seed)
G_untrained = gan.MLPGenerator(latent_dim=LATENT, out_dim=2, hidden=HIDDEN, layers=LAYERS)
untrained = evaluate(G_untrained)          # the same initial weights as step 1 draws
print(f"untrained G: {untrained['reached']}/8 modes within {NEAR:g} std, "
      f"{untrained['near_fraction']:.0%} of samples there, mean distance to the nearest mode "
      f"{untrained['distance']:.3f}")
snapshot_steps = set(np.linspace(0, STEPS, SNAPSHOTS).astype(int).tolist())
runs = {}
for name, fresh in (("fresh", True), ("reused", False)):
    print(f"step 6 with {name} fakes ({args.loss} G loss), {STEPS} steps:")
    G, D, history, snapshots, step_times = adversarial_training(
        STEPS, fresh, snapshot_steps=snapshot_steps if fresh else ())
    # A step's time: the 10th percentile of all steps, the ones no other process slowed.
    ms = 1e3 * float(np.percentile(step_times, 10)) if step_times else float("nan")
    runs[name] = dict(evaluate(G), G=G, D=D, history=history, snapshots=snapshots, ms=ms)

# What the reuse saves: one forward pass of G (a batch of noise through G, with its graph).
g_forward = []
for _ in range(50):
    tick = time.perf_counter()
    runs["fresh"]["G"](mg.randn(BATCH, LATENT))
    g_forward.append(time.perf_counter() - tick)
g_forward_ms = 1e3 * min(g_forward)                   # best of 50: the least disturbed
print()
print("| step 6 fakes | G forwards / step | ms / step | modes within 6 std | samples there | modes (3 std) | mean distance |")
print("|--------------|-------------------|-----------|--------------------|---------------|---------------|---------------|")
for name, r in runs.items():
    print(f"| {name:12s} | {2 if name == 'fresh' else 1:17d} | {r['ms']:9.2f} | {r['reached']:16d}/8 "
          f"| {r['near_fraction']:13.2f} | {r['covered']:11d}/8 | {r['distance']:13.3f} |")
print(f"one forward pass of G on a batch of {BATCH}: {g_forward_ms:.2f} ms (best of 50): the "
      f"saving per step (ms per step: the 10th percentile of each run's steps)")
# Reusing the fakes skips one forward pass of G and keeps one graph instead of two: that is
# the saving, a small share of a step here (D runs three times a step, G's backward once),
# a larger one when G is big (lesson 10). The price: G's update sees the very z that D was
# just trained against. On this toy both versions learn the ring; the difference in what
# they reach is within the run-to-run noise (try a few --seed values).

# --- 3. convergence ---
# The game's equilibrium: q = p, and then the best D is p / (p + q) = 1/2 everywhere
# (lesson 06): D cannot tell, and neither player gains by moving alone. So "converged"
# would read D(real) = D(fake) = 1/2 and loss_d = log 4 = 1.386. Two reasons why a loop
# does not test for it: alternating gradient steps circle the equilibrium instead of
# settling on it (lesson 09), and a D that learned nothing also says 1/2 (lesson 06). So
# the loop stops on a budget of steps or time, and a metric (lesson 14) judges the result.
main = runs["fresh"]
if main["history"]:
    tail = main["history"][-max(1, STEPS // 10):]
    d_real = np.mean([h["d_real"] for h in tail])
    d_fake = np.mean([h["d_fake"] for h in tail])
    loss_tail = np.mean([h["loss_d"] for h in tail])
    print(f"last {len(tail)} steps: mean D(real) {d_real:.2f}, mean D(fake) {d_fake:.2f}, "
          f"loss_d {loss_tail:.3f} (equilibrium: 0.50, 0.50, log 4 = 1.386)")

# --- 4. the same loop, from the library ---
# gan.train_step does steps 2-7 with a loss object (and extras: penalties, n_critic, EMA),
# reusing step 3's fakes. Same seed, same starting weights, same batches: same parameters.
mg.manual_seed(args.seed + 2)
G0 = gan.MLPGenerator(latent_dim=LATENT, out_dim=2, hidden=HIDDEN, layers=LAYERS)
D0 = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, layers=LAYERS)
batches = [points[mg.randint(0, len(points), (BATCH,))] for _ in range(20)]   # 20 x (64, 2)
Ga, Da, *_ = adversarial_training(len(batches), fresh_fakes=False, start=(G0, D0), batches=batches)
Gb, Db = copy.deepcopy(G0), copy.deepcopy(D0)
opt_g = optim.Adam(Gb.parameters(), lr=LR, betas=(0.5, 0.999))
opt_d = optim.Adam(Db.parameters(), lr=LR, betas=(0.5, 0.999))
mg.manual_seed(args.seed + 1)                  # train_step draws z with the same randn
for step, real in enumerate(batches):
    gan.train_step(Gb, Db, opt_g, opt_d, real, gan.get_loss(args.loss), step)
mismatch = max(float(np.abs(pa.detach().numpy() - pb.detach().numpy()).max())
               for pa, pb in zip(list(Ga.parameters()) + list(Da.parameters()),
                                 list(Gb.parameters()) + list(Db.parameters())))
print(f"explicit loop (reused fakes) vs gan.train_step after {len(batches)} steps: "
      f"max |parameter difference| {mismatch:.2e}")

# --- 5. the classic GAN bug, caught ---
# Swap the order of steps 5 and 6 by mistake: build G's loss through D first, run D's
# optimiser step, and only then call backward on G's loss. The backward would combine D's
# NEW weights with activations computed from its OLD ones: the gradient of no function at
# all, and nothing looks wrong, training just goes worse. minigan, like PyTorch, keeps a
# version counter on every tensor's memory; an optimiser step bumps it, and backward
# checks that what it reads is still the version forward saw.
mg.manual_seed(args.seed + 3)
G_bug = gan.MLPGenerator(latent_dim=LATENT, out_dim=2, hidden=HIDDEN, layers=LAYERS)
D_bug = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, layers=LAYERS)
opt_d_bug = optim.Adam(D_bug.parameters(), lr=LR, betas=(0.5, 0.999))
z = mg.randn(BATCH, LATENT)
loss_g_early = g_loss_from_logits(D_bug(G_bug(z)))      # G's loss through today's D
fake = G_bug(z).detach()
loss_d = gan.get_loss("nonsaturating").d_loss(D_bug(points[:BATCH]), D_bug(fake))
opt_d_bug.zero_grad()
loss_d.backward()
opt_d_bug.step()                                        # D's weights change in place ...
try:
    loss_g_early.backward()                             # ... so this backward is refused
    bug_caught = False
except RuntimeError as error:
    bug_caught = "modified by an in-place operation" in str(error)
    print("the classic GAN bug, caught:\n  " + str(error).split("Hint:")[0].strip())
print("(the fix: compute G's loss after D's step, as steps 5 then 6 do above)")

# --- 6. figures ---
if main["snapshots"]:
    viz.plot_toy_2d_snapshots(main["snapshots"], os.path.join(args.out, "snapshots.png"),
                              bounds=BOUNDS)
    viz.save_toy_2d_animation(main["snapshots"], os.path.join(args.out, "training.gif"),
                              fps=2, bounds=BOUNDS)
if main["history"]:
    viz.plot_history(main["history"], os.path.join(args.out, "history.png"),
                     title=f"Ring of 8, step 6 with fresh fakes ({args.loss} G loss)")
fig = Figure(figsize=(10, 4.8))
axes = fig.subplots(1, 2)
real_np = points[:1000].numpy()
for ax, (name, r) in zip(axes, runs.items()):
    ax.scatter(real_np[:, 0], real_np[:, 1], s=6, c="tab:blue", alpha=0.5, label="real data")
    ax.scatter(r["fake"][:, 0], r["fake"][:, 1], s=6, c=COLOURS[name], alpha=0.7, marker="^",
               label=f"G's samples ({name} fakes)")
    for centre in ring.centers:        # the "near a mode" discs of the quick claim
        ax.add_patch(Circle(centre, NEAR * ring.std, fill=False, color="grey", linestyle=":",
                            linewidth=0.8))
    ax.set(xlim=BOUNDS[:2], ylim=BOUNDS[2:], aspect="equal", xlabel="x₁", ylabel="x₂",
           title=f"step 6 with {name} fakes: {r['reached']}/8 modes within {NEAR:g} std\n"
                 f"{r['ms']:.2f} ms per step")
    ax.legend(loc="upper right", fontsize="x-small", markerscale=2)
fig.suptitle(f"The article's step 6 (new fakes) vs the common saving (reuse), {STEPS} steps each;"
             f" dotted: {NEAR:g} std around each mode", fontsize=10)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "fresh_vs_reused.png"), dpi=90)
print(f"wrote the figures to {args.out}")

# --- 7. the claim ---
check = claims.ClaimCheck(args.baseline, "an untrained G")
check.fact("the explicit loop (reused fakes) is gan.train_step", mismatch < 1e-5,
           f"max |parameter difference| {mismatch:.2e}")
check.fact("G's loss built before D's step cannot be backpropagated after it", bug_caught,
           "the backward raised the in-place error" if bug_caught else "no error was raised")
check.lower("mean distance to the nearest mode", main["distance"], untrained["distance"],
            times=0.5)
if args.quick or args.baseline:
    # The smaller claim a short run makes true: G spreads over the ring and reaches most
    # modes (within 6 std), even if it cannot yet place points within 3 std of a centre.
    check.higher(f"modes reached within {NEAR:g} std (of 8)", main["reached"],
                 untrained["reached"], by=4, at_least=6, fmt="d")
    check.higher(f"fraction of samples within {NEAR:g} std of a mode", main["near_fraction"],
                 untrained["near_fraction"], by=0.3, at_least=0.4, fmt=".2f")
else:
    check.higher("modes covered within 3 std (of 8)", main["covered"], untrained["covered"],
                 by=4, at_least=6, fmt="d")
    check.higher("fraction of samples within 3 std of a mode", main["hq"], untrained["hq"],
                 by=0.4, at_least=0.5, fmt=".2f")
check.done("the 8-step loop moved G onto the ring and over most of its modes, and it is "
           "gan.train_step")

# --- Questions ---
# 1. Step 4 feeds D fake.detach(), step 6 feeds D the fakes without detach. Why the
#    difference? (Answer: in step 4 D's loss must not send gradients into G; in step 6
#    G's loss MUST reach G, through D, whose weights are frozen instead.)
# 2. Section 5 describes the classic GAN bug: loss_g built before D's update, backward
#    after it. Which weights would G's gradient then use, and why is that wrong?
#    (Answer: the backward uses D's new weights against activations saved with the old
#    ones: a gradient of no function at all. Steps 4-7 run in the safe order.)
# 3. Why does the loop not stop when D(real) = D(fake) = 1/2?
#    (Answer: alternating gradient steps circle the equilibrium instead of settling on it
#    (lesson 09), and a D that learned nothing also says 1/2; the loop stops on a budget.)
#
# --- Try this ---
# 1. python lessons/07_adversarial_loop.py --quick --loss minimax
#    Expect: the article's own G loss, log(1 - D(G(z))), learns the ring too but starts
#    slower (its gradient is small while D rejects the fakes, lesson 08): in 600 steps the
#    fresh-fakes run reaches 6 of 8 modes (8 with the non-saturating loss); the check holds.
# 2. python lessons/07_adversarial_loop.py --quick --seed 1   (then --seed 2)
#    Expect: both versions of step 6 reach 8 of 8 modes within 6 std, and 4 or 5 within
#    3 std, neither consistently ahead: the reuse is a saving, not a change in what is
#    learned. The fresh fakes cost about one forward pass of G more per step (0.1-0.3 ms of
#    about 3 ms here), the saving the reuse buys.
# 3. python lessons/07_adversarial_loop.py --quick --baseline
#    Expect: an untrained G: 0 of 8 modes, mean distance 1.81 to the nearest mode, and
#    "claim fails" with both numbers on each line.
