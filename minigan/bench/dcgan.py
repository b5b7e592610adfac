"""`minigan bench dcgan`: minigan's DCGAN-28 iteration against PyTorch's, each in its own process.

What is timed (dcgan_step.py has the code):
  * the plain loop of shared/bench/torch_dcgan_step.py, the same lines run by minigan and
    by PyTorch: the headline, like-for-like figure (PyTorch's plain loop vs minigan's);
  * minigan's `gan.train_step` on the same models (it may skip work nobody reads).
How (processes.py): every job runs in a fresh child process, jobs alternate over
`rounds` rounds, each child warms up then times `iterations` iterations; the report gives
the median over all timed iterations, each round's median, the ratio, the CPU time per
iteration and each child's peak memory (VmHWM). Then one more minigan child runs the plain
loop under cProfile, on one thread, for the per-part breakdown (breakdown.py). The
children's environment lacks OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE; each child reports its
BLAS, kernel and threads (minigan's pool, kernels/threads.py, included).
Without PyTorch installed, minigan is timed alone, and the report says so.
"""
import json
import time

from . import breakdown
from .machine import OPENBLAS_OVERRIDES, cpu_model, summary_lines
from .processes import TORCH_ABSENT, framework_installed, run_child, run_rounds, summarise


# The breakdown's child runs on one thread: cProfile sees only the thread it runs in, so
# with minigan's pool (or BLAS's) the other threads' work would show up as waiting.
ONE_THREAD = {"MINIGAN_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# --- the jobs, as the child process runs them (child.WORKLOADS points here) ---

def plain_job(job):
    from .dcgan_step import plain_loop
    return {"calls": {"iteration": plain_loop(job["framework"], job["batch"])}}


def train_step_job(job):
    from .dcgan_step import train_step_loop
    return {"calls": {"iteration": train_step_loop(job["batch"])}}


def profile_job(job):
    from .dcgan_step import plain_loop
    step = plain_loop("minigan", job["batch"])
    for _ in range(max(1, job["warmup"])):   # never profile Numba's compile or cache load
        step()
    return breakdown.profile(step, job["iterations"])


# --- the benchmark ---

def run(batch=64, rounds=5, iterations=10, warmup=3, profile_iterations=5, json_path=None,
        frameworks=("minigan", "torch"), log=print):
    """Time the jobs, print the report, write it to json_path (if given); return it as a dict."""
    have_torch = "torch" in frameworks and framework_installed("torch")
    jobs = {"minigan plain loop": {"workload": "dcgan_plain", "framework": "minigan"}}
    if have_torch:
        jobs["torch plain loop"] = {"workload": "dcgan_plain", "framework": "torch"}
    jobs["minigan train_step"] = {"workload": "dcgan_train_step", "framework": "minigan"}
    for job in jobs.values():
        job.update(batch=batch, warmup=warmup, iterations=iterations)
    if not have_torch:
        log(TORCH_ABSENT)
    children = run_rounds(f"DCGAN-28 iteration (D step + G step), batch {batch}", jobs, rounds, log)
    report = {"benchmark": "dcgan", "batch": batch, "rounds": rounds, "iterations": iterations,
              "warmup": warmup, "torch_installed": have_torch,
              "removed_from_children_env": list(OPENBLAS_OVERRIDES), "cpu": cpu_model(),
              "results": {name: summarise(children[name], "iteration") for name in jobs},
              "machine": {name: children[name][0]["machine"] for name in jobs}}
    results = report["results"]
    if have_torch:
        report["ratio_plain_minigan_over_torch"] = (results["minigan plain loop"]["median_ms"]
                                                    / results["torch plain loop"]["median_ms"])
        report["ratio_train_step_over_torch_plain"] = (results["minigan train_step"]["median_ms"]
                                                       / results["torch plain loop"]["median_ms"])
    if profile_iterations:
        log(f"  profiling minigan's plain loop under cProfile ({profile_iterations} iterations, "
            f"one thread)")
        report["breakdown"] = run_child({"workload": "dcgan_profile", "framework": "minigan",
                                         "batch": batch, "warmup": warmup,
                                         "iterations": profile_iterations, "env": ONE_THREAD})
    for line in format_report(report):
        log(line)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2)
        log(f"wrote {json_path}")
    return report


def format_report(report):
    """The printed report, as lines."""
    lines = ["", "what ran:"]
    for name, description in report["machine"].items():
        if name != "minigan train_step":
            lines += summary_lines(description, name)
    lines += ["", f"{'job':22} {'median ms':>10} {'min ms':>8} {'CPU ms':>8} {'rounds (median ms)':>30} "
                  f"{'peak MB':>8}"]
    for name, r in report["results"].items():
        rounds = " ".join(f"{t:.1f}" for t in r["round_medians_ms"])
        peak = f"{r['peak_rss_mb']:8.0f}" if r["peak_rss_mb"] else f"{'?':>8}"
        lines.append(f"{name:22} {r['median_ms']:10.1f} {r['min_ms']:8.1f} {r['cpu_median_ms']:8.1f} "
                     f"{rounds:>30} {peak}")
    if report["torch_installed"]:
        ratio = report["ratio_plain_minigan_over_torch"]
        lines.append(f"minigan / PyTorch, plain loop (the headline): {ratio:.2f} "
                     f"({'faster' if ratio < 1 else 'slower'} than PyTorch); minigan's train_step / "
                     f"PyTorch's plain loop: {report['ratio_train_step_over_torch_plain']:.2f}")
    else:
        lines.append("PyTorch not installed: no ratio (minigan alone)")
    if "breakdown" in report:
        b = report["breakdown"]
        lines += ["", f"minigan plain loop, per part (cProfile, one thread: where the work goes; "
                      f"{b['total_ms_per_iteration']:.1f} ms per profiled iteration; profiling "
                      f"inflates the Python part):"]
        for part in breakdown.PARTS:
            lines.append(f"  {part:12} {b['ms_per_iteration'][part]:8.1f} ms {100 * b['share'][part]:5.1f}%")
    return lines
