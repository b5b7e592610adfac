"""minigan.apps: what GANs do with images, small enough to train on a CPU in minutes.

    inpainting   fill a missing region: a context-encoder GAN (masked image in, completion
                 out) and latent optimisation in a trained DCGAN (`inpainting.py`)
    pix2pix      denoise: U-Net generator + PatchGAN, L1 + adversarial (`pix2pix.py`)
    cyclegan     unpaired translation: plain <-> bold digits, typeset <-> handwritten
                 digits (`cyclegan.py`)

Each is measured against a plain baseline with PSNR/SSIM (`image_metrics.py`) or
classifiers, from the masks and noise of `masks.py`. Each gives the one training loop
(`minigan.gan.Trainer`) its step and its parts (`base.py`). On the command line:
`minigan train inpaint|pix2pix|cyclegan`, then `minigan eval RUN`.
"""
from . import cyclegan, image_metrics, inpainting, losses, masks, pix2pix  # noqa: F401
from .base import ImageApp  # noqa: F401
from .cyclegan import CycleGAN  # noqa: F401
from .inpainting import ContextEncoder  # noqa: F401
from .pix2pix import Pix2Pix  # noqa: F401
from .image_metrics import psnr, ssim, ssim_map, to_unit  # noqa: F401
from .losses import cycle_loss, identity_loss, l1, masked_l1, masked_l2  # noqa: F401
from .masks import (add_noise, apply_mask, center_mask, composite, gaussian_noise,  # noqa: F401
                    half_mask, make_masks, random_squares_mask, salt_and_pepper)
from .patchgan import PatchDiscriminator  # noqa: F401
from .unet import UNet  # noqa: F401

# The image apps by their `minigan train` name: the class that trains, the module that
# evaluates (module.evaluate(run_dir)).
APPS = {"inpaint": (ContextEncoder, inpainting), "pix2pix": (Pix2Pix, pix2pix),
        "cyclegan": (CycleGAN, cyclegan)}
