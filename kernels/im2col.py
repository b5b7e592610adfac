"""im2col / col2im: turn a convolution into one matrix product.

Contract (NCHW, float32 or float64, output dtype = input dtype):

    im2col(x, kernel_hw, stride, padding, dilation) -> cols (N, C*KH*KW, OH*OW)
        cols[n, (c*KH + i)*KW + j, oh*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]
        where xpad is x with `padding` zeros on each side.
    col2im(cols, input_shape, kernel_hw, stride, padding, dilation) -> (N, C, H, W)
        the adjoint of im2col: every column entry is added back to the pixel it was
        copied from (overlapping windows sum), entries that came from padding are dropped.

    OH = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1   (same for OW)

With cols in hand, conv2d is `w.reshape(O, C*KH*KW) @ cols`, one small GEMM per image:
conv.py does exactly that when C is small. For many channels it uses the "rows" layout
below instead (channels last, one big GEMM over the whole batch).
"""
import threading

import numpy as np

from ._jit import cupy, lazy_njit, prange


def out_size(size, k, s, p, d):
    """Output length of a convolution along one axis."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# --- NumPy reference -------------------------------------------------------------------

def im2col_ref(x, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    KH, KW = kernel_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH, OW = out_size(H, KH, sh, ph, dh), out_size(W, KW, sw, pw, dw)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))           # (N, C, H+2ph, W+2pw)
    cols = np.empty((N, C, KH, KW, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            # every output pixel's (i, j) tap: a strided slice of the padded image
            cols[:, :, i, j] = xpad[:, :, i * dh: i * dh + sh * (OH - 1) + 1: sh,
                                    j * dw: j * dw + sw * (OW - 1) + 1: sw]
    return cols.reshape(N, C * KH * KW, OH * OW)                     # (N, C*KH*KW, OH*OW)


def col2im_ref(cols, input_shape, kernel_hw, stride, padding, dilation):
    N, C, H, W = input_shape
    KH, KW = kernel_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH, OW = out_size(H, KH, sh, ph, dh), out_size(W, KW, sw, pw, dw)
    cols = cols.reshape(N, C, KH, KW, OH, OW)
    xpad = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(KH):
        for j in range(KW):
            # NOTE: `+=` on a strided slice is safe here: within one (i, j) the slice
            # touches each pixel at most once; overlaps come from different (i, j).
            xpad[:, :, i * dh: i * dh + sh * (OH - 1) + 1: sh,
                 j * dw: j * dw + sw * (OW - 1) + 1: sw] += cols[:, :, i, j]
    return xpad[:, :, ph: ph + H, pw: pw + W].copy()                 # (N, C, H, W)


# --- CPU: Numba ---
# One loop nest each way, over 6-D columns (N, C, KH, KW, OH, OW).
# The loop runs over (n, c) planes: each plane is written by one iteration only, so col2im
# needs no atomics. The range of `ow` whose input column is inside the image is worked
# out once per tap, which keeps the bounds tests out of the innermost loop.
# NOTE: these are serial on purpose (parallel=PARALLEL_SHUFFLES). They run right before
# or after a multi-threaded BLAS GEMM; on 2 cores, OpenBLAS's worker threads are still
# spinning when a Numba parallel region starts, and the two thread pools then fight for
# the cores: measured 8-25 ms per conv instead of 1-9 ms (bench_kernels, 2-core VM).
PARALLEL_SHUFFLES = False


@lazy_njit(parallel=PARALLEL_SHUFFLES)
def _im2col_loops(x, out, sh, sw, ph, pw, dh, dw):
    N, C, H, W = x.shape
    KH, KW, OH, OW = out.shape[2:]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for j in range(KW):
            # input column of output column ow is ow*sw + off; keep 0 <= it < W
            off = j * dw - pw
            ow_lo = min(OW, max(0, (-off + sw - 1) // sw))
            ow_hi = max(ow_lo, min(OW, (W - 1 - off) // sw + 1))
            for i in range(KH):
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= H:
                        for ow in range(OW):
                            out[n, c, i, j, oh, ow] = 0.0
                        continue
                    for ow in range(ow_lo):
                        out[n, c, i, j, oh, ow] = 0.0
                    for ow in range(ow_lo, ow_hi):
                        out[n, c, i, j, oh, ow] = x[n, c, h, ow * sw + off]
                    for ow in range(ow_hi, OW):
                        out[n, c, i, j, oh, ow] = 0.0


@lazy_njit(parallel=PARALLEL_SHUFFLES)
def _col2im_loops(cols, out, sh, sw, ph, pw, dh, dw):
    N, C, H, W = out.shape
    KH, KW, OH, OW = cols.shape[2:]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for h in range(H):
            for w in range(W):
                out[n, c, h, w] = 0.0
        for j in range(KW):
            off = j * dw - pw
            ow_lo = min(OW, max(0, (-off + sw - 1) // sw))
            ow_hi = max(ow_lo, min(OW, (W - 1 - off) // sw + 1))
            for i in range(KH):
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= H:
                        continue
                    for ow in range(ow_lo, ow_hi):
                        out[n, c, h, ow * sw + off] += cols[n, c, i, j, oh, ow]


# NHWC "rows" layout for conv.py. With channels last, the C values of one input pixel
# are contiguous, so one (output pixel, tap) of im2col is a copy of C contiguous numbers,
# not a strided gather: about 10x faster than the NCHW loops above for C = 64 (measured
# 0.35 ms vs 3.8-4.9 ms for x (64, 64, 14, 14), k 4, stride 2).
# The NCHW <-> NHWC move is done one image at a time into a small padded (Hp, Wp, C)
# buffer that stays in cache: measured 0.80 ms vs 1.04 ms for im2col (x as above) and
# 0.86 ms vs 1.43 ms for col2im, against moving the whole batch through a padded NHWC copy.

@lazy_njit()
def _im2col_rows_loops(x, rows, sh, sw, ph, pw, dh, dw):
    """x (N, C, H, W) -> rows (N, OH, OW, KH, KW, C), via one padded NHWC image at a time."""
    N, C, H, W = x.shape
    _, OH, OW, KH, KW, _ = rows.shape
    image = np.zeros((H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)   # borders stay 0
    for n in range(N):
        for h in range(H):                     # NCHW -> padded HWC, one image
            for w in range(W):
                for c in range(C):
                    image[h + ph, w + pw, c] = x[n, c, h, w]
        for oh in range(OH):
            for ow in range(OW):
                for i in range(KH):
                    h = oh * sh + i * dh
                    for j in range(KW):
                        w = ow * sw + j * dw
                        for c in range(C):
                            rows[n, oh, ow, i, j, c] = image[h, w, c]


@lazy_njit()
def _col2im_rows_loops(rows, gx, sh, sw, ph, pw, dh, dw):
    """Adjoint: add every row entry back where it came from, one padded image at a time,
    then crop the padding and write gx (N, C, H, W)."""
    N, C, H, W = gx.shape
    _, OH, OW, KH, KW, _ = rows.shape
    image = np.empty((H + 2 * ph, W + 2 * pw, C), dtype=gx.dtype)
    for n in range(N):
        image[...] = 0.0
        for oh in range(OH):
            for ow in range(OW):
                for i in range(KH):
                    h = oh * sh + i * dh
                    for j in range(KW):
                        w = ow * sw + j * dw
                        for c in range(C):
                            image[h, w, c] += rows[n, oh, ow, i, j, c]
        for h in range(H):                     # padded HWC -> NCHW, cropped
            for w in range(W):
                for c in range(C):
                    gx[n, c, h, w] = image[h + ph, w + pw, c]


_scratch = {}


def scratch(name, shape, dtype):
    """A reusable buffer for intermediates that never leave a kernel.

    NOTE: a fresh 10 MB np.empty costs ~1 ms of page faults on every call (the OS hands
    out new zero pages); reusing the buffer skips that. Keyed by thread, so two threads
    never share one; only the latest shape per name is kept.
    """
    key = (name, threading.get_ident())
    buf = _scratch.get(key)
    if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
        buf = _scratch[key] = np.empty(shape, dtype=dtype)
    return buf


def im2col_rows_numba(x, kernel_hw, stride, padding, dilation):
    """x (N, C, H, W) -> rows (N*OH*OW, KH*KW*C), a scratch buffer (copy it to keep it)."""
    N, C, H, W = x.shape
    KH, KW = kernel_hw
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    rows = scratch("rows", (N, OH, OW, KH, KW, C), x.dtype)
    _im2col_rows_loops(np.ascontiguousarray(x), rows, *stride, *padding, *dilation)
    return rows.reshape(N * OH * OW, KH * KW * C)                        # (N*OH*OW, KH*KW*C)


def col2im_rows_numba(rows, input_shape, kernel_hw, stride, padding, dilation):
    """Adjoint of im2col_rows_numba: rows (N*OH*OW, KH*KW*C) -> (N, C, H, W), a new array."""
    N, C, H, W = input_shape
    KH, KW = kernel_hw
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    gx = np.empty((N, C, H, W), dtype=rows.dtype)
    _col2im_rows_loops(rows.reshape(N, OH, OW, KH, KW, C), gx, *stride, *padding, *dilation)
    return gx


def im2col_numba(x, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    KH, KW = kernel_hw
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    buf = np.empty((N, C, KH, KW, OH, OW), dtype=x.dtype)
    _im2col_loops(np.ascontiguousarray(x), buf, *stride, *padding, *dilation)
    return buf.reshape(N, C * KH * KW, OH * OW)                      # (N, C*KH*KW, OH*OW)


def col2im_numba(cols, input_shape, kernel_hw, stride, padding, dilation):
    N, C, H, W = input_shape
    KH, KW = kernel_hw
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    cols6 = np.ascontiguousarray(cols).reshape(N, C, KH, KW, OH, OW)
    out = np.empty((N, C, H, W), dtype=cols.dtype)
    _col2im_loops(cols6, out, *stride, *padding, *dilation)
    return out


# --- GPU: CuPy ---
# CUDA source lives in im2col.cu (one thread per output element; col2im gathers instead
# of scattering, so there are no atomics and the sum order is fixed).

_CU_FILE = __file__.rsplit(".", 1)[0] + ".cu"
CUDA_SOURCES = {"im2col.cu": {"kind": "file", "path": _CU_FILE,
                              "names": ["im2col_f32", "im2col_f64", "col2im_f32", "col2im_f64"]}}
_kernels = {}


def _cuda_kernel(name, dtype):
    """RawKernel `name_f32` / `name_f64` from im2col.cu, compiled once per process."""
    key = (name, np.dtype(dtype).itemsize)
    if key not in _kernels:
        cp = cupy()
        with open(_CU_FILE) as f:
            src = f.read()
        suffix = "f32" if key[1] == 4 else "f64"
        _kernels[key] = cp.RawKernel(src, f"{name}_{suffix}")
    return _kernels[key]


def _launch(kernel, total, args):
    threads = 256
    blocks = (total + threads - 1) // threads
    if total > 0:
        kernel((blocks,), (threads,), args)


def _geometry(input_shape, kernel_hw, stride, padding, dilation):
    N, C, H, W = input_shape
    KH, KW = kernel_hw
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    ints = tuple(np.int32(v) for v in (N, C, H, W, KH, KW, OH, OW, *stride, *padding, *dilation))
    return OH, OW, ints


def im2col_cupy(x, kernel_hw, stride, padding, dilation, batch_major=True):
    """batch_major=True: (N, C*KH*KW, OH*OW); False: (C*KH*KW, N*OH*OW) for conv.py."""
    cp = cupy()
    x = cp.ascontiguousarray(x)
    N, C = x.shape[:2]
    OH, OW, ints = _geometry(x.shape, kernel_hw, stride, padding, dilation)
    K = C * kernel_hw[0] * kernel_hw[1]
    shape = (N, K, OH * OW) if batch_major else (K, N * OH * OW)
    out = cp.empty(shape, dtype=x.dtype)
    _launch(_cuda_kernel("im2col", x.dtype), out.size,
            (x, out, *ints, np.int32(batch_major), np.int64(out.size)))
    return out


def col2im_cupy(cols, input_shape, kernel_hw, stride, padding, dilation, batch_major=True):
    cp = cupy()
    cols = cp.ascontiguousarray(cols)
    OH, OW, ints = _geometry(input_shape, kernel_hw, stride, padding, dilation)
    out = cp.empty(tuple(input_shape), dtype=cols.dtype)
    _launch(_cuda_kernel("col2im", cols.dtype), out.size,
            (cols, out, *ints, np.int32(batch_major), np.int64(out.size)))
    return out


IM2COL = {"numpy": im2col_ref, "numba": im2col_numba, "cupy": im2col_cupy}
COL2IM = {"numpy": col2im_ref, "numba": col2im_numba, "cupy": col2im_cupy}
