"""Exercise 4: the weight gradient of a 2-D convolution.

    y[n, o, i, j] = sum_{c, k, l} x_padded[n, c, i*s + k, j*s + l] * w[o, c, k, l]

Your task: in `Conv2d.backward`, compute grad_w = dL/dw, shaped like w (O, C, KH, KW).
The input gradient is given.

Think of one weight w[o, c, k, l]: at every output position (i, j) of every image n it
multiplied one input value. `F.unfold(x, (KH, KW), padding=p, stride=s)` lays those input
values out as columns: (N, C*KH*KW, L) with L = OH*OW positions, in the same order as
w.reshape(O, C*KH*KW) and grad_y.reshape(N, O, L).

Check it with:  minigan exercise check conv2d_weight_grad
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

        # TODO: the weight gradient, grad_w, shaped like w.
        raise NotImplementedError(
            "write the weight gradient, then: minigan exercise check conv2d_weight_grad")
        # ... and finish with:  return grad_x, grad_w


def conv2d(x, w, stride=1, padding=0):
    return Conv2d.apply(x, w, stride=stride, padding=padding)
