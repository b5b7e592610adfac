"""Tensor creation, dtypes and PyTorch's type promotion, attributes and conversions."""
import numpy as np
import pytest

import minigan as mg


@pytest.mark.parametrize("data, dtype", [([1.0, 2.0], mg.float32), ([1, 2], mg.int64),
                                         ([True, False], mg.bool), (3.5, mg.float32),
                                         (np.zeros(2), mg.float64), (np.zeros(2, np.int32), mg.int32)])
def test_tensor_dtype_inference(data, dtype):
    assert mg.tensor(data).dtype == dtype


def test_tensor_copies_its_input():
    a = np.zeros(3)
    t = mg.tensor(a)
    a[0] = 1
    assert t[0].item() == 0


@pytest.mark.parametrize("a, b, expected", [
    (mg.ones(2), 2.5, mg.float32),                       # Python float keeps float32
    (mg.ones(2, dtype=mg.float64), 2, mg.float64),
    (mg.tensor([1, 2]), 2.5, mg.float32),                # int tensor and float -> default float
    (mg.tensor([1, 2]), 2, mg.int64),
    (mg.tensor([True]), 1, mg.int64),
    (mg.ones(2), mg.ones(2, dtype=mg.float64), mg.float64),
    (mg.ones(2), mg.tensor([1, 2]), mg.float32),         # int64 tensor does not widen float32
    (mg.ones(2), mg.tensor(2.0, dtype=mg.float64), mg.float32),   # 0-dim of same category
    (mg.tensor([1, 2]), mg.tensor(2.0, dtype=mg.float64), mg.float32),
])
def test_type_promotion_follows_pytorch(a, b, expected):
    assert (a * b).dtype == expected
    assert (b * a).dtype == expected


def test_division_of_integers_is_floating():
    assert (mg.tensor([1, 2]) / 2).dtype == mg.float32


def test_creation_functions():
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).dtype == mg.float32
    np.testing.assert_array_equal(mg.ones(2).numpy(), [1, 1])
    assert mg.full((2,), 7).dtype == mg.int64
    np.testing.assert_array_equal(mg.arange(5).numpy(), np.arange(5))
    assert mg.arange(0, 1, 0.25).dtype == mg.float32
    np.testing.assert_allclose(mg.linspace(0, 1, 5).numpy(), [0, .25, .5, .75, 1])
    np.testing.assert_array_equal(mg.eye(3).numpy(), np.eye(3))
    assert mg.zeros_like(mg.ones(2, dtype=mg.float64)).dtype == mg.float64
    r = mg.randint(0, 10, (100,))
    assert r.dtype == mg.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10


def test_manual_seed_makes_random_functions_reproducible():
    mg.manual_seed(123)
    a = (mg.rand(3).numpy(), mg.randn(3).numpy(), mg.randint(0, 5, (3,)).numpy())
    mg.manual_seed(123)
    b = (mg.rand(3).numpy(), mg.randn(3).numpy(), mg.randint(0, 5, (3,)).numpy())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    state = mg.get_rng_state()
    c = mg.randn(4).numpy()
    mg.set_rng_state(state)
    np.testing.assert_array_equal(mg.randn(4).numpy(), c)


def test_attributes_and_conversions():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size() == (2, 2) and x.size(1) == 2
    assert x.numel() == 4 and x.is_leaf and x.device == "cpu" and x.device.type == "cpu"
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None
    assert x.sum().item() == 10.0
    assert x.detach().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.double().dtype == mg.float64 and x.to(mg.float64).dtype == mg.float64
    assert x.detach().long().dtype == mg.int64
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(ValueError, match="only one element"):
        x.item()


def test_clone_is_differentiable_and_independent():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    (c * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])
    assert c._data is not x._data


def test_repr_is_readable():
    assert repr(mg.tensor([1.0, 2.5])) == "tensor([1.0, 2.5])"
    assert "requires_grad=True" in repr(mg.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(mg.ones(1, requires_grad=True) * 2)
    assert "dtype=minigan.float64" in repr(mg.ones(1, dtype=mg.float64))


def test_comparisons_return_bool_tensors():
    x = mg.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).dtype == mg.bool
    np.testing.assert_array_equal((x == 2).numpy(), [False, True, False])
    np.testing.assert_array_equal((~(x < 2)).numpy(), [False, True, True])


def test_setitem_and_indexing():
    x = mg.zeros(2, 3)
    x[0, 1] = 5.0
    x[1] = mg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 0], [1, 2, 3]])
    assert x[mg.tensor([1, 0])].shape == (2, 3)


def test_numpy_array_on_the_left_defers_to_tensor():
    out = np.ones(2, dtype=np.float32) + mg.ones(2)
    assert isinstance(out, mg.Tensor)


def test_requires_grad_only_on_leaves():
    y = mg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
