"""Where an iteration's time goes: cProfile's per-function time, grouped into parts.

Parts (the first rule that matches a function decides; paths are inside the package):

    GEMM         kernels/conv.py's gemm(), ops/linalg.py, nn.functional's Linear
    conv         the rest of kernels/conv.py (im2col/col2im, layout moves), nn/conv_functional.py
    elementwise  kernels/activation.py, kernels/batchnorm.py, ops/elementwise.py,
                 ops/reduce.py, the rest of nn/functional.py (batch norm, losses)
    optimiser    kernels/adam.py, optim/
    Python       everything else: Tensor and Function bookkeeping, autograd's graph walk,
                 Module calls, shape ops (views), the interpreter

A function's own time ("tottime") includes the NumPy calls it makes on arrays, so
`y = x @ w.T` in Linear.forward counts as GEMM. Time in C functions that cProfile sees
separately (np.empty, np.ascontiguousarray, ...) and in the compiled Numba kernels (behind
kernels/_jit.py's wrapper) goes to the part of the function that called them.
NOTE: cProfile adds a little to every Python call, so the Python part is an upper bound,
and the total is above the unprofiled iteration's.
"""
import ast
import cProfile
import pstats
from functools import lru_cache
from pathlib import Path

RULES = [  # (part, file path ending, qualified-name prefix or "")
    ("GEMM", "kernels/conv.py", "gemm"),
    ("GEMM", "minigan/ops/linalg.py", ""),
    ("GEMM", "minigan/nn/functional.py", "Linear."),
    ("conv", "kernels/conv.py", ""),
    ("conv", "minigan/nn/conv_functional.py", ""),
    ("elementwise", "kernels/activation.py", ""),
    ("elementwise", "kernels/batchnorm.py", ""),
    ("elementwise", "minigan/ops/elementwise.py", ""),
    ("elementwise", "minigan/ops/reduce.py", ""),
    ("elementwise", "minigan/nn/functional.py", ""),
    ("optimiser", "kernels/adam.py", ""),
    ("optimiser", "minigan/optim/", ""),
]
PARTS = ["conv", "GEMM", "elementwise", "optimiser", "Python"]
# Entries whose time belongs to their callers: C functions, the lazy Numba wrapper, the
# thread pool (a parallel region's time, the wait for the other threads included, goes to
# the kernel that started it) and the layout helpers (to the kernel that moved the numbers).
PASS_THROUGH_FILES = ("~", "kernels/_jit.py", "kernels/threads.py", "kernels/layout.py")


@lru_cache(maxsize=None)
def _qualnames(filename):
    """{first line of a def (or of its first decorator): qualified name} for one file."""
    try:
        tree = ast.parse(Path(filename).read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    names = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                for line in [child.lineno] + [d.lineno for d in child.decorator_list]:
                    names[line] = name
                walk(child, name + ".")
    walk(tree, "")
    return names


def _path(filename):
    return filename.replace("\\", "/")


def part_of(func):
    """The part of a pstats key (filename, line, name), or None for a pass-through entry."""
    filename, line, name = func
    path = _path(filename)
    if path == "~" or path.endswith(PASS_THROUGH_FILES[1:]):
        return None
    qualname = _qualnames(filename).get(line, name)
    for part, ending, prefix in RULES:
        if (path.endswith(ending) or ending.endswith("/") and ending in path) \
                and qualname.startswith(prefix):
            return part
    return "Python"


def group(stats):
    """Seconds per part from a pstats.Stats: each function's own time to its part, and a
    pass-through entry's to its callers' parts, in proportion to the time each call spent."""
    raw = stats.stats                     # func -> (cc, nc, tottime, cumtime, callers)
    seconds = dict.fromkeys(PARTS, 0.0)

    @lru_cache(maxsize=None)
    def shares(func, depth=0):
        """{part: fraction} of func's own time."""
        part = part_of(func)
        if part is not None:
            return ((part, 1.0),)
        callers = raw[func][4] if func in raw else {}
        total = sum(edge[2] for edge in callers.values())
        if depth > 8 or not callers or total <= 0:
            return (("Python", 1.0),)
        mix = {}
        for caller, edge in callers.items():
            for p, f in shares(caller, depth + 1):
                mix[p] = mix.get(p, 0.0) + f * edge[2] / total
        return tuple(mix.items())

    for func, (_, _, tottime, _, _) in raw.items():
        for part, fraction in shares(func):
            seconds[part] += tottime * fraction
    return seconds


def profile(step, iterations):
    """Run step() `iterations` times under cProfile; returns the parts and the top functions.

    {"ms_per_iteration": {part: ms}, "share": {part: fraction}, "total_ms_per_iteration",
     "top": [(part, "file:line(name)", own ms per iteration), ...] (the 25 largest)}
    """
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    seconds = group(stats)
    total = sum(seconds.values())
    top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:25]
    return {
        "ms_per_iteration": {p: s * 1e3 / iterations for p, s in seconds.items()},
        "share": {p: s / total if total else 0.0 for p, s in seconds.items()},
        "total_ms_per_iteration": total * 1e3 / iterations,
        "top": [(part_of(f) or "(callers')", f"{_short(f[0])}:{f[1]}({f[2]})", v[2] * 1e3 / iterations)
                for f, v in top],
    }


def _short(filename):
    path = _path(filename)
    for anchor in ("/minigan/", "/kernels/"):
        if anchor in path:
            return anchor.strip("/") + "/" + path.rsplit(anchor, 1)[1]
    return path.rsplit("/", 1)[-1]
