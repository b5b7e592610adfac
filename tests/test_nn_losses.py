"""Every loss, module and functional form: forward against NumPy for each reduction, then
gradcheck and gradgradcheck in float64."""
import numpy as np
import pytest

import minigan as mg
import minigan.nn.functional as F
from minigan import nn
from minigan.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(1)


def t64(a, requires_grad=False):
    return mg.tensor(a, dtype=mg.float64, requires_grad=requires_grad)


def reduce_ref(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def log_softmax_ref(x):
    z = x - x.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


X = rng.standard_normal((4, 3))
PROBS = rng.uniform(0.05, 0.95, (4, 3))
TARGET01 = rng.uniform(0, 1, (4, 3))            # soft labels work too
CLASSES = np.array([2, 0, 1, 2])
WEIGHT = np.array([0.5, 2.0, 1.5])
SOFT = np.eye(3)[CLASSES] * 0.8 + 0.2 / 3        # class probabilities as targets

# name -> (module, input array, target, NumPy per-element loss before reduction)
LOSSES = {
    "MSELoss": (nn.MSELoss, X, t64(TARGET01), lambda x: (x - TARGET01) ** 2),
    "L1Loss": (nn.L1Loss, X, t64(TARGET01), lambda x: np.abs(x - TARGET01)),
    "BCELoss": (nn.BCELoss, PROBS, t64(TARGET01),
                lambda p: -(TARGET01 * np.log(p) + (1 - TARGET01) * np.log(1 - p))),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, X, t64(TARGET01),
                          lambda x: -(TARGET01 * np.log(1 / (1 + np.exp(-x)))
                                      + (1 - TARGET01) * np.log(1 - 1 / (1 + np.exp(-x))))),
    "NLLLoss": (nn.NLLLoss, log_softmax_ref(X), mg.tensor(CLASSES),
                lambda lp: -lp[np.arange(4), CLASSES]),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, X, mg.tensor(CLASSES),
                         lambda x: -log_softmax_ref(x)[np.arange(4), CLASSES]),
    "CrossEntropyLoss_probabilities": (nn.CrossEntropyLoss, X, t64(SOFT),
                                       lambda x: -(log_softmax_ref(x) * SOFT).sum(1)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_forward_and_gradients(name, reduction):
    cls, a, target, ref = LOSSES[name]
    criterion = cls(reduction=reduction)
    x = t64(a, requires_grad=True)
    np.testing.assert_allclose(criterion(x, target).detach().numpy(), reduce_ref(ref(a), reduction),
                               rtol=1e-10, atol=1e-12)
    fn = lambda x: criterion(x, target)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_nll_and_cross_entropy_follow_pytorch(reduction):
    target = mg.tensor([2, 0, 1, -100])              # the last one is ignored
    x = t64(X, requires_grad=True)
    w = WEIGHT[np.array([2, 0, 1])]
    per = -log_softmax_ref(X)[np.arange(3), [2, 0, 1]] * w
    expected = {"mean": per.sum() / w.sum(), "sum": per.sum(),
                "none": np.append(per, 0.0)}[reduction]
    fn = lambda x: F.cross_entropy(x, target, weight=t64(WEIGHT), reduction=reduction)  # noqa
    np.testing.assert_allclose(fn(x).detach().numpy(), expected, rtol=1e-10)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_cross_entropy_label_smoothing_and_spatial_targets():
    x = t64(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    target = mg.tensor(rng.integers(0, 3, (2, 2, 2)))
    logp = log_softmax_ref(x.detach().numpy())
    onehot = np.moveaxis(np.eye(3)[target.numpy()], -1, 1)
    soft = onehot * 0.9 + 0.1 / 3
    expected = -(logp * soft).sum(1).mean()
    fn = lambda x: F.cross_entropy(x, target, label_smoothing=0.1)  # noqa: E731
    np.testing.assert_allclose(fn(x).item(), expected, rtol=1e-10)
    assert gradcheck(fn, (x,))


def test_weighted_and_pos_weighted_bce_with_logits():
    x = t64(X, requires_grad=True)
    t = t64(TARGET01)
    pw, w = t64([1.0, 3.0, 0.5]), t64(rng.uniform(0.5, 1.5, (4, 3)))
    ls = np.log(1 / (1 + np.exp(-X)))
    expected = (-(np.array([1.0, 3.0, 0.5]) * TARGET01 * ls + (1 - TARGET01) * (ls - X))
                * w.numpy()).mean()
    fn = lambda x: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw)  # noqa
    np.testing.assert_allclose(fn(x).item(), expected, rtol=1e-10)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_bce_with_logits_is_stable_for_huge_logits(dtype):
    x = mg.tensor([1000.0, -1000.0, 1000.0, -1000.0, 80.0], dtype=dtype, requires_grad=True)
    t = mg.tensor([0.0, 1.0, 1.0, 0.0, 0.0], dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000, 1000, 0, 0, 80], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, -1, 0, 0, 1], atol=1e-6)   # sigmoid(x) - t


def test_bce_clamps_the_log_like_pytorch():
    p = mg.tensor([0.0, 1.0], dtype=mg.float64)
    loss = F.binary_cross_entropy(p, mg.tensor([1.0, 0.0], dtype=mg.float64), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0])


def test_softmax_and_log_softmax_functional():
    x = t64(X, requires_grad=True)
    np.testing.assert_allclose(F.log_softmax(x, 1).detach().numpy(), log_softmax_ref(X), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, 1).detach().numpy(), np.exp(log_softmax_ref(X)),
                               rtol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.mse_loss(mg.zeros(3, 2), mg.zeros(2, 3)), ValueError,
     r"mse_loss: target size \(2, 3\) must be the same as input size \(3, 2\)"),
    (lambda: F.binary_cross_entropy(mg.tensor([1.5]), mg.tensor([1.0])), ValueError,
     "between 0 and 1"),
    (lambda: F.nll_loss(mg.zeros(2, 3), mg.tensor([0, 3])), IndexError, r"in \[0, 2\]"),
    (lambda: F.nll_loss(mg.zeros(2, 3), mg.tensor([0, 1, 2])), ValueError,
     r"target \(N, ...\), got input \(2, 3\) and target \(3,\)"),
    (lambda: F.cross_entropy(mg.zeros(2, 3), mg.tensor([0.0, 1.0])), ValueError,
     "must be the same as input size"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError, "reduction must be"),
])
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
