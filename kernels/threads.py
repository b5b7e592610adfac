"""minigan's one thread pool: the CPU kernels split their work over it, BLAS runs inside it.

    get_num_threads() -> int            how many threads the CPU kernels use (1 = serial)
    set_num_threads(n)                  as torch.set_num_threads; MINIGAN_NUM_THREADS=n at import
    parallel_range(fn, n, grain=1)      fn(start, stop) over contiguous parts of range(n), one
                                        part per thread (the calling thread takes the first)

Why a pool of our own. A DCGAN step alternates GEMMs with memory shuffles, batch norm and
activations. numpy's OpenBLAS parallelises only the GEMMs, and its worker threads keep
spinning for a while after each call (up to ~0.1 s); a second pool (Numba's, OpenMP's)
started in that window fights them for the cores, and on 2 cores both lose (measured: 8-25 ms
per conv instead of 1-9 ms). So here exactly one set of threads ever computes:

* with n > 1 threads, every OpenBLAS loaded in the process is set to ONE thread (each of our
  threads calls BLAS on its own part, see conv.py), and the CPU kernels split their loops
  over our threads. OpenBLAS's own workers go to sleep and stay asleep.
* with n = 1 the kernels run serially in the calling thread and BLAS on one thread too;
  where no BLAS thread control is found (see `blas_control`) the kernels run serially and
  BLAS keeps its own threads, as numpy sets them.

The threads wait on locks (no spinning), so a parallel region costs ~20 us to start, and
a region runs whole (never two at once): a kernel called inside a region, or from another
thread while one runs, just runs serially. Work goes to the threads only above `grain`
items per thread, so small arrays never pay the start-up. The kernels release the GIL
(Numba's nogil, NumPy's BLAS calls), so the threads really run at the same time.

NOTE: setting numpy's BLAS to one thread is process-wide: numpy's own matmuls outside
minigan then run on one core too, as they do after torch.set_num_threads(1).
"""
import ctypes
import os
import threading

_requested = None           # what set_num_threads / MINIGAN_NUM_THREADS asked for
_threads = None             # the thread count in force (decided on first use)
_workers = []               # the pool: threads - 1 workers (the caller is the first thread)
_pool_pid = None            # the process that started the workers (a fork has none)
_region = threading.Lock()  # held while a parallel region runs
_inside = threading.local()  # .active: this thread runs a part of a region
_blas = None                # what blas_control() found, once


def _default_threads():
    try:
        return len(os.sched_getaffinity(0))     # the cores this process may use
    except AttributeError:
        return os.cpu_count() or 1


def _from_environment():
    text = os.environ.get("MINIGAN_NUM_THREADS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"MINIGAN_NUM_THREADS: expected a whole number >= 1, got {text!r}")
    return int(text)


# --- BLAS: one thread inside ours -------------------------------------------------------
# OpenBLAS exports openblas_set_num_threads / openblas_get_num_threads; the builds made for
# numpy and scipy rename them (scipy_openblas_set_num_threads64_ in numpy's wheels). We look
# them up in every OpenBLAS library this process has loaded (Linux lists them in
# /proc/self/maps; elsewhere none is found and the kernels stay serial).
_AFFIXES = [(prefix, suffix) for prefix in ("", "scipy_") for suffix in ("", "64_", "_64")]


def _loaded_openblas_paths():
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def blas_control(refresh=False):
    """{"found": [library paths], "libraries": [(get, set)]}: the OpenBLAS libraries whose
    thread count minigan can read and set. Looked up on the first parallel kernel (numpy's
    OpenBLAS is loaded by then) and again on each set_num_threads (a library loaded later,
    scipy's say, is then found too)."""
    global _blas
    if _blas is None or refresh:
        found, libraries = [], []
        for path in _loaded_openblas_paths():
            try:
                lib = ctypes.CDLL(path)        # already loaded: this only gets its handle
            except OSError:
                continue
            for prefix, suffix in _AFFIXES:
                setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    found.append(path)
                    libraries.append((getter, setter))
                    break
        _blas = {"found": found, "libraries": libraries}
    return _blas


# --- the pool ---------------------------------------------------------------------------

class _Worker:
    """One thread that runs fn(start, stop) when handed a part; sleeps on a lock otherwise."""

    def __init__(self):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job, self.error = None, None
        threading.Thread(target=self._loop, daemon=True, name="minigan-kernels").start()

    def _loop(self):
        _inside.active = True                  # a kernel called from here runs serially
        while True:
            self.go.acquire()                  # sleeps here between regions
            fn, start, stop = self.job
            try:
                fn(start, stop)
            except BaseException as error:     # re-raised in the calling thread
                self.error = error
            self.job = None
            self.done.release()

    def start(self, fn, start, stop):
        self.job = (fn, start, stop)
        self.go.release()

    def wait(self):
        self.done.acquire()
        error, self.error = self.error, None
        return error


def _configure(n):
    """Put n threads in force: ours split the kernels and every OpenBLAS runs on one thread
    inside them (n = 1: all serial, as torch.set_num_threads(1))."""
    global _threads
    libraries = blas_control(refresh=True)["libraries"]
    if n > 1 and not libraries:
        n = 1                                  # BLAS's threads cannot be set: stay serial
    for _, set_ in libraries:
        set_(1)
    _threads = n


def get_num_threads():
    """The threads the CPU kernels use: set_num_threads's, else MINIGAN_NUM_THREADS, else
    the cores this process may run on; 1 where BLAS's threads cannot be set."""
    if _threads is None:
        _configure(_requested or _from_environment() or _default_threads())
    return _threads


def set_num_threads(n):
    """Use n threads in the CPU kernels and BLAS together (n >= 1), as torch.set_num_threads."""
    global _requested
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected an int >= 1, got {n!r}")
    with _region:                              # never while a region runs
        _requested = n
        _configure(n)


def _start_workers(count):
    global _pool_pid
    if _pool_pid != os.getpid():               # after a fork the parent's workers are gone
        _workers.clear()
        _pool_pid = os.getpid()
    while len(_workers) < count:
        _workers.append(_Worker())


def parallel_range(fn, n, grain=1):
    """Call fn(start, stop) on contiguous parts of range(n) that together cover it, one part
    per thread and each at least `grain` long; return when all are done. fn must be safe
    to run on different parts at once (each part writes only its own share of the output)."""
    threads = min(get_num_threads(), n // max(grain, 1))
    if threads <= 1 or getattr(_inside, "active", False) or not _region.acquire(blocking=False):
        if n > 0:
            fn(0, n)                           # serial: small work, nested, or pool busy
        return
    try:
        _start_workers(threads - 1)
        bounds = [n * t // threads for t in range(threads + 1)]
        for t in range(1, threads):
            _workers[t - 1].start(fn, bounds[t], bounds[t + 1])
        _inside.active = True
        try:
            fn(bounds[0], bounds[1])
        finally:
            _inside.active = False
            errors = [_workers[t - 1].wait() for t in range(1, threads)]
        for error in errors:
            if error is not None:
                raise error
    finally:
        _region.release()


def describe():
    """The pool and the BLAS it controls: for the benchmarks' machine description."""
    n = get_num_threads()
    return {"num_threads": n, "requested": _requested or _from_environment(),
            "blas_libraries_controlled": blas_control()["found"],
            "blas_threads_inside_minigans": 1 if n > 1 else "BLAS's own (minigan serial)"}
