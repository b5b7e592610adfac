"""minigan.gan: the GAN toolkit: losses with sign contracts, models, the training step,
the one training loop and its run folder.

    losses.py      every GAN loss, with its sign contract
    augment.py     DiffAugment: the same differentiable augmentation for real and fake
    models.py      MLP and DCGAN generators and discriminators, conditional and AC-GAN ones
    clusters.py    k-means clusters of the images, the labels of a self-conditioned GAN
    training.py    train_step (the textbook loop body) and GAN (what it works on)
    trainer.py     Trainer: the one training loop every model uses
    run_folder.py  RunFolder: the one class that reads and writes a run on disk
    recipes.py     the hyper-parameters behind `minigan train MODEL`
"""
from . import clusters, losses, models  # noqa: F401
from .clusters import cluster_frequencies, kmeans  # noqa: F401
from .augment import DiffAugment  # noqa: F401
from .losses import LOSSES, get_loss, gradient_penalty, r1_penalty  # noqa: F401
from .models import (AuxiliaryClassifierDiscriminator, ConditionalDCGANDiscriminator,  # noqa: F401
                     ConditionalDCGANGenerator, ConditionalMLPDiscriminator,
                     ConditionalMLPGenerator, DCGANDiscriminator, DCGANGenerator,
                     MLPDiscriminator, MLPGenerator, SelfConditionedGenerator, dcgan_init)
from .monitor import Monitor  # noqa: F401
from .run_folder import RunFolder, RunFolderError, load_run  # noqa: F401
from .trainer import NonFiniteError, Trainer, TrainingInterrupted, check_finite  # noqa: F401
from .training import GAN, EpochSampler, grad_norm, sample_latent, train_step  # noqa: F401
