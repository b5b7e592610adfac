"""In-place changes to tensors that backward needs are caught (PyTorch's version counters),
and in-place ops whose backward does not need the overwritten value work and differentiate
right."""
import numpy as np
import pytest

import minigan as mg
from minigan import nn, optim
from minigan.autograd import gradcheck, gradgradcheck
from oracles import float64_input

MODIFIED = "modified by an in-place operation"


# --- every in-place write is counted, on the memory all its views share ---
WRITES = {
    "+=": lambda x: x.__iadd__(1),
    "add_": lambda x: x.add_(1),
    "mul_": lambda x: x.mul_(2),
    "clamp_": lambda x: x.clamp_(0, 1),
    "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(3),
    "copy_": lambda x: x.copy_(mg.ones(2, 3)),
    "normal_": lambda x: x.normal_(),
    "uniform_": lambda x: x.uniform_(),
    "setitem": lambda x: x.__setitem__(0, 5.0),
    "through .data": lambda x: x.data.add_(1),
    ".data =": lambda x: setattr(x, "data", mg.zeros(2, 3)),
    "through detach()": lambda x: x.detach().zero_(),
    "through a basic slice": lambda x: x[0].fill_(7),
    "through view()": lambda x: x.view(-1).__setitem__(2, 1.0),
    "through .T": lambda x: x.T.mul_(2),
    "nn.init": lambda x: nn.init.kaiming_uniform_(x),
}


@pytest.mark.parametrize("how", sorted(WRITES))
def test_every_in_place_write_bumps_the_version(how):
    x = mg.randn(2, 3)
    assert x._version == 0
    WRITES[how](x)
    assert x._version == 1


@pytest.mark.parametrize("copy", [lambda x: x * 1, lambda x: x.clone(), lambda x: x[[0, 1]],
                                  lambda x: mg.tensor(x)])
def test_a_copy_has_its_own_version_counter(copy):
    x = mg.randn(2, 3)
    y = copy(x)
    y.add_(1)
    assert x._version == 0 and y._version == 1


# --- the reproductions: each gave a silently wrong gradient before ---
def x_plus_10_after_mul():
    x, w = mg.ones(3), mg.ones(3, requires_grad=True)
    y = (w * x).sum()
    x += 10
    y.backward()


def weight_updated_under_no_grad():
    w = mg.ones(3, requires_grad=True)
    y = (w * w).sum()
    with mg.no_grad():
        w += 1
    y.backward()


def output_zeroed_through_detach():
    x = mg.ones(3, requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    y.sum().backward()


def setitem_on_a_saved_tensor():
    x, w = mg.ones(3), mg.ones(3, requires_grad=True)
    y = (w * x).sum()
    x[0] = 100
    y.backward()


def write_through_data():
    x, w = mg.ones(3), mg.ones(3, requires_grad=True)
    y = (w * x).sum()
    x.data.mul_(2)
    y.backward()


@pytest.mark.parametrize("case, where", [
    (x_plus_10_after_mul, "input 1 of Mul"),
    (weight_updated_under_no_grad, "input 0 of Mul"),
    (output_zeroed_through_detach, "the output of Exp"),
    (setitem_on_a_saved_tensor, "input 1 of Mul"),
    (write_through_data, "input 1 of Mul"),
])
def test_backward_refuses_a_changed_saved_tensor(case, where):
    with pytest.raises(RuntimeError) as info:
        case()
    message = str(info.value)
    for piece in [MODIFIED, where, "shape (3,)", "at version 1", "at version 0",
                  "optimiser step"]:
        assert piece in message, piece


# --- the classic GAN bug: D's step between G's forward and G's backward ---
def mlp(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, 8), nn.LeakyReLU(0.2), nn.Linear(8, n_out))


def conv_critic():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8, 1))


OPTIMISERS = {
    "Adam": lambda p: optim.Adam(p, lr=1e-2),
    "Adam amsgrad": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=1e-2),
    "SGD": lambda p: optim.SGD(p, lr=1e-2),
    "SGD momentum": lambda p: optim.SGD(p, lr=1e-2, momentum=0.9),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-2),
}


@pytest.mark.parametrize("make_optimiser", OPTIMISERS.values(), ids=list(OPTIMISERS))
@pytest.mark.parametrize("critic", ["linear", "conv"])
def test_stepping_d_between_g_forward_and_backward_raises(make_optimiser, critic):
    mg.manual_seed(0)
    if critic == "linear":
        G, D, z, real = mlp(2, 2), mlp(2, 1), mg.randn(4, 2), mg.randn(4, 2)
    else:
        G = nn.Sequential(nn.Linear(2, 16), nn.Unflatten(1, (1, 4, 4)))
        D, z, real = conv_critic(), mg.randn(4, 2), mg.randn(4, 1, 4, 4)
    opt_D = make_optimiser(D.parameters())
    loss_g = D(G(z)).mean()                 # G's loss, built with D's current weights
    loss_d = -D(real).mean()
    opt_D.zero_grad()
    loss_d.backward()
    opt_D.step()                            # D's weights change in place
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        loss_g.backward()
    assert "optimiser step" in str(info.value)
    # The fix: build G's loss after D's step; then it runs.
    D(G(z)).mean().backward()
    assert all(p.grad is not None for p in G.parameters())


# --- in-place ops that backward does not need the old value of are allowed ---
def test_in_place_on_a_layer_output_works_as_in_pytorch():
    mg.manual_seed(0)
    D, x = nn.Linear(2, 3), mg.randn(4, 2)
    h = D(x)
    h.add_(1)                               # Linear's backward reads x and W, not h
    h.sum().backward()
    in_place = D.weight.grad.numpy().copy()
    D.weight.grad = None
    (D(x) + 1).sum().backward()
    np.testing.assert_allclose(in_place, D.weight.grad.numpy())
    assert h.grad_fn.name == "Add"


def test_in_place_on_a_tensor_whose_op_does_not_save_it():
    x = mg.ones(3, requires_grad=True)
    y = x * 2
    z = (y * 3).sum()           # Mul reads only the 3 for y's gradient, not y
    y.mul_(5)                   # y = 10 x now
    z.backward(retain_graph=True)   # z was built from the old y: dz/dx = 3 * 2
    np.testing.assert_allclose(x.grad.numpy(), [6, 6, 6])
    x.grad = None
    y.sum().backward()          # through the in-place op: dy/dx = 5 * 2
    np.testing.assert_allclose(x.grad.numpy(), [10, 10, 10])


def test_in_place_ops_in_a_graph_pass_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    x, w = float64_input((3, 4), rng), float64_input((3, 4), rng)

    def f(x, w):
        y = x * 1.5
        y.mul_(w)               # its own backward reads y's old value: kept for it
        y.add_(x, alpha=2)
        y.clamp_(-1, 1)
        y.div_(w.abs() + 1)
        y[0] = w[1]
        return y * x

    assert gradcheck(f, (x, w))
    assert gradgradcheck(f, (x, w))


def test_overwriting_an_output_that_backward_reads_raises():
    x = mg.ones(3, requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)                   # sigmoid's backward reads its output, now overwritten
    with pytest.raises(RuntimeError, match="the output of Sigmoid"):
        y.sum().backward()


def test_in_place_through_a_view_in_a_graph_is_refused():
    x = mg.ones(2, 3, requires_grad=True)
    y = x * 2
    row = y[0]
    with pytest.raises(RuntimeError, match="view"):
        row.add_(1)
    with pytest.raises(RuntimeError, match="view"):
        y.add_(1)
    with mg.no_grad():
        row.add_(1)             # outside the graph, writes through views are fine
    assert y._version == 1


def test_gradcheck_leaves_the_callers_inputs_alone():
    x = float64_input((2, 3), np.random.default_rng(0))
    before = x.detach().numpy().copy()
    assert gradcheck(lambda t: t * t.exp(), (x,))     # Mul saves its inputs: none changed
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert x._version == 0
