"""Lesson 16: unpaired style transfer with a CycleGAN: plain <-> bold digits, and typeset
<-> handwritten digits.

What you will learn
    * How to translate between two image domains when no image has a partner in the
      other: two generators (A->B, B->A), two discriminators, and the cycle-consistency
      loss that makes the round trip A -> B -> A come back to where it started.
    * Why the identity loss helps: an image already in B, given to G_AB, should stay put,
      so the generators change only what differs between the domains (stroke width, or
      the look of type against handwriting). Too little of it and the generators hide the
      digit in a scrambled picture that only the other generator can read back.
    * Why the typeset pair also uses the digits' labels, in training only: the round trip
      alone lets a handwritten 4 become a typeset 9 that G_AB still turns back into the 4.
      CyCADA's semantic term asks each D to learn the digits of its own domain and to read
      each translation as its source's digit.
    * How to judge a translation without pairs: does the digit's class survive (a digit
      classifier), and does the result land in the target domain (a domain classifier)?

What to look at
    domains.png            the four domains, one labelled row each: plain and bold strokes
                           (disjoint halves of MNIST's training digits), typeset digits
                           (matplotlib's fonts, `data.typeset_digits`) and handwritten ones
    cyclegan.png           plain <-> bold: held-out digits both ways, with their cycles
    cyclegan_typeset.png   typeset <-> handwritten, the same
    history.png            plain <-> bold while training: the adversarial losses, the cycle
                           and identity losses, G's gradient norm
    history_typeset.png    typeset <-> handwritten, the same

How to run
    python lessons/16_style_transfer.py [--quick] [--out DIR] [--seed N] [--baseline]
    (--quick: 300 steps of plain <-> bold, 40 of typeset <-> handwritten, about 30-50 s;
    the full run trains 800 and 2800 steps: about 6 minutes)
    --baseline evaluates "no translation" (both generators are the identity) in place of
    the CycleGAN: the closing check then fails, as it must.

It writes the figures above under --out (default lessons/out/16_style_transfer/) and ends
by checking against "no translation", for each pair and direction, that the class
survives and that the translations land in the target domain more often:
    plain <-> bold: by 0.2 in quick mode (measured, seeds 0-2: plain to bold +0.76, +0.32,
    +0.74; bold to plain +0.77, +0.84, +0.80), by 0.3 in the full run;
    typeset <-> handwritten: full run only, by 0.6, with the class kept at least 85% of the
    time (`minigan train cyclegan --domains typeset`, 2800 steps, seeds 0-2: +0.84 to
    +0.86 typeset to handwritten, +0.81 to +0.84 back; an older recipe, with PatchGAN
    discriminators, gained +0.67 and +0.49). Type becomes handwriting only after several
    hundred steps (64-68% of it at step 700): in 40 quick steps it has barely started (-0.01
    typeset to handwritten, +0.24 back), so quick mode checks only that this pair keeps
    the class and that its cycle loss falls, and prints the rest.
It also checks that each pair's cycle loss falls while training. The full run (seed 0,
354 s beside another run) measured: plain to bold 0.64 in the target domain (no
translation 0.04), bold to plain 0.90 (0.05), class kept 0.95 and 0.96; typeset to
handwritten 0.87 (0.03), handwritten to typeset 0.85 (0.03), class kept 1.00 and 0.93.
Issue 15 asks for 80% in the target domain and 90% of the class kept; without the
semantic term handwritten to typeset kept the class only 88-91% of the time: see the
NOTE in minigan/apps/cyclegan.py.
"""
import argparse
import os
import time

# Small convolutions multiply small matrices: on a shared 2-core machine BLAS worker
# threads stall each other. One thread (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, nn, optim, viz  # noqa: E402
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

# Two pairs of domains, the same content in two styles:
#   bold     plain <-> bold strokes (each stroke grown by one pixel): a small change of style
#   typeset  digits set in type (drawn offline from matplotlib's fonts) <-> handwritten MNIST
PAIRS = ("bold", "typeset")
# Each pair's settings. plain <-> bold: small networks, a fast D. typeset <-> handwritten:
# the recipe of `minigan train cyclegan --domains typeset` (cyclegan.defaults): a D that
# judges the whole image, instance norm in G, noisier round trips, slower learning rates
# and the semantic term (see the NOTE in minigan/apps/cyclegan.py for what each bought).
SETTINGS = {"bold": dict(cyclegan.defaults("bold"), lr_d=1e-3, lr_decay="linear"),
            "typeset": cyclegan.defaults("typeset")}
if args.quick:                                # smaller networks, faster steps, no decay
    for cfg in SETTINGS.values():
        cfg.update(batch_size=4, base=8, lr_g=2e-3, lr_d=1e-3, lr_decay="none")
STEPS = {"bold": 300, "typeset": 40} if args.quick else {p: SETTINGS[p]["steps"] for p in PAIRS}
if args.baseline:
    STEPS = {pair: 0 for pair in STEPS}        # nothing trains: "no translation" is evaluated
N_TEST = 100 if args.quick else 500
DOMAIN_STEPS = 200 if args.quick else 1000
# The claim's thresholds (measured: see the docstring): how much more often than "no
# translation" the translations land in the target domain, per direction; the class floor.
# None: not checked (quick typeset: the translation has barely started).
GAIN = {"bold": 0.2 if args.quick else 0.3, "typeset": None if args.quick else 0.6}
CLASS_FLOOR = {"bold": 0.8, "typeset": 0.7 if args.quick else 0.85}
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start = time.perf_counter()

# --- 1. the domains: no digit is ever seen in both forms ---
# bold: disjoint halves of MNIST's training digits; typeset: a set of its own
# (data.typeset_digits: faces, weights and slants of matplotlib's fonts, jittered).
train = {"bold": cyclegan.domains("train", "bold")}                  # (A, labels, B, labels)
typeset = [t.numpy() for t in data.typeset_digits("train").tensors]  # (4500, 1, 28, 28), (4500,)
handwritten = [t.numpy() for t in data.mnist_5k("train").tensors]
train["typeset"] = (*typeset, *handwritten)
shown = []
for pair in PAIRS:
    name_a, name_b = cyclegan.DOMAIN_PAIRS[pair]
    A, _, B, _ = train[pair]                                         # (N, 1, 28, 28) each
    shown += [(f"{pair} A: {name_a}", A[:8]), (f"{pair} B: {name_b}", B[:8])]
cyclegan.plot_rows(shown, "The two pairs of domains (unpaired: no digit is in both A and B)",
                   os.path.join(args.out, "domains.png"))


def train_pair(pair, rng):
    """Two generators and two discriminators, trained STEPS steps on one pair of domains."""
    A, labels_a, B, labels_b = train[pair]
    cfg = SETTINGS[pair]
    G_AB, G_BA, D_A, D_B = cyclegan.build(cfg)
    opt_g = optim.Adam(list(G_AB.parameters()) + list(G_BA.parameters()), lr=cfg["lr_g"], betas=(0.5, 0.999))
    opt_d = optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=cfg["lr_d"], betas=(0.5, 0.999))
    loss = gan.get_loss("lsgan")                   # CycleGAN's choice: least squares
    monitor = gan.Monitor()
    log_every = max(STEPS[pair] // 5, 1)
    # a and b drawn independently: unpaired
    for step in range(STEPS[pair]):
        if cfg["lr_decay"] == "linear":  # CycleGAN's schedule: constant, then to 0 over the last half
            factor = min(1.0, 2.0 * (1.0 - step / STEPS[pair]))
            for opt, lr in ((opt_g, cfg["lr_g"]), (opt_d, cfg["lr_d"])):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        pick_a = rng.integers(0, len(A), cfg["batch_size"])
        pick_b = rng.integers(0, len(B), cfg["batch_size"])
        a, b = mg.tensor(A[pick_a]), mg.tensor(B[pick_b])                 # (B, 1, 28, 28) each
        # their digits: only the semantic term (typeset pair) reads them, in training only
        labels = (mg.tensor(labels_a[pick_a].astype(np.int64)),
                  mg.tensor(labels_b[pick_b].astype(np.int64)))
        row = cyclegan.cyclegan_step(G_AB, G_BA, D_A, D_B, opt_g, opt_d, a, b, loss,
                                     cfg["cycle_weight"], cfg["identity_weight"],
                                     cycle_noise=cfg["cycle_noise"],
                                     semantic_weight=cfg["semantic_weight"], labels=labels)
        monitor.record(dict(row, step=step))
        if (step + 1) % log_every == 0:
            print(f"{pair:8s} step {step + 1:5d}  loss_d {monitor.last('loss_d'):.3f}  "
                  f"loss_g {monitor.last('loss_g'):.3f}  cycle {monitor.last('cycle', 20):.4f}  "
                  f"identity {monitor.last('identity', 20):.4f}  {time.perf_counter() - start:.1f}s")
    return (G_AB, G_BA), monitor


# --- 2, 3. per pair: train, then measure on held-out digits (class kept? domain reached?) ---
rng = np.random.default_rng(args.seed)
results, monitors = {}, {}
for pair in PAIRS:
    models, monitors[pair] = train_pair(pair, rng)
    suffix = "" if pair == "bold" else f"_{pair}"
    if monitors[pair].rows:                       # none under --baseline
        viz.plot_history(monitors[pair].rows, os.path.join(args.out, f"history{suffix}.png"),
                         title=f"CycleGAN, {pair} pair")
    if args.baseline:
        models = (nn.Identity(), nn.Identity())
    results[pair] = cyclegan.evaluate(models=models, n=N_TEST, domain_steps=DOMAIN_STEPS,
                                      seed=args.seed, pair=pair,
                                      figure=os.path.join(args.out, f"cyclegan{suffix}.png"))
    for direction, rows in results[pair].items():
        if direction in ("figure", "cycle L1"):
            continue
        print(direction)
        for name, v in rows.items():
            print(f"  {name:30s} " + "  ".join(f"{k} {x:.3f}" for k, x in v.items()))
    print(f"cycle L1 on held-out digits: {results[pair]['cycle L1']}")
print(f"done in {time.perf_counter() - start:.1f}s; figures in {args.out}")

# --- 4. the claim ---
# Against "no translation": the digits as they came. It keeps the class perfectly and never
# changes the style, so "class kept" alone would pass for it; the translation must ALSO
# land in the target domain more often. The class is read by a classifier that reads the
# target style: minigan's digit classifier for plain and bold, the any-style one (trained
# on both typeset and handwritten digits) for the typeset pair.
check = claims.ClaimCheck(args.baseline, "no translation")
for pair in PAIRS:
    reader = "class_kept" if pair == "bold" else "class_kept_any_style"
    for direction, rows in results[pair].items():
        if direction in ("figure", "cycle L1"):
            continue
        floor = CLASS_FLOOR[pair]
        check.higher(f"{direction}: class kept", rows["CycleGAN"][reader], floor, fmt=".2f",
                     against=f"a floor of {floor}")
        now = rows["CycleGAN"]["in_target_domain"]
        before = rows["no translation"]["in_target_domain"]
        if GAIN[pair] is None:
            print(f"  [shown, checked in the full run] {direction}: in the target domain: "
                  f"{now:.2f} vs {before:.2f} with no translation")
        else:
            check.higher(f"{direction}: in the target domain", now, before, by=GAIN[pair],
                         fmt=".2f")
    if monitors[pair].rows:
        first = np.mean([r["cycle"] for r in monitors[pair].rows[:3]])
        last = np.mean([r["cycle"] for r in monitors[pair].rows[-3:]])
        check.lower(f"{pair}: cycle loss, last 3 steps", last, first, times=0.7,
                    against="its first 3 steps")
check.done("the CycleGAN moves digits towards the other domain and keeps their class, "
           "in both pairs")

# --- Questions ---
# 1. "No translation" keeps the class 94-100% of the time. Why is "class kept" alone no
#    claim? (Answer: doing nothing keeps the class perfectly; a translation must ALSO land
#    in the other domain.)
# 2. What does the identity loss G_AB(b) = b ask for, and what would go wrong without it?
#    (Answer: leave an image that is already in the target domain alone, so G changes
#    only the style. Without it, typeset <-> handwritten finds a cheat: G_AB draws a
#    scrambled scribble that hides the digit and G_BA reads it back, so the cycle loss is
#    small while the class is lost.)
#
# --- Try this ---
# 1. Set SETTINGS["typeset"]["identity_weight"] = 0 and run the full lesson.
#    Expect: the scramble. Measured with the PatchGAN recipe of before (800 steps): 72% of
#    translations "in the target domain" but only 8-10% kept their class (chance), while
#    the round trip came back (cycle L1 0.05).
# 2. Set each pair's cycle weight to 0 (SETTINGS[pair]["cycle_weight"] = 0).
#    Expect: nothing ties a translation to its input: round trips come back far worse
#    (cycle L1 several times larger), fewer digits keep their class, and bold to plain can
#    land in "plain" by drawing ANY plain digit: the class check catches it.
# 3. Set SETTINGS["typeset"]["discriminator"] = "patch": D judges 18x18 patches, not the
#    whole digit.
#    Expect: G keeps the typeset shapes and changes only the texture of the strokes; the
#    domain judge, which sees the whole image, is fooled far less often (the recipe before,
#    with PatchGANs: 70% and 52%, against 84% and 81% now).
