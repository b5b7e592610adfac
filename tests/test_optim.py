"""Optimisers against their update rules written out by hand, schedulers, the weight EMA,
and state dicts that resume training exactly."""
import numpy as np
import pytest

import minigan as mg
from minigan import nn, optim

rng = np.random.default_rng(3)
STEPS = 4
P0 = rng.standard_normal((3, 4))
GRADS = [rng.standard_normal((3, 4)) for _ in range(STEPS)]


# --- the update rules, by hand, on NumPy arrays (one parameter) ---
def sgd_ref(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
    p, buf = p.copy(), None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adam_ref(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled=False,
             amsgrad=False):
    p, m, v, vmax = p.copy(), 0 * p, 0 * p, 0 * p
    b1, b2 = betas
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def rmsprop_ref(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    p, s, a, buf = p.copy(), 0 * p, 0 * p, 0 * p
    for g in grads:
        g = g + weight_decay * p
        s = alpha * s + (1 - alpha) * g * g
        if centered:
            a = alpha * a + (1 - alpha) * g
            denom = np.sqrt(s - a * a) + eps
        else:
            denom = np.sqrt(s) + eps
        if momentum:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
    return p


def adamw_ref(p, grads, weight_decay=1e-2, **hyper):     # AdamW's default decay is 0.01
    return adam_ref(p, grads, weight_decay=weight_decay, decoupled=True, **hyper)


CASES = [
    (optim.SGD, sgd_ref, dict(lr=0.1)),
    (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, sgd_ref, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, adam_ref, dict(lr=1e-3)),
    (optim.Adam, adam_ref, dict(lr=2e-4, betas=(0.5, 0.999))),
    (optim.Adam, adam_ref, dict(lr=0.01, betas=(0.0, 0.9), eps=1e-3, weight_decay=0.1)),
    (optim.Adam, adam_ref, dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    (optim.AdamW, adamw_ref, dict(lr=1e-3)),
    (optim.AdamW, adamw_ref,
     dict(lr=0.01, betas=(0.5, 0.99), weight_decay=0.3)),
    (optim.AdamW, adamw_ref,
     dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    (optim.RMSprop, rmsprop_ref, dict(lr=0.01)),
    (optim.RMSprop, rmsprop_ref, dict(lr=5e-5)),
    (optim.RMSprop, rmsprop_ref, dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)),
    (optim.RMSprop, rmsprop_ref, dict(lr=0.01, centered=True, momentum=0.3, eps=1e-4)),
]


def run(opt_cls, hyper, dtype=mg.float64, steps=STEPS):
    p = nn.Parameter(mg.tensor(P0, dtype=dtype))
    opt = opt_cls([p], **hyper)
    for g in GRADS[:steps]:
        opt.zero_grad()
        p.grad = mg.tensor(g, dtype=dtype)
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("opt_cls, ref, hyper", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_optimizer_follows_its_update_rule(opt_cls, ref, hyper):
    np.testing.assert_allclose(run(opt_cls, hyper), ref(P0, GRADS, **hyper), rtol=1e-10,
                               atol=1e-12)
    # float32 (the fused kernels' usual case) agrees to float32 rounding.
    np.testing.assert_allclose(run(opt_cls, hyper, mg.float32), ref(P0, GRADS, **hyper),
                               rtol=1e-4, atol=1e-5)


def test_the_default_defaults_match_pytorch():
    p = [nn.Parameter(mg.zeros(1))]
    assert optim.Adam(p).defaults["lr"] == 1e-3 and optim.Adam(p).defaults["betas"] == (0.9, 0.999)
    assert optim.Adam(p).defaults["eps"] == 1e-8 and optim.Adam(p).defaults["weight_decay"] == 0
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop(p).defaults["lr"] == 1e-2 and optim.RMSprop(p).defaults["alpha"] == 0.99
    assert optim.SGD(p).defaults["lr"] == 1e-3


def test_parameter_groups_use_their_own_hyperparameters():
    a = nn.Parameter(mg.tensor(P0, dtype=mg.float64))
    b = nn.Parameter(mg.tensor(P0, dtype=mg.float64))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    for g in GRADS:
        a.grad, b.grad = mg.tensor(g, dtype=mg.float64), mg.tensor(g, dtype=mg.float64)
        opt.step()
    np.testing.assert_allclose(a.detach().numpy(), sgd_ref(P0, GRADS, lr=0.1), rtol=1e-12)
    np.testing.assert_allclose(b.detach().numpy(), sgd_ref(P0, GRADS, lr=0.5, momentum=0.9),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a, b = nn.Parameter(mg.ones(2)), nn.Parameter(mg.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = mg.ones(2)
    opt.step()
    assert np.all(b.detach().numpy() == 1) and b not in opt.state and a in opt.state
    opt.zero_grad(set_to_none=False)
    assert np.all(a.grad.numpy() == 0)
    opt.zero_grad()
    assert a.grad is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(nn.Parameter(mg.zeros(1)), lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([nn.Parameter(mg.zeros(1))], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([nn.Parameter(mg.zeros(1))], lr=0.1, nesterov=True)


# --- resuming: a run saved and loaded continues exactly as if never stopped ---
def _model():
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.LeakyReLU(0.2), nn.Linear(5, 1))


def _train(model, opt, scheduler, ema, steps, data):
    for x, y in data[:steps]:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
        scheduler.step()
        ema.update()
    return data[steps:]


@pytest.mark.parametrize("opt_cls, hyper", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.999))),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
])
def test_training_resumes_exactly_from_a_saved_state(opt_cls, hyper, tmp_path):
    mg.manual_seed(0)
    data = [(mg.randn(8, 3), (mg.rand(8, 1) > 0.5).float()) for _ in range(6)]

    def fresh():
        mg.manual_seed(1)
        model = _model()
        opt = opt_cls(model.parameters(), **hyper)
        return model, opt, optim.lr_scheduler.StepLR(opt, 2, 0.5), optim.EMA(model, 0.9)

    model, opt, sched, ema = fresh()                      # uninterrupted: 6 steps
    _train(model, opt, sched, ema, 6, data)

    m2, o2, s2, e2 = fresh()                              # 3 steps, save, load, 3 more
    rest = _train(m2, o2, s2, e2, 3, data)
    mg.save({"model": m2.state_dict(), "opt": o2.state_dict(), "sched": s2.state_dict(),
             "ema": e2.state_dict()}, tmp_path / "ckpt.npz")
    m3, o3, s3, e3 = fresh()
    ckpt = mg.load(tmp_path / "ckpt.npz")
    m3.load_state_dict(ckpt["model"])
    o3.load_state_dict(ckpt["opt"])
    s3.load_state_dict(ckpt["sched"])
    e3.load_state_dict(ckpt["ema"])
    _train(m3, o3, s3, e3, 3, rest)

    for (k, a), b in zip(model.state_dict().items(), m3.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for k in ema.shadow:
        np.testing.assert_array_equal(ema.shadow[k], e3.shadow[k], err_msg=k)
    assert o3.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == hyper["lr"] * 0.5 ** 3


def test_optimizer_state_dict_layout_and_errors():
    a, b = nn.Parameter(mg.ones(2)), nn.Parameter(mg.ones(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad, b.grad = mg.ones(2), mg.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["state"][1]["step"] == 1
    assert sd["state"][1]["exp_avg"].shape == (3,)
    other = optim.Adam([nn.Parameter(mg.ones(2))])
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer 1"):
        other.load_state_dict(sd)
    swapped = optim.Adam([{"params": [nn.Parameter(mg.ones(3))]},
                          {"params": [nn.Parameter(mg.ones(2))]}])
    with pytest.raises(ValueError, match=r"exp_avg.*shape \(2,\).*\(3,\)"):
        swapped.load_state_dict(sd)


# --- learning-rate schedules ---
@pytest.mark.parametrize("make, expected", [
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
     lambda e: 0.1 * 0.5 ** (e // 3)),
    (lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.9), lambda e: 0.1 * 0.9 ** e),
    (lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)), lambda e: 0.1 / (1 + e)),
])
def test_lr_schedules(make, expected):
    opt = optim.SGD([nn.Parameter(mg.zeros(1))], lr=0.1)
    sched = make(opt)
    for epoch in range(10):
        assert opt.param_groups[0]["lr"] == pytest.approx(expected(epoch), rel=1e-12)
        assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["last_epoch"] == 10 and "optimizer" not in state and "lr_lambdas" not in state


def test_lambda_lr_one_function_per_group():
    opt = optim.SGD([{"params": [nn.Parameter(mg.zeros(1))]},
                     {"params": [nn.Parameter(mg.zeros(1))], "lr": 1.0}], lr=0.1)
    sched = optim.lr_scheduler.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: e + 1])
    sched.step()
    sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.025), pytest.approx(3.0)]


# --- EMA of the weights ---
@pytest.mark.parametrize("warmup", [False, True])
def test_ema_follows_its_update_rule_and_copies_buffers(warmup):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ema = optim.EMA(model, decay=0.9, warmup=warmup)
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    opt = optim.SGD(model.parameters(), lr=0.1)
    for n in range(3):
        opt.zero_grad()
        (model(mg.randn(4, 2)) * mg.randn(4, 3)).sum().backward()
        opt.step()
        ema.update()
        d = min(0.9, (1 + n) / (10 + n)) if warmup else 0.9     # warm-up: 0.1, 0.18, 0.25
        for k, v in model.state_dict().items():
            if k in dict(model.named_parameters()):
                expected[k] = d * expected[k] + (1 - d) * v.numpy()
            else:
                expected[k] = v.numpy().copy()
    for k in expected:
        np.testing.assert_allclose(ema.shadow[k], expected[k], rtol=1e-6, err_msg=k)
    assert not np.allclose(ema.shadow["0.weight"], model[0].weight.detach().numpy())
    target = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ema.copy_to(target)
    np.testing.assert_allclose(target[0].weight.detach().numpy(), expected["0.weight"], rtol=1e-6)
    assert ema.num_updates == 3
    with pytest.raises(ValueError, match="decay"):
        optim.EMA(model, decay=1.5)
