"""minigan.kernels: every fast kernel equals the NumPy reference, and the reference is
checked against independent oracles (direct loops, adjoint identities, finite differences).
"""
import importlib.util
import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import kernels
from minigan.kernels import adam, conv, gemm, threads
from oracles import conv2d_loops

ROOT = Path(__file__).resolve().parents[1]

AVAILABLE = kernels.available()


def _fast_backends():
    """The non-reference versions every kernel is compared with, skipped if absent."""
    return [
        pytest.param("numba", marks=pytest.mark.skipif(not AVAILABLE["numba"], reason="Numba not installed")),
        pytest.param("cupy", marks=pytest.mark.skipif(not AVAILABLE["cupy"], reason="CuPy not installed / no CUDA device")),
    ]


@pytest.fixture(scope="module", params=_fast_backends())
def fast_backend(request):
    """The fast version under test ("numba" or "cupy"); the NumPy reference is the oracle."""
    return request.param


def to_device(a, backend):
    if backend == "cupy":
        import cupy
        return cupy.asarray(a)
    return a


def to_host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def assert_close(got, want, dtype, what=""):
    got = to_host(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


# --- shapes drawn by hypothesis --------------------------------------------------------

@st.composite
def conv_cases(draw):
    N, C, O = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H, W = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    OH = conv.out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = conv.out_size(W, KW, stride[1], padding[1], dilation[1])
    assume(OH >= 1 and OW >= 1)                      # empty outputs are the caller's error
    return dict(N=N, C=C, O=O, H=H, W=W, KH=KH, KW=KW, OH=OH, OW=OW, stride=stride,
                padding=padding, dilation=dilation, dtype=dtype, seed=seed)


def make_arrays(case):
    rng = np.random.default_rng(case["seed"])
    d = case["dtype"]
    x = rng.standard_normal((case["N"], case["C"], case["H"], case["W"])).astype(d)
    w = rng.standard_normal((case["O"], case["C"], case["KH"], case["KW"])).astype(d)
    b = rng.standard_normal(case["O"]).astype(d)
    gy = rng.standard_normal((case["N"], case["O"], case["OH"], case["OW"])).astype(d)
    return x, w, b, gy


def geom(case):
    return case["stride"], case["padding"], case["dilation"]


FAST = settings(deadline=None, max_examples=30)

# How the Numba convolutions split their work, drawn like the shapes: the column layout
# (conv.SMALL_C: NCHW columns below it, channels-last rows from it on), images per block
# (conv.BLOCK_BYTES: 1 byte = one image a block), threads (kernels/threads.py; GRAIN_BYTES
# = 1 lets even one image go to a thread of its own), and the inputs' memory layout.
splits = st.fixed_dictionaries({
    "small_c": st.sampled_from([0, 10**9]),
    "block_bytes": st.sampled_from([1, 1 << 20]),
    "threads": st.sampled_from([1, 2, 3]),
    "channels_last_inputs": st.booleans(),
})
ONE_SPLIT = dict(small_c=conv.SMALL_C, block_bytes=conv.BLOCK_BYTES, threads=1,
                 channels_last_inputs=False)


def channels_last(a):
    """The same (N, C, H, W) values with memory (N, H, W, C), as the fast kernels return."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def run_conv(table, backend, split, *args):
    """table[backend](*args) under `split`; every 4-D array argument moved to channels last
    when the split says so (the weights too: any strides must do)."""
    if backend != "numba":
        return table[backend](*args)
    if split["channels_last_inputs"]:
        args = [channels_last(a) if isinstance(a, np.ndarray) and a.ndim == 4 else a for a in args]
    old = conv.SMALL_C, conv.BLOCK_BYTES, conv.GRAIN_BYTES, threads.get_num_threads()
    conv.SMALL_C, conv.BLOCK_BYTES, conv.GRAIN_BYTES = split["small_c"], split["block_bytes"], 1
    threads.set_num_threads(split["threads"])
    try:
        return table[backend](*args)
    finally:
        conv.SMALL_C, conv.BLOCK_BYTES, conv.GRAIN_BYTES = old[:3]
        threads.set_num_threads(old[3])


# --- fast kernels equal the reference --------------------------------------------------

@FAST
@given(case=conv_cases(), with_bias=st.booleans(), split=splits)
def test_conv2d_matches_reference(fast_backend, case, with_bias, split):
    x, w, b, _ = make_arrays(case)
    b = b if with_bias else None
    want = conv.conv2d_ref(x, w, b, *geom(case))
    got = run_conv(conv.CONV2D, fast_backend, split, to_device(x, fast_backend), to_device(w, fast_backend),
                   None if b is None else to_device(b, fast_backend), *geom(case))
    assert_close(got, want, case["dtype"], f"conv2d {case} {split}")


@FAST
@given(case=conv_cases(), split=splits, with_bias=st.booleans())
def test_conv2d_grad_input_matches_reference(fast_backend, case, split, with_bias):
    """With a bias (C,) it is conv_transpose2d's forward."""
    x, w, _, gy = make_arrays(case)
    hw = (case["H"], case["W"])
    b = np.random.default_rng(case["seed"]).standard_normal(case["C"]).astype(case["dtype"])
    b = b if with_bias else None
    want = conv.conv2d_grad_input_ref(gy, w, hw, *geom(case))
    if with_bias:
        np.testing.assert_allclose(conv.conv2d_grad_input_ref(gy, w, hw, *geom(case), b),
                                   want + b.reshape(1, -1, 1, 1), rtol=1e-12, atol=1e-12)
        want = want + b.reshape(1, -1, 1, 1)
    got = run_conv(conv.CONV2D_GRAD_INPUT, fast_backend, split, to_device(gy, fast_backend),
                   to_device(w, fast_backend), hw, *geom(case),
                   None if b is None else to_device(b, fast_backend))
    assert_close(got, want, case["dtype"], f"conv2d_grad_input {case} {split}")


@FAST
@given(case=conv_cases(), split=splits)
def test_conv2d_grad_weight_matches_reference(fast_backend, case, split):
    x, w, _, gy = make_arrays(case)
    khw = (case["KH"], case["KW"])
    want = conv.conv2d_grad_weight_ref(x, gy, khw, *geom(case))
    got = run_conv(conv.CONV2D_GRAD_WEIGHT, fast_backend, split, to_device(x, fast_backend),
                   to_device(gy, fast_backend), khw, *geom(case))
    assert_close(got, want, case["dtype"], f"conv2d_grad_weight {case} {split}")


@pytest.mark.parametrize("C", [1, 8])                # both column layouts
def test_numba_convs_return_channels_last_and_read_it_without_a_copy(monkeypatch, C):
    """The fast outputs are (N, C, H, W) views of (N, H, W, C) memory; a channels-last
    input goes to the column loops as it is (no copy), an NCHW one is copied a block at a time."""
    if not AVAILABLE["numba"]:
        pytest.skip("Numba not installed")
    rng = np.random.default_rng(0)
    g = ((2, 2), (1, 1), (1, 1))
    x, w = rng.standard_normal((3, C, 6, 6)), rng.standard_normal((5, C, 4, 4))
    y = conv.conv2d_numba(x, w, None, *g)
    gx = conv.conv2d_grad_input_numba(y, w, (6, 6), *g)
    for out in (y, gx):
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous, out.strides
    copies = []
    real = np.copyto
    monkeypatch.setattr(conv.np, "copyto", lambda dst, src, **k: copies.append(src.shape) or real(dst, src, **k))
    conv.conv2d_grad_weight_numba(channels_last(x), y, (4, 4), *g)
    conv.conv2d_grad_input_numba(y, w, (6, 6), *g)
    assert copies == [], copies
    conv.conv2d_numba(np.ascontiguousarray(x), w, None, *g)
    assert copies if C > 1 else copies == [], copies    # C = 1: NCHW is channels last


@pytest.mark.parametrize("n_threads", [2, 3])
def test_a_conv_split_over_threads_runs_its_parts_on_different_threads(monkeypatch, n_threads):
    """The images really go to n_threads threads (each block's GEMM runs where its part
    runs), and the result equals the serial one."""
    if not AVAILABLE["numba"]:
        pytest.skip("Numba not installed")
    import threading
    seen = set()
    real_gemm = conv.gemm
    monkeypatch.setattr(conv, "gemm", lambda *a, **k: seen.add(threading.get_ident()) or real_gemm(*a, **k))
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((6, 8, 6, 6)), rng.standard_normal((5, 8, 3, 3))
    g = ((1, 1), (1, 1), (1, 1))
    serial = run_conv(conv.CONV2D, "numba", dict(ONE_SPLIT, block_bytes=1), x, w, None, *g)
    seen.clear()
    split = run_conv(conv.CONV2D, "numba", dict(ONE_SPLIT, block_bytes=1, threads=n_threads),
                     x, w, None, *g)
    assert len(seen) == n_threads, seen
    np.testing.assert_array_equal(split, serial)


@FAST
@given(case=conv_cases())
def test_im2col_and_col2im_match_reference(fast_backend, case):
    x, *_ = make_arrays(case)
    khw = (case["KH"], case["KW"])
    cols = conv.im2col_ref(x, khw, *geom(case))
    assert cols.shape == (case["N"], case["C"] * case["KH"] * case["KW"], case["OH"] * case["OW"])
    got = conv.IM2COL[fast_backend](to_device(x, fast_backend), khw, *geom(case))
    assert_close(got, cols, case["dtype"], f"im2col {case}")
    c = np.random.default_rng(case["seed"] + 1).standard_normal(cols.shape).astype(case["dtype"])
    want = conv.col2im_ref(c, x.shape, khw, *geom(case))
    got = conv.COL2IM[fast_backend](to_device(c, fast_backend), x.shape, khw, *geom(case))
    assert_close(got, want, case["dtype"], f"col2im {case}")


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((2, 3, 4), (2, 4, 5)),          # batched
    ((2, 1, 3, 4), (5, 4, 2)),       # broadcast batch dims
    ((3, 4), (6, 4, 2)),             # 2-D against a batch
    ((4,), (2, 4, 3)),               # 1-D left operand
    ((2, 3, 4), (4,)),               # 1-D right operand
    ((7,), (7,)),                    # inner product
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_matmul_matches_numpy(fast_backend, a_shape, b_shape, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
    want = np.matmul(a, b)
    # the einsum reference is itself checked against np.matmul here
    assert_close(gemm.matmul_ref(a, b), want, dtype, "matmul_ref")
    for name in (["numba", "blas"] if fast_backend == "numba" else [fast_backend]):
        got = gemm.MATMUL[name](to_device(a, fast_backend), to_device(b, fast_backend))
        assert_close(np.asarray(to_host(got)), want, dtype, f"matmul[{name}] {a_shape} @ {b_shape}")


@pytest.mark.parametrize("n_threads_used", [1, 2, 3])
@pytest.mark.parametrize("a_shape,b_shape,a_transposed", [((7, 5), (5, 3), False), ((9, 4), (4, 6), True),
                                                         ((6, 1), (1, 8), False), ((2, 3), (3, 5), False)])
def test_matmul_blas_split_over_threads_equals_numpy(n_threads, monkeypatch, n_threads_used,
                                                     a_shape, b_shape, a_transposed):
    """The CPU default cuts a's rows into one band per thread (SPLIT_FLOPS = 1: even these
    small products), reads a transposed a in place, and does K = 1 as a multiply."""
    monkeypatch.setattr(gemm, "SPLIT_FLOPS", 1)
    n_threads(n_threads_used)
    rng = np.random.default_rng(6)
    a = rng.standard_normal(a_shape[::-1]).T if a_transposed else rng.standard_normal(a_shape)
    b = rng.standard_normal(b_shape)
    np.testing.assert_allclose(gemm.matmul_blas(a, b), np.matmul(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay,decoupled", [(0.0, False), (0.1, False), (0.1, True)])
@pytest.mark.parametrize("n_threads_used", [1, 2])
def test_adam_update_matches_reference(fast_backend, n_threads, monkeypatch, dtype, weight_decay,
                                       decoupled, n_threads_used):
    """Serial and split over threads (GRAIN = 1: 105 numbers in two parts)."""
    monkeypatch.setattr(adam, "GRAIN", 1)
    n_threads(n_threads_used)
    rng = np.random.default_rng(1)
    shape = (3, 5, 7)
    ref = [rng.standard_normal(shape).astype(dtype), np.zeros(shape, dtype), np.zeros(shape, dtype)]
    fast = [to_device(a.copy(), fast_backend) for a in ref]
    grad_seen = []
    for step in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        g_before = g.copy()
        adam.adam_update_ref(ref[0], g, ref[1], ref[2], step, 1e-2, 0.5, 0.999, 1e-8,
                                 weight_decay, decoupled)
        gd = to_device(g, fast_backend)
        adam.ADAM_UPDATE[fast_backend](fast[0], gd, fast[1], fast[2], step, 1e-2, 0.5, 0.999, 1e-8,
                                      weight_decay, decoupled)
        grad_seen.append(np.array_equal(to_host(gd), g_before) and np.array_equal(g, g_before))
    for got, want, name in zip(fast, ref, ["param", "exp_avg", "exp_avg_sq"]):
        assert_close(got, want, dtype, f"adam {name}")
    assert all(grad_seen), "adam_update must not modify grad"


# --- the reference against independent oracles ----------------------------------------

@pytest.mark.parametrize("stride,padding,dilation,with_bias", [
    ((1, 1), (0, 0), (1, 1), False),
    ((2, 1), (1, 2), (1, 1), True),
    ((2, 2), (1, 1), (2, 1), True),
    ((3, 2), (3, 0), (1, 2), False),
])
def test_conv2d_reference_equals_direct_loops(stride, padding, dilation, with_bias):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)
    b = b if with_bias else None
    np.testing.assert_allclose(conv.conv2d_ref(x, w, b, stride, padding, dilation),
                               conv2d_loops(x, w, b, stride, padding, dilation), rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=25)
@given(case=conv_cases())
def test_reference_gradients_are_adjoints_of_conv2d(case):
    """<conv2d(x, w), gy> = <x, grad_input(gy, w)> = <w, grad_weight(x, gy)>, and
    <im2col(x), c> = <x, col2im(c)>, all in float64."""
    case = dict(case, dtype=np.float64)
    x, w, _, gy = make_arrays(case)
    g = geom(case)
    lhs = np.vdot(conv.conv2d_ref(x, w, None, *g), gy)
    gx = conv.conv2d_grad_input_ref(gy, w, (case["H"], case["W"]), *g)
    gw = conv.conv2d_grad_weight_ref(x, gy, (case["KH"], case["KW"]), *g)
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(np.vdot(x, gx), lhs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.vdot(w, gw), lhs, rtol=1e-10, atol=1e-10)
    cols = conv.im2col_ref(x, (case["KH"], case["KW"]), *g)
    c = np.random.default_rng(case["seed"] + 7).standard_normal(cols.shape)
    back = conv.col2im_ref(c, x.shape, (case["KH"], case["KW"]), *g)
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-10, atol=1e-10)


def test_reference_gradients_match_finite_differences():
    """Central differences of L = <conv2d(x, w), gy> (float64) against both gradients."""
    rng = np.random.default_rng(3)
    g = ((2, 1), (1, 0), (1, 2))
    x, w, gy = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 2, 3)), None
    y = conv.conv2d_ref(x, w, None, *g)
    gy = rng.standard_normal(y.shape)
    loss = lambda x_, w_: np.vdot(conv.conv2d_ref(x_, w_, None, *g), gy)  # noqa: E731
    eps = 1e-6
    for arr, analytic in [(x, conv.conv2d_grad_input_ref(gy, w, (5, 6), *g)),
                          (w, conv.conv2d_grad_weight_ref(x, gy, (2, 3), *g))]:
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(x, w)
            arr[idx] = old - eps
            down = loss(x, w)
            arr[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_grad_input_with_output_padding_shape():
    """input_hw one larger than the minimum (ConvTranspose2d output_padding=1)."""
    rng = np.random.default_rng(4)
    w, gy = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((1, 3, 4, 4))
    g = ((2, 2), (1, 1), (1, 1))
    gx = kernels.conv2d_grad_input(gy, w, (8, 8), *g)        # minimum would be 7x7
    assert gx.shape == (1, 2, 8, 8)
    x = rng.standard_normal(gx.shape)
    np.testing.assert_allclose(np.vdot(gx, x), np.vdot(gy, conv.conv2d_ref(x, w, None, *g)), rtol=1e-10)


def test_conv_transpose_weight_grad_is_grad_weight_with_roles_swapped():
    """For y = conv_transpose2d(x, w_t) = conv2d_grad_input(x, w_t): dL/dw_t = conv2d_grad_weight(gy, x)."""
    rng = np.random.default_rng(5)
    g = ((2, 2), (1, 1), (1, 1))
    x, wt = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((3, 2, 4, 4))   # (Cin, Cout, K, K)
    y = kernels.conv2d_grad_input(x, wt, (8, 8), *g)                              # (2, 2, 8, 8)
    gy = rng.standard_normal(y.shape)
    gwt = kernels.conv2d_grad_weight(gy, x, (4, 4), *g)
    gx = kernels.conv2d(gy, wt, None, *g)
    assert gwt.shape == wt.shape and gx.shape == x.shape
    eps, loss = 1e-6, lambda x_, w_: np.vdot(kernels.conv2d_grad_input(x_, w_, (8, 8), *g), gy)  # noqa: E731
    for arr, analytic in [(wt, gwt), (x, gx)]:
        for idx in [(0, 0, 0, 0), (1, 1, 2, 3), (1, 0, 3, 1)]:
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(x, wt)
            arr[idx] = old - eps
            down = loss(x, wt)
            arr[idx] = old
            np.testing.assert_allclose(analytic[idx], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_adam_reference_matches_pytorch_formula():
    """Two steps of Adam and AdamW by hand, in float64, against the reference."""
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.99, 1e-8, 0.5
    for decoupled in (False, True):
        p, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
        pe, me, ve = p.copy(), m.copy(), v.copy()
        for step, grad in [(1, np.array([0.3, -0.1])), (2, np.array([-0.2, 0.4]))]:
            adam.adam_update_ref(p, grad, m, v, step, lr, b1, b2, eps, wd, decoupled)
            g = grad if decoupled else grad + wd * pe
            if decoupled:
                pe = pe * (1 - lr * wd)
            me = b1 * me + (1 - b1) * g
            ve = b2 * ve + (1 - b2) * g * g
            mhat, vhat = me / (1 - b1 ** step), ve / (1 - b2 ** step)
            pe = pe - lr * mhat / (np.sqrt(vhat) + eps)
            np.testing.assert_allclose(p, pe, rtol=1e-12)
            np.testing.assert_allclose(m, me, rtol=1e-12)
            np.testing.assert_allclose(v, ve, rtol=1e-12)


# --- dispatch --------------------------------------------------------------------------

def test_available_lists_backends():
    av = kernels.available()
    assert av["numpy"] is True
    assert av["numba"] == (importlib.util.find_spec("numba") is not None)
    assert isinstance(av["cupy"], bool)
    if importlib.util.find_spec("cupy") is None:
        assert av["cupy"] is False


@pytest.mark.parametrize("name", sorted(kernels.REGISTRY))
def test_registry_has_every_backend(name):
    table = kernels.REGISTRY[name]
    assert {"numpy", "cupy"} <= set(table)
    assert kernels.CPU_DEFAULT[name] in table


def test_set_backend_numpy_routes_to_reference(monkeypatch):
    calls = []
    ref = conv.CONV2D["numpy"]
    monkeypatch.setitem(conv.CONV2D, "numpy", lambda *a: calls.append("ref") or ref(*a))
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    old = kernels.get_backend()
    try:
        kernels.set_backend("auto")
        kernels.conv2d(x, w)
        assert calls == [] or kernels.CPU_DEFAULT["conv2d"] == "numpy" or not AVAILABLE["numba"]
        kernels.set_backend("numpy")
        assert kernels.get_backend() == "numpy"
        y = kernels.conv2d(x, w)
        assert calls[-1:] == ["ref"]
        np.testing.assert_allclose(y, np.full((1, 1, 2, 2), 4.0))
    finally:
        kernels.set_backend(old)


def test_kernels_docstring_table_matches_the_registry():
    """The table that opens kernels/__init__.py names the real file and functions."""
    rows = {}
    for line in kernels.__doc__.splitlines():
        cells = [c.strip() for c in line.strip("| ").split("|")]
        if line.startswith("|") and cells[0] not in ("kernel", "") and set(cells[0]) != {"-"}:
            rows[cells[0].split()[0]] = cells[1:]
    assert sorted(rows) == sorted(kernels.REGISTRY)
    for name, (file, ref, numba, cupy, default) in rows.items():
        module = getattr(kernels, file.removesuffix(".py"))
        assert inspect.ismodule(module), f"kernels.{file.removesuffix('.py')} is not the module"
        table = kernels.REGISTRY[name]
        for version, function in (("numpy", ref), ("numba", numba), ("cupy", cupy)):
            assert table[version] is getattr(module, function), f"{name}: {version} is not {function}"
        assert kernels.CPU_DEFAULT[name] == default, name


def test_no_kernel_module_is_shadowed_by_a_function():
    """`kernels.<file>` is the file's module for every kernel file (no function of that name)."""
    for path in Path(kernels.__file__).parent.glob("*.py"):
        if not path.stem.startswith("_"):
            assert inspect.ismodule(getattr(kernels, path.stem)), path.name


def test_set_backend_rejects_unknown_name():
    with pytest.raises(ValueError, match="numpy"):
        kernels.set_backend("cuda")


def test_auto_backend_uses_cpu_default():
    x = np.ones((1, 1, 3, 3))
    old = kernels.get_backend()
    try:
        kernels.set_backend("auto")
        for name in kernels.REGISTRY:
            want = kernels.CPU_DEFAULT[name]
            if want == "numba" and not AVAILABLE["numba"]:
                want = "numpy"
            assert kernels.implementation(name, x) is kernels.REGISTRY[name][want]
    finally:
        kernels.set_backend(old)


def test_env_var_forces_reference_and_import_is_lazy():
    code = (
        "import sys; from minigan import kernels as k; "
        "import numpy as np; "
        "assert 'numba' not in sys.modules, 'numba imported at import time'; "
        "assert 'cupy' not in sys.modules, 'cupy imported at import time'; "
        "print(k.get_backend(), k.implementation('conv2d', np.ones(1)).__name__)"
    )
    env = dict(os.environ, MINIGAN_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numpy", "conv2d_ref"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 3, 4, 5)])
def test_leaky_relu_kernels_match_reference(fast_backend, dtype, slope, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[0] = 0.0                       # the kink itself: both take the slope side
    gy = rng.standard_normal(shape).astype(dtype)
    table, grad_table = kernels.REGISTRY["leaky_relu"], kernels.REGISTRY["leaky_relu_grad"]
    want, want_grad = np.where(x > 0, x, slope * x), np.where(x > 0, gy, slope * gy)
    np.testing.assert_allclose(table["numpy"](x, slope), want, rtol=1e-6)
    np.testing.assert_allclose(grad_table["numpy"](gy, x, slope), want_grad, rtol=1e-6)
    np.testing.assert_array_equal(table[fast_backend](x, slope), table["numpy"](x, slope))
    np.testing.assert_array_equal(grad_table[fast_backend](gy, x, slope), grad_table["numpy"](gy, x, slope))
    assert table[fast_backend](x, slope).dtype == dtype


@pytest.mark.parametrize("x_layout,gy_layout", [("channels_last", "channels_last"),
                                                ("channels_last", "nchw"), ("nchw", "channels_last"),
                                                ("sliced", "nchw"), ("batch_last", "nchw")])
@pytest.mark.parametrize("n_threads_used", [1, 2, 3])
def test_leaky_relu_keeps_x_layout_and_splits_over_threads(n_threads, monkeypatch, x_layout,
                                                           gy_layout, n_threads_used):
    """The fast leaky ReLU and its gradient come out laid out like x (a channels-last x stays
    channels last, whatever gy's layout), for any layout in, split over threads or not."""
    if not AVAILABLE["numba"]:
        pytest.skip("Numba not installed")
    rng = np.random.default_rng(5)
    layouts = {"nchw": lambda a: a, "channels_last": channels_last,
               "sliced": lambda a: np.concatenate([a, a], axis=3)[..., ::2],   # gaps in memory
               "batch_last": lambda a: np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)}
    x = layouts[x_layout](rng.standard_normal((3, 4, 5, 6)))
    gy = layouts[gy_layout](rng.standard_normal((3, 4, 5, 6)))
    monkeypatch.setattr(kernels.activation, "GRAIN", 1)
    n_threads(n_threads_used)
    table, grad_table = kernels.REGISTRY["leaky_relu"], kernels.REGISTRY["leaky_relu_grad"]
    y, gx = table["numba"](x, 0.2), grad_table["numba"](gy, x, 0.2)
    np.testing.assert_array_equal(y, table["numpy"](x, 0.2))
    np.testing.assert_array_equal(gx, grad_table["numpy"](gy, x, 0.2))
    if x_layout in ("channels_last", "batch_last"):
        assert y.strides == x.strides and gx.strides == x.strides


BN_SHAPES = [(64, 8, 7, 7), (5, 3, 1, 1), (2, 4, 7), (6, 5), (4, 1, 3, 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("n_threads_used", [1, 2])
def test_batch_norm_kernels_match_reference(fast_backend, n_threads, dtype, shape, layout,
                                             n_threads_used, monkeypatch):
    """Both fast paths (rows of channels for channels last, runs per channel otherwise),
    serial and split over threads (GRAIN_NUMBERS = 1), against the reference."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(shape[1]).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    fwd, bwd = kernels.REGISTRY["batch_norm_forward"], kernels.REGISTRY["batch_norm_backward"]
    ref = fwd["numpy"](x, w, b, 1e-5)
    # the reference against the definition
    axes = (0,) + tuple(range(2, len(shape)))
    bc = (1, -1) + (1,) * (len(shape) - 2)
    mean, var = x.mean(axes), x.var(axes)
    np.testing.assert_allclose(ref[0], (x - mean.reshape(bc)) / np.sqrt(var.reshape(bc) + 1e-5)
                               * w.reshape(bc) + b.reshape(bc), rtol=1e-4, atol=1e-5)
    xs, gys = (x, gy) if layout == "nchw" or len(shape) < 4 else (channels_last(x), channels_last(gy))
    monkeypatch.setattr(kernels.batchnorm, "GRAIN_NUMBERS", 1)
    n_threads(n_threads_used)
    got = fwd[fast_backend](to_device(xs, fast_backend), to_device(w, fast_backend),
                            to_device(b, fast_backend), 1e-5)
    for g, want, what in zip(got, ref, ["y", "mean", "var", "inv"]):
        assert g.dtype == dtype
        assert_close(g, want, dtype, f"batch_norm_forward {what}")
    if fast_backend == "numba":
        assert got[0].strides == xs.strides, "y keeps x's memory layout"
    ref_b = bwd["numpy"](gy, x, ref[1], ref[3], w)
    got_b = bwd[fast_backend](to_device(gys, fast_backend), to_device(xs, fast_backend),
                              to_device(ref[1], fast_backend), to_device(ref[3], fast_backend),
                              to_device(w, fast_backend))
    for g, want, what in zip(got_b, ref_b, ["gx", "gweight", "gbias"]):
        assert_close(g, want, dtype, f"batch_norm_backward {what}")


@pytest.mark.parametrize("offset", [1e3, -3e4])
def test_batch_norm_statistics_keep_their_digits_far_from_zero(fast_backend, n_threads, offset):
    """The one-pass statistics (sums about a shift) on channels far from zero, against the
    two-pass mean and variance of the same float32 numbers in float64."""
    rng = np.random.default_rng(8)
    x = (offset + rng.standard_normal((64, 8, 7, 7)) * np.arange(1, 9)[None, :, None, None])
    x = channels_last(x.astype(np.float32))
    x64 = x.astype(np.float64)
    n_threads(2)
    _, mean, var, _ = kernels.REGISTRY["batch_norm_forward"][fast_backend](
        to_device(x, fast_backend), np.ones(8, np.float32), np.zeros(8, np.float32), 1e-5)
    np.testing.assert_allclose(to_host(mean), x64.mean((0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(to_host(var), x64.var((0, 2, 3)), rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("n_threads_used", [1, 2])
def test_channel_sums_match_reference(fast_backend, n_threads, monkeypatch, dtype, shape, layout,
                                      n_threads_used):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    table = kernels.REGISTRY["channel_sums"]
    want = table["numpy"](x)
    np.testing.assert_allclose(want, x.sum(axis=(0,) + tuple(range(2, len(shape)))), rtol=1e-6)
    xs = channels_last(x) if layout == "channels_last" and len(shape) == 4 else x
    monkeypatch.setattr(kernels.batchnorm, "GRAIN_NUMBERS", 1)
    n_threads(n_threads_used)
    got = table[fast_backend](to_device(xs, fast_backend))
    assert got.dtype == dtype
    assert_close(got, want, dtype, f"channel_sums {shape} {layout}")


def test_batch_norm_reference_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal(2), rng.standard_normal(2)
    gy = rng.standard_normal((3, 2, 4))
    bn = kernels.REGISTRY["batch_norm_forward"]["numpy"]
    _, mean, _, inv = bn(x, w, b, 1e-5)
    gx, gw, gb = kernels.REGISTRY["batch_norm_backward"]["numpy"](gy, x, mean, inv, w)
    h = 1e-6
    for arr, grad in ((x, gx), (w, gw), (b, gb)):
        numeric = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + h
            plus = (bn(x, w, b, 1e-5)[0] * gy).sum()
            arr[i] = old - h
            minus = (bn(x, w, b, 1e-5)[0] * gy).sum()
            arr[i] = old
            numeric[i] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_freed_memory_is_kept_unless_opted_out():
    """kernels/memory.py: glibc keeps freed memory after import; MINIGAN_MALLOC=system
    leaves the allocator alone. Checked in fresh processes by page faults: a step-like
    pattern (36 MB of arrays alive at once, then freed, five times) reuses its pages when
    they are kept, and gets fresh ones from the OS with glibc's defaults."""
    code = (
        "import resource, numpy as np; from minigan import kernels\n"
        "sizes = [k * 2**18 for k in range(1, 9)]\n"
        "def one_pass():\n"
        "    alive = [np.ones(s, np.float32) for s in sizes]\n"
        "one_pass(); one_pass()\n"
        "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(5): one_pass()\n"
        "print(kernels.memory.STATE, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)"
    )
    results = {}
    for setting in ("", "system"):
        env = dict(os.environ, MINIGAN_MALLOC=setting)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        state, faults = out.stdout.split()
        results[setting] = (state, int(faults))
    if results[""][0] == "unavailable":
        pytest.skip("not glibc: no mallopt")
    assert results[""][0] == "kept" and results["system"][0] == "system"
    assert results[""][1] < 100, results                  # pages reused: (almost) no faults
    assert results["system"][1] > 2000, results           # glibc's defaults: fresh pages (8 MB+)


# --- the thread pool (kernels/threads.py) ------------------------------------------------

@pytest.fixture
def n_threads():
    """set_num_threads(n) inside a test, restored after it."""
    before = threads.get_num_threads()
    yield threads.set_num_threads
    threads.set_num_threads(before)


@pytest.mark.parametrize("n,grain,count", [(10, 1, 3), (2, 1, 3), (10, 4, 3), (7, 1, 2), (0, 1, 2)])
def test_parallel_range_covers_the_range_once_in_contiguous_parts(n_threads, n, grain, count):
    import threading
    if threads.blas_control()["libraries"] == []:
        pytest.skip("no BLAS thread control here: the kernels stay serial")
    n_threads(count)
    parts = []
    threads.parallel_range(lambda a, b: parts.append((a, b, threading.get_ident())), n, grain)
    spans = sorted(p[:2] for p in parts)
    assert [i for a, b in spans for i in range(a, b)] == list(range(n))
    expected_parts = max(0, min(count, n // grain)) if n else 0
    assert len(parts) == max(expected_parts, 1 if n else 0)
    assert all(b - a >= grain for a, b in spans if len(spans) > 1)
    assert len({p[2] for p in parts}) == len(parts)          # one thread per part


def test_parallel_range_inside_a_region_runs_serially_and_errors_reach_the_caller(n_threads):
    import threading
    n_threads(2)
    inner = []

    def outer(a, b):
        threads.parallel_range(lambda c, d: inner.append((c, d, threading.get_ident())), 4)
    threads.parallel_range(outer, 2)
    # each outer part ran the whole inner range itself, in its own thread
    assert sorted(p[:2] for p in inner) == [(0, 4)] * len(inner) and len(inner) in (1, 2)

    def fails(a, b):
        if a > 0 or b == 1:
            raise ZeroDivisionError("part failed")
    with pytest.raises(ZeroDivisionError, match="part failed"):
        threads.parallel_range(fails, 2)
    threads.parallel_range(lambda a, b: inner.append("after"), 2)   # the pool still works
    assert "after" in inner


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected an int >= 1"):
        threads.set_num_threads(bad)


def test_blas_runs_one_thread_inside_the_pool_and_gets_its_threads_back(n_threads):
    """Never two pools at once: with minigan's threads, numpy's OpenBLAS is set to one
    thread; set_num_threads(1) gives it back the threads it had."""
    control = threads.blas_control()
    if not control["libraries"]:
        pytest.skip("no OpenBLAS whose threads can be set in this process")
    get = control["libraries"][0][0]
    n_threads(1)
    own = get()
    n_threads(2)
    assert get() == 1
    n_threads(1)
    assert get() == own


def test_minigan_num_threads_variable_is_read_and_checked():
    code = "from minigan.kernels import threads; print(threads.get_num_threads())"
    for value, expected in (("1", "1"), ("abc", "MINIGAN_NUM_THREADS: expected a whole number")):
        env = dict(os.environ, MINIGAN_NUM_THREADS=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert expected in out.stdout + out.stderr, out
