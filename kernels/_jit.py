"""Lazy Numba: kernels are plain Python functions until their first call.

`import minigan.kernels` must stay quick, so nothing here imports numba at import time.
`lazy_njit` wraps a loop function; the first call imports numba, compiles the function
with `cache=True` (so the next process loads machine code from __pycache__ instead of
compiling) and calls it. Until then, and when numba is absent, `fn.py_func` is the same
loop as plain Python: slow, but it runs, which is handy for stepping through in a debugger.
"""
import functools
import importlib.util


@functools.lru_cache(maxsize=None)
def numba_installed():
    """True if numba can be imported (checked once, without importing it)."""
    return importlib.util.find_spec("numba") is not None


def prange(*args):
    """Stand-in for numba.prange while the kernel is plain Python (see lazy_njit)."""
    return range(*args)


def lazy_njit(parallel=False, cache=True):
    """Decorator: compile `fn` with numba.njit(cache=cache, parallel=parallel, nogil=True,
    error_model="numpy") on first call. nogil: the compiled loop releases Python's GIL, so
    the threads of kernels/threads.py run their parts of it at the same time.
    error_model="numpy": a float division by zero gives inf or nan, as in NumPy, instead of
    raising; without it every division is checked, which stops the loop from vectorising
    (measured: a / (sqrt(b) + eps) over 1M float32, 2.8 ms checked, 0.35 ms not)."""
    def decorate(fn):
        compiled = None

        @functools.wraps(fn)
        def call(*args):
            nonlocal compiled
            if compiled is None:
                import numba
                # NOTE: numba recognises a parallel loop by the *value* of the global
                # `prange` when it compiles, so point the kernel module's `prange` at the
                # real one before the first compile.
                fn.__globals__["prange"] = numba.prange
                compiled = numba.njit(cache=cache, parallel=parallel, nogil=True,
                                      error_model="numpy", fastmath=False)(fn)
            return compiled(*args)

        call.py_func = fn
        return call
    return decorate


def is_cupy(a):
    """True for a cupy.ndarray, decided without importing cupy."""
    return type(a).__module__.split(".")[0] == "cupy"


def cupy():
    """Import cupy on demand (only reached when a cupy array arrived)."""
    import cupy as cp
    return cp
