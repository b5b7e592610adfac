"""Tests on values: isnan, isinf, isfinite (bool tensors), allclose and equal (Python bools).
None of them is differentiated: their results are bools."""
import builtins

from ..tensor import Tensor

__all__ = ["isnan", "isinf", "isfinite", "allclose", "equal"]


def _check(x, who):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(x).__name__}")


def isnan(x):
    _check(x, "isnan")
    return Tensor._wrap(x._xp.isnan(x._data))


def isinf(x):
    _check(x, "isinf")
    return Tensor._wrap(x._xp.isinf(x._data))


def isfinite(x):
    _check(x, "isfinite")
    return Tensor._wrap(x._xp.isfinite(x._data))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when |a - b| <= atol + rtol * |b| everywhere (shapes broadcast), as PyTorch."""
    _check(a, "allclose")
    other = b._data if isinstance(b, Tensor) else b
    return builtins.bool(a._xp.allclose(a._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    """True when a and b have the same shape and the same elements."""
    _check(a, "equal")
    _check(b, "equal")
    return a.shape == b.shape and builtins.bool((a._data == b._data).all())
