"""conv2d and its two gradients (NCHW, float32 or float64; output dtype = input dtype).

    conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)) -> y
        x (N, C, H, W), w (O, C, KH, KW), bias (O,) or None, y (N, O, OH, OW)
        y[n, o, oh, ow] = bias[o] + sum_{c,i,j} w[o, c, i, j] * xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]
        OH = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1  (cross-correlation, like PyTorch)
    conv2d_grad_input(gy, w, input_hw, stride, padding, dilation) -> gx (N, C, H, W)
        d<y, gy>/dx; this is conv_transpose2d's forward without bias. input_hw = (H, W)
        picks the output size, which is how the caller expresses output_padding.
    conv2d_grad_weight(x, gy, kernel_hw, stride, padding, dilation) -> gw (O, C, KH, KW)
        d<y, gy>/dw.

conv_transpose2d in terms of these (w_t of shape (Cin, Cout, KH, KW)):
    forward      y  = conv2d_grad_input(x, w_t, out_hw, ...)   (+ bias)
    input grad   gx = conv2d(gy, w_t, None, ...)
    weight grad  gw = conv2d_grad_weight(gy, x, kernel_hw, ...)   (the roles of x and gy swap)

The fast versions are im2col + one big GEMM over the whole batch, so BLAS sees a single
(N*OH*OW, KH*KW*C) @ (KH*KW*C, O) product instead of N small ones.
"""
import numpy as np

from ._jit import cupy, lazy_njit
from .im2col import (col2im_cupy, col2im_numba, col2im_rows_numba, im2col_cupy, im2col_numba,
                     im2col_rows_numba, out_size, scratch)


def _taps(KH, KW, OH, OW, stride, dilation):
    """For each kernel tap (i, j): the strided slice of the padded input it reads."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(KH):
        for j in range(KW):
            yield i, j, (slice(None), slice(None),
                         slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


# --- NumPy reference -------------------------------------------------------------------
# One einsum per kernel tap: readable, obviously the formula above, and no im2col.

def conv2d_ref(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    (ph, pw) = padding
    OH = out_size(H, KH, stride[0], ph, dilation[0])
    OW = out_size(W, KW, stride[1], pw, dilation[1])
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))           # (N, C, H+2ph, W+2pw)
    y = np.zeros((N, O, OH, OW), dtype=x.dtype)
    for i, j, window in _taps(KH, KW, OH, OW, stride, dilation):
        y += np.einsum("nchw,oc->nohw", xpad[window], w[:, :, i, j])  # (N, O, OH, OW)
    if bias is not None:
        y += bias.reshape(1, O, 1, 1)
    return y


def conv2d_grad_input_ref(gy, w, input_hw, stride, padding, dilation):
    N, O, OH, OW = gy.shape
    _, C, KH, KW = w.shape
    H, W = input_hw
    (ph, pw) = padding
    assert OH == out_size(H, KH, stride[0], ph, dilation[0]), "gy height does not match input_hw"
    assert OW == out_size(W, KW, stride[1], pw, dilation[1]), "gy width does not match input_hw"
    gxpad = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=gy.dtype)
    for i, j, window in _taps(KH, KW, OH, OW, stride, dilation):
        # each tap read xpad[window] in the forward, so its gradient lands back there
        gxpad[window] += np.einsum("nohw,oc->nchw", gy, w[:, :, i, j])
    return gxpad[:, :, ph: ph + H, pw: pw + W].copy()                # (N, C, H, W)


def conv2d_grad_weight_ref(x, gy, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    _, O, OH, OW = gy.shape
    KH, KW = kernel_hw
    (ph, pw) = padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gw = np.empty((O, C, KH, KW), dtype=x.dtype)
    for i, j, window in _taps(KH, KW, OH, OW, stride, dilation):
        gw[:, :, i, j] = np.einsum("nohw,nchw->oc", gy, xpad[window])
    return gw


# --- CPU: Numba ---
# Numba does the memory shuffles, BLAS does the arithmetic in one GEMM per call:
#   forward      rows (N*OH*OW, KH*KW*C) @ w_rows (KH*KW*C, O)   -> y (N*OH*OW, O)
#   grad_input   gy_rows (N*OH*OW, O) @ w_rows.T (O, KH*KW*C)    -> rows, then col2im
#   grad_weight  rows.T (KH*KW*C, N*OH*OW) @ gy_rows (N*OH*OW, O) -> (KH*KW*C, O)
# Channels go last (NHWC) inside, so im2col copies runs of C contiguous numbers
# (im2col.py); the only NCHW <-> NHWC moves are of x / gx and of y / gy, each ~16x
# smaller than the columns.

@lazy_njit()
def _swap12(src, bias, out):
    """out[n, i, j] = src[n, j, i] + bias[i]  (an empty bias means no bias)."""
    N, I, J = out.shape
    has_bias = bias.shape[0] > 0
    for n in range(N):
        for i in range(I):
            add = bias[i] if has_bias else 0.0
            for j in range(J):
                out[n, i, j] = src[n, j, i] + add


def _swap_last_two(t, bias=None, out=None):
    """(N, A, B) -> (N, B, A), optionally adding bias[b]; one pass."""
    N, A, B = t.shape
    out = np.empty((N, B, A), dtype=t.dtype) if out is None else out
    b = np.empty(0, dtype=t.dtype) if bias is None else np.ascontiguousarray(bias, dtype=t.dtype)
    _swap12(t, b, out)
    return out


def _gy_rows(gy):
    """gy (N, O, OH, OW) -> (N*OH*OW, O) in a scratch buffer."""
    N, O, OH, OW = gy.shape
    out = scratch("gy_rows", (N, OH * OW, O), gy.dtype)
    _swap_last_two(np.ascontiguousarray(gy).reshape(N, O, OH * OW), None, out)  # (N, OH*OW, O)
    return out.reshape(N * OH * OW, O)


# Few input channels (C = 1: the image layer, and the last ConvTranspose2d's grad_input):
# NHWC runs of C = 1 number are no better than a gather, and the NCHW <-> NHWC moves
# cost more than they save. There the columns stay batch-major, (N, C*KH*KW, OH*OW), and
# one batched matmul, w (O, C*KH*KW) @ cols[n], writes y straight into NCHW: no layout
# pass at all. The GEMMs are small (K = 16), so BLAS runs each on one thread.
# Measured for C = 1, k 4, s 2, batch 64 (ms, forward / weight-grad / input-grad):
# 0.39 / 0.46 / 0.39 this way, against 0.58 / 0.72 / 0.59 for one big GEMM plus a
# (O, N) -> (N, O) transpose.
SMALL_C = 4


def _conv2d_small_c(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    cols = im2col_numba(x, (KH, KW), stride, padding, dilation)       # (N, C*KH*KW, OH*OW)
    y = np.matmul(w.reshape(O, C * KH * KW), cols)                     # (N, O, OH*OW)
    if bias is not None:
        y += bias.reshape(1, O, 1).astype(y.dtype, copy=False)
    return y.reshape(N, O, OH, OW)


def _grad_input_small_c(gy, w, input_hw, stride, padding, dilation):
    N, O, OH, OW = gy.shape
    _, C, KH, KW = w.shape
    cols = np.matmul(w.reshape(O, C * KH * KW).T,                      # (C*KH*KW, O)
                     np.ascontiguousarray(gy).reshape(N, O, OH * OW))  # -> (N, C*KH*KW, OH*OW)
    return col2im_numba(cols, (N, C, *input_hw), (KH, KW), stride, padding, dilation)


def _grad_weight_small_c(x, gy, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    _, O, OH, OW = gy.shape
    KH, KW = kernel_hw
    cols = im2col_numba(x, kernel_hw, stride, padding, dilation)       # (N, C*KH*KW, OH*OW)
    # NOTE: the transpose is a free view; BLAS reads it transposed, no copy is made.
    per_image = np.matmul(np.ascontiguousarray(gy).reshape(N, O, OH * OW),
                          cols.transpose(0, 2, 1))                     # (N, O, C*KH*KW)
    return per_image.sum(0).reshape(O, C, KH, KW)


def conv2d_numba(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    if C < SMALL_C:
        return _conv2d_small_c(x, w, bias, stride, padding, dilation)
    rows = im2col_rows_numba(x, (KH, KW), stride, padding, dilation)   # (N*OH*OW, KH*KW*C)
    w_rows = w.transpose(2, 3, 1, 0).reshape(KH * KW * C, O)           # (KH*KW*C, O), small copy
    y = scratch("y_rows", (N * OH * OW, O), x.dtype)
    np.matmul(rows, w_rows, out=y)                                     # (N*OH*OW, O)
    out = _swap_last_two(y.reshape(N, OH * OW, O), bias)               # (N, O, OH*OW)
    return out.reshape(N, O, OH, OW)


def conv2d_grad_input_numba(gy, w, input_hw, stride, padding, dilation):
    N, O, OH, OW = gy.shape
    _, C, KH, KW = w.shape
    H, W = input_hw
    assert OH == out_size(H, KH, stride[0], padding[0], dilation[0]), "gy height does not match input_hw"
    assert OW == out_size(W, KW, stride[1], padding[1], dilation[1]), "gy width does not match input_hw"
    if C < SMALL_C:
        return _grad_input_small_c(gy, w, input_hw, stride, padding, dilation)
    w_rows = w.transpose(0, 2, 3, 1).reshape(O, KH * KW * C)           # (O, KH*KW*C), small copy
    rows = scratch("rows_gi", (N * OH * OW, KH * KW * C), gy.dtype)
    np.matmul(_gy_rows(gy), w_rows, out=rows)                          # (N*OH*OW, KH*KW*C)
    return col2im_rows_numba(rows, (N, C, H, W), (KH, KW), stride, padding, dilation)


def conv2d_grad_weight_numba(x, gy, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    O = gy.shape[1]
    KH, KW = kernel_hw
    if C < SMALL_C:
        return _grad_weight_small_c(x, gy, kernel_hw, stride, padding, dilation)
    rows = im2col_rows_numba(x, kernel_hw, stride, padding, dilation)  # (N*OH*OW, KH*KW*C)
    # NOTE: rows.T is a free view; BLAS reads it transposed, no copy is made.
    gw = rows.T @ _gy_rows(gy)                                         # (KH*KW*C, O)
    return np.ascontiguousarray(gw.reshape(KH, KW, C, O).transpose(3, 2, 0, 1))  # (O, C, KH, KW)


# --- GPU: CuPy ---
# Same plan: RawKernel im2col/col2im (im2col.cu) around one cuBLAS GEMM.

def conv2d_cupy(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    cp = cupy()
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    OH = out_size(H, KH, stride[0], padding[0], dilation[0])
    OW = out_size(W, KW, stride[1], padding[1], dilation[1])
    cols = im2col_cupy(x, (KH, KW), stride, padding, dilation, batch_major=False)
    y = w.reshape(O, C * KH * KW) @ cols                               # (O, N*OH*OW)
    y = y.reshape(O, N, OH * OW).transpose(1, 0, 2)                    # (N, O, OH*OW) view
    if bias is not None:
        y = y + bias.reshape(1, O, 1)
    return cp.ascontiguousarray(y).reshape(N, O, OH, OW)


def conv2d_grad_input_cupy(gy, w, input_hw, stride, padding, dilation):
    cp = cupy()
    N, O, OH, OW = gy.shape
    _, C, KH, KW = w.shape
    gy_t = cp.ascontiguousarray(gy.reshape(N, O, OH * OW).transpose(1, 0, 2))  # (O, N, OH*OW)
    cols = w.reshape(O, C * KH * KW).T @ gy_t.reshape(O, N * OH * OW)  # (C*KH*KW, N*OH*OW)
    return col2im_cupy(cols, (N, C, *input_hw), (KH, KW), stride, padding, dilation,
                       batch_major=False)


def conv2d_grad_weight_cupy(x, gy, kernel_hw, stride, padding, dilation):
    cp = cupy()
    N, C, H, W = x.shape
    _, O, OH, OW = gy.shape
    KH, KW = kernel_hw
    cols = im2col_cupy(x, kernel_hw, stride, padding, dilation, batch_major=False)
    gy_t = cp.ascontiguousarray(gy.reshape(N, O, OH * OW).transpose(1, 0, 2))  # (O, N, OH*OW)
    gw = gy_t.reshape(O, N * OH * OW) @ cols.T                         # (O, C*KH*KW)
    return gw.reshape(O, C, KH, KW)


CONV2D = {"numpy": conv2d_ref, "numba": conv2d_numba, "cupy": conv2d_cupy}
CONV2D_GRAD_INPUT = {"numpy": conv2d_grad_input_ref, "numba": conv2d_grad_input_numba,
                     "cupy": conv2d_grad_input_cupy}
CONV2D_GRAD_WEIGHT = {"numpy": conv2d_grad_weight_ref, "numba": conv2d_grad_weight_numba,
                      "cupy": conv2d_grad_weight_cupy}
