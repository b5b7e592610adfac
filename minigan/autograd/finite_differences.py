"""Finite-difference gradient checks: the oracle every backward in minigan is tested against.

For f: R^n -> R^m, the Jacobian J[k, j] = d f_k / d x_j is measured two ways:
  numerical   (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)      central differences
  analytical  row k = the gradient autograd gives for grad_output = e_k
and the two must agree within atol + rtol * |numerical|, in float64.
`gradgradcheck` applies the same test to the function x, v -> (d f / d x)^T v, which checks
the double backward (the gradient of a gradient, as WGAN-GP needs).
"""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor
from .engine import grad   # one way: the engine knows nothing of the checks

__all__ = ["gradcheck", "gradgradcheck", "jacobians", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by gradcheck with a report of where analytical and numerical gradients differ."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _fn_name(fn):
    owner = getattr(fn, "__self__", None)          # e.g. MyFunction.apply
    if isinstance(owner, type):
        return f"{owner.__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _outputs(fn, inputs):
    outs = _as_tuple(fn(*inputs))
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: {_fn_name(fn)} must return Tensors, got {type(o).__name__}")
    return outs


def _flat_output(fn, inputs):
    """All outputs of fn, flattened and joined, as a float64 NumPy vector.

    NOTE: fn runs with grad mode on: a function that itself differentiates (as in
    gradgradcheck) would otherwise see no graph and return zeros.
    """
    with grad_mode.enable_grad():
        outs = _outputs(fn, inputs)
    return np.concatenate([np.asarray(o.detach()._data, dtype=np.float64).ravel() for o in outs])


def _numerical(fn, inputs, index, eps):
    x = inputs[index]
    # A view: perturbing it perturbs x. NOTE: these raw writes skip x's version counter on
    # purpose: x is gradcheck's own float64 copy, and fn builds a fresh graph from it at
    # every call, so no graph ever holds an older value of x.
    flat = x._data.reshape(-1)
    n_out = _flat_output(fn, inputs).size
    jac = np.zeros((n_out, flat.size))
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = _flat_output(fn, inputs)
        flat[j] = original - eps
        minus = _flat_output(fn, inputs)
        flat[j] = original
        jac[:, j] = (plus - minus) / (2 * eps)
    return jac


def _vjp(fn, inputs, wrt, grad_outputs):
    """Vector-Jacobian products: the gradients of sum(out * g) for each input in `wrt`."""
    outs = _outputs(fn, inputs)
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    result = [np.zeros(inputs[i].shape) for i in wrt]
    if not pairs:
        return result
    grads = grad([o for o, _ in pairs], [inputs[i] for i in wrt],
                 [Tensor._wrap(g.astype(o.dtype)) for o, g in pairs], allow_unused=True)
    for r, g in zip(result, grads):
        if g is not None:
            r[...] = np.asarray(g._data, dtype=np.float64)
    return result


def _analytical(fn, inputs, wrt):
    shapes = [o.shape for o in _outputs(fn, inputs)]
    sizes = [int(np.prod(s)) for s in shapes]
    jacs = [np.zeros((sum(sizes), inputs[i].numel())) for i in wrt]
    row = 0
    for which, (shape, size) in enumerate(zip(shapes, sizes)):
        for k in range(size):
            grad_outputs = [np.zeros(s) for s in shapes]
            grad_outputs[which].reshape(-1)[k] = 1.0
            for jac, g in zip(jacs, _vjp(fn, inputs, wrt, grad_outputs)):
                jac[row] = g.ravel()
            row += 1
    return jacs


def _prepare(inputs):
    """float64 copies of the inputs (floating inputs keep their requires_grad)."""
    prepared = []
    for x in _as_tuple(inputs):
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            # C order: _numerical perturbs the elements through a flat view of the array
            prepared.append(Tensor._wrap(x._data.astype(np.float64, order="C"))
                            .requires_grad_(x.requires_grad))
        else:
            prepared.append(x)
    return tuple(prepared)


def jacobians(fn, inputs, eps=1e-6):
    """(numerical, analytical) Jacobians of fn at `inputs`, one matrix per input that requires
    grad, each of shape (number of output elements, number of input elements)."""
    inputs = _prepare(inputs)
    wrt = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    numerical = [_numerical(fn, inputs, i, eps) for i in wrt]
    return numerical, _analytical(fn, inputs, wrt)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check fn's analytical gradients against central differences, in float64.

    Returns True when they agree; otherwise raises GradcheckError with a report (or returns
    False when raise_exception=False).
    """
    inputs = _prepare(inputs)
    wrt = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad; pass inputs with requires_grad=True")
    numerical = [_numerical(fn, inputs, i, eps) for i in wrt]
    analytical = _analytical(fn, inputs, wrt)
    for index, num, ana in zip(wrt, numerical, analytical):
        error = np.abs(ana - num)
        allowed = atol + rtol * np.abs(num)
        bad = error > allowed
        bad |= ~np.isfinite(ana) & np.isfinite(num)
        if not bad.any():
            continue
        if not raise_exception:
            return False
        raise GradcheckError(_report(fn, inputs, wrt, index, num, ana, bad, error, atol, rtol))
    return True


def _report(fn, inputs, wrt, index, num, ana, bad, error, atol, rtol):
    x = inputs[index]
    k, j = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(error, nan=np.inf), -1)), bad.shape)
    element = [int(i) for i in np.unravel_index(j, x.shape)] if x.ndim else []
    lines = [
        f"gradcheck failed for {_fn_name(fn)}: input {index} "
        f"(shape {tuple(x.shape)}, dtype {x.dtype})",
        f"  worst element: d output[{k}] / d input{element}: analytical {ana[k, j]:.6g}, "
        f"numerical {num[k, j]:.6g} (difference {error[k, j]:.3g})",
        f"  tolerance: atol={atol:g} + rtol={rtol:g} * |numerical|; {int(bad.sum())} of "
        f"{bad.size} Jacobian entries are off",
    ]
    if np.all(ana == 0) and np.any(num != 0):
        lines.append("  hint: the analytical gradient is all zeros: is the backward connected to "
                     "this input (does it return a gradient for it)?")
    elif _ignores_incoming_gradient(fn, inputs, wrt, index):
        lines.append("  hint: doubling grad_output does not double the gradient: the backward "
                     "seems to ignore its incoming gradient (multiply by grad_output)")
    return "\n".join(lines)


def _ignores_incoming_gradient(fn, inputs, wrt, index):
    rng = np.random.default_rng(0)
    shapes = [o.shape for o in _outputs(fn, inputs)]
    v = [rng.standard_normal(s) for s in shapes]
    position = wrt.index(index)
    g1 = _vjp(fn, inputs, wrt, v)[position]
    g2 = _vjp(fn, inputs, wrt, [2 * a for a in v])[position]
    return np.abs(g1).max() > 0 and np.allclose(g1, g2)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """Check second derivatives: gradcheck of (inputs, v) -> autograd.grad(fn(inputs), v)."""
    inputs = _prepare(inputs)
    wrt = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    shapes = [o.shape for o in _outputs(fn, inputs)]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._wrap(rng.standard_normal(s)).requires_grad_() for s in shapes]
    grad_outputs = _prepare(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n], args[n:]
        outs = _outputs(fn, xs)
        used = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        grads = grad([o for o, _ in used], [xs[i] for i in wrt], [v for _, v in used],
                     create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor._wrap(np.zeros(xs[i].shape))
                     for g, i in zip(grads, wrt))

    first_derivative.__qualname__ = f"gradient of {_fn_name(fn)}"
    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
