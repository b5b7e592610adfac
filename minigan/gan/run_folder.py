"""A run folder: the one class that reads and writes a training run on disk.

    RUN/config.json            the run's config: "model", its hyper-parameters, "minigan_version"
    RUN/history.jsonl          one JSON row per training step (strict JSON: NaN is written null)
    RUN/samples/step_*.npz     samples at intervals: "images" (N, C, H, W) in [-1, 1] or
                               "points" (N, D); samples/latest.png shows the newest
    RUN/plots/                 figures (`minigan plot RUN`, `minigan eval RUN`)
    RUN/checkpoints/last.npz   everything a resumed run needs (minigan.save)
    RUN/.lock                  held (flock) by the process that trains here

Safety rules, each for a reason:
- Every file is written under a unique temporary name in its own folder, then renamed
  into place (`minigan._files.atomic_path`): a reader never sees half a file, a killed
  process leaves the old file intact, and a symbolic link planted in the folder is
  replaced, never written through. The history is appended to through a descriptor opened
  with O_NOFOLLOW, after an atomic rewrite has replaced whatever stood at its path.
- One process trains in a folder at a time (`lock`); a second one is refused.
- A fresh run never lands on top of an old one: `create` refuses a folder that holds a
  run unless told to overwrite it, and `fresh_path` picks runs/dcgan-2 when runs/dcgan is
  taken.
"""
import contextlib
import errno
import json
import math
import os
import re
import shutil

import numpy as np

from .._files import atomic_path, remove_temp_files, write_text
from .._version import __version__
from ..serialization import load, save

__all__ = ["RunFolder", "RunFolderError", "read_config", "load_run"]

_STEP_FILE = re.compile(r"^step_(\d+)\.npz$")
_SUBFOLDERS = ("samples", "checkpoints", "plots")


class RunFolderError(RuntimeError):
    """A run folder that cannot be used as asked: missing, taken, locked, or damaged."""


def _strict_json(value):
    """A history value as strict JSON allows it: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunFolder:
    """The files of one run. `RunFolder(path)` only names the folder; `create` starts a run
    there, `open` reads an existing one; writing methods need the lock (`with run.lock():`).

        >>> run = RunFolder.create("runs/dcgan", config)      # refuses an existing run
        >>> with run.lock():
        ...     run.save_checkpoint(state)
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lock_fd = None
        self._history = None

    def __repr__(self):
        return f"RunFolder({self.path!r})"

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    # --- finding, creating and opening runs ---
    @staticmethod
    def holds_run(path):
        """True if `path` holds (the start of) a run: a config or a checkpoint."""
        return (os.path.exists(os.path.join(path, "config.json")) or
                os.path.exists(os.path.join(path, "checkpoints", "last.npz")))

    @staticmethod
    def fresh_path(base):
        """`base` if it holds no run, else the first free `base-2`, `base-3`, ..."""
        if not RunFolder.holds_run(base):
            return base
        n = 2
        while RunFolder.holds_run(f"{base}-{n}"):
            n += 1
        return f"{base}-{n}"

    @classmethod
    def create(cls, path, config, overwrite=False):
        """Start a new run in `path` (created if missing) and hold its lock.

        A folder that already holds a run is refused, unless `overwrite`: then its run
        files (config, history, checkpoints, samples, plots, eval.json) are removed first.
        """
        run = cls(path)
        if cls.holds_run(run.path) and not overwrite:
            raise RunFolderError(f"{run.path} already holds a run; continue it with --resume "
                                 f"{run.path}, or start over with --overwrite")
        os.makedirs(run.path, exist_ok=True)
        run.acquire_lock()
        if overwrite:
            for name in ("config.json", "history.jsonl", "eval.json"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(run.file(name))
            for sub in _SUBFOLDERS:
                shutil.rmtree(run.file(sub), ignore_errors=True)
        run._prepare()
        run.write_config(config)
        run.rewrite_history([])
        return run

    @classmethod
    def open(cls, path, lock=False):
        """An existing run (it must have a config.json); with `lock`, held for training."""
        run = cls(path)
        if not os.path.isdir(run.path):
            raise RunFolderError(f"{run.path}: no such run folder")
        if not os.path.isfile(run.file("config.json")):
            raise RunFolderError(f"{run.path} is not a minigan run folder (no config.json)")
        run.config                                   # fails early on a damaged config
        if lock:
            run.acquire_lock()
            run._prepare()
        return run

    def _prepare(self):
        """Sub-folders exist, and no temporary file of a killed writer is left over."""
        for sub in _SUBFOLDERS:
            os.makedirs(self.file(sub), exist_ok=True)
        for folder in (self.path,) + tuple(self.file(sub) for sub in _SUBFOLDERS):
            remove_temp_files(folder)

    # --- the lock: one training process per folder ---
    def acquire_lock(self):
        import fcntl
        fd = os.open(self.file(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise RunFolderError(f"another process is training in {self.path}; wait for it "
                                     "to finish (or stop it) before using this folder") from None
            raise
        self._lock_fd = fd

    def close(self):
        """Release the lock and close the history file."""
        if self._history is not None:
            self._history.close()
            self._history = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)                  # closing the descriptor drops the flock
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- config ---
    @property
    def config(self):
        try:
            with open(self.file("config.json")) as f:
                cfg = json.load(f)
        except FileNotFoundError:
            raise RunFolderError(f"{self.path} is not a minigan run folder (no config.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RunFolderError(f"{self.file('config.json')} is damaged: {err}") from None
        if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), str):
            raise RunFolderError(f"{self.file('config.json')} is damaged: expected a JSON "
                                 "object with a \"model\" name")
        return cfg

    def write_config(self, config):
        config = dict(config, minigan_version=__version__)
        write_text(self.file("config.json"), json.dumps(config, indent=2) + "\n")

    # --- history: one JSON row per step ---
    def read_history(self):
        """The rows of history.jsonl; a half-written last line (a killed run) is dropped."""
        try:
            with open(self.file("history.jsonl")) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        rows = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1:
                    break                            # torn by a kill mid-write: dropped
                raise RunFolderError(f"{self.file('history.jsonl')}: line {i + 1} is not "
                                     f"valid JSON: {line[:60]!r}") from None
            rows.append({k: (math.nan if v is None else v) for k, v in row.items()})
        return rows

    def rewrite_history(self, rows):
        """Replace history.jsonl by `rows` (atomically), then append to it from here on."""
        if self._history is not None:
            self._history.close()
        with atomic_path(self.file("history.jsonl")) as tmp:
            with open(tmp, "w") as f:
                for row in rows:
                    f.write(self._row_line(row))
        fd = os.open(self.file("history.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        self._history = os.fdopen(fd, "a")

    @staticmethod
    def _row_line(row):
        return json.dumps({k: _strict_json(v) for k, v in row.items()}, allow_nan=False) + "\n"

    def append_history(self, row):
        if self._history is None:
            raise RunFolderError(f"{self.path}: the history is not open for writing "
                                 "(create or resume the run first)")
        self._history.write(self._row_line(row))
        self._history.flush()                        # a crash keeps what was measured

    # --- checkpoints ---
    @property
    def checkpoint_path(self):
        return self.file("checkpoints", "last.npz")

    def has_checkpoint(self):
        return os.path.isfile(self.checkpoint_path)

    def save_checkpoint(self, state):
        save(state, self.checkpoint_path)            # atomic: never half-written

    def load_checkpoint(self):
        if not self.has_checkpoint():
            raise RunFolderError(f"{self.path} has no checkpoint yet "
                                 f"({self.checkpoint_path} is missing)")
        return load(self.checkpoint_path)

    # --- samples ---
    def save_samples(self, samples, step, reference=None):
        """samples/step_N.npz, and samples/latest.png: a grid of images, or for toy points
        a scatter next to `reference` (real points)."""
        from ..viz import plot_toy_1d, plot_toy_2d, save_image_grid
        samples = np.asarray(samples, dtype=np.float32)
        key = "images" if samples.ndim == 4 else "points"
        path = self.file("samples", f"step_{step:06d}.npz")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **{key: samples})
        latest = self.file("samples", "latest.png")
        if key == "images":
            save_image_grid(samples, latest, nrow=8, scale=1 if samples.shape[-1] > 16 else 2)
        else:
            real = np.asarray(reference)[:len(samples) * 4] if reference is not None else samples[:0]
            if samples.shape[1] == 2:
                plot_toy_2d(real, samples, latest, title=f"step {step}")
            else:
                plot_toy_1d(real[:, 0], samples[:, 0], latest, title=f"step {step}")
        return path

    def sample_files(self):
        """[(step, path)] of the samples/step_*.npz files, sorted by step as numbers."""
        folder = self.file("samples")
        if not os.path.isdir(folder):
            return []
        found = [(int(m.group(1)), os.path.join(folder, name)) for name in os.listdir(folder)
                 if (m := _STEP_FILE.match(name))]
        return sorted(found)

    def read_samples(self, path):
        with np.load(path) as data:
            return data["images"] if "images" in data.files else data["points"]

    # --- figures and results ---
    def plot(self, max_frames=60, nrow=8):
        """Draw the run's figures into RUN/plots from its history and samples; returns the
        written paths (empty when there is nothing to plot yet)."""
        from .. import viz
        written = []
        rows = self.read_history()
        if rows:
            written.append(viz.plot_history(rows, self.file("plots", "history.png"),
                                            title=os.path.basename(os.path.abspath(self.path))))
        samples = self.sample_files()
        if len(samples) > max_frames:
            keep = np.unique(np.linspace(0, len(samples) - 1, max_frames).round().astype(int))
            samples = [samples[i] for i in keep]
        batches = [self.read_samples(path) for _, path in samples]
        steps = [step for step, _ in samples]
        if not batches:
            return written
        if batches[-1].ndim == 2:                    # toy runs save (N, D) points
            snaps = [{"real": b[:0], "fake": b, "step": s} for s, b in zip(steps, batches)]
            if batches[-1].shape[1] == 1:
                snaps = [dict(s, real=s["fake"][:0, 0], fake=s["fake"][:, 0]) for s in snaps]
                return written + [viz.plot_toy_1d_snapshots(snaps[-6:], self.file("plots", "samples.png"))]
            return written + [viz.plot_toy_2d_snapshots(snaps[-8:], self.file("plots", "samples.png")),
                              viz.save_toy_2d_animation(snaps, self.file("plots", "samples.gif"))]
        written.append(viz.save_grid_animation(batches, self.file("plots", "samples.gif"),
                                               titles=[f"step {s}" for s in steps], nrow=nrow))
        written.append(viz.save_image_grid(batches[-1], self.file("plots", "samples_last.png"),
                                           nrow=nrow, scale=2))
        return written

    def write_json(self, name, obj):
        """RUN/name as indented JSON (results such as eval.json)."""
        text = json.dumps(obj, indent=2, default=lambda v: np.asarray(v).tolist())
        return write_text(self.file(name), text + "\n")


def read_config(run_dir):
    """The config dict of the run in `run_dir`."""
    return RunFolder.open(run_dir).config


def load_run(run_dir):
    """(gan, dataset, config): a GAN run rebuilt from its config, its last checkpoint loaded.

    `gan.generate(z)` then draws from the trained generator (its EMA, if the run kept one).
    """
    from .recipes import build
    from .trainer import restore_parts
    run = RunFolder.open(run_dir)
    cfg = run.config
    gan, dataset = build(cfg)
    restore_parts(gan.parts(), run.load_checkpoint(), run.checkpoint_path)
    return gan, dataset, cfg
