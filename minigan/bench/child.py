"""One benchmark job, in a process of its own (started by processes.run_child).

    python -m minigan.bench.child '{"workload": "dcgan_plain", "framework": "torch", ...}'

It builds the workload, runs `warmup` untimed and `iterations` timed calls, and prints one
line: RESULT_MARK + JSON with the per-iteration wall and CPU times (ms), its peak memory
(VmHWM, read right after the timing) and its machine description.
"""
import json
import sys
import time
from importlib import import_module

from .machine import describe, vm_hwm_mb
from .processes import RESULT_MARK

# workload name -> "module:function"; the function takes the job dict and returns
# {"calls": {label: fn}} to time (each label gets its own times list), or a finished
# result dict (the profile breakdown).
WORKLOADS = {
    "dcgan_plain": "minigan.bench.dcgan:plain_job",
    "dcgan_train_step": "minigan.bench.dcgan:train_step_job",
    "dcgan_profile": "minigan.bench.dcgan:profile_job",
    "conv_layers": "minigan.bench.kernels:conv_layers_job",
    "other_kernels": "minigan.bench.kernels:other_kernels_job",
}


def time_calls(calls, warmup, iterations):
    """Warm every call up, then time them in turn, `iterations` times each.

    calls: {label: fn}. Returns {label: (wall ms list, CPU ms list)}. CPU time is this
    process's, all threads together: it shows work, not waiting for a busy machine.
    """
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times = {label: ([], []) for label in calls}
    for _ in range(iterations):
        for label, fn in calls.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[label][1].append((time.process_time() - cpu) * 1e3)
            times[label][0].append((time.perf_counter() - wall) * 1e3)
    return times


def run(job):
    module, function = WORKLOADS[job["workload"]].split(":")
    built = getattr(import_module(module), function)(job)
    if "calls" in built:
        timed = time_calls(built["calls"], job["warmup"], job["iterations"])
        result = {"times_ms": {k: v[0] for k, v in timed.items()},
                  "cpu_times_ms": {k: v[1] for k, v in timed.items()}}
    else:
        result = built
    result["vm_hwm_mb"] = vm_hwm_mb()             # before describe(), which may run a probe
    result["machine"] = describe()
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    result = run(json.loads(argv[0]))
    print(RESULT_MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
