"""Runs that never lose or mix data: the run folder, the NaN guard, signals and the CLI's
errors. Each test is a reproduction of a failure a user met (issue 14, parts 3 to 5)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigan as mg
from minigan import optim
from minigan.cli import main
from minigan.data import ring_of_gaussians
from minigan.gan import (GAN, MLPDiscriminator, MLPGenerator, NonFiniteError, RunFolder,
                         RunFolderError, Trainer)

pytestmark = pytest.mark.slow      # trainings and CLI subprocesses


def run_cli(*args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "minigan", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


def train_toy(cwd, *extra):
    out = run_cli("train", "gan", "--steps", "20", "--quiet", *extra, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out


def assert_one_line_error(out, *fragments, code=2):
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minigan: error: "), out.stderr
    assert "Traceback" not in out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A finished 20-step toy run (copied by the tests that change it)."""
    cwd = tmp_path_factory.mktemp("toy")
    train_toy(cwd, "--out", "run", "--sample-every", "10", "--checkpoint-every", "10")
    return cwd / "run"


def copy_run(toy_run, tmp_path):
    import shutil
    shutil.copytree(toy_run, tmp_path / "run")
    return tmp_path / "run"


# --- 3. run folders ---
@pytest.mark.parametrize("command, link", [
    (["plot", "run"], "plots/history.png"),
    (["eval", "run", "-n", "50"], "eval.json"),
    (["train", "gan", "--resume", "run", "--steps", "30", "--quiet", "--sample-every", "5"],
     "samples/latest.png"),
    (["train", "gan", "--resume", "run", "--steps", "30", "--quiet"], "checkpoints/last.npz"),
    (["train", "gan", "--resume", "run", "--steps", "30", "--quiet"], "history.jsonl"),
])
def test_writes_replace_a_symlink_in_the_run_folder_and_never_follow_it(toy_run, tmp_path,
                                                                       command, link):
    run = copy_run(toy_run, tmp_path)
    target = run / link
    # The link points outside the run, at a file holding what the run's file held (so a
    # resume can still read through it): reading through a link is fine, writing is not.
    precious = tmp_path / ("precious" + target.suffix)
    if target.exists():
        os.replace(target, precious)
    else:
        precious.write_text("do not touch")
    original = precious.read_bytes()
    os.symlink(precious, target)
    out = run_cli(*command, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert precious.read_bytes() == original
    assert not target.is_symlink() and target.is_file()


def test_default_out_picks_a_fresh_folder_and_says_so(tmp_path):
    train_toy(tmp_path)
    second = train_toy(tmp_path)
    assert "runs/gan holds another run; this one goes to runs/gan-2" in second.stdout
    first_rows = (tmp_path / "runs/gan/history.jsonl").read_text().splitlines()
    assert len(first_rows) == 20                      # the first run was not touched
    assert len((tmp_path / "runs/gan-2/history.jsonl").read_text().splitlines()) == 20


def test_explicit_out_holding_a_run_is_refused_unless_overwrite(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    before = (run / "checkpoints/last.npz").read_bytes()
    out = run_cli("train", "dcgan", "--out", "run", "--steps", "2", cwd=tmp_path)
    assert_one_line_error(out, "run already holds a run", "--resume run", "--overwrite")
    assert (run / "checkpoints/last.npz").read_bytes() == before
    out = run_cli("train", "gan", "--out", "run", "--steps", "5", "--overwrite", "--quiet",
                  "--sample-every", "5", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(5))        # one history, from step 0
    assert sorted(os.listdir(run / "samples")) == ["latest.png", "step_000005.npz"]


def test_a_second_process_cannot_train_in_a_locked_folder(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    with RunFolder.open(run, lock=True):
        out = run_cli("train", "gan", "--resume", "run", "--steps", "30", cwd=tmp_path)
    assert_one_line_error(out, "another process is training in run")
    rows = (run / "history.jsonl").read_text().splitlines()
    assert len(rows) == 20


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_finishes_the_step_checkpoints_and_says_how_to_resume(tmp_path, sig, code):
    proc = subprocess.Popen([sys.executable, "-m", "minigan", "train", "gan", "--steps", "100000",
                             "--out", "run", "--quiet", "--checkpoint-every", "100000",
                             "--sample-every", "100000"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    history = tmp_path / "run" / "history.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not history.exists() or
                                      len(history.read_text().splitlines()) < 30):
        time.sleep(0.2)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr
    assert "resume with: minigan train gan --resume run" in stdout
    state = mg.load(tmp_path / "run" / "checkpoints" / "last.npz")
    rows = history.read_text().splitlines()
    assert int(state["step"]) == len(rows) >= 30      # nothing measured is lost
    out = run_cli("train", "gan", "--resume", "run", "--steps", str(len(rows) + 5), "--quiet",
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(history.read_text().splitlines()) == len(rows) + 5


def test_resume_cuts_a_torn_history_and_the_steps_after_the_checkpoint(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    with open(run / "history.jsonl", "a") as f:
        f.write('{"step": 20, "loss_d": 1.3}\n{"step": 21, "loss_')        # killed mid-write
    out = run_cli("train", "gan", "--resume", "run", "--steps", "25", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(25))


def test_temporary_files_of_a_killed_writer_are_cleaned_up(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    for name in ("checkpoints/.tmp-abc.npz", "samples/.tmp-def.png", ".tmp-x.json"):
        (run / name).write_bytes(b"half a file")
    out = run_cli("train", "gan", "--resume", "run", "--steps", "21", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    leftovers = [str(p) for p in run.rglob(".tmp-*")]
    assert leftovers == []


def test_resume_refuses_conflicting_flags_and_another_models_folder(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    out = run_cli("train", "gan", "--resume", "run", "--lr-g", "0.5", "--batch-size", "8",
                  cwd=tmp_path)
    assert_one_line_error(out, "--lr-g 0.5 (the run has 0.001)", "--batch-size 8 (the run has 256)")
    out = run_cli("train", "dcgan", "--resume", "run", cwd=tmp_path)
    assert_one_line_error(out, "run holds a gan run, not dcgan")
    out = run_cli("train", "gan", "--resume", "run", "--lr-g", "0.001", "--steps", "22",
                  "--quiet", cwd=tmp_path)                  # equal to the run's: fine
    assert out.returncode == 0, out.stderr
    assert "resume: steps = 22" in out.stdout
    assert json.loads((run / "config.json").read_text())["steps"] == 22


def test_history_is_strict_json(tmp_path):
    run = RunFolder.create(tmp_path / "run", {"model": "gan"})
    run.append_history({"step": 0, "loss_d": float("nan"), "loss_g": float("inf"), "x": 1.5})
    run.close()
    line = (tmp_path / "run" / "history.jsonl").read_text()

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    row = json.loads(line, parse_constant=refuse)
    assert row == {"step": 0, "loss_d": None, "loss_g": None, "x": 1.5}
    assert np.isnan(RunFolder.open(tmp_path / "run").read_history()[0]["loss_d"])


# --- 4. one NaN guard for every loop ---
def toy_gan(lr=1e-3):
    mg.manual_seed(0)
    data = ring_of_gaussians(256).tensors[0]
    return GAN(MLPGenerator(hidden=16, layers=2), MLPDiscriminator(hidden=16, layers=2), data,
               lr_g=lr, lr_d=lr, batch_size=32)


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -1e-3])
def test_a_bad_learning_rate_is_refused_at_the_start(lr):
    gan = toy_gan()
    gan.opt_g.param_groups[0]["lr"] = lr            # Adam itself refuses only lr < 0
    with pytest.raises(ValueError, match="learning rate of parameter group 0 must be a finite "
                       "number above 0"):
        Trainer(gan.step, gan.parts(), gan.sample)


def test_non_finite_weights_after_an_update_stop_the_run_and_are_never_saved(tmp_path):
    gan = toy_gan()
    run = RunFolder.create(tmp_path / "run", {"model": "gan"})

    def step(i):
        row = gan.step(i)
        if i == 3:                                   # an update that blew a weight up
            with mg.no_grad():
                gan.G.net[0].weight[0, 0] = float("nan")
        return row
    trainer = Trainer(step, gan.parts(), gan.sample, run=run, checkpoint_every=1)
    with pytest.raises(NonFiniteError, match=r"step 3: a weight of G\.net\.0\.weight is not "
                       r"finite after the update; training stopped\. The last checkpoint, "
                       r"from step 3, is intact"):
        trainer.fit(10, progress=False)
    run.close()
    state = mg.load(run.checkpoint_path)
    assert int(state["step"]) == 3
    assert all(np.isfinite(v.numpy()).all() for v in state["G"].values())


def test_the_guard_says_when_no_checkpoint_was_written(tmp_path):
    gan = toy_gan()
    run = RunFolder.create(tmp_path / "run", {"model": "gan"})

    def step(i):
        return dict(gan.step(i), loss_d=float("nan") if i == 2 else 0.5)
    trainer = Trainer(step, gan.parts(), gan.sample, run=run, checkpoint_every=100)
    with pytest.raises(NonFiniteError, match=r"step 2: loss_d is nan; training stopped\. No "
                       r"checkpoint was written\."):
        trainer.fit(10, progress=False)
    run.close()
    assert not run.has_checkpoint()


@pytest.mark.parametrize("app_name", ["pix2pix", "cyclegan", "inpaint"])
def test_the_image_apps_are_guarded_too(tmp_path, monkeypatch, app_name):
    from minigan.apps import APPS, cyclegan, pix2pix
    cls = APPS[app_name][0]
    app = cls(dict(steps=4, batch_size=4, base=4, seed=0))
    nan_loss = lambda *args, **kwargs: (args[0] * np.nan).mean()
    # The reconstruction terms turn NaN (inpainting's step is pix2pix's, with a mask).
    for module, name in ((pix2pix, "l1"), (pix2pix, "masked_l1"), (cyclegan, "cycle_loss")):
        monkeypatch.setattr(module, name, nan_loss)
    run = RunFolder.create(tmp_path / app_name, {"model": app_name})
    trainer = Trainer(app.step, app.parts(), app.sample, run=run, checkpoint_every=1)
    with pytest.raises(NonFiniteError, match=r"step 0: loss_g is nan before (G.s|the generators.) update; training stopped\. No checkpoint was written"):
        trainer.fit(4, progress=False)
    run.close()
    assert not run.has_checkpoint()


# --- 5. the CLI: one line per user error, validation at parse time ---
@pytest.mark.parametrize("args, fragment", [
    (["train", "gan", "--steps", "-5"], "--steps: must be an integer of at least 1, got -5"),
    (["train", "gan", "--batch-size", "-4"], "--batch-size: must be an integer of at least 1"),
    (["train", "gan", "--checkpoint-every", "0"], "--checkpoint-every: must be an integer of at least 1"),
    (["train", "gan", "--sample-every", "0"], "--sample-every: must be an integer of at least 1"),
    (["train", "gan", "--epochs", "0"], "--epochs: must be a finite number above 0"),
    (["train", "gan", "--n-critic", "0"], "--n-critic: must be an integer of at least 1"),
    (["train", "gan", "--lr-g", "nan"], "--lr-g: must be a finite number above 0, got nan"),
    (["train", "gan", "--lr-d", "-1"], "--lr-d: must be a finite number above 0, got -1"),
    (["train", "gan", "--seed", "-1"], "--seed: must be an integer of at least 0, got -1"),
    (["sample", "run", "-n", "0"], "-n: must be an integer of at least 1, got 0"),
    (["eval", "run", "-n", "0"], "-n: must be an integer of at least 1, got 0"),
    (["sample", "run", "--labels", "a,b"], "--labels: expected comma-separated digits"),
])
def test_bad_flags_are_refused_at_parse_time(capsys, args, fragment):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("minigan: error: ") and fragment in err[0], err


def test_user_errors_are_one_line_and_debug_shows_the_traceback(toy_run, tmp_path):
    out = run_cli("eval", "missing", cwd=tmp_path)
    assert_one_line_error(out, "missing: no such run folder")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    out = run_cli("sample", "broken", cwd=tmp_path)
    assert_one_line_error(out, "broken/config.json is damaged")
    out = run_cli("train", "gan", "--device", "cuda", "--out", "gpu", cwd=tmp_path)
    assert_one_line_error(out, "--device cuda needs CuPy")
    run = copy_run(toy_run, tmp_path)
    out = run_cli("sample", "run", "--labels", "1,2", cwd=tmp_path)
    assert_one_line_error(out, "--labels needs a conditional model; this run is a gan")
    out = run_cli("plot", "broken", cwd=tmp_path)
    assert_one_line_error(out, "broken/config.json is damaged")
    env = dict(os.environ, MINIGAN_DEBUG="1")
    out = run_cli("eval", "missing", cwd=tmp_path, env=env)
    assert out.returncode != 0 and "Traceback" in out.stderr
    assert run.exists()


def test_a_checkpoint_of_another_model_is_a_clear_error(toy_run, tmp_path):
    cgan = tmp_path / "cgan"
    out = run_cli("train", "cgan", "--steps", "1", "--batch-size", "8", "--out", "cgan",
                  "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run = copy_run(toy_run, tmp_path)
    os.replace(cgan / "checkpoints" / "last.npz", run / "checkpoints" / "last.npz")
    out = run_cli("sample", "run", cwd=tmp_path)
    assert_one_line_error(out, "run/checkpoints/last.npz", "does not fit this run's G")


def test_plot_with_nothing_to_plot_fails(tmp_path):
    RunFolder.create(tmp_path / "empty", {"model": "gan"}).close()
    out = run_cli("plot", "empty", cwd=tmp_path)
    assert_one_line_error(out, "empty has nothing to plot yet")


def test_sample_generates_in_bounded_chunks_and_writes_exactly_the_path(toy_run, tmp_path,
                                                                         monkeypatch):
    from minigan.cli import runs
    from minigan.gan import GAN as GANClass
    monkeypatch.setattr(runs, "CHUNK", 64)
    seen = []
    original = GANClass.generate

    def spy(self, z, labels=None):
        seen.append(z.shape[0])
        return original(self, z, labels)
    monkeypatch.setattr(GANClass, "generate", spy)
    run = copy_run(toy_run, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "run", "-n", "1000", "-o", "out"]) == 0
    assert max(seen) <= 64 and sum(seen) == 1000
    assert (tmp_path / "out").is_file() and not (tmp_path / "out.npz").exists()
    with np.load(tmp_path / "out") as data:
        assert data["points"].shape == (1000, 2)
        first = data["points"][:10].copy()
    assert main(["sample", "run", "-n", "10", "-o", "few.npz"]) == 0
    with np.load(tmp_path / "few.npz") as data:      # chunks draw the same z as one batch
        # (float32 GEMMs of other batch sizes may round the last bit differently)
        np.testing.assert_allclose(data["points"], first, rtol=1e-5, atol=1e-6)
    assert main(["sample", "run", "-n", "9", "-o", "grid.png"]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "adir").mkdir()
    assert main(["sample", "run", "-o", "adir"]) == 2      # a folder is not a file name
    assert os.listdir(tmp_path / "adir") == [] and run.exists()


def test_sample_png_of_images_and_npz_in_unit_range(tmp_path):
    out = run_cli("train", "cgan", "--steps", "1", "--batch-size", "8", "--out", "run",
                  "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = run_cli("sample", "run", "-n", "12", "-o", "g.png", "--labels", "3", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import matplotlib.image
    grid = matplotlib.image.imread(tmp_path / "g.png")
    assert grid.shape[0] > 28 * 3 and grid.shape[1] > 28 * 3   # 12 images: a 4x3 grid
    out = run_cli("sample", "run", "-n", "6", "--labels", "11", cwd=tmp_path)
    assert_one_line_error(out, "--labels: this model draws classes 0 to 9, got [11]")


# --- runs written before this version ---
def test_a_checkpoint_of_the_old_trainer_still_loads(toy_run, tmp_path):
    """minigan 0.1's Trainer saved G, D, opt_g, opt_d, step, sampler, rng and fixed_z, and
    no version: the one loop reads those names, so old runs resume."""
    run = copy_run(toy_run, tmp_path)
    state = mg.load(run / "checkpoints" / "last.npz")
    state.pop("minigan_version")
    assert set(state) == {"G", "D", "opt_g", "opt_d", "step", "sampler", "rng", "fixed_z"}
    mg.save(state, run / "checkpoints" / "last.npz")
    out = run_cli("train", "gan", "--resume", "run", "--steps", "25", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "resuming run at step 20 of 25" in out.stdout


def test_a_checkpoint_missing_a_part_names_the_version_that_wrote_it(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path)
    state = mg.load(run / "checkpoints" / "last.npz")
    state.pop("minigan_version")
    state.pop("fixed_z")
    mg.save(state, run / "checkpoints" / "last.npz")
    out = run_cli("sample", "run", cwd=tmp_path)
    assert_one_line_error(out, "was written by minigan 0.1 or older and has no fixed_z")


def test_run_files_get_the_permissions_the_umask_gives(tmp_path):
    old = os.umask(0o027)
    try:
        run = RunFolder.create(tmp_path / "run", {"model": "gan"})
        run.save_samples(np.zeros((2, 1, 8, 8)), 0)
        run.save_checkpoint({"step": 0})
        run.close()
    finally:
        os.umask(old)
    for name in ("config.json", "history.jsonl", "samples/step_000000.npz",
                 "samples/latest.png", "checkpoints/last.npz"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o640, name
