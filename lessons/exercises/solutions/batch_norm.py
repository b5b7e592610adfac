"""Exercise: the backward of batch normalisation in training mode (reference solution).

    mu = mean(x),  var = mean((x - mu)^2)      per channel, over the batch (and pixels)
    x_hat = (x - mu) / sqrt(var + eps),   y = gamma * x_hat + beta

x enters y three ways: directly, through mu and through var. With m values per channel
and g = dL/dy:
    dL/dx     = gamma / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))
    dL/dgamma = sum(g * x_hat),   dL/dbeta = sum(g)

Written with Tensor ops on the inputs (recomputing x_hat), the backward is differentiable
again: the gradient penalty of a critic with batch norm needs exactly that.

Check it with:  minigan exercise check batch_norm --file lessons/exercises/solutions/batch_norm.py
"""
import numpy as np

import minigan as mg

EPS = 1e-5


def channel_dims(ndim):
    """The dims a channel's statistics run over: the batch and any pixels, (0, 2, 3, ...)."""
    return (0,) + tuple(range(2, ndim))


class BatchNorm(mg.Function):
    def forward(self, x, gamma, beta):         # x: (N, C) or (N, C, H, W); gamma, beta: (C,)
        dims = channel_dims(x.ndim)
        shape = (1, -1) + (1,) * (x.ndim - 2)  # (1, C, 1, 1): broadcasts over N and pixels
        mu = x.mean(axis=dims, keepdims=True)
        var = x.var(axis=dims, keepdims=True)  # biased (divide by m), as in training
        x_hat = (x - mu) / np.sqrt(var + EPS)
        return gamma.reshape(shape) * x_hat + beta.reshape(shape)

    def backward(self, grad_y):
        x, gamma, beta = self.inputs
        dims = channel_dims(x.ndim)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        # Recompute the statistics with Tensor ops, so this backward has a backward too.
        mu = x.mean(dim=dims, keepdim=True)
        inv_std = 1 / ((x - mu) ** 2).mean(dim=dims, keepdim=True).add(EPS).sqrt()
        x_hat = (x - mu) * inv_std
        g = grad_y
        grad_x = gamma.reshape(shape) * inv_std * (
            g - g.mean(dim=dims, keepdim=True)                          # the path through mu
            - x_hat * (g * x_hat).mean(dim=dims, keepdim=True))         # the path through var
        grad_gamma = (g * x_hat).sum(dim=dims)                          # (C,)
        grad_beta = g.sum(dim=dims)                                     # (C,)
        return grad_x, grad_gamma, grad_beta


def batch_norm(x, gamma, beta):
    return BatchNorm.apply(x, gamma, beta)
