"""minigan.gan: the GAN toolkit: losses with sign contracts, models, the training loop."""
from . import losses, models  # noqa: F401
from .losses import LOSSES, get_loss, gradient_penalty, r1_penalty  # noqa: F401
from .models import (ConditionalDCGANDiscriminator, ConditionalDCGANGenerator,  # noqa: F401
                     ConditionalMLPDiscriminator, ConditionalMLPGenerator, DCGANDiscriminator,
                     DCGANGenerator, MLPDiscriminator, MLPGenerator, dcgan_init)
from .monitor import Monitor  # noqa: F401
from .training import (EpochSampler, NonFiniteError, Trainer, grad_norm, sample_latent,  # noqa: F401
                       train_step)
