"""Matrix multiplication: 1-D, 2-D and batched (with broadcast batch dimensions)."""
from .._device import array_module
from ..function import Function
from ..tensor import Tensor
from .elementwise import Mul, as_tensor_like, result_type

__all__ = ["matmul"]


class MatMul(Function):
    """a @ b for a, b of at least 2 dims; the engine sums broadcast batch dims back."""

    def forward(self, a, b):
        return array_module(a).matmul(a, b)

    saved_inputs = Mul.saved_inputs  # as for a product: a's gradient reads b; b's reads a

    def backward(self, gy):
        a, b = self.inputs
        ga = gy @ b.mT if self.needs_input_grad[0] else None   # (..., n, m) @ (..., m, k)
        gb = a.mT @ gy if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied ({k_a} != {k_b})")
    dtype = result_type(a, b)
    a, b = as_tensor_like(a, a, dtype), as_tensor_like(b, a, dtype)
    # 1-D operands become matrices for the product, and the added dim is removed after.
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    try:
        out = MatMul.apply(a2, b2)
    except ValueError:
        raise ValueError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} cannot "
                         "be broadcast together") from None
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-2 if b.ndim > 1 else -1)
    return out
