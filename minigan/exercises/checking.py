"""The pieces every exercise check is built from.

A check runs the learner's code on a few small inputs and compares it with an oracle that
does not need the answer: central differences of the forward pass (for a backward), or a
closed form (for a loss or a penalty). When the numbers differ it raises `Mistake`:
  - where: which input, which elements, the expected value against the learner's;
  - what to look at: said only when the numbers match a known mistake (a sign flipped,
    grad_y ignored, a term missing). The graded hints wait for `--hint`.
Then gradcheck (the whole Jacobian) and gradgradcheck (the gradient of the learner's
backward) run as the final oracles.

Names in messages are the exercise's own: `grad_y`, `x`, `self.output`.
"""
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

import minigan as mg
from minigan.autograd import GradcheckError, gradcheck, gradgradcheck

RTOL, ATOL = 1e-4, 1e-6        # learner's gradient against central differences, in float64
SHOWN = 3                      # how many wrong elements a report shows

RAW_ARRAYS = (
    "your first derivative is right, but autograd cannot differentiate it. A backward "
    "written on raw arrays (.numpy(), .detach(), ._data, np.* functions, arrays saved in "
    "forward) hands autograd constants: it sees no path from your gradient back to the "
    "inputs, so the second derivative is lost (lesson 02, section 3). WGAN-GP and R1 train "
    "on exactly that second derivative. Write backward with Tensor operations on grad_y, "
    "self.inputs and self.output")


class Mistake(Exception):
    """A check failed. `lines` say where and show the numbers; `look_at` is a diagnosis,
    given only when the numbers match a known mistake."""

    def __init__(self, lines, look_at=None):
        super().__init__(lines[0])
        self.lines, self.look_at = list(lines), look_at


class NotDone(Exception):
    """The learner's code still raises NotImplementedError (`cause`); `lines` show what it
    must give."""

    def __init__(self, lines=(), cause=None):
        super().__init__("not done")
        self.lines, self.cause = list(lines), cause


@dataclass
class Exercise:
    """One exercise: what the learner writes, how it is checked, and its graded hints."""
    name: str
    title: str
    symbol: str                 # the name the learner's file must define
    writes: str                 # what the learner writes, in the report's words
    hints: tuple                # from a nudge to almost the answer; --hint shows the next one
    solution: str               # the formula and its code; --solution shows it
    check: Callable             # check(module) -> lines that say what passed; raises Mistake


@dataclass
class Known:
    """A plausible wrong answer, recognised by its numbers: `wrong(probe)` computes what that
    mistake gives (for input `index` of a backward; ignored for a scalar)."""
    look_at: str
    wrong: Callable
    index: int = 0


class Probe:
    """One case as plain arrays, for the Known mistakes to compute with: `inputs` by name,
    `grad_y`, `output`, and `expected`, the right gradient of the input being checked."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def tensor64(array, requires_grad=True):
    return mg.tensor(np.asarray(array, dtype=np.float64), dtype=mg.float64,
                     requires_grad=requires_grad)


def show(array):
    """A short one-line picture of an array (rows joined; long arrays cut with ...)."""
    text = np.array2string(np.asarray(array, dtype=np.float64), precision=4, threshold=12,
                           edgeitems=2, separator=", ")
    return " ".join(text.split()).replace("[ ", "[").replace(" ,", ",")


def close(a, b, rtol=RTOL, atol=ATOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol)))


def _index(position):
    return "[" + ", ".join(str(int(i)) for i in position) + "]"


def element_table(name, expected, got, columns=(), rtol=RTOL, atol=ATOL):
    """Lines: how many elements of `got` are off, and the worst few, expected against got.
    `columns`: (label, array) pairs shaped like `expected`, shown beside each element."""
    expected, got = np.asarray(expected, np.float64), np.asarray(got, np.float64)
    error = np.abs(got - expected)
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.argsort(-np.where(bad, error, -1), axis=None)[:min(SHOWN, int(bad.sum()))]
    lines = [f"your {name} is wrong at {int(bad.sum())} of {bad.size} elements:",
             "    " + f"{'element':<10}" + "".join(f"{label:>12}" for label, _ in columns)
             + f"{'expected':>14}{'yours':>14}"]
    for flat in worst:
        at = np.unravel_index(flat, expected.shape) if expected.ndim else ()
        lines.append("    " + f"{_index(at):<10}"
                     + "".join(f"{np.asarray(array)[at]:>12.4g}" for _, array in columns)
                     + f"{expected[at]:>14.6g}{got[at]:>14.6g}")
    return lines


def diagnose(name, expected, got, probe=None, known=(), ignores_grad_y=None):
    """What to look at, when the numbers say: a known mistake, zeros, a sign flip, grad_y
    ignored, a constant factor. None when they say nothing specific."""
    expected, got = np.asarray(expected, np.float64), np.asarray(got, np.float64)
    for mistake in known:
        wrong = mistake.wrong(probe)
        if wrong is not None and close(got, wrong) and not close(wrong, expected):
            return mistake.look_at
    if not np.any(got) and np.any(expected):
        return (f"your {name} is all zeros where it should not be: is it computed from "
                "grad_y and the inputs, and returned?")
    if close(got, -expected):
        return (f"sign error: every element of your {name} has the right size and the "
                "wrong sign")
    if ignores_grad_y is not None and ignores_grad_y():
        return (f"doubling grad_y did not double your {name}: backward must multiply by "
                "grad_y, the gradient that flows in from above (the chain rule)")
    big = np.abs(expected) > 1e-3 * np.abs(expected).max() if expected.size else None
    if big is not None and big.any() and np.all(np.isfinite(got)):
        ratio = got[big] / expected[big]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-3) and not np.isclose(ratio.flat[0], 1):
            return (f"every element of your {name} is {ratio.flat[0]:.4g} times the expected "
                    "one: a constant factor is off (a mean where a sum belongs? a factor "
                    "forgotten?)")
    return None


# --- a Function's backward, checked against its own forward ---
class Case:
    """Inputs for one run of a Function: arrays, their names, which ones are
    differentiated (`wrt`), and plain keyword parameters of forward."""

    def __init__(self, label, inputs, names, wrt=None, params=None):
        self.label, self.names = label, tuple(names)
        self.inputs = tuple(np.asarray(a, dtype=np.float64) for a in inputs)
        self.wrt = tuple(range(len(inputs))) if wrt is None else tuple(wrt)
        self.params = dict(params or {})

    def tensors(self):
        return tuple(tensor64(a, i in self.wrt) for i, a in enumerate(self.inputs))

    def apply(self, function, *tensors):
        return function.apply(*tensors, **self.params)


def numerical_vjp(function, case, index, grad_y, eps=1e-6):
    """dL/d(input `index`) for L = sum(forward(inputs) * grad_y), by central differences."""
    arrays = [a.copy() for a in case.inputs]
    flat = arrays[index].reshape(-1)           # a view: perturbing it perturbs the input
    result = np.zeros(flat.size)
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = np.sum(function().forward(*arrays, **case.params) * grad_y)
        flat[j] = original - eps
        minus = np.sum(function().forward(*arrays, **case.params) * grad_y)
        flat[j] = original
        result[j] = (plus - minus) / (2 * eps)
    return result.reshape(arrays[index].shape)


def _learner_gradients(function, case, grad_y):
    """Call the learner's backward directly (the engine would quietly fix a gradient's
    shape) and return one array per input, after checking types and shapes."""
    tensors = case.tensors()
    y = case.apply(function, *tensors)
    with mg.no_grad():
        grads = y.grad_fn.backward(tensor64(grad_y, requires_grad=False))
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    names = ", ".join(f"dL/d{n}" for n in case.names)
    if len(grads) != len(tensors):
        raise Mistake([f"on {case.label}: backward must return {len(tensors)} gradient(s), one "
                       f"per input ({names}), got {len(grads)}"])
    arrays = []
    for i, (g, t) in enumerate(zip(grads, tensors)):
        name = f"dL/d{case.names[i]}"
        if i not in case.wrt:
            arrays.append(None)
            continue
        if g is None:
            raise Mistake([f"on {case.label}: backward returned None for {name}"],
                          f"{case.names[i]} is an input that requires grad: return its gradient")
        if not isinstance(g, mg.Tensor):
            raise Mistake([f"on {case.label}: {name} is a {type(g).__name__}, not a Tensor"],
                          "write backward with Tensor operations on grad_y, self.inputs and "
                          "self.output, so that it returns Tensors (and stays differentiable)")
        if tuple(g.shape) != tuple(t.shape):
            raise Mistake([f"on {case.label}: {name} has shape {tuple(g.shape)}, but "
                           f"{case.names[i]} has shape {tuple(t.shape)}"],
                          "each gradient has exactly the shape of its input")
        arrays.append(np.asarray(g.detach(), dtype=np.float64))
    return arrays, np.asarray(y.detach(), dtype=np.float64)


def compare_backward(function, case, known=(), rng=None, shape_look_at=None):
    """The learner's backward on one case against central differences of the forward."""
    rng = rng or np.random.default_rng(0)
    with mg.no_grad():
        out_shape = case.apply(function, *case.tensors()).shape
    grad_y = rng.standard_normal(out_shape)
    expected = {i: numerical_vjp(function, case, i, grad_y) for i in case.wrt}
    try:
        got, output = _learner_gradients(function, case, grad_y)
    except NotImplementedError as error:
        raise NotDone([f"on {case.label}, with",
                       *(f"    {n} = {show(a)}" for n, a in zip(case.names, case.inputs)),
                       f"    grad_y = {show(grad_y)}",
                       "  your backward must return",
                       *(f"    dL/d{case.names[i]} = {show(expected[i])}" for i in case.wrt)],
                      error) from None
    except Mistake as mistake:
        if shape_look_at and "has shape" in mistake.lines[0]:
            mistake.look_at = shape_look_at
        raise
    for i in case.wrt:
        if close(got[i], expected[i]):
            continue
        name = f"dL/d{case.names[i]}"
        probe = Probe(inputs=dict(zip(case.names, case.inputs)), grad_y=grad_y, output=output,
                      expected=expected[i], params=case.params)

        def ignores_grad_y(i=i):
            doubled, _ = _learner_gradients(function, case, 2 * grad_y)
            return close(doubled[i], got[i])
        columns = [(case.names[i], case.inputs[i])]
        if grad_y.shape == case.inputs[i].shape:
            columns.append(("grad_y", grad_y))
        raise Mistake([f"on {case.label}, with a random grad_y:",
                       *("  " + line for line in element_table(name, expected[i], got[i],
                                                               columns))],
                      diagnose(name, expected[i], got[i], probe,
                               [k for k in known if k.index == i], ignores_grad_y))


def run_gradcheck(fn, inputs, names, label, look_at=None, second_order=False):
    """gradcheck (or gradgradcheck) in float64; on failure a Mistake with the checker's
    numbers (without its generic hint, which speaks of grad_output) and the input's name."""
    check = gradgradcheck if second_order else gradcheck
    try:
        check(fn, inputs)
    except GradcheckError as error:
        text = [line for line in str(error).splitlines()
                if not line.strip().startswith("hint:")]
        found = re.search(r"input (\d+) \(shape", str(error))
        index = int(found.group(1)) if found else None
        name = names[index] if index is not None and index < len(names) else None
        kind = "gradgradcheck" if second_order else "gradcheck"
        raise Mistake([f"{kind} failed on {label}:", *("  " + line for line in text)]
                      + ([f"  (input {index} is {name})"] if name else []), look_at) from None


def _applied(function, case):
    """function.apply with the case's parameters, named so in gradcheck's report."""
    def apply(*tensors):
        return case.apply(function, *tensors)
    apply.__qualname__ = f"{function.__name__}.apply"
    return apply


def check_backward(function, cases, known=(), gradgrad_case=None, shape_look_at=None, seed=0):
    """Every case against central differences, then gradcheck on each case, then
    gradgradcheck on `gradgrad_case` (default: the first). Returns what passed."""
    rng = np.random.default_rng(seed)
    for case in cases:
        compare_backward(function, case, known, rng, shape_look_at)
    for case in cases:
        run_gradcheck(_applied(function, case), case.tensors(), case.names, case.label)
    case = gradgrad_case or cases[0]
    run_gradcheck(_applied(function, case), case.tensors(), case.names + ("grad_y",),
                  f"{case.label} (the gradient of your backward)", RAW_ARRAYS,
                  second_order=True)
    return [f"your backward matches central differences on {len(cases)} inputs, and "
            "gradcheck agrees over the whole Jacobian",
            f"gradgradcheck passed on {case.label}: your backward is itself differentiable"]


# --- a scalar result (a loss, a penalty) against its closed form ---
def as_scalar(label, got, who):
    """The learner's result as a float, after checking it is a one-element Tensor."""
    if not isinstance(got, mg.Tensor) or got.numel() != 1:
        shape = f" of shape {tuple(got.shape)}" if isinstance(got, mg.Tensor) else ""
        raise Mistake([f"on {label}: {who} must return a scalar Tensor, got "
                       f"{type(got).__name__}{shape}"],
                      "average over the batch (.mean()) to get one number, and keep it a Tensor "
                      "(no .item(), no NumPy) so that it can be differentiated")
    return float(got.detach().item())


def check_scalar(label, got, expected, who, known=(), probe=None, rtol=1e-6, atol=1e-9,
                 shown=()):
    """Compare a scalar result with its closed form; `known` mistakes are matched by value.
    `shown`: lines with the inputs, for the report."""
    value = as_scalar(label, got, who)
    if np.isclose(value, expected, rtol=rtol, atol=atol):
        return value
    look_at = None
    for mistake in known:
        wrong = mistake.wrong(probe)
        if (wrong is not None and np.isclose(value, wrong, rtol=rtol, atol=atol)
                and not np.isclose(wrong, expected, rtol=rtol, atol=atol)):
            look_at = mistake.look_at
            break
    if look_at is None and np.isclose(value, -expected, rtol=rtol, atol=atol):
        look_at = (f"sign error: {who} has the right size and the wrong sign (every loss here "
                   "is something to MINIMISE)")
    if look_at is None and expected != 0 and value != 0 and np.isfinite(value):
        ratio = value / expected
        whole = ratio if abs(ratio) >= 1 else 1 / ratio
        if abs(whole) >= 2 and np.isclose(whole, round(whole), rtol=1e-6):
            look_at = (f"your {who} is {ratio:.4g} times the expected value: a constant factor "
                       "is off (a sum where a mean belongs? a factor forgotten?)")
    raise Mistake([f"on {label}:", *shown, f"  expected {expected:.6g}, yours {value:.6g}"],
                  look_at)
