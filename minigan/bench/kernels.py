"""Benchmark minigan.kernels on the DCGAN-28 convolution layers, side by side with PyTorch.

What it measures (batch 64 by default, float32, best of --repeat runs after a warm-up):
for each of the four convolutions of shared/bench/torch_dcgan_step.py, the forward, the
input gradient and the weight gradient with
  * ref   : the NumPy reference kernels (the specification),
  * fast  : what minigan.kernels runs by default for NumPy arrays (CPU_DEFAULT),
  * cupy  : the CuPy kernels, if a CUDA device is visible,
  * torch : the same op in PyTorch on the CPU, if torch is installed (optional; minigan
            never depends on it).
Then the other kernels (im2col, col2im, matmul, adam_update) for every CPU version, and,
with --cold-start, the time of `import minigan.kernels` + the first conv in a fresh process
with an empty and with a warm Numba cache.

Run:  python -m minigan.bench.kernels [--batch 64] [--repeat 20] [--cold-start]
      (or `minigan bench kernels ...`)
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _import_kernels():
    from minigan import kernels
    return kernels


# (label, kind, in channels, out channels, input height/width); kernel 4, stride 2, padding 1
LAYERS = [
    ("D Conv2d(1,64) 28->14", "conv", 1, 64, 28),
    ("D Conv2d(64,128) 14->7", "conv", 64, 128, 14),
    ("G ConvT2d(128,64) 7->14", "convT", 128, 64, 7),
    ("G ConvT2d(64,1) 14->28", "convT", 64, 1, 14),
]
K, S, P, D = (4, 4), (2, 2), (1, 1), (1, 1)


def _time(fn, repeat, sync=None):
    fn()                                     # warm-up: JIT compile, BLAS threads, caches
    if sync:
        sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
    # NOTE: the best run, not the median: on a shared 2-core machine other processes add
    # noise of several ms to some runs, and the best run is the reproducible figure.
    return min(times) * 1e3                  # ms


def _layer_ops(kind, cin, cout, hw, N, xp, rng, dtype):
    """The three ops of one layer as kernel calls: {op: (kernel name, args)} and FLOPs."""
    def arr(*shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))
    if kind == "conv":
        ohw = (hw + 2 - 4) // 2 + 1
        x, w, b, gy = arr(N, cin, hw, hw), arr(cout, cin, 4, 4), arr(cout), arr(N, cout, ohw, ohw)
        flops = 2.0 * N * cout * ohw * ohw * cin * 16
        ops = {"forward": ("conv2d", (x, w, b, S, P, D)),
               "input-grad": ("conv2d_grad_input", (gy, w, (hw, hw), S, P, D)),
               "weight-grad": ("conv2d_grad_weight", (x, gy, K, S, P, D))}
    else:  # ConvTranspose2d(cin, cout): y = conv2d_grad_input(x, w_t), w_t (cin, cout, 4, 4)
        ohw = 2 * hw
        x, wt, gy = arr(N, cin, hw, hw), arr(cin, cout, 4, 4), arr(N, cout, ohw, ohw)
        flops = 2.0 * N * cin * cout * hw * hw * 16
        ops = {"forward": ("conv2d_grad_input", (x, wt, (ohw, ohw), S, P, D)),
               "input-grad": ("conv2d", (gy, wt, None, S, P, D)),
               "weight-grad": ("conv2d_grad_weight", (gy, x, K, S, P, D))}
    return ops, flops


def _torch_ops(kind, cin, cout, hw, N, torch, dtype):
    F, grad = torch.nn.functional, torch.nn.grad
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    r = lambda *s: torch.randn(*s, dtype=tdt)  # noqa: E731
    if kind == "conv":
        ohw = (hw + 2 - 4) // 2 + 1
        x, w, b, gy = r(N, cin, hw, hw), r(cout, cin, 4, 4), r(cout), r(N, cout, ohw, ohw)
        return {"forward": lambda: F.conv2d(x, w, b, 2, 1),
                "input-grad": lambda: grad.conv2d_input(x.shape, w, gy, 2, 1),
                "weight-grad": lambda: grad.conv2d_weight(x, w.shape, gy, 2, 1)}
    ohw = 2 * hw
    x, wt, gy = r(N, cin, hw, hw), r(cin, cout, 4, 4), r(N, cout, ohw, ohw)
    return {"forward": lambda: F.conv_transpose2d(x, wt, None, 2, 1),
            "input-grad": lambda: F.conv2d(gy, wt, None, 2, 1),
            "weight-grad": lambda: grad.conv2d_weight(gy, wt.shape, x, 2, 1)}


def bench_layers(kernels, N, repeat, dtype=np.float32):
    try:
        import torch
        torch.set_grad_enabled(False)
    except ImportError:
        torch = None
    cp = None
    if kernels.available()["cupy"]:
        import cupy as cp
    rng = np.random.default_rng(0)
    print(f"\nconv layers, batch {N}, {np.dtype(dtype).name}, best of {repeat} "
          f"(ref: best of {min(repeat, 3)}); ms, GFLOP/s of fast; x = times faster")
    head = (f"{'layer':25} {'op':11} {'ref ms':>8} {'fast ms':>8} {'GFLOP/s':>8} {'vs ref':>7}"
            + (f" {'cupy ms':>8}" if cp else "")
            + (f" {'torch ms':>9} {'torch/fast':>10}" if torch else ""))
    print(head)
    print("-" * len(head))
    total = {"fast": 0.0, "torch": 0.0, "ref": 0.0}
    for label, kind, cin, cout, hw in LAYERS:
        ops, flops = _layer_ops(kind, cin, cout, hw, N, np, rng, dtype)
        tops = _torch_ops(kind, cin, cout, hw, N, torch, dtype) if torch else {}
        gops = _layer_ops(kind, cin, cout, hw, N, cp, rng, dtype)[0] if cp else {}
        for op, (name, args) in ops.items():
            table = kernels.REGISTRY[name]
            fast = table[kernels.CPU_DEFAULT[name]]
            t_ref = _time(lambda: table["numpy"](*args), min(repeat, 3))
            t_fast = _time(lambda: fast(*args), repeat)
            total["ref"] += t_ref
            total["fast"] += t_fast
            line = (f"{label:25} {op:11} {t_ref:8.2f} {t_fast:8.2f} {flops / t_fast / 1e6:8.1f} "
                    f"{t_ref / t_fast:6.1f}x")
            if cp:
                gname, gargs = gops[op]
                t_gpu = _time(lambda: kernels.REGISTRY[gname]["cupy"](*gargs), repeat,
                              cp.cuda.Device().synchronize)
                line += f" {t_gpu:8.3f}"
            if torch:
                t_torch = _time(tops[op], repeat)
                total["torch"] += t_torch
                line += f" {t_torch:9.2f} {t_torch / t_fast:9.2f}x"
            print(line)
    line = f"{'total':37} {total['ref']:8.2f} {total['fast']:8.2f} {'':8} {total['ref'] / total['fast']:6.1f}x"
    if torch:
        line += f" {total['torch']:9.2f} {total['torch'] / total['fast']:9.2f}x"
        line += f"   (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    print(line)
    return total


def bench_other(kernels, N, repeat):
    """Every CPU version of the non-conv kernels: the evidence behind CPU_DEFAULT."""
    rng = np.random.default_rng(1)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    x = f32(N, 64, 14, 14)
    cols = kernels.REGISTRY["im2col"]["numpy"](x, K, S, P, D)
    n_param = 1_000_000
    adam_state = [f32(n_param), f32(n_param), np.zeros(n_param, np.float32), np.zeros(n_param, np.float32)]
    a, b = f32(512, 1024), f32(1024, 512)
    ab, bb = f32(N, 64, 128), f32(128, 64)
    cases = [
        ("im2col", f"x {x.shape} k4 s2 p1", (x, K, S, P, D)),
        ("col2im", f"cols {cols.shape}", (cols, x.shape, K, S, P, D)),
        ("matmul", f"{a.shape} @ {b.shape}", (a, b)),
        ("matmul", f"{ab.shape} @ {bb.shape}", (ab, bb)),
        ("adam_update", f"{n_param:,} params", (*adam_state, 10, 2e-4, 0.5, 0.999, 1e-8)),
    ]
    print(f"\nother kernels (float32, best of {repeat}; ms per CPU version, * = default)")
    for name, what, args in cases:
        table = kernels.REGISTRY[name]
        cells = []
        for backend, fn in table.items():
            if backend == "cupy":
                continue
            r = min(repeat, 3) if backend == "numpy" or (name == "matmul" and backend == "numba") else repeat
            star = "*" if backend == kernels.CPU_DEFAULT[name] else " "
            cells.append(f"{backend}{star} {_time(lambda: fn(*args), r):8.3f}")
        print(f"{name:12} {what:32} " + "   ".join(cells))


_CHILD = """
import time, sys
t0 = time.perf_counter()
from minigan import kernels
t1 = time.perf_counter()
numba_at_import = 'numba' in sys.modules
import numpy as np
x = np.ones((64, 1, 28, 28), np.float32); w = np.ones((64, 1, 4, 4), np.float32)
y = kernels.conv2d(x, w, None, (2, 2), (1, 1), (1, 1))
kernels.conv2d_grad_input(y, w, (28, 28), (2, 2), (1, 1), (1, 1))
kernels.conv2d_grad_weight(x, y, (4, 4), (2, 2), (1, 1), (1, 1))
t2 = time.perf_counter()
print(f"{{(t1 - t0) * 1e3:.1f}} {{(t2 - t1) * 1e3:.1f}} {{numba_at_import}}")
"""


def bench_cold_start():
    root = str(Path(__file__).resolve().parents[1])
    print("\ncold start: fresh `python -c`, import kernels, then conv2d + grad_input + grad_weight")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("empty Numba cache", "warm Numba cache", "warm Numba cache"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _CHILD.format()], env=env,
                                 capture_output=True, text=True, cwd=root)
            wall = (time.perf_counter() - t) * 1e3
            if out.returncode != 0:
                print(out.stderr)
                raise SystemExit("cold-start child failed")
            imp, first, numba_loaded = out.stdout.split()
            print(f"  {label:18} import {float(imp):7.1f} ms (numba imported: {numba_loaded}),"
                  f" first convs {float(first):8.1f} ms, whole process {wall:8.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minigan bench kernels", description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--float64", action="store_true", help="time the conv layers in float64")
    parser.add_argument("--cold-start", action="store_true", help="also time import + first conv")
    parser.add_argument("--no-other", action="store_true", help="skip im2col/matmul/adam table")
    args = parser.parse_args(argv)
    kernels = _import_kernels()
    print(f"minigan.kernels backends available: {kernels.available()}; "
          f"backend={kernels.get_backend()}; numpy {np.__version__}; {os.cpu_count()} CPUs")
    bench_layers(kernels, args.batch, args.repeat, np.float64 if args.float64 else np.float32)
    if not args.no_other:
        bench_other(kernels, args.batch, args.repeat)
    if args.cold_start:
        bench_cold_start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
