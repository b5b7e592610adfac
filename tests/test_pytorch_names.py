"""The PyTorch names and keyword arguments learners use (issue 16, part 1): each one's forward
against NumPy, and gradcheck / gradgradcheck in float64 where it is differentiable."""
import numpy as np
import pytest

import minigan as mg
from minigan import nn
from minigan.autograd import gradcheck, gradgradcheck
from minigan.nn import functional as F
from oracles import float64_input

rng = np.random.default_rng(16)


def values(t):
    return t.detach().numpy()


# --- functions: forward against NumPy, gradients by finite differences ---
DIFFERENTIABLE = {
    "sin": (mg.sin, np.sin),
    "cos": (mg.cos, np.cos),
    "sin method": (lambda x: x.sin(), np.sin),
    "lerp": (lambda x: mg.lerp(x, x * x, 0.3), lambda a: a + 0.3 * (a * a - a)),
    "masked_fill": (lambda x: x.masked_fill(x > 0.2, -1.0), lambda a: np.where(a > 0.2, -1.0, a)),
    "sort": (lambda x: mg.sort(x, dim=1).values, lambda a: np.sort(a, axis=1)),
    "sort descending": (lambda x: x.sort(0, descending=True).values,
                        lambda a: -np.sort(-a, axis=0)),
    "topk": (lambda x: mg.topk(x, 2, dim=-1).values, lambda a: -np.sort(-a, axis=-1)[..., :2]),
    "topk smallest": (lambda x: x.topk(2, dim=0, largest=False).values,
                      lambda a: np.sort(a, axis=0)[:2]),
    "mm": (lambda x: mg.mm(x[0], x[1].T), lambda a: a[0] @ a[1].T),
    "bmm": (lambda x: mg.bmm(x, x.transpose(1, 2)), lambda a: a @ a.transpose(0, 2, 1)),
    "contiguous": (lambda x: x.transpose(0, 2).contiguous(), lambda a: a.transpose(2, 1, 0)),
    "square": (lambda x: mg.square(x), np.square),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_function_forward_and_gradients(name):
    fn, ref = DIFFERENTIABLE[name]
    x = float64_input((2, 3, 4), rng)
    np.testing.assert_allclose(values(fn(x)), ref(values(x)), rtol=1e-12, atol=1e-12)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_rounding_floor_division_and_remainder_match_numpy_and_python():
    a = np.array([-2.5, -1.5, -0.2, 0.5, 1.5, 2.7], dtype=np.float32)
    x = mg.tensor(a)
    np.testing.assert_array_equal(mg.floor(x).numpy(), np.floor(a))
    np.testing.assert_array_equal(x.ceil().numpy(), np.ceil(a))
    np.testing.assert_array_equal(mg.round(x).numpy(), np.round(a))          # halves to even
    np.testing.assert_array_equal((x // 0.7).numpy(), np.floor_divide(a, np.float32(0.7)))
    np.testing.assert_allclose((x % 0.7).numpy(), np.mod(a, np.float32(0.7)), atol=1e-6)
    i = mg.tensor([-7, -1, 0, 5, 9])
    assert (i // 3).tolist() == [-7 // 3, -1 // 3, 0, 5 // 3, 9 // 3] and (i // 3).dtype == mg.int64
    assert (i % 3).tolist() == [-7 % 3, -1 % 3, 0, 5 % 3, 9 % 3]
    assert (7 % mg.tensor([3, -3])).tolist() == [1, -2]


def test_rounding_has_zero_gradient_and_remainder_the_sawtooth_one():
    x = mg.tensor([0.3, 1.7, -2.2], dtype=mg.float64, requires_grad=True)
    (mg.floor(x) + x.ceil() + x.round()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    b = float64_input([1.3, 0.9, 2.1])
    # away from the jumps, d(a % b)/da = 1 and d(a % b)/db = -floor(a / b)
    assert gradcheck(lambda x, b: x % b, (float64_input([0.5, 2.0, -1.2]), b))
    assert gradgradcheck(lambda x, b: x % b, (float64_input([0.5, 2.0, -1.2]), b))


EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]),
          ("bi,bi->b", [(5, 3), (5, 3)]),            # a row-wise dot product
          ("i,j->ij", [(3,), (4,)]),                 # an outer product
          ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),  # batched matmul
          ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
          ("ij->", [(3, 4)]),
          ("ij->ji", [(3, 4)]),
          ("ij,jk", [(2, 3), (3, 4)]),               # implicit output: 'ik'
          ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
          ("bchw,c->bhw", [(2, 3, 2, 2), (3,)]),
          ("ij,kl->i", [(2, 3), (4, 2)])]            # letters summed out in one operand only


@pytest.mark.parametrize("equation, shapes", EINSUM)
def test_einsum_forward_and_gradients(equation, shapes):
    xs = [float64_input(s, rng) for s in shapes]
    out = mg.einsum(equation, *xs)
    np.testing.assert_allclose(values(out), np.einsum(equation, *map(values, xs)), rtol=1e-12,
                               atol=1e-12)

    def fn(*xs):
        return mg.einsum(equation, *xs)
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_einsum_rejects_a_diagonal_and_a_mismatch_clearly():
    with pytest.raises(NotImplementedError, match="repeated within one operand"):
        mg.einsum("ii->i", mg.ones(2, 2))
    with pytest.raises(ValueError, match="operand 1 has 1 dims"):
        mg.einsum("ij,jk->ik", mg.ones(2, 2), mg.ones(2))
    with pytest.raises(RuntimeError, match="same dtype"):
        mg.einsum("ij,jk->ik", mg.ones(2, 2), mg.ones(2, 2, dtype=mg.float64))


def test_sort_argsort_topk_indices_and_nonzero_match_numpy():
    a = np.array([[3.0, 1.0, 2.0], [0.5, 5.0, -1.0]], dtype=np.float32)
    x = mg.tensor(a)
    values_, indices = mg.sort(x, dim=1)
    np.testing.assert_array_equal(values_.numpy(), np.sort(a, 1))
    np.testing.assert_array_equal(indices.numpy(), np.argsort(a, 1))
    assert indices.dtype == mg.int64
    np.testing.assert_array_equal(mg.argsort(x, dim=0, descending=True).numpy(),
                                  np.argsort(-a, 0))
    top = x.topk(2)
    np.testing.assert_array_equal(top.indices.numpy(), [[0, 2], [1, 0]])
    np.testing.assert_array_equal(top.values.numpy(), [[3.0, 2.0], [5.0, 0.5]])
    with pytest.raises(ValueError, match=r"topk: k \(4\) must be in \[0, 3\]"):
        x.topk(4)
    mask = x > 1
    np.testing.assert_array_equal(mg.nonzero(mask).numpy(), np.argwhere(a > 1))
    rows, cols = mask.nonzero(as_tuple=True)
    np.testing.assert_array_equal(x[rows, cols].numpy(), a[a > 1])


def test_value_tests_match_numpy():
    a = np.array([0.0, np.nan, np.inf, -np.inf, 2.0], dtype=np.float32)
    x = mg.tensor(a)
    np.testing.assert_array_equal(mg.isnan(x).numpy(), np.isnan(a))
    np.testing.assert_array_equal(mg.isinf(x).numpy(), np.isinf(a))
    np.testing.assert_array_equal(x.isinf().numpy(), np.isinf(a))
    np.testing.assert_array_equal(mg.isfinite(x).numpy(), np.isfinite(a))
    y = mg.tensor([1.0, 2.0])
    assert mg.allclose(y, y + 1e-9) and not mg.allclose(y, y + 1e-3)
    assert mg.equal(y, mg.tensor([1.0, 2.0]))
    assert not mg.equal(y, mg.tensor([1.0, 2.5])) and not mg.equal(y, mg.tensor([1.0]))


def test_normal_samples_and_its_gradients():
    mg.manual_seed(0)
    samples = mg.normal(2.0, 3.0, size=(200_000,))
    assert samples.shape == (200_000,) and samples.dtype == mg.float32
    assert abs(samples.mean().item() - 2.0) < 0.03 and abs(samples.std().item() - 3.0) < 0.03
    mean = mg.zeros(4, dtype=mg.float64, requires_grad=True)
    std = mg.full((4,), 2.0, dtype=mg.float64, requires_grad=True)
    out = mg.normal(mean, std)
    out.sum().backward()
    # out = mean + std * eps: d/dmean = 1, d/dstd = eps = (out - mean) / std (as PyTorch)
    np.testing.assert_array_equal(mean.grad.numpy(), 1.0)
    np.testing.assert_allclose(std.grad.numpy(), values(out) / 2.0)
    with pytest.raises(TypeError, match="give `size`"):
        mg.normal(0.0, 1.0)


def test_inference_mode_records_no_graph_as_a_block_and_a_decorator():
    w = mg.ones(2, requires_grad=True)
    with mg.inference_mode():
        assert not (w * 2).requires_grad
    with mg.inference_mode(False):
        assert (w * 2).requires_grad

    @mg.inference_mode()
    def predict(x):
        return x * 2
    assert not predict(w).requires_grad
    assert mg.is_grad_enabled()


def test_size_is_a_tuple_with_numel_and_torch_repr():
    x = mg.zeros(2, 3, 4)
    assert isinstance(x.shape, mg.Size) and isinstance(x.size(), tuple)
    assert x.shape == (2, 3, 4) and x.size() == mg.Size([2, 3, 4]) and x.size(1) == 3
    assert x.shape.numel() == 24 and repr(x.shape) == "minigan.Size([2, 3, 4])"
    assert mg.zeros(x.shape[1:]).shape == (3, 4)


# --- Tensor methods ---
def test_contiguous_and_is_contiguous():
    x = mg.arange(6.0).reshape(2, 3)
    assert x.is_contiguous() and x.contiguous() is x
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == [[0, 3], [1, 4], [2, 5]]


def test_masked_fill_keeps_dtype_broadcasts_the_mask_and_fills_in_place():
    x = mg.tensor([[1, 2, 3], [4, 5, 6]])
    out = x.masked_fill(mg.tensor([True, False, True]), 0)
    assert out.dtype == mg.int64 and out.tolist() == [[0, 2, 0], [0, 5, 0]]
    y = mg.ones(2, 3)
    y.masked_fill_(y.sum(1, keepdim=True) > 0, 7.0)
    assert y.tolist() == [[7.0] * 3] * 2 and y._version == 1
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        x.masked_fill(x, 0)
    # the value may be a 0-dim tensor, and then gets the masked positions' gradient
    value = float64_input(0.5)
    z = float64_input((2, 3), rng)
    assert gradcheck(lambda z, v: z.masked_fill(z > 0, v), (z, value))


def test_new_tensors_take_dtype_and_device_from_the_tensor():
    x = mg.ones(2, dtype=mg.float64)
    for made, shape, fill in [(x.new_zeros(2, 3), (2, 3), 0), (x.new_zeros((2, 3)), (2, 3), 0),
                              (x.new_ones(4), (4,), 1), (x.new_full((2,), 7), (2,), 7),
                              (x.new_empty(3), (3,), 0)]:
        assert made.shape == shape and made.dtype == mg.float64 and made.device == "cpu"
        assert (made.numpy() == fill).all()
    assert x.new_tensor([1, 2]).dtype == mg.float64
    assert x.new_zeros(2, dtype=mg.int64).dtype == mg.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert mg.tensor([1, 2]).type_as(x).dtype == mg.float64


# --- namespaces ---
def test_cuda_namespace_without_a_gpu():
    if mg.cuda.is_available():
        assert mg.cuda.device_count() >= 1
        return
    assert mg.cuda.device_count() == 0
    assert mg.device("cuda" if mg.cuda.is_available() else "cpu") == "cpu"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        mg.cuda.synchronize()


def test_backends_flags_are_accepted():
    mg.backends.cudnn.benchmark = True
    mg.backends.cudnn.deterministic = True
    assert not mg.backends.cudnn.is_available() and not mg.backends.mps.is_available()
    mg.backends.cudnn.benchmark = mg.backends.cudnn.deterministic = False


def test_torch_utils_data_spelling():
    assert mg.utils.data.DataLoader is mg.data.DataLoader
    assert mg.utils.data.TensorDataset is mg.data.TensorDataset


# --- nn and functional ---
def test_one_hot_matches_numpy():
    labels = mg.tensor([0, 2, 1, 2])
    np.testing.assert_array_equal(F.one_hot(labels, 4).numpy(), np.eye(4, dtype=np.int64)[[0, 2, 1, 2]])
    assert F.one_hot(labels).shape == (4, 3) and F.one_hot(labels).dtype == mg.int64
    assert F.one_hot(mg.tensor([[1], [0]]), 2).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        F.one_hot(labels, 2)
    with pytest.raises(TypeError, match="class indices"):
        F.one_hot(mg.ones(2))


def test_dropout2d_zeroes_whole_channels():
    mg.manual_seed(0)
    x = mg.ones(64, 8, 3, 3)
    layer = nn.Dropout2d(0.5)
    y = layer(x).numpy()
    per_channel = y.reshape(64, 8, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()   # kept: 1 / (1 - p)
    assert 0.4 < (per_channel[..., 0] == 0).mean() < 0.6
    layer.eval()
    assert layer(x) is x

    def fn(x):
        mg.manual_seed(1)                  # the same channel mask in every call
        return F.dropout2d(x, 0.3)
    xd = float64_input((2, 4, 2, 2), rng)
    assert gradcheck(fn, (xd,))
    assert gradgradcheck(fn, (xd,))


def group_norm_ref(x, groups, w, b, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    g = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return g.reshape(x.shape) * w.reshape(shape) + b.reshape(shape)


def test_group_norm_forward_and_gradients():
    layer = nn.GroupNorm(2, 4).double()
    with mg.no_grad():
        layer.weight.copy_(mg.tensor(rng.standard_normal(4)))
        layer.bias.copy_(mg.tensor(rng.standard_normal(4)))
    x = float64_input((3, 4, 2, 3), rng)
    np.testing.assert_allclose(values(layer(x)), group_norm_ref(values(x), 2, values(layer.weight),
                                                                values(layer.bias)), rtol=1e-10)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, layer.weight, layer.bias))
    assert gradgradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, layer.weight, layer.bias))
    assert nn.GroupNorm(4, 4, affine=False).weight is None
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)


PADS = {  # minigan module or call -> NumPy mode (np.pad's name)
    "ZeroPad2d": (lambda x: nn.ZeroPad2d((1, 2, 0, 1))(x), "constant"),
    "ConstantPad2d": (lambda x: nn.ConstantPad2d((1, 2, 0, 1), 0.0)(x), "constant"),
    "ReflectionPad2d": (lambda x: nn.ReflectionPad2d((1, 2, 0, 1))(x), "reflect"),
    "ReplicationPad2d": (lambda x: nn.ReplicationPad2d((1, 2, 0, 1))(x), "edge"),
    "F.pad reflect": (lambda x: F.pad(x, (1, 2, 0, 1), mode="reflect"), "reflect"),
    "F.pad replicate": (lambda x: F.pad(x, (1, 2, 0, 1), mode="replicate"), "edge"),
    "F.pad circular": (lambda x: F.pad(x, (1, 2, 0, 1), mode="circular"), "wrap"),
}


@pytest.mark.parametrize("name", sorted(PADS))
def test_padding_forward_and_gradients(name):
    fn, np_mode = PADS[name]
    x = float64_input((2, 2, 3, 4), rng)
    expected = np.pad(values(x), ((0, 0), (0, 0), (0, 1), (1, 2)), mode=np_mode)
    np.testing.assert_array_equal(values(fn(x)), expected)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_reflect_padding_larger_than_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="reflect padding of \\(3, 3\\) needs dimension 2 to be "
                                         "larger than the padding, got size 3"):
        nn.ReflectionPad2d(3)(mg.ones(1, 1, 3, 3))
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(mg.ones(2, 2), (1, 1), mode="mirror")


def bilinear_ref(x, out_h, out_w, align_corners, scale=None):
    """PyTorch's bilinear resize, one output pixel at a time."""
    n, c, h, w = x.shape

    def source(dst, n_in, n_out, s):
        if align_corners:
            return dst * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        ratio = 1 / s if s else n_in / n_out
        return max((dst + 0.5) * ratio - 0.5, 0.0)
    y = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            si, sj = source(i, h, out_h, scale), source(j, w, out_w, scale)
            i0, j0 = int(np.floor(si)), int(np.floor(sj))
            i1, j1 = min(i0 + 1, h - 1), min(j0 + 1, w - 1)
            a, b = si - i0, sj - j0
            y[:, :, i, j] = ((1 - a) * (1 - b) * x[:, :, i0, j0] + (1 - a) * b * x[:, :, i0, j1]
                             + a * (1 - b) * x[:, :, i1, j0] + a * b * x[:, :, i1, j1])
    return y


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size, scale", [(None, 2), ((5, 3), None), ((2, 2), None),
                                         (None, 1.5)])
def test_bilinear_interpolation_forward_and_gradients(align_corners, size, scale):
    x = float64_input((2, 1, 3, 4), rng)
    y = F.interpolate(x, size=size, scale_factor=scale, mode="bilinear", align_corners=align_corners)
    out_h, out_w = size or (int(3 * scale), int(4 * scale))
    np.testing.assert_allclose(values(y), bilinear_ref(values(x), out_h, out_w, align_corners,
                                                        scale), rtol=1e-12, atol=1e-12)

    def fn(x):
        return F.interpolate(x, size=size, scale_factor=scale, mode="bilinear",
                             align_corners=align_corners)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_upsample_module_modes():
    x = mg.arange(4.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(nn.Upsample(scale_factor=2)(x).numpy()[0, 0],
                                  np.repeat(np.repeat(x.numpy()[0, 0], 2, 0), 2, 1))
    up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(up(x).numpy()[0, 0, 0], [0, 1 / 3, 2 / 3, 1], rtol=1e-6)
    assert "align_corners=True" in repr(up)
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, scale_factor=2, mode="nearest", align_corners=False)
    with pytest.raises(NotImplementedError, match="'bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")


def test_bilinear_interpolation_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    for kwargs in [dict(scale_factor=2, align_corners=False), dict(size=(4, 9), align_corners=True),
                   dict(size=(8, 3), align_corners=False), dict(scale_factor=0.5, align_corners=False)]:
        ours = F.interpolate(mg.tensor(x), mode="bilinear", **kwargs).numpy()
        theirs = torch.nn.functional.interpolate(torch.tensor(x), mode="bilinear", **kwargs).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=str(kwargs))


# --- keyword arguments ---
def test_autograd_grad_accepts_only_inputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mg.autograd.grad(outputs=(x ** 2).sum(), inputs=x, only_inputs=True)
    assert g.tolist() == [2.0, 4.0]


def test_dataloader_accepts_workers_and_pinned_memory_and_batches_the_same():
    data = mg.data.TensorDataset(mg.arange(10.0))
    plain = [b[0].tolist() for b in mg.data.DataLoader(data, batch_size=4, drop_last=True)]
    loader = mg.data.DataLoader(data, batch_size=4, num_workers=2, pin_memory=True,
                                drop_last=True, persistent_workers=True)
    assert [b[0].tolist() for b in loader] == plain == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer"):
        mg.data.DataLoader(data, num_workers=-1)


# --- legacy names: implemented with PyTorch's meaning ---
def test_legacy_constructors():
    x = mg.Tensor(2, 3)
    assert x.shape == (2, 3) and x.dtype == mg.float32 and (x.numpy() == 0).all()
    assert mg.Tensor([1, 2]).dtype == mg.float32          # PyTorch's Tensor(data) is float
    assert mg.Tensor(mg.Size([4])).shape == (4,)
    assert mg.FloatTensor([1, 2]).tolist() == [1.0, 2.0]
    assert mg.LongTensor(3).dtype == mg.int64 and mg.LongTensor(3).shape == (3,)
    assert mg.DoubleTensor(np.ones(2)).dtype == mg.float64
    assert mg.ones(2).type() == "minigan.FloatTensor"
    assert mg.ones(2).type(mg.LongTensor).dtype == mg.int64
    assert mg.ones(2).type("torch.DoubleTensor").dtype == mg.float64
    assert mg.ones(2).type(mg.float64).dtype == mg.float64
    with pytest.raises(TypeError, match="sizes \\(ints\\) or one sequence"):
        mg.Tensor([1], [2])


def test_variable_is_a_tensor_cut_from_the_graph():
    from minigan.autograd import Variable
    t = mg.ones(2)
    v = Variable(t, requires_grad=True)
    assert isinstance(v, mg.Tensor) and v.requires_grad and v.is_leaf and not t.requires_grad
    y = v * 3
    assert Variable(y).grad_fn is None
    y.sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]


def test_thread_counts():
    before = mg.get_num_threads()
    assert before >= 1
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:                       # optional: then only Numba's threads change
        threadpool_info = None
    blas_limits = threadpool_limits(limits=None) if threadpool_info else None   # to restore
    try:
        mg.set_num_threads(1)
        assert mg.get_num_threads() == 1
        if threadpool_info:
            assert all(pool["num_threads"] == 1 for pool in threadpool_info()
                       if pool["user_api"] == "blas")
    finally:
        mg.set_num_threads(before)
        if blas_limits is not None:
            blas_limits.restore_original_limits()
    with pytest.raises(ValueError, match=r"expected an int >= 1, got 0"):
        mg.set_num_threads(0)
