"""Each GAN loss against its sign contract: the optimum it claims is the optimum it has."""
import numpy as np
import pytest

import minigan as mg
from minigan import nn
from minigan.gan import losses

# Two discrete distributions on 4 points; a batch that repeats each point in proportion
# to its probability makes the batch mean an exact expectation.
P = np.array([0.4, 0.3, 0.2, 0.1])
Q = np.array([0.1, 0.2, 0.3, 0.4])
REAL_POINTS = np.repeat(np.arange(4), (P * 10).astype(int))     # 10 real samples
FAKE_POINTS = np.repeat(np.arange(4), (Q * 10).astype(int))


def optimise_table_discriminator(loss, steps=3000, lr=0.5):
    """D is a free value per point (a table); minimise loss.d_loss by gradient descent."""
    table = mg.zeros(4, dtype=mg.float64, requires_grad=True)
    real_idx, fake_idx = mg.tensor(REAL_POINTS), mg.tensor(FAKE_POINTS)
    for _ in range(steps):
        d = loss.d_loss(table[real_idx], table[fake_idx])
        g, = mg.autograd.grad(d, table)
        with mg.no_grad():
            table -= lr * g
    return table.detach().numpy()


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_optimal_discriminator_is_p_over_p_plus_q_for_logit_losses(name):
    logits = optimise_table_discriminator(losses.LOSSES[name])
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), P / (P + Q), atol=1e-3)


def test_lsgan_optimal_discriminator():
    scores = optimise_table_discriminator(losses.lsgan, lr=1.0)
    np.testing.assert_allclose(scores, P / (P + Q), atol=1e-6)


def test_optimal_discriminator_on_a_1d_gaussian_toy():
    """p = N(0, 1), q = N(1, 1): log p/q = 0.5 - x, so the optimal logit is linear."""
    mg.manual_seed(0)
    real, fake = mg.randn(20000, 1, dtype=mg.float64), mg.randn(20000, 1, dtype=mg.float64) + 1
    D = nn.Linear(1, 1).double()
    opt = mg.optim.SGD(D.parameters(), lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        losses.minimax.d_loss(D(real), D(fake)).backward()
        opt.step()
    assert D.weight.item() == pytest.approx(-1.0, abs=0.05)
    assert D.bias.item() == pytest.approx(0.5, abs=0.05)


def test_minimax_value_at_the_optimum_is_log4_minus_2js():
    """With D = D*, loss_d = -V(D*, G) = log 4 - 2 JS(p || q)."""
    logits = np.log(P / Q)                         # logit of D* = p / (p + q)
    table = mg.tensor(logits, dtype=mg.float64)
    value = losses.minimax.d_loss(table[mg.tensor(REAL_POINTS)], table[mg.tensor(FAKE_POINTS)]).item()
    m = (P + Q) / 2
    js = 0.5 * (P * np.log(P / m)).sum() + 0.5 * (Q * np.log(Q / m)).sum()
    assert value == pytest.approx(np.log(4) - 2 * js, rel=1e-10)


def test_wgan_critic_on_two_diracs():
    """Real at 0, fake at theta, critic f(x) = w x clipped to |w| <= 1: the optimum is
    w = -sign(theta) and the Wasserstein estimate E f(real) - E f(fake) equals |theta|."""
    for theta in (0.7, -1.5):
        w = mg.tensor([0.1], dtype=mg.float64, requires_grad=True)
        real, fake = mg.zeros(8, 1, dtype=mg.float64), mg.full((8, 1), theta, dtype=mg.float64)
        opt = mg.optim.RMSprop([w], lr=0.05)
        for _ in range(200):
            opt.zero_grad()
            losses.wgan.d_loss(real * w, fake * w).backward()
            opt.step()
            with mg.no_grad():
                w.clamp_(-1, 1)
        assert w.item() == pytest.approx(-np.sign(theta))
        estimate = -losses.wgan.d_loss(real * w, fake * w).item()
        assert estimate == pytest.approx(abs(theta))


def test_hinge_is_zero_once_the_margin_is_met():
    real_out = mg.tensor([[1.5], [1.0]])
    fake_out = mg.tensor([[-1.0], [-3.0]])
    assert losses.hinge.d_loss(real_out, fake_out).item() == 0
    assert losses.hinge.d_loss(real_out * 0, fake_out * 0).item() == pytest.approx(2.0)


def test_generator_losses_sign_and_saturation():
    """d loss_g / d logit: minimax vanishes as D(G(z)) -> 0, non-saturating tends to -1."""
    logits = mg.tensor([-12.0, 0.0, 12.0], dtype=mg.float64, requires_grad=True)
    g_minimax, = mg.autograd.grad(losses.minimax.g_loss(logits) * 3, logits)
    g_ns, = mg.autograd.grad(losses.nonsaturating.g_loss(logits) * 3, logits)
    assert abs(g_minimax.numpy()[0]) < 1e-5             # saturated: no signal
    assert g_ns.numpy()[0] == pytest.approx(-1.0, abs=1e-5)
    assert (g_minimax.numpy() < 0).all() and (g_ns.numpy() < 0).all()   # both push logits up
    for name in ("lsgan", "wgan", "hinge"):
        g, = mg.autograd.grad(losses.LOSSES[name].g_loss(logits), logits)
        assert (g.numpy()[:2] < 0).all(), name


class LinearCritic(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(mg.tensor(a, dtype=mg.float64))

    def forward(self, x):
        return (x.flatten(1) * self.a).sum(1, keepdim=True)


@pytest.mark.parametrize("a", [[0.6, 0.8], [3.0, 4.0], [0.1, 0.0]])
def test_gradient_penalty_value_and_gradient_on_a_linear_critic(a):
    """f(x) = a.x has gradient norm ||a|| everywhere: penalty = w (||a|| - 1)^2 and
    d penalty / d a = 2 w (||a|| - 1) a / ||a||."""
    critic = LinearCritic(a)
    real, fake = mg.randn(16, 2, dtype=mg.float64), mg.randn(16, 2, dtype=mg.float64)
    penalty, norm = losses.gradient_penalty(critic, real, fake, weight=10.0)
    a = np.array(a)
    n = np.linalg.norm(a)
    assert penalty.item() == pytest.approx(10 * (n - 1) ** 2, rel=1e-10, abs=1e-12)
    assert norm.item() == pytest.approx(n)
    penalty.backward()
    np.testing.assert_allclose(critic.a.grad.numpy(), 20 * (n - 1) * a / n, rtol=1e-10, atol=1e-12)


def test_r1_penalty_value_and_gradient():
    critic = LinearCritic([3.0, 4.0])
    penalty, _ = losses.r1_penalty(critic, mg.randn(8, 2, dtype=mg.float64), weight=2.0)
    assert penalty.item() == pytest.approx(0.5 * 2.0 * 25.0)
    penalty.backward()
    np.testing.assert_allclose(critic.a.grad.numpy(), [2.0 * 3.0, 2.0 * 4.0])


def test_r1_penalty_keeps_its_curvature_where_the_input_gradient_is_zero():
    """R1 = w/2 ||a||^2 for f(x) = a.x: its Hessian in a is w I, also at a = 0 (the
    Dirac-GAN's equilibrium), where a norm()-based penalty loses the second derivative."""
    critic = LinearCritic([0.0, 0.0])
    penalty, norm = losses.r1_penalty(critic, mg.randn(8, 2, dtype=mg.float64), weight=3.0)
    assert penalty.item() == 0.0 and norm.item() == 0.0
    grad, = mg.autograd.grad(penalty, critic.a, create_graph=True)
    hessian = [mg.autograd.grad(grad[i], critic.a, retain_graph=True)[0].numpy() for i in range(2)]
    np.testing.assert_allclose(hessian, 3.0 * np.eye(2), rtol=1e-12)


def test_unknown_loss_lists_the_choices():
    with pytest.raises(ValueError, match="hinge"):
        losses.get_loss("nope")
