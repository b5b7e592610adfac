"""pix2pix (Isola et al. 2017) as a denoiser: noisy digit in, clean digit out.

A U-Net generator G maps the noisy image x to y = G(x). A conditional PatchGAN D sees
pairs side by side, (x, clean) as real and (x, G(x)) as fake, one logit per patch. G
minimises

    loss_G = adversarial(D(x, G(x))) + l1_weight * |G(x) - clean|_1      (l1_weight = 50)

The L1 term alone already denoises, but it pays for every uncertain pixel with grey blur
(the mean of the possible answers); the patch discriminator punishes blur, so strokes come
out crisp. The same network trained with L1 alone is trained next to it, on the same
batches, as the baseline.

    >>> result = train(dict(DEFAULTS, steps=600), "runs/pix2pix")
    >>> evaluate("runs/pix2pix")          # PSNR: noisy input vs L1 only vs pix2pix
"""
import os
import time

import numpy as np

from .. import optim
from .. import random as mg_random
from ..creation import tensor
from ..data import mnist_5k
from ..gan import EpochSampler, get_loss, grad_norm
from ..grad_mode import no_grad
from ..ops import cat
from .image_metrics import psnr, ssim, to_unit
from .losses import l1, masked_l1, masked_l2
from .masks import NOISE_KINDS, add_noise, composite
from .patchgan import PatchDiscriminator
from ..gan.run_folder import RunFolder, read_config
from .unet import UNet

__all__ = ["DEFAULTS", "paired_gan_step", "l1_step", "build", "train", "evaluate", "denoise"]

DEFAULTS = dict(model="pix2pix", steps=1500, batch_size=16, lr_g=5e-4, lr_d=5e-4,
                betas=(0.5, 0.999), base=16, l1_weight=50.0, loss="nonsaturating",
                noise="mixed", seed=0, sample_every=100, checkpoint_every=500, baseline=True)


# --- one step of a conditional image-to-image GAN (pix2pix; the inpainter reuses it) ---
def paired_gan_step(G, D, opt_g, opt_d, g_input, target, condition, loss, l1_weight, mask=None,
                    l2_weight=0.0):
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


# --- models and data ---
def build(cfg):
    """(G, D, G_l1): pix2pix's generator and discriminator, and the L1-only generator."""
    G = UNet(1, 1, cfg["base"])
    D = PatchDiscriminator(2, cfg["base"])               # sees (noisy, clean or denoised)
    G_l1 = UNet(1, 1, cfg["base"])
    G_l1.load_state_dict(G.state_dict())                 # the same start: a fair comparison
    return G, D, G_l1


@no_grad()
def denoise(G, noisy, batch_size=250):
    """G(noisy) in eval mode, as a NumPy array (N, 1, H, W)."""
    was = G.training
    G.eval()
    try:
        return np.concatenate([G(tensor(noisy[i:i + batch_size])).numpy()
                               for i in range(0, len(noisy), batch_size)])
    finally:
        G.train(was)


def train(cfg, run_dir=None, resume=False, progress=False, log_every=None):
    """Train pix2pix (and the L1-only baseline) for cfg["steps"]; returns (G, D, G_l1, monitor)."""
    cfg = dict(DEFAULTS, **cfg)
    mg_random.manual_seed(cfg["seed"])
    clean = mnist_5k("train").tensors[0].numpy()                     # (4500, 1, 28, 28)
    G, D, G_l1 = build(cfg)
    opt_g = optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=tuple(cfg["betas"]))
    opt_d = optim.Adam(D.parameters(), lr=cfg["lr_d"], betas=tuple(cfg["betas"]))
    opt_l1 = optim.Adam(G_l1.parameters(), lr=cfg["lr_g"], betas=tuple(cfg["betas"]))
    sampler = EpochSampler(len(clean), cfg["batch_size"])
    folder = RunFolder(run_dir, cfg, resume)
    step = 0
    if resume:
        state = folder.load_checkpoint()
        for module, key in ((G, "G"), (D, "D"), (G_l1, "G_l1"), (opt_g, "opt_g"),
                            (opt_d, "opt_d"), (opt_l1, "opt_l1"), (sampler, "sampler")):
            module.load_state_dict(state[key])
        step = int(state["step"])
        folder.truncate(step - 1)
    loss = get_loss(cfg["loss"])
    # A fixed strip for the samples: 8 noisy inputs (4 Gaussian, 4 salt-and-pepper).
    fixed_clean = mnist_5k("test").tensors[0].numpy()[:8]
    fixed_noisy = np.concatenate([add_noise(fixed_clean[:4], "gaussian", np.random.default_rng(1)),
                                  add_noise(fixed_clean[4:], "salt_pepper", np.random.default_rng(2))])

    def checkpoint():
        folder.save_checkpoint({"G": G.state_dict(), "D": D.state_dict(), "G_l1": G_l1.state_dict(),
                                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                                "opt_l1": opt_l1.state_dict(), "sampler": sampler.state_dict(),
                                "step": step})

    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg["steps"], initial=step, desc="pix2pix", unit="step")
    while step < cfg["steps"]:
        t0 = time.perf_counter()
        target = clean[sampler.next()]                                # (B, 1, 28, 28)
        rng = np.random.default_rng([cfg["seed"], step])             # noise fixed by (seed, step)
        noisy = add_noise(target, cfg["noise"], rng)
        x, y = tensor(noisy), tensor(target)
        row = {"step": step}
        row.update(paired_gan_step(G, D, opt_g, opt_d, x, y, x, loss, cfg["l1_weight"]))
        if cfg["baseline"]:
            row["l1_baseline"] = l1_step(G_l1, opt_l1, x, y)
        row["time"] = time.perf_counter() - t0
        folder.monitor.record(row)
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss_d=f"{folder.monitor.last('loss_d'):.3f}",
                            l1=f"{folder.monitor.last('l1'):.3f}")
        elif log_every and step % log_every == 0:
            print(f"pix2pix step {step:5d}  loss_d {folder.monitor.last('loss_d'):.3f}  "
                  f"loss_g {folder.monitor.last('loss_g'):.3f}  l1 {folder.monitor.last('l1'):.4f}  "
                  f"l1 baseline {folder.monitor.last('l1_baseline'):.4f}  "
                  f"{time.perf_counter() - start:.0f}s", flush=True)
        if step % cfg["sample_every"] == 0 or step == cfg["steps"]:
            strip = np.concatenate([fixed_noisy, denoise(G_l1, fixed_noisy),
                                    denoise(G, fixed_noisy), fixed_clean])
            folder.save_samples(strip, step)                          # rows: noisy, L1, pix2pix, clean
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"]:
            checkpoint()
    if bar is not None:
        bar.close()
    return G, D, G_l1, folder.monitor


def load(run_dir):
    cfg = dict(DEFAULTS, **read_config(run_dir))
    G, D, G_l1 = build(cfg)
    state = RunFolder(run_dir, resume=True).load_checkpoint(restore_rng=False)
    G.load_state_dict(state["G"]), D.load_state_dict(state["D"]), G_l1.load_state_dict(state["G_l1"])
    return cfg, G, D, G_l1


def evaluate(run_dir=None, models=None, n=500, seed=0, figure=None):
    """PSNR/SSIM of noisy input, L1-only and pix2pix against the clean held-out digits, and
    how often the digit classifier still reads the right digit.

    `models` = (G, G_l1) to evaluate in-memory models; else loaded from `run_dir`.
    Returns {noise kind: {method: {"psnr": dB, "ssim": ...}}} and writes the figure.
    """
    if models is None:
        _, G, _, G_l1 = load(run_dir)
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
        result[kind] = {name: {"psnr": float(psnr(to_unit(out), to_unit(clean)).mean()),
                               "ssim": float(ssim(to_unit(out), to_unit(clean)).mean()),
                               "class_kept": float(np.mean(classify(digits, out).argmax(1) == labels))}
                        for name, out in outputs.items()}
        shown.append((kind, {k: v[:8] for k, v in outputs.items()}))
    if figure is None and run_dir is not None:
        figure = os.path.join(run_dir, "plots", "denoising.png")
    if figure is not None:
        plot_denoising(shown, clean[:8], result, figure)
        result["figure"] = figure
    return result


def plot_denoising(shown, clean, result, path):
    """Rows per noise kind: noisy / L1 only / pix2pix / clean, with mean PSNR in the labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = []
    for kind, outputs in shown:
        for name, images in outputs.items():
            rows.append((f"{kind}: {name}\n{result[kind][name]['psnr']:.1f} dB", images))
        rows.append((f"{kind}: clean", clean))
    n = len(clean)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9 + 1.6, len(rows) * 0.95))
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(to_unit(images[c, 0]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle("Denoising held-out digits (mean PSNR over the test set)", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
