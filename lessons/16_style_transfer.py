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
    domains.png        the two training domains, one labelled row each: plain strokes (A)
                       and bold strokes (B), drawn from disjoint halves of the training digits
    cyclegan.png       held-out digits in both directions, with their cycles
    history.png        the adversarial losses, the cycle and identity losses, and G's
                       gradient norm while training

How to run
    python lessons/16_style_transfer.py [--quick] [--out DIR] [--seed N] [--baseline]
    (--quick: a few dozen steps, the translation has barely started; the full run takes a
    few minutes)
    --baseline evaluates "no translation" (both generators are the identity) in place of
    the CycleGAN: the closing check then fails, as it must.

It writes domains.png, cyclegan.png and history.png under --out (default
lessons/out/16_style_transfer/), and ends by checking against "no translation" that the
plain-to-bold translations land in the target domain more often (quick: by 0.05, a
provisional threshold until issue 15's typeset domains land; full run: by 0.3, both
directions), that the class survives, and that the cycle loss falls while training.
"""
import argparse
import os
import time

# Small convolutions multiply small matrices: on a shared 2-core machine BLAS worker
# threads stall each other. One thread (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import gan, nn, optim, viz  # noqa: E402
from minigan.apps import cyclegan  # noqa: E402

import claims  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/16_style_transfer/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "no translation: identity generators")
args = parser.parse_args()
claims.announce(args.baseline, "both generators are the identity and nothing trains")

STEPS = 40 if args.quick else 800
if args.baseline:
    STEPS = 0                                  # nothing trains: "no translation" is evaluated
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
cyclegan.plot_rows([("A: plain strokes", A[:8]), ("B: bold strokes", B[:8])],
                   "The two domains (disjoint halves of the training digits: no pairs)",
                   os.path.join(args.out, "domains.png"))

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
if monitor.rows:                                  # none under --baseline
    viz.plot_history(monitor.rows, os.path.join(args.out, "history.png"), title="CycleGAN")

# --- 4. measure on held-out digits: class kept? target domain reached? ---
models = (nn.Identity(), nn.Identity()) if args.baseline else (G_AB, G_BA)
result = cyclegan.evaluate(models=models, n=N_TEST, domain_steps=DOMAIN_STEPS, seed=args.seed,
                           figure=os.path.join(args.out, "cyclegan.png"))
for direction in ("A->B (plain to bold)", "B->A (bold to plain)"):
    print(direction)
    for name, v in result[direction].items():
        print(f"  {name:24s} class kept {v['class_kept']:.3f}  in target domain {v['in_target_domain']:.3f}")
print(f"cycle L1 on held-out digits: {result['cycle L1']}")
print(f"done in {time.perf_counter() - start:.1f}s; figures in {args.out}")

# --- 5. the claim ---
# Against "no translation": the digits as they came. It keeps the class perfectly and never
# changes the style, so "class kept" alone would pass for it; the translation must ALSO
# land in the target domain more often.
check = claims.ClaimCheck(args.baseline, "no translation")
GAIN = 0.05 if args.quick else 0.3            # PROVISIONAL quick threshold: the lead sets it
for direction in ("A->B (plain to bold)", "B->A (bold to plain)"):
    r = result[direction]
    check.higher(f"{direction}: class kept", r["CycleGAN"]["class_kept"], 0.5, fmt=".2f",
                 against="a floor of 0.5")
    if args.quick and direction.startswith("B->A"):
        # bold to plain barely changes the picture in a short run (issue 15 replaces the pair)
        check.pending(f"{direction}: in the target domain", r["CycleGAN"]["in_target_domain"],
                      r["no translation"]["in_target_domain"], fmt=".2f")
    else:
        check.higher(f"{direction}: in the target domain", r["CycleGAN"]["in_target_domain"],
                     r["no translation"]["in_target_domain"], by=GAIN, fmt=".2f")
if monitor.rows:
    first = np.mean([r["cycle"] for r in monitor.rows[:3]])
    last = np.mean([r["cycle"] for r in monitor.rows[-3:]])
    check.lower("cycle loss, last 3 steps", last, first, times=0.7, against="its first 3 steps")
check.done("the CycleGAN moves digits towards the other domain and keeps their class")

# --- Questions ---
# 1. "No translation" keeps the class 95% of the time. Why is "class kept" alone no
#    claim? (Answer: doing nothing keeps the class perfectly; a translation must ALSO land
#    in the other domain.)
# 2. What does the identity loss G_AB(b) = b ask for, and what would go wrong without it?
#    (Answer: leave an image that is already in the target domain alone, so G changes
#    only the style; without it G is free to change more, tone or thickness included.)
#
# --- Try this ---
# 1. Set IDENTITY_WEIGHT = 0.
#    Expect: the generators change more: 38% of plain digits land in "bold" (28% with the
#    identity loss) and 19% of bold ones in "plain" (12%); the class still survives (0.94)
#    in this short run.
# 2. Set CYCLE_WEIGHT = 0.
#    Expect: nothing ties a translation to its input: round trips come back twice as far
#    (cycle L1 0.17 and 0.26 against 0.09 and 0.07), fewer digits keep their class (0.85
#    plain to bold), bold to plain lands in "plain" 99% of the time by drawing ANY plain
#    digit, and the plain-to-bold check FAILS.
