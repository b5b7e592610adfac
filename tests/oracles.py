"""Oracles shared by the tests: the slow, obviously-correct versions that fast code and
hand-written backwards are checked against."""
import numpy as np

import minigan as mg


def float64_input(shape_or_values, rng=None, positive=False, requires_grad=True):
    """A float64 leaf tensor, the input a gradient check wants (checks run in float64).

        float64_input((2, 3), rng)                  standard normal samples from `rng`
        float64_input((2, 3), rng, positive=True)   |samples| + 0.5: for log, sqrt, a divisor
        float64_input(array)                        these values
    """
    if rng is None:
        if positive:
            raise ValueError("float64_input: positive=True draws samples, so it needs an rng")
        values = np.asarray(shape_or_values, dtype=np.float64)
    else:
        values = rng.standard_normal(shape_or_values)
        if positive:
            values = np.abs(values) + 0.5
    return mg.tensor(values, dtype=mg.float64, requires_grad=requires_grad)



# --- convolution by loops (the definition, one multiply-add at a time; tiny cases only) ---
def conv2d_loops(x, w, b, stride, padding, dilation):
    """y[n, o, oh, ow] = b[o] + sum over c, i, j of x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
    * w[o, c, i, j], taps outside the image counting as 0. Pairs for stride, padding, dilation."""
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH, OW = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1, (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    y = np.zeros((N, O, OH, OW))
    for n in range(N):
        for o in range(O):
            for oh in range(OH):
                for ow in range(OW):
                    s = 0.0 if b is None else b[o]
                    for c in range(C):
                        for i in range(KH):
                            for j in range(KW):
                                h, v = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                                if 0 <= h < H and 0 <= v < W:
                                    s += x[n, c, h, v] * w[o, c, i, j]
                    y[n, o, oh, ow] = s
    return y


def conv_transpose2d_loops(x, w, stride, padding, output_padding, dilation):
    """Each input pixel scatters a weighted copy of the kernel into the output (no bias).
    w is (C_in, C_out, KH, KW); stride, padding, output_padding, dilation are ints."""
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    OH = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1
    OW = (W - 1) * stride - 2 * padding + dilation * (KW - 1) + output_padding + 1
    full = np.zeros((N, Co, OH + 2 * padding, OW + 2 * padding))
    for n in range(N):
        for c in range(Ci):
            for i in range(H):
                for j in range(W):
                    for kh in range(KH):
                        for kw in range(KW):
                            full[n, :, i * stride + kh * dilation, j * stride + kw * dilation] += \
                                x[n, c, i, j] * w[c, :, kh, kw]
    return full[:, :, padding:padding + OH, padding:padding + OW]
