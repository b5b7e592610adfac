"""Shared plumbing for the plotting modules: figures without pyplot, saving, GIF writing.

Why no `matplotlib.pyplot`? pyplot keeps a global list of open figures and picks a GUI
backend; a training script that plots every 100 steps would leak figures (or pop windows).
A bare `Figure` with an Agg canvas is just an object: it draws to memory, is saved to a
file, and is garbage-collected like any other object when the function returns.
matplotlib is imported inside the functions so that `import minigan` stays quick.
"""
import os

import numpy as np

from .._files import atomic_path

# One colour per player, used by every figure so that a learner can read them at a glance:
# the discriminator and the real data in blue, the generator and its samples in orange.
COLOR_D = "tab:blue"
COLOR_G = "tab:orange"
COLOR_REAL = COLOR_D
COLOR_FAKE = COLOR_G


def to_numpy(x, dtype=None):
    """A NumPy array from a list, an array or a minigan Tensor (Tensors support __array__)."""
    array = np.asarray(x)
    return array if dtype is None else array.astype(dtype, copy=False)


def new_figure(figsize=(6.4, 4.8), dpi=100):
    """A matplotlib Figure drawn by the Agg (raster, headless) canvas; no pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)        # attaches itself as fig.canvas
    return fig


def prepare_path(path):
    """`path` as a string, with its parent folder created."""
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return path


def save_figure(fig, path, dpi=None):
    """Save `fig` to `path` (format from the extension, PNG usually) and return the path.

    Written to a temporary file first, then renamed over `path`: a reader never sees half a
    PNG, and a symbolic link at `path` is replaced, never written through.
    """
    path = prepare_path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    fig.clear()                 # drop the artists now; the Figure itself is garbage-collected
    return path


def save_animation(fig, draw_frame, n_frames, path, fps=4, dpi=None):
    """Write a GIF: for i in range(n_frames), `draw_frame(i)` updates `fig`, then a frame is grabbed.

    Uses matplotlib's PillowWriter (Pillow is a matplotlib dependency).
    NOTE: a GIF encoder may merge two consecutive frames that are pixel-identical into one
    longer frame, so give each frame something distinct (a title with the step, say).
    """
    from matplotlib.animation import PillowWriter
    if n_frames < 1:
        raise ValueError("save_animation: need at least one frame, got 0")
    path = prepare_path(path)
    writer = PillowWriter(fps=fps)
    with atomic_path(path) as tmp:
        with writer.saving(fig, tmp, dpi=dpi or fig.dpi):
            for i in range(n_frames):
                draw_frame(i)
                writer.grab_frame()
    fig.clear()
    return path


def grid_shape(n_panels, ncols):
    """(rows, cols) of a panel grid holding `n_panels` with at most `ncols` columns."""
    cols = max(1, min(ncols, n_panels))
    rows = (n_panels + cols - 1) // cols
    return rows, cols
