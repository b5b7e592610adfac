"""Normalisation layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, GroupNorm.

    >>> bn = nn.BatchNorm2d(64)            # momentum 0.1, eps 1e-5, as PyTorch
    >>> y = bn(minigan.randn(8, 64, 7, 7))  # train mode: batch statistics, running ones updated
    >>> bn.eval(); y = bn(minigan.randn(8, 64, 7, 7))   # eval mode: running statistics

All of them normalise with differentiable Tensor ops (see F._normalize), so the gradient of
a gradient (WGAN-GP through a BatchNorm critic) is exact: the batch statistics are
differentiated, not treated as constants.
"""
from ..creation import ones, tensor, zeros
from .._device import normalize_dtype
from . import functional as F
from .module import Module
from .parameter import Parameter


def _affine_parameters(module, channels, affine, dtype, device):
    """A per-channel scale (1) and shift (0) on `module`, or None for both."""
    if affine:
        module.weight = Parameter(ones(channels, dtype=dtype, device=device))
        module.bias = Parameter(zeros(channels, dtype=dtype, device=device))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _NormBase(Module):
    """Per-channel affine parameters (weight 1, bias 0) and running statistics (0, 1)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = normalize_dtype(dtype)
        _affine_parameters(self, num_features, affine, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            for buffer, value in ((self.running_mean, 0), (self.running_var, 1),
                                  (self.num_batches_tracked, 0)):
                buffer._data[...] = value
                buffer._bump_version()

    def _check_input_dim(self, x):
        pass

    def _momentum(self):
        """The momentum of this step; momentum=None means a cumulative average."""
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:
                return 1.0 / int(self.num_batches_tracked._data)
        return self.momentum if self.momentum is not None else 0.0

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def forward(self, x):
        self._check_input_dim(x)
        # Batch statistics while training, or always when there are no running ones.
        use_batch = self.training or self.running_mean is None
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, self._momentum(), self.eps)


class BatchNorm1d(_BatchNorm):
    """BatchNorm over input (N, C) or (N, C, L)."""

    def _check_input_dim(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected input (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {tuple(x.shape)}")


class BatchNorm2d(_BatchNorm):
    """BatchNorm over input (N, C, H, W): statistics per channel over N, H and W."""

    def _check_input_dim(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected input (N, {self.num_features}, H, W), got "
                             f"{tuple(x.shape)}")


class InstanceNorm2d(_NormBase):
    """Normalise each sample's channel over H and W. PyTorch's defaults: affine=False,
    track_running_stats=False."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"InstanceNorm2d: expected input (N, {self.num_features}, H, W), got "
                             f"{tuple(x.shape)}")
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, self._momentum(), self.eps)


class LayerNorm(Module):
    """Normalise each sample over its last dims (`normalized_shape`); weight 1, bias 0."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = normalize_dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype, device=device))
            self.bias = (Parameter(zeros(self.normalized_shape, dtype=dtype, device=device))
                         if bias else None)
            if not bias:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")



class GroupNorm(Module):
    """Normalise each sample over groups of channels (and all positions): batch-size
    independent, between LayerNorm (1 group) and InstanceNorm (C groups). Per-channel
    weight 1 and bias 0."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine_parameters(self, num_channels, affine, normalize_dtype(dtype), device)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (N, {self.num_channels}, ...), got "
                             f"{tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
