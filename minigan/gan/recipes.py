"""Recipes: which models, loss and hyper-parameters `minigan train MODEL` uses.

| model   | default data | networks          | loss            | extras                          |
|---------|--------------|-------------------|-----------------|---------------------------------|
| gan     | ring         | MLP               | non-saturating  |                                 |
| dcgan   | mnist        | DCGAN             | non-saturating  |                                 |
| cgan    | mnist        | conditional DCGAN | non-saturating  | projection D                    |
| wgan-gp | ring         | MLP / DCGAN critic| WGAN            | penalty 10, n_critic 5, no BN   |
| lsgan   | mnist        | DCGAN             | least squares   |                                 |
| hinge   | mnist        | DCGAN             | hinge           | spectral norm in D              |

Toy data (ring, grid, spirals, gaussian1d) gets MLPs; images (mnist, digits8, shapes) get
DCGANs sized to the image. WGAN-GP on the ring (measured, seed 0, 2000 samples; modes covered /
high-quality fraction, i.e. within 3 standard deviations of a mode): 5000 steps at lr 1e-4:
1/8; 15000 at 5e-4: 8/8, 51%; 30000 at 2e-4: 8/8, 75%; 50000 at 2e-4 (the default, 300 s):
8/8, 79.5%. At 5e-4 training was not monotonic (2/8 at 30000 steps, 7/8 at 45000). DCGAN on MNIST-5k (measured, seed 0, 500 samples): classifier Fréchet
distance 97 after 2000 steps, 71 after 3500 (real digits: 6.9); 3000 is the default.
`--ema 0.999` samples from a moving average of G; at 2000 steps it measured worse than G
itself (121 vs 97), the average still carrying the fast-changing early weights.
"""
from ..data import digits_8x8, gaussian_1d, grid_of_gaussians, mnist_5k, ring_of_gaussians, shapes, spirals
from . import models

MODELS = ("gan", "dcgan", "cgan", "wgan-gp", "lsgan", "hinge")
DATASETS = ("ring", "grid", "spirals", "gaussian1d", "mnist", "digits8", "shapes")
TOY = ("ring", "grid", "spirals", "gaussian1d")

DEFAULTS = {
    #           data      loss             steps batch  lr_g   lr_d   betas         n_critic gp
    "gan":     ("ring",  "nonsaturating", 3000, 256, 1e-3, 1e-3, (0.5, 0.999), 1, 0.0),
    "dcgan":   ("mnist", "nonsaturating", 3000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0),
    "cgan":    ("mnist", "nonsaturating", 2000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0),
    "wgan-gp": ("ring",  "wgan",         50000, 256, 2e-4, 2e-4, (0.5, 0.9), 5, 10.0),
    "lsgan":   ("mnist", "lsgan",         2000, 64, 2e-4, 2e-4, (0.5, 0.999), 1, 0.0),
    "hinge":   ("mnist", "hinge",         2000, 64, 2e-4, 2e-4, (0.0, 0.999), 1, 0.0),
}


def defaults(model):
    data, loss, steps, batch, lr_g, lr_d, betas, n_critic, gp = DEFAULTS[model]
    return dict(data=data, loss=loss, steps=steps, batch_size=batch, lr_g=lr_g, lr_d=lr_d,
                betas=betas, n_critic=n_critic, gp_weight=gp)


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
