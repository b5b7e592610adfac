"""Semantics and numerics that PyTorch code relies on (issue 16, part 2): BCE at saturated
probabilities, tensors that always hold arrays, an exact log_softmax, view that refuses to
copy, load_state_dict's errors and result, untouched parameters' gradients, mixed-dtype
products, and the in-place writes of nn that must bump version counters."""
import numpy as np
import pytest

import minigan as mg
from minigan import nn, optim
from minigan.autograd import gradcheck, gradgradcheck
from minigan.nn import functional as F
from oracles import float64_input

rng = np.random.default_rng(2)
MODIFIED = "modified by an in-place operation"


# --- binary cross-entropy at p = 0 and p = 1 ---
def test_bce_is_finite_at_saturated_probabilities_forward_and_backward():
    p = mg.tensor([0.0, 1.0, 0.0, 1.0, 0.25], requires_grad=True)
    t = mg.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    # each log clamped at -100, as PyTorch: a wrong certain answer costs 100, a right one 0
    np.testing.assert_allclose(loss.detach().numpy(), [0, 0, 100, 100, -np.log(0.25)], rtol=1e-6)
    loss.sum().backward()
    # (p - t) / max(p (1 - p), 1e-12): finite everywhere, huge where p is certain and wrong
    np.testing.assert_allclose(p.grad.numpy(), [0, 0, -1e12, 1e12, -4.0], rtol=1e-6)


def test_bce_gradients_by_finite_differences():
    p = mg.tensor(rng.uniform(0.1, 0.9, (3, 4)), dtype=mg.float64, requires_grad=True)
    t = mg.tensor(rng.uniform(0, 1, (3, 4)), dtype=mg.float64, requires_grad=True)
    assert gradcheck(F.binary_cross_entropy, (p, t))
    assert gradgradcheck(F.binary_cross_entropy, (p, t))


def test_sigmoid_and_bce_loss_with_saturated_outputs_give_finite_adam_updates():
    # The PyTorch DCGAN tutorial's D ends in Sigmoid and trains with BCELoss. A D whose
    # logits are large gives outputs of exactly 0.0 and 1.0 in float32.
    mg.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    with mg.no_grad():
        D[0].weight.fill_(60.0)
    opt = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = mg.tensor([[1.0, 1.0], [-1.0, -1.0]])
    out = D(x)
    assert out.tolist() == [[1.0], [0.0]]                  # saturated
    loss = nn.BCELoss()(out, mg.tensor([[0.0], [1.0]]))   # certain, and wrong
    assert np.isfinite(loss.item())
    opt.zero_grad()
    loss.backward()
    opt.step()
    for p in D.parameters():
        assert np.isfinite(p.detach().numpy()).all(), "a NaN weight after one Adam step"


def test_bce_gradient_matches_pytorch_at_saturation():
    torch = pytest.importorskip("torch")
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 1e-30], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.6, 1.0], dtype=np.float32)
    ours = mg.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(ours, mg.tensor(t), reduction="sum")
    loss.backward()
    theirs = torch.tensor(p, requires_grad=True)
    torch_loss = torch.nn.functional.binary_cross_entropy(theirs, torch.tensor(t), reduction="sum")
    torch_loss.backward()
    np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


# --- every tensor holds an ndarray ---
ZERO_DIM = {
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(),
    "var": lambda x: x.var(),
    "std": lambda x: x.std(),
    "max": lambda x: x.max(),
    "norm": lambda x: x.norm(),
    "logsumexp": lambda x: mg.logsumexp(x.flatten(), 0),
    "a loss": lambda x: F.mse_loss(x, x * 0),
    "0-d arithmetic": lambda x: x.sum() * 2 + x.mean() / 3,
    "0-d comparison": lambda x: x.sum() > 0,
    "indexing to 0-d": lambda x: x[0, 1],
    "argmax": lambda x: x.argmax(),
    "item-like cast": lambda x: x.sum().double(),
}


@pytest.mark.parametrize("name", sorted(ZERO_DIM))
def test_full_reductions_hold_0_dim_arrays(name):
    x = mg.randn(3, 4, requires_grad=True)
    y = ZERO_DIM[name](x)
    assert type(y._data) is np.ndarray and y.ndim == 0
    assert np.asarray(y).shape == () and np.asarray(y.detach()).shape == ()
    assert float(np.asarray(y)) == y.item()


def test_gradient_of_a_0_dim_parameter_is_an_array_after_accumulating():
    w = nn.Parameter(mg.tensor(2.0))
    for _ in range(2):
        (w * 3).backward()
    assert type(w.grad._data) is np.ndarray and w.grad.item() == 6.0


# --- log_softmax as (x - m) - log sum exp(x - m) ---
def test_log_softmax_is_exact_at_large_logits():
    logits = np.array([[1e4, 1e4 - 1.0, 1e4 - 3.0, 9990.0]], dtype=np.float32)
    reference = logits.astype(np.float64) - logits.max()
    reference = reference - np.log(np.exp(reference).sum(1, keepdims=True))
    ours = F.log_softmax(mg.tensor(logits), dim=1).numpy()
    # x - (m + log sum) rounded m + log sum to float32's spacing at 1e4 (~1e-3): 3.8e-4 off
    assert np.abs(ours - reference).max() < 1e-6
    np.testing.assert_allclose(F.softmax(mg.tensor(logits), dim=1).numpy(), np.exp(reference),
                               rtol=1e-6, atol=1e-7)


# --- view never copies ---
VIEWS = [  # (how to make a strided tensor from arange(24).reshape(2, 3, 4), new shape)
    (lambda x: x.permute(2, 0, 1), (-1,)),
    (lambda x: x.transpose(0, 1), (6, 4)),
    (lambda x: x.transpose(1, 2), (2, 12)),
    (lambda x: x.transpose(1, 2), (2, 4, 3, 1)),
    (lambda x: x[:, :, :2], (12,)),
    (lambda x: x[:, :, :2], (6, 2)),
    (lambda x: x[:, 1:], (2, 8)),
    (lambda x: x[:, 1:], (4, 4)),
    (lambda x: x[:, ::2], (2, 2, 4)),
    (lambda x: x[:, ::2], (4, 4)),
    (lambda x: x[:, :1], (2, 4)),
    (lambda x: x.permute(1, 0, 2), (3, 2, 2, 2)),
    (lambda x: x.permute(1, 0, 2), (6, 4)),
    (lambda x: x.T, (4, 6)),
]


@pytest.mark.parametrize("case", range(len(VIEWS)))
def test_view_works_exactly_where_numpy_can_reshape_without_a_copy(case):
    make, shape = VIEWS[case]
    x = make(mg.arange(24.0).reshape(2, 3, 4))
    try:                               # NumPy's own rule is the oracle (numpy >= 2.1)
        expected = np.reshape(x.numpy(), shape, copy=False)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
            x.view(*shape)
        np.testing.assert_array_equal(x.reshape(*shape).numpy(), x.numpy().reshape(shape))
    else:
        y = x.view(*shape)
        np.testing.assert_array_equal(y.numpy(), expected)
        assert np.shares_memory(y.numpy(), x.numpy())


def test_view_after_permute_raises_and_contiguous_fixes_it():
    x = mg.randn(2, 3, 4).permute(0, 2, 1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(2, -1)
    assert x.contiguous().view(2, -1).shape == (2, 12)
    assert x.reshape(2, -1).shape == (2, 12)
    with pytest.raises(RuntimeError, match="view_as|view size"):
        x.view_as(mg.zeros(2, 12))


# --- load_state_dict: RuntimeError, and PyTorch's result ---
def test_strict_load_state_dict_mismatch_raises_runtime_error_and_changes_nothing():
    lin = nn.Linear(3, 2)
    before = lin.weight.detach().numpy().copy()
    state = {"weight": mg.zeros(2, 3), "extra": mg.zeros(1)}
    with pytest.raises(RuntimeError, match=r"missing keys \['bias'\]; unexpected keys \['extra'\]"):
        lin.load_state_dict(state)
    np.testing.assert_array_equal(lin.weight.detach().numpy(), before)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight"):
        lin.load_state_dict({"weight": mg.zeros(3, 3)}, strict=False)
    result = lin.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    missing, unexpected = result
    assert (missing, unexpected) == (["bias"], ["extra"])
    assert "missing_keys=['bias']" in repr(result)
    assert repr(lin.load_state_dict(lin.state_dict())) == "<All keys matched successfully>"


# --- parameters a backward does not reach keep grad None (as PyTorch) ---
def test_parameters_without_a_gradient_contribution_keep_none():
    lin = nn.Linear(2, 3)
    (mg.randn(4, 2) @ lin.weight.T).sum().backward()       # the bias is not used
    assert lin.weight.grad is not None and lin.bias.grad is None
    opt = optim.Adam(lin.parameters())
    bias_before = lin.bias.detach().numpy().copy()
    opt.step()                                              # skips the bias
    np.testing.assert_array_equal(lin.bias.detach().numpy(), bias_before)


def test_pytorch_also_leaves_none_for_an_unreached_parameter():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(2, 3)
    (torch.randn(4, 2) @ lin.weight.T).sum().backward()
    assert lin.bias.grad is None


# --- mixed dtypes in a product raise ---
@pytest.mark.parametrize("product", [lambda a, b: a @ b, mg.matmul, mg.mm,
                                     lambda a, b: F.linear(a, b)])
def test_float32_times_float64_raises_as_pytorch(product):
    a, b = mg.ones(2, 3), mg.ones(3, 3, dtype=mg.float64)
    with pytest.raises(RuntimeError, match="dtype"):
        product(a, b)
    assert product(a, b.float()).dtype == mg.float32


def test_elementwise_ops_still_promote_as_pytorch():
    assert (mg.ones(2) + mg.ones(2, dtype=mg.float64)).dtype == mg.float64


def test_an_integer_operand_of_a_float_product_raises_as_in_pytorch():
    with pytest.raises(RuntimeError, match="got int64 and float32; convert one with"):
        mg.tensor([[1, 2]]) @ mg.full((2, 1), 0.5)
    assert (mg.tensor([[1, 2]]).float() @ mg.full((2, 1), 0.5)).tolist() == [[1.5]]
    assert (mg.tensor([[1, 2]]) @ mg.tensor([[3], [4]])).tolist() == [[11]]


# --- in-place writes in nn bump the version counter ---
def _bn_train_forward(bn):
    bn.train()
    bn(mg.randn(4, 3))


def _spectral_forward(layer):
    layer.train()
    layer(mg.randn(2, 3))


def _with_grads(layer, scale):
    for p in layer.parameters():
        p.grad = mg.ones_like(p) * scale
    return layer


NN_WRITES = {  # name -> (make the module, the tensor whose memory is written, the write)
    "load_state_dict": (lambda: nn.Linear(3, 2), lambda m: m.weight,
                        lambda m: m.load_state_dict(nn.Linear(3, 2).state_dict())),
    "Module.double": (lambda: nn.Linear(3, 2), lambda m: m.weight, lambda m: m.double()),
    "Module.to(float64)": (lambda: nn.Linear(3, 2), lambda m: m.bias,
                           lambda m: m.to(mg.float64)),
    "BatchNorm running_mean": (lambda: nn.BatchNorm1d(3), lambda m: m.running_mean,
                               _bn_train_forward),
    "BatchNorm running_var": (lambda: nn.BatchNorm1d(3), lambda m: m.running_var,
                              _bn_train_forward),
    "BatchNorm num_batches_tracked": (lambda: nn.BatchNorm1d(3), lambda m: m.num_batches_tracked,
                                      _bn_train_forward),
    "reset_running_stats": (lambda: nn.BatchNorm1d(3), lambda m: m.running_var,
                            lambda m: m.reset_running_stats()),
    "InstanceNorm running_mean": (lambda: nn.InstanceNorm2d(3, track_running_stats=True),
                                  lambda m: m.running_mean,
                                  lambda m: m(mg.randn(2, 3, 4, 4))),
    "clip_grad_norm_": (lambda: _with_grads(nn.Linear(3, 2), 10.0), lambda m: m.weight.grad,
                        lambda m: nn.utils.clip_grad_norm_(m.parameters(), 1.0)),
    "clip_grad_value_": (lambda: _with_grads(nn.Linear(3, 2), 10.0), lambda m: m.bias.grad,
                         lambda m: nn.utils.clip_grad_value_(m.parameters(), 1.0)),
    "vector_to_parameters": (lambda: nn.Linear(3, 2), lambda m: m.weight,
                             lambda m: nn.utils.vector_to_parameters(mg.zeros(8), m.parameters())),
    "spectral norm u": (lambda: nn.utils.spectral_norm(nn.Linear(3, 4)), lambda m: m.weight_u,
                        _spectral_forward),
    "spectral norm v": (lambda: nn.utils.spectral_norm(nn.Linear(3, 4)), lambda m: m.weight_v,
                        _spectral_forward),
}


@pytest.mark.parametrize("name", sorted(NN_WRITES))
def test_nn_in_place_writes_bump_the_version(name):
    make, tensor_of, write = NN_WRITES[name]
    module = make()
    tensor = tensor_of(module)
    before = tensor._version
    write(module)
    assert tensor._version > before


def test_embedding_padding_row_write_is_counted():
    # reset_parameters draws the table (one write), then zeroes the padding row (another)
    plain, padded = nn.Embedding(5, 2), nn.Embedding(5, 2, padding_idx=1)
    assert padded.weight._version == plain.weight._version + 1
    assert (padded.weight.detach().numpy()[1] == 0).all()


@pytest.mark.parametrize("name", ["BatchNorm running_mean", "load_state_dict", "Module.double",
                                  "spectral norm u"])
def test_a_graph_that_read_the_tensor_then_refuses_to_backward(name):
    make, tensor_of, write = NN_WRITES[name]
    module = make()
    x = mg.randn(*tensor_of(module).shape, requires_grad=True)
    y = (x * tensor_of(module)).sum()            # the graph saves the tensor for x's gradient
    write(module)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()
