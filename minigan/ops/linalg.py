"""Matrix products: matmul (1-D, 2-D and batched, with broadcast batch dimensions), mm, bmm,
and einsum.

As in PyTorch, two floating operands of a product must have the same dtype: float32 @
float64 raises instead of silently promoting (convert one with .to(), .float() or .double()).
NOTE: an integer operand is still converted to the other's floating dtype (PyTorch raises
there too); lesson 04's integer Sobel filter relies on it.
"""
import string

import numpy as np

from .._device import array_module, is_floating
from ..function import Function
from ..tensor import Tensor
from .elementwise import Mul
from .reduce import broadcast_to

__all__ = ["matmul", "mm", "bmm", "einsum"]


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


def _same_dtype(tensors, who):
    """The operands, which must share one dtype: as in PyTorch, a product of float32 and
    float64 (or of an integer and a float) is an error, not a silent conversion."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        names = " and ".join(str(t.dtype) for t in tensors)
        raise RuntimeError(f"{who}: expected all operands to have the same dtype, but got "
                           f"{names}; convert one with .to(), .float() or .double()")
    return list(tensors)


def matmul(a, b):
    if not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected a Tensor, got {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied ({k_a} != {k_b})")
    a, b = _same_dtype((a, b), "matmul")
    if a.device != b.device:
        raise RuntimeError(f"expected all tensors to be on the same device, found {a.device} "
                           f"and {b.device}")
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


def mm(a, b):
    """The product of two matrices, (n, m) @ (m, k) -> (n, k); no broadcasting."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected two matrices (2-D), got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    """Batched matrix products, (B, n, m) @ (B, m, k) -> (B, n, k); no broadcasting."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expected (B, n, m) and (B, m, k) with the same B, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


# --- einsum ---
class Einsum(Function):
    """The contraction `subscripts` -> `output` of the operands (np.einsum).

    The gradient of operand i is the same kind of contraction: the output's gradient with
    every other operand, onto operand i's letters. A letter that only operand i has was
    summed over in forward, so its gradient is the same all along that letter: broadcast.
    Backward calls einsum itself, so it differentiates again (to any order).
    """

    def forward(self, *arrays, subscripts, output):
        self.subscripts, self.out_letters = subscripts, output
        return _np_einsum(array_module(arrays[0]), subscripts, output, arrays)

    def backward(self, gy):
        grads = []
        for i, (x, letters) in enumerate(zip(self.inputs, self.subscripts)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(t, s) for j, (t, s) in enumerate(zip(self.inputs, self.subscripts)) if j != i]
            elsewhere = self.out_letters + "".join(s for _, s in others)
            kept = "".join(c for c in letters if c in elsewhere)
            g = Einsum.apply(gy, *[t for t, _ in others],
                             subscripts=(self.out_letters,) + tuple(s for _, s in others), output=kept)
            # (kept letters) -> operand i's letters, size 1 where a letter was summed out
            # alone; then broadcast (the engine sums back a dim that x broadcast from 1)
            g = g.reshape(tuple(g.shape[kept.index(c)] if c in kept else 1 for c in letters))
            grads.append(broadcast_to(g, tuple(max(s, n) for s, n in zip(g.shape, x.shape))))
        return tuple(grads)


def _np_einsum(xp, subscripts, output, arrays):
    equation = ",".join(subscripts) + "->" + output
    if len(arrays) > 2:                      # the order of pairwise products matters then
        return xp.einsum(equation, *arrays, optimize=True)
    return xp.einsum(equation, *arrays)


def _parse_einsum(equation, ndims):
    """('ij,jk->ik', [2, 2]) -> (('ij', 'jk'), 'ik'): one string of letters per operand and
    the output's, with '...' replaced by capital letters and an implicit output made
    explicit (NumPy's rule: the letters used once, sorted, after the ellipsis dims)."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand(s), "
                         f"but {len(ndims)} tensor(s) were given")
    spare = [c for c in string.ascii_uppercase if c not in equation]
    n_ellipsis = max([n - len(t.replace("...", "")) for t, n in zip(terms, ndims)
                      if "..." in t] or [0])
    ellipsis = "".join(spare[:n_ellipsis])
    subscripts = []
    for i, (term, ndim) in enumerate(zip(terms, ndims)):
        if "..." in term:
            k = ndim - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[n_ellipsis - k:] if k else "")
        if len(term) != ndim or not term.isalpha():
            raise ValueError(f"einsum: operand {i} has {ndim} dims, but its subscripts in "
                             f"{equation!r} name {len(term)}")
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum: a letter repeated within one operand "
                                      f"({term!r}, a diagonal) is not supported")
        subscripts.append(term)
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        used = "".join(subscripts)
        output = ellipsis + "".join(sorted(c for c in set(used) if used.count(c) == 1
                                           and c not in ellipsis))
    unknown = [c for c in output if c not in "".join(subscripts)]
    if unknown or len(set(output)) != len(output):
        raise ValueError(f"einsum: the output subscripts of {equation!r} must be distinct "
                         f"letters that appear in the operands")
    return tuple(subscripts), output


def einsum(equation, *operands):
    """Sums of products named by letters (torch.einsum): 'bi,bi->b' is a row-wise dot
    product, 'bij,bjk->bik' batched matmul, 'i,j->ij' an outer product.

        >>> minigan.einsum("ij,j->i", W, v)          # W @ v
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    operands = _same_dtype(operands, "einsum")
    subscripts, output = _parse_einsum(equation, [t.ndim for t in operands])
    try:
        return Einsum.apply(*operands, subscripts=subscripts, output=output)
    except ValueError as err:
        shapes = ", ".join(str(tuple(t.shape)) for t in operands)
        raise ValueError(f"einsum: {equation!r} does not fit the shapes {shapes}: {err}") from None
