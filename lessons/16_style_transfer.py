"""Lesson 16: unpaired style transfer with a CycleGAN: plain digits <-> bold digits.

What you will learn
    * How to translate between two image domains when no image has a partner in the
      other: two generators (A->B, B->A), two discriminators, and the cycle-consistency
      loss that makes the round trip A -> B -> A come back to where it started.
    * Why the identity loss helps: an image already in B, given to G_AB, should stay put,
      so the generators change only what differs between the domains (stroke width).
    * How to judge a translation without pairs: does the digit's class survive (a digit
      classifier), and does the result land in the target domain (a domain classifier)?

What to look at
    domains.png        the two training domains: plain strokes (A), bold strokes (B),
                       drawn from disjoint halves of the training digits
    cyclegan.png       held-out digits in both directions, with their cycles
    history.png        adversarial, cycle and identity losses while training

How to run
    python lessons/16_style_transfer.py [--quick] [--out DIR] [--seed N]
    (--quick: a few dozen steps, the translation has barely started; the full run takes a
    few minutes)

It writes domains.png, cyclegan.png and history.png under --out (default
lessons/out/16_style_transfer/), and ends by asserting that the round trips come back
closer than they started and the class survives (full run: the translations also land in
the target domain far more often than untranslated digits).
"""
import argparse
import os
import time

# Small convolutions multiply small matrices: on a shared 2-core machine BLAS worker
# threads stall each other. One thread (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import gan, optim, viz  # noqa: E402
from minigan.apps import cyclegan  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/16_style_transfer/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

STEPS = 40 if args.quick else 800
BATCH = 4 if args.quick else 8
BASE = 8 if args.quick else 16
LR_G = 2e-3 if args.quick else 5e-4
CYCLE_WEIGHT, IDENTITY_WEIGHT = 5.0, 1.0      # lighter than the paper's 10, 5: see cyclegan.py
N_TEST = 100 if args.quick else 500
DOMAIN_STEPS = 60 if args.quick else 300
LOG_EVERY = max(STEPS // 5, 1)
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start = time.perf_counter()

# --- 1. two domains from disjoint halves: no digit is ever seen in both forms ---
A, _, B, _ = cyclegan.domains("train")            # (2250, 1, 28, 28) each
viz.save_image_grid(np.concatenate([A[:8], B[:8]]), os.path.join(args.out, "domains.png"),
                    nrow=8, scale=3)               # top row: A (plain), bottom: B (bold)

# --- 2. two generators, two discriminators ---
G_AB, G_BA, D_A, D_B = cyclegan.build(dict(base=BASE))
opt_g = optim.Adam(list(G_AB.parameters()) + list(G_BA.parameters()), lr=LR_G, betas=(0.5, 0.999))
opt_d = optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=5e-4, betas=(0.5, 0.999))
loss = gan.get_loss("lsgan")                       # CycleGAN's choice: least squares
monitor = gan.Monitor()
rng = np.random.default_rng(args.seed)

# --- 3. training: a and b drawn independently (unpaired) ---
for step in range(STEPS):
    a = mg.tensor(A[rng.integers(0, len(A), BATCH)])      # (B, 1, 28, 28)
    b = mg.tensor(B[rng.integers(0, len(B), BATCH)])
    row = cyclegan.cyclegan_step(G_AB, G_BA, D_A, D_B, opt_g, opt_d, a, b, loss,
                                 CYCLE_WEIGHT, IDENTITY_WEIGHT)
    monitor.record(dict(row, step=step))
    if (step + 1) % LOG_EVERY == 0:
        print(f"step {step + 1:5d}  loss_d {monitor.last('loss_d'):.3f}  loss_g {monitor.last('loss_g'):.3f}  "
              f"cycle {monitor.last('cycle', 20):.4f}  identity {monitor.last('identity', 20):.4f}  "
              f"{time.perf_counter() - start:.1f}s")
viz.plot_history(monitor.rows, os.path.join(args.out, "history.png"), title="CycleGAN")

# --- 4. measure on held-out digits: class kept? target domain reached? ---
result = cyclegan.evaluate(models=(G_AB, G_BA), n=N_TEST, domain_steps=DOMAIN_STEPS, seed=args.seed,
                           figure=os.path.join(args.out, "cyclegan.png"))
for direction in ("A->B (plain to bold)", "B->A (bold to plain)"):
    print(direction)
    for name, v in result[direction].items():
        print(f"  {name:24s} class kept {v['class_kept']:.3f}  in target domain {v['in_target_domain']:.3f}")
print(f"cycle L1 on held-out digits: {result['cycle L1']}")
print(f"done in {time.perf_counter() - start:.1f}s; figures in {args.out}")

# --- 5. the claim ---
first = np.mean([r["cycle"] for r in monitor.rows[:3]])
last = np.mean([r["cycle"] for r in monitor.rows[-3:]])
assert last < 0.7 * first, f"the cycle loss should fall: {first:.3f} -> {last:.3f}"
for direction in ("A->B (plain to bold)", "B->A (bold to plain)"):
    r = result[direction]
    assert r["CycleGAN"]["class_kept"] > 0.5, f"{direction}: the digit's class should survive: {r}"
    if not args.quick:
        gain = r["CycleGAN"]["in_target_domain"] - r["no translation"]["in_target_domain"]
        assert gain > 0.3, f"{direction}: translations should reach the target domain: {r}"
