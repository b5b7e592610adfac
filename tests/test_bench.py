"""The benchmark harness (minigan/bench/): its structure, never its timings.

Children run with tiny sizes (batch 1-2, one iteration) so the file stays quick; what is
checked is what the figures rest on: each job in its own process, the OpenBLAS overrides
removed from the children's environment only, PyTorch's absence handled, every figure
and the machine description in the JSON, and the per-part breakdown's bookkeeping.
"""
import inspect
import json
import os

import pytest

from minigan.bench import breakdown, processes
from minigan.bench.machine import summary_lines as machine_summary
from minigan.bench import dcgan as bench_dcgan
from minigan.bench import kernels as bench_kernels
from minigan.bench.dcgan_step import plain_loop
from minigan.kernels import conv

pytestmark = pytest.mark.slow      # benchmark child processes


def test_children_run_without_the_openblas_overrides(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1048576")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")          # other variables pass through
    result = processes.run_child({"workload": "conv_layers", "framework": "minigan", "batch": 1,
                                  "dtype": "float32", "warmup": 0, "iterations": 1})
    env = result["machine"]["environment"]
    assert env["OPENBLAS_CORETYPE"] is None and env["OPENBLAS_L2_SIZE"] is None
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell", "the parent's environment must stay"
    assert result["machine"]["torch"] is None, "a minigan child must not import torch"
    assert result["vm_hwm_mb"] > 0
    assert set(result["times_ms"]) == {f"{layer[0]}|{op}" for layer in bench_kernels.LAYERS
                                       for op in bench_kernels.OPS}


def test_a_job_can_set_its_childs_environment_and_the_child_reports_its_threads():
    """The breakdown's child runs on one thread (dcgan.ONE_THREAD): a job's "env" reaches
    its child only, and a minigan child describes minigan's thread pool."""
    result = processes.run_child({"workload": "conv_layers", "framework": "minigan", "batch": 1,
                                  "dtype": "float32", "warmup": 0, "iterations": 1,
                                  "env": bench_dcgan.ONE_THREAD})
    machine = result["machine"]
    assert machine["environment"]["MINIGAN_NUM_THREADS"] == "1"
    assert machine["minigan_threads"]["num_threads"] == 1
    lines = "\n".join(machine_summary(machine, "minigan plain loop"))
    assert "minigan kernels: 1 threads" in lines


def test_a_torch_child_keeps_the_c_allocators_defaults(monkeypatch):
    """minigan's import changes glibc's malloc settings (kernels/memory.py); a PyTorch child
    must run with the defaults a PyTorch user has, a minigan child with minigan's."""
    monkeypatch.delenv("MINIGAN_MALLOC", raising=False)
    assert processes.child_env("torch")["MINIGAN_MALLOC"] == "system"
    assert "MINIGAN_MALLOC" not in processes.child_env("minigan")


def test_a_failing_child_raises_with_its_error():
    with pytest.raises(RuntimeError, match="KeyError"):
        processes.run_child({"workload": "no_such_workload", "warmup": 0, "iterations": 1})


def test_jobs_alternate_and_flip_order_each_round(monkeypatch):
    seen = []
    monkeypatch.setattr(processes, "run_child", lambda job: seen.append(job["id"]) or {})
    processes.alternate({"a": {"id": "a"}, "b": {"id": "b"}}, rounds=3)
    assert seen == ["a", "b", "b", "a", "a", "b"]


def test_dcgan_without_torch_reports_minigan_alone(monkeypatch, tmp_path):
    """PyTorch absent (made so here): minigan's jobs run, the report says so, no ratio,
    and the JSON holds every figure and each child's machine description."""
    monkeypatch.setattr(bench_dcgan, "framework_installed", lambda name: False)
    lines = []
    path = tmp_path / "dcgan.json"
    report = bench_dcgan.run(batch=2, rounds=1, iterations=1, warmup=0, profile_iterations=0,
                             json_path=str(path), log=lines.append)
    assert any("PyTorch is not installed" in line for line in lines)
    assert any("no ratio" in line for line in lines)
    saved = json.loads(path.read_text())
    assert saved["torch_installed"] is False
    assert set(saved["results"]) == {"minigan plain loop", "minigan train_step"}
    assert "ratio_plain_minigan_over_torch" not in saved
    for figures in saved["results"].values():
        assert {"median_ms", "min_ms", "round_medians_ms", "cpu_median_ms", "iterations",
                "peak_rss_mb"} <= set(figures)
        assert figures["iterations"] == 1 and figures["peak_rss_mb"] > 0
    machine = saved["machine"]["minigan plain loop"]
    assert {"cpu", "thread_pools", "numba", "torch", "environment", "load_average",
            "malloc"} <= set(machine)
    assert machine["thread_pools"] and machine["numba"]["threading_layer"]
    assert "breakdown" not in saved                 # profile_iterations=0: none asked for
    assert saved["removed_from_children_env"] == ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
    assert report["results"].keys() == saved["results"].keys()


def test_kernels_bench_table_has_every_layer_and_op(tmp_path):
    path = tmp_path / "kernels.json"
    bench_kernels.run(batch=1, rounds=1, iterations=1, warmup=0, json_path=str(path),
                      frameworks=("minigan",), log=lambda line: None)
    saved = json.loads(path.read_text())
    assert list(saved["layers"]) == [layer[0] for layer in bench_kernels.LAYERS]
    for row in saved["layers"].values():
        assert list(row) == list(bench_kernels.OPS) + ["total"]
        total = row["total"]["minigan"]
        assert total >= max(row[op]["minigan"] for op in bench_kernels.OPS)
        assert "minigan_over_torch" not in row["total"]


def test_the_plain_loop_is_the_reference_scripts_code():
    """The lines of shared/bench/torch_dcgan_step.py (from `torch.manual_seed(0)` to the
    end of step()) appear unchanged in dcgan_step.py; only B is the batch argument."""
    source = inspect.getsource(plain_loop)
    for line in ["torch.manual_seed(0)",
                 "real = torch.rand(B, 1, 28, 28) * 2 - 1",
                 "lD = bce(D(real), ones) + bce(D(fake.detach()), zeros)",
                 "oD.zero_grad(); lD.backward(); oD.step()",
                 "lG = bce(D(fake), ones)",
                 "oG.zero_grad(); lG.backward(); oG.step()",
                 "bce = nn.BCEWithLogitsLoss()"]:
        assert line in source, line
    step = plain_loop("minigan", batch=2)
    G, D, oG, oD, real = step.parts
    before = [p.detach().numpy().copy() for p in G.parameters()]
    step()
    assert any((p.detach().numpy() != b).any() for p, b in zip(G.parameters(), before))


class _Stats:
    """Just what breakdown.group reads from a pstats.Stats: .stats."""
    def __init__(self, stats):
        self.stats = stats


def test_breakdown_parts_and_pass_through_time():
    conv_file = conv.__file__
    gemm = (conv_file, conv.gemm.__code__.co_firstlineno, "gemm")
    im2col = (conv_file, conv.im2col_ref.__code__.co_firstlineno, "im2col_ref")
    engine = ("/x/minigan/autograd.py", 1, "backward")
    builtin = ("~", 0, "<built-in method numpy.empty>")
    assert breakdown.part_of(gemm) == "GEMM"
    assert breakdown.part_of(im2col) == "conv"
    assert breakdown.part_of(engine) == "Python"
    assert breakdown.part_of(builtin) is None
    for helper in ("kernels/threads.py", "kernels/layout.py"):   # their time is their callers'
        assert breakdown.part_of((f"/x/{helper}", 1, "parallel_range")) is None
    stats = {gemm: (1, 1, 3.0, 3.0, {}), im2col: (1, 1, 1.0, 1.0, {}), engine: (1, 1, 2.0, 2.0, {}),
             # 4 s in a C function: called from im2col for 3 s of it, from the engine for 1 s
             builtin: (2, 2, 4.0, 4.0, {im2col: (1, 1, 3.0, 3.0), engine: (1, 1, 1.0, 1.0)})}
    seconds = breakdown.group(_Stats(stats))
    assert seconds == {"conv": 4.0, "GEMM": 3.0, "elementwise": 0.0, "optimiser": 0.0,
                       "Python": 3.0}


def test_breakdown_profiles_a_real_step():
    step = plain_loop("minigan", batch=2)
    step()                                            # Numba's first calls, unprofiled
    result = breakdown.profile(step, iterations=1)
    assert set(result["ms_per_iteration"]) == set(breakdown.PARTS)
    assert result["ms_per_iteration"]["conv"] > 0 and result["ms_per_iteration"]["GEMM"] > 0
    assert result["total_ms_per_iteration"] == pytest.approx(
        sum(result["ms_per_iteration"].values()))
    assert sum(result["share"].values()) == pytest.approx(1.0)
