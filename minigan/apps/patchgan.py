"""PatchGAN: a discriminator that judges patches, not whole images (pix2pix, CycleGAN).

Instead of one logit per image it returns a grid of logits, one per overlapping patch of
the input (here 7x7 logits for 28x28 images, each seeing an 18x18 patch). Its loss is the mean over the grid, so the generator is
pushed to make every local patch look real: sharp strokes, no blur, while the L1 term
takes care of the large-scale layout.

    x (N, in, 28, 28) -> Conv 4/2/1, LReLU -> (N, b, 14, 14) -> Conv 4/2/1, BN, LReLU
      -> (N, 2b, 7, 7) -> Conv 3/1/1 -> (N, 1, 7, 7) logits

A conditional PatchGAN (pix2pix) sees the input and the output side by side: in_channels
= 2 for grey images, `D(cat([condition, image], 1))`.
"""
from .. import nn

__all__ = ["PatchDiscriminator"]


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels=1, base=16, batch_norm=True):
        super().__init__()
        b = base
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, b, 4, 2, 1), nn.LeakyReLU(0.2),             # (N, b, H/2, W/2)
            nn.Conv2d(b, 2 * b, 4, 2, 1),
            nn.BatchNorm2d(2 * b) if batch_norm else nn.Identity(), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * b, 1, 3, 1, 1))                                      # (N, 1, H/4, W/4)
        self.in_channels = in_channels

    def forward(self, x):
        return self.net(x)
