"""Module machinery, containers, default initialisation, nn.init and nn.utils."""
import math

import numpy as np
import pytest

import minigan as mg
from minigan import nn, optim

rng = np.random.default_rng(2)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 2)})
        self.extra = nn.ModuleList([nn.Linear(2, 2)])
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("count", mg.zeros(1))
        self.register_buffer("scratch", mg.zeros(2), persistent=False)
        self.plain = mg.zeros(3)          # a plain Tensor attribute: not state

    def forward(self, x):
        h = self.body(x)
        return self.heads["a"](h) * self.scale


def test_registration_and_iteration():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
                     "extra.0.weight", "extra.0.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == ["count", "scratch", "body.1.running_mean",
                                                   "body.1.running_var",
                                                   "body.1.num_batches_tracked"]
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "ModuleDict", "ModuleList"]
    assert len(list(net.modules())) == 10
    assert list(net.state_dict()) == ["scale", "count", "body.0.weight", "body.0.bias",
                                      "body.1.weight", "body.1.bias", "body.1.running_mean",
                                      "body.1.running_var", "body.1.num_batches_tracked",
                                      "heads.a.weight", "heads.a.bias", "heads.b.weight",
                                      "heads.b.bias", "extra.0.weight", "extra.0.bias"]


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_zero_grad_requires_grad_apply():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(mg.randn(5, 3)).sum().backward()
    assert net.body[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert np.all(net.body[0].weight.grad.numpy() == 0)
    net.zero_grad()
    assert net.body[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 4


def test_to_dtype_keeps_the_parameter_objects():
    net = Net()
    weight = net.body[0].weight
    opt = optim.SGD(net.parameters(), lr=0.1)
    net.double()
    assert net.body[0].weight is weight and weight.dtype == mg.float64
    assert net.body[1].num_batches_tracked.dtype == mg.int64      # integers stay
    assert net.body[1].running_mean.dtype == mg.float64
    assert opt.param_groups[0]["params"][1] is weight
    net.to(mg.float32)
    assert weight.dtype == mg.float32
    assert net.cpu() is net and net.float() is net


def test_repr_like_pytorch():
    net = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                        nn.Flatten(), nn.Linear(8, 1))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Flatten(start_dim=1, end_dim=-1)\n"
        "  (3): Linear(in_features=8, out_features=1, bias=True)\n"
        ")")
    assert repr(nn.Tanh()) == "Tanh()"
    assert repr(nn.BatchNorm2d(3)) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "track_running_stats=True)")


def test_state_dict_round_trip_and_strictness():
    mg.manual_seed(0)
    a, b = Net(), Net()
    a(mg.randn(5, 3))                                   # move the running statistics
    b.load_state_dict(a.state_dict())
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    x = mg.randn(5, 3)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())

    sd = a.state_dict()
    sd["body.0.weight"] = mg.zeros(4, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for body.0.weight: the checkpoint has "
                                         r"shape \(4, 2\), the model has shape \(4, 3\)"):
        b.load_state_dict(sd)
    sd = a.state_dict()
    del sd["scale"]
    sd["bogus"] = mg.zeros(1)
    with pytest.raises(RuntimeError, match=r"missing keys \['scale'\]; unexpected keys \['bogus'\]"):
        b.load_state_dict(sd)
    missing, unexpected = b.load_state_dict(sd, strict=False)
    assert missing == ["scale"] and unexpected == ["bogus"]


def test_state_dict_shares_memory_but_is_detached():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    assert not sd["weight"].requires_grad
    with mg.no_grad():
        lin.weight.fill_(3.0)
    assert np.all(sd["weight"].numpy() == 3.0)


def test_assignment_rules():
    net = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        net.weight = mg.zeros(2, 2)
    net.weight = nn.Parameter(mg.zeros(2, 2))
    assert np.all(net(mg.ones(1, 2)).detach().numpy() == net.bias.detach().numpy())

    class NoInit(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        NoInit()


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    assert seq(mg.randn(4, 2)).shape == (4, 1)
    ml = nn.ModuleList([nn.Linear(1, 1)]).extend([nn.ReLU()])
    assert len(ml) == 2 and len(list(ml.parameters())) == 2
    md = nn.ModuleDict({"x": nn.Tanh()})
    md["y"] = nn.Linear(1, 1)
    assert list(md.keys()) == ["x", "y"] and "y" in md and len(list(md.parameters())) == 2


# --- default initialisation: PyTorch's, checked by its statistics ---
@pytest.mark.parametrize("factory, fan_in", [
    (lambda: nn.Linear(400, 300), 400),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.ConvTranspose2d(64, 32, 4), 32 * 16),    # fan_in from weight.shape[1], as PyTorch
])
def test_default_init_is_uniform_one_over_sqrt_fan_in(factory, fan_in):
    mg.manual_seed(0)
    m = factory()
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.03)
    assert abs(w.mean()) < 0.05 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.3 * bound


def test_default_init_of_norms_and_embedding():
    bn = nn.BatchNorm2d(5)
    assert np.all(bn.weight.detach().numpy() == 1) and np.all(bn.bias.detach().numpy() == 0)
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)
    ln = nn.LayerNorm(4)
    assert np.all(ln.weight.detach().numpy() == 1) and np.all(ln.bias.detach().numpy() == 0)
    mg.manual_seed(0)
    e = nn.Embedding(1000, 50).weight.detach().numpy()
    assert abs(e.mean()) < 0.01 and abs(e.std() - 1) < 0.01


def test_initialisation_is_reproducible_under_manual_seed():
    mg.manual_seed(3)
    a = nn.Linear(5, 5).weight.detach().numpy().copy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(5, 5).weight.detach().numpy(), a)


# --- nn.init ---
@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75)])
def test_calculate_gain(nonlinearity, param, gain):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(gain)


# name -> (function, expected std, expected bound or None); weight (200, 100, 3, 3)
FAN_IN, FAN_OUT = 100 * 9, 200 * 9
INITS = {
    "uniform_": (lambda w: nn.init.uniform_(w, -0.5, 0.5), 1 / math.sqrt(12), 0.5),
    "normal_": (lambda w: nn.init.normal_(w, 0.0, 0.02), 0.02, None),
    "xavier_uniform_": (lambda w: nn.init.xavier_uniform_(w, gain=2.0),
                        2.0 * math.sqrt(2 / (FAN_IN + FAN_OUT)),
                        2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_normal_": (nn.init.xavier_normal_, math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    "kaiming_uniform_": (lambda w: nn.init.kaiming_uniform_(w, a=0.2), math.sqrt(2 / 1.04 / FAN_IN),
                         math.sqrt(6 / 1.04 / FAN_IN)),
    "kaiming_normal_": (lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
                        math.sqrt(2 / FAN_OUT), None),
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_statistics(name):
    fn, std, bound = INITS[name]
    mg.manual_seed(0)
    w = nn.Parameter(mg.zeros(200, 100, 3, 3))
    assert fn(w) is w
    a = w.detach().numpy()
    np.testing.assert_allclose(a.std(), std, rtol=0.01)
    assert abs(a.mean()) < 0.01 * std
    if bound is not None:
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.999 * bound


def test_constant_zeros_ones():
    w = nn.Parameter(mg.zeros(2, 3))
    assert np.all(nn.init.constant_(w, 0.7).detach().numpy() == np.float32(0.7))
    assert np.all(nn.init.ones_(w).detach().numpy() == 1)
    assert np.all(nn.init.zeros_(w).detach().numpy() == 0)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(mg.zeros(3))


# --- nn.utils ---
def _with_grads(*arrays):
    params = [nn.Parameter(mg.zeros(*a.shape, dtype=mg.float64)) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = mg.tensor(a, dtype=mg.float64)
    return params


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0),
                                                 (0.3, float("inf"))])
def test_clip_grad_norm(max_norm, norm_type):
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    params = _with_grads(*arrays)
    flat = np.concatenate([a.ravel() for a in arrays])
    total = np.linalg.norm(flat, ord=norm_type)
    assert nn.utils.clip_grad_norm_(params, max_norm, norm_type).item() == pytest.approx(total)
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p, a in zip(params, arrays):
        np.testing.assert_allclose(p.grad.numpy(), a * coef, rtol=1e-12)


def test_clip_grad_norm_nonfinite():
    params = _with_grads(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_parameters_to_vector():
    arrays = [rng.standard_normal((2, 3)) * 3, rng.standard_normal(4) * 3]
    params = _with_grads(*arrays)
    nn.utils.clip_grad_value_(params, 1.5)
    for p, a in zip(params, arrays):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(a, -1.5, 1.5))
    lin = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(lin.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), np.concatenate(
        [lin.weight.detach().numpy().ravel(), lin.bias.detach().numpy()]))
    nn.utils.vector_to_parameters(vec * 2, lin.parameters())
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(lin.parameters()).detach().numpy(),
                                  2 * vec.detach().numpy())
