"""Lesson 00: what a GAN is: a counterfeiter, the police, and features nobody designed.

What you will learn (the article's sections 1.1, 1.2 and 2.1)
    * The picture: a counterfeiter (the generator G) prints notes from random noise; the
      police (the discriminator D) look at a note and say how likely it is to be real.
      D learns from real notes and G's forgeries; G learns from D's verdict alone (through
      D's gradient). Each gets better because the other does.
    * What G and D take and return: G maps noise z, shape (N, latent), to a sample x, the
      data's shape; D maps a sample to one number per sample, a logit of shape (N, 1):
      D(x) = sigmoid(logit) is its probability that x is real.
    * Why a GAN learns features nobody designed: nowhere below does anyone tell G what a
      "7" or a "mode of the ring" is. D's only instruction is "tell real from fake", so it
      finds whatever differs, and G must remove exactly that. Hand-made features (lesson
      04's edge filters) are chosen by a person; here the two players find their own.
    * What one small GAN can already do (the article's applications, 1.2): synthesis (draw
      a requested digit), restoration (fill in half a digit) and a style transfer (draw
      other digits in the style of a given one), all with the same generator.
    * What the rest of the course builds, lesson by lesson.

What to look at
    counterfeiter_and_police.png  the game on 2-D points: the real data (blue), G's
                                  counterfeits (orange) and the police's verdict D(x)
                                  (grey, darker = "real"), at four moments of training
    what_g_and_d_do.png           G takes noise (left) to samples (middle; the same colours
                                  follow each z), and D's verdicts on real and fake (right)
    what_the_course_builds.png    digits minigan makes after a few seconds of training:
                                  one row per requested digit, half digits filled in, and
                                  one digit's style carried over to others

How to run
    python lessons/00_what_is_a_gan.py [--quick] [--out DIR] [--seed N]
    (--quick trains both small GANs a few hundred steps: about 15 s on 2 cores. The full
    run trains longer and its digits look better; `minigan train dcgan` makes real-size
    ones, lesson 10 explains them.)
    --baseline shows the untrained players (0 steps): the closing check then fails, as it
    must.

It writes counterfeiter_and_police.png, what_g_and_d_do.png and what_the_course_builds.png
under --out (default lessons/out/00_what_is_a_gan/), and ends by checking, against the
untrained G, that G's points moved onto the data and that its digits are the requested ones.
"""
import argparse
import os
import time

# Small networks multiply small matrices: BLAS worker threads cost more than they save,
# and on a shared 2-core machine they stall each other. One thread (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import minigan as mg  # noqa: E402
from minigan import data, gan, nn, optim, viz  # noqa: E402

import claims  # noqa: E402

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="short runs (what the tests run)")
parser.add_argument("--out", default="lessons/out/00_what_is_a_gan/", help="output folder")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "untrained players, 0 steps")
args = parser.parse_args()
claims.announce(args.baseline, "G and D get 0 training steps")

RING_STEPS = 300 if args.quick else 2000        # the 2-D game
DIGIT_STEPS = 400 if args.quick else 2000       # the digit GAN (8x8 digits)
if args.baseline:
    RING_STEPS = DIGIT_STEPS = 0
LATENT = 32                                     # the digit GAN's noise
INVERT_STEPS = 150                              # gradient steps to find a z for a digit
BOUNDS = (-3, 3, -3, 3)
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
start = time.perf_counter()


# --- 1. the counterfeiter and the police, on points in the plane ---
# The "banknotes" are 2-D points from 8 blobs on a circle. G turns 2 random numbers into a
# point; D turns a point into a verdict. Neither knows there are 8 blobs on a circle.
ring = data.ring_of_gaussians(10_000, std=0.05)
points = ring.tensors[0]                                                # (10000, 2)
G = gan.MLPGenerator(latent_dim=2, out_dim=2, hidden=128, layers=2)    # the counterfeiter
D = gan.MLPDiscriminator(in_dim=2, hidden=128, layers=2)               # the police
z = mg.randn(5, 2)                                                      # (5, 2): noise
x = G(z)                                                                # (5, 2): counterfeits
logit = D(x)                                                            # (5, 1): verdicts
print(f"G: z {tuple(z.shape)} -> x {tuple(x.shape)};  D: x {tuple(x.shape)} -> logit "
      f"{tuple(logit.shape)};  D(x) = sigmoid(logit) = "
      f"{np.round(mg.sigmoid(logit).detach().numpy().ravel(), 2).tolist()}")


def verdict(D):
    """D as a NumPy function (M, 2) -> (M,) probabilities "real", for the pictures."""
    def probability(p):
        with mg.no_grad():
            return mg.sigmoid(D(mg.tensor(p, dtype=mg.float32))).numpy().ravel()
    return probability


def distance_to_data(samples):
    """Mean distance from each point to the nearest blob centre."""
    return float(np.linalg.norm(samples[:, None] - ring.centers[None], axis=2).min(1).mean())


with mg.no_grad():
    untrained_points = G(mg.randn(1000, 2)).numpy()                     # the baseline
opt_g = optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
loss = gan.get_loss("nonsaturating")
snapshot_at = sorted({0, RING_STEPS // 4, RING_STEPS // 2, RING_STEPS})
snapshots = []
for step in range(RING_STEPS + 1):
    if step in snapshot_at:
        with mg.no_grad():
            fake = G(mg.randn(500, 2)).numpy()
        snapshots.append({"step": step, "real": points[:500].numpy(), "fake": fake,
                          "surface": viz.toy_2d_surface(verdict(D), BOUNDS, resolution=50)})
    if step == RING_STEPS:
        break
    real = points[mg.randint(0, len(points), (64,))]                    # (64, 2)
    # One round: the police study real notes and the current forgeries, then the
    # counterfeiter adjusts its press to fool the police (lesson 07 writes this out).
    row = gan.train_step(G, D, opt_g, opt_d, real, loss, step)
    if (step + 1) % max(1, RING_STEPS // 4) == 0:
        print(f"ring  step {step + 1:5d}  D(real) {row['d_real']:.2f}  D(fake) "
              f"{row['d_fake']:.2f}  {time.perf_counter() - start:.1f}s")
with mg.no_grad():
    z_show = mg.randn(1000, 2)
    ring_points = G(z_show).numpy()                                     # (1000, 2)
    verdict_real = verdict(D)(points[:1000].numpy())
    verdict_fake = verdict(D)(ring_points)
print(f"distance to the nearest blob: untrained G {distance_to_data(untrained_points):.3f}, "
      f"trained G {distance_to_data(ring_points):.3f}")
viz.plot_toy_2d_snapshots(snapshots, os.path.join(args.out, "counterfeiter_and_police.png"),
                          bounds=BOUNDS, ncols=4)

# --- 2. what G and D take and return ---
fig = Figure(figsize=(13, 4.2))
ax_z, ax_x, ax_d = fig.subplots(1, 3)
zs = z_show.numpy()
colour = np.arctan2(zs[:, 1], zs[:, 0])             # one colour per direction of z
ax_z.scatter(zs[:, 0], zs[:, 1], c=colour, cmap="hsv", s=5)
ax_z.set(title="what G takes: noise z ~ N(0, I)\nshape (N, 2)", xlabel="z₁", ylabel="z₂",
         aspect="equal")
ax_x.scatter(points[:1000, 0].numpy(), points[:1000, 1].numpy(), s=5, c="tab:blue", alpha=0.3,
             label="real data")
ax_x.scatter(ring_points[:, 0], ring_points[:, 1], c=colour, cmap="hsv", s=5,
             label="G(z), coloured as its z")
ax_x.set(title="what G returns: a sample x = G(z)\nshape (N, 2)", xlabel="x₁", ylabel="x₂",
         xlim=BOUNDS[:2], ylim=BOUNDS[2:], aspect="equal")
ax_x.legend(loc="upper right", fontsize="x-small", markerscale=2)
bins = np.linspace(0, 1, 26)
ax_d.hist(verdict_real, bins=bins, color="tab:blue", alpha=0.6, label="D(x), x real")
ax_d.hist(verdict_fake, bins=bins, color="tab:orange", alpha=0.6, label="D(G(z)), x fake")
ax_d.axvline(0.5, color="black", linestyle=":", label="1/2: cannot tell")
ax_d.set(title="what D returns: D(x) = sigmoid(logit)\none per sample, shape (N, 1)",
         xlabel="D(x): probability that x is real", ylabel="count")
ax_d.legend(fontsize="x-small")
fig.suptitle(f"G and D after {RING_STEPS} steps of the game", fontsize=11)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "what_g_and_d_do.png"), dpi=90)

# --- 3. the same game on digits: one small generator, three applications ---
# A conditional GAN (lesson 12) on scikit-learn's 8x8 digits: G(z, y) draws digit y.
train = data.digits_8x8("train")
images, labels = train.tensors                                          # (N, 1, 8, 8), (N,)
test_images, test_labels = (t.numpy() for t in data.digits_8x8("test").tensors)
mg.manual_seed(args.seed)
G8 = gan.ConditionalDCGANGenerator(10, latent_dim=LATENT, image_size=8, base=32)  # (z, y) -> (N, 1, 8, 8)
D8 = gan.ConditionalDCGANDiscriminator(10, image_size=8, base=32)               # (x, y) -> (N, 1)
G8.apply(gan.dcgan_init)
D8.apply(gan.dcgan_init)
nn.init.normal_(D8.embed.weight, 0.0, 0.02)       # a small class term to start (lesson 12)
opt_g8 = optim.Adam(G8.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_d8 = optim.Adam(D8.parameters(), lr=1e-3, betas=(0.5, 0.999))
class_means = np.stack([images.numpy()[labels.numpy() == c].mean(0) for c in range(10)])


def generate(z, y):
    G8.eval()
    with mg.no_grad():
        out = G8(z, y).numpy()                                          # (N, 1, 8, 8)
    G8.train()
    return out


def label_agreement(samples, wanted):
    """How often the nearest real class mean is the requested digit (a classifier that
    needs no training; real test digits score about 0.9)."""
    d = ((samples[:, None] - class_means[None]) ** 2).reshape(len(samples), 10, -1).sum(-1)
    return float(np.mean(d.argmin(1) == wanted))


grid_z = mg.tensor(np.tile(mg.randn(8, LATENT).numpy(), (10, 1)))      # (80, latent)
grid_y = mg.tensor(np.repeat(np.arange(10), 8))                         # (80,) 0..0, ..., 9..9
untrained_agreement = label_agreement(generate(grid_z, grid_y), grid_y.numpy())
for step in range(DIGIT_STEPS):
    batch = mg.randint(0, len(images), (64,))
    row = gan.train_step(G8, D8, opt_g8, opt_d8, images[batch], loss, step, labels=labels[batch])
    if (step + 1) % max(1, DIGIT_STEPS // 3) == 0:
        print(f"digits step {step + 1:5d}  loss_d {row['loss_d']:.3f}  loss_g {row['loss_g']:.3f}"
              f"  {time.perf_counter() - start:.1f}s")
synthesis = generate(grid_z, grid_y)                                     # (80, 1, 8, 8)
agreement = label_agreement(synthesis, grid_y.numpy())
print(f"digits drawn as requested (nearest class mean): trained {agreement:.2f}, untrained "
      f"{untrained_agreement:.2f}, chance 0.10")


def invert(targets, ys, known):
    """The z that makes G8(z, y) agree with `targets` on the `known` pixels (1 = known):
    gradient descent on z, G fixed. Returns the images G8 draws from those z, and the z."""
    z = mg.randn(len(targets), LATENT, requires_grad=True)
    opt = optim.Adam([z], lr=0.05)
    target, mask, y = mg.tensor(targets), mg.tensor(known), mg.tensor(ys)
    G8.eval()
    for _ in range(INVERT_STEPS):
        error = (((G8(z, y) - target) * mask) ** 2).mean() + 1e-3 * (z ** 2).mean()  # + a prior
        opt.zero_grad()
        error.backward()
        opt.step()
    G8.train()
    return generate(z.detach(), y), z.detach()


# Restoration: the bottom half of four test digits is missing. Try every label (the label
# is not known either) and keep the completion that fits the top half best.
show = np.array([np.flatnonzero(test_labels == c)[0] for c in (2, 3, 5, 7)])
originals = test_images[show]                                           # (4, 1, 8, 8)
known = np.ones_like(originals)
known[:, :, 4:, :] = 0                                                  # bottom half missing
tries = np.repeat(originals, 10, axis=0)                                # (40, 1, 8, 8)
drawn, _ = invert(tries, np.tile(np.arange(10), len(show)), np.repeat(known, 10, axis=0))
fit = (((drawn - tries) * np.repeat(known, 10, axis=0)) ** 2).reshape(len(show), 10, -1).sum(-1)
best = drawn.reshape(len(show), 10, 1, 8, 8)[np.arange(len(show)), fit.argmin(1)]
restored = known * originals + (1 - known) * best                       # keep the known pixels
# Style transfer: find the z (the "style") of a 3 and of a 7, then draw other digits with it.
styled, style_z = invert(originals[[1, 3]], test_labels[show][[1, 3]], np.ones_like(originals[:2]))
carried = generate(mg.tensor(np.repeat(style_z.numpy(), 5, axis=0)),
                   mg.tensor(np.tile([0, 1, 4, 6, 8], 2)))              # (10, 1, 8, 8)

# --- 4. what the course builds ---
HOLE = "tab:cyan"                                   # missing pixels


def tile(images, nrow, pad=1):
    """(N, 1, h, w) in [-1, 1] -> one (rows, cols) image in [0, 1] with white gaps; NaN
    pixels (the missing ones) stay NaN, so that imshow paints them in the `bad` colour."""
    n, _, h, w = images.shape
    rows = -(-n // nrow)
    out = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad))
    for i, image in enumerate(images):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad):pad + r * (h + pad) + h,
            pad + c * (w + pad):pad + c * (w + pad) + w] = (image[0] + 1) / 2
    return out


import matplotlib  # noqa: E402  (a colour map whose "bad" pixels show the hole)
GREY = matplotlib.colormaps["gray"].with_extremes(bad=HOLE)

COURSE = [
    ("00", "what a GAN is (this lesson)", "1.1, 1.2, 2.1"),
    ("01-02", "autograd by hand; gradient checking: the engine's oracle", "2.3 (gradient descent)"),
    ("03-05", "tensors, layers, optimisers; convolution; fast kernels", "2.1 (the networks)"),
    ("06", "G and D in 1-D; the optimal D; the value 2 JS - log 4", "2.1, 2.3"),
    ("07", "the adversarial loop, the article's 8 steps", "2.2"),
    ("08-09", "objectives (minimax, LSGAN, ...); why training oscillates", "2.3, 5"),
    ("10-12", "DCGAN, WGAN-GP, conditional GAN", "3"),
    ("13-14", "mode collapse and its fixes; evaluating GANs", "5"),
    ("15-16", "inpainting, denoising, style transfer", "1.2, 4"),
]
print("\nthe course (lesson | what it builds | article section):")
for number, what, section in COURSE:
    print(f"  {number:6s} {what:62s} {section}")

fig = Figure(figsize=(13, 6.2))
grid = fig.add_gridspec(2, 3, height_ratios=[1.25, 1])
ax = fig.add_subplot(grid[0, 0])
ax.imshow(tile(synthesis, nrow=8), cmap=GREY, vmin=0, vmax=1)
ax.set_title("synthesis: row k asks for digit k\n(columns: the same z)", fontsize=9)
ax.set_yticks(np.arange(10) * 9 + 4.5)
ax.set_yticklabels(range(10), fontsize=7)
ax.set_xticks([])
ax = fig.add_subplot(grid[0, 1])
masked = np.where(known > 0, originals, np.nan)                         # the hole as NaN
restore_rows = np.concatenate([masked, restored, originals])            # (12, 1, 8, 8)
ax.imshow(np.ma.masked_invalid(tile(restore_rows, nrow=4)), cmap=GREY, vmin=0, vmax=1)
ax.set_title("restoration: the bottom half (cyan) is missing\n(rows: input, G's completion, "
             "original)", fontsize=9)
ax.axis("off")
ax = fig.add_subplot(grid[0, 2])
style_rows = np.concatenate([np.concatenate([originals[[i]], styled[[k]], carried[5 * k:5 * k + 5]])
                             for k, i in enumerate((1, 3))])                                     # (14, 1, 8, 8)
ax.imshow(tile(style_rows, nrow=7), cmap=GREY, vmin=0, vmax=1)
ax.set_title("style transfer: a digit, G's copy of it,\nthen 0, 1, 4, 6, 8 in its style (same z)",
             fontsize=9)
ax.axis("off")
ax = fig.add_subplot(grid[1, :])
ax.axis("off")
table = ax.table(cellText=[[n, w, s] for n, w, s in COURSE],
                 colLabels=["lesson", "what it builds", "article section"],
                 colWidths=[0.08, 0.62, 0.2], loc="center", cellLoc="left")
table.auto_set_font_size(False)
table.set_fontsize(8)
fig.suptitle(f"What minigan makes: one conditional GAN on 8x8 digits, {DIGIT_STEPS} steps "
             f"({time.perf_counter() - start:.0f} s here), and the course that builds it", fontsize=11)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "what_the_course_builds.png"), dpi=90)
print(f"wrote the figures to {args.out} in {time.perf_counter() - start:.1f}s")

# --- 5. the claim ---
check = claims.ClaimCheck(args.baseline, "the untrained G")
check.lower("mean distance from G's points to the nearest blob", distance_to_data(ring_points),
            distance_to_data(untrained_points), times=0.5)
check.higher("digits drawn as requested (nearest class mean)", agreement, untrained_agreement,
             by=0.3, at_least=0.5, fmt=".2f")
check.done("the counterfeiter learned the data from the police's verdicts alone")

# --- Questions ---
# 1. At the end D(x) is close to 1/2 for real and fake points alike. Why is that good
#    news for the counterfeiter? (Answer: the police can no longer tell them apart; at the
#    game's equilibrium D = 1/2 everywhere, lesson 06.)
# 2. Which line of this lesson tells G that the data has 8 blobs on a circle, or what a 7
#    looks like? (Answer: none. G only ever sees D's gradient; D only ever sees examples.
#    That is what "features nobody designed" means.)
# 3. The restoration tries all 10 labels for every damaged digit. Why?
#    (Answer: the label of a half digit is unknown too; the completion that fits the
#    known half best decides it, just as it decides the missing pixels.)
#
# --- Try this ---
# 1. python lessons/00_what_is_a_gan.py   (the full run, about a minute)
#    Expect: G's points sit on the blobs (mean distance 0.11 instead of 0.42), and the
#    columns of the digit grid differ more: with more steps G uses z, the "style".
# 2. python lessons/00_what_is_a_gan.py --quick --baseline
#    Expect: the untrained players: G's points sit in a clump at the centre, its digits
#    are blobs that match the requested label 10% of the time (chance), "claim fails".
