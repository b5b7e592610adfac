"""The run folder of an application, in the layout of `minigan train` runs:

    RUN/config.json            the config, with "model"
    RUN/history.jsonl          one row per step (gan.Monitor)
    RUN/samples/step_*.npz     image strips (key "images"), and samples/latest.png
    RUN/plots/                 figures (`minigan plot RUN`, `minigan eval RUN`)
    RUN/checkpoints/last.npz   models, optimisers, step, random state (minigan.save)
"""
import json
import os

import numpy as np

from .monitor import Monitor
from ..random import get_rng_state, set_rng_state
from ..serialization import load, save

__all__ = ["RunFolder", "read_config", "load_run"]


def read_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} is not a minigan run folder (no config.json)")
    with open(path) as f:
        return json.load(f)


class RunFolder:
    """Folders, config, monitor, samples and checkpoints of one run (run_dir=None: in memory)."""

    def __init__(self, run_dir, config=None, resume=False):
        self.run_dir = run_dir
        self.monitor = Monitor(None)
        if run_dir is None:
            return
        for sub in ("samples", "checkpoints", "plots"):
            os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
        self.monitor.path = os.path.join(run_dir, "history.jsonl")
        if resume:
            if os.path.exists(self.monitor.path):
                self.monitor.rows = Monitor.read(self.monitor.path)
        else:
            if os.path.exists(self.monitor.path):
                os.remove(self.monitor.path)          # a fresh run starts a fresh history
            with open(os.path.join(run_dir, "config.json"), "w") as f:
                json.dump(config, f, indent=2)

    def path(self, *parts):
        return os.path.join(self.run_dir, *parts)

    def save_samples(self, images, step, nrow=8):
        """An image strip (N, 1, H, W) in [-1, 1]: samples/step_*.npz and samples/latest.png."""
        if self.run_dir is None:
            return None
        from ..viz import save_image_grid
        images = np.asarray(images, dtype=np.float32)
        path = self.path("samples", f"step_{step:06d}.npz")
        np.savez(path, images=images)
        save_image_grid(images, self.path("samples", "latest.png"), nrow=nrow, scale=2)
        return path

    def save_checkpoint(self, state):
        if self.run_dir is not None:
            state = dict(state, rng=json.dumps(get_rng_state()))
            save(state, self.path("checkpoints", "last.npz"))        # atomic

    def load_checkpoint(self, restore_rng=True):
        state = load(self.path("checkpoints", "last.npz"))
        if restore_rng and "rng" in state:
            set_rng_state(json.loads(state["rng"]))
        return state

    def truncate(self, step):
        self.monitor.truncate(step)


def load_run(run_dir):
    """(trainer, dataset, config) with the run's last checkpoint loaded."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} is not a minigan run folder (no config.json)")
    with open(path) as f:
        cfg = json.load(f)
    from .recipes import build_trainer
    trainer, dataset = build_trainer(cfg, None)
    trainer.run_dir = run_dir
    trainer.load_state_dict(load(os.path.join(run_dir, "checkpoints", "last.npz")))
    return trainer, dataset, cfg
