"""Elementwise operations: arithmetic with PyTorch's type promotion, math, activations.

Binary ops broadcast like NumPy; the engine sums each gradient back to its input's shape,
so a backward here returns gradients shaped like the (broadcast) output.
"""
import math
import numbers

import numpy as np

from .._device import array_module, is_floating, default_float, int64
from minigan import kernels

from ..function import Function
from ..tensor import Tensor

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "abs",
           "sign", "sin", "cos", "floor", "ceil", "round", "floor_divide", "remainder", "clamp",
           "maximum", "minimum", "where", "masked_fill", "lerp", "sigmoid", "tanh", "relu",
           "leaky_relu", "softplus", "logsigmoid", "to_dtype", "result_type", "as_tensor_like"]


# --- type promotion (PyTorch's rules) ---
def _category(dtype):
    """bool < integer < floating: a higher category wins, whatever the width."""
    return {"b": 0, "i": 1, "u": 1, "f": 2}[dtype.kind]


def _is_scalar(x):
    return isinstance(x, (numbers.Number, np.bool_)) and not hasattr(x, "_data")


def _scalar_category(x):
    if isinstance(x, (bool, np.bool_)):
        return 0
    return 1 if isinstance(x, numbers.Integral) else 2


def result_type(a, b):
    """dtype of `a op b` for Tensors or Python scalars, as PyTorch decides it.

    NOTE: a Python float does not widen a float32 tensor, and a 0-dim tensor only counts
    when it is of a higher category (so `x * y.sum()` keeps x's dtype).
    """
    if not isinstance(a, Tensor):
        a, b = b, a
    if isinstance(b, Tensor) and a.dtype == b.dtype:     # the common case, first
        return a.dtype
    if not isinstance(b, Tensor):                      # tensor and scalar
        if _scalar_category(b) <= _category(a.dtype):
            return a.dtype
        return default_float if _scalar_category(b) == 2 else int64
    ca, cb = _category(a.dtype), _category(b.dtype)
    if (a.ndim == 0) != (b.ndim == 0):                 # one is 0-dim
        dim_t, zero_t = (a, b) if b.ndim == 0 else (b, a)
        if _category(zero_t.dtype) <= _category(dim_t.dtype):
            return dim_t.dtype
        return default_float if _category(zero_t.dtype) == 2 else zero_t.dtype
    if ca == cb:
        return np.promote_types(a.dtype, b.dtype)
    return a.dtype if ca > cb else b.dtype


def as_tensor_like(x, like, dtype=None):
    """`x` (Tensor or scalar) as a Tensor on `like`'s device with `dtype`."""
    if isinstance(x, Tensor):
        if type(x._data) is not type(like._data) and x.device != like.device:
            raise RuntimeError(f"expected all tensors to be on the same device, found "
                               f"{like.device} and {x.device}")
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    return Tensor._wrap(like._xp.asarray(x, dtype=dtype or like.dtype))


def _binary(cls, a, b, opname):
    """Promote `a` and `b` to one dtype and device, then apply `cls`."""
    like = a if isinstance(a, Tensor) else b
    dtype = result_type(a, b)
    a, b = as_tensor_like(a, like, dtype), as_tensor_like(b, like, dtype)
    try:
        return cls.apply(a, b)
    except ValueError as err:
        if a.shape != b.shape and "broadcast" in str(err):
            raise ValueError(f"{opname}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                             "broadcast together") from None
        raise


def _mask(condition, like):
    """A constant Tensor of 0s and 1s in `like`'s dtype (used by piecewise backwards)."""
    return Tensor._wrap(condition.astype(like.dtype))


# --- arithmetic ---
class Add(Function):
    saves_inputs = False     # the gradient does not depend on a or b

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    saves_inputs = False     # the gradient does not depend on a or b

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def saved_inputs(self):          # a's gradient reads b; b's gradient reads a
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return ([b] if need_a else []) + ([a] if need_b else [])

    def backward(self, gy):
        a, b = self.inputs
        return (gy * b if self.needs_input_grad[0] else None,
                gy * a if self.needs_input_grad[1] else None)


class Div(Function):
    def forward(self, a, b):
        return a / b

    def saved_inputs(self):          # both gradients read b; b's gradient reads a too
        a, b = self.inputs
        return [b] + ([a] if self.needs_input_grad[1] else [])

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    saves_inputs = False     # the gradient does not depend on x

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowScalar(Function):
    """x ** p for a Python number p."""

    def forward(self, x, p):
        self.p = p
        return x ** x.dtype.type(p)

    def backward(self, gy):
        x, = self.inputs
        if self.p == 0:
            return gy * 0
        return gy * self.p * x ** (self.p - 1)


def add(a, b, alpha=1):
    return _binary(Add, a, b if alpha == 1 else b * alpha, "add")


def sub(a, b, alpha=1):
    return _binary(Sub, a, b if alpha == 1 else b * alpha, "sub")


def mul(a, b):
    return _binary(Mul, a, b, "mul")


def div(a, b):
    # True division always gives a floating result, as in PyTorch.
    if isinstance(a, Tensor) and not is_floating(a.dtype) and (
            not isinstance(b, Tensor) or not is_floating(b.dtype)):
        a = a.to(default_float)
    return _binary(Div, a, b, "div")


def neg(x):
    return Neg.apply(x)


def pow(x, p):
    """x ** p; p a number or a Tensor (then exp(p * log x), defined for x > 0)."""
    if isinstance(x, Tensor) and _is_scalar(p):
        if not is_floating(x.dtype) and isinstance(p, float):
            x = x.to(default_float)
        return PowScalar.apply(x, p=p)
    if not isinstance(x, Tensor):                      # number ** Tensor
        return exp(p * math.log(x))
    return exp(p * log(x))


# --- math ---
class Exp(Function):
    saves_inputs = False     # backward reads the output, not x

    def forward(self, x):
        return array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    def forward(self, x):
        return array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Log1p(Function):
    def forward(self, x):
        return array_module(x).log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Abs(Function):
    def forward(self, x):
        return array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * _mask(x._xp.sign(x._data), x)   # NOTE: sign(0) = 0, as PyTorch


class Sin(Function):
    def forward(self, x):
        return array_module(x).sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])          # d sin x = cos x dx


class Cos(Function):
    def forward(self, x):
        return array_module(x).cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])         # d cos x = -sin x dx


def _float_input(x, name):
    if not is_floating(x.dtype):
        return x.to(default_float)
    return x


def exp(x):
    return Exp.apply(_float_input(x, "exp"))


def log(x):
    return Log.apply(_float_input(x, "log"))


def log1p(x):
    return Log1p.apply(_float_input(x, "log1p"))


def sqrt(x):
    return pow(_float_input(x, "sqrt"), 0.5)


def abs(x):
    return Abs.apply(x)


def sin(x):
    return Sin.apply(_float_input(x, "sin"))


def cos(x):
    return Cos.apply(_float_input(x, "cos"))


def sign(x):
    return Tensor._wrap(x._xp.sign(x._data))


# --- rounding: piecewise constant, so their gradient is 0 (as PyTorch's) ---
class _Rounding(Function):
    saves_inputs = False     # the gradient is 0 whatever x is

    def backward(self, gy):
        return gy * 0


class Floor(_Rounding):
    def forward(self, x):
        return array_module(x).floor(x)


class Ceil(_Rounding):
    def forward(self, x):
        return array_module(x).ceil(x)


class Round(_Rounding):
    def forward(self, x, decimals):
        return array_module(x).round(x, decimals)   # NOTE: halves to even, as PyTorch


def _integer_or(x, rounding, *args):
    """Integers are already whole: rounding them changes nothing."""
    return x if not is_floating(x.dtype) else rounding.apply(x, *args)


def floor(x):
    return _integer_or(x, Floor)


def ceil(x):
    return _integer_or(x, Ceil)


def round(x, decimals=0):
    return x if not is_floating(x.dtype) else Round.apply(x, decimals=decimals)


def floor_divide(a, b):
    """a // b: floor(a / b), integer for integers (as Python's //)."""
    like = a if isinstance(a, Tensor) else b
    dtype = result_type(a, b)
    if is_floating(dtype):
        return floor(div(a, b))
    a, b = as_tensor_like(a, like, dtype), as_tensor_like(b, like, dtype)
    return Tensor._wrap(like._xp.floor_divide(a._data, b._data))


def remainder(a, b):
    """a % b with the sign of b (Python's %, torch.remainder): a - floor(a / b) * b."""
    if is_floating(result_type(a, b)):
        return sub(a, mul(floor_divide(a, b), b))       # gradient: 1 for a, -floor(a/b) for b
    like = a if isinstance(a, Tensor) else b
    dtype = result_type(a, b)
    a, b = as_tensor_like(a, like, dtype), as_tensor_like(b, like, dtype)
    return Tensor._wrap(like._xp.remainder(a._data, b._data))


class Clamp(Function):
    def forward(self, x, min, max):
        self.min, self.max = min, max
        return array_module(x).clip(x, min, max)

    def backward(self, gy):
        x = self.inputs[0]._data
        inside = x == x                                  # all True
        if self.min is not None:
            inside = inside & (x >= self.min)
        if self.max is not None:
            inside = inside & (x <= self.max)
        return gy * _mask(inside, self.inputs[0])


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min=min, max=max)


class Maximum(Function):
    def forward(self, a, b):
        return array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        # NOTE: on ties the gradient is split evenly, as in PyTorch.
        share = (a._data > b._data) + 0.5 * (a._data == b._data)
        return gy * _mask(share, a), gy * _mask(1 - share, a)


class Minimum(Function):
    def forward(self, a, b):
        return array_module(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        share = (a._data < b._data) + 0.5 * (a._data == b._data)
        return gy * _mask(share, a), gy * _mask(1 - share, a)


def maximum(a, b):
    return _binary(Maximum, a, b, "maximum")


def minimum(a, b):
    return _binary(Minimum, a, b, "minimum")


class Where(Function):
    saves_inputs = False     # backward reads only the condition

    def forward(self, a, b, condition):
        self.condition = condition
        return array_module(a).where(condition, a, b)

    def backward(self, gy):
        a = self.inputs[0]
        return gy * _mask(self.condition, a), gy * _mask(~self.condition, a)


def where(condition, a, b):
    """Elementwise `a` where `condition` (a bool tensor) holds, else `b`."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else condition
    dtype = result_type(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else (
        default_float if isinstance(a, float) or isinstance(b, float) else int64)
    a, b = as_tensor_like(a, like, dtype), as_tensor_like(b, like, dtype)
    cond = condition._data if isinstance(condition, Tensor) else like._xp.asarray(condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    return Where.apply(a, b, condition=cond)


def masked_fill(x, mask, value):
    """`value` where the bool `mask` (broadcast to x's shape) is True, x elsewhere; the result
    keeps x's dtype and shape, as PyTorch's masked_fill."""
    m = mask._data if isinstance(mask, Tensor) else x._xp.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}")
    try:
        m = x._xp.broadcast_to(m, x.shape)
    except ValueError:
        raise ValueError(f"masked_fill: the mask of shape {tuple(m.shape)} cannot be broadcast "
                         f"to the tensor's shape {tuple(x.shape)}") from None
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or a 0-dim tensor, got a tensor "
                         f"of shape {tuple(value.shape)}")
    return Where.apply(as_tensor_like(value, x, x.dtype), x, condition=m)


def lerp(start, end, weight):
    """start + weight * (end - start): the linear interpolation (torch.lerp)."""
    return start + weight * (end - start)


# --- activations ---
class Sigmoid(Function):
    saves_inputs = False     # backward reads the output, not x

    def forward(self, x):
        # exp(-|x|) never overflows: 1/(1+e) for x >= 0, e/(1+e) for x < 0.
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y)


class Tanh(Function):
    saves_inputs = False     # backward reads the output, not x

    def forward(self, x):
        return array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1 - y * y)


class LeakyReLU(Function):
    """x if x > 0 else negative_slope * x; negative_slope = 0 is ReLU.

    NOTE: the subgradient at 0 is the slope (0 for ReLU), as PyTorch. Forward and backward
    are single fused passes (kernels.leaky_relu): they run on the DCGAN's largest arrays.
    """

    def forward(self, x, negative_slope):
        self.negative_slope = negative_slope
        return kernels.leaky_relu(x, negative_slope)

    def backward(self, gy):
        return LeakyReLUGrad.apply(gy, x=self.inputs[0]._data, negative_slope=self.negative_slope)


class LeakyReLUGrad(Function):
    """gy masked by where x > 0 (x is a constant here): linear in gy, so its own backward is
    itself; the derivative through x is zero almost everywhere."""
    saves_inputs = False     # backward reads x, saved in forward

    def forward(self, gy, x, negative_slope):
        self.x, self.negative_slope = x, negative_slope
        return kernels.leaky_relu_grad(gy, x, negative_slope)

    def backward(self, g):
        return LeakyReLUGrad.apply(g, x=self.x, negative_slope=self.negative_slope)


class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""

    def forward(self, x):
        xp = array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def relu(x):
    return LeakyReLU.apply(x, negative_slope=0.0)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def softplus(x, beta=1.0, threshold=20.0):
    """PyTorch's softplus: log(1 + exp(beta x)) / beta, linear above `threshold`."""
    if beta == 1:
        y = Softplus.apply(x)
    else:
        y = Softplus.apply(x * beta) / beta
    return where(x * beta > threshold, x, y)


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for logits of any size."""
    return -Softplus.apply(-x)


# --- dtype ---
class Cast(Function):
    saves_inputs = False     # backward reads only the input's dtype

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, gy):
        return gy.to(self.inputs[0].dtype)


def to_dtype(x, dtype):
    if x.dtype == dtype:
        return x
    if x.requires_grad and is_floating(dtype):
        return Cast.apply(x, dtype=dtype)
    return Tensor._wrap(x._data.astype(dtype))
