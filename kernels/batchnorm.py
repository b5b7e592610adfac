"""Fused batch normalisation (training mode): statistics, normalisation and affine in two
passes over memory (three for channels first, where each channel's numbers stay in cache),
and the gradient in two.

    batch_norm_forward(x, weight, bias, eps) -> (y, mean, var, inv)
        x (N, C, *rest) (rest may be empty: BatchNorm1d's (N, C)), weight and bias (C,);
        statistics per channel over N and rest: mean, var (biased), inv = 1 / sqrt(var + eps),
        all (C,); y = (x - mean) * inv * weight + bias, shaped like x.
    batch_norm_backward(gy, x, mean, inv, weight) -> (gx, gweight, gbias)
        with xhat = (x - mean) * inv: gweight = sum(gy * xhat), gbias = sum(gy) over N and
        rest, and gx = weight * inv * (gy - mean(gy) - xhat * mean(gy * xhat)).

    channel_sums(x) -> (C,)
        sums over every axis but 1 of x (N, C, *rest): batch norm's bias gradient, and a
        convolution's (nn/conv_functional.py), split over the threads like the rest.

Why fused: written with whole-array NumPy operations these take ~6 and ~8 passes over the
activations, and batch norm runs five times per DCGAN step on its largest arrays. xhat is
not kept: the backward recomputes it from x as it goes (two flops a number), which saves a
pass of writes and an array the size of x per layer.

Layout: the fast version keeps x's (y and gx come out laid out like x). Channels last
(conv.py's outputs; also (N, C)) is read as rows of C channels, every pass walking memory
in order; channels first as one run of N x rest numbers per channel. Both split over the
threads of threads.py: rows between threads (each sums its own, the sums are added), or
channels between threads.
"""
import numpy as np

from . import threads
from ._dispatch import implementation, register
from ._jit import lazy_njit
from .layout import channel_rows, same_layout


# --- NumPy reference (also what CuPy arrays run: written with the array's own module) ---

def _xp(a):
    return np if isinstance(a, np.ndarray) else __import__("cupy")


def _stat_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x):
    """(C,) -> broadcastable against x (N, C, *rest)."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_norm_forward_ref(x, weight, bias, eps):
    xp = _xp(x)
    axes = _stat_axes(x)
    mean = x.mean(axis=axes)                                     # (C,)
    centred = x - _per_channel(mean, x)
    var = (centred * centred).mean(axis=axes)
    inv = 1 / xp.sqrt(var + x.dtype.type(eps))
    y = centred * _per_channel(inv * weight, x) + _per_channel(bias, x)
    return y, mean, var, inv


def batch_norm_backward_ref(gy, x, mean, inv, weight):
    axes = _stat_axes(gy)
    m = gy.size // gy.shape[1]
    xhat = (x - _per_channel(mean, x)) * _per_channel(inv, x)
    gbias = gy.sum(axis=axes)
    gweight = (gy * xhat).sum(axis=axes)
    gx = _per_channel(weight * inv, x) * (gy - _per_channel(gbias / m, x)
                                         - xhat * _per_channel(gweight / m, x))
    return gx, gweight, gbias


def channel_sums_ref(x):
    return x.sum(axis=_stat_axes(x))


# --- CPU: Numba ---
# NOTE: a single running sum `s += x[i]` is a chain of dependent adds the compiler may not
# reorder (fastmath is off), so it runs at one add per few cycles. Summing into one
# accumulator per position (acc[c] += x[m, c] over rows, or acc[l] += x[n, c, l] over one
# channel's runs) makes the inner loop independent adds, which vectorise. Sums are float64.

# Channels last: x is (M, C) rows; each part of the rows sums into its own row of `sums`.

@lazy_njit()
def _rows_sums(a, a_shift, b, b_shift, b_scale, start, stop, out):
    """Two per-channel sums over rows start:stop in one pass over memory:
    out[0, c] = sum of d, out[1, c] = sum of d * (b[m, c] - b_shift[c]) * b_scale[c],
    with d = a[m, c] - a_shift[c]. The forward's statistics are (x, shift, x, shift, 1);
    the backward's sums of gy and gy * xhat are (gy, 0, x, mean, inv)."""
    C = a.shape[1]
    for c in range(C):
        out[0, c] = 0.0
        out[1, c] = 0.0
    for m in range(start, stop):
        for c in range(C):
            d = a[m, c] - a_shift[c]
            out[0, c] += d
            out[1, c] += d * (b[m, c] - b_shift[c]) * b_scale[c]


@lazy_njit()
def _rows_normalize(x, start, stop, mean, scale, shift, y):
    """y[m, c] = (x[m, c] - mean[c]) * scale[c] + shift[c] for m in start:stop."""
    C = x.shape[1]
    for m in range(start, stop):
        for c in range(C):
            y[m, c] = (x[m, c] - mean[c]) * scale[c] + shift[c]


@lazy_njit()
def _rows_grad_input(gy, x, start, stop, mean, inv, k, mean_g, mean_gx, gx):
    """gx = k * (gy - mean(gy) - xhat * mean(gy * xhat)), per channel, rows start:stop."""
    C = x.shape[1]
    for m in range(start, stop):
        for c in range(C):
            xhat = (x[m, c] - mean[c]) * inv[c]
            gx[m, c] = k[c] * (gy[m, c] - mean_g[c] - xhat * mean_gx[c])


# Channels first: x is (N, C, L); a part is a range of channels, done whole.

@lazy_njit()
def _channels_forward(x, c0, c1, weight, bias, eps, y, mean, var, inv):
    N, C, L = x.shape
    m = N * L
    acc = np.zeros(L)                           # float64 partial sums, one per position
    for c in range(c0, c1):
        acc[:] = 0.0
        for n in range(N):
            for l in range(L):
                acc[l] += x[n, c, l]
        mu = acc.sum() / m
        acc[:] = 0.0
        for n in range(N):
            for l in range(L):
                d = x[n, c, l] - mu
                acc[l] += d * d
        v = acc.sum() / m
        iv = 1.0 / np.sqrt(v + eps)
        scale, shift = iv * weight[c], bias[c]
        for n in range(N):
            for l in range(L):
                y[n, c, l] = (x[n, c, l] - mu) * scale + shift
        mean[c], var[c], inv[c] = mu, v, iv


@lazy_njit()
def _channels_backward(gy, x, c0, c1, mean, inv, weight, gx, gweight, gbias):
    N, C, L = gy.shape
    m = N * L
    acc_g, acc_gx = np.zeros(L), np.zeros(L)
    for c in range(c0, c1):
        acc_g[:] = 0.0
        acc_gx[:] = 0.0
        mu, iv = mean[c], inv[c]
        for n in range(N):
            for l in range(L):
                g = gy[n, c, l]
                acc_g[l] += g
                acc_gx[l] += g * (x[n, c, l] - mu) * iv
        sg, sgx = acc_g.sum(), acc_gx.sum()
        gbias[c], gweight[c] = sg, sgx
        k = weight[c] * iv
        mg, mgx = sg / m, sgx / m
        for n in range(N):
            for l in range(L):
                gx[n, c, l] = k * (gy[n, c, l] - mg - (x[n, c, l] - mu) * iv * mgx)


@lazy_njit()
def _channels_sums(x, c0, c1, out):
    """out[c] = sum of x[:, c, :] for channels c0:c1 of x (N, C, L)."""
    N, C, L = x.shape
    acc = np.zeros(L)
    for c in range(c0, c1):
        acc[:] = 0.0
        for n in range(N):
            for l in range(L):
                acc[l] += x[n, c, l]
        out[c] = acc.sum()


# Rows per thread (times C numbers) below which a pass is not split over threads.
GRAIN_NUMBERS = 1 << 16


def _rows_sums_total(a, a_shift, b, b_shift, b_scale, grain):
    """_rows_sums over all rows, split over the threads: (2, C) float64."""
    parts = {}

    def part(start, stop):
        out = np.empty((2, a.shape[1]))
        _rows_sums(a, a_shift, b, b_shift, b_scale, start, stop, out)
        parts[start] = out
    threads.parallel_range(part, a.shape[0], grain)
    return sum(parts.values())


def batch_norm_forward_numba(x, weight, bias, eps):
    C = x.shape[1]
    dtype = x.dtype
    weight = np.ascontiguousarray(weight, dtype=dtype)
    bias = np.ascontiguousarray(bias, dtype=dtype)
    rows = channel_rows(x)
    if rows is not None:                                   # channels last: (M, C) rows
        M = rows.shape[0]
        grain = max(1, GRAIN_NUMBERS // max(C, 1))
        # One pass for both statistics, about a shift: the first row, a sample of each
        # channel, so d = x - shift stays near the mean's scale and E[d^2] - E[d]^2 keeps
        # its digits (float64 sums; no cancellation unless the first row is many standard
        # deviations from the mean).
        shift = rows[0].astype(np.float64)
        sums = _rows_sums_total(rows, shift, rows, shift, np.ones(C), grain) / M   # (2, C)
        mean = shift + sums[0]
        var = np.maximum(sums[1] - sums[0] * sums[0], 0.0)
        inv = 1.0 / np.sqrt(var + eps)
        y = np.empty_like(x)                               # x's layout
        y_rows = channel_rows(y)
        scale, shift = (inv * weight).astype(dtype), bias
        mean_x = mean.astype(dtype)
        threads.parallel_range(lambda a, b: _rows_normalize(rows, a, b, mean_x, scale, shift, y_rows),
                               M, grain)
        return y, mean_x, var.astype(dtype), inv.astype(dtype)
    x3 = np.ascontiguousarray(x).reshape(x.shape[0], C, -1)           # (N, C, L)
    y = np.empty_like(x3)
    mean, var, inv = (np.empty(C, dtype=dtype) for _ in range(3))
    grain = max(1, GRAIN_NUMBERS // max(1, x3.shape[0] * x3.shape[2]))
    threads.parallel_range(lambda a, b: _channels_forward(x3, a, b, weight, bias, float(eps),
                                                          y, mean, var, inv), C, grain)
    return y.reshape(x.shape), mean, var, inv


def batch_norm_backward_numba(gy, x, mean, inv, weight):
    C = x.shape[1]
    dtype = gy.dtype
    weight = np.ascontiguousarray(weight, dtype=dtype)
    rows = channel_rows(x)
    if rows is not None:                                   # channels last, like x
        gy = same_layout(gy, x)
        gy_rows = channel_rows(gy)
        M = rows.shape[0]
        grain = max(1, GRAIN_NUMBERS // max(C, 1))
        gbias, gweight = _rows_sums_total(gy_rows, np.zeros(C), rows, mean, inv, grain)
        k = (weight * inv).astype(dtype)
        mean_g, mean_gx = (gbias / M).astype(dtype), (gweight / M).astype(dtype)
        gx = np.empty_like(x, dtype=dtype)
        gx_rows = channel_rows(gx)
        threads.parallel_range(lambda a, b: _rows_grad_input(gy_rows, rows, a, b, mean, inv, k,
                                                             mean_g, mean_gx, gx_rows), M, grain)
        return gx, gweight.astype(dtype), gbias.astype(dtype)
    x3 = np.ascontiguousarray(x).reshape(x.shape[0], C, -1)
    gy3 = np.ascontiguousarray(gy).reshape(x3.shape)
    gx = np.empty_like(gy3)
    gweight, gbias = np.empty(C, dtype=dtype), np.empty(C, dtype=dtype)
    grain = max(1, GRAIN_NUMBERS // max(1, x3.shape[0] * x3.shape[2]))
    threads.parallel_range(lambda a, b: _channels_backward(gy3, x3, a, b, mean, inv, weight,
                                                           gx, gweight, gbias), C, grain)
    return gx.reshape(x.shape), gweight, gbias


def channel_sums_numba(x):
    C = x.shape[1]
    rows = channel_rows(x)
    if rows is not None:                                   # channels last: (M, C) rows
        zeros = np.zeros(C)
        sums = _rows_sums_total(rows, zeros, rows, zeros, zeros, max(1, GRAIN_NUMBERS // max(C, 1)))
        return sums[0].astype(x.dtype)
    x3 = np.ascontiguousarray(x).reshape(x.shape[0], C, -1)
    out = np.empty(C)
    threads.parallel_range(lambda a, b: _channels_sums(x3, a, b, out), C,
                           max(1, GRAIN_NUMBERS // max(1, x3.shape[0] * x3.shape[2])))
    return out.astype(x.dtype)


BATCH_NORM_FORWARD = {"numpy": batch_norm_forward_ref, "numba": batch_norm_forward_numba,
                      "cupy": batch_norm_forward_ref}
BATCH_NORM_BACKWARD = {"numpy": batch_norm_backward_ref, "numba": batch_norm_backward_numba,
                       "cupy": batch_norm_backward_ref}


# --- dispatch (kernels/_dispatch.py) ---
# Numba, measured: two passes each, 0.60 / 0.95 ms vs 2.1 / 2.0 ms for the NumPy reference
# on (64, 64, 196) float32. CuPy arrays run the reference (written with the array's module).
CHANNEL_SUMS = {"numpy": channel_sums_ref, "numba": channel_sums_numba, "cupy": channel_sums_ref}
register("batch_norm_forward", BATCH_NORM_FORWARD, cpu_default="numba")
register("batch_norm_backward", BATCH_NORM_BACKWARD, cpu_default="numba")
register("channel_sums", CHANNEL_SUMS, cpu_default="numba")


def batch_norm_forward(x, weight, bias, eps):
    """Training-mode batch norm of x (N, C, *rest): (y, mean, var, inv)."""
    return implementation("batch_norm_forward", x)(x, weight, bias, eps)


def batch_norm_backward(gy, x, mean, inv, weight):
    """Gradient of batch_norm_forward's y: (gx, gweight, gbias)."""
    return implementation("batch_norm_backward", gy)(gy, x, mean, inv, weight)


def channel_sums(x):
    """Sums of x (N, C, *rest) over every axis but 1: (C,)."""
    return implementation("channel_sums", x)(x)
