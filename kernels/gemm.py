"""matmul(a, b): a lesson exhibit. NumPy's matmul semantics (2-D, batched, broadcast batch
dims, 1-D operands).

    a (..., M, K) @ b (..., K, P) -> (broadcast(...), M, P); dtype = input dtype.
    A 1-D a is treated as (1, K) and a 1-D b as (K, 1); the added axis is dropped again.

The fastest CPU version is BLAS through np.matmul (OpenBLAS uses blocking, packing and
hand-written SIMD micro-kernels). The Numba version is a teaching exhibit: the textbook
loop in a cache-friendly order, parallel over rows. It is correct and loses to BLAS.

The CPU default, "blas", is np.matmul with big 2-D products split over the thread pool of
threads.py (numpy's BLAS runs one thread inside each of ours there).
NOTE: the engine does not call this: `Tensor @` and nn's Linear call `xp.matmul` on the
array directly (BLAS for NumPy, cuBLAS for CuPy). This file is here for lesson 05, which
races the einsum reference, BLAS and the Numba loop, and for anyone who wants to see a
GEMM loop.
"""
import numpy as np

from . import threads
from ._dispatch import implementation, register
from ._jit import cupy, lazy_njit, prange


def _promote_1d(a, b):
    squeeze = []
    if a.ndim == 1:
        a, squeeze = a[None, :], squeeze + [-2]
    if b.ndim == 1:
        b, squeeze = b[:, None], squeeze + [-1]
    return a, b, tuple(squeeze)


# --- NumPy reference -------------------------------------------------------------------

def matmul_ref(a, b):
    a2, b2, squeeze = _promote_1d(a, b)
    # einsum without optimize= is NumPy's own sum-of-products loop, independent of BLAS
    c = np.einsum("...mk,...kp->...mp", a2, b2)
    return c.squeeze(squeeze) if squeeze else c


# BLAS, shared out: with minigan's thread pool, numpy's BLAS runs one thread inside each of
# our threads (threads.py), so a big 2-D product is cut into one band of a's rows per thread.
# A product of K = 1 (an outer product) is a broadcast multiply: OpenBLAS is slow at those
# (measured 0.6 ms vs ~0.1 ms for (64, 1) @ (1, 6272), one core).
SPLIT_FLOPS = 1 << 22          # per thread, below which a product is not split (~50 us)


def matmul_blas(a, b):
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype:
        return np.matmul(a, b)
    M, K = a.shape
    P = b.shape[1]
    if K == 1:
        return np.multiply(a, b)                                     # (M, 1) * (1, P)
    out = np.empty((M, P), dtype=np.result_type(a, b))
    grain = max(1, SPLIT_FLOPS // max(1, 2 * K * P))                 # rows per thread
    threads.parallel_range(lambda m0, m1: np.matmul(a[m0:m1], b, out=out[m0:m1]), M, grain)
    return out


# --- CPU: Numba ---

@lazy_njit(parallel=True)
def _matmul_2d(a, b, out):
    M, K = a.shape
    P = b.shape[1]
    for m in prange(M):
        for p in range(P):
            out[m, p] = 0.0
        # i-k-p order: the inner loop walks b and out along contiguous rows (SIMD friendly)
        for k in range(K):
            aik = a[m, k]
            for p in range(P):
                out[m, p] += aik * b[k, p]


def matmul_numba(a, b):
    a2, b2, squeeze = _promote_1d(a, b)
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    M, K, P = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    assert b2.shape[-2] == K, f"matmul: inner sizes differ, got {a.shape} @ {b.shape}"
    a3 = np.ascontiguousarray(np.broadcast_to(a2, batch + (M, K))).reshape(-1, M, K)
    b3 = np.ascontiguousarray(np.broadcast_to(b2, batch + (K, P))).reshape(-1, K, P)
    out = np.empty((a3.shape[0], M, P), dtype=np.result_type(a, b))  # (B, M, P)
    for i in range(a3.shape[0]):
        _matmul_2d(a3[i], b3[i], out[i])
    out = out.reshape(batch + (M, P))
    return out.squeeze(squeeze) if squeeze else out


# --- GPU: CuPy ---

def matmul_cupy(a, b):
    return cupy().matmul(a, b)                                         # cuBLAS


MATMUL = {"numpy": matmul_ref, "blas": matmul_blas, "numba": matmul_numba, "cupy": matmul_cupy}


# --- dispatch (kernels/_dispatch.py) ---
# BLAS, measured: np.matmul 2.6-3.4 ms vs Numba 7-11 ms for (512,1024)@(1024,512).
register("matmul", MATMUL, cpu_default="blas")


def matmul(a, b):
    """NumPy matmul semantics, batch dims broadcast (a lesson exhibit: see the docstring)."""
    return implementation("matmul", a)(a, b)
