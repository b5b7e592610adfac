"""Generators and discriminators: MLPs for toy data, DCGANs for images, conditional forms.

Every discriminator returns raw outputs of shape (N, 1): logits for the probabilistic
losses, scores for the critic losses (no sigmoid either way; the losses apply it stably).

    >>> G, D = DCGANGenerator(latent_dim=100), DCGANDiscriminator()
    >>> D(G(minigan.randn(16, 100))).shape
    (16, 1)
"""
from statistics import NormalDist

import numpy as np

from .. import nn
from ..creation import eye, tensor
from ..ops import cat

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator",
           "ConditionalDCGANGenerator", "ConditionalDCGANDiscriminator", "SelfConditionedGenerator",
           "AuxiliaryClassifierDiscriminator",
           "ConditionalMLPGenerator", "ConditionalMLPDiscriminator", "dcgan_init"]


def _maybe_sn(layer, use):
    return nn.utils.spectral_norm(layer) if use else layer


# --- toy data ---
class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> x (N, out_dim) through `layers` hidden ReLU layers."""

    def __init__(self, latent_dim=2, out_dim=2, hidden=128, layers=3):
        super().__init__()
        blocks, width = [], latent_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, out_dim))
        self.latent_dim = latent_dim

    def forward(self, z):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N, in_dim) -> logit or score (N, 1), LeakyReLU hidden layers."""

    def __init__(self, in_dim=2, hidden=128, layers=3, spectral_norm=False):
        super().__init__()
        blocks, width = [], in_dim
        for _ in range(layers):
            blocks += [_maybe_sn(nn.Linear(width, hidden), spectral_norm), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*blocks, _maybe_sn(nn.Linear(width, 1), spectral_norm))

    def forward(self, x):
        return self.net(x)


class ConditionalMLPGenerator(MLPGenerator):
    """The label's embedding is concatenated to z."""

    def __init__(self, num_classes, latent_dim=2, out_dim=2, hidden=128, layers=3):
        super().__init__(latent_dim + num_classes, out_dim, hidden, layers)
        self.embed = nn.Embedding(num_classes, num_classes)
        self.latent_dim = latent_dim

    def forward(self, z, labels):
        return self.net(cat([z, self.embed(labels)], 1))


class ConditionalMLPDiscriminator(MLPDiscriminator):
    def __init__(self, num_classes, in_dim=2, hidden=128, layers=3, spectral_norm=False):
        super().__init__(in_dim + num_classes, hidden, layers, spectral_norm)
        self.embed = nn.Embedding(num_classes, num_classes)

    def forward(self, x, labels):
        return self.net(cat([x, self.embed(labels)], 1))


# --- DCGAN (Radford et al.): strided (transposed) convolutions, batch norm, no pooling ---
def _start_size(image_size):
    """The feature-map size G starts from: 28 = 7*2*2, 32 = 4*2*2*2, 8 = 2*2*2."""
    for start in (7, 4, 2):
        size, ups = start, 0
        while size < image_size:
            size, ups = size * 2, ups + 1
        if size == image_size and ups >= 1:
            return start, ups
    raise ValueError(f"DCGAN: image_size must be 7, 4 or 2 times a power of two (28, 32, 8, "
                     f"64, ...), got {image_size}")


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> image (N, channels, image_size, image_size) in [-1, 1].

    28x28: Linear -> (128, 7, 7) -> BN, ReLU -> ConvT 4/2/1 -> (64, 14, 14) -> BN, ReLU
           -> ConvT 4/2/1 -> (1, 28, 28) -> Tanh
    (the layers of shared/bench/torch_dcgan_step.py); larger images add upsampling blocks.
    """

    def __init__(self, latent_dim=100, channels=1, image_size=28, base=64, batch_norm=True):
        super().__init__()
        start, ups = _start_size(image_size)
        width = base * 2 ** (ups - 1)                      # 128 for 28x28 with base 64
        norm = nn.BatchNorm2d if batch_norm else (lambda c: nn.Identity())
        blocks = [nn.Linear(latent_dim, width * start * start),
                  nn.Unflatten(1, (width, start, start)), norm(width), nn.ReLU()]
        for i in range(ups - 1):
            blocks += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1), norm(width // 2), nn.ReLU()]
            width //= 2
        blocks += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*blocks)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size

    def forward(self, z):
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """image (N, channels, S, S) -> logit or critic score (N, 1).

    28x28: Conv 4/2/1 -> (64, 14, 14), LeakyReLU -> Conv 4/2/1 -> (128, 7, 7), BN,
           LeakyReLU -> Flatten -> Linear -> (N, 1).
    For a WGAN-GP critic use batch_norm=False: the penalty is per sample, and batch norm
    mixes samples. spectral_norm=True wraps every weight (SN-GAN).
    """

    def __init__(self, channels=1, image_size=28, base=64, batch_norm=True, spectral_norm=False):
        super().__init__()
        start, downs = _start_size(image_size)
        blocks, width = [_maybe_sn(nn.Conv2d(channels, base, 4, 2, 1), spectral_norm),
                         nn.LeakyReLU(0.2)], base
        for _ in range(downs - 1):
            blocks.append(_maybe_sn(nn.Conv2d(width, width * 2, 4, 2, 1), spectral_norm))
            width *= 2
            if batch_norm:
                blocks.append(nn.BatchNorm2d(width))
            blocks.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.feature_dim = width * start * start
        self.head = _maybe_sn(nn.Linear(self.feature_dim, 1), spectral_norm)

    def forward(self, x):
        return self.head(self.features(x))


class AuxiliaryClassifierDiscriminator(DCGANDiscriminator):
    """A DCGAN D with a second head on the same features: the class of the image (AC-GAN).

    D(x) is the usual logit (N, 1), so it drops in wherever a DCGANDiscriminator goes;
    D.logit_and_classes(x) gives that logit and the class logits (N, num_classes) from one
    pass. Training the class head on real images teaches D what makes each class; a
    generator can then be asked for images that D reads as a given class.
    """

    def __init__(self, num_classes=10, channels=1, **kwargs):
        super().__init__(channels, **kwargs)
        self.num_classes = num_classes
        self.classes = nn.Linear(self.feature_dim, num_classes)

    def logit_and_classes(self, x):
        phi = self.features(x)                                # (N, F)
        return self.head(phi), self.classes(phi)              # (N, 1), (N, num_classes)


class ConditionalDCGANGenerator(DCGANGenerator):
    """A label embedding is concatenated to z, so G(z, y) draws the digit y."""

    def __init__(self, num_classes=10, latent_dim=100, embed_dim=50, **kwargs):
        super().__init__(latent_dim + embed_dim, **kwargs)
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.latent_dim, self.num_classes = latent_dim, num_classes

    def forward(self, z, labels):
        return self.net(cat([z, self.embed(labels)], 1))    # (N, latent_dim + embed_dim)


_STANDARD_NORMAL = NormalDist()


class SelfConditionedGenerator(ConditionalDCGANGenerator):
    """A conditional generator trained on cluster ids (gan.clusters) that also draws alone.

    G(z, clusters) draws an image of each given cluster: in training, the clusters of the
    real batch, so each cluster comes up as often as the data has it. G(z) picks the
    clusters itself, from z, with the same frequencies:
      - u = Phi(z[:, 0]) is uniform on (0, 1) (Phi: the standard normal's CDF);
      - the cluster is the one whose slice of the cumulative frequencies holds u;
      - z[:, 0] is replaced by Phi^-1 of u's position inside that slice: again N(0, 1) and
        independent of the cluster, as the noise was in training.
    So G(z) is a plain function of z, and every caller of an unconditional G works unchanged.
    """
    chooses_its_own_labels = True           # gan.GAN samples it without labels

    def __init__(self, cluster_frequencies, latent_dim=100, **kwargs):
        freq = np.asarray(cluster_frequencies, dtype=np.float64)
        if freq.ndim != 1 or freq.size == 0 or (freq < 0).any() or freq.sum() <= 0:
            raise ValueError(f"SelfConditionedGenerator: cluster_frequencies must be a 1-D "
                             f"list of shares >= 0 with a positive sum, got {freq!r}")
        super().__init__(freq.size, latent_dim, **kwargs)
        cdf = np.cumsum(freq / freq.sum())
        cdf[-1] = 1.0                       # no rounding gap at the top
        self.register_buffer("cluster_cdf", tensor(cdf))          # (k,) cumulative shares

    def forward(self, z, labels=None):
        if labels is None:
            z, labels = self.pick_clusters(z)
        return super().forward(z, labels)

    def pick_clusters(self, z):
        """(z with a fresh first entry, cluster ids) for latents z (N, latent_dim)."""
        cdf = self.cluster_cdf.cpu().numpy().astype(np.float64)
        first = z[:, 0].detach().cpu().numpy().astype(np.float64)         # (N,)
        u = np.array([_STANDARD_NORMAL.cdf(v) for v in first])
        ids = np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)
        low = np.concatenate([[0.0], cdf[:-1]])[ids]
        inside = np.clip((u - low) / (cdf[ids] - low), 1e-12, 1 - 1e-12)  # uniform again
        fresh = np.array([_STANDARD_NORMAL.inv_cdf(v) for v in inside], dtype=np.float32)
        fresh = tensor(fresh[:, None], dtype=z.dtype).to(z.device)       # (N, 1)
        return cat([fresh, z[:, 1:]], 1), tensor(ids.astype(np.int64)).to(z.device)


class ConditionalDCGANDiscriminator(DCGANDiscriminator):
    """D(x, y) with a projection head (Miyato & Koyama): phi(x) -> w.phi(x) + <e(y), phi(x)>.

    conditioning="concat" instead appends the label as one-hot image planes to x.
    """

    def __init__(self, num_classes=10, channels=1, conditioning="projection", **kwargs):
        if conditioning not in ("projection", "concat"):
            raise ValueError(f"conditioning must be 'projection' or 'concat', got {conditioning!r}")
        extra = num_classes if conditioning == "concat" else 0
        super().__init__(channels + extra, **kwargs)
        self.conditioning, self.num_classes = conditioning, num_classes
        if conditioning == "projection":
            self.embed = nn.Embedding(num_classes, self.feature_dim)

    def forward(self, x, labels):
        if self.conditioning == "concat":
            planes = eye(self.num_classes, dtype=x.dtype)[labels]              # (N, classes)
            planes = planes.reshape(*planes.shape, 1, 1).expand(
                x.shape[0], self.num_classes, *x.shape[2:])
            return self.head(self.features(cat([x, planes], 1)))
        phi = self.features(x)                                              # (N, F)
        return self.head(phi) + (self.embed(labels) * phi).sum(1, keepdim=True)


def dcgan_init(module):
    """DCGAN's initialisation: conv, linear and embedding weights ~ N(0, 0.02), BN scale
    ~ N(1, 0.02).

    Use as `model.apply(dcgan_init)`.
    """
    name = type(module).__name__
    if name in ("Conv2d", "ConvTranspose2d", "Linear"):
        # spectral_norm keeps the raw weight as `weight_orig` (as PyTorch does)
        weight = module.weight_orig if hasattr(module, "weight_orig") else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif name == "Embedding":
        # NOTE: nn.Embedding starts at N(0, 1); in a projection discriminator that term
        # alone swamps the image's score (D's loss near 40 in the first epoch).
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif name in ("BatchNorm2d", "BatchNorm1d") and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
