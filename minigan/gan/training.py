"""The adversarial training loop, written out step by step.

    for each step:
        1. sample a real batch x and noise z; fake = G(z)
        2. D step: loss_d on D(x) and D(fake.detach()) (the detach: no gradient reaches G),
           plus a gradient penalty if asked; update D (then clip its weights for WGAN)
        3. every n_critic D steps, a G step: loss_g on D(fake); update G only
           (D's parameters are frozen for this backward, so they get no gradient)
        4. update the generator's moving average (EMA), record the numbers

`train_step` is that loop body. `GAN` holds what it works on (the two networks, their
optimisers, the loss, a batch sampler, an EMA of G, a learning-rate schedule) and hands
the one training loop, `gan.Trainer`, its step, its parts and its samples.
"""
import copy
import math

import numpy as np

from .. import optim
from ..creation import randn, randperm, tensor
from ..grad_mode import no_grad
from ..nn.utils import eval_mode
from .augment import DiffAugment
from .losses import get_loss, gradient_penalty, r1_penalty
from .trainer import check_finite

__all__ = ["train_step", "GAN", "EpochSampler", "grad_norm", "sample_latent"]


def sample_latent(n, dim, device="cpu"):
    return randn(n, dim, device=device)


def grad_norm(parameters):
    """The total L2 norm of the gradients (what clip_grad_norm_ would see)."""
    total = 0.0
    for p in parameters:
        if p.grad is not None:
            g = p.grad._data.ravel()
            total += float(g @ g)                  # a BLAS dot: no temporary g * g array
    return math.sqrt(total)


def _mean_output(out, kind):
    """Mean D(x) as a probability for logit losses, as a raw score for critic losses."""
    a = out._data
    if kind == "logit":
        a = 1 / (1 + np.exp(-np.clip(a, -60, 60)))
    return float(a.mean())


def train_step(G, D, opt_g, opt_d, real, loss, step=0, n_critic=1, clip_value=None,
               gp_weight=0.0, r1_weight=0.0, labels=None, ema=None, augment=None, r1_every=1):
    """One D update, and a G update every `n_critic` steps. Returns the monitor's row.

    augment: a differentiable augmentation (gan.DiffAugment) applied to every batch D sees,
             real and fake, in D's step and in G's.
    r1_every: lazy R1, as in StyleGAN2: the penalty every k-th step, weighted k times.
    """
    cond = () if labels is None else (labels,)
    seen = augment or (lambda x: x)                      # what D is shown of an image
    batch = real.shape[0]
    row = {"step": step}

    g_step_due = (step + 1) % n_critic == 0

    # --- 1. real batch and fakes ---
    z = sample_latent(batch, G.latent_dim, real.device)
    if g_step_due:
        fake = G(z, *cond)                               # (N, C, H, W), graph kept for G's step
    else:
        with no_grad():
            fake = G(z, *cond)

    # --- 2. the discriminator step ---
    real_out = D(seen(real), *cond)
    fake_out = D(seen(fake.detach()), *cond)             # detached: D's loss must not reach G
    loss_d = loss.d_loss(real_out, fake_out)
    total_d = loss_d
    r1_due = r1_weight and step % r1_every == 0
    if gp_weight or r1_due:
        # WGAN-GP penalises interpolates, R1 real data: both differentiate D's input gradient.
        penalty, norm_x = (gradient_penalty(D, real, fake, gp_weight, labels) if gp_weight
                           else r1_penalty(D, real, r1_weight * r1_every, labels))
        total_d = total_d + penalty
        row.update(penalty=penalty.item(), grad_norm_x=norm_x.item())
    opt_d.zero_grad()
    total_d.backward()
    row.update(loss_d=loss_d.item(), d_real=_mean_output(real_out, loss.output),
               d_fake=_mean_output(fake_out, loss.output), grad_norm_d=grad_norm(D.parameters()))
    if loss.output == "score":
        row["wasserstein"] = float(real_out._data.mean() - fake_out._data.mean())
    check_finite(step, " before D's update", loss_d=row["loss_d"], grad_norm_d=row["grad_norm_d"])
    opt_d.step()
    if clip_value is not None:                           # WGAN: keep the critic Lipschitz
        with no_grad():
            for p in D.parameters():
                p.clamp_(-clip_value, clip_value)

    # --- 3. the generator step (D frozen: its weights get no gradient, and no update) ---
    if g_step_due:
        D.requires_grad_(False)
        try:
            loss_g = loss.g_loss(D(seen(fake), *cond))
            opt_g.zero_grad()
            loss_g.backward()
        finally:
            D.requires_grad_(True)
        row.update(loss_g=loss_g.item(), grad_norm_g=grad_norm(G.parameters()))
        check_finite(step, " before G's update", loss_g=row["loss_g"],
                     grad_norm_g=row["grad_norm_g"])
        opt_g.step()
        if ema is not None:
            ema.update()
    row["lr_d"] = opt_d.param_groups[0]["lr"]
    row["lr_g"] = opt_g.param_groups[0]["lr"]
    return row


class EpochSampler:
    """Shuffled batch indices, epoch after epoch, with a state that can be saved.

    NOTE: MNIST-5k is sorted by label, so batches must come from a fresh permutation each
    epoch; drawing it from minigan's generator keeps a resumed run on the same batches.
    """

    def __init__(self, n, batch_size):
        if n < batch_size:
            raise ValueError(f"the dataset has {n} items, fewer than one batch of {batch_size}")
        self.n, self.batch_size = n, batch_size
        self.epoch, self.position, self.order = 0, 0, None

    def next(self):
        if self.order is None or self.position + self.batch_size > self.n:   # drop_last
            self.order = randperm(self.n).numpy()
            self.position = 0
            self.epoch += 1
        index = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return index

    def state_dict(self):
        return {"epoch": self.epoch, "position": self.position,
                "order": tensor(self.order if self.order is not None else np.zeros(0, np.int64))}

    def load_state_dict(self, state):
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        order = state["order"].numpy()
        self.order = order if order.size else None


class GAN:
    """A generator and a discriminator with everything their training needs.

    It owns the optimisers, the loss, a batch sampler over `images`, an optional moving
    average (EMA) of G's weights and an optional linear learning-rate decay, and gives the
    one training loop what it needs: `step` (one `train_step` on the next batch), `parts`
    (what a checkpoint saves) and `sample` (G's images for a fixed batch of latents).

        >>> gan = GAN(G, D, images, loss="nonsaturating")
        >>> Trainer(gan.step, gan.parts(), gan.sample).fit(2000)
        >>> gan.generate(minigan.randn(16, G.latent_dim))      # (16, 1, 28, 28)
    """

    def __init__(self, G, D, images, labels=None, loss="nonsaturating", lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999), optimizer="adam", batch_size=64, n_critic=1,
                 clip_value=None, gp_weight=0.0, r1_weight=0.0, r1_every=1, augment=None,
                 ema_decay=None, lr_decay=None, decay_steps=None, num_samples=None,
                 sample_mode="eval"):
        self.G, self.D = G, D
        self.images, self.labels = images, labels
        self.loss = get_loss(loss) if isinstance(loss, str) else loss
        self.n_critic, self.clip_value = n_critic, clip_value
        self.gp_weight, self.r1_weight, self.r1_every = gp_weight, r1_weight, r1_every
        self.augment = DiffAugment(augment) if isinstance(augment, str) else augment
        if sample_mode not in ("eval", "train"):
            raise ValueError(f"sample_mode must be 'eval' (BatchNorm's running statistics) or "
                             f"'train' (each batch's own), got {sample_mode!r}")
        self.sample_mode = sample_mode
        if optimizer == "adam":
            self.opt_g = optim.Adam(G.parameters(), lr=lr_g, betas=betas)
            self.opt_d = optim.Adam(D.parameters(), lr=lr_d, betas=betas)
        elif optimizer == "rmsprop":                     # the original WGAN's choice
            self.opt_g = optim.RMSprop(G.parameters(), lr=lr_g)
            self.opt_d = optim.RMSprop(D.parameters(), lr=lr_d)
        else:
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {optimizer!r}")
        self.ema = optim.EMA(G, decay=ema_decay) if ema_decay else None
        self._G_ema = None
        # Linear decay to 0 over `decay_steps`, as in the WGAN-GP paper: a function of the
        # step alone, so a resumed run follows the same schedule.
        if lr_decay not in (None, "none", "linear"):
            raise ValueError(f"lr_decay must be None or 'linear', got {lr_decay!r}")
        self.lr_decay = lr_decay if lr_decay != "none" else None
        if self.lr_decay and not decay_steps:
            raise ValueError("lr_decay='linear' needs decay_steps: the step where lr reaches 0")
        self.decay_steps = decay_steps
        self.base_lrs = [[g["lr"] for g in opt.param_groups] for opt in (self.opt_g, self.opt_d)]
        self.sampler = EpochSampler(images.shape[0], batch_size)
        # A fixed latent batch: the sample grids show the same z evolving over training.
        if num_samples is None:
            num_samples = 64 if images.ndim == 4 else 512
        self.fixed_z = sample_latent(num_samples, G.latent_dim, images.device)
        self.fixed_labels = None
        if labels is not None and not getattr(G, "chooses_its_own_labels", False):
            self.fixed_labels = tensor(np.arange(num_samples) % int(labels.numpy().max() + 1))

    # --- what the training loop calls ---
    def step(self, step):
        """One `train_step` on the next batch; returns the monitor's row."""
        index = self.sampler.next()
        real = self.images[index]
        labels = self.labels[index] if self.labels is not None else None
        if self.lr_decay == "linear":
            self.set_lr_factor(max(0.0, 1.0 - step / self.decay_steps))
        self.G.train()
        self.D.train()
        return train_step(self.G, self.D, self.opt_g, self.opt_d, real, self.loss, step,
                          self.n_critic, self.clip_value, self.gp_weight, self.r1_weight,
                          labels, self.ema, self.augment, self.r1_every)

    def parts(self):
        """What a checkpoint holds: networks, optimisers, sampler, fixed latents, EMA."""
        parts = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d,
                 "sampler": self.sampler, "fixed_z": self.fixed_z}
        if self.ema is not None:
            parts["ema"] = self.ema
        return parts

    def sample(self):
        """Samples from the fixed latent batch, as a NumPy array."""
        return self.generate(self.fixed_z, self.fixed_labels).numpy()

    def set_lr_factor(self, factor):
        """Every parameter group's lr = its initial lr * factor."""
        for opt, base in zip((self.opt_g, self.opt_d), self.base_lrs):
            for group, lr in zip(opt.param_groups, base):
                group["lr"] = lr * factor

    # --- drawing samples ---
    def generator(self):
        """The EMA generator if there is one (smoother samples), else G itself.

        The averaged weights get BatchNorm statistics of their own (`optim.update_bn` over
        8 batches of latents from a fixed stream), not the copies of G's.
        """
        if self.ema is None:
            return self.G
        if self._G_ema is None:
            self._G_ema = copy.deepcopy(self.G)
        G = self.ema.copy_to(self._G_ema)
        rng = np.random.default_rng(0)           # a fixed stream: minigan's is left alone
        batches = [tensor(rng.standard_normal((64, G.latent_dim)).astype(np.float32))
                   for _ in range(8)]
        if self.labels is not None:               # a conditional G: every class in turn
            classes = int(self.labels.numpy().max()) + 1
            batches = [(z, tensor(np.arange(64) % classes)) for z in batches]
        return optim.update_bn(batches, G)

    @no_grad()
    def generate(self, z, labels=None):
        """G(z) (or G(z, labels)) from `generator()`. sample_mode "eval" normalises with
        BatchNorm's running statistics; "train" with each batch's own (on a copy, so G's
        running statistics are not touched)."""
        G = self.generator()
        if self.sample_mode == "train":
            G = copy.deepcopy(G).train()
            return G(z) if labels is None else G(z, labels)
        with eval_mode(G):
            return G(z) if labels is None else G(z, labels)
