"""Convolution, pooling and upsampling layers. Each forward calls its function in
nn/conv_functional.py, whose Functions call the kernels in kernels/conv.py.

    >>> conv = nn.Conv2d(1, 64, 4, stride=2, padding=1)            # 28x28 -> 14x14
    >>> conv(minigan.randn(8, 1, 28, 28)).shape
    (8, 64, 14, 14)
    >>> up = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)    # 7x7 -> 14x14
    >>> up(minigan.randn(8, 128, 7, 7)).shape
    (8, 64, 14, 14)
"""
import math

from .._device import normalize_dtype
from ..creation import zeros
from . import conv_functional as F, init
from .conv_functional import _pair
from .interpolate import interpolate
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    """Shared parts of Conv2d and ConvTranspose2d: parameters and PyTorch's default init."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, weight_shape, device, dtype):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({in_channels}) and "
                             f"out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        op = type(self).__name__
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", op)
        self.stride, self.padding = _pair(stride, "stride", op), _pair(padding, "padding", op)
        self.dilation, self.groups = _pair(dilation, "dilation", op), groups
        dtype = normalize_dtype(dtype)
        self.weight = Parameter(zeros(weight_shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(zeros(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # As PyTorch: weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_ with
        # a = sqrt(5)), and the bias from the same range.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution; weight (out_channels, in_channels // groups, KH, KW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, device=None, dtype=None):
        k = _pair(kernel_size, "kernel_size", "Conv2d")
        super().__init__(in_channels, out_channels, k, stride, padding, dilation, groups, bias,
                         (out_channels, in_channels // groups) + k, device, dtype)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (a generator's upsampling layer); weight
    (in_channels, out_channels // groups, KH, KW). Output size per dim:
    (H - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, device=None, dtype=None):
        k = _pair(kernel_size, "kernel_size", "ConvTranspose2d")
        super().__init__(in_channels, out_channels, k, stride, padding, dilation, groups, bias,
                         (in_channels, out_channels // groups) + k, device, dtype)
        self.output_padding = _pair(output_padding, "output_padding", "ConvTranspose2d")

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class Upsample(Module):
    """Resize (N, C, H, W) by `scale_factor` or to `size`; mode 'nearest' or 'bilinear'
    (with align_corners, as PyTorch's; see nn/interpolate.py)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        corners = f", align_corners={self.align_corners}" if self.align_corners is not None else ""
        return f"{what}, mode='{self.mode}'{corners}"
