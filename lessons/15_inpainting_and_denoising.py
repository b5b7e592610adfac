"""Lesson 15: image restoration with GANs: inpainting and denoising, against plain baselines.

What you will learn
    * How a GAN becomes a restoration tool: a generator that takes an image (not noise)
      and a discriminator that judges patches (PatchGAN), trained with a reconstruction
      loss (L1) plus the adversarial loss (pix2pix, the context encoder).
    * Why the L1 of inpainting counts the hole only: the known pixels are given, so only
      the missing ones are predicted (and the composite keeps the known ones exactly).
    * How to measure restoration: PSNR and SSIM on the pixels that were restored, against
      baselines that need no learning (mean fill, nearest neighbour, the noisy input).

What to look at
    masks_and_noise.png   the three hole shapes and the two noises of the held-out set
    inpainting.png        masked input, mean fill, nearest neighbour, context encoder, original
    denoising.png         noisy input, L1 only, pix2pix, clean (PSNR in the row labels)
    history.png           the losses of the context encoder while it trains

How to run
    python lessons/15_inpainting_and_denoising.py [--quick] [--out DIR] [--seed N]
    (--quick: a few dozen steps, a small test set; the full run trains for a few minutes.
    Latent optimisation in a DCGAN, the second inpainting method, is in
    `minigan train inpaint` + `minigan eval`: it needs a trained DCGAN.)

It writes masks_and_noise.png, inpainting.png, denoising.png and history.png under --out
(default lessons/out/15_inpainting_and_denoising/), and ends by asserting that the
denoiser beats its noisy input in PSNR (full run: by > 5 dB) and the context encoder learned
to fill holes (full run: better than mean fill on the hole, in L1 and PSNR).
"""
import argparse
import os
import time

# Small convolutions multiply small matrices: on a shared 2-core machine BLAS worker
# threads stall each other. One thread (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import apps, data, gan, optim, viz  # noqa: E402
from minigan.apps import inpainting, masks, pix2pix  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a short run (what the tests run)")
parser.add_argument("--out", default="lessons/out/15_inpainting_and_denoising/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

STEPS = 100 if args.quick else 1500          # per model
LR_G = 2e-3 if args.quick else 5e-4          # a short run needs bigger steps
BATCH = 8 if args.quick else 16
BASE = 8 if args.quick else 16               # U-Net / PatchGAN width
L1_WEIGHT = 50.0
N_TEST = 40 if args.quick else 300
LOG_EVERY = max(STEPS // 5, 1)
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start = time.perf_counter()

# --- 1. data: held-out digits, and what we take away from them ---
train = data.mnist_5k("train").tensors[0].numpy()        # (4500, 1, 28, 28) in [-1, 1]
test = data.mnist_5k("test").tensors[0].numpy()[:N_TEST]  # never trained on
rng = np.random.default_rng(args.seed)
examples = [("centre hole", masks.apply_mask(test[:4], masks.make_masks("center", 4, rng))),
            ("random squares", masks.apply_mask(test[:4], masks.make_masks("squares", 4, rng))),
            ("half missing", masks.apply_mask(test[:4], masks.make_masks("half", 4, rng))),
            ("Gaussian noise", masks.add_noise(test[:4], "gaussian", rng)),
            ("salt & pepper", masks.add_noise(test[:4], "salt_pepper", rng))]
apps.cyclegan.plot_rows(examples, "What the models must undo: three holes, two noises",
                        os.path.join(args.out, "masks_and_noise.png"))

# --- 2. the context encoder: masked image + mask in, completion out ---
cfg = dict(inpainting.DEFAULTS, base=BASE, batch_size=BATCH, l1_weight=L1_WEIGHT)
G, D = inpainting.build(cfg)                 # UNet(2 -> 1), PatchDiscriminator(2)
opt_g = optim.Adam(G.parameters(), lr=LR_G, betas=(0.5, 0.999))
opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
loss = gan.get_loss("nonsaturating")
monitor = gan.Monitor()
for step in range(STEPS):
    x = train[rng.integers(0, len(train), BATCH)]                     # (B, 1, 28, 28)
    hole = masks.make_masks("mixed", BATCH, rng)                       # 1 = missing
    g_in = mg.tensor(inpainting.context_input(x, hole))                # (B, 2, 28, 28)
    # D judges (mask, composite); L1 counts the hole only (masked_l1)
    row = pix2pix.paired_gan_step(G, D, opt_g, opt_d, g_in, mg.tensor(x), mg.tensor(hole),
                                  loss, L1_WEIGHT, mask=mg.tensor(hole))
    monitor.record(dict(row, step=step))
    if (step + 1) % LOG_EVERY == 0:
        print(f"inpaint step {step + 1:5d}  loss_d {monitor.last('loss_d'):.3f}  "
              f"hole L1 {monitor.last('l1', 20):.4f}  {time.perf_counter() - start:.1f}s")
viz.plot_history(monitor.rows, os.path.join(args.out, "history.png"), title="context encoder")

# --- 3. inpainting vs the baselines, on the hole only ---
ip = inpainting.evaluate(models=(G, None), n=N_TEST, seed=args.seed,
                         figure=os.path.join(args.out, "inpainting.png"))
for kind in ("center", "squares", "half"):
    print(f"{kind:8s} hole PSNR (L1): " + "  ".join(f"{name} {v['psnr']:.2f} ({v['l1']:.3f})"
                                                  for name, v in ip[kind].items()))

# --- 4. pix2pix denoising: the same U-Net, noisy in, clean out; and L1 alone ---
cfg = dict(pix2pix.DEFAULTS, base=BASE)
G2, D2, G_l1 = pix2pix.build(cfg)            # the L1-only net starts from G2's weights
opt_g2 = optim.Adam(G2.parameters(), lr=LR_G, betas=(0.5, 0.999))
opt_d2 = optim.Adam(D2.parameters(), lr=5e-4, betas=(0.5, 0.999))
opt_l1 = optim.Adam(G_l1.parameters(), lr=LR_G, betas=(0.5, 0.999))
for step in range(STEPS):
    clean = train[rng.integers(0, len(train), BATCH)]
    noisy = mg.tensor(masks.add_noise(clean, "mixed", rng))           # (B, 1, 28, 28)
    row = pix2pix.paired_gan_step(G2, D2, opt_g2, opt_d2, noisy, mg.tensor(clean), noisy,
                                  loss, L1_WEIGHT)
    l1_only = pix2pix.l1_step(G_l1, opt_l1, noisy, mg.tensor(clean))  # same batch, no D
    if (step + 1) % LOG_EVERY == 0:
        print(f"denoise step {step + 1:5d}  loss_d {row['loss_d']:.3f}  L1 {row['l1']:.4f}  "
              f"L1-only {l1_only:.4f}  {time.perf_counter() - start:.1f}s")
dn = pix2pix.evaluate(models=(G2, G_l1), n=N_TEST, seed=args.seed,
                      figure=os.path.join(args.out, "denoising.png"))
for kind in ("gaussian", "salt_pepper"):
    print(f"{kind:12s} PSNR: " + "  ".join(f"{name} {v['psnr']:.2f}" for name, v in dn[kind].items()))
print(f"done in {time.perf_counter() - start:.1f}s; figures in {args.out}")

# --- 5. the claim ---
MARGIN = 0.5 if args.quick else 5.0          # dB; the full run gains far more
for kind in ("gaussian", "salt_pepper"):
    gain = dn[kind]["pix2pix"]["psnr"] - dn[kind]["noisy input"]["psnr"]
    assert gain > MARGIN, f"pix2pix should beat the noisy input by > {MARGIN} dB on {kind} noise, got {gain:.2f}"
first, last = np.mean([r["l1"] for r in monitor.rows[:5]]), np.mean([r["l1"] for r in monitor.rows[-5:]])
assert last < 0.8 * first, f"the context encoder's hole L1 should fall, went {first:.3f} -> {last:.3f}"
if not args.quick:
    # L1 is what it was trained on; PSNR (squared error) favours the blurry mean, and
    # still the context encoder should not lose to it
    mean = ip["mean over masks"]
    assert mean["context encoder"]["l1"] < 0.75 * mean["mean fill"]["l1"], \
        f"the context encoder's hole L1 should be well below mean fill's: {mean}"
    assert mean["context encoder"]["psnr"] > mean["mean fill"]["psnr"], \
        f"the context encoder should beat mean fill in hole PSNR: {mean}"
