"""Lesson 7: the adversarial training loop, step by step, on the ring of 8 Gaussians.

What you will learn
    * The GAN training loop written out line by line: sample a real batch and noise, make
      fakes, one discriminator step on fake.detach(), one generator step through a frozen
      D. Every line says why it is there.
    * What the discriminator's decision surface looks like while G learns: D(x) is high
      ("real") near the modes G has not reached yet, and G's points slide up that slope.
    * That `minigan.gan.train_step` is exactly this loop: from the same seed and weights,
      both give the same parameters.

What to look at
    snapshots.png   G's points (orange) and the real ring (blue) over D's surface (grey:
                    darker = "more real"; dashed: D = 0.5), a panel per snapshot
    training.gif    the same snapshots as an animation
    history.png     the two losses and D's mean output on real and fake batches

How to run
    python lessons/07_adversarial_loop.py [--quick] [--out DIR] [--seed N]
    (--quick trains a few hundred steps: G reaches the ring, but not every mode yet)

It writes snapshots.png, training.gif and history.png under --out (default
lessons/out/07_adversarial_loop/), and ends by asserting that training moved G onto the
ring (quick) / covers at least 3 of the 8 modes (full run), and that the explicit loop and
gan.train_step agree.
"""
import argparse
import copy
import os
import time

# Toy MLPs multiply small matrices: BLAS worker threads cost more than they save, and on a
# shared 2-core machine they stall each other. One thread each (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, metrics, optim, viz  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/07_adversarial_loop/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

STEPS = 400 if args.quick else 8000
BATCH = 256
LATENT = 2
HIDDEN = 64
LR = 1e-3
SNAPSHOTS = 8                      # panels in the figure (and frames in the GIF)
LOG_EVERY = STEPS // 10
EVAL_SAMPLES = 1000
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)

# --- 1. data and the two players ---
ring = data.ring_of_gaussians(10_000)                # 8 modes on a circle of radius 2
points = ring.tensors[0]                             # (10000, 2)
G = gan.MLPGenerator(latent_dim=LATENT, out_dim=2, hidden=HIDDEN, layers=3)  # (N, 2) -> (N, 2)
D = gan.MLPDiscriminator(in_dim=2, hidden=HIDDEN, layers=3)                  # (N, 2) -> (N, 1)
G0, D0 = copy.deepcopy(G), copy.deepcopy(D)          # kept for the comparison in section 4
# Adam with beta1 = 0.5 (DCGAN's choice): less momentum, because the target keeps moving.
opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))


def D_probability(p):
    """D as a NumPy function (M, 2) -> (M,) probabilities, for the surface plots."""
    with mg.no_grad():
        return mg.sigmoid(D(mg.tensor(p, dtype=mg.float32))).numpy().ravel()


def G_samples(n):
    with mg.no_grad():
        return G(mg.randn(n, LATENT)).numpy()        # (n, 2)


def distance_to_ring(samples):
    """Mean distance from each sample to its nearest mode centre."""
    d = np.linalg.norm(samples[:, None, :] - ring.centers[None, :, :], axis=2)   # (n, 8)
    return float(d.min(axis=1).mean())


BOUNDS = (-3, 3, -3, 3)
initial = G_samples(EVAL_SAMPLES)
coverage_start = metrics.mode_coverage(initial, ring.centers, ring.std)
distance_start = distance_to_ring(initial)
print(f"before training: {coverage_start['modes_covered']}/8 modes, "
      f"mean distance to the nearest mode {distance_start:.3f}")

# --- 2. the loop, written out ---
snapshot_steps = set(np.linspace(0, STEPS, SNAPSHOTS).astype(int).tolist())
snapshots, history = [], []
t0 = time.perf_counter()
for step in range(STEPS + 1):
    if step in snapshot_steps:                       # look before this step's update
        snapshots.append({"step": step, "real": points[:500].numpy(), "fake": G_samples(500),
                          "surface": viz.toy_2d_surface(D_probability, BOUNDS, resolution=60)})
    if step == STEPS:
        break

    # (a) a real batch, and fresh noise for the generator
    real = points[mg.randint(0, len(points), (BATCH,))]   # (256, 2)
    z = mg.randn(BATCH, LATENT)                           # (256, 2)
    fake = G(z)                                           # (256, 2); the graph back to G is kept

    # (b) discriminator step: push D(real) up and D(fake) down.
    # fake.detach() cuts the graph: D's loss must not send gradients into G.
    real_logit, fake_logit = D(real), D(fake.detach())    # (256, 1) each
    loss_d = mg.softplus(-real_logit).mean() + mg.softplus(fake_logit).mean()
    #        = -E log D(x)                   - E log(1 - D(G(z)))   with D = sigmoid(logit)
    opt_d.zero_grad()                                     # gradients accumulate: clear first
    loss_d.backward()
    opt_d.step()

    # (c) generator step: move the fakes to where the (just updated) D says "real".
    # D is frozen so that this backward does not fill D's .grad (it is not D's move).
    D.requires_grad_(False)
    loss_g = mg.softplus(-D(fake)).mean()                 # non-saturating: -E log D(G(z))
    opt_g.zero_grad()
    loss_g.backward()                                     # through D, into G's weights
    D.requires_grad_(True)
    opt_g.step()

    with mg.no_grad():
        history.append({"step": step, "loss_d": loss_d.item(), "loss_g": loss_g.item(),
                        "d_real": mg.sigmoid(real_logit).mean().item(),
                        "d_fake": mg.sigmoid(fake_logit).mean().item()})
    if (step + 1) % LOG_EVERY == 0:
        h = history[-1]
        print(f"step {step + 1:5d}  loss_d {h['loss_d']:.3f}  loss_g {h['loss_g']:.3f}  "
              f"D(real) {h['d_real']:.2f}  D(fake) {h['d_fake']:.2f}  "
              f"{time.perf_counter() - t0:.1f}s")

final = G_samples(EVAL_SAMPLES)
coverage_end = metrics.mode_coverage(final, ring.centers, ring.std)
distance_end = distance_to_ring(final)
print(f"after {STEPS} steps: {coverage_end['modes_covered']}/8 modes, "
      f"{coverage_end['high_quality_fraction']:.0%} of samples on a mode "
      f"(high-quality samples per mode {coverage_end['counts'].tolist()}), "
      f"mean distance to the nearest mode {distance_end:.3f}")

# --- 3. figures ---
viz.plot_toy_2d_snapshots(snapshots, os.path.join(args.out, "snapshots.png"), bounds=BOUNDS)
viz.save_toy_2d_animation(snapshots, os.path.join(args.out, "training.gif"), fps=2,
                          bounds=BOUNDS)
viz.plot_history(history, os.path.join(args.out, "history.png"),
                 title="Ring of 8: losses and D's outputs")

# --- 4. the same loop, from the library ---
# gan.train_step does (a)-(c) with a loss object (and extras: penalties, n_critic, EMA).
# Same seed, same starting weights, same batches: the parameters must come out the same.
def run_explicit(G, D, batches, seed):
    opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    mg.manual_seed(seed)
    for real in batches:
        fake = G(mg.randn(BATCH, LATENT))
        loss_d = mg.softplus(-D(real)).mean() + mg.softplus(D(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        loss_g = mg.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        D.requires_grad_(True)
        opt_g.step()
    return G, D


def run_library(G, D, batches, seed):
    opt_g = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    mg.manual_seed(seed)                             # train_step draws z with the same randn
    for step, real in enumerate(batches):
        gan.train_step(G, D, opt_g, opt_d, real, gan.get_loss("nonsaturating"), step)
    return G, D


batches = [points[mg.randint(0, len(points), (BATCH,))] for _ in range(20)]   # 20 x (256, 2)
Ga, Da = run_explicit(copy.deepcopy(G0), copy.deepcopy(D0), batches, args.seed + 1)
Gb, Db = run_library(copy.deepcopy(G0), copy.deepcopy(D0), batches, args.seed + 1)
mismatch = max(float(np.abs(pa.detach().numpy() - pb.detach().numpy()).max())
               for pa, pb in zip(list(Ga.parameters()) + list(Da.parameters()),
                                 list(Gb.parameters()) + list(Db.parameters())))
print(f"explicit loop vs gan.train_step after {len(batches)} steps: "
      f"max |parameter difference| {mismatch:.2e}")
print(f"wrote the figures to {args.out}")

# --- 5. the claim ---
assert mismatch < 1e-5, f"the explicit loop and gan.train_step disagree by {mismatch:.2e}"
assert distance_end < 0.7 * distance_start, (
    f"G's samples should have moved onto the ring: mean distance to the nearest mode "
    f"{distance_start:.3f} -> {distance_end:.3f}")
if not args.quick:
    # Mode coverage is strict here (within 3 std = 0.06 of a centre, >= 25 of 1000 samples):
    # a full run lands most samples on modes and covers several, rarely all 8.
    assert coverage_end["high_quality_fraction"] > 0.5, (
        f"expected most samples within 3 std of a mode, got "
        f"{coverage_end['high_quality_fraction']:.2f}")
    assert coverage_end["modes_covered"] >= 3 > coverage_start["modes_covered"], (
        f"expected the trained G to cover >= 3 of 8 modes (from "
        f"{coverage_start['modes_covered']}), got {coverage_end['modes_covered']}")
print("claim holds: the loop moved G onto the ring, and it is gan.train_step")
