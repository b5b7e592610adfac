"""Gradient-check exercises: the learner writes a backward, this module checks it and explains.

    minigan exercise list
    minigan exercise check sigmoid                 # lessons/exercises/sigmoid.py
    minigan exercise check batch_norm --file my_bn.py
    python -m minigan.exercises check sigmoid      # the same, without the console script

Each exercise file (lessons/exercises/NAME.py) defines a `minigan.Function` whose backward
the learner writes with Tensor operations (or, for the gradient penalty, a function built on
`autograd.grad`). `check(name, path)` loads that file from its path, runs finite-difference
gradient checks in float64 on a few shapes (and, where the exercise needs it, a check of
the second derivative or of the value against a closed form), and returns a `Report` that
says what passed, or which input failed, where, and what to look at.
The exit status of the command is 0 when the exercise passes and 1 otherwise.
"""
import argparse
import importlib.util
import pathlib
import re
import sys
import traceback

import numpy as np

import minigan as mg
from minigan.gradcheck import GradcheckError

__all__ = ["EXERCISES", "Report", "check", "main", "cmd_exercise", "exercise_path"]

REPO = pathlib.Path(__file__).resolve().parents[1]


class Report:
    """The outcome of one check. `bool(report)` is True when it passed; `str(report)` is the
    text to show the learner."""

    def __init__(self, name, status, lines, path=None):
        self.name, self.status, self.lines, self.path = name, status, list(lines), path

    @property
    def passed(self):
        return self.status == "passed"

    def __bool__(self):
        return self.passed

    def __str__(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return f"<Report {self.name}: {self.status}>"


class _Failure(Exception):
    """A check that failed; `lines` say what to tell the learner."""

    def __init__(self, *lines):
        super().__init__(lines[0])
        self.lines = lines


def _tensor(array, requires_grad=True):
    return mg.tensor(array, dtype=mg.float64, requires_grad=requires_grad)


def _shape(t):
    return tuple(t.shape)


def _gradcheck(label, fn, inputs, hints, second_order=False):
    """Run gradcheck (or gradgradcheck); on failure raise _Failure with the checker's report
    and the hint for the input that failed (`hints`: input index -> text, or one text)."""
    check = mg.autograd.gradgradcheck if second_order else mg.autograd.gradcheck
    try:
        check(fn, inputs)
    except GradcheckError as error:
        text = str(error)
        match = re.search(r"input (\d+) \(shape", text)
        index = int(match.group(1)) if match else None
        hint = hints.get(index, hints.get(None)) if isinstance(hints, dict) else hints
        raise _Failure(f"{'gradgradcheck' if second_order else 'gradcheck'} failed on {label}:",
                       *("    " + line for line in text.splitlines()),
                       f"  what to look at: {hint}") from None


# --- the exercises: one checker each ---
def _check_sigmoid(module):
    Sigmoid = module.Sigmoid
    hint = ("ds/dx = s(x) * (1 - s(x)), where s(x) is the OUTPUT (self.output), not x; and "
            "multiply by grad_y")
    rng = np.random.default_rng(0)
    cases = [("x of shape (5,)", rng.standard_normal(5) * 3),
             ("x of shape (3, 4)", rng.standard_normal((3, 4)) * 3),
             ("x = [-30, -2, 0, 2, 30] (saturated ends)", np.array([-30.0, -2, 0, 2, 30]))]
    for label, x in cases:
        _gradcheck(label, Sigmoid.apply, (_tensor(x),), hint)
    return [f"gradcheck passed on {len(cases)} inputs, from small to saturated"]


def _check_matmul_broadcast(module):
    MatMul = module.MatMul
    rng = np.random.default_rng(1)
    cases = [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (4, 3, 2)), ((4, 1, 2, 3), (3, 3, 2))]
    hints = {0: "dL/da = grad_y @ b^T (b.mT swaps its last two dims), then summed to a's shape",
             1: "dL/db = a^T @ grad_y (a.mT), then summed to b's shape"}
    for sa, sb in cases:
        label = f"a of shape {sa} @ b of shape {sb}"
        a, b = _tensor(rng.standard_normal(sa)), _tensor(rng.standard_normal(sb))
        # 1. shapes: call the learner's backward directly, before the engine tidies up.
        y = MatMul.apply(a, b)
        with mg.no_grad():
            grads = y.grad_fn.backward(mg.ones(*_shape(y), dtype=mg.float64))
        if not isinstance(grads, tuple) or len(grads) != 2:
            raise _Failure(f"on {label}: backward must return a tuple (grad_a, grad_b), got "
                           f"{type(grads).__name__}")
        for which, g, t in (("a", grads[0], a), ("b", grads[1], b)):
            if not isinstance(g, mg.Tensor):
                raise _Failure(f"on {label}: the gradient for {which} is "
                               f"{type(g).__name__}, not a Tensor")
            if _shape(g) != _shape(t):
                raise _Failure(
                    f"shape check failed on {label} (output {_shape(y)}):",
                    f"  the gradient for {which} has shape {_shape(g)} but {which} has shape "
                    f"{_shape(t)}",
                    "  what to look at: did you sum over the broadcast dimensions? A leading "
                    "dim the input lacks is summed away; a dim where it has size 1 is summed "
                    "with keepdim=True")
        # 2. values: finite differences.
        _gradcheck(label, MatMul.apply, (a, b), hints)
    return [f"backward returns gradients shaped like a and b on {len(cases)} pairs of shapes",
            "gradcheck passed on each, with and without broadcasting"]


def _check_bce_with_logits(module):
    BCE = module.BCEWithLogits
    rng = np.random.default_rng(2)
    hints = {0: "d loss/dx = sigmoid(x) - t (softplus' is the sigmoid), times grad_y",
             1: "the target's gradient is d loss/dt = -x, times grad_y; return it, not None "
                "(with soft labels t is an input like any other)"}
    cases = [(6,), (3, 4)]
    for shape in cases:
        x = _tensor(rng.standard_normal(shape) * 3)
        t = _tensor(rng.uniform(0, 1, shape))
        _gradcheck(f"logits x and soft targets t of shape {shape}", BCE.apply, (x, t), hints)
    return [f"gradcheck passed for x and t on {len(cases)} shapes"]


def _check_conv2d_weight_grad(module):
    Conv2d = module.Conv2d
    rng = np.random.default_rng(3)
    hint = ("grad_w[o, c, k, l] adds grad_y[n, o, i, j] * (the input it met) over EVERY image "
            "n and output position (i, j): a sum over the batch, not a mean; F.unfold with "
            "the same padding and stride as forward; reshape (O, C*KH*KW) back to w's shape")
    cases = [((2, 2, 5, 5), (3, 2, 3, 3), 1, 1), ((2, 1, 6, 6), (2, 1, 3, 3), 2, 0),
             ((3, 2, 4, 4), (2, 2, 2, 2), 1, 0)]
    for sx, sw, stride, padding in cases:
        x = _tensor(rng.standard_normal(sx), requires_grad=False)
        w = _tensor(rng.standard_normal(sw))

        def conv(x, w, stride=stride, padding=padding):
            return Conv2d.apply(x, w, stride=stride, padding=padding)
        conv.__qualname__ = "Conv2d.apply"
        _gradcheck(f"x {sx}, w {sw}, stride={stride}, padding={padding} (checking dL/dw)",
                   conv, (x, w), {1: hint, None: hint})
    return [f"gradcheck of the weight gradient passed on {len(cases)} geometries "
            "(padding, stride, batch > 1)"]


def _check_batch_norm(module):
    BN = module.BatchNorm
    rng = np.random.default_rng(4)
    hints = {0: "the batch-norm gradient must include the terms through the mean and variance: "
                "gamma / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat)), means per "
                "channel over the batch (and pixels)",
             1: "dL/dgamma = sum of grad_y * x_hat over the batch (and pixels): shape (C,)",
             2: "dL/dbeta = sum of grad_y over the batch (and pixels): shape (C,)"}
    for shape in [(6, 3), (4, 2, 3, 3)]:
        c = shape[1]
        inputs = (_tensor(rng.standard_normal(shape) * 2 + 1), _tensor(rng.standard_normal(c)),
                  _tensor(rng.standard_normal(c)))
        _gradcheck(f"x of shape {shape}, gamma and beta of shape ({c},)", BN.apply, inputs, hints)
    second = ("the first derivative is right but its own derivative is not: compute mu, var and "
              "x_hat in backward from self.inputs with Tensor ops; arrays saved in forward (or "
              "wrapped into Tensors) are constants to autograd, so the path through x is lost")
    inputs = (_tensor(rng.standard_normal((4, 2, 2, 2))), _tensor(rng.standard_normal(2)),
              _tensor(rng.standard_normal(2)))
    _gradcheck("x of shape (4, 2, 2, 2) (the gradient of your backward)", BN.apply, inputs,
               second, second_order=True)
    return ["gradcheck passed on (N, C) and (N, C, H, W) inputs, for x, gamma and beta",
            "gradgradcheck passed: your backward is itself differentiable"]


def _check_gradient_penalty(module):
    penalty_fn = module.gradient_penalty
    rng = np.random.default_rng(5)
    n, shape = 4, (2, 3)                       # images of 2 x 3 "pixels", flattened by the critic
    real = _tensor(rng.standard_normal((n,) + shape), requires_grad=False)
    fake = _tensor(rng.standard_normal((n,) + shape), requires_grad=False)
    alpha_np = rng.uniform(0, 1, (n, 1, 1))
    alpha = _tensor(alpha_np, requires_grad=False)
    x_hat = alpha_np * real.numpy() + (1 - alpha_np) * fake.numpy()
    weight = 3.0
    value_hint = ("x_hat = alpha * real + (1 - alpha) * fake; one gradient norm PER SAMPLE "
                  "(grads.flatten(1).norm(dim=1)), not over the whole batch; then "
                  "weight * mean((norms - 1) ** 2)")

    def value(label, critic, expected):
        got = penalty_fn(critic, real, fake, alpha, weight=weight)
        if not isinstance(got, mg.Tensor) or got.numel() != 1:
            raise _Failure(f"on {label}: gradient_penalty must return a scalar Tensor, got "
                           f"{type(got).__name__} {getattr(got, 'shape', '')}")
        if not np.isclose(got.item(), expected, rtol=1e-6, atol=1e-9):
            raise _Failure(f"value check failed on {label} (weight={weight}):",
                           f"  expected {expected:.6g} (closed form), got {got.item():.6g}",
                           f"  what to look at: {value_hint}")

    # 1. A linear critic x -> <x, w>: every sample's gradient is w.
    w = _tensor(rng.standard_normal((6, 1)), requires_grad=False)
    value("a linear critic D(x) = x.flatten(1) @ w, whose gradient is w for every sample",
          lambda x: x.flatten(1) @ w, weight * (np.linalg.norm(w.numpy()) - 1) ** 2)
    # 2. A quadratic critic x -> |x|^2 / 2: sample n's gradient is x_hat[n].
    norms = np.linalg.norm(x_hat.reshape(n, -1), axis=1)
    value("a quadratic critic D(x) = |x|^2 / 2, whose gradient at x_hat[n] is x_hat[n]",
          lambda x: 0.5 * (x * x).flatten(1).sum(1, keepdim=True),
          weight * np.mean((norms - 1) ** 2))
    # 3. Gradients w.r.t. a critic's weights: the second derivative WGAN-GP trains on.
    W1 = _tensor(rng.standard_normal((6, 5)) * 0.5)
    w2 = _tensor(rng.standard_normal((5, 1)))

    def penalty_of_weights(W1, w2):
        return penalty_fn(lambda x: mg.tanh(x.flatten(1) @ W1) @ w2, real, fake, alpha,
                          weight=weight)
    penalty_of_weights.__qualname__ = "gradient_penalty (as a function of the critic's weights)"
    if not penalty_of_weights(W1, w2).requires_grad:
        raise _Failure("gradient check failed on a tanh MLP critic:",
                       "  the penalty you return does not require grad, so the critic's weights "
                       "would get no gradient from it",
                       "  what to look at: mg.autograd.grad(..., create_graph=True) keeps the "
                       "gradient differentiable; without it the gradient is a constant")
    grad_hint = ("the penalty's gradient w.r.t. the critic's weights runs through autograd.grad: "
                 "pass create_graph=True, and do not .detach() the gradient or the norms")
    _gradcheck("a tanh MLP critic, W1 (6, 5) and w2 (5, 1)", penalty_of_weights, (W1, w2),
               grad_hint)
    return ["value matches the closed form for a linear and a quadratic critic",
            "gradcheck passed for the penalty w.r.t. a critic's weights (a second derivative)"]


class Exercise:
    def __init__(self, title, symbol, checker, what):
        self.title, self.symbol, self.checker, self.what = title, symbol, checker, what


EXERCISES = {
    "sigmoid": Exercise("backward of the sigmoid", "Sigmoid", _check_sigmoid,
                        "Sigmoid.backward"),
    "matmul_broadcast": Exercise("backward of a matmul with broadcast batch dims", "MatMul",
                                 _check_matmul_broadcast, "MatMul.backward"),
    "bce_with_logits": Exercise("backward of binary cross-entropy on logits", "BCEWithLogits",
                                _check_bce_with_logits, "BCEWithLogits.backward"),
    "conv2d_weight_grad": Exercise("weight gradient of conv2d", "Conv2d",
                                   _check_conv2d_weight_grad, "the grad_w part of Conv2d.backward"),
    "batch_norm": Exercise("backward of batch norm (training mode)", "BatchNorm",
                           _check_batch_norm, "BatchNorm.backward"),
    "gradient_penalty": Exercise("the WGAN-GP gradient penalty", "gradient_penalty",
                                 _check_gradient_penalty, "gradient_penalty"),
}


# --- finding and loading the learner's file ---
def exercise_path(name, path=None):
    """The learner's file: `path` if given, else lessons/exercises/NAME.py under the current
    directory, else under the repository minigan was installed from."""
    if path is not None:
        return pathlib.Path(path)
    relative = pathlib.Path("lessons", "exercises", f"{name}.py")
    for base in (pathlib.Path.cwd(), REPO):
        if (base / relative).is_file():
            return base / relative
    return relative


def _load(name, path):
    """Import the file at `path` as a fresh module (not as part of a package)."""
    spec = importlib.util.spec_from_file_location(f"minigan_exercise_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _where_in(path, error):
    """'line N: code' for the deepest frame of `error` inside the learner's file."""
    target = pathlib.Path(path).resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if pathlib.Path(f.filename).resolve() == target]
    if not frames:
        return None
    frame = frames[-1]
    return f"{path}, line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"


def check(name, path=None):
    """Check the learner's solution of exercise `name` (file: see exercise_path).

    Returns a Report: truthy when every check passed; str(report) explains the result.
    """
    if name not in EXERCISES:
        return Report(name, "unknown", [f"no exercise called {name!r}; the exercises are: "
                                        + ", ".join(EXERCISES)])
    exercise = EXERCISES[name]
    path = exercise_path(name, path)
    head = f"exercise {name} ({exercise.title}), file {path}"
    if not path.is_file():
        return Report(name, "missing", [f"{head}: FILE NOT FOUND",
                                        "  run from the repository root, or pass --file PATH"])
    try:
        module = _load(name, path)
        target = getattr(module, exercise.symbol, None)
        if target is None:
            return Report(name, "failed", [f"{head}: FAILED",
                                           f"  the file defines no {exercise.symbol!r}; keep "
                                           "the names of the exercise file"], path)
        passed = exercise.checker(module)
    except NotImplementedError as error:
        where = _where_in(path, error)
        lines = [f"{head}: NOT DONE YET",
                 f"  write {exercise.what}; it still raises NotImplementedError"]
        if where:
            lines.append(f"  at {where}")
        if str(error):
            lines.append(f"  {error}")
        return Report(name, "not done", lines, path)
    except _Failure as failure:
        return Report(name, "failed", [f"{head}: FAILED",
                                        *(line if line.startswith("  ") else "  " + line
                                          for line in failure.lines)], path)
    except Exception as error:           # the learner's code crashed: say where and why
        where = _where_in(path, error)
        lines = [f"{head}: FAILED",
                 f"  your code raised {type(error).__name__}: {error}"]
        if where:
            lines.append(f"  at {where}")
        lines.append("  what to look at: write the shape of every Tensor next to its line; each "
                     "gradient must have the shape of its input")
        return Report(name, "failed", lines, path)
    return Report(name, "passed", [f"{head}: PASSED", *("  " + line for line in passed)], path)


# --- command line ---
def cmd_exercise(args):
    """`minigan exercise list|check NAME [--file PATH]`: returns the exit status."""
    if args.action == "list":
        for name, exercise in EXERCISES.items():
            print(f"{name:20s} {exercise.title:50s} {exercise_path(name)}")
        print("check one with:  minigan exercise check NAME   (or --file PATH)")
        return 0
    if not args.name:
        print("which exercise? minigan exercise check NAME, one of: " + ", ".join(EXERCISES),
              file=sys.stderr)
        return 2
    report = check(args.name, args.file)
    print(report)
    return 0 if report else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan.exercises",
                                     description="Gradient-check the exercises in lessons/exercises.")
    parser.add_argument("action", choices=["check", "list"])
    parser.add_argument("name", nargs="?", help="the exercise, e.g. sigmoid")
    parser.add_argument("--file", help="the file to check (default lessons/exercises/NAME.py)")
    return cmd_exercise(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
