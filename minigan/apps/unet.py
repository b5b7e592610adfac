"""A small U-Net: the image-to-image generator of pix2pix, the inpainter and CycleGAN.

An encoder halves the image twice, a decoder doubles it back, and each decoder level also
gets the encoder's feature map of the same size (the skip connections: fine detail does
not have to squeeze through the 7x7 bottleneck). The last layer also sees the input
itself, so copying what is already right (known pixels, a clean stroke) is easy.

    28x28:  x (N, in, 28, 28) -> Conv 4/2/1 -> e1 (N, b, 14, 14) -> Conv 4/2/1, BN
            -> e2 (N, 2b, 7, 7) -> Conv 3/1/1, BN -> m (N, 2b, 7, 7)
            [m, e2]  -> ConvT 4/2/1, BN -> d2 (N, b, 14, 14)
            [d2, e1] -> ConvT 4/2/1     -> d1 (N, 8, 28, 28)
            [d1, x]  -> Conv 3/1/1, Tanh -> y (N, out, 28, 28) in [-1, 1]

    >>> G = UNet(in_channels=2, out_channels=1, base=16)   # masked image + mask -> image
    >>> G(minigan.randn(4, 2, 28, 28)).shape
    (4, 1, 28, 28)
"""
from .. import nn
from ..ops import cat

__all__ = ["UNet"]


class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=1, base=16, norm="batch", dilations=(1,)):
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        Norm = nn.BatchNorm2d if norm == "batch" else (lambda c: nn.InstanceNorm2d(c, affine=True))
        b = base
        self.enc1 = nn.Sequential(nn.Conv2d(in_channels, b, 4, 2, 1), nn.LeakyReLU(0.2))
        self.enc2 = nn.Sequential(nn.Conv2d(b, 2 * b, 4, 2, 1), Norm(2 * b), nn.LeakyReLU(0.2))
        # one 3x3 conv per dilation; (1, 2, 4) lets every cell of the 7x7 map see all of it
        self.middle = nn.Sequential(*[layer for d in dilations for layer in
                                      (nn.Conv2d(2 * b, 2 * b, 3, 1, d, dilation=d), Norm(2 * b), nn.ReLU())])
        self.dec2 = nn.Sequential(nn.ConvTranspose2d(4 * b, b, 4, 2, 1), Norm(b), nn.ReLU())
        self.dec1 = nn.Sequential(nn.ConvTranspose2d(2 * b, 8, 4, 2, 1), nn.ReLU())
        self.out = nn.Sequential(nn.Conv2d(8 + in_channels, out_channels, 3, 1, 1), nn.Tanh())
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"UNet: expected (N, {self.in_channels}, H, W) with H and W "
                             f"multiples of 4, got {tuple(x.shape)}")
        e1 = self.enc1(x)                              # (N, b, H/2, W/2)
        e2 = self.enc2(e1)                             # (N, 2b, H/4, W/4)
        m = self.middle(e2)                            # (N, 2b, H/4, W/4)
        d2 = self.dec2(cat([m, e2], 1))                # (N, b, H/2, W/2)
        d1 = self.dec1(cat([d2, e1], 1))               # (N, 8, H, W)
        return self.out(cat([d1, x], 1))               # (N, out, H, W)
