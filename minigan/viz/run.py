"""Draw every figure a run folder has data for: `minigan plot RUN` calls `plot_run(RUN)`.

A run folder, as the GAN toolkit writes it:

    RUN/history.jsonl          one JSON dict per training step (see `plot_history`)
    RUN/samples/step_000500.npz  each with an `images` array (N, C, H, W) in [-1, 1]
    RUN/plots/                 written here: history.png, samples.gif, samples_last.png
"""
import os
import re

import numpy as np

from .history import load_history, plot_history
from .images import save_grid_animation, save_image_grid

_STEP_FILE = re.compile(r"^step_(\d+)\.npz$")


def sample_files(samples_dir):
    """[(step, path)] of the `step_*.npz` files in `samples_dir`, sorted by step number.

    Sorted as numbers, not as text: step_1000 comes after step_200.
    """
    if not os.path.isdir(samples_dir):
        return []
    found = []
    for name in os.listdir(samples_dir):
        m = _STEP_FILE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(samples_dir, name)))
    return sorted(found)


def plot_run(run_dir, max_frames=60, nrow=8):
    """Draw the figures of a run folder into `run_dir/plots/`; returns the written paths.

    history.jsonl -> plots/history.png; samples/step_*.npz -> plots/samples.gif (at most
    `max_frames` frames, evenly spaced, always keeping the last) and plots/samples_last.png.
    Missing inputs are skipped, so this works on a run that is still in progress.

        >>> plot_run("runs/dcgan_mnist")
        ['runs/dcgan_mnist/plots/history.png', 'runs/dcgan_mnist/plots/samples.gif',
         'runs/dcgan_mnist/plots/samples_last.png']
    """
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"plot_run: no run folder at {run_dir!r}")
    plots = os.path.join(run_dir, "plots")
    written = []

    history_path = os.path.join(run_dir, "history.jsonl")
    if os.path.isfile(history_path) and load_history(history_path):
        written.append(plot_history(history_path, os.path.join(plots, "history.png"),
                                    title=os.path.basename(os.path.abspath(run_dir))))

    samples = sample_files(os.path.join(run_dir, "samples"))
    if samples:
        if len(samples) > max_frames:
            keep = np.unique(np.linspace(0, len(samples) - 1, max_frames).round().astype(int))
            samples = [samples[i] for i in keep]
        batches = []
        for _, path in samples:
            with np.load(path) as data:
                batches.append(data["images"] if "images" in data.files else data["points"])
        if batches[-1].ndim == 2:                 # toy runs save (N, D) points, not images
            return written + _plot_toy_samples(samples, batches, plots)
        written.append(save_grid_animation(batches, os.path.join(plots, "samples.gif"),
                                           titles=[f"step {step}" for step, _ in samples],
                                           nrow=nrow))
        written.append(save_image_grid(batches[-1], os.path.join(plots, "samples_last.png"),
                                       nrow=nrow, scale=2))
    return written


def _plot_toy_samples(samples, batches, plots):
    """Toy runs: generated points per snapshot, as panels and as a GIF."""
    from .toy import plot_toy_1d_snapshots, plot_toy_2d_snapshots, save_toy_2d_animation
    if batches[-1].shape[1] == 1:
        snaps = [{"real": b[:, 0] * 0, "fake": b[:, 0], "step": step}
                 for (step, _), b in zip(samples, batches)][-6:]
        return [plot_toy_1d_snapshots(snaps, os.path.join(plots, "samples.png"))]
    snaps = [{"real": b[:0], "fake": b, "step": step} for (step, _), b in zip(samples, batches)]
    return [plot_toy_2d_snapshots(snaps[-8:], os.path.join(plots, "samples.png")),
            save_toy_2d_animation(snaps, os.path.join(plots, "samples.gif"))]
