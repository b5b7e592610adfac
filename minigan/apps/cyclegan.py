"""CycleGAN (Zhu et al. 2017): translate between two domains with no pairs at all.

Domains here: A = MNIST digits as written, B = the same kind of digits with bold strokes
(each stroke grown by one pixel). A and B come from DISJOINT halves of the training split,
so no digit is ever seen in both forms: the networks cannot learn "this image goes to
that one", only "images like these go to images like those".

Two generators, G_AB: A -> B and G_BA: B -> A (small U-Nets), two PatchGAN
discriminators, D_A and D_B, least-squares GAN losses. The generators minimise

    adv(D_B(G_AB(a))) + adv(D_A(G_BA(b)))                           look like the other domain
    + cycle_weight    * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)   come back
    + identity_weight * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)              leave B alone in G_AB

The cycle terms are what make the translation keep the digit: a 3 turned into any bold
digit would satisfy D_B, but only a bold 3 can be turned back into this 3.

Measured on held-out digits: the class survives (minigan's digit classifier gives the
translated image the original's label) and the domain changes (a small plain-vs-bold
classifier, trained here, puts the translation in the target domain).
"""
import os
import time

import numpy as np

from .. import nn, optim
from .. import random as mg_random
from ..creation import tensor
from ..data import mnist_5k
from ..gan import EpochSampler, get_loss, grad_norm
from ..grad_mode import no_grad
from .losses import cycle_loss, identity_loss
from .patchgan import PatchDiscriminator
from ..gan.run_folder import RunFolder, read_config
from .unet import UNet

__all__ = ["DEFAULTS", "bold", "domains", "build", "cyclegan_step", "translate", "train",
           "DomainClassifier", "train_domain_classifier", "evaluate"]

# NOTE: with the paper's weights (cycle 10, identity 5, D lr 2e-4) these small generators
# sit near the identity map for hundreds of steps (both terms are zero there): after 1000
# steps only 52% of bold->plain translations looked plain. Lighter reconstruction terms
# and a faster D reached 79% in 500 steps (class kept either way: 93-96%).
DEFAULTS = dict(model="cyclegan", steps=800, batch_size=8, lr_g=5e-4, lr_d=5e-4,
                betas=(0.5, 0.999), base=16, loss="lsgan", cycle_weight=5.0,
                identity_weight=1.0, seed=0, sample_every=100, checkpoint_every=500,
                domain_steps=300)


# --- the two domains ---
def bold(images):
    """Strokes grown by one pixel: the max over each pixel and its 4 neighbours (a dilation)."""
    p = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0)   # (N, 1, H+2, W+2)
    c = p[:, :, 1:-1, 1:-1]
    return np.maximum.reduce([c, p[:, :, :-2, 1:-1], p[:, :, 2:, 1:-1],
                              p[:, :, 1:-1, :-2], p[:, :, 1:-1, 2:]]).astype(np.float32)


def domains(split="train"):
    """(A images, A labels, B images, B labels). The train split is halved, A from the first
    half and B (made bold) from the second: no digit appears in both. The test split gives
    every digit in both forms (for measuring only)."""
    images, labels = (t.numpy() for t in mnist_5k(split).tensors)
    if split == "test":
        return images, labels, bold(images), labels
    half = len(images) // 2
    return images[:half], labels[:half], bold(images[half:]), labels[half:]


# --- models and the training step ---
def build(cfg):
    """(G_AB, G_BA, D_A, D_B)."""
    return (UNet(1, 1, cfg["base"]), UNet(1, 1, cfg["base"]),
            PatchDiscriminator(1, cfg["base"]), PatchDiscriminator(1, cfg["base"]))


def cyclegan_step(G_AB, G_BA, D_A, D_B, opt_g, opt_d, a, b, loss, cycle_weight=5.0,
                  identity_weight=1.0):
    """One update of both generators, then one of both discriminators. Returns a row."""
    # --- generators (discriminators frozen) ---
    fake_b, fake_a = G_AB(a), G_BA(b)                     # (N, 1, H, W) each
    rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)             # the round trips
    D_A.requires_grad_(False), D_B.requires_grad_(False)
    try:
        adv = loss.g_loss(D_B(fake_b)) + loss.g_loss(D_A(fake_a))
        cyc = cycle_loss(a, rec_a) + cycle_loss(b, rec_b)
        idt = identity_loss(b, G_AB(b)) + identity_loss(a, G_BA(a)) if identity_weight else adv * 0
        loss_g = adv + cycle_weight * cyc + identity_weight * idt
        opt_g.zero_grad()
        loss_g.backward()
    finally:
        D_A.requires_grad_(True), D_B.requires_grad_(True)
    opt_g.step()
    # --- discriminators: real of their domain vs the (detached) translations into it ---
    loss_d = (loss.d_loss(D_A(a), D_A(fake_a.detach())) +
              loss.d_loss(D_B(b), D_B(fake_b.detach())))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return {"loss_d": loss_d.item(), "loss_g": adv.item(), "cycle": cyc.item(),
            "identity": idt.item(), "grad_norm_g": grad_norm(list(G_AB.parameters()) + list(G_BA.parameters()))}


@no_grad()
def translate(G, images, batch_size=250):
    """G(images) in eval mode, NumPy (N, 1, H, W)."""
    was = G.training
    G.eval()
    try:
        return np.concatenate([G(tensor(images[i:i + batch_size])).numpy()
                               for i in range(0, len(images), batch_size)])
    finally:
        G.train(was)


def train(cfg, run_dir=None, resume=False, progress=False, log_every=None):
    """Train the CycleGAN on the disjoint halves; returns (G_AB, G_BA, D_A, D_B, monitor)."""
    cfg = dict(DEFAULTS, **cfg)
    mg_random.manual_seed(cfg["seed"])
    A, _, B, _ = domains("train")
    G_AB, G_BA, D_A, D_B = build(cfg)
    betas = tuple(cfg["betas"])
    opt_g = optim.Adam(list(G_AB.parameters()) + list(G_BA.parameters()), lr=cfg["lr_g"], betas=betas)
    opt_d = optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=cfg["lr_d"], betas=betas)
    sampler_a = EpochSampler(len(A), cfg["batch_size"])
    sampler_b = EpochSampler(len(B), cfg["batch_size"])      # independent orders: unpaired
    folder = RunFolder(run_dir, cfg, resume)
    parts = {"G_AB": G_AB, "G_BA": G_BA, "D_A": D_A, "D_B": D_B, "opt_g": opt_g, "opt_d": opt_d,
             "sampler_a": sampler_a, "sampler_b": sampler_b}
    step = 0
    if resume:
        state = folder.load_checkpoint()
        for key, obj in parts.items():
            obj.load_state_dict(state[key])
        step = int(state["step"])
        folder.truncate(step - 1)
    loss = get_loss(cfg["loss"])
    test_a, _, test_b, _ = domains("test")
    fixed_a, fixed_b = test_a[:8], test_b[8:16]
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg["steps"], initial=step, desc="cyclegan", unit="step")
    while step < cfg["steps"]:
        t0 = time.perf_counter()
        a, b = tensor(A[sampler_a.next()]), tensor(B[sampler_b.next()])
        row = {"step": step}
        row.update(cyclegan_step(G_AB, G_BA, D_A, D_B, opt_g, opt_d, a, b, loss,
                                 cfg["cycle_weight"], cfg["identity_weight"]))
        row["time"] = time.perf_counter() - t0
        folder.monitor.record(row)
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss_d=f"{folder.monitor.last('loss_d'):.3f}", cycle=f"{folder.monitor.last('cycle'):.3f}")
        elif log_every and step % log_every == 0:
            print(f"cyclegan step {step:5d}  loss_d {folder.monitor.last('loss_d'):.3f}  "
                  f"loss_g {folder.monitor.last('loss_g'):.3f}  cycle {folder.monitor.last('cycle'):.4f}  "
                  f"identity {folder.monitor.last('identity'):.4f}  {time.perf_counter() - start:.0f}s",
                  flush=True)
        if step % cfg["sample_every"] == 0 or step == cfg["steps"]:
            ab = translate(G_AB, fixed_a)
            ba = translate(G_BA, fixed_b)
            folder.save_samples(np.concatenate([fixed_a, ab, translate(G_BA, ab),
                                                fixed_b, ba, translate(G_AB, ba)]), step)
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"]:
            folder.save_checkpoint(dict({k: v.state_dict() for k, v in parts.items()}, step=step))
    if bar is not None:
        bar.close()
    return G_AB, G_BA, D_A, D_B, folder.monitor


# --- the domain classifier: plain (0) or bold (1)? ---
class DomainClassifier(nn.Module):
    """image (N, 1, 28, 28) -> logit of "bold" (N, 1)."""

    def __init__(self, base=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, base, 4, 2, 1), nn.LeakyReLU(0.2),        # (N, b, 14, 14)
                                 nn.Conv2d(base, 2 * base, 4, 2, 1), nn.LeakyReLU(0.2),  # (N, 2b, 7, 7)
                                 nn.Flatten(), nn.Linear(2 * base * 49, 1))               # (N, 1)

    def forward(self, x):
        return self.net(x)


def train_domain_classifier(steps=150, batch_size=64, seed=0):
    """Train on ALL training digits in both forms (it judges, it is not part of the GAN)."""
    saved = mg_random.get_rng_state()
    mg_random.manual_seed(seed)
    try:
        images = mnist_5k("train").tensors[0].numpy()
        x = np.concatenate([images, bold(images)])
        y = np.concatenate([np.zeros(len(images)), np.ones(len(images))]).astype(np.float32)
        model = DomainClassifier()
        opt = optim.Adam(model.parameters(), lr=2e-3)
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            i = rng.integers(0, len(x), batch_size)
            loss = nn.functional.binary_cross_entropy_with_logits(model(tensor(x[i])), tensor(y[i, None]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model.eval()
    finally:
        mg_random.set_rng_state(saved)


@no_grad()
def bold_probability(model, images):
    logits = np.concatenate([model(tensor(images[i:i + 500])).numpy()[:, 0]
                             for i in range(0, len(images), 500)])
    return 1 / (1 + np.exp(-logits))


def evaluate(run_dir=None, models=None, n=500, figure=None, domain_steps=None, seed=0):
    """Class survival and target-domain rate, both directions, vs no translation at all."""
    from ..metrics import classify, load_digit_classifier
    cfg = dict(DEFAULTS)
    if models is None:
        cfg.update(read_config(run_dir))
        G_AB, G_BA, _, _ = build(cfg)
        state = RunFolder(run_dir, resume=True).load_checkpoint(restore_rng=False)
        G_AB.load_state_dict(state["G_AB"]), G_BA.load_state_dict(state["G_BA"])
    else:
        G_AB, G_BA = models
    digits = load_digit_classifier()
    judge = train_domain_classifier(domain_steps or cfg["domain_steps"], seed=seed)
    A, labels, B, _ = domains("test")
    A, B, labels = A[:n], B[:n], labels[:n]
    ab, ba = translate(G_AB, A), translate(G_BA, B)

    def scores(images, target_is_bold):
        p_bold = bold_probability(judge, images)
        in_target = p_bold > 0.5 if target_is_bold else p_bold < 0.5
        return {"class_kept": float(np.mean(classify(digits, images).argmax(1) == labels)),
                "in_target_domain": float(np.mean(in_target))}

    result = {"A->B (plain to bold)": {"CycleGAN": scores(ab, True), "no translation": scores(A, True),
                                       "real bold (reference)": scores(B, True)},
              "B->A (bold to plain)": {"CycleGAN": scores(ba, False), "no translation": scores(B, False),
                                       "real plain (reference)": scores(A, False)},
              "cycle L1": {"A->B->A": float(np.abs(translate(G_BA, ab) - A).mean()),
                           "B->A->B": float(np.abs(translate(G_AB, ba) - B).mean())}}
    if figure is None and run_dir is not None:
        figure = os.path.join(run_dir, "plots", "cyclegan.png")
    if figure is not None:
        rows = [("plain A", A[:10]), ("G_AB(A): bold", ab[:10]), ("G_BA(G_AB(A))", translate(G_BA, ab[:10])),
                ("bold B", B[10:20]), ("G_BA(B): plain", ba[10:20]), ("G_AB(G_BA(B))", translate(G_AB, ba[10:20]))]
        plot_rows(rows, "CycleGAN, held-out digits: both directions and their cycles", figure)
        result["figure"] = figure
    return result


def plot_rows(rows, title, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(rows[0][1])
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.8 + 1.6, len(rows) * 0.85 + 0.5))
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow((images[c, 0] + 1) / 2, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
