"""Exercise: the backward of binary cross-entropy on logits (reference solution).

    loss(x, t) = -(t log s(x) + (1 - t) log(1 - s(x))) = softplus(x) - t x
    d loss / dx = s(x) - t,       d loss / dt = -x

The GAN discriminator's loss: x is D's logit, t the label (soft labels make t a number in
[0, 1], so its gradient is checked too).

Check it with:  minigan exercise check bce_with_logits --file lessons/exercises/solutions/bce_with_logits.py
"""
import numpy as np

import minigan as mg


class BCEWithLogits(mg.Function):
    """Elementwise loss (no reduction): x and t have the same shape."""

    def forward(self, x, t):
        # softplus(x) = max(x, 0) + log1p(exp(-|x|)): stable for logits of any size.
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))) - x * t

    def backward(self, grad_y):
        x, t = self.inputs
        grad_x = grad_y * (mg.sigmoid(x) - t)     # softplus' = sigmoid
        grad_t = grad_y * -x
        return grad_x, grad_t


def bce_with_logits(x, t):
    return BCEWithLogits.apply(x, t)
