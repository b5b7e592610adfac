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

import numpy as np

from .. import nn, optim
from .. import random as mg_random
from ..creation import tensor
from ..data import mnist_5k
from ..gan import EpochSampler, check_finite, get_loss, grad_norm
from ..grad_mode import no_grad
from .base import ImageApp, run_batches
from .losses import cycle_loss, identity_loss
from .patchgan import PatchDiscriminator
from .unet import UNet

__all__ = ["DEFAULTS", "CycleGAN", "bold", "domains", "build", "cyclegan_step", "translate",
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
                  identity_weight=1.0, step=0):
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
    check_finite(step, " before the generators' update", loss_g=loss_g.item())
    opt_g.step()
    # --- discriminators: real of their domain vs the (detached) translations into it ---
    loss_d = (loss.d_loss(D_A(a), D_A(fake_a.detach())) +
              loss.d_loss(D_B(b), D_B(fake_b.detach())))
    opt_d.zero_grad()
    loss_d.backward()
    check_finite(step, " before the discriminators' update", loss_d=loss_d.item())
    opt_d.step()
    return {"loss_d": loss_d.item(), "loss_g": adv.item(), "cycle": cyc.item(),
            "identity": idt.item(), "grad_norm_g": grad_norm(list(G_AB.parameters()) + list(G_BA.parameters()))}


def translate(G, images, batch_size=250):
    """G(images) in eval mode, NumPy (N, 1, H, W)."""
    return run_batches(G, images, batch_size)


class CycleGAN(ImageApp):
    """Both generators and both discriminators, trained on the disjoint halves."""

    DEFAULTS = DEFAULTS
    log_keys = ("loss_d", "cycle", "identity")

    def __init__(self, cfg=None):
        super().__init__(cfg)
        cfg = self.cfg
        mg_random.manual_seed(cfg["seed"])
        self.A, _, self.B, _ = domains("train")
        self.G_AB, self.G_BA, self.D_A, self.D_B = build(cfg)
        betas = tuple(cfg["betas"])
        self.opt_g = optim.Adam(list(self.G_AB.parameters()) + list(self.G_BA.parameters()),
                                lr=cfg["lr_g"], betas=betas)
        self.opt_d = optim.Adam(list(self.D_A.parameters()) + list(self.D_B.parameters()),
                                lr=cfg["lr_d"], betas=betas)
        self.sampler_a = EpochSampler(len(self.A), cfg["batch_size"])
        self.sampler_b = EpochSampler(len(self.B), cfg["batch_size"])   # independent: unpaired
        self.loss = get_loss(cfg["loss"])
        test_a, _, test_b, _ = domains("test")
        self.fixed_a, self.fixed_b = test_a[:8], test_b[8:16]

    def step(self, step):
        a = tensor(self.A[self.sampler_a.next()])
        b = tensor(self.B[self.sampler_b.next()])
        return cyclegan_step(self.G_AB, self.G_BA, self.D_A, self.D_B, self.opt_g, self.opt_d,
                             a, b, self.loss, self.cfg["cycle_weight"],
                             self.cfg["identity_weight"], step=step)

    def parts(self):
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B,
                "opt_g": self.opt_g, "opt_d": self.opt_d,
                "sampler_a": self.sampler_a, "sampler_b": self.sampler_b}

    def sample(self):
        """Rows of 8: A, G_AB(A), its round trip; B, G_BA(B), its round trip."""
        ab, ba = translate(self.G_AB, self.fixed_a), translate(self.G_BA, self.fixed_b)
        return np.concatenate([self.fixed_a, ab, translate(self.G_BA, ab),
                               self.fixed_b, ba, translate(self.G_AB, ba)])


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
        app = CycleGAN.from_run(run_dir)
        cfg, G_AB, G_BA = app.cfg, app.G_AB, app.G_BA
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
    """[(label, images)] as labelled rows of images (see viz.plot_image_rows)."""
    from ..viz import plot_image_rows
    return plot_image_rows([{"label": label, "images": images} for label, images in rows],
                           path, title=title)
