"""The convolution family of nn.functional: Functions whose forward calls the kernels in
kernels/conv.py and whose backward is written in Tensor ops, and the functions built on them.

    nn.Conv2d (nn/conv.py) -> conv2d() here -> Conv2d.forward -> kernels/conv.py: conv2d

Three kernels do all the work of a convolution layer, and each one's backward is written
with the other two, so gradients of any order flow through (WGAN-GP needs the second):

    y  = conv2d(x, w)                    Conv2d
    gx = conv2d_grad_input(gy, w)        ConvGradInput   (also conv_transpose2d's forward)
    gw = conv2d_grad_weight(x, gy)       ConvGradWeight
    gb = sum of gy over N, H, W          ChannelSums     (both layers' bias gradient)

All three are bilinear, and the identity <conv2d(x, w), gy> = <x, grad_input(gy, w)>
= <w, grad_weight(x, gy)> gives every backward rule below. unfold / fold (im2col /
col2im) and the pools built on them follow, then nearest-neighbour interpolation.
"""
import numpy as np

from minigan import kernels
from minigan.kernels import conv as conv_kernels
from minigan.kernels.conv import out_size

from ..function import Function
from ..ops.reduce import broadcast_to, gather
from ..ops.shape import pad

__all__ = ["conv2d", "conv_transpose2d", "unfold", "fold", "avg_pool2d", "max_pool2d",
           "interpolate"]


def _pair(value, name, op):
    """An int or a pair of ints -> (int, int); anything else is `op`'s clear error."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


# --- the three differentiable kernels ---

class Conv2d(Function):
    def forward(self, x, w, b=None, *, stride, padding, dilation):
        self.geometry = (stride, padding, dilation)
        return conv_kernels.conv2d(x, w, b, stride, padding, dilation)

    def backward(self, gy):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = ConvGradInput.apply(gy, w, input_hw=x.shape[2:], geometry=self.geometry) if need[0] else None
        gw = ConvGradWeight.apply(x, gy, kernel_hw=w.shape[2:], geometry=self.geometry) if need[1] else None
        if len(self.inputs) == 2:
            return gx, gw
        gb = ChannelSums.apply(gy) if need[2] else None      # (O,)
        return gx, gw, gb


class ConvGradInput(Function):
    """(N, O, OH, OW), (O, C, KH, KW) [, bias (C,)] -> (N, C, H, W): the adjoint of conv2d
    in x, plus the bias when it is conv_transpose2d's forward."""

    def forward(self, gy, w, b=None, *, input_hw, geometry):
        self.geometry = geometry
        return conv_kernels.conv2d_grad_input(gy, w, tuple(input_hw), *geometry, b)

    def backward(self, g):                                   # g: (N, C, H, W)
        gy, w = self.inputs[:2]
        need = self.needs_input_grad
        stride, padding, dilation = self.geometry
        g_gy = Conv2d.apply(g, w, stride=stride, padding=padding, dilation=dilation) if need[0] else None
        g_w = ConvGradWeight.apply(g, gy, kernel_hw=w.shape[2:], geometry=self.geometry) if need[1] else None
        if len(self.inputs) == 2:
            return g_gy, g_w
        return g_gy, g_w, ChannelSums.apply(g) if need[2] else None


class ChannelSums(Function):
    """(N, C, H, W) -> (C,): the sum over N, H and W; a bias's gradient."""
    saves_inputs = False                                     # backward needs only the shape

    def forward(self, g):
        self.shape = g.shape
        return kernels.channel_sums(g)

    def backward(self, gb):                                  # every pixel gets its channel's
        return broadcast_to(gb.reshape(1, -1, *([1] * (len(self.shape) - 2))), self.shape)


class ConvGradWeight(Function):
    """(N, C, H, W), (N, O, OH, OW) -> (O, C, KH, KW): the adjoint of conv2d in w."""

    def forward(self, x, gy, *, kernel_hw, geometry):
        self.geometry = geometry
        return conv_kernels.conv2d_grad_weight(x, gy, tuple(kernel_hw), *geometry)

    def backward(self, g):                                   # g: (O, C, KH, KW)
        x, gy = self.inputs
        need = self.needs_input_grad
        stride, padding, dilation = self.geometry
        g_x = ConvGradInput.apply(gy, g, input_hw=x.shape[2:], geometry=self.geometry) if need[0] else None
        g_gy = Conv2d.apply(x, g, stride=stride, padding=padding, dilation=dilation) if need[1] else None
        return g_x, g_gy


# --- checks: bad input stops here, before any Numba or CUDA kernel sees it ---
def _check_same(op, *tensors):
    first = tensors[0]
    for t in tensors[1:]:
        if t is None:
            continue
        if t.device != first.device:
            raise RuntimeError(f"{op}: expected all tensors on the same device, got input on "
                               f"{first.device} and a parameter on {t.device}")
        if t.dtype != first.dtype:
            raise TypeError(f"{op}: expected input and weight of the same dtype, got "
                            f"{first.dtype} and {t.dtype}")
    if first.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got {first.dtype}")


def _batched(op, x):
    """Accept (C, H, W) as a batch of one, as PyTorch does."""
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of shape (N, C, H, W) or (C, H, W), got "
                         f"{tuple(x.shape)}")
    return x, False


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d (NCHW).

    >>> y = conv2d(minigan.randn(8, 3, 28, 28), minigan.randn(16, 3, 4, 4), stride=2, padding=1)
    >>> y.shape
    (8, 16, 14, 14)
    """
    op = "conv2d"
    if groups != 1:
        raise NotImplementedError(f"{op}: groups={groups} is not supported (only groups=1)")
    x, unbatched = _batched(op, input)
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected weight of shape (O, C, KH, KW), got {tuple(weight.shape)}")
    _check_same(op, x, weight, bias)
    stride, padding, dilation = (_pair(stride, "stride", op), _pair(padding, "padding", op),
                                 _pair(dilation, "dilation", op))
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    N, C, H, W = x.shape
    O, Cw, KH, KW = weight.shape
    if C != Cw:
        raise ValueError(f"{op}: expected input of shape (N, C, H, W) with C={Cw} to match weight "
                         f"{tuple(weight.shape)}, got {tuple(input.shape)}")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"{op}: expected bias of shape ({O},), got {tuple(bias.shape)}")
    span_h, span_w = dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1
    if span_h > H + 2 * padding[0] or span_w > W + 2 * padding[1]:
        raise ValueError(f"{op}: kernel size ({span_h}, {span_w}) (dilated) is larger than the "
                         f"padded input ({H + 2 * padding[0]}, {W + 2 * padding[1]}); input "
                         f"{tuple(input.shape)}, weight {tuple(weight.shape)}, padding {padding}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed convolution, as torch.nn.functional.conv_transpose2d.

    weight is (C_in, C_out, KH, KW). The output is (H - 1)*stride - 2*padding
    + dilation*(KH - 1) + output_padding + 1 tall: the gradient of a conv2d whose input had
    that size. output_padding picks among the sizes a strided conv2d maps to the same output.
    """
    op = "conv_transpose2d"
    if groups != 1:
        raise NotImplementedError(f"{op}: groups={groups} is not supported (only groups=1)")
    x, unbatched = _batched(op, input)
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected weight of shape (C_in, C_out, KH, KW), got "
                         f"{tuple(weight.shape)}")
    _check_same(op, x, weight, bias)
    stride, padding, dilation, output_padding = (
        _pair(stride, "stride", op), _pair(padding, "padding", op),
        _pair(dilation, "dilation", op), _pair(output_padding, "output_padding", op))
    N, C_in, H, W = x.shape
    Cw, C_out, KH, KW = weight.shape
    if C_in != Cw:
        raise ValueError(f"{op}: expected input of shape (N, C_in, H, W) with C_in={Cw} to match "
                         f"weight {tuple(weight.shape)}, got {tuple(input.shape)}")
    for i in range(2):
        if not 0 <= output_padding[i] < max(stride[i], dilation[i]):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than either "
                             f"stride {stride} or dilation {dilation}")
    out_hw = tuple((size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1)
                   + output_padding[i] + 1 for i, (size, k) in enumerate(((H, KH), (W, KW))))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: the output would be {out_hw} for input {tuple(input.shape)}, "
                         f"weight {tuple(weight.shape)}, padding {padding}: too much padding")
    if bias is not None and tuple(bias.shape) != (C_out,):
        raise ValueError(f"{op}: expected bias of shape ({C_out},), got {tuple(bias.shape)}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = ConvGradInput.apply(*inputs, input_hw=out_hw, geometry=(stride, padding, dilation))
    return y.squeeze(0) if unbatched else y


# --- unfold / fold (im2col / col2im) and the pools built on them ---
class Unfold(Function):
    def forward(self, x, *, kernel_hw, geometry):
        self.kernel_hw, self.geometry = kernel_hw, geometry
        return conv_kernels.im2col(x, kernel_hw, *geometry)       # (N, C*KH*KW, L)

    def backward(self, gcols):
        return Fold.apply(gcols, input_shape=self.inputs[0].shape, kernel_hw=self.kernel_hw,
                          geometry=self.geometry)


class Fold(Function):
    def forward(self, cols, *, input_shape, kernel_hw, geometry):
        self.kernel_hw, self.geometry = kernel_hw, geometry
        return conv_kernels.col2im(cols, tuple(input_shape), kernel_hw, *geometry)

    def backward(self, gx):
        return Unfold.apply(gx, kernel_hw=self.kernel_hw, geometry=self.geometry)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks as columns (im2col): (N, C, H, W) -> (N, C*KH*KW, L), as PyTorch."""
    op = "unfold"
    if input.ndim != 4:
        raise ValueError(f"{op}: expected input of shape (N, C, H, W), got {tuple(input.shape)}")
    kernel_hw = _pair(kernel_size, "kernel_size", op)
    geometry = (_pair(stride, "stride", op), _pair(padding, "padding", op),
                _pair(dilation, "dilation", op))
    return Unfold.apply(input, kernel_hw=kernel_hw, geometry=geometry)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns back to an image, adding overlaps (col2im): the adjoint of unfold."""
    op = "fold"
    kernel_hw = _pair(kernel_size, "kernel_size", op)
    N, CK, _ = input.shape
    shape = (N, CK // (kernel_hw[0] * kernel_hw[1])) + _pair(output_size, "output_size", op)
    geometry = (_pair(stride, "stride", op), _pair(padding, "padding", op),
                _pair(dilation, "dilation", op))
    return Fold.apply(input, input_shape=shape, kernel_hw=kernel_hw, geometry=geometry)


def _pool_windows(op, x, kernel_size, stride, padding, dilation, pad_value):
    """Every pooling window as a column: (N, C, H, W) -> (N*C, KH*KW, OH*OW), OH, OW."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of shape (N, C, H, W), got {tuple(x.shape)}")
    kernel_hw = _pair(kernel_size, "kernel_size", op)
    stride = kernel_hw if stride is None else _pair(stride, "stride", op)
    padding, dilation = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if any(2 * p > k for p, k in zip(padding, kernel_hw)):
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel size {kernel_hw}")
    N, C, H, W = x.shape
    OH, OW = (out_size(s, k, st, p, d) for s, k, st, p, d in
              zip((H, W), kernel_hw, stride, padding, dilation))
    if OH < 1 or OW < 1:
        raise ValueError(f"{op}: kernel {kernel_hw} is larger than the padded input for input "
                         f"{tuple(x.shape)}")
    if any(padding):                 # pad explicitly so max pooling can pad with -inf
        x = pad(x, (padding[1], padding[1], padding[0], padding[0]), value=pad_value)
    cols = Unfold.apply(x.reshape(N * C, 1, *x.shape[2:]), kernel_hw=kernel_hw,
                        geometry=(stride, (0, 0), dilation))
    return cols, OH, OW


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    if ceil_mode:
        raise NotImplementedError("avg_pool2d: ceil_mode=True is not supported")
    N, C = input.shape[:2] if input.ndim == 4 else (None, None)
    cols, OH, OW = _pool_windows("avg_pool2d", input, kernel_size, stride, padding, 1, 0.0)
    if count_include_pad or not any(_pair(padding, "padding", "avg_pool2d")):
        out = cols.mean(1)                                   # (N*C, OH*OW)
    else:
        from ..creation import ones_like
        counts, _, _ = _pool_windows("avg_pool2d", ones_like(input[:1, :1]), kernel_size, stride,
                                     padding, 1, 0.0)
        out = cols.sum(1) / counts.sum(1)
    return out.reshape(N, C, OH, OW)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if ceil_mode or return_indices:
        raise NotImplementedError("max_pool2d: ceil_mode and return_indices are not supported")
    N, C = input.shape[:2] if input.ndim == 4 else (None, None)
    cols, OH, OW = _pool_windows("max_pool2d", input, kernel_size, stride, padding, dilation,
                                 float("-inf"))
    # NOTE: the gradient goes to the first maximum of each window (as PyTorch), via gather.
    index = cols.detach().argmax(1, keepdim=True)           # (N*C, 1, OH*OW)
    return gather(cols, 1, index).reshape(N, C, OH, OW)


def interpolate(input, size=None, scale_factor=None, mode="nearest"):
    """Nearest-neighbour resizing of (N, C, H, W), as PyTorch's mode='nearest'."""
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; only 'nearest'")
    if input.ndim != 4:
        raise ValueError(f"interpolate: expected input of shape (N, C, H, W), got "
                         f"{tuple(input.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    H, W = input.shape[2:]
    if size is not None:
        out_h, out_w = _pair(size, "size", "interpolate")
        scale_h, scale_w = H / out_h, W / out_w
    else:
        sh, sw = (scale_factor, scale_factor) if np.isscalar(scale_factor) else scale_factor
        out_h, out_w = int(np.floor(H * sh)), int(np.floor(W * sw))
        scale_h, scale_w = 1 / sh, 1 / sw
    rows = np.minimum(np.floor(np.arange(out_h) * scale_h).astype(np.int64), H - 1)
    cols = np.minimum(np.floor(np.arange(out_w) * scale_w).astype(np.int64), W - 1)
    xp = input._xp
    return input[:, :, xp.asarray(rows)][:, :, :, xp.asarray(cols)]
