"""Exercise: the weight gradient of a 2-D convolution (reference solution).

    y[n, o, i, j] = sum_{c, k, l} x_padded[n, c, i*s + k, j*s + l] * w[o, c, k, l]
    dL/dw[o, c, k, l] = sum_{n, i, j} dL/dy[n, o, i, j] * x_padded[n, c, i*s + k, j*s + l]

Each weight touched one input value per output position, in every image of the batch:
its gradient adds grad_y times that input value over all of them. `F.unfold` lays the
patches out as columns, which turns the sum into one matrix product.

Check it with:  minigan exercise check conv2d_weight_grad --file lessons/exercises/solutions/conv2d_weight_grad.py
"""
import numpy as np

import minigan as mg
import minigan.nn.functional as F


class Conv2d(mg.Function):
    def forward(self, x, w, stride=1, padding=0):     # x: (N, C, H, W), w: (O, C, KH, KW)
        self.stride, self.padding = stride, padding
        KH, KW = w.shape[2:]
        p = padding
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
        windows = windows[:, :, ::stride, ::stride]     # (N, C, OH, OW, KH, KW)
        return np.einsum("ncijkl,ockl->noij", windows, w)   # (N, O, OH, OW)

    def backward(self, grad_y):                         # grad_y: (N, O, OH, OW)
        x, w = self.inputs
        s, p = self.stride, self.padding
        # Given: the input gradient is a transposed convolution of grad_y with w.
        H, KH = x.shape[2], w.shape[2]
        output_padding = H - ((grad_y.shape[2] - 1) * s - 2 * p + KH)
        grad_x = F.conv_transpose2d(grad_y, w, stride=s, padding=p, output_padding=output_padding)

        # The exercise: the weight gradient.
        N, O = grad_y.shape[:2]
        cols = F.unfold(x, w.shape[2:], padding=p, stride=s)   # (N, C*KH*KW, L), L = OH*OW
        gy = grad_y.reshape(N, O, -1)                          # (N, O, L)
        grad_w = (gy @ cols.mT).sum(0)                         # (N, O, C*KH*KW) -> (O, C*KH*KW)
        grad_w = grad_w.reshape(w.shape)                       # (O, C, KH, KW)
        return grad_x, grad_w


def conv2d(x, w, stride=1, padding=0):
    return Conv2d.apply(x, w, stride=stride, padding=padding)
