"""`minigan bench kernels`: every conv layer of the DCGAN-28, minigan's kernels against PyTorch's.

For each of the four convolutions of shared/bench/torch_dcgan_step.py (batch 64, float32):
the forward, the input gradient and the weight gradient, as
  * minigan : what minigan.kernels runs for NumPy arrays (the measured CPU default), or
              the NumPy reference with reference=True, or the CuPy kernels with device="cuda";
  * torch   : the same three ops in PyTorch on the CPU (F.conv2d / conv_transpose2d and
              torch.nn.grad's conv2d_input / conv2d_weight, autograd's own kernels),
              if torch is installed (minigan never depends on it).
Each framework runs in its own child processes, alternating over rounds (processes.py);
the table gives medians, GFLOP/s and the ratio per op and per layer (the sum of the three).

Options: other=True adds a table of the remaining kernels for every CPU version (one
minigan child); cold_start=True times `import minigan.kernels` + the first convs in fresh
processes, with an empty and with a warm Numba cache.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from .machine import OPENBLAS_OVERRIDES, summary_lines
from .processes import TORCH_ABSENT, child_env, framework_installed, run_child, run_rounds

# (label, kind, in channels, out channels, input height/width); kernel 4, stride 2, padding 1
LAYERS = [
    ("D Conv2d(1,64) 28->14", "conv", 1, 64, 28),
    ("D Conv2d(64,128) 14->7", "conv", 64, 128, 14),
    ("G ConvT2d(128,64) 7->14", "convT", 128, 64, 7),
    ("G ConvT2d(64,1) 14->28", "convT", 64, 1, 14),
]
OPS = ("forward", "input-grad", "weight-grad")
K, S, P, D = (4, 4), (2, 2), (1, 1), (1, 1)


def layer_flops(kind, cin, cout, hw, N):
    """Multiply-adds x 2 of one op of the layer (all three ops do the same arithmetic)."""
    if kind == "conv":
        ohw = (hw + 2 * P[0] - K[0]) // S[0] + 1
        return 2.0 * N * cout * ohw * ohw * cin * K[0] * K[1]
    return 2.0 * N * cin * cout * hw * hw * K[0] * K[1]


# --- the jobs, as the child process runs them (child.WORKLOADS points here) ---

def _minigan_ops(kind, cin, cout, hw, N, dtype, version, device):
    """{op: fn} for one layer, calling minigan.kernels on NumPy (or CuPy) arrays."""
    import numpy as np

    from minigan import kernels
    xp = np
    if device == "cuda":
        import cupy as xp
    rng = np.random.default_rng(0)

    def arr(*shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))

    def pick(name):
        table = kernels.REGISTRY[name]
        return table["numpy"] if version == "reference" else kernels.implementation(name, arr(1))

    sync = xp.cuda.Device().synchronize if device == "cuda" else (lambda: None)
    if kind == "conv":
        ohw = (hw + 2 * P[0] - K[0]) // S[0] + 1
        x, w, b, gy = arr(N, cin, hw, hw), arr(cout, cin, *K), arr(cout), arr(N, cout, ohw, ohw)
        calls = {"forward": (pick("conv2d"), (x, w, b, S, P, D)),
                 "input-grad": (pick("conv2d_grad_input"), (gy, w, (hw, hw), S, P, D)),
                 "weight-grad": (pick("conv2d_grad_weight"), (x, gy, K, S, P, D))}
    else:   # ConvTranspose2d(cin, cout): y = conv2d_grad_input(x, w_t), w_t (cin, cout, 4, 4)
        ohw = 2 * hw
        x, wt, gy = arr(N, cin, hw, hw), arr(cin, cout, *K), arr(N, cout, ohw, ohw)
        calls = {"forward": (pick("conv2d_grad_input"), (x, wt, (ohw, ohw), S, P, D)),
                 "input-grad": (pick("conv2d"), (gy, wt, None, S, P, D)),
                 "weight-grad": (pick("conv2d_grad_weight"), (gy, x, K, S, P, D))}
    return {op: (lambda fn=fn, args=args: (fn(*args), sync())) for op, (fn, args) in calls.items()}


def _torch_ops(kind, cin, cout, hw, N, dtype):
    """{op: fn} for one layer in PyTorch on the CPU."""
    import torch
    torch.set_grad_enabled(False)
    F, grad = torch.nn.functional, torch.nn.grad
    tdt = torch.float32 if dtype == "float32" else torch.float64
    r = lambda *s: torch.randn(*s, dtype=tdt)  # noqa: E731
    if kind == "conv":
        ohw = (hw + 2 * P[0] - K[0]) // S[0] + 1
        x, w, b, gy = r(N, cin, hw, hw), r(cout, cin, *K), r(cout), r(N, cout, ohw, ohw)
        return {"forward": lambda: F.conv2d(x, w, b, S, P),
                "input-grad": lambda: grad.conv2d_input(x.shape, w, gy, S, P),
                "weight-grad": lambda: grad.conv2d_weight(x, w.shape, gy, S, P)}
    ohw = 2 * hw
    x, wt, gy = r(N, cin, hw, hw), r(cin, cout, *K), r(N, cout, ohw, ohw)
    return {"forward": lambda: F.conv_transpose2d(x, wt, None, S, P),
            "input-grad": lambda: F.conv2d(gy, wt, None, S, P),
            "weight-grad": lambda: grad.conv2d_weight(gy, wt.shape, x, S, P)}


def conv_layers_job(job):
    calls = {}
    for label, kind, cin, cout, hw in LAYERS:
        if job["framework"] == "torch":
            ops = _torch_ops(kind, cin, cout, hw, job["batch"], job["dtype"])
        else:
            ops = _minigan_ops(kind, cin, cout, hw, job["batch"], job["dtype"],
                               job.get("version", "default"), job.get("device", "cpu"))
        calls.update({f"{label}|{op}": fn for op, fn in ops.items()})
    return {"calls": calls}


def other_kernels_job(job):
    """Every CPU version of the kernels outside the conv layers' table."""
    import numpy as np

    from minigan import kernels
    N = job["batch"]
    rng = np.random.default_rng(1)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    x = f32(N, 64, 14, 14)
    cols = kernels.REGISTRY["im2col"]["numpy"](x, K, S, P, D)
    n_param = 1_000_000
    adam_state = [f32(n_param), f32(n_param), np.zeros(n_param, np.float32), np.zeros(n_param, np.float32)]
    a, b = f32(512, 1024), f32(1024, 512)
    cases = [("im2col", f"x {x.shape} k4 s2 p1", (x, K, S, P, D)),
             ("col2im", f"cols {cols.shape}", (cols, x.shape, K, S, P, D)),
             ("leaky_relu", f"x {x.shape}", (x, 0.2)),
             ("batch_norm_forward", f"x {(N, 64, 196)}", (x.reshape(N, 64, 196), f32(64), f32(64), 1e-5)),
             ("matmul", f"{a.shape} @ {b.shape}", (a, b)),
             ("adam_update", f"{n_param:,} params", (*adam_state, 10, 2e-4, 0.5, 0.999, 1e-8))]
    calls = {}
    for name, what, args in cases:
        for version, fn in kernels.REGISTRY[name].items():
            if version != "cupy":
                star = "*" if version == kernels.CPU_DEFAULT[name] else ""
                calls[f"{name} {what} [{version}{star}]"] = lambda fn=fn, args=args: fn(*args)
    return {"calls": calls}


# --- the benchmark ---

def run(batch=64, rounds=5, iterations=10, warmup=2, dtype="float32", reference=False,
        device="cpu", other=False, cold_start=False, json_path=None,
        frameworks=("minigan", "torch"), log=print):
    """Time the conv layers (and the extras asked for), print the table, write json_path."""
    have_torch = "torch" in frameworks and framework_installed("torch")
    base = {"workload": "conv_layers", "batch": batch, "dtype": dtype, "warmup": warmup,
            "iterations": iterations}
    jobs = {"minigan": dict(base, framework="minigan", device=device)}
    if reference:
        # the reference is slow: a few iterations tell its speed well enough
        jobs["minigan reference"] = dict(base, framework="minigan", version="reference",
                                         warmup=1, iterations=min(iterations, 3))
    if have_torch:
        jobs["torch"] = dict(base, framework="torch")
    else:
        log(TORCH_ABSENT)
    children = run_rounds(f"conv layers of the DCGAN-28, batch {batch}, {dtype}", jobs, rounds, log)
    report = {"benchmark": "kernels", "batch": batch, "dtype": dtype, "rounds": rounds,
              "iterations": iterations, "warmup": warmup, "device": device,
              "torch_installed": have_torch, "removed_from_children_env": list(OPENBLAS_OVERRIDES),
              "machine": {name: runs[0]["machine"] for name, runs in children.items()},
              "layers": layer_table(children, batch)}
    for line in format_layers(report):
        log(line)
    if other:
        result = run_child({"workload": "other_kernels", "framework": "minigan", "batch": batch,
                            "warmup": 1, "iterations": max(3, iterations // 2)})
        report["other_kernels"] = {k: statistics.median(v) for k, v in result["times_ms"].items()}
        log("\nother kernels (float32; median ms per CPU version, * = the default):")
        for label, ms in report["other_kernels"].items():
            log(f"  {label:70} {ms:9.3f}")
    if cold_start:
        report["cold_start"] = bench_cold_start(log)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2)
        log(f"wrote {json_path}")
    return report


def layer_table(children, batch):
    """{layer: {op or "total": {job: median ms, ...}}} from every job's rounds.

    A layer's total is the median over iterations of forward + input-grad + weight-grad."""
    table = {}
    for label, kind, cin, cout, hw in LAYERS:
        flops = layer_flops(kind, cin, cout, hw, batch)
        row = {}
        for op in OPS + ("total",):
            cell = {"gflop": flops * (3 if op == "total" else 1) / 1e9}
            for name, runs in children.items():
                if op == "total":
                    per_iter = [sum(t) for c in runs for t in
                                zip(*(c["times_ms"][f"{label}|{o}"] for o in OPS))]
                else:
                    per_iter = [t for c in runs for t in c["times_ms"][f"{label}|{op}"]]
                cell[name] = statistics.median(per_iter)
            if "torch" in cell:
                cell["minigan_over_torch"] = cell["minigan"] / cell["torch"]
            row[op] = cell
        table[label] = row
    return table


def format_layers(report):
    lines = ["", "what ran:"]
    for name, description in report["machine"].items():
        lines += summary_lines(description, name)
    names = list(report["machine"])
    head = f"{'layer':25} {'op':11}" + "".join(f" {n + ' ms':>20}" for n in names)
    head += f" {'GFLOP/s':>8}" + (f" {'minigan/torch':>14}" if report["torch_installed"] else "")
    lines += ["", f"median ms per op (batch {report['batch']}, {report['dtype']}); GFLOP/s of minigan",
              head, "-" * len(head)]
    for label, row in report["layers"].items():
        for op, cell in row.items():
            line = f"{label:25} {op:11}" + "".join(f" {cell[n]:20.2f}" for n in names)
            line += f" {cell['gflop'] / cell['minigan'] * 1e3:8.1f}"
            if "minigan_over_torch" in cell:
                line += f" {cell['minigan_over_torch']:13.2f}x"
            lines.append(line)
    return lines


_COLD_CHILD = """
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
print(f"{(t1 - t0) * 1e3:.1f} {(t2 - t1) * 1e3:.1f} {numba_at_import}")
"""


def bench_cold_start(log=print):
    """import minigan.kernels + the first three convs, in fresh processes (own Numba cache)."""
    log("\ncold start: fresh `python -c`, import kernels, then conv2d + grad_input + grad_weight")
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(child_env(), NUMBA_CACHE_DIR=cache)
        for label in ("empty Numba cache", "warm Numba cache", "warm Numba cache"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _COLD_CHILD], env=env,
                                 capture_output=True, text=True, cwd=os.getcwd())
            wall = (time.perf_counter() - t) * 1e3
            if out.returncode != 0:
                raise RuntimeError(f"cold-start child failed:\n{out.stderr}")
            imp, first, numba_loaded = out.stdout.split()
            rows.append({"cache": label, "import_ms": float(imp), "first_convs_ms": float(first),
                         "numba_at_import": numba_loaded == "True", "process_ms": wall})
            log(f"  {label:18} import {float(imp):7.1f} ms (numba imported: {numba_loaded}),"
                f" first convs {float(first):8.1f} ms, whole process {wall:8.1f} ms")
    return rows
