"""Which version of a kernel runs: the one rule every kernel file's public functions use.

Each kernel file registers a table {backend: function} and the CPU version measured fastest
(with the measurement, next to its `register` call). `implementation(name, array)` picks:

* a CuPy array always goes to the CuPy version;
* a NumPy array goes to the fastest correct CPU version measured (`CPU_DEFAULT`), or to
  the NumPy reference after `set_backend("numpy")` or with the environment variable
  MINIGAN_KERNELS=numpy (read at import; for teaching and debugging).
"""
import os

from ._jit import is_cupy, numba_installed

# name -> {backend: function}; looked up on every call, so tests can patch entries.
REGISTRY = {}
# name -> the backend a NumPy array gets under set_backend("auto")
CPU_DEFAULT = {}

_BACKENDS = ("auto", "numpy")
_backend = "numpy" if os.environ.get("MINIGAN_KERNELS", "").strip().lower() == "numpy" else "auto"


def register(name, table, cpu_default):
    """Add kernel `name`: its {backend: function} table and its measured CPU default."""
    assert {"numpy", "cupy", cpu_default} <= set(table), f"{name}: incomplete table {table}"
    REGISTRY[name], CPU_DEFAULT[name] = table, cpu_default


def set_backend(name):
    """"auto" (fastest measured CPU path) or "numpy" (the reference) for NumPy arrays."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend():
    return _backend


def implementation(name, array):
    """The function that kernel `name` would run for `array` right now."""
    table = REGISTRY[name]
    if is_cupy(array):
        return table["cupy"]
    if _backend == "numpy":
        return table["numpy"]
    choice = CPU_DEFAULT[name]
    if choice == "numba" and not numba_installed():
        return table["numpy"]
    return table[choice]
