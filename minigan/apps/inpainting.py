"""Inpainting: fill in the missing part of a digit, two ways, against two plain baselines.

1. Context encoder (Pathak et al. 2016), here with pix2pix's networks: a U-Net G sees the
   masked image and the mask, (N, 2, 28, 28), and paints the hole. Its loss is L1 on the
   hole only (the known pixels are given, not predicted) plus an adversarial term from a
   PatchGAN that judges the composite "known pixels + G's hole" next to the mask:

       loss_G = adversarial(D(mask, composite)) + l1_weight * |G - x|_1 on the hole

2. Latent optimisation (Yeh et al. 2017): take a DCGAN generator trained on whole digits
   and search its latent space for the z whose image agrees with the known pixels:

       z* = argmin_z  sum_known (G(z) - x)^2 / #known  +  prior_weight * |z|^2 / dim

   The prior term (the Gaussian's -log p(z), up to constants) keeps z where G was trained,
   so G(z*) stays a digit; a few random restarts, keeping the best fit, avoid bad minima.
   The completion is G(z*) on the hole, the original everywhere else.

Baselines: mean fill (the hole takes the training set's mean image) and nearest
neighbour (the hole is copied from the training digit closest on the known pixels).
Measured on held-out digits: PSNR and SSIM on the hole only.
"""
import os
import time

import numpy as np

from .. import optim
from .. import random as mg_random
from ..creation import randn, tensor
from ..data import mnist_5k
from ..gan import DCGANDiscriminator, DCGANGenerator, Trainer, dcgan_init, get_loss
from ..gan.training import _EpochSampler
from ..grad_mode import no_grad
from ..ops import cat
from .image_metrics import psnr, ssim, to_unit
from .masks import MASK_KINDS, apply_mask, composite, make_masks
from .patchgan import PatchDiscriminator
from .pix2pix import l1_step, paired_gan_step  # noqa: F401  (l1_step: for lessons)
from .run_folder import RunFolder, read_config
from .unet import UNet

__all__ = ["DEFAULTS", "build", "complete", "train", "train_dcgan", "latent_inpaint",
           "mean_fill", "nearest_neighbour_fill", "evaluate", "context_input"]

DEFAULTS = dict(model="inpaint", steps=2500, batch_size=16, lr_g=5e-4, lr_d=2e-4,
                betas=(0.5, 0.999), base=16, l1_weight=100.0, loss="nonsaturating",
                mask="mixed", seed=0, sample_every=200, checkpoint_every=500,
                dcgan_run=None, dcgan_steps=2000, dcgan_batch_size=64, dcgan_base=32,
                latent_dim=32, latent_steps=200, latent_lr=0.05, prior_weight=0.01, restarts=3)


# --- the context encoder ---
def build(cfg):
    """(G, D): G (masked image, mask) -> image; D (mask, image) -> patch logits."""
    return UNet(2, 1, cfg["base"]), PatchDiscriminator(2, cfg["base"])


def context_input(images, mask):
    """What the context encoder sees: the masked image and the mask, (N, 2, H, W)."""
    return np.concatenate([apply_mask(images, mask), mask], 1).astype(np.float32)


@no_grad()
def complete(G, images, mask, batch_size=250):
    """The context encoder's completion: known pixels kept, the hole from G. NumPy out."""
    was = G.training
    G.eval()
    try:
        out = np.concatenate([G(tensor(context_input(images[i:i + batch_size], mask[i:i + batch_size]))).numpy()
                              for i in range(0, len(images), batch_size)])
    finally:
        G.train(was)
    return composite(out, images, mask)


def train(cfg, run_dir=None, resume=False, progress=False, log_every=None):
    """Train the context encoder, then the DCGAN for latent optimisation (unless given)."""
    cfg = dict(DEFAULTS, **cfg)
    mg_random.manual_seed(cfg["seed"])
    images = mnist_5k("train").tensors[0].numpy()                    # (4500, 1, 28, 28)
    G, D = build(cfg)
    opt_g = optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=tuple(cfg["betas"]))
    opt_d = optim.Adam(D.parameters(), lr=cfg["lr_d"], betas=tuple(cfg["betas"]))
    sampler = _EpochSampler(len(images), cfg["batch_size"])
    folder = RunFolder(run_dir, cfg, resume)
    step = 0
    if resume:
        state = folder.load_checkpoint()
        for obj, key in ((G, "G"), (D, "D"), (opt_g, "opt_g"), (opt_d, "opt_d"), (sampler, "sampler")):
            obj.load_state_dict(state[key])
        step = int(state["step"])
        folder.truncate(step - 1)
    loss = get_loss(cfg["loss"])
    fixed = mnist_5k("test").tensors[0].numpy()[:8]
    fixed_mask = make_masks("mixed", 8, np.random.default_rng(1))

    def checkpoint():
        folder.save_checkpoint({"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(),
                                "opt_d": opt_d.state_dict(), "sampler": sampler.state_dict(),
                                "step": step})

    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg["steps"], initial=step, desc="inpaint", unit="step")
    while step < cfg["steps"]:
        t0 = time.perf_counter()
        x = images[sampler.next()]                                    # (B, 1, 28, 28)
        mask = make_masks(cfg["mask"], len(x), np.random.default_rng([cfg["seed"], step]))
        g_in, target, m = tensor(context_input(x, mask)), tensor(x), tensor(mask)
        row = {"step": step}
        row.update(paired_gan_step(G, D, opt_g, opt_d, g_in, target, m, loss, cfg["l1_weight"], mask=m))
        row["time"] = time.perf_counter() - t0
        folder.monitor.record(row)
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss_d=f"{folder.monitor.last('loss_d'):.3f}", l1=f"{folder.monitor.last('l1'):.3f}")
        elif log_every and step % log_every == 0:
            print(f"inpaint step {step:5d}  loss_d {folder.monitor.last('loss_d'):.3f}  "
                  f"loss_g {folder.monitor.last('loss_g'):.3f}  hole l1 {folder.monitor.last('l1'):.4f}  "
                  f"{time.perf_counter() - start:.0f}s", flush=True)
        if step % cfg["sample_every"] == 0 or step == cfg["steps"]:
            strip = np.concatenate([apply_mask(fixed, fixed_mask), complete(G, fixed, fixed_mask), fixed])
            folder.save_samples(strip, step)                           # rows: masked, completed, original
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"]:
            checkpoint()
    if bar is not None:
        bar.close()
    G_dcgan = None
    if cfg["dcgan_run"] is None:
        G_dcgan = train_dcgan(cfg, images, None if run_dir is None else os.path.join(run_dir, "dcgan"),
                              progress=progress, log_every=log_every)
    return G, D, G_dcgan, folder.monitor


# --- the DCGAN for latent optimisation ---
def train_dcgan(cfg, images, run_dir=None, progress=False, log_every=None):
    """A small DCGAN (gan.Trainer) on the training digits; returns its (EMA) generator."""
    cfg = dict(DEFAULTS, **cfg)
    G = DCGANGenerator(cfg["latent_dim"], 1, 28, base=cfg["dcgan_base"])
    D = DCGANDiscriminator(1, 28, base=cfg["dcgan_base"])
    G.apply(dcgan_init), D.apply(dcgan_init)
    trainer = Trainer(G, D, tensor(images), loss="nonsaturating", batch_size=cfg["dcgan_batch_size"],
                      ema_decay=0.999, run_dir=run_dir, sample_every=max(cfg["dcgan_steps"] // 5, 1),
                      checkpoint_every=cfg["dcgan_steps"],
                      config={"model": "inpaint-dcgan", "latent_dim": cfg["latent_dim"],
                              "base": cfg["dcgan_base"], "steps": cfg["dcgan_steps"]})
    trainer.fit(cfg["dcgan_steps"], progress=progress, log_every=log_every)
    return trainer.generator_for_sampling()


def load_dcgan(cfg, run_dir):
    """The DCGAN generator of this inpaint run (RUN/dcgan), or of the `dcgan_run` folder."""
    from ..serialization import load
    if cfg.get("dcgan_run"):
        from ..gan.commands import load_run
        trainer, _, _ = load_run(cfg["dcgan_run"])
        return trainer.generator_for_sampling()
    G = DCGANGenerator(cfg["latent_dim"], 1, 28, base=cfg["dcgan_base"])
    state = load(os.path.join(run_dir, "dcgan", "checkpoints", "last.npz"))
    if "ema" in state:                          # the EMA weights make the smoother generator
        from ..optim import EMA
        ema = EMA(G, decay=0.999)
        ema.load_state_dict(state["ema"])
        G.load_state_dict(state["G"])
        ema.copy_to(G)
    else:
        G.load_state_dict(state["G"])
    return G


def latent_inpaint(G, images, mask, steps=200, lr=0.05, prior_weight=0.01, restarts=3,
                   seed=0, batch_size=512):
    """Latent optimisation: (completion, G(z*)) for images (N, 1, H, W) with holes `mask`."""
    G.eval()
    G.requires_grad_(False)                       # only z is optimised
    saved = mg_random.get_rng_state()
    mg_random.manual_seed(seed)
    try:
        known_all = np.repeat(1 - mask, restarts, 0)                 # (N*R, 1, H, W)
        target_all = np.repeat(images, restarts, 0)
        best_fit, best_img = [], []
        for start in range(0, len(known_all), batch_size):
            known = tensor(known_all[start:start + batch_size])
            target = tensor(target_all[start:start + batch_size])
            count = known.sum((1, 2, 3))                              # (B,) known pixels
            z = randn(len(known), G.latent_dim, requires_grad=True)
            opt = optim.Adam([z], lr=lr)
            for _ in range(steps):
                fit = (((G(z) - target) ** 2) * known).sum((1, 2, 3)) / count      # (B,)
                prior = (z ** 2).mean(1)                                         # (B,)
                loss = (fit + prior_weight * prior).sum()    # a sum: each z its own problem
                opt.zero_grad()
                loss.backward()
                opt.step()
            with no_grad():
                out = G(z)
                fit = ((((out - target) ** 2) * known).sum((1, 2, 3)) / count).numpy()
            best_fit.append(fit)
            best_img.append(out.numpy())
        fit = np.concatenate(best_fit).reshape(len(images), restarts)
        generated = np.concatenate(best_img).reshape(len(images), restarts, *images.shape[1:])
        chosen = generated[np.arange(len(images)), fit.argmin(1)]     # (N, 1, H, W) best restart
    finally:
        G.requires_grad_(True)
        mg_random.set_rng_state(saved)
    return composite(chosen, images, mask), chosen


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
        cfg = dict(DEFAULTS, **read_config(run_dir))
        G, _ = build(cfg)
        G.load_state_dict(RunFolder(run_dir, resume=True).load_checkpoint(restore_rng=False)["G"])
        models = (G, load_dcgan(cfg, run_dir))
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
            methods["latent optimisation"] = latent_inpaint(
                G_dcgan, images, mask, cfg["latent_steps"], cfg["latent_lr"], cfg["prior_weight"],
                cfg["restarts"], seed=seed)[0]
        result[kind] = {name: hole_scores(out, images, mask) for name, out in methods.items()}
        shown[kind] = (apply_mask(images[:5], mask[:5]), {k: v[:5] for k, v in methods.items()}, images[:5])
    result["mean over masks"] = {name: {metric: float(np.mean([result[k][name][metric] for k in MASK_KINDS]))
                                        for metric in scores} for name, scores in result[MASK_KINDS[0]].items()}
    if figure is None and run_dir is not None:
        figure = os.path.join(run_dir, "plots", "inpainting.png")
    if figure is not None:
        plot_inpainting(shown, result, figure)
        result["figure"] = figure
    return result


def plot_inpainting(shown, result, path):
    """Rows: masked input, each method's completion (with its hole PSNR), the original;
    columns: five held-out digits per mask kind."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    kinds = list(shown)
    methods = list(shown[kinds[0]][1])
    names = ["masked input"] + methods + ["original"]
    per = len(shown[kinds[0]][2])
    fig, axes = plt.subplots(len(names), per * len(kinds), figsize=(per * len(kinds) * 0.75 + 1.8,
                                                                     len(names) * 0.85 + 0.6))
    for k, kind in enumerate(kinds):
        masked, outs, originals = shown[kind]
        for r, name in enumerate(names):
            batch = masked if name == "masked input" else originals if name == "original" else outs[name]
            for c in range(per):
                ax = axes[r, k * per + c]
                ax.imshow(to_unit(batch[c, 0]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_xticks([]), ax.set_yticks([])
                if r == 0 and c == per // 2:
                    ax.set_title(f"{kind} hole", fontsize=9)
                if name in methods and c == per // 2:
                    ax.set_xlabel(f"{result[kind][name]['psnr']:.1f} dB", fontsize=7, labelpad=1)
            if k == 0:
                axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle("Inpainting held-out digits (hole PSNR, mean over the test images)", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
