"""Each framework in its own process: the harness behind `bench dcgan` and `bench kernels`.

Why processes: two frameworks in one process share it with each other's thread pools.
OpenBLAS's threads spin-wait after every call, Numba's pool and PyTorch's OpenMP pool do
their own waiting, and on a 2-core machine they slow each other down (issue 12 measured
PyTorch's DCGAN iteration at 52.8 ms alone and 140.6 ms alternating with minigan in one
process). So a benchmark here is a list of jobs, each run by a fresh child process
(`python -m minigan.bench.child JOB`) that builds one framework's workload, warms it up,
times it and reports its own peak memory and machine description. The jobs alternate,
round after round, so slow spells on a shared machine hit every framework alike, and
the figures are medians.

The children's environment lacks OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (machine.py says
why); only theirs: tests and CI never go through here.
"""
import json
import os
import statistics
import subprocess
import sys

from .machine import OPENBLAS_OVERRIDES

RESULT_MARK = "MINIGAN_BENCH_RESULT "


def child_env(framework="minigan"):
    """This process's environment without the OpenBLAS overrides.

    A PyTorch child also gets MINIGAN_MALLOC=system: it imports minigan (for this harness),
    and minigan's import would otherwise change the C allocator's settings for PyTorch too
    (kernels/memory.py); PyTorch runs as a user's PyTorch would."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    if framework == "torch":
        env["MINIGAN_MALLOC"] = "system"
    return env


def framework_installed(name):
    """True if `name` imports in a child (checked without importing it here)."""
    import importlib.util
    return importlib.util.find_spec(name) is not None


def run_child(job, timeout=None):
    """Run one job in a fresh child process; returns the dict it reported.

    job: {"workload": name in child.WORKLOADS, "framework": ..., "warmup": int,
    "iterations": int, "env": {variable: value} set for this child only (optional),
    ...workload options}.
    """
    cmd = [sys.executable, "-m", "minigan.bench.child", json.dumps(job)]
    env = dict(child_env(job.get("framework", "minigan")), **job.get("env", {}))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed ({job}), exit {out.returncode}:\n"
                           f"{out.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def alternate(jobs, rounds, progress=None):
    """Run every job once per round, in turn; returns {job name: [child results]}.

    jobs: {name: job dict}. The order flips every round (A B, B A, A B, ...), so no job
    always runs first, after a quiet spell or right after another's process exited.
    progress(round, name) is called before each child, if given.
    """
    results = {name: [] for name in jobs}
    order = list(jobs)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            if progress:
                progress(r, name)
            results[name].append(run_child(jobs[name]))
    return results


TORCH_ABSENT = ("PyTorch is not installed: timing minigan alone (pip install torch==2.13.0, "
                "CPU build, to compare; minigan never depends on it)")


def run_rounds(what, jobs, rounds, log=print):
    """Say what will run, then alternate(jobs, rounds), logging each child as it starts."""
    any_job = next(iter(jobs.values()))
    log(f"{what}: {len(jobs)} jobs, each in its own process, alternating over {rounds} rounds "
        f"of {any_job['warmup']} warm-up + {any_job['iterations']} timed iterations; "
        f"{', '.join(OPENBLAS_OVERRIDES)} removed from the children's environment")
    return alternate(jobs, rounds, progress=lambda r, name: log(f"  round {r + 1}/{rounds}: {name}"))


def summarise(children, label):
    """Pool one job's rounds for one timed call: medians, spread, peak memory.

    children: the dicts its rounds returned (child.run). The median is over every timed
    iteration of every round; round_medians_ms shows how much the rounds differed.
    """
    wall = [t for c in children for t in c["times_ms"][label]]
    cpu = [t for c in children for t in c["cpu_times_ms"][label]]
    peaks = [c["vm_hwm_mb"] for c in children if c.get("vm_hwm_mb") is not None]
    return {
        "median_ms": statistics.median(wall),
        "min_ms": min(wall),
        "round_medians_ms": [statistics.median(c["times_ms"][label]) for c in children],
        "cpu_median_ms": statistics.median(cpu),
        "iterations": len(wall),
        "peak_rss_mb": max(peaks) if peaks else None,
    }
