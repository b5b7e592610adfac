"""nn.functional: the layers and losses as plain functions of Tensors (import as F).

    >>> import minigan.nn.functional as F
    >>> F.leaky_relu(minigan.tensor([-1.0, 2.0]), 0.2)
    tensor([-0.2000,  2.0000])

Everything here is composed from differentiable Tensor ops (so second derivatives are
exact), except `linear`, which is one Function because it runs on every step of a GAN.
"""
import numpy as np

from .. import grad_mode
from .._device import array_module
from minigan import kernels

from ..function import Function
from ..ops import log_softmax, logsigmoid, pad, softmax  # noqa: F401  (re-exported)
from ..ops.elementwise import (LeakyReLU, Softplus, clamp, log, sigmoid, softplus,  # noqa: F401
                               tanh, where)
from ..random import rand_array
from ..tensor import Tensor

# The conv family lives in .conv_functional: convolutions, pooling; resizing in .interpolate.
from .conv_functional import (avg_pool2d, conv2d, conv_transpose2d, fold,  # noqa: F401,E402
                              max_pool2d, unfold)
from .interpolate import interpolate  # noqa: F401,E402


# --- activations ---
# NOTE: inplace=True is accepted for PyTorch's signature, and the result is always a new
# tensor (an in-place activation would overwrite a value that backward may need).
def relu(input, inplace=False):
    return LeakyReLU.apply(input, negative_slope=0.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def one_hot(tensor, num_classes=-1):
    """Class indices (...) -> int64 rows (..., num_classes) with a 1 at each index;
    num_classes=-1 takes the largest index + 1."""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected a tensor of class indices (integers), got "
                        f"{tensor.dtype}")
    xp, t = tensor._xp, tensor._data
    if t.size and int(t.min()) < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {int(t.min())}")
    if num_classes == -1:
        num_classes = int(t.max()) + 1 if t.size else 0
    if t.size and int(t.max()) >= num_classes:
        raise ValueError(f"one_hot: class index {int(t.max())} does not fit num_classes="
                         f"{num_classes}")
    return Tensor._wrap((t[..., None] == xp.arange(num_classes)).astype("int64"))


def _shape(x):
    return tuple(x.shape)


# --- linear ---
class Linear(Function):
    """y = x @ w.T + b over the last dim of x: one node instead of three (transpose, matmul,
    add), since it runs every step. Backward is in Tensor ops, so it differentiates again."""

    def forward(self, x, w, *b):
        y = x @ w.T                                   # (..., in) @ (in, out) -> (..., out)
        if b:
            y += b[0]
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = gy @ w if need[0] else None              # (..., out) @ (out, in) -> (..., in)
        g2 = gy.reshape(-1, gy.shape[-1])             # (M, out), M = all leading dims
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if need[1] else None   # (out, in)
        if len(self.inputs) == 3:
            return gx, gw, g2.sum(0) if need[2] else None
        return gx, gw


def linear(input, weight, bias=None):
    """input (..., in_features) @ weight.T (in_features, out_features) + bias."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: expected input (..., {weight.shape[1]}) to match weight "
                         f"{_shape(weight)}, got {_shape(input)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} does not match weight dtype "
                        f"{weight.dtype}; convert one with .to()")
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


# --- dropout and embedding ---
def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (train only)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    keep = rand_array(input.shape, input.dtype, input.device) >= p
    # One constant mask in the input's dtype; scaling folded in.
    return input * Tensor._wrap(keep.astype(input.dtype) / input.dtype.type(1 - p))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) (or (C, H, W)) with probability p, scaling the
    rest by 1/(1-p): neighbouring pixels are correlated, so dropping single ones does little."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input (N, C, H, W) or (C, H, W), got "
                         f"{_shape(input)}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    channels = input.shape[:-2] + (1, 1)              # one draw per (sample, channel)
    keep = rand_array(channels, input.dtype, input.device) >= p
    return input * Tensor._wrap(keep.astype(input.dtype) / input.dtype.type(1 - p))


def embedding(input, weight, padding_idx=None):
    """Rows of `weight` (num_embeddings, dim) picked by the integer tensor `input`."""
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    n = weight.shape[0]
    if input.numel() and (int(input._data.min()) < 0 or int(input._data.max()) >= n):
        raise IndexError(f"embedding: index out of range for a table of {n} rows "
                         f"(got indices in [{int(input._data.min())}, {int(input._data.max())}])")
    out = weight[input]                                  # (*input.shape, dim)
    if padding_idx is not None:
        # NOTE: as in PyTorch, the padding row is looked up as usual but gets no gradient.
        keep = Tensor._wrap(input._data[..., None] != padding_idx % n)
        out = where(keep, out, out.detach())
    return out


# --- normalisation ---
def _normalize(x, dims, eps):
    """(x - mean) * (var + eps)^-1/2 over `dims` from differentiable ops (exact to any order).
    Returns (normalized, inv_std)."""
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(dims, keepdim=True)
    inv = (var + eps) ** -0.5
    return centred * inv, inv


class Normalize(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over `dims` (biased variance).

    One node for what would be ~12 (BatchNorm runs every step). The backward
        g = gy * w
        gx = inv * (g - mean(g) - xhat * mean(g * xhat))
        gw = sum(gy * xhat),  gb = sum(gy)
    uses the saved xhat and inv when no graph is recorded (batch norm's fused kernel saves
    mean and inv and recomputes xhat from x); with create_graph it recomputes them from x
    with Tensor ops, so the gradient of the gradient differentiates the batch statistics
    too (it is exact, as gradgradcheck confirms).
    """

    def forward(self, x, *wb, dims, eps, shape, stats=None):
        self.dims, self.eps, self.shape = dims, eps, shape
        self.fused = bool(wb) and dims == (0,) + tuple(range(2, x.ndim))
        if self.fused:                      # batch norm with affine: one fused kernel
            # y comes out in x's memory layout (channels last stays channels last)
            y, mean, var, inv = kernels.batch_norm_forward(x, wb[0].reshape(-1),
                                                           wb[1].reshape(-1), eps)
            self.mean, self.inv = mean, inv     # (C,); the backward recomputes xhat from x
            if stats is not None:
                stats["mean"], stats["var"] = mean.reshape(shape), var.reshape(shape)
            return y
        mean = x.mean(axis=dims, keepdims=True)
        xhat = x - mean
        var = (xhat * xhat).mean(axis=dims, keepdims=True)
        inv = 1 / array_module(x).sqrt(var + x.dtype.type(eps))
        xhat *= inv                                      # in place: one array less
        self.xhat, self.inv = xhat, inv
        if stats is not None:                            # for the running statistics
            stats["mean"], stats["var"] = mean, var
        if not wb:
            return xhat
        y = xhat * wb[0].reshape(shape)
        y += wb[1].reshape(shape)
        return y

    def backward(self, gy):
        if not grad_mode.is_grad_enabled():
            return self._backward_arrays(gy._data)
        # create_graph: xhat and inv recomputed as Tensor functions of x (exact 2nd order).
        x = self.inputs[0]
        xhat, inv = _normalize(x, self.dims, self.eps)
        affine = len(self.inputs) == 3
        g = gy * self.inputs[1].reshape(self.shape) if affine else gy
        gx = None
        if self.needs_input_grad[0]:
            dims = self.dims
            gx = inv * (g - g.mean(dims, keepdim=True)
                        - xhat * (g * xhat).mean(dims, keepdim=True))
        if not affine:
            return gx
        w_shape = self.inputs[1].shape
        gw = (gy * xhat).sum_to(self.shape).reshape(w_shape) if self.needs_input_grad[1] else None
        gb = gy.sum_to(self.shape).reshape(w_shape) if self.needs_input_grad[2] else None
        return gx, gw, gb

    def _backward_arrays(self, gy):
        """The same formulas on the saved arrays, in place where possible: the usual case
        (no create_graph), where fewer temporary arrays is most of the speed."""
        need = self.needs_input_grad
        if self.fused:
            x, w = self.inputs[0]._data, self.inputs[1]._data
            gx, gw, gb = kernels.batch_norm_backward(gy, x, self.mean, self.inv, w.reshape(-1))
            wrap = Tensor._wrap
            return (wrap(gx) if need[0] else None,
                    wrap(gw.reshape(w.shape)) if need[1] else None,
                    wrap(gb.reshape(w.shape)) if need[2] else None)
        dims, xhat, inv = self.dims, self.xhat, self.inv
        affine = len(self.inputs) == 3
        gx = gw = gb = None
        if affine:
            w = self.inputs[1]._data
            lead = gy.ndim - len(self.shape)           # dims that w is broadcast over
            w_axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(self.shape)
                                                if s == 1)
            gw = (gy * xhat).sum(axis=w_axes).reshape(w.shape) if need[1] else None
            gb = gy.sum(axis=w_axes).reshape(w.shape) if need[2] else None
        if need[0]:
            g = gy * w.reshape(self.shape) if affine else gy
            m1 = g.mean(axis=dims, keepdims=True)
            m2 = (g * xhat).mean(axis=dims, keepdims=True)
            gx = g - m1 if g is gy else g              # never write into the incoming gy
            if g is not gy:
                gx -= m1
            gx -= xhat * m2
            gx *= inv
            gx = Tensor._wrap(gx)
        if not affine:
            return gx
        wrap = Tensor._wrap
        return gx, None if gw is None else wrap(gw), None if gb is None else wrap(gb)


def _normalized(x, dims, eps, weight, bias, shape, stats=None):
    """Normalize.apply with the affine parameters when there are both."""
    if weight is not None and bias is not None:
        return Normalize.apply(x, weight, bias, dims=dims, eps=eps, shape=shape, stats=stats)
    y = Normalize.apply(x, dims=dims, eps=eps, shape=shape, stats=stats)
    return _affine(y, weight, bias, shape)


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _with_running_stats(input, running_mean, running_var, weight, bias, shape, eps):
    """Eval mode: y = x * scale + shift, scale = w / sqrt(rv + eps), shift = b - rm * scale."""
    scale = (running_var + eps) ** -0.5
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) over the batch (and spatial dims).

    training=True: use the batch's statistics (and update the running ones, when given, as
    running = (1 - momentum) * running + momentum * batch, with the unbiased variance);
    training=False: use the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C, ...), got {_shape(input)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != (c,):
            raise ValueError(f"batch_norm: expected {name} of shape ({c},) for input "
                             f"{_shape(input)}, got {_shape(t)}")
    shape = (1, c) + (1,) * (input.ndim - 2)          # broadcasts over N and spatial dims
    if training:
        dims = (0,) + tuple(range(2, input.ndim))
        n = input.numel() // c
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input {_shape(input)}")
        stats = {}
        y = _normalized(input, dims, eps, weight, bias, shape, stats)
        if running_mean is not None:
            # Running statistics are state, not part of the graph: update the arrays.
            m = momentum
            running_mean._data *= 1 - m
            running_mean._data += m * stats["mean"].reshape(c)
            running_var._data *= 1 - m
            running_var._data += (m * n / (n - 1)) * stats["var"].reshape(c)
            running_mean._bump_version()        # in-place writes: a graph must not read them
            running_var._bump_version()
        return y
    return _with_running_stats(input, running_mean, running_var, weight, bias, shape, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) over its spatial dims (style transfer, pix2pix)."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, ...), got {_shape(input)}")
    n, c = input.shape[:2]
    shape = (1, c) + (1,) * (input.ndim - 2)
    if use_input_stats:
        dims = tuple(range(2, input.ndim))
        stats = {}
        y = _normalized(input, dims, eps, weight, bias, shape, stats)
        if running_mean is not None:
            k = input.numel() // (n * c)
            m = momentum
            running_mean._data *= 1 - m
            running_mean._data += m * stats["mean"].reshape(n, c).mean(0)
            running_var._data *= 1 - m
            running_var._data += (m * k / max(k - 1, 1)) * stats["var"].reshape(n, c).mean(0)
            running_mean._bump_version()
            running_var._bump_version()
        return y
    return _with_running_stats(input, running_mean, running_var, weight, bias, shape, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims of each sample."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    k = len(normalized_shape)
    if _shape(input)[input.ndim - k:] != normalized_shape:
        dims_text = ", ".join(map(str, normalized_shape))
        raise ValueError(f"layer_norm: expected input (..., {dims_text})"
                         f" to end in normalized_shape {normalized_shape}, got {_shape(input)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    return _normalized(input, dims, eps, weight, bias, normalized_shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the channels of (N, C, ...) into `num_groups` groups and normalise each
    (sample, group) over its channels and positions; then the per-channel affine."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input (N, C, ...) with C divisible by "
                         f"num_groups={num_groups}, got {_shape(input)}")
    n, c = input.shape[:2]
    grouped = input.reshape(n, num_groups, -1)                 # (N, G, C/G * positions)
    y = Normalize.apply(grouped, dims=(2,), eps=eps, shape=(n, num_groups, 1))
    return _affine(y.reshape(input.shape), weight, bias, (1, c) + (1,) * (input.ndim - 2))


# --- losses ---
def _reduce(loss, reduction, who):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same(input, target, who):
    if _shape(input) != _shape(target):
        raise ValueError(f"{who}: target size {_shape(target)} must be the same as input size "
                         f"{_shape(input)}")


def _as_target(target, like):
    if not isinstance(target, Tensor):
        target = Tensor._wrap(like._xp.asarray(target, dtype=like.dtype))
    return target


def mse_loss(input, target, reduction="mean"):
    target = _as_target(target, input)
    _check_same(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    target = _as_target(target, input)
    _check_same(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)) elementwise, for probabilities p and targets t.

    NOTE: as in PyTorch, each log is clamped at -100, so p = 0 or 1 (a saturated Sigmoid)
    gives a large finite loss instead of inf; and the gradient
        d/dp = (p - t) / (p (1 - p))      with p (1 - p) clamped at 1e-12
    stays finite there too (composing clamp(log(p)) would give 0 * inf = nan).
    """

    def forward(self, p, t):
        xp = array_module(p)
        with np.errstate(divide="ignore"):          # log(0) = -inf, then clamped
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log(1 - p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    def backward(self, gy):
        p, t = self.inputs
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = gy * (p - t) / clamp(p * (1 - p), min=1e-12)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gt = gy * (clamp(log(1 - p), min=-100) - clamp(log(p), min=-100))
        return gp, gt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p (after a Sigmoid); finite at
    p = 0 and 1, forward and backward, as PyTorch's (see BinaryCrossEntropy)."""
    target = _as_target(target, input)
    _check_same(input, target, "binary_cross_entropy")
    data = input._data
    if data.size and (data.min() < 0 or data.max() > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1"
                         " (did you mean binary_cross_entropy_with_logits?)")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits x: softplus(x) - t x (= -(t log s(x) + (1-t) log(1-s(x)))), stable for
    logits of any size because softplus is computed as max(x, 0) + log1p(exp(-|x|))."""
    target = _as_target(target, input)
    _check_same(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = Softplus.apply(input) - input * target
    else:
        # -(p t log s(x) + (1 - t) log(1 - s(x))), log(1 - s(x)) = log s(x) - x
        log_sig = logsigmoid(input)
        loss = -(pos_weight * target * log_sig + (1 - target) * (log_sig - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[n, target[n]] (input holds log-probabilities, (N, C) or (N, C, d1, ...));
    with `weight`, 'mean' divides by the sum of the targets' weights, as PyTorch."""
    if input.ndim < 2 or _shape(target) != _shape(input)[:1] + _shape(input)[2:]:
        raise ValueError(f"nll_loss: expected input (N, C, ...) and target (N, ...), got input "
                         f"{_shape(input)} and target {_shape(target)}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (integers), got {target.dtype}")
    c = input.shape[1]
    t = target._data
    valid = t != ignore_index
    if t.size and ((t[valid] < 0).any() or (t[valid] >= c).any()):
        raise IndexError(f"nll_loss: target values must be in [0, {c - 1}] (or ignore_index), "
                         f"got values in [{int(t.min())}, {int(t.max())}]")
    safe = input._xp.where(valid, t, 0)
    picked = input.gather(1, Tensor._wrap(safe[:, None])).squeeze(1)     # (N, ...)
    w = valid.astype(input.dtype)
    if weight is not None:
        w = w * weight._data[safe]
    w = Tensor._wrap(w)
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits (N, C, ...). `target` holds class indices (N, ...), or
    class probabilities shaped like `input`."""
    logp = log_softmax(input, 1)
    if target.dtype.kind == "f":           # probabilities
        _check_same(input, target, "cross_entropy")
        c = input.shape[1]
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        terms = logp * target
        if weight is not None:
            terms = terms * weight.reshape((1, c) + (1,) * (input.ndim - 2))
        return _reduce(-terms.sum(1), reduction, "cross_entropy")
    loss = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return loss
    # Label smoothing mixes in the loss against the uniform distribution.
    c = input.shape[1]
    valid = Tensor._wrap((target._data != ignore_index).astype(input.dtype))
    w = 1 if weight is None else weight.reshape((1, c) + (1,) * (input.ndim - 2))
    smooth = -(logp * w).sum(1) * valid / c
    if reduction == "mean":
        if weight is None:
            smooth = smooth.sum() / valid.sum()
        else:
            t = array_module(target._data).where(target._data != ignore_index, target._data, 0)
            smooth = smooth.sum() / (weight._data[t] * valid._data).sum()
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return (1 - label_smoothing) * loss + label_smoothing * smooth

