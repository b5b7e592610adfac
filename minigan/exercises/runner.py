"""The registry of exercises, and what `minigan exercise` does with one: load the learner's
file, run its check, and hand out the graded hints and the solution.

The hint shown last is remembered per exercise in `exercise_hints.json` under minigan's
cache folder (`$MINIGAN_CACHE`, else ~/.cache/minigan), so `--hint` moves on one hint at a
time. If that file cannot be read or written, hints still work; they just start from 1.
"""
import importlib.util
import json
import os
import pathlib
import traceback

from minigan.data import cache_dir

from . import (batch_norm, bce_with_logits, conv2d_weight_grad, gan_losses, gradient_penalty,
               matmul_broadcast, r1_penalty, sigmoid, train_step)
from .checking import Mistake, NotDone

__all__ = ["EXERCISES", "Report", "check", "hint", "solution", "exercise_path"]

EXERCISES = {module.EXERCISE.name: module.EXERCISE for module in (
    sigmoid, matmul_broadcast, bce_with_logits, conv2d_weight_grad, batch_norm,
    gradient_penalty, gan_losses, train_step, r1_penalty)}

REPO = pathlib.Path(__file__).resolve().parents[2]


class Report:
    """The outcome of one check. `bool(report)` is True when it passed; `str(report)` is the
    text to show the learner. `status`: passed, failed, not done, missing or unknown."""

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


# --- finding and loading the learner's file ---
def exercise_path(name, path=None):
    """The learner's file: `path` if given, else lessons/exercises/NAME.py under the current
    directory, else under the repository minigan was installed from."""
    if path is not None:
        return pathlib.Path(path)
    relative = pathlib.Path("lessons", "exercises", f"{name}.py")
    for base in (pathlib.Path(), REPO):        # the current directory, then the repository
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
    """'FILE, line N, in FUNCTION: code' for the deepest frame of `error` in the learner's file."""
    target = pathlib.Path(path).resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if pathlib.Path(f.filename).resolve() == target]
    if not frames:
        return None
    frame = frames[-1]
    return f"{path}, line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"


# --- checking ---
def check(name, path=None):
    """Check the learner's solution of exercise `name` (file: see exercise_path).

    Returns a Report: truthy when every check passed; str(report) explains the result.
    It never prints the answer: that is what `hint` and `solution` are for.
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
        if getattr(module, exercise.symbol, None) is None:
            return Report(name, "failed", [f"{head}: FAILED",
                                           f"  the file defines no {exercise.symbol!r}; keep "
                                           "the names of the exercise file"], path)
        passed = exercise.check(module)
    except (NotImplementedError, NotDone) as error:
        where = _where_in(path, getattr(error, "cause", None) or error)
        lines = [f"{head}: NOT DONE YET",
                 f"  write {exercise.writes}: it still raises NotImplementedError"]
        if where:
            lines.append(f"  at {where}")
        if getattr(error, "lines", None):
            lines += ["  what it must give:", *("    " + line for line in error.lines)]
        return Report(name, "not done", lines + [_stuck(exercise)], path)
    except Mistake as mistake:
        lines = [f"{head}: FAILED", *("  " + line for line in mistake.lines)]
        if mistake.look_at:
            lines.append(f"  what to look at: {mistake.look_at}")
        return Report(name, "failed", lines + [_stuck(exercise)], path)
    except Exception as error:           # the learner's code crashed: say where and why
        where = _where_in(path, error)
        lines = [f"{head}: FAILED", f"  your code raised {type(error).__name__}: {error}"]
        if where:
            lines.append(f"  at {where}")
        if "shape" in str(error):
            lines.append("  what to look at: write the shape of every Tensor next to its line")
        return Report(name, "failed", lines + [_stuck(exercise)], path)
    return Report(name, "passed", [f"{head}: PASSED", *("  " + line for line in passed)], path)


def _stuck(exercise):
    shown = _read_state().get(exercise.name, 0)
    total = len(exercise.hints)
    if shown >= total:
        return (f"  stuck? all {total} hints shown (--hint N shows one again); --solution "
                "shows the answer")
    return (f"  stuck? minigan exercise check {exercise.name} --hint shows hint {shown + 1} of "
            f"{total}")


# --- graded hints and the solution ---
def _state_path():
    return pathlib.Path(cache_dir()) / "exercise_hints.json"


def _read_state():
    """{exercise name: the number of the hint shown last}; empty when unreadable."""
    try:
        state = json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in state.items() if isinstance(v, int)} if isinstance(state, dict) else {}


def _write_state(state):
    path = _state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(temporary, path)       # atomic: a crash never leaves half a file
    except OSError:
        pass                              # a read-only home: hints still work, unremembered


def hint(name, number=None):
    """Hint `number` (from 1) of exercise `name`, or the one after the hint shown last.
    Returns (number, total, text) and remembers `number` as shown."""
    exercise = EXERCISES[name]
    total = len(exercise.hints)
    state = _read_state()
    if number is None:
        number = min(state.get(name, 0) + 1, total)
    if not 1 <= number <= total:
        raise ValueError(f"exercise {name} has {total} hints: ask for 1 to {total}, "
                         f"got {number}")
    state[name] = number
    _write_state(state)
    return number, total, exercise.hints[number - 1]


def solution(name):
    """The formula of exercise `name` and the code that writes it."""
    return EXERCISES[name].solution
