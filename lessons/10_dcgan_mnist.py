"""Lesson 10: a DCGAN learns to draw real MNIST digits.

What you will learn:
  - the DCGAN recipe (Radford et al., 2015): strided transposed convolutions up in G,
    strided convolutions down in D, batch norm, LeakyReLU in D, tanh output, N(0, 0.02)
    initialisation, Adam with lr 2e-4 and beta1 = 0.5;
  - why we keep ONE fixed latent batch: each cell of the sample grid follows the same z
    through training, so the grids form a film of the generator learning;
  - what latent interpolation shows: walking from z0 to z1 (along the sphere, "slerp")
    morphs one digit smoothly into another when G has learned a smooth map.

What to look at in the figures (under the out folder):
  - samples_epoch_*.png and samples.gif: grey noise -> black background and white blobs
    -> strokes -> digits. Each cell is the same z at every epoch.
  - history.png: D's loss drops first (it learns faster), then the two losses settle into a
    tug of war; mean D(x) stays above mean D(G(z)) while D can still tell them apart.
  - interpolation.png: each row morphs one sample into another.
  - real_digits.png: the data, for comparison.

Run it:
    python lessons/10_dcgan_mnist.py            # full: 10 epochs of 4,500 digits (~2-4 min)
    python lessons/10_dcgan_mnist.py --quick    # 60 steps of a narrow DCGAN on 320 digits (~10 s)
    python lessons/10_dcgan_mnist.py --out DIR  # where the figures go
    python lessons/10_dcgan_mnist.py --quick --baseline   # an untrained G: the check fails

It writes, under --out (default lessons/out/10_dcgan_mnist/): real_digits.png,
samples_epoch_NN.png (one per epoch), samples.gif, history.png, interpolation.png.
The full run also checks digit variety with the metrics' digit classifier (trained once,
~60 s, then cached).

The claim checked at the end, against the untrained G: the samples' mean pixel moved at
least a fifth of the way from the initial grey towards the data's mean (mostly black
background), and D scores real digits above generated ones on average. The full run also
asks that the digit classifier sees at least 8 of the 10 digits among 500 samples. It also
prints, not yet checked, how far the samples are from their nearest real digit against the
untrained G's: the quick run's threshold waits for issue 15's recipe.
"""
import argparse
import os
import time

import numpy as np

import minigan as mg
from minigan import data, gan, metrics, optim, viz

import claims

# --- 0. config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a few dozen steps on a small subset")
parser.add_argument("--out", default=os.path.join("lessons", "out", "10_dcgan_mnist"))
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "an untrained G, 0 epochs")
args = parser.parse_args()
claims.announce(args.baseline, "G and D get 0 epochs of training")

if args.quick:
    # A narrow DCGAN and a larger step size, so that 60 steps already show something.
    NUM_IMAGES, BATCH, EPOCHS, BASE, LR = 320, 32, 6, 16, 5e-4     # 10 steps per epoch
else:
    NUM_IMAGES, BATCH, EPOCHS, BASE, LR = 4500, 64, 10, 64, 2e-4   # 70 steps per epoch
if args.baseline:
    EPOCHS = 0                                           # the do-nothing variant
LATENT_DIM = 100
BETAS = (0.5, 0.999)                                     # the DCGAN paper's Adam settings
NUM_FIXED = 64                                           # the fixed latent batch: an 8x8 grid
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start_time = time.perf_counter()

# --- 1. the data: real MNIST digits in [-1, 1] (the range of G's tanh) ---
train = data.mnist_5k("train")                           # 4,500 digits, shuffled, 450 per class
images, labels = train.tensors                           # (4500, 1, 28, 28), (4500,)
images = images[:NUM_IMAGES]                             # (NUM_IMAGES, 1, 28, 28)
data_mean = float(images.numpy().mean())                 # about -0.74: mostly black
viz.save_image_grid(images[:NUM_FIXED], os.path.join(args.out, "real_digits.png"), nrow=8,
                    scale=2)
# drop_last: batch norm sees batches of one size, every step
loader = data.DataLoader(data.TensorDataset(images), batch_size=BATCH, shuffle=True,
                         drop_last=True)
print(f"data: {tuple(images.shape)} in [-1, 1], mean pixel {data_mean:.3f}, "
      f"{len(loader)} batches of {BATCH} per epoch")

# --- 2. the two networks ---
G = gan.DCGANGenerator(latent_dim=LATENT_DIM, base=BASE)  # z (N, 100) -> (N, 1, 28, 28)
D = gan.DCGANDiscriminator(base=BASE)                     # (N, 1, 28, 28) -> logit (N, 1)
G.apply(gan.dcgan_init)                                   # weights ~ N(0, 0.02)
D.apply(gan.dcgan_init)
print(G)
print(D)
print(f"parameters: G {sum(p.numel() for p in G.parameters()):,}, "
      f"D {sum(p.numel() for p in D.parameters()):,}")

opt_g = optim.Adam(G.parameters(), lr=LR, betas=BETAS)
opt_d = optim.Adam(D.parameters(), lr=LR, betas=BETAS)
loss = gan.get_loss("nonsaturating")                     # D: cross-entropy; G: -log D(G(z))

# A fixed latent batch: the same 64 z's are decoded after every epoch.
fixed_z = mg.randn(NUM_FIXED, LATENT_DIM)                # (64, 100)


def sample(z):
    """G(z) in eval mode (batch norm uses its running statistics), without a graph."""
    G.eval()
    with mg.no_grad():
        out = G(z).numpy()                               # (N, 1, 28, 28)
    G.train()
    return out


initial_samples = sample(fixed_z)
frames, titles = [initial_samples], ["before training"]
viz.save_image_grid(initial_samples, os.path.join(args.out, "samples_epoch_00.png"), nrow=8,
                    scale=2)

# --- 3. training: one D step then one G step per batch (gan.train_step) ---
history = []
step = 0
for epoch in range(1, EPOCHS + 1):
    for (real,) in loader:                               # real: (BATCH, 1, 28, 28)
        row = gan.train_step(G, D, opt_g, opt_d, real, loss, step)
        row["time"] = time.perf_counter() - start_time
        history.append(row)
        step += 1
    last = history[-len(loader):]                        # this epoch's rows
    print(f"epoch {epoch:2d}  step {step:4d}  "
          f"loss_d {np.mean([r['loss_d'] for r in last]):.3f}  "
          f"loss_g {np.mean([r['loss_g'] for r in last]):.3f}  "
          f"D(x) {np.mean([r['d_real'] for r in last]):.2f}  "
          f"D(G(z)) {np.mean([r['d_fake'] for r in last]):.2f}  "
          f"{time.perf_counter() - start_time:.1f}s", flush=True)
    samples = sample(fixed_z)
    frames.append(samples)
    titles.append(f"epoch {epoch} (step {step})")
    viz.save_image_grid(samples, os.path.join(args.out, f"samples_epoch_{epoch:02d}.png"),
                        nrow=8, scale=2)

# --- 4. the film and the training curves ---
viz.save_grid_animation(frames, os.path.join(args.out, "samples.gif"), fps=2, titles=titles)
if history:                                              # none under --baseline
    viz.plot_history(history, os.path.join(args.out, "history.png"),
                     title="DCGAN on MNIST-5k (non-saturating loss)")

# --- 5. latent interpolation: slerp between pairs of fixed latents ---
STEPS = 10
rows = []
for a, b in [(0, 1), (2, 3), (4, 5), (6, 7)]:
    path = viz.interpolate_latents(fixed_z[a].numpy(), fixed_z[b].numpy(), STEPS)  # (10, 100)
    rows.append(sample(mg.tensor(path, dtype=mg.float32)))                       # (10, 1, 28, 28)
viz.plot_interpolation(np.stack(rows), os.path.join(args.out, "interpolation.png"),
                       row_labels=["z0->z1", "z2->z3", "z4->z5", "z6->z7"],
                       title=f"Slerp between fixed latents after {step} steps")

# --- 6. check the claim ---
final_samples = frames[-1]
tail = history[-max(5, len(history) // 4):]              # the last quarter of training
d_real = float(np.mean([r["d_real"] for r in tail])) if tail else float("nan")
d_fake = float(np.mean([r["d_fake"] for r in tail])) if tail else float("nan")
gap_before = abs(float(initial_samples.mean()) - data_mean)
gap_after = abs(float(final_samples.mean()) - data_mean)
# How far each sample is from its nearest real digit (pixels in [-1, 1]): noise is far.
near_before = float(metrics.nearest_neighbour_distances(initial_samples, images.numpy()).mean())
near_after = float(metrics.nearest_neighbour_distances(final_samples, images.numpy()).mean())
print(f"mean D(x) {d_real:.3f} vs mean D(G(z)) {d_fake:.3f} over the last {len(tail)} steps")
print(f"mean pixel: data {data_mean:.3f}, G before {initial_samples.mean():.3f}, "
      f"G after {final_samples.mean():.3f}")
check = claims.ClaimCheck(args.baseline, "the untrained G")

if not args.quick:
    # Digit variety: the metrics' small CNN classifies 500 samples (trained once, cached).
    classifier = metrics.load_digit_classifier(verbose=True)
    many = np.concatenate([sample(mg.randn(100, LATENT_DIM)) for _ in range(5)])  # (500, 1, 28, 28)
    counts = metrics.class_histogram(many, classifier)
    score = metrics.classifier_inception_score(many, classifier)
    print(f"classifier: digits per class {counts.tolist()}, classifier IS {score:.2f} (of 10)")
    check.fact("the classifier sees 8+ digits with 10+ of 500 samples", np.sum(counts >= 10) >= 8,
               f"histogram {counts.tolist()}")

print(f"done in {time.perf_counter() - start_time:.1f}s; figures in {args.out}")
check.lower("|mean pixel of the samples - the data's|", gap_after, gap_before, times=0.8)
check.fact("D still scores real digits above generated ones", d_real > d_fake + 0.02,
           f"mean D(x) {d_real:.3f} vs mean D(G(z)) {d_fake:.3f}")
# Quick-mode threshold pending: issue 15 changes the recipe this lesson uses.
check.pending("mean distance from a sample to its nearest real digit", near_after, near_before)
check.done("training moved the samples towards the data")

# --- Questions ---
# 1. Why decode the same 64 latent vectors after every epoch?
#    (Answer: each cell then follows one z through training: the grids form a film of
#    the same "pen" learning, instead of 64 new random samples each time.)
# 2. After the quick run, D(x) is about 0.98 and D(G(z)) about 0.02. Does that say the
#    samples are good? (Answer: no, the opposite: D wins easily; it is the mean pixel and
#    the pictures that show G moving towards digits.)
#
# --- Try this ---
# 1. In the quick config use the DCGAN paper's LR = 2e-4 instead of 5e-4.
#    Expect: 60 steps are too few at that rate: the samples' mean pixel only moves from
#    0.00 to -0.11 (the data's is -0.74) and the check FAILS. Short runs need larger steps.
# 2. python lessons/10_dcgan_mnist.py --quick --baseline
#    Expect: the untrained G's grey noise, no history.png, and "claim fails".
