"""What ran: the description every benchmark prints and writes with its figures.

A speed figure means little without the machine and the libraries behind it: which BLAS
numpy called and which of its kernels (OpenBLAS picks one per CPU: Haswell = AVX2,
SkylakeX = AVX-512), how many threads each pool had, Numba's threading layer, PyTorch's
version and threads, the CPU. Each benchmark child describes itself, since the environment
it runs in (see processes.py) decides some of these.
"""
import contextlib
import io
import os
import platform
import re
import sys

# Set on some machines to work around old OpenBLAS builds; they pin numpy's OpenBLAS to a
# kernel (OPENBLAS_CORETYPE=Haswell: AVX2 even on an AVX-512 CPU). The benchmarks remove
# them from their children's environment only (see processes.child_env).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("MINIGAN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                    "MINIGAN_MALLOC")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vm_hwm_mb():
    """This process's peak resident memory (VmHWM) in MB, or None off Linux.

    NOTE: not ru_maxrss, which on Linux carries the parent's peak over into a child
    started with fork + exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def thread_pools():
    """The native thread pools loaded in this process (BLAS, OpenMP): one dict each.

    With threadpoolctl (optional; it ships with scikit-learn) this is its
    `threadpool_info()`: internal_api, version, architecture (the BLAS kernel), num_threads.
    Without it, what `numpy.show_runtime()` prints: numpy's SIMD extensions, and a note.
    """
    keys = ("user_api", "internal_api", "version", "architecture", "num_threads",
            "threading_layer", "prefix")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [_from_show_runtime()]
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def _from_show_runtime():
    import numpy as np
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        np.show_runtime()
    found = re.search(r"'found':\s*\[([^\]]*)\]", text.getvalue())
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
    return {"user_api": "blas", "internal_api": blas.get("name"), "version": blas.get("version"),
            "architecture": "unknown (install threadpoolctl to see the BLAS kernel)",
            "num_threads": None,
            "numpy_simd_found": re.findall(r"'(\w+)'", found.group(1)) if found else None}


def numba_threading():
    """Numba's version, thread count and threading layer, if numba was imported here.

    The layer is only decided when a parallel kernel first runs; if none ran yet, a tiny
    parallel probe runs now (after any timing) so the report says which one would be used.
    """
    if "numba" not in sys.modules:
        return None
    import numba
    info = {"version": numba.__version__, "num_threads": numba.config.NUMBA_NUM_THREADS,
            "threading_layer_requested": numba.config.THREADING_LAYER}
    try:
        info["threading_layer"] = numba.threading_layer()
        info["parallel_kernel_ran"] = True
    except ValueError:              # "Threading layer is not initialized."
        _numba_parallel_probe()
        info["threading_layer"] = numba.threading_layer()
        info["parallel_kernel_ran"] = False
    return info


def _numba_parallel_probe():
    """Run a parallel Numba kernel once: the lesson exhibit GEMM loop on 2x2 matrices."""
    import numpy as np

    from minigan.kernels import gemm
    gemm.matmul_numba(np.ones((2, 2)), np.ones((2, 2)))


def torch_threads():
    """PyTorch's version and thread counts, if torch was imported here."""
    if "torch" not in sys.modules:
        return None
    import torch
    backend = re.search(r"ATen parallel backend: (\S+)", torch.__config__.parallel_info())
    return {"version": torch.__version__, "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
            "parallel_backend": backend.group(1) if backend else None}


def load_average():
    """The 1, 5 and 15 minute load averages (runnable processes), or None where unknown.

    Above the CPU count, other jobs shared the cores while the figures were taken: they
    are then no measure of either framework (thread pools that spin-wait suffer most)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def minigan_threads():
    """minigan's own thread pool (kernels/threads.py), if minigan's kernels were imported."""
    if "minigan.kernels" not in sys.modules:
        return None
    from minigan.kernels import threads
    return threads.describe()


def describe():
    """Everything above for this process, as a JSON-ready dict."""
    import numpy as np
    return {
        "minigan_threads": minigan_threads(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "thread_pools": thread_pools(),
        "numba": numba_threading(),
        "torch": torch_threads(),
        "environment": {k: os.environ.get(k) for k in OPENBLAS_OVERRIDES + THREAD_VARIABLES},
        "malloc": _malloc_state(),
    }


def _malloc_state():
    """Whether minigan's import asked glibc to keep freed memory (kernels/memory.py)."""
    from minigan.kernels import memory
    return memory.STATE


def summary_lines(description, who):
    """A few readable lines about one child's `describe()`."""
    lines = [f"{who}: {description['cpu']} ({description['cpu_count']} CPUs), Python "
             f"{description['python']}, numpy {description['numpy']}"]
    load = description.get("load_average")
    if load:
        busy = load[0] > (description["cpu_count"] or 1)
        lines.append(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
                     + (" -- BUSY: other jobs shared the cores, these timings are unreliable"
                        if busy else ""))
    for pool in description["thread_pools"]:
        arch = f", kernel {pool['architecture']}" if pool.get("architecture") else ""
        lines.append(f"  {pool.get('user_api')}: {pool.get('internal_api')} {pool.get('version')}"
                     f"{arch}, {pool.get('num_threads')} threads")
    pool = description.get("minigan_threads")
    if pool and who.startswith("minigan"):
        inside = ("numpy's BLAS at 1 thread inside each" if pool["num_threads"] > 1
                  else "kernels serial, numpy's BLAS keeps its own threads")
        lines.append(f"  minigan kernels: {pool['num_threads']} threads ({inside})")
    nb = description["numba"]
    if nb:
        probe = "" if nb["parallel_kernel_ran"] else " (no parallel kernel ran in the timed work)"
        lines.append(f"  numba {nb['version']}: {nb['num_threads']} threads, threading layer "
                     f"{nb['threading_layer']}{probe}")
    th = description["torch"]
    if th:
        lines.append(f"  torch {th['version']}: {th['num_threads']} threads "
                     f"({th['num_interop_threads']} inter-op), {th['parallel_backend']}")
    env = {k: v for k, v in description["environment"].items() if v is not None}
    lines.append(f"  environment: {env or 'no thread or OpenBLAS variables set'}; freed memory "
                 f"kept by minigan: {description['malloc']}")
    return lines
