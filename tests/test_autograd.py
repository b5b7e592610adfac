"""The engine: accumulation, no_grad, retain_graph, autograd.grad, deep graphs, and errors."""
import numpy as np
import pytest

import minigan as mg
from minigan.autograd import grad


def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_shared_subexpression_gets_both_contributions():
    x = mg.tensor(3.0, requires_grad=True)
    y = x * x
    z = y + y * x           # z = x^2 + x^3, dz/dx = 2x + 3x^2
    z.backward()
    assert x.grad.item() == pytest.approx(2 * 3 + 3 * 9)


def test_no_grad_records_nothing_and_works_as_decorator():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @mg.no_grad()
    def f(t):
        return t * 2
    assert f(x).grad_fn is None
    with mg.no_grad():
        with mg.enable_grad():
            assert (x * 2).requires_grad
    assert mg.is_grad_enabled()


def test_backward_twice_needs_retain_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_non_scalar_backward_needs_gradient():
    x = mg.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(3,\)"):
        y.backward()
    y.backward(mg.tensor([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 0, 4])


def test_gradient_of_wrong_shape_is_an_error():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*\(3,\)"):
        (x * 2).backward(mg.ones(2))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        mg.ones(2, 3) + mg.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(2,\) and \(3,\)"):
        mg.ones(2) * mg.ones(3)


def test_deep_chain_of_100000_ops():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_grad_returns_without_touching_dot_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    gx, = grad((x * w).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [3, 4])
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_grad_with_create_graph_is_differentiable():
    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    gx, = grad((x ** 3).sum(), x, create_graph=True)
    assert gx.requires_grad
    gx.sum().backward()     # d/dx sum(3x^2) = 6x
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([0.5, -1.0]))


def test_grad_of_non_leaf_input_and_unused_inputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    gh, = grad(y, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    unused = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="was not used"):
        grad(y, [x, unused], retain_graph=True)
    gx, gu = grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), 8 * x.detach().numpy())


def test_grad_skips_branches_that_lead_to_no_input():
    calls = []

    class Spy(mg.Function):
        def forward(self, a):
            return a * 1

        def backward(self, gy):
            calls.append(1)
            return gy

    x = mg.ones(2, requires_grad=True)
    w = mg.ones(2, requires_grad=True)
    y = (x * Spy.apply(w)).sum()
    grad(y, x)
    assert calls == []      # the gradient of w was not asked for, so its branch never ran


def test_grad_needs_inputs_that_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(mg.ones(2, requires_grad=True).sum(), mg.ones(2))


def test_backward_of_tensor_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(2).sum().backward()


def test_leaf_grads_are_not_aliased():
    a = mg.ones(3, requires_grad=True)
    b = mg.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), 1)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        mg.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("op", ["__iadd__", "add_", "mul_", "zero_", "fill_", "__setitem__"])
def test_in_place_on_leaf_requiring_grad_is_an_error(op):
    x = mg.ones(2, requires_grad=True)
    args = {"__iadd__": (1.0,), "add_": (1.0,), "mul_": (2.0,), "zero_": (), "fill_": (3.0,),
            "__setitem__": (0, 5.0)}[op]
    with pytest.raises(RuntimeError, match="in-place"):
        getattr(x, op)(*args)
    with mg.no_grad():
        getattr(x, op)(*args)       # allowed where no graph is recorded (optimisers, init)


def test_in_place_arithmetic_on_plain_tensors():
    x = mg.tensor([1.0, 2.0])
    x += 1
    x *= mg.tensor([2.0, 3.0])
    np.testing.assert_allclose(x.numpy(), [4, 9])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i = mg.tensor([1, 2])
        i += 0.5


def test_mixing_devices_is_an_error_naming_both():
    class OnCuda(mg.Tensor):      # a stand-in, so the check is tested without a GPU
        device = property(lambda self: mg.device("cuda"))

    class CudaLikeArray(np.ndarray):
        pass

    other = OnCuda._wrap(np.ones(2, np.float32).view(CudaLikeArray))
    with pytest.raises(RuntimeError, match="same device, found cpu and cuda"):
        mg.ones(2) + other


def test_detach_cuts_the_graph():
    x = mg.ones(2, requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = (x * 2 + y).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2])
