"""pix2pix (Isola et al. 2017) as a denoiser: noisy digit in, clean digit out.

A U-Net generator G maps the noisy image x to y = G(x). A conditional PatchGAN D sees
pairs side by side, (x, clean) as real and (x, G(x)) as fake, one logit per patch. G
minimises

    loss_G = adversarial(D(x, G(x))) + l1_weight * |G(x) - clean|_1      (l1_weight = 50)

The L1 term alone already denoises, but where the noise leaves a stroke uncertain it
settles for the safe answer, pixel by pixel (the median of the possible ones): faint,
thinned or broken strokes. The patch discriminator punishes what real digits never show,
so uncertain strokes come out whole and crisp. The same network trained with L1 alone is
trained next to it, on the same batches, as the baseline.

PSNR rewards the safe answer, so pix2pix gives up a little of it; what it buys is realism:
`realism` measures how far the results are from clean digits in the digit classifier's
feature space (a Fréchet distance, like FID) and how sure the classifier is of them.

    minigan train pix2pix --out runs/pix2pix     # the one training loop, with Pix2Pix's step
    minigan eval runs/pix2pix                    # PSNR, FD: noisy input vs L1 only vs pix2pix
"""
import os

import numpy as np

from .. import optim
from .. import random as mg_random
from ..creation import tensor
from ..data import mnist_5k
from ..gan import EpochSampler, check_finite, get_loss, grad_norm
from ..ops import cat
from .base import ImageApp, run_batches
from .image_metrics import psnr, ssim, to_unit
from .losses import l1, masked_l1, masked_l2
from .masks import NOISE_KINDS, add_noise, composite
from .patchgan import PatchDiscriminator
from .unet import UNet

__all__ = ["DEFAULTS", "Pix2Pix", "paired_gan_step", "l1_step", "build", "evaluate", "denoise",
           "realism"]

# NOTE: measured on 500 held-out digits after 1500 steps (FD: `realism`, lower = more real).
# - With the old, light noise (Gaussian std 0.5, 20% salt and pepper) there is nothing for
#   the adversarial term to buy: L1 alone already restores the digit (FD 0.93 Gaussian,
#   1.36 salt and pepper), and D's loss sat at log 4 = 1.386 (it could not tell), with or
#   without batch norm, l1_weight 10 or 50, lr_d 5e-4 or 1e-3 (pix2pix FD 1.1 to 2.9).
# - With heavier noise (std 0.8, 35%: `masks`) some strokes are really uncertain. L1 alone
#   then fades them; pix2pix keeps them. These defaults, seed 0
#   (`minigan train pix2pix --out RUN`, `minigan eval RUN`; 61 s of training on a shared,
#   loaded 2-core machine):
#                     Gaussian: PSNR  FD     confidence   salt and pepper: PSNR  FD      confidence
#       noisy input           10.97  155.6  0.832                          7.74  768.5   0.794
#       L1 only               20.37    5.61  0.938                        18.04   11.47  0.917
#       pix2pix               20.24    3.31  0.942                        17.98    7.22  0.919
#   pix2pix gives up 0.1 dB of PSNR and is 41% and 37% closer to real digits (FD), with
#   D's loss at 1.33-1.36 (it tells real from denoised, a little). The salt-and-pepper
#   gain is robust; the Gaussian one is not: lesson 15's full run (the same settings, other
#   batches, 300 test digits) measured FD 5.67 vs 8.06 salt and pepper but 4.96 vs 3.39
#   Gaussian (pix2pix worse).
# - D without batch norm: with it, D normalises the real and the fake batch each on its
#   own statistics and its gradient to G is noisier. Measured (the same run with
#   d_batch_norm=True: `Pix2Pix({"d_batch_norm": True})` through `gan.Trainer`, then
#   `evaluate(models=(app.G, app.G_l1))`): pix2pix FD 5.42 Gaussian and 8.43 salt and
#   pepper (L1 only: 5.61, 11.47), at 19.26 and 17.41 dB: 1.0 and 0.6 dB below L1 only,
#   for a third of the realism that D without batch norm buys.
DEFAULTS = dict(model="pix2pix", steps=1500, batch_size=16, lr_g=5e-4, lr_d=5e-4,
                betas=(0.5, 0.999), base=16, l1_weight=50.0, loss="nonsaturating",
                noise="mixed", seed=0, sample_every=100, checkpoint_every=500, baseline=True,
                d_batch_norm=False)


# --- one step of a conditional image-to-image GAN (pix2pix; the inpainter reuses it) ---
def paired_gan_step(G, D, opt_g, opt_d, g_input, target, condition, loss, l1_weight, mask=None,
                    l2_weight=0.0, step=0):
    """One D update and one G update. Returns the monitor's row.

    g_input:   what G sees, (N, Cin, H, W)
    target:    the true image, (N, 1, H, W)
    condition: what D sees next to the image, (N, Cc, H, W)
    mask:      None (pix2pix: L1 on all pixels), or the hole (inpainting: D judges the
               composite of known pixels and G's hole, and L1 counts the hole only)
    l2_weight: an L2 term on the hole as well (the context encoder; needs `mask`)
    """
    if l2_weight and mask is None:
        raise ValueError("paired_gan_step: l2_weight is an L2 term on the hole; it needs a mask")
    out = G(g_input)                                        # (N, 1, H, W)
    fake = out if mask is None else composite(out, target, mask)
    # --- D: (condition, real) -> real, (condition, fake) -> fake ---
    real_logits = D(cat([condition, target], 1))            # (N, 1, H/4, W/4)
    fake_logits = D(cat([condition, fake.detach()], 1))     # detached: no gradient to G
    loss_d = loss.d_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    check_finite(step, " before D's update", loss_d=loss_d.item())
    opt_d.step()
    # --- G: fool D, and stay close to the target in L1 (D frozen) ---
    D.requires_grad_(False)
    try:
        adv = loss.g_loss(D(cat([condition, fake], 1)))
        rec = l1(out, target) if mask is None else masked_l1(out, target, mask)
        loss_g = adv + l1_weight * rec
        if l2_weight:
            l2 = masked_l2(out, target, mask)
            loss_g = loss_g + l2_weight * l2
        opt_g.zero_grad()
        loss_g.backward()
    finally:
        D.requires_grad_(True)
    check_finite(step, " before G's update", loss_g=loss_g.item())
    opt_g.step()
    row = {"loss_d": loss_d.item(), "loss_g": adv.item(), "l1": rec.item(),
           "d_real": float(1 / (1 + np.exp(-real_logits.detach().numpy().mean()))),
           "d_fake": float(1 / (1 + np.exp(-fake_logits.detach().numpy().mean()))),
           "grad_norm_g": grad_norm(G.parameters())}
    if l2_weight:
        row["l2"] = l2.item()
    return row


def l1_step(G, opt, g_input, target, mask=None):
    """The baseline: the same generator, L1 only (on the hole if a mask is given)."""
    out = G(g_input)
    rec = l1(out, target) if mask is None else masked_l1(out, target, mask)
    opt.zero_grad()
    rec.backward()
    opt.step()
    return rec.item()


# --- models, and what the training loop needs ---
def build(cfg):
    """(G, D, G_l1): pix2pix's generator and discriminator, and the L1-only generator."""
    G = UNet(1, 1, cfg["base"])
    D = PatchDiscriminator(2, cfg["base"],               # sees (noisy, clean or denoised)
                           batch_norm=cfg.get("d_batch_norm", DEFAULTS["d_batch_norm"]))
    G_l1 = UNet(1, 1, cfg["base"])
    G_l1.load_state_dict(G.state_dict())                 # the same start: a fair comparison
    return G, D, G_l1


def denoise(G, noisy, batch_size=250):
    """G(noisy) in eval mode, as a NumPy array (N, 1, H, W)."""
    return run_batches(G, noisy, batch_size)


class Pix2Pix(ImageApp):
    """pix2pix and its L1-only twin, trained side by side on the same noisy batches."""

    DEFAULTS = DEFAULTS
    log_keys = ("loss_d", "l1", "l1_baseline")

    def __init__(self, cfg=None):
        super().__init__(cfg)
        cfg = self.cfg
        mg_random.manual_seed(cfg["seed"])
        self.clean = mnist_5k("train").tensors[0].numpy()             # (4500, 1, 28, 28)
        self.G, self.D, self.G_l1 = build(cfg)
        betas = tuple(cfg["betas"])
        self.opt_g = optim.Adam(self.G.parameters(), lr=cfg["lr_g"], betas=betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=cfg["lr_d"], betas=betas)
        self.opt_l1 = optim.Adam(self.G_l1.parameters(), lr=cfg["lr_g"], betas=betas)
        self.sampler = EpochSampler(len(self.clean), cfg["batch_size"])
        self.loss = get_loss(cfg["loss"])
        # A fixed strip for the samples: 8 noisy inputs (4 Gaussian, 4 salt-and-pepper).
        self.fixed_clean = mnist_5k("test").tensors[0].numpy()[:8]
        self.fixed_noisy = np.concatenate([
            add_noise(self.fixed_clean[:4], "gaussian", np.random.default_rng(1)),
            add_noise(self.fixed_clean[4:], "salt_pepper", np.random.default_rng(2))])

    def step(self, step):
        cfg = self.cfg
        target = self.clean[self.sampler.next()]                      # (B, 1, 28, 28)
        rng = np.random.default_rng([cfg["seed"], step])             # noise fixed by (seed, step)
        x, y = tensor(add_noise(target, cfg["noise"], rng)), tensor(target)
        row = paired_gan_step(self.G, self.D, self.opt_g, self.opt_d, x, y, x, self.loss,
                              cfg["l1_weight"], step=step)
        if cfg["baseline"]:
            row["l1_baseline"] = l1_step(self.G_l1, self.opt_l1, x, y)
        return row

    def parts(self):
        return {"G": self.G, "D": self.D, "G_l1": self.G_l1, "opt_g": self.opt_g,
                "opt_d": self.opt_d, "opt_l1": self.opt_l1, "sampler": self.sampler}

    def sample(self):
        """Rows of 8: noisy, L1 only, pix2pix, clean."""
        return np.concatenate([self.fixed_noisy, denoise(self.G_l1, self.fixed_noisy),
                               denoise(self.G, self.fixed_noisy), self.fixed_clean])


def realism(images, clean, classifier):
    """How much like real digits do `images` look, to the digit classifier?

    fd:         the Fréchet distance between their features and the clean digits'
                (`metrics.classifier_frechet_distance`): 0 for the clean digits
                themselves; blur, broken strokes and leftover noise all raise it
    confidence: the mean probability of the classifier's top class
    """
    from ..metrics import classifier_frechet_distance, classify
    return {"fd": classifier_frechet_distance(images, clean, classifier),
            "confidence": float(classify(classifier, images).max(1).mean())}


def evaluate(run_dir=None, models=None, n=500, seed=0, figure=None):
    """PSNR/SSIM of noisy input, L1-only and pix2pix against the clean held-out digits;
    how often the digit classifier still reads the right digit; and how real the results
    look (`realism`: the Fréchet distance to the clean digits, the classifier's confidence).

    `models` = (G, G_l1) to evaluate in-memory models; else loaded from `run_dir`.
    Returns {noise kind: {method: {"psnr": dB, "ssim", "class_kept", "fd", "confidence"}}}
    and writes the figure.
    """
    if models is None:
        app = Pix2Pix.from_run(run_dir)
        G, G_l1 = app.G, app.G_l1
    else:
        G, G_l1 = models
    from ..metrics import classify, load_digit_classifier
    clean, labels = (t.numpy()[:n] for t in mnist_5k("test").tensors)   # held out: never trained on
    digits = load_digit_classifier()
    result = {}
    shown = []
    for i, kind in enumerate(NOISE_KINDS):
        noisy = add_noise(clean, kind, np.random.default_rng([seed, i]))
        outputs = {"noisy input": noisy, "L1 only": denoise(G_l1, noisy), "pix2pix": denoise(G, noisy)}
        # PSNR/SSIM: closeness to the clean digit; class_kept: is it still legible as itself?
        # fd, confidence: does it look like a real digit at all? (what the GAN term is for)
        result[kind] = {name: {"psnr": float(psnr(to_unit(out), to_unit(clean)).mean()),
                               "ssim": float(ssim(to_unit(out), to_unit(clean)).mean()),
                               "class_kept": float(np.mean(classify(digits, out).argmax(1) == labels)),
                               **realism(out, clean, digits)}
                        for name, out in outputs.items()}
        shown.append((kind, {k: v[:8] for k, v in outputs.items()}))
    if figure is None and run_dir is not None:
        figure = os.path.join(run_dir, "plots", "denoising.png")
    if figure is not None:
        plot_denoising(shown, clean[:8], result, figure)
        result["figure"] = figure
    return result


def plot_denoising(shown, clean, result, path):
    """Rows per noise kind: noisy / L1 only / pix2pix / clean, with mean PSNR and FD in the
    labels."""
    from ..viz import plot_image_rows
    rows = []
    for kind, outputs in shown:
        for name, images in outputs.items():
            r = result[kind][name]
            rows.append({"label": f"{kind}: {name}\n{r['psnr']:.1f} dB, FD {r['fd']:.1f}",
                         "images": images})
        rows.append({"label": f"{kind}: clean", "images": clean})
    return plot_image_rows(rows, path, title="Denoising held-out digits (mean PSNR over the "
                           "test set; FD: Fréchet distance to the clean digits, lower = more real)")
