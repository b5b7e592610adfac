"""Padding layers for images (N, C, H, W): ZeroPad2d, ConstantPad2d, ReflectionPad2d,
ReplicationPad2d, each a module around F.pad.

    >>> nn.ReflectionPad2d(3)(x)           # CycleGAN's ResNet generator: no zero border
    >>> nn.ZeroPad2d((1, 0, 1, 0))(x)      # (left, right, top, bottom)
"""
from ..ops.shape import pad
from .module import Module

__all__ = ["ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d"]


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * 4
        padding = tuple(padding)
        if len(padding) != 4 or not all(isinstance(p, int) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or 4 ints "
                             f"(left, right, top, bottom), got {padding!r}")
        self.padding, self.value = padding, value

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected input (N, C, H, W) or (C, H, W), "
                             f"got {tuple(x.shape)}")
        if self.mode == "constant":
            return pad(x, self.padding, "constant", self.value)
        return pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self.value else "")


class ZeroPad2d(_Pad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ConstantPad2d(_Pad2d):
    def __init__(self, padding, value):
        super().__init__(padding, value)


class ReflectionPad2d(_Pad2d):
    """Mirror the image at its border, without repeating the edge pixel."""
    mode = "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(_Pad2d):
    """Repeat the edge pixels outwards."""
    mode = "replicate"

    def __init__(self, padding):
        super().__init__(padding)
