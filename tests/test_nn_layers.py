"""Every layer: forward against a NumPy formula, then gradcheck and gradgradcheck in float64
with respect to the input and every parameter."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import minigan as mg
from minigan import nn
from minigan.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def conv2d_ref(x, w, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,ocij->nohw", win, w) + b[None, :, None, None]


def conv_transpose2d_ref(x, w, b, stride, padding, output_padding):
    n, c, h, wd = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], (h - 1) * stride + k + output_padding,
                     (wd - 1) * stride + k + output_padding))
    for i in range(h):            # each input pixel scatters a weighted k x k patch
        for j in range(wd):
            full[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += np.einsum(
                "nc,coij->noij", x[:, :, i, j], w)
    out_h = (h - 1) * stride - 2 * padding + k + output_padding
    out_w = (wd - 1) * stride - 2 * padding + k + output_padding
    return full[:, :, padding:padding + out_h, padding:padding + out_w] + b[None, :, None, None]


def norm_ref(x, axes, eps=1e-5):
    return (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)


def mlp_ref(x, m):
    h = x @ p(m[0], "weight").T + p(m[0], "bias")
    return np.where(h > 0, h, 0.2 * h) @ p(m[2], "weight").T + p(m[2], "bias")


def p(m, name):
    return m._parameters[name].detach().numpy()


def seeded(module):
    """Dropout draws random numbers: reseed before each call so the function is fixed."""
    def call(x):
        mg.manual_seed(7)
        return module(x)
    return call


# name -> (module factory, input shape, NumPy reference (x, module) -> y)
LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), (2, 4), lambda x, m: x @ p(m, "weight").T + p(m, "bias")),
    "Linear_3d_nobias": (lambda: nn.Linear(3, 2, bias=False), (2, 2, 3),
                         lambda x, m: x @ p(m, "weight").T),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=1, padding=1), (2, 2, 4, 4),
               lambda x, m: conv2d_ref(x, p(m, "weight"), p(m, "bias"), 1, 1)),
    "Conv2d_stride2": (lambda: nn.Conv2d(2, 2, 2, stride=2), (1, 2, 4, 4),
                       lambda x, m: conv2d_ref(x, p(m, "weight"), p(m, "bias"), 2, 0)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1), (1, 2, 3, 3),
                        lambda x, m: conv_transpose2d_ref(x, p(m, "weight"), p(m, "bias"), 2, 1,
                                                          0)),
    "ConvTranspose2d_output_padding": (
        lambda: nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1), (1, 2, 2, 3),
        lambda x, m: conv_transpose2d_ref(x, p(m, "weight"), p(m, "bias"), 2, 1, 1)),
    "BatchNorm1d_train": (lambda: nn.BatchNorm1d(3), (4, 3),
                          lambda x, m: norm_ref(x, 0) * p(m, "weight") + p(m, "bias")),
    "BatchNorm2d_train": (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2),
                          lambda x, m: norm_ref(x, (0, 2, 3)) * p(m, "weight")[:, None, None]
                          + p(m, "bias")[:, None, None]),
    "BatchNorm2d_eval": (lambda: nn.BatchNorm2d(2).eval(), (3, 2, 2, 2),
                         lambda x, m: (x - m.running_mean.numpy()[:, None, None])
                         / np.sqrt(m.running_var.numpy()[:, None, None] + 1e-5)
                         * p(m, "weight")[:, None, None] + p(m, "bias")[:, None, None]),
    "BatchNorm2d_no_affine": (lambda: nn.BatchNorm2d(2, affine=False, track_running_stats=False),
                              (3, 2, 2, 2), lambda x, m: norm_ref(x, (0, 2, 3))),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(2), (2, 2, 3, 2),
                       lambda x, m: norm_ref(x, (2, 3))),
    "InstanceNorm2d_affine": (lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 2, 2),
                              lambda x, m: norm_ref(x, (2, 3)) * p(m, "weight")[:, None, None]
                              + p(m, "bias")[:, None, None]),
    "LayerNorm": (lambda: nn.LayerNorm((2, 3)), (2, 2, 3),
                  lambda x, m: norm_ref(x, (1, 2)) * p(m, "weight") + p(m, "bias")),
    "Dropout_eval": (lambda: nn.Dropout(0.5).eval(), (3, 4), lambda x, m: x),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 2), lambda x, m: x.reshape(2, 6)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), (2, 6), lambda x, m: x.reshape(2, 2, 3)),
    "Identity": (lambda: nn.Identity(), (2, 3), lambda x, m: x),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), (1, 2, 2, 3),
                 lambda x, m: x.repeat(2, axis=2).repeat(2, axis=3)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), (1, 2, 4, 4),
                  lambda x, m: x.reshape(1, 2, 2, 2, 2, 2).mean((3, 5))),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (1, 2, 4, 4),
                  lambda x, m: x.reshape(1, 2, 2, 2, 2, 2).max((3, 5))),
    "ReLU": (lambda: nn.ReLU(), (3, 4), lambda x, m: np.maximum(x, 0)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (3, 4), lambda x, m: np.where(x > 0, x, 0.2 * x)),
    "Tanh": (lambda: nn.Tanh(), (3, 4), lambda x, m: np.tanh(x)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3, 4), lambda x, m: 1 / (1 + np.exp(-x))),
    "Softplus": (lambda: nn.Softplus(beta=2.0), (3, 4), lambda x, m: np.log1p(np.exp(2 * x)) / 2),
    "Sequential": (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2)),
                   (2, 3), lambda x, m: mlp_ref(x, m)),
}


def _swap(module, names, tensors):
    """Put `tensors` in place of the named parameters; returns the old ones."""
    old = []
    for name, t in zip(names, tensors):
        *path, leaf = name.split(".")
        m = module
        for part in path:
            m = m._modules[part]
        old.append(m._parameters[leaf])
        m._parameters[leaf] = t
    return old


def as_function(module, call=None):
    """(fn, params): fn(x, *params) runs `module` with the given parameter tensors, so
    gradcheck can perturb the parameters as well as the input."""
    call = call or module
    names = [n for n, _ in module.named_parameters()]

    def fn(x, *params):
        old = _swap(module, names, params)
        try:
            return call(x)
        finally:
            _swap(module, names, old)
    return fn, list(module.parameters())


def make(name):
    factory, shape, ref = LAYERS[name]
    mg.manual_seed(0)
    m = factory().double()
    for buf_name, buf in m.named_buffers():     # non-trivial running statistics
        if buf_name.endswith("running_mean"):
            buf._data[...] = rng.standard_normal(buf.shape)
        elif buf_name.endswith("running_var"):
            buf._data[...] = rng.uniform(0.5, 2.0, buf.shape)
    for _, param in m.named_parameters():      # weight 1 / bias 0 would hide mistakes
        param._data[...] += 0.3 * rng.standard_normal(param.shape)
    x = mg.tensor(rng.standard_normal(shape), dtype=mg.float64, requires_grad=True)
    return m, x, ref


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_forward_matches_numpy(name):
    m, x, ref = make(name)
    expected = ref(x.detach().numpy(), m)
    out = m(x)
    assert out.dtype == mg.float64
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck_and_gradgradcheck(name):
    m, x, _ = make(name)
    fn, params = as_function(m)
    inputs = (x, *params)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_dropout_train_mode_masks_and_scales():
    m = nn.Dropout(0.25)
    x = mg.ones(200, 50, dtype=mg.float64)
    y = m(x).numpy()
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02          # 10,000 draws: sd of the mean ~0.004
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())


def test_dropout_gradcheck_with_a_fixed_mask():
    m = nn.Dropout(0.4)
    x = mg.tensor(rng.standard_normal((3, 4)), dtype=mg.float64, requires_grad=True)
    assert gradcheck(seeded(m), (x,))
    assert gradgradcheck(seeded(m), (x,))


def test_embedding_forward_and_gradients():
    mg.manual_seed(0)
    m = nn.Embedding(5, 3, padding_idx=0).double()
    idx = mg.tensor([[1, 0, 4], [4, 2, 2]])
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(m(idx).detach().numpy(), w[idx.numpy()])
    assert np.all(w[0] == 0)
    # (the padding row's zero gradient is deliberate, so finite differences check the plain lookup)
    fn = lambda weight: mg.nn.functional.embedding(idx, weight)  # noqa: E731
    assert gradcheck(fn, (m.weight,))
    assert gradgradcheck(fn, (m.weight,))
    m(idx).sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy()[:, 0], [0, 1, 2, 0, 2])  # padding row: 0


def test_batchnorm_running_statistics_follow_momentum():
    m = nn.BatchNorm2d(3, momentum=0.2).double()
    xs = [rng.standard_normal((4, 3, 2, 2)) * 2 + 1 for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for a in xs:
        m(mg.tensor(a, dtype=mg.float64))
        mean = 0.8 * mean + 0.2 * a.mean((0, 2, 3))
        var = 0.8 * var + 0.2 * a.var((0, 2, 3), ddof=1)     # unbiased, as PyTorch
    np.testing.assert_allclose(m.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(m.running_var.numpy(), var, rtol=1e-12)
    assert int(m.num_batches_tracked.item()) == 3


def test_batchnorm_momentum_none_is_a_cumulative_average():
    m = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rng.standard_normal((5, 2)) for _ in range(4)]
    for a in xs:
        m(mg.tensor(a, dtype=mg.float64))
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean([a.mean(0) for a in xs], 0),
                               rtol=1e-12)


def test_batchnorm_eval_mode_does_not_touch_running_statistics():
    m = nn.BatchNorm2d(2)
    m(mg.randn(4, 2, 3, 3))
    before = m.running_mean.numpy().copy()
    m.eval()
    m(mg.randn(4, 2, 3, 3) + 5)
    np.testing.assert_array_equal(m.running_mean.numpy(), before)
    assert int(m.num_batches_tracked.item()) == 1


def test_batchnorm_keeps_a_channels_last_input_channels_last_with_the_same_numbers(kernel_backend):
    """A conv's output is channels last on the fast path; BatchNorm2d (train mode, forward
    and backward, running statistics) gives the same numbers for it as for NCHW, and with
    the fast kernels its output and input gradient stay channels last (no layout pass)."""
    a = rng.standard_normal((4, 3, 5, 5)) * 2 + 1
    g = mg.tensor(rng.standard_normal(a.shape), dtype=mg.float64)
    results = []
    for layout in ("nchw", "channels_last"):
        m = nn.BatchNorm2d(3).double()
        if layout == "nchw":
            x = mg.tensor(a, dtype=mg.float64, requires_grad=True)
        else:                                 # (N, H, W, C) memory seen as (N, C, H, W)
            x = mg.tensor(a.transpose(0, 2, 3, 1), dtype=mg.float64,
                          requires_grad=True).permute(0, 3, 1, 2)
            assert x.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous
        y = m(x)
        gx, gw = mg.autograd.grad((y * g).sum(), [x, m.weight])
        results.append((y.detach().numpy(), gx.numpy(), gw.numpy(), m.running_var.numpy()))
        if layout == "channels_last" and kernel_backend == "auto":
            for out in (y.detach().numpy(), gx.numpy()):
                assert out.transpose(0, 2, 3, 1).flags.c_contiguous, out.strides
    for first, second in zip(*results):
        np.testing.assert_allclose(second, first, rtol=1e-10, atol=1e-12)


def test_batchnorm_double_backward_differentiates_the_batch_statistics():
    # The gradient penalty of a BatchNorm critic: d/dx ||dD/dx||^2. Treating mean and var as
    # constants gives a different (wrong) value; gradgradcheck above catches that, and here
    # the plain value is compared with finite differences of the first derivative.
    m = nn.BatchNorm1d(2).double()
    x = mg.tensor(rng.standard_normal((4, 2)), dtype=mg.float64, requires_grad=True)
    v = mg.tensor(rng.standard_normal((4, 2)), dtype=mg.float64)

    def penalty(x):
        (g,) = mg.autograd.grad((m(x) ** 3).sum(), x, create_graph=True)
        return (g * v).sum()

    (analytical,) = mg.autograd.grad(penalty(x), x)
    eps, a = 1e-6, x.detach().numpy()
    numerical = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        d = np.zeros_like(a)
        d[i] = eps
        plus = penalty(mg.tensor(a + d, dtype=mg.float64, requires_grad=True)).item()
        minus = penalty(mg.tensor(a - d, dtype=mg.float64, requires_grad=True)).item()
        numerical[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(analytical.numpy(), numerical, rtol=1e-5, atol=1e-7)


# --- spectral norm ---
@pytest.mark.parametrize("factory, dim", [(lambda: nn.Linear(5, 4), 0),
                                          (lambda: nn.Conv2d(2, 3, 3), 0),
                                          (lambda: nn.ConvTranspose2d(2, 3, 2), 1)])
def test_spectral_norm_converges_to_the_largest_singular_value(factory, dim):
    mg.manual_seed(0)
    m = nn.utils.spectral_norm(factory().double())
    w = m.weight_orig.detach().numpy()
    mat = np.moveaxis(w, dim, 0).reshape(w.shape[dim], -1)
    sigma = np.linalg.svd(mat, compute_uv=False)[0]
    x = mg.randn(2, *((5,) if isinstance(m, nn.Linear) else (2, 4, 4)), dtype=mg.float64)
    for _ in range(200):                                  # power iteration, one per forward
        m(x)
    np.testing.assert_allclose(m.weight.detach().numpy(), w / sigma, rtol=1e-6)
    assert "weight" not in dict(m.named_parameters())
    assert {"weight_orig", "weight_u", "weight_v"} <= set(m.state_dict())


def test_spectral_norm_gradcheck_and_gradgradcheck():
    mg.manual_seed(0)
    m = nn.utils.spectral_norm(nn.Linear(3, 2).double())
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    for _ in range(20):
        m(x)
    m.eval()                      # u, v fixed: the function gradcheck sees is deterministic
    fn, params = as_function(m)
    assert gradcheck(fn, (x, *params))
    assert gradgradcheck(fn, (x, *params))


def test_spectral_norm_train_mode_updates_u_and_eval_mode_does_not():
    mg.manual_seed(0)
    m = nn.utils.spectral_norm(nn.Linear(3, 4))
    u0 = m.weight_u.numpy().copy()
    m(mg.randn(1, 3))
    u1 = m.weight_u.numpy().copy()
    assert not np.allclose(u0, u1)
    m.eval()
    m(mg.randn(1, 3))
    np.testing.assert_array_equal(m.weight_u.numpy(), u1)
    nn.utils.remove_spectral_norm(m)
    assert "weight" in dict(m.named_parameters())


# --- shape errors name the shapes ---
@pytest.mark.parametrize("module, x, message", [
    (nn.Linear(100, 6272), mg.zeros(64, 99),
     "linear: expected input (..., 100) to match weight (6272, 100), got (64, 99)"),
    (nn.BatchNorm2d(3), mg.zeros(2, 4, 5, 5),
     "BatchNorm2d: expected input (N, 3, H, W), got (2, 4, 5, 5)"),
    (nn.BatchNorm1d(3), mg.zeros(2, 4), "BatchNorm1d: expected input (N, 3)"),
    (nn.LayerNorm(4), mg.zeros(2, 3), "layer_norm: expected input (..., 4)"),
    (nn.Unflatten(1, (2, 3)), mg.zeros(2, 5),
     "Unflatten: dim 1 of input (2, 5) should have size 6"),
    (nn.InstanceNorm2d(2), mg.zeros(2, 3, 4, 4), "InstanceNorm2d: expected input (N, 2, H, W)"),
])
def test_bad_input_shapes_give_clear_errors(module, x, message):
    with pytest.raises(ValueError) as err:
        module(x)
    assert message in str(err.value)


def test_batchnorm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(mg.zeros(1, 3))


def test_embedding_padding_row_is_looked_up_but_not_trained():
    m = nn.Embedding(3, 2, padding_idx=1)
    with mg.no_grad():
        m.weight.fill_(5.0)
    out = m(mg.tensor([1, 2]))
    np.testing.assert_array_equal(out.detach().numpy(), [[5, 5], [5, 5]])
    out.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1]])


FUNCTIONAL = ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "dropout",
              "batch_norm", "instance_norm", "layer_norm", "embedding", "pad",
              "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
              "cross_entropy", "nll_loss", "softmax", "log_softmax", "conv2d",
              "conv_transpose2d", "avg_pool2d", "max_pool2d", "interpolate", "unfold", "fold"]


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_namespace(name):
    assert callable(getattr(nn.functional, name))


@pytest.mark.parametrize("call, expected", [
    (lambda x: nn.functional.linear(x, mg.tensor([[1.0, 2.0]], dtype=mg.float64)),
     lambda a: a @ np.array([[1.0], [2.0]])),
    (lambda x: nn.functional.batch_norm(x, None, None, training=True), lambda a: norm_ref(a, 0)),
    (lambda x: nn.functional.layer_norm(x, 2), lambda a: norm_ref(a, 1)),
    (lambda x: nn.functional.pad(x, (1, 0)), lambda a: np.pad(a, ((0, 0), (1, 0)))),
    (lambda x: nn.functional.leaky_relu(x, 0.3), lambda a: np.where(a > 0, a, 0.3 * a)),
])
def test_functional_forms(call, expected):
    x = mg.tensor(rng.standard_normal((3, 2)), dtype=mg.float64, requires_grad=True)
    np.testing.assert_allclose(call(x).detach().numpy(), expected(x.detach().numpy()), rtol=1e-10)
    assert gradcheck(call, (x,))
    assert gradgradcheck(call, (x,))


def test_gradient_penalty_through_a_whole_critic():
    # WGAN-GP: the penalty's gradient with respect to every weight needs the second
    # derivative of every layer (conv, spectral norm, BatchNorm, LeakyReLU, Linear).
    mg.manual_seed(0)
    critic = nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(1, 2, 3)), nn.BatchNorm2d(2),
                           nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * 2 * 2, 1)).double()
    critic.eval()                                  # fixed spectral-norm vectors for the check
    critic[1].train()                              # but batch statistics in the BatchNorm
    x = mg.randn(3, 1, 4, 4, dtype=mg.float64, requires_grad=True)

    def penalty(x):
        (g,) = mg.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()

    fn, params = as_function(critic, penalty)
    assert gradcheck(fn, (x, *params))


def test_modules_can_be_deep_copied():
    import copy
    mg.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    g_ema = copy.deepcopy(g)
    assert g_ema[0].weight is not g[0].weight
    np.testing.assert_array_equal(g_ema[0].weight.detach().numpy(), g[0].weight.detach().numpy())
    with mg.no_grad():
        g[0].weight.fill_(0.0)
    assert not np.all(g_ema[0].weight.detach().numpy() == 0)
