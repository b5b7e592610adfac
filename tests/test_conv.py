"""Differentiable convolutions and pools: forward against NumPy loops, gradcheck and
gradgradcheck (through every kernel, both backends), the adjoint identity, and bad input."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import minigan as mg
from minigan import kernels
from minigan.autograd import gradcheck, gradgradcheck
from minigan.nn import conv_functional
from minigan.nn import functional as F
from oracles import conv2d_loops, conv_transpose2d_loops

rng = np.random.default_rng(0)


def t64(*shape, grad=True):
    return mg.tensor(rng.standard_normal(shape), dtype=mg.float64, requires_grad=grad)


CONV_CASES = [  # (x shape, w shape, stride, padding, dilation, bias)
    ((2, 3, 5, 6), (4, 3, 3, 2), (1, 1), (0, 0), (1, 1), True),
    ((1, 2, 7, 7), (3, 2, 4, 4), (2, 2), (1, 1), (1, 1), False),
    ((2, 1, 6, 5), (2, 1, 2, 3), (3, 1), (2, 0), (1, 2), True),
    ((1, 2, 8, 8), (2, 2, 3, 3), (2, 3), (1, 2), (2, 2), True),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, bias", CONV_CASES)
def test_conv2d_matches_loops_and_gradchecks(kernel_backend, xs, ws, stride, padding, dilation, bias):
    x, w = t64(*xs), t64(*ws)
    b = t64(ws[0]) if bias else None
    y = F.conv2d(x, w, b, stride, padding, dilation)
    expected = conv2d_loops(x.detach().numpy(), w.detach().numpy(),
                            None if b is None else b.detach().numpy(), stride, padding, dilation)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    inputs = (x, w) if b is None else (x, w, b)
    fn = lambda *a: F.conv2d(*a, stride=stride, padding=padding, dilation=dilation)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("xs, ws, stride, padding, output_padding, dilation", [
    ((2, 3, 3, 4), (3, 2, 3, 3), 1, 0, 0, 1),
    ((1, 2, 4, 4), (2, 3, 4, 4), 2, 1, 0, 1),
    ((1, 2, 3, 3), (2, 1, 3, 3), 2, 1, 1, 1),
    ((2, 1, 3, 2), (1, 2, 2, 2), 3, 0, 2, 2),
])
def test_conv_transpose2d_matches_loops_and_gradchecks(kernel_backend, xs, ws, stride, padding,
                                                       output_padding, dilation):
    x, w, b = t64(*xs), t64(*ws), t64(ws[1])
    y = F.conv_transpose2d(x, w, b, stride, padding, output_padding, dilation=dilation)
    expected = conv_transpose2d_loops(x.detach().numpy(), w.detach().numpy(), stride, padding,
                                      output_padding, dilation) + b.detach().numpy()[:, None, None]
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    fn = lambda *a: F.conv_transpose2d(*a, stride=stride, padding=padding,
                                       output_padding=output_padding, dilation=dilation)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@settings(deadline=None, max_examples=15)
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 7),
       w=st.integers(3, 7), kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), dilation=st.integers(1, 2))
def test_adjoint_identity_holds_for_random_geometry(n, c, o, h, w, kh, kw, stride, padding, dilation):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> = <w, grad_weight(x, y)>."""
    assume(dilation * (kh - 1) + 1 <= h + 2 * padding and dilation * (kw - 1) + 1 <= w + 2 * padding)
    x, k = t64(n, c, h, w, grad=False), t64(o, c, kh, kw, grad=False)
    out = F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    y = t64(*out.shape, grad=False)
    lhs = (out * y).sum().item()
    back = conv_functional.ConvGradInput.apply(y, k, input_hw=(h, w), geometry=((stride,) * 2, (padding,) * 2,
                                                                   (dilation,) * 2))
    gw = conv_functional.ConvGradWeight.apply(x, y, kernel_hw=(kh, kw), geometry=((stride,) * 2, (padding,) * 2,
                                                                     (dilation,) * 2))
    assert lhs == pytest.approx((x * back).sum().item(), rel=1e-10, abs=1e-10)
    assert lhs == pytest.approx((k * gw).sum().item(), rel=1e-10, abs=1e-10)


def test_unfold_fold_gradchecks():
    x = t64(1, 2, 5, 5)
    assert gradcheck(lambda t: F.unfold(t, 3, padding=1, stride=2), (x,))
    assert gradgradcheck(lambda t: F.unfold(t, 2) ** 2, (x,))
    cols = t64(1, 2 * 9, 9)
    assert gradcheck(lambda c: F.fold(c, (5, 5), 3, padding=1, stride=2), (cols,))


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), 0)])
def test_pools_match_numpy_and_gradcheck(kernel, stride, padding):
    x = t64(2, 3, 6, 7)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    a = np.pad(x.detach().numpy(), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2),
               constant_values=-np.inf)
    OH, OW = (a.shape[2] - kh) // sh + 1, (a.shape[3] - kw) // sw + 1
    windows = np.stack([a[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                        for i in range(OH) for j in range(OW)], -1)
    expected_max = windows.max((2, 3)).reshape(2, 3, OH, OW)
    np.testing.assert_allclose(F.max_pool2d(x, kernel, stride, padding).detach().numpy(), expected_max)
    zeros_padded = np.where(np.isinf(windows), 0, windows)
    expected_avg = zeros_padded.mean((2, 3)).reshape(2, 3, OH, OW)
    np.testing.assert_allclose(F.avg_pool2d(x, kernel, stride, padding).detach().numpy(), expected_avg)
    for pool in (F.max_pool2d, F.avg_pool2d):
        fn = lambda t: pool(t, kernel, stride, padding)
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_avg_pool_count_include_pad_false():
    x = mg.ones(1, 1, 4, 4, dtype=mg.float64)
    out = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    np.testing.assert_allclose(out.numpy(), 1.0)


@pytest.mark.parametrize("kwargs, shape", [(dict(scale_factor=2), (1, 2, 6, 8)),
                                           (dict(size=(5, 3)), (1, 2, 5, 3))])
def test_interpolate_nearest(kwargs, shape):
    x = t64(1, 2, 3, 4)
    y = F.interpolate(x, **kwargs)
    assert y.shape == shape
    if "scale_factor" in kwargs:
        np.testing.assert_array_equal(y.detach().numpy(),
                                      x.detach().numpy().repeat(2, 2).repeat(2, 3))
    assert gradcheck(lambda t: F.interpolate(t, **kwargs), (x,))
    assert gradgradcheck(lambda t: F.interpolate(t, **kwargs) ** 2, (x,))


def test_gradient_penalty_through_conv_layers_is_exact():
    """WGAN-GP's double backward: d/dw of ||d critic / d x||^2 through two convs."""
    x = t64(2, 1, 6, 6)
    w1, w2 = t64(3, 1, 3, 3), t64(1, 3, 4, 4)

    def penalty(x, w1, w2):
        h = mg.leaky_relu(F.conv2d(x, w1, stride=1, padding=1), 0.2)
        score = F.conv2d(h, w2, stride=2).sum()
        g, = mg.autograd.grad(score, x, create_graph=True)
        return (g.flatten(1).norm(dim=1) - 1) ** 2

    assert gradcheck(penalty, (x, w1, w2))


BAD = [
    (lambda: F.conv2d(mg.ones(3, 28, 28, 1), mg.ones(4, 3, 3, 3)), ValueError, r"with C=3 to match weight \(4, 3, 3, 3\), got \(3, 28, 28, 1\)"),
    (lambda: F.conv2d(mg.ones(28, 28), mg.ones(4, 3, 3, 3)), ValueError, r"expected input of shape \(N, C, H, W\)"),
    (lambda: F.conv2d(mg.ones(1, 1, 2, 2), mg.ones(1, 1, 3, 3)), ValueError, "larger than the padded input"),
    (lambda: F.conv2d(mg.ones(1, 1, 4, 4), mg.ones(1, 1, 3, 3, dtype=mg.float64)), TypeError, "same dtype"),
    (lambda: F.conv2d(mg.ones(1, 1, 4, 4), mg.ones(1, 1, 3, 3), stride=0), ValueError, "stride"),
    (lambda: F.conv2d(mg.ones(1, 1, 4, 4), mg.ones(2, 1, 3, 3), mg.ones(3)), ValueError, r"bias of shape \(2,\)"),
    (lambda: F.conv_transpose2d(mg.ones(1, 2, 3, 3), mg.ones(2, 1, 3, 3), stride=2, output_padding=2), ValueError, "output_padding"),
    (lambda: F.conv_transpose2d(mg.ones(1, 3, 3, 3), mg.ones(2, 1, 3, 3)), ValueError, r"C_in=2"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 2, 2), 3), ValueError, "larger than the padded input"),
]


def _block_conv_kernels(monkeypatch):
    """Replace every version of every conv-family kernel with one that fails."""
    def fail(*args, **kwargs):
        raise AssertionError("a kernel was reached with bad input")
    for name in ("conv2d", "conv2d_grad_input", "conv2d_grad_weight", "im2col", "col2im"):
        for version in kernels.REGISTRY[name]:
            monkeypatch.setitem(kernels.REGISTRY[name], version, fail)


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_raises_a_clear_error_before_any_kernel(monkeypatch, call, error, message):
    _block_conv_kernels(monkeypatch)
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call", [lambda: F.conv2d(mg.ones(1, 1, 4, 4), mg.ones(1, 1, 3, 3)),
                                  lambda: F.conv_transpose2d(mg.ones(1, 2, 3, 3), mg.ones(2, 1, 3, 3)),
                                  lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2)])
def test_the_kernel_block_above_does_catch_good_input(monkeypatch, call):
    """The check above is only worth something if a call that reaches a kernel fails."""
    _block_conv_kernels(monkeypatch)
    with pytest.raises(AssertionError, match="a kernel was reached"):
        call()
