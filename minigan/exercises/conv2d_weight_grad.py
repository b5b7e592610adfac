"""Exercise 4: the weight gradient of a 2-D convolution."""
import numpy as np

from .checking import Case, Exercise, Known, check_backward

HINTS = (
    "Fix one weight w[o, c, k, l]. In forward it multiplied x_padded[n, c, i*s + k, "
    "j*s + l] at every output position (i, j) of every image n, and each product landed "
    "in y[n, o, i, j].",
    "So dL/dw[o, c, k, l] adds grad_y[n, o, i, j] * x_padded[n, c, i*s + k, j*s + l] over "
    "every image n and every position (i, j): a sum over the whole batch, not a mean.",
    "F.unfold(x, (KH, KW), padding=p, stride=s) gives cols of shape (N, C*KH*KW, L), in the "
    "order of w.reshape(O, C*KH*KW); grad_y.reshape(N, O, L) @ cols.mT is (N, O, C*KH*KW): "
    "add it up over n, then reshape to w.shape.",
)

SOLUTION = """\
dL/dw[o, c, k, l] = sum over n, i, j of grad_y[n, o, i, j] * x_padded[n, c, i*s + k, j*s + l]

        N, O = grad_y.shape[:2]
        cols = F.unfold(x, w.shape[2:], padding=p, stride=s)   # (N, C*KH*KW, L), L = OH*OW
        gy = grad_y.reshape(N, O, -1)                          # (N, O, L)
        grad_w = (gy @ cols.mT).sum(0).reshape(w.shape)        # (O, C*KH*KW) -> (O, C, KH, KW)
        return grad_x, grad_w"""


def check(module):
    rng = np.random.default_rng(3)
    geometries = [((1, 1, 3, 3), (1, 1, 2, 2), 1, 0),      # small enough to check by hand
                  ((2, 2, 5, 5), (3, 2, 3, 3), 1, 1), ((2, 1, 6, 6), (2, 1, 3, 3), 2, 0),
                  ((3, 2, 4, 4), (2, 2, 2, 2), 1, 0)]
    cases = [Case(f"x {sx}, w {sw}, stride={stride}, padding={padding}",
                  [rng.standard_normal(sx), rng.standard_normal(sw)], ["x", "w"], wrt=(1,),
                  params=dict(stride=stride, padding=padding))
             for sx, sw, stride, padding in geometries]
    known = [Known("a weight meets every image of the batch, and its gradient adds up all "
                   "of them: a sum over the batch, not a mean",
                   lambda p: p.expected / p.inputs["x"].shape[0], index=1)]
    small = Case("x (1, 1, 4, 4), w (2, 1, 2, 2), stride=1, padding=1",
                 [rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((2, 1, 2, 2))],
                 ["x", "w"], wrt=(1,), params=dict(stride=1, padding=1))
    return check_backward(module.Conv2d, cases, known, gradgrad_case=small)


EXERCISE = Exercise("conv2d_weight_grad", "weight gradient of conv2d", "Conv2d",
                    "the grad_w part of Conv2d.backward", HINTS, SOLUTION, check)
