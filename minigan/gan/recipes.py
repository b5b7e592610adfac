"""Recipes: which models, loss and hyper-parameters `minigan train MODEL` uses.

| model   | default data | networks          | loss            | extras                                   |
|---------|--------------|-------------------|-----------------|------------------------------------------|
| gan     | ring         | MLP               | non-saturating  |                                          |
| dcgan   | mnist        | DCGAN             | non-saturating  |                                          |
| cgan    | mnist        | conditional DCGAN | non-saturating  | projection D                             |
| wgan-gp | ring         | MLP / DCGAN critic| WGAN            | penalty 10, n_critic 5, no BN in D,      |
|         |              |                   |                 | EMA of G, lr decayed to 0, latent 8 (toy)|
| lsgan   | mnist        | DCGAN             | least squares   |                                          |
| hinge   | mnist        | DCGAN             | hinge           | spectral norm in D                       |

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

DCGAN on MNIST-5k (measured, seed 0, 500 samples): classifier Fréchet distance 97 after
2000 steps, 71 after 3500 (real digits: 6.9); 3000 is the default. `--ema 0.999` samples
from a moving average of G; at 2000 steps it measured worse than G itself (121 vs 97), the
average still carrying the fast-changing early weights.
"""
from .. import random as mg_random
from ..data import digits_8x8, gaussian_1d, grid_of_gaussians, mnist_5k, ring_of_gaussians, shapes, spirals
from . import models
from .training import Trainer

MODELS = ("gan", "dcgan", "cgan", "wgan-gp", "lsgan", "hinge")
DATASETS = ("ring", "grid", "spirals", "gaussian1d", "mnist", "digits8", "shapes")
TOY = ("ring", "grid", "spirals", "gaussian1d")

DEFAULTS = {
    # toy_latent: the latent size on toy data (images always get 100); decay: the lr schedule
    #           data      loss            steps batch  lr_g  lr_d   betas     n_critic  gp  ema  toy_latent decay
    "gan":     ("ring",  "nonsaturating", 3000, 256, 1e-3, 1e-3, (0.5, 0.999), 1, 0.0, None, 2, None),
    "dcgan":   ("mnist", "nonsaturating", 3000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0, None, 2, None),
    "cgan":    ("mnist", "nonsaturating", 2000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0, None, 2, None),
    "wgan-gp": ("ring",  "wgan",         50000, 256, 5e-4, 5e-4, (0.5, 0.9), 5, 10.0, 0.999, 8, "linear"),
    "lsgan":   ("mnist", "lsgan",         2000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0, None, 2, None),
    "hinge":   ("mnist", "hinge",         2000, 64, 2e-4, 2e-4, (0.0, 0.999), 1, 0.0, None, 2, None),
}


def defaults(model):
    (data, loss, steps, batch, lr_g, lr_d, betas, n_critic, gp, ema, toy_latent,
     decay) = DEFAULTS[model]
    return dict(data=data, loss=loss, steps=steps, batch_size=batch, lr_g=lr_g, lr_d=lr_d,
                betas=betas, n_critic=n_critic, gp_weight=gp, ema=ema, toy_latent=toy_latent,
                lr_decay=decay)


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


def build_models(model, data_name, x, num_classes=10, latent_dim=None):
    """(G, D) for a model name and data shaped like x."""
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
    else:
        G = models.DCGANGenerator(latent, channels, size)
        D = models.DCGANDiscriminator(channels, size, batch_norm=batch_norm,
                                      spectral_norm=model == "hinge")
    G.apply(models.dcgan_init)
    D.apply(models.dcgan_init)
    return G, D


def build_trainer(cfg, run_dir):
    """Data, models and the Trainer for a config dict (also used by --resume)."""
    mg_random.manual_seed(cfg["seed"])
    x, labels, dataset = load_data(cfg["data"])
    num_classes = int(labels.numpy().max()) + 1
    toy_latent = cfg.get("toy_latent") if cfg["data"] in TOY else None
    G, D = build_models(cfg["model"], cfg["data"], x, num_classes, latent_dim=toy_latent)
    if cfg["device"] == "cuda":
        G.to("cuda"), D.to("cuda")
        x = x.to("cuda")
        labels = labels.to("cuda")
    steps = cfg["steps"]
    if cfg.get("epochs"):
        steps = int(round(cfg["epochs"] * (x.shape[0] // cfg["batch_size"])))
    cfg["steps"] = steps
    trainer = Trainer(G, D, x, labels if cfg["model"] == "cgan" else None, loss=cfg["loss"],
                      lr_g=cfg["lr_g"], lr_d=cfg["lr_d"], betas=tuple(cfg["betas"]),
                      batch_size=cfg["batch_size"], n_critic=cfg["n_critic"],
                      gp_weight=cfg["gp_weight"], ema_decay=cfg.get("ema"),
                      lr_decay=cfg.get("lr_decay"), decay_steps=steps, run_dir=run_dir,
                      sample_every=cfg["sample_every"], checkpoint_every=cfg["checkpoint_every"],
                      config=cfg)
    return trainer, dataset
