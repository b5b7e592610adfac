"""The engine on CuPy arrays: the same numbers as on the CPU. Runs where CuPy sees a CUDA
device; skipped elsewhere with the reason."""
import numpy as np
import pytest

import minigan as mg
from minigan import kernels, nn
from minigan.nn import functional as F

pytestmark = pytest.mark.skipif(not kernels.available()["cupy"],
                                reason="needs CuPy and a CUDA device (none on this machine)")


def both(*shape):
    a = mg.randn(*shape, dtype=mg.float64)
    return a, a.cuda()


def test_tensor_moves_between_devices():
    a, g = both(3, 4)
    assert g.device == "cuda" and g.cpu().device == "cpu"
    np.testing.assert_array_equal(g.cpu().numpy(), a.numpy())
    assert mg.zeros(2, device="cuda").device == "cuda"


def test_mixing_devices_is_an_error():
    a, g = both(3)
    with pytest.raises(RuntimeError, match="same device"):
        a + g


@pytest.mark.parametrize("op", [lambda x: (x * x).sum(1), lambda x: mg.softmax(x, 1),
                                lambda x: mg.logsigmoid(x).mean(), lambda x: x @ x.T,
                                lambda x: x[[0, 2]].tanh(), lambda x: x.norm(dim=1)])
def test_ops_and_gradients_match_the_cpu(op):
    a, g = both(3, 4)
    a.requires_grad_(), g.requires_grad_()
    ya, yg = op(a), op(g)
    np.testing.assert_allclose(yg.detach().cpu().numpy(), ya.detach().numpy(), rtol=1e-10)
    ya.sum().backward(), yg.sum().backward()
    np.testing.assert_allclose(g.grad.cpu().numpy(), a.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv_kernels_match_the_reference(stride, padding, dilation):
    import cupy as cp
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    geometry = ((stride,) * 2, (padding,) * 2, (dilation,) * 2)
    y_ref = kernels.REGISTRY["conv2d"]["numpy"](x, w, None, *geometry)
    y_gpu = kernels.conv2d(cp.asarray(x), cp.asarray(w), None, *geometry)
    np.testing.assert_allclose(cp.asnumpy(y_gpu), y_ref, rtol=1e-10, atol=1e-10)
    gx_ref = kernels.REGISTRY["conv2d_grad_input"]["numpy"](y_ref, w, (9, 8), *geometry)
    gx_gpu = kernels.conv2d_grad_input(cp.asarray(y_ref), cp.asarray(w), (9, 8), *geometry)
    np.testing.assert_allclose(cp.asnumpy(gx_gpu), gx_ref, rtol=1e-10, atol=1e-10)
    gw_ref = kernels.REGISTRY["conv2d_grad_weight"]["numpy"](x, y_ref, (3, 3), *geometry)
    gw_gpu = kernels.conv2d_grad_weight(cp.asarray(x), cp.asarray(y_ref), (3, 3), *geometry)
    np.testing.assert_allclose(cp.asnumpy(gw_gpu), gw_ref, rtol=1e-10, atol=1e-10)


def test_dcgan_training_step_on_the_gpu_matches_the_cpu():
    from minigan import optim
    from minigan.gan import DCGANDiscriminator, DCGANGenerator, get_loss, train_step
    rows = []
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        G, D = DCGANGenerator(base=16).double().to(device), DCGANDiscriminator(base=16).double().to(device)
        opt_g, opt_d = optim.Adam(G.parameters(), 2e-4), optim.Adam(D.parameters(), 2e-4)
        real = mg.rand(8, 1, 28, 28, dtype=mg.float64).to(device) * 2 - 1
        rows.append(train_step(G, D, opt_g, opt_d, real, get_loss("nonsaturating")))
    for key in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
        assert rows[1][key] == pytest.approx(rows[0][key], rel=1e-8), key


def test_gradient_penalty_double_backward_on_the_gpu():
    x = mg.randn(2, 1, 6, 6, dtype=mg.float64, device="cuda", requires_grad=True)
    w = mg.randn(3, 1, 3, 3, dtype=mg.float64, device="cuda", requires_grad=True)
    g, = mg.autograd.grad(F.conv2d(x, w).tanh().sum(), x, create_graph=True)
    (g ** 2).sum().backward()
    assert w.grad is not None and w.grad.device == "cuda"
