"""Every differentiable op: forward against NumPy, gradcheck and gradgradcheck in float64."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minigan as mg
from minigan.autograd import gradcheck, gradgradcheck
from oracles import float64_input

rng = np.random.default_rng(0)


# name -> (function of tensors, numpy forward, input shapes, positive inputs?)
UNARY = {
    "neg": (lambda x: -x, lambda a: -a),
    "exp": (mg.exp, np.exp),
    "log": (mg.log, np.log),
    "log1p": (mg.log1p, np.log1p),
    "sqrt": (mg.sqrt, np.sqrt),
    "abs": (mg.abs, np.abs),
    "pow3": (lambda x: x ** 3, lambda a: a ** 3),
    "pow_half": (lambda x: x ** 0.5, np.sqrt),
    "rpow": (lambda x: 2.0 ** x, lambda a: 2.0 ** a),
    "clamp": (lambda x: mg.clamp(x, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
    "clamp_min": (lambda x: x.clamp(min=0.1), lambda a: np.maximum(a, 0.1)),
    "sigmoid": (mg.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (mg.tanh, np.tanh),
    "relu": (mg.relu, lambda a: np.maximum(a, 0)),
    "leaky_relu": (lambda x: mg.leaky_relu(x, 0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    "softplus": (mg.softplus, lambda a: np.log1p(np.exp(a))),
    "softplus_beta": (lambda x: mg.softplus(x, beta=2.0), lambda a: np.log1p(np.exp(2 * a)) / 2),
    "logsigmoid": (mg.logsigmoid, lambda a: -np.log1p(np.exp(-a))),
    "sum": (lambda x: x.sum(), np.sum),
    "sum_dim": (lambda x: x.sum(1), lambda a: a.sum(1)),
    "sum_keepdim": (lambda x: x.sum((0, 2), keepdim=True), lambda a: a.sum((0, 2), keepdims=True)),
    "mean": (lambda x: x.mean(-1), lambda a: a.mean(-1)),
    "var": (lambda x: x.var(1), lambda a: a.var(1, ddof=1)),
    "var_biased": (lambda x: x.var(unbiased=False), lambda a: a.var()),
    "std": (lambda x: x.std(0, keepdim=True), lambda a: a.std(0, ddof=1, keepdims=True)),
    "max": (lambda x: x.max(), np.max),
    "max_dim": (lambda x: x.max(1).values, lambda a: a.max(1)),
    "min_dim": (lambda x: x.min(2, keepdim=True).values, lambda a: a.min(2, keepdims=True)),
    "amax": (lambda x: mg.amax(x, (0, 1)), lambda a: a.max((0, 1))),
    "amin": (lambda x: mg.amin(x, 1), lambda a: a.min(1)),
    "logsumexp": (lambda x: mg.logsumexp(x, 1), lambda a: np.log(np.exp(a).sum(1))),
    "softmax": (lambda x: mg.softmax(x, -1), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    "log_softmax": (lambda x: mg.log_softmax(x, 1),
                    lambda a: a - np.log(np.exp(a).sum(1, keepdims=True))),
    "norm": (lambda x: x.norm(), np.linalg.norm),
    "norm_dim": (lambda x: x.norm(dim=(1, 2)), lambda a: np.sqrt((a * a).sum((1, 2)))),
    "norm_p1": (lambda x: x.norm(p=1, dim=1), lambda a: np.abs(a).sum(1)),
    "norm_p3": (lambda x: x.norm(p=3), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3)),
    "reshape": (lambda x: x.reshape(4, -1), lambda a: a.reshape(4, -1)),
    "flatten": (lambda x: x.flatten(1), lambda a: a.reshape(a.shape[0], -1)),
    "transpose": (lambda x: x.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    "permute": (lambda x: x.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0)),
    "T": (lambda x: x.T, lambda a: a.T),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    "squeeze": (lambda x: x[:, :1].squeeze(1), lambda a: a[:, 0]),
    "expand": (lambda x: x[:, :1].expand(2, 3, 4), lambda a: np.broadcast_to(a[:, :1], (2, 3, 4))),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3))),
    "getitem_basic": (lambda x: x[1, ::2, 1:3], lambda a: a[1, ::2, 1:3]),
    "getitem_array": (lambda x: x[[0, 0, 1], :, [1, 1, 3]], lambda a: a[[0, 0, 1], :, [1, 1, 3]]),
    "getitem_bool": (lambda x: x[x > 0], lambda a: a[a > 0]),
    "pad": (lambda x: mg.ops.pad(x, (1, 2, 0, 1), value=0.5),
            lambda a: np.pad(a, ((0, 0), (0, 1), (1, 2)), constant_values=0.5)),
    "split": (lambda x: mg.split(x, [1, 2], dim=1)[1], lambda a: a[:, 1:3]),
    "chunk": (lambda x: mg.chunk(x, 2, dim=2)[1], lambda a: a[:, :, 2:]),
    "clone": (lambda x: x.clone(), lambda a: a.copy()),
}
POSITIVE = {"log", "sqrt", "pow_half", "log1p"}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_and_gradients(name):
    fn, ref = UNARY[name]
    x = float64_input((2, 3, 4), rng, positive=name in POSITIVE)
    np.testing.assert_allclose(fn(x).detach().numpy(), ref(x.detach().numpy()), rtol=1e-10,
                               atol=1e-12)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow_tensor": (lambda a, b: a.abs() ** b, lambda a, b: np.abs(a) ** b),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (mg.minimum, np.minimum),
    "where": (lambda a, b: mg.where(a > b, a, b * 2), lambda a, b: np.where(a > b, a, b * 2)),
    "atan_like": (lambda a, b: (a * b).sigmoid() * a.exp(), lambda a, b: np.exp(a) / (1 + np.exp(-a * b))),
}

shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1,
                                           max_side=3)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(deadline=None, max_examples=8)
@given(shapes=shapes)
def test_binary_broadcasting_forward_and_gradients(name, shapes):
    fn, ref = BINARY[name]
    a = float64_input(shapes.input_shapes[0], rng)
    b = float64_input(shapes.input_shapes[1], rng, positive=name == "div")
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.detach().numpy(), ref(a.detach().numpy(), b.detach().numpy()),
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(fn, (a, b))
    assert gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                    ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                                    ((1, 2, 3), (4, 3, 2)), ((2, 1, 2, 3), (3, 3, 1))])
def test_matmul_shapes_and_gradients(shapes):
    a, b = float64_input(shapes[0], rng), float64_input(shapes[1], rng)
    out = a @ b
    expected = a.detach().numpy() @ b.detach().numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    assert gradcheck(mg.matmul, (a, b))
    assert gradgradcheck(mg.matmul, (a, b))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    a, b = float64_input((2, 3), rng), float64_input((2, 3), rng)
    np.testing.assert_array_equal(mg.cat([a, b], dim).detach().numpy(),
                                  np.concatenate([a.detach().numpy(), b.detach().numpy()], dim))
    np.testing.assert_array_equal(mg.stack([a, b], dim).detach().numpy(),
                                  np.stack([a.detach().numpy(), b.detach().numpy()], dim))
    assert gradcheck(lambda a, b: mg.cat([a, b * 2, a], dim), (a, b))
    assert gradgradcheck(lambda a, b: mg.stack([a * b, b], dim), (a, b))


def test_gather_forward_and_gradients():
    x = float64_input((3, 4), rng)
    index = mg.tensor([[0, 0], [3, 1], [2, 2]])
    np.testing.assert_array_equal(x.gather(1, index).detach().numpy(),
                                  np.take_along_axis(x.detach().numpy(), index.numpy(), 1))
    assert gradcheck(lambda x: x.gather(1, index), (x,))
    assert gradgradcheck(lambda x: x.gather(1, index) ** 2, (x,))


def test_third_order_gradient():
    x = float64_input([0.3, -1.2])
    y = (x ** 4).sum()
    g1, = mg.autograd.grad(y, x, create_graph=True)
    g2, = mg.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = mg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().numpy(), 4 * x.detach().numpy() ** 3)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(g3.numpy(), 24 * x.detach().numpy())


def test_norm_gradient_at_zero_is_zero_not_nan():
    x = mg.zeros(3, dtype=mg.float64, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_stable_functions_at_extreme_logits():
    x = mg.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    np.testing.assert_allclose(mg.sigmoid(x).detach().numpy(), [0, 0.5, 1])
    np.testing.assert_allclose(mg.logsigmoid(x).detach().numpy(), [-1000, -np.log(2), 0])
    np.testing.assert_allclose(mg.softplus(x).detach().numpy(), [0, np.log(2), 1000])
    mg.logsigmoid(x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(mg.logsumexp(x, 0).item(), 1000.0)
