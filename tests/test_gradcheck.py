"""The gradient checker itself: it must pass right backwards and catch wrong ones, loudly."""
import numpy as np
import pytest

import minigan as mg
from minigan.autograd import gradcheck, gradgradcheck, jacobians
from minigan.autograd import GradcheckError
from oracles import float64_input


class WrongSquare(mg.Function):
    """x^2 with a deliberately wrong derivative (x instead of 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


class IgnoresIncomingGradient(mg.Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return 2 * self.inputs[0]       # forgot to multiply by gy


class FirstOrderOnly(mg.Function):
    """Right first derivative of x^3, but computed from arrays: the double backward is lost."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        return gy * mg.Tensor._wrap(3 * self.inputs[0]._data ** 2)


def x64():
    """The same (3, 2) input each time, away from 0 so that x and 2x differ everywhere."""
    return float64_input((3, 2), np.random.default_rng(1), positive=True)


def test_wrong_backward_fails_with_a_report():
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, (x64(),))
    report = str(info.value)
    for piece in ["WrongSquare", "input 0", "shape (3, 2)", "float64", "analytical", "numerical",
                  "atol=1e-05", "6 of 36"]:
        assert piece in report, piece


def test_report_hints_at_ignored_incoming_gradient():
    with pytest.raises(GradcheckError, match="ignore its incoming gradient"):
        gradcheck(lambda x: IgnoresIncomingGradient.apply(x) * 3, (x64(),))


def test_raise_exception_false_returns_false():
    assert gradcheck(WrongSquare.apply, (x64(),), raise_exception=False) is False
    assert gradcheck(lambda x: x * x, (x64(),)) is True


def test_gradgradcheck_catches_a_lost_double_backward():
    assert gradcheck(FirstOrderOnly.apply, (x64(),))
    with pytest.raises(GradcheckError):
        gradgradcheck(FirstOrderOnly.apply, (x64(),))


def test_float32_inputs_are_checked_in_float64():
    x = mg.randn(4, requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(), (x,))


def test_jacobians_match_a_known_matrix():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = float64_input([0.5, -0.5])
    numerical, analytical = jacobians(lambda t: mg.tensor(a, dtype=mg.float64) @ t, (x,))
    np.testing.assert_allclose(analytical[0], a)
    np.testing.assert_allclose(numerical[0], a, atol=1e-8)


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, (mg.ones(2),))


def test_inputs_that_are_not_c_contiguous_are_perturbed_too():
    # A transposed (Fortran-ordered) input: its flat reshape would be a copy, not a view.
    x = mg.Tensor._wrap(np.asfortranarray(np.random.default_rng(2).standard_normal((3, 2))))
    assert gradcheck(lambda t: t * t, (x.requires_grad_(),))
    assert gradgradcheck(lambda t: t * t * t, (x,))
