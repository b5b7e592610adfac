"""Inpainting: fill in the missing part of a digit, two ways, against two plain baselines.

1. Context encoder (Pathak et al. 2016), here with pix2pix's networks: a U-Net G sees the
   masked image and the mask, (N, 2, 28, 28), and paints the hole. Its loss is L1 + L2 on
   the hole only (the known pixels are given, not predicted) plus an adversarial term
   from a PatchGAN that judges the composite "known pixels + G's hole" next to the mask:

       loss_G = adversarial(D(mask, composite)) + l1_weight * |G - x|_1 + l2_weight * |G - x|^2
                                                  (both means over the hole)

   The U-Net's bottleneck gets dilated 3x3 convs (dilations 1, 2, 4). Without them an
   output pixel sees about 11 pixels each way, and the outer rows of a missing half are
   14 rows from the nearest known pixel: G would paint them blind. (Pathak et al. use a
   fully connected bottleneck for the same reason; Iizuka et al. 2017, dilated convs.)

2. Latent optimisation (Yeh et al. 2017): take a DCGAN generator trained on whole digits
   and search its latent space for the z whose image agrees with the known pixels:

       z* = argmin_z  sum_known (G(z) - x)^2 / #known  +  prior_weight * |z|^2 / dim

   The prior term (the Gaussian's -log p(z), up to constants) keeps z where G was trained,
   so G(z*) stays a digit; a few restarts, keeping the best fit, avoid bad minima. The
   restarts start from the best fits among `candidates` random z (forward passes only):
   gradient steps refine a digit that is roughly right, they rarely turn a 1 into an 8.
   The completion is G(z*) on the hole, the original everywhere else. It can only be as
   good as G: a DCGAN trained 2000 steps gave 8.7 dB hole PSNR, 8000 steps 9.6 dB.
   `evaluate` also reports the average of the restarts' images ("latent opt., averaged"):
   blurrier where they disagree, but closer in squared error (10.7 dB).

Baselines: mean fill (the hole takes the training set's mean image) and nearest
neighbour (the hole is copied from the training digit closest on the known pixels).
Measured on held-out digits: PSNR and SSIM on the hole only.
"""
import os

import numpy as np

from .. import optim
from .. import random as mg_random
from ..creation import randn, tensor
from ..data import mnist_5k
from ..gan import EpochSampler, RunFolder, RunFolderError, get_loss, load_run
from ..gan.recipes import defaults
from ..grad_mode import no_grad
from ..nn.utils import eval_mode
from .base import ImageApp, run_batches
from .image_metrics import psnr, ssim, to_unit
from .masks import MASK_KINDS, apply_mask, composite, make_masks
from .patchgan import PatchDiscriminator
from .pix2pix import l1_step, paired_gan_step  # noqa: F401  (l1_step: for lessons)
from .unet import UNet

__all__ = ["DEFAULTS", "ContextEncoder", "dcgan_config", "load_dcgan", "build", "complete",
           "latent_inpaint", "latent_fits",
           "combine_restarts", "mean_fill", "nearest_neighbour_fill", "evaluate", "context_input",
           "context_encoder_step"]

# Measured with these defaults (`minigan train inpaint --out RUN --quiet`, `minigan eval RUN`;
# 200 held-out digits, mean over the three mask kinds, hole L1 / PSNR dB / SSIM): train 420 s
# (context encoder ~100 s, DCGAN the rest; load average 2-3), eval 195 s (quiet machine).
#   mean fill               0.513 /  9.65 / 0.30
#   nearest neighbour       0.314 / 10.04 / 0.59
#   context encoder         0.241 / 11.74 / 0.67   (base 16, no dilations, L1 only: 0.289 / 10.26 / 0.58;
#                                                    base 32: 10.43 dB, + dilations: 11.30, + L2: 11.73)
#   latent optimisation     0.328 /  9.69 / 0.56   (best of 8 restarts; DCGAN 2000 steps, no screening,
#                                                    3 restarts: 0.388 / 8.74 / 0.47; 6000 steps: 9.41 dB;
#                                                    + 512 candidates: +0.2 dB)
#   latent opt., averaged   0.320 / 10.70 / 0.57   (the mean of the 8 restarts' images)
# Latent optimisation paints a sharp, plausible digit; where it guesses wrong, PSNR punishes
# it as much as the blurry mean fill, so the best fit alone only ties mean fill on PSNR.
# Averaging the restarts estimates the mean completion: +1.0 dB, clearly ahead of mean fill
# on all three figures, ahead of nearest neighbour on PSNR (not on L1 or SSIM).
DEFAULTS = dict(model="inpaint", steps=2500, batch_size=16, lr_g=5e-4, lr_d=2e-4,
                betas=(0.5, 0.999), base=32, dilations=(1, 2, 4), l1_weight=100.0,
                l2_weight=100.0, loss="nonsaturating",
                mask="mixed", seed=0, sample_every=200, checkpoint_every=500,
                dcgan_run=None, dcgan_steps=8000, dcgan_batch_size=64, dcgan_base=32,
                latent_dim=32, latent_steps=200, latent_lr=0.05, prior_weight=0.01, restarts=8,
                candidates=512)


# --- the context encoder ---
def build(cfg):
    """(G, D): G (masked image, mask) -> image; D (mask, image) -> patch logits."""
    return (UNet(2, 1, cfg["base"], dilations=tuple(cfg.get("dilations", (1,)))),
            PatchDiscriminator(2, cfg["base"]))


def context_encoder_step(G, D, opt_g, opt_d, g_input, target, mask, loss, l1_weight, l2_weight,
                         step=0):
    """One D and one G update: pix2pix's step, with the mask as D's condition and L1 + L2
    on the hole.

    D sees (mask, image): the real digit, or the composite of known pixels and G's hole.
    L2 is what PSNR measures (it pays for the mean of the possible strokes); L1 pays for
    their median, which keeps strokes sharper (SSIM). Both together measured best on all
    three metrics.
    """
    return paired_gan_step(G, D, opt_g, opt_d, g_input, target, mask, loss, l1_weight,
                           mask=mask, l2_weight=l2_weight, step=step)


def context_input(images, mask):
    """What the context encoder sees: the masked image and the mask, (N, 2, H, W)."""
    return np.concatenate([apply_mask(images, mask), mask], 1).astype(np.float32)


def complete(G, images, mask, batch_size=250):
    """The context encoder's completion: known pixels kept, the hole from G. NumPy out."""
    return composite(run_batches(G, context_input(images, mask), batch_size), images, mask)


class ContextEncoder(ImageApp):
    """The context encoder's GAN, for the one training loop. `minigan train inpaint` then
    trains the DCGAN behind latent optimisation (`dcgan_config`) in RUN/dcgan."""

    DEFAULTS = DEFAULTS
    log_keys = ("loss_d", "l1", "l2")

    def __init__(self, cfg=None):
        super().__init__(cfg)
        cfg = self.cfg
        mg_random.manual_seed(cfg["seed"])
        self.images = mnist_5k("train").tensors[0].numpy()            # (4500, 1, 28, 28)
        self.G, self.D = build(cfg)
        betas = tuple(cfg["betas"])
        self.opt_g = optim.Adam(self.G.parameters(), lr=cfg["lr_g"], betas=betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=cfg["lr_d"], betas=betas)
        self.sampler = EpochSampler(len(self.images), cfg["batch_size"])
        self.loss = get_loss(cfg["loss"])
        self.fixed = mnist_5k("test").tensors[0].numpy()[:8]
        self.fixed_mask = make_masks("mixed", 8, np.random.default_rng(1))

    def step(self, step):
        cfg = self.cfg
        x = self.images[self.sampler.next()]                          # (B, 1, 28, 28)
        mask = make_masks(cfg["mask"], len(x), np.random.default_rng([cfg["seed"], step]))
        g_in, target, m = tensor(context_input(x, mask)), tensor(x), tensor(mask)
        return context_encoder_step(self.G, self.D, self.opt_g, self.opt_d, g_in, target, m,
                                    self.loss, cfg["l1_weight"], cfg["l2_weight"], step=step)

    def parts(self):
        return {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d,
                "sampler": self.sampler}

    def sample(self):
        """Rows of 8: masked, completed, original."""
        return np.concatenate([apply_mask(self.fixed, self.fixed_mask),
                               complete(self.G, self.fixed, self.fixed_mask), self.fixed])


# --- the DCGAN for latent optimisation ---
def dcgan_config(cfg):
    """The recipe of the DCGAN behind latent optimisation, trained in RUN/dcgan: a narrower
    DCGAN (base 32) with a small latent (32) and an EMA of G, for `dcgan_steps` steps;
    not self-conditioned (latent optimisation needs G(z) differentiable in all of z)."""
    cfg = dict(DEFAULTS, **cfg)
    steps = cfg["dcgan_steps"]
    return dict(defaults("dcgan"), model="dcgan", steps=steps, batch_size=cfg["dcgan_batch_size"],
                latent_dim=cfg["latent_dim"], base=cfg["dcgan_base"], ema=0.999, clusters=0,
                seed=cfg["seed"], device="cpu", sample_every=max(steps // 5, 1),
                checkpoint_every=max(steps // 4, 1))


def load_dcgan(cfg, run_dir):
    """The (EMA) generator of this inpaint run's DCGAN (RUN/dcgan), or of `dcgan_run`."""
    folder = cfg.get("dcgan_run") or os.path.join(run_dir, "dcgan")
    model = RunFolder.open(folder).config["model"]
    if model == "inpaint-dcgan":
        raise RunFolderError(f"{folder} was written by minigan 0.1, whose inpainting DCGAN "
                             "this version cannot read; retrain: minigan train inpaint --out "
                             f"{run_dir} --overwrite")
    gan, _, _ = load_run(folder)
    return gan.generator()


def latent_inpaint(G, images, mask, steps=200, lr=0.05, prior_weight=0.01, restarts=3,
                   candidates=None, seed=0, batch_size=512, combine="best"):
    """Latent optimisation: (completion, G's image) for images (N, 1, H, W) with holes `mask`.

    Each image gets `restarts` starting points z; with `candidates` = K, they are the
    `restarts` best fits among K random draws (cheap: forward passes only), so the
    gradient steps start near the right digit instead of at a random one.
    combine="best" keeps the restart that fits the known pixels best (one sharp digit);
    combine="mean" averages all restarts' images (see `combine_restarts`).
    """
    if combine not in ("best", "mean"):                 # before minutes of optimisation
        raise ValueError(f"combine must be 'best' or 'mean', got {combine!r}")
    fit, generated = latent_fits(G, images, mask, steps, lr, prior_weight, restarts,
                                 candidates, seed, batch_size)
    chosen = combine_restarts(fit, generated, combine)
    return composite(chosen, images, mask), chosen


def combine_restarts(fit, generated, how):
    """fit (N, R), generated (N, R, 1, H, W) -> (N, 1, H, W).

    "best": the image of the best-fitting restart, G(z*): a sharp digit, a guess.
    "mean": the average over the restarts. Each restart lands on a digit that agrees with
    the known pixels; their average estimates the mean completion, which is what minimises
    the expected squared error (so PSNR), at the price of a blurrier hole where they disagree.
    """
    if how == "best":
        return generated[np.arange(len(fit)), fit.argmin(1)]
    if how == "mean":
        return generated.mean(1)
    raise ValueError(f"combine must be 'best' or 'mean', got {how!r}")


def latent_fits(G, images, mask, steps=200, lr=0.05, prior_weight=0.01, restarts=3,
                candidates=None, seed=0, batch_size=512):
    """The optimisation itself: (fit (N, R) on the known pixels, G(z*) (N, R, 1, H, W))."""
    saved = mg_random.get_rng_state()
    mg_random.manual_seed(seed)
    G.requires_grad_(False)                       # only z is optimised
    try:
        with eval_mode(G):
            fit, generated = _optimise_latents(G, images, mask, steps, lr, prior_weight,
                                               restarts, candidates, batch_size)
    finally:
        G.requires_grad_(True)
        mg_random.set_rng_state(saved)
    return fit, generated


def _optimise_latents(G, images, mask, steps, lr, prior_weight, restarts, candidates, batch_size):
    starts = _screen_latents(G, images, mask, restarts, candidates or restarts, batch_size)
    known_all = np.repeat(1 - mask, restarts, 0)                     # (N*R, 1, H, W)
    target_all = np.repeat(images, restarts, 0)
    fits, outs = [], []
    for start in range(0, len(known_all), batch_size):
        known = tensor(known_all[start:start + batch_size])
        target = tensor(target_all[start:start + batch_size])
        count = known.sum((1, 2, 3))                                  # (B,) known pixels
        z = tensor(starts[start:start + batch_size], requires_grad=True)        # (B, latent)
        opt = optim.Adam([z], lr=lr)
        for _ in range(steps):
            fit = (((G(z) - target) ** 2) * known).sum((1, 2, 3)) / count          # (B,)
            prior = (z ** 2).mean(1)                                             # (B,)
            loss = (fit + prior_weight * prior).sum()        # a sum: each z its own problem
            opt.zero_grad()
            loss.backward()
            opt.step()
        with no_grad():
            out = G(z)
            fit = ((((out - target) ** 2) * known).sum((1, 2, 3)) / count).numpy()
        fits.append(fit)
        outs.append(out.numpy())
    fit = np.concatenate(fits).reshape(len(images), restarts)
    generated = np.concatenate(outs).reshape(len(images), restarts, *images.shape[1:])
    return fit, generated


@no_grad()
def _screen_latents(G, images, mask, keep, candidates, batch_size):
    """(N*keep, latent): per image, the `keep` of `candidates` random z that fit best."""
    n = len(images)
    z = randn(n * candidates, G.latent_dim).numpy().reshape(n, candidates, -1)   # (N, K, latent)
    if candidates == keep:
        return z.reshape(n * keep, -1)
    per = max(batch_size // candidates, 1)                            # images per forward pass
    best = []
    for i in range(0, n, per):
        zs = z[i:i + per]                                             # (b, K, latent)
        out = G(tensor(zs.reshape(-1, zs.shape[2]))).numpy()          # (b*K, 1, H, W)
        out = out.reshape(len(zs), candidates, *images.shape[1:])     # (b, K, 1, H, W)
        fit = (((out - images[i:i + per, None]) ** 2) * (1 - mask[i:i + per, None])).sum((2, 3, 4))
        best.append(np.take_along_axis(zs, np.argsort(fit, 1)[:, :keep, None], 1))  # (b, keep, latent)
    return np.concatenate(best).reshape(n * keep, -1)


# --- baselines ---
def mean_fill(images, mask, train_images):
    """The hole takes the training set's mean image."""
    return composite(np.broadcast_to(train_images.mean(0), images.shape), images, mask)


def nearest_neighbour_fill(images, mask, train_images):
    """The hole is copied from the training digit closest to the image on the known pixels."""
    known = (1 - mask).reshape(len(images), -1).astype(np.float64)  # (N, P)
    x = images.reshape(len(images), -1).astype(np.float64)           # (N, P)
    t = train_images.reshape(len(train_images), -1).astype(np.float64)  # (M, P)
    # sum_p k_p (x_p - t_p)^2 = sum k x^2 - 2 (k x) . t + k . t^2
    d = (known * x * x).sum(1, keepdims=True) - 2 * (known * x) @ t.T + known @ (t * t).T  # (N, M)
    nearest = train_images[d.argmin(1)]
    return composite(nearest, images, mask)


# --- evaluation ---
def hole_scores(completed, images, mask):
    """PSNR and SSIM on the hole only. PSNR pools the squared error of every hole pixel of
    every image (a per-image mean would be infinite as soon as one hole is filled exactly,
    e.g. a square on the empty background); SSIM is the mean over images."""
    n, _, h, w = images.shape
    pooled = [a.reshape(1, n * h, w) for a in (to_unit(completed), to_unit(images), mask)]
    return {"l1": float((np.abs(completed - images) * mask).sum() / mask.sum()),
            "psnr": float(psnr(pooled[0], pooled[1], mask=pooled[2])[0]),
            "ssim": float(ssim(to_unit(completed), to_unit(images), mask=mask).mean())}


def evaluate(run_dir=None, models=None, n=200, seed=0, figure=None, cfg=None):
    """Hole PSNR/SSIM of every method, per mask kind, on held-out digits; writes the figure.

    `models` = (G_context, G_dcgan) for in-memory models (either may be None: skipped).
    """
    cfg = dict(DEFAULTS, **(cfg or {}))
    if models is None:
        app = ContextEncoder.from_run(run_dir)
        cfg = app.cfg
        models = (app.G, load_dcgan(cfg, run_dir))
    G, G_dcgan = models
    train_images = mnist_5k("train").tensors[0].numpy()
    images = mnist_5k("test").tensors[0].numpy()[:n]                  # held out
    result, shown = {}, {}
    for i, kind in enumerate(MASK_KINDS):
        mask = make_masks(kind, len(images), np.random.default_rng([seed, i]))
        methods = {"mean fill": mean_fill(images, mask, train_images),
                   "nearest neighbour": nearest_neighbour_fill(images, mask, train_images)}
        if G is not None:
            methods["context encoder"] = complete(G, images, mask)
        if G_dcgan is not None:
            fit, generated = latent_fits(G_dcgan, images, mask, cfg["latent_steps"], cfg["latent_lr"],
                                         cfg["prior_weight"], cfg["restarts"], cfg.get("candidates"),
                                         seed=seed)
            for how, name in (("best", "latent optimisation"), ("mean", "latent opt., averaged")):
                methods[name] = composite(combine_restarts(fit, generated, how), images, mask)
        result[kind] = {name: hole_scores(out, images, mask) for name, out in methods.items()}
        shown[kind] = (apply_mask(images[:5], mask[:5]), mask[:5],
                       {k: v[:5] for k, v in methods.items()}, images[:5])
    result["mean over masks"] = {name: {metric: float(np.mean([result[k][name][metric] for k in MASK_KINDS]))
                                        for metric in scores} for name, scores in result[MASK_KINDS[0]].items()}
    if figure is None and run_dir is not None:
        figure = os.path.join(run_dir, "plots", "inpainting.png")
    if figure is not None:
        plot_inpainting(shown, result, figure)
        result["figure"] = figure
    return result


def plot_inpainting(shown, result, path):
    """Rows: masked input (the hole in red), each method's completion (with its hole PSNR),
    the original; columns: five held-out digits per mask kind."""
    from ..viz import plot_image_rows
    kinds = list(shown)
    methods = list(shown[kinds[0]][2])
    per = len(shown[kinds[0]][3])

    def joined(pick):                               # the kinds side by side: (K*per, 1, H, W)
        return np.concatenate([pick(shown[k]) for k in kinds])

    def captions(name):                             # the PSNR under each group's middle image
        return [f"{result[k][name]['psnr']:.1f} dB" if c == per // 2 else ""
                for k in kinds for c in range(per)]

    rows = [{"label": "masked input", "images": joined(lambda s: s[0]), "holes": joined(lambda s: s[1])}]
    rows += [{"label": name, "images": joined(lambda s, n=name: s[2][n]), "captions": captions(name)}
             for name in methods]
    rows.append({"label": "original", "images": joined(lambda s: s[3])})
    return plot_image_rows(rows, path, group_titles=[f"{k} hole" for k in kinds],
                           title="Inpainting held-out digits (hole PSNR, mean over the test images)")
