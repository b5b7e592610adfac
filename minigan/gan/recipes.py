"""Recipes: which models, loss and hyper-parameters `minigan train MODEL` uses.

One dict per model in RECIPES; `build(cfg)` turns a recipe (plus the user's overrides) into
a `GAN` ready for the training loop.

| model   | default data | networks          | loss            | extras                                   |
|---------|--------------|-------------------|-----------------|------------------------------------------|
| gan     | ring         | MLP               | non-saturating  |                                          |
| dcgan   | mnist        | DCGAN             | non-saturating  | self-conditioned on 50 k-means clusters, |
|         |              |                   |                 | lazy R1 penalty                          |
| cgan    | mnist        | conditional DCGAN | non-saturating  | projection D                             |
| wgan-gp | ring         | MLP / DCGAN critic| WGAN            | penalty 10, n_critic 5, no BN in D,      |
|         |              |                   |                 | EMA of G, lr decayed to 0, latent 8 (toy)|
| lsgan   | mnist        | DCGAN             | least squares   | self-conditioned on 50 clusters          |
| hinge   | mnist        | DCGAN             | hinge           | spectral norm in D, self-conditioned     |

Toy data (ring, grid, spirals, gaussian1d) gets MLPs; images (mnist, digits8, shapes) get
DCGANs sized to the image.

WGAN-GP on the ring (measured with `minigan train wgan-gp` then `minigan eval`, or the same
loop with a probe every 2500 steps; 2000 samples; a sample is high quality within 3 standard
deviations of a mode):
- latent 2, lr 2e-4, constant: 8/8 modes and 79.5% after 50000 steps for seed 0, but with
  another random stream G still swung between 5% and 30% at 50000. A 2-D latent plane must
  be torn into 8 pieces, and the samples on the tears form bridges between the modes.
- the same with a linear lr decay (68% at 30000 steps) or a weaker penalty (64% with 0.1,
  67% with 1; 75% with 10) did not fix it.
- latent 8 and an EMA (0.999) of G, lr 2e-4: 87% / 78% / 71% at 50000 (three seeds),
  still climbing: the averaged G is steadier than G itself (which swung 33-87%).
- the default: latent 8, EMA 0.999, lr 5e-4 decayed linearly to 0: 8/8 modes and 84.8%
  (seed 0, 229 s at load 2), 92% and 87% for two other seeds. The large early lr finds the
  modes sooner; the decay lets G settle on them.

DCGAN on MNIST-5k. `minigan train dcgan --seed S --out RUN`, then `minigan eval RUN -n 2000`
(minigan's digit classifier; real held-out digits score IS 8.65, FD 6.96):
- the default, 3000 steps, the lazy R1 penalty (weight 1, every 4th D step) and
  self-conditioning on 50 k-means clusters of the training digits (gan.clusters; purity
  80%: 4 digits in 5 share their cluster's most common class): seed 0 IS 8.14, FD 10.2,
  every class 6.9-12.3% of the samples, no sample a copy of a training digit, 339 s from
  launch to the last checkpoint on a quiet 2-core machine (2026-12-03); seed 1 IS 8.40,
  FD 10.6, classes 7.0-12.1%; seed 2 IS 8.51, FD 16.4, classes 7.9-12.3% (those two
  trained side by side on one thread each, so no times).
  The clusters, not the labels, are what G is conditioned on: a continuous latent space
  cannot jump between digits, so without them the samples between two classes are blends
  (about one in five). Probing a fixed set of 2000 latents during training (seed 0,
  scratch scripts): 50 clusters IS 7.30 / FD 28.0 at 1000 steps, 7.94 / 14.1 at 2000,
  8.23 / 10.0 at 3000; 100 clusters (purity 84%, the smallest 6 digits) 7.75 / 16.7,
  8.18 / 11.4, 8.31 / 10.6. 50 keeps every cluster above 40 digits, so a cluster is not
  a handful of digits to learn by heart.
- the same without clusters (`--clusters 0`): seed 0 IS 5.82, FD 26.4, classes 4.9-14.7%,
  322 s; seed 1 IS 5.82, FD 34.9; seed 2 IS 5.91, FD 29.4. Lesson 10's full run: IS 5.82,
  FD 28.2.
- lsgan and hinge (2000 steps, no R1), seed 0: self-conditioned on 50 clusters (the
  defaults) lsgan IS 7.55 / FD 23.9 (classes 6.0-12.7%), hinge 8.08 / 20.7 (5.0-15.0%);
  without clusters lsgan 4.01 / 183 (one class at 0.05%, another at 32%), hinge
  5.20 / 66.9. (Four runs side by side on one thread each, so no times.)
- minigan 0.1's recipe (no R1), 3000 steps: IS 5.28, FD 73 (issue 15 measured 5.5 / 82 with
  an independent classifier).
What else was tried (seed 0, one fixed set of 2000 latents scored during training; the
machine was busy, so no times): at 2000 steps the 0.1 recipe gave IS 4.88 / FD 85, hinge
loss with spectral norm in D 5.10 / 65, R1 5.51 / 41, R1 with two learning rates (D 4e-4)
5.47 / 40, R1 with lr 4e-4 for both 5.09 / 62 at 1000 steps (R1 alone: 4.48 / 91) and
6.27 / 32 at 3000 (R1 alone at 3000: 5.82 / 26-35), not adopted on one seed.
InfoGAN's categorical code on top of R1, no clusters (10 codes, the largest of z's first ten
entries picks one; a linear head on D's features must recover it, cross-entropy weight 1
in both losses; a scratch script, not in minigan): IS 6.48 / FD 35.8 at 3000 steps, with
lr 4e-4 6.55 / 30.6. Fewer blends (IS up 0.7) but a worse match to the data (FD up 4-9),
and each code is only 54-57% one digit: not adopted.
DiffAugment (translation and cutout, on real and fake) with an EMA of G (0.999) was much
worse: 4.33 / 169 at 3000 steps, the EMA 4.08 / 231; on 4,500 digits this D was not
short of data but of a smooth gradient, which is what R1 gives it. An EMA of G (0.995,
warmed up, with its own batch-norm statistics from `optim.update_bn`) stayed slightly
behind G itself through 1500 steps, so `ema` stays off. Sampling with batch norm in eval
mode (running statistics) or train mode (the batch's) differed by at most 0.03 IS and
2 FD at every probe: minigan samples in eval mode, so one sample does not depend on the
others in its batch.
The spikes of D's gradient norm are not at epoch boundaries (EpochSampler drops the last
partial batch, so BatchNorm never sees a 20-image batch; tests/test_gan_training.py
checks it).
"""
from .. import random as mg_random
from ..creation import tensor
from ..data import digits_8x8, gaussian_1d, grid_of_gaussians, mnist_5k, ring_of_gaussians, shapes, spirals
from . import clusters, models
from .training import GAN

DATASETS = ("ring", "grid", "spirals", "gaussian1d", "mnist", "digits8", "shapes")
TOY = ("ring", "grid", "spirals", "gaussian1d")

# What every recipe sets. toy_latent: the latent size on toy data (images get 100);
# ema: the decay of G's moving average (None: no average); lr_decay: None or "linear";
# clusters: k > 0 self-conditions an image GAN on k k-means clusters of its data (0: off).
_COMMON = dict(loss="nonsaturating", batch_size=64, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
               n_critic=1, gp_weight=0.0, r1_weight=0.0, r1_every=1, augment=None, ema=None,
               toy_latent=2, lr_decay=None, sample_mode="eval", clusters=0)

RECIPES = {
    "gan": dict(_COMMON, data="ring", steps=3000, batch_size=256, lr_g=1e-3, lr_d=1e-3),
    "dcgan": dict(_COMMON, data="mnist", steps=3000, r1_weight=1.0, r1_every=4, clusters=50),
    "cgan": dict(_COMMON, data="mnist", steps=2000),
    "wgan-gp": dict(_COMMON, data="ring", loss="wgan", steps=50000, batch_size=256,
                    lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.9), n_critic=5, gp_weight=10.0,
                    ema=0.999, toy_latent=8, lr_decay="linear"),
    "lsgan": dict(_COMMON, data="mnist", loss="lsgan", steps=2000, clusters=50),
    "hinge": dict(_COMMON, data="mnist", loss="hinge", steps=2000, betas=(0.0, 0.999),
                  clusters=50),
}
MODELS = tuple(RECIPES)


def defaults(model):
    """A copy of `model`'s recipe."""
    if model not in RECIPES:
        raise ValueError(f"unknown GAN model {model!r}; choose one of {MODELS}")
    return dict(RECIPES[model])


def load_data(name, n_toy=50_000):
    """(images or points, labels or None, dataset) for a dataset name."""
    if name == "ring":
        ds = ring_of_gaussians(n_toy)
    elif name == "grid":
        ds = grid_of_gaussians(n_toy)
    elif name == "spirals":
        ds = spirals(n_toy)
    elif name == "gaussian1d":
        ds = gaussian_1d(n_toy, mean=2.0, std=0.5)
    elif name == "mnist":
        ds = mnist_5k("train")
    elif name == "digits8":
        ds = digits_8x8("train")
    elif name == "shapes":
        ds = shapes(5000)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    x, labels = ds.tensors[0], ds.tensors[1]
    return x, labels, ds


def build_models(model, data_name, x, num_classes=10, latent_dim=None, base=64,
                 cluster_frequencies=None):
    """(G, D) for a model name and data shaped like x. With cluster_frequencies (the share
    of the images in each k-means cluster), a self-conditioned G and a D that sees the
    cluster ids (image data only)."""
    conditional = model == "cgan"
    critic = model == "wgan-gp"
    if data_name in TOY:
        dim = x.shape[1]
        latent = latent_dim or 2
        if conditional:
            return (models.ConditionalMLPGenerator(num_classes, latent, dim),
                    models.ConditionalMLPDiscriminator(num_classes, dim))
        return (models.MLPGenerator(latent, dim),
                models.MLPDiscriminator(dim, spectral_norm=model == "hinge"))
    channels, size = x.shape[1], x.shape[2]
    latent = latent_dim or 100
    batch_norm = not critic                      # WGAN-GP's penalty is per sample: no BN in D
    if conditional:
        G = models.ConditionalDCGANGenerator(num_classes, latent, channels=channels, image_size=size)
        D = models.ConditionalDCGANDiscriminator(num_classes, channels, image_size=size)
    elif cluster_frequencies is not None:
        G = models.SelfConditionedGenerator(cluster_frequencies, latent, channels=channels,
                                            image_size=size, base=base)
        D = models.ConditionalDCGANDiscriminator(len(cluster_frequencies), channels,
                                                 image_size=size, base=base,
                                                 batch_norm=batch_norm,
                                                 spectral_norm=model == "hinge")
    else:
        G = models.DCGANGenerator(latent, channels, size, base=base)
        D = models.DCGANDiscriminator(channels, size, base=base, batch_norm=batch_norm,
                                      spectral_norm=model == "hinge")
    G.apply(models.dcgan_init)
    D.apply(models.dcgan_init)
    return G, D


def build(cfg):
    """(gan, dataset) for a config: a recipe with the user's overrides, seeded by cfg["seed"].

    cfg may also give latent_dim and base (network width) for image models, and device.
    With cfg["epochs"], cfg["steps"] is set here from the data set's size.
    """
    mg_random.manual_seed(cfg.get("seed", 0))
    x, labels, dataset = load_data(cfg["data"])
    if cfg.get("epochs"):
        cfg["steps"] = max(1, int(round(cfg["epochs"] * (x.shape[0] // cfg["batch_size"]))))
    num_classes = int(labels.numpy().max()) + 1
    latent = cfg.get("toy_latent") if cfg["data"] in TOY else cfg.get("latent_dim")
    # Self-conditioning: the labels become k-means cluster ids (no class labels are used).
    # Runs from before it have no "clusters" in their config: 0, the plain DCGAN.
    k, frequencies = cfg.get("clusters", 0), None
    if k and cfg["model"] != "cgan":
        if cfg["data"] in TOY:
            raise ValueError(f"clusters: self-conditioning is for image data, not {cfg['data']}")
        labels = tensor(clusters.kmeans(x, k, seed=cfg.get("seed", 0)))
        frequencies = clusters.cluster_frequencies(labels.numpy(), k)
    G, D = build_models(cfg["model"], cfg["data"], x, num_classes, latent_dim=latent,
                        base=cfg.get("base", 64), cluster_frequencies=frequencies)
    if cfg.get("device", "cpu") == "cuda":
        G.to("cuda"), D.to("cuda")
        x, labels = x.to("cuda"), labels.to("cuda")
    gan = GAN(G, D, x, labels if cfg["model"] == "cgan" or frequencies is not None else None,
              loss=cfg["loss"],
              lr_g=cfg["lr_g"], lr_d=cfg["lr_d"], betas=tuple(cfg["betas"]),
              batch_size=cfg["batch_size"], n_critic=cfg["n_critic"],
              gp_weight=cfg["gp_weight"], r1_weight=cfg.get("r1_weight", 0.0),
              r1_every=cfg.get("r1_every", 1), augment=cfg.get("augment"),
              ema_decay=cfg.get("ema"), lr_decay=cfg.get("lr_decay"), decay_steps=cfg["steps"],
              sample_mode=cfg.get("sample_mode", "eval"))
    return gan, dataset


def train(cfg, run_dir=None, progress=False, log_every=None):
    """Train a recipe from scratch, into a new run folder or in memory; returns the GAN.

        >>> gan = train(dict(defaults("dcgan"), model="dcgan", steps=500), "runs/short")
    """
    from .run_folder import RunFolder
    from .trainer import Trainer
    cfg = dict(cfg)
    gan, _ = build(cfg)
    run = RunFolder.create(run_dir, cfg) if run_dir is not None else None
    try:
        Trainer(gan.step, gan.parts(), gan.sample, run=run,
                sample_every=cfg.get("sample_every", 200),
                checkpoint_every=cfg.get("checkpoint_every", 500),
                name=cfg["model"]).fit(cfg["steps"], progress=progress, log_every=log_every)
    finally:
        if run is not None:
            run.close()
    return gan
