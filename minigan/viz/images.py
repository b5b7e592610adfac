"""Sample grids, their animation over training, and latent-space interpolation.

Images come as a batch (N, C, H, W) with C = 1 (grey) or 3 (RGB), as a generator outputs
them; a grey batch may also be (N, H, W). Pixel values are mapped from `value_range`
(tanh outputs: (-1, 1)) to 0..255.
"""
import os

import numpy as np

from .._files import atomic_path
from ._common import new_figure, prepare_path, save_animation, save_figure, to_numpy


def _as_batch(images):
    """(N, C, H, W) float array from (N, C, H, W) or (N, H, W)."""
    images = to_numpy(images)
    if images.ndim == 3:
        images = images[:, None]                    # (N, H, W) -> (N, 1, H, W)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, C, H, W) with C=1 or 3 (or (N, H, W)), "
                         f"got {images.shape}")
    return images.astype(np.float64)


def _to_uint8(images, value_range):
    """Map `value_range` to 0..255 (values outside are clipped); None: the batch's min..max."""
    if value_range is None:
        lo, hi = float(images.min()), float(images.max())
    else:
        lo, hi = value_range
    scale = (hi - lo) if hi > lo else 1.0          # a constant batch maps to 0 (no 0/0)
    unit = np.clip((images - lo) / scale, 0.0, 1.0)
    return np.round(unit * 255.0).astype(np.uint8)


def image_grid_array(images, nrow=8, value_range=(-1, 1), padding=2, pad_value=255):
    """Tile a batch into one uint8 image: `nrow` images per row, `padding` pixels between.

    Returns (H', W') for grey images, (H', W', 3) for RGB. Image i sits at grid row i // nrow,
    column i % nrow; its top-left pixel is at
    (padding + row * (H + padding), padding + col * (W + padding)).

        >>> batch = np.zeros((10, 1, 28, 28))           # 10 grey 28x28 images in [-1, 1]
        >>> image_grid_array(batch, nrow=5).shape       # 2 rows of 5, 2-pixel borders
        (62, 152)
    """
    batch = _to_uint8(_as_batch(images), value_range)  # (N, C, H, W) uint8
    n, c, h, w = batch.shape
    if n == 0:
        raise ValueError("image_grid_array: the batch is empty")
    cols = max(1, min(nrow, n))
    rows = (n + cols - 1) // cols
    grid = np.full((c, padding + rows * (h + padding), padding + cols * (w + padding)),
                   pad_value, dtype=np.uint8)         # (C, H', W')
    for i in range(n):
        top = padding + (i // cols) * (h + padding)
        left = padding + (i % cols) * (w + padding)
        grid[:, top:top + h, left:left + w] = batch[i]
    # Channels last, as image files and imshow want them; grey images lose the channel axis.
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images, path, nrow=8, value_range=(-1, 1), padding=2, scale=1):
    """Save a batch as one PNG grid, pixel for pixel (each pixel enlarged `scale` times).

        >>> save_image_grid(fake_images, "plots/samples.png", nrow=8)
        'plots/samples.png'
    """
    import matplotlib.image
    grid = image_grid_array(images, nrow=nrow, value_range=value_range, padding=padding)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)   # nearest-neighbour zoom
    path = prepare_path(path)
    # imsave writes the array's pixels exactly (no axes, no resampling), unlike a figure.
    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, grid, cmap="gray" if grid.ndim == 2 else None,
                                vmin=0, vmax=255, format=os.path.splitext(path)[1][1:] or "png")
    return path


def _as_grid(item, nrow, value_range):
    """A uint8 grid from an item of `save_grid_animation`: a batch, or an already-made grid.

    An already-made grid is 2-D (grey) or a uint8 (H, W, 3) array; 4-D arrays and other
    3-D arrays are batches ((N, C, H, W) and (N, H, W)).
    """
    array = to_numpy(item)
    is_rgb_grid = array.ndim == 3 and array.shape[-1] == 3 and array.dtype == np.uint8
    is_grid = array.ndim == 2 or is_rgb_grid
    return array if is_grid else image_grid_array(array, nrow=nrow, value_range=value_range)


def _show_image(ax, image):
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_axis_off()


def save_grid_animation(frames, path, fps=4, titles=None, nrow=8, value_range=(-1, 1)):
    """An animated GIF of sample grids, one frame per item: watch the generator learn.

    Each item is a batch (N, C, H, W) (tiled with `nrow`, `value_range`) or a grid from
    `image_grid_array`. Keep the latent vectors fixed between snapshots so that each cell of
    the grid follows one z through training.

        >>> save_grid_animation(batches, "plots/samples.gif", titles=[f"step {s}" for s in steps])
        'plots/samples.gif'
    """
    grids = [_as_grid(f, nrow, value_range) for f in frames]
    if not grids:
        raise ValueError("save_grid_animation: no frames given")
    if titles is not None and len(titles) != len(grids):
        raise ValueError(f"save_grid_animation: {len(titles)} titles for {len(grids)} frames")
    h, w = grids[0].shape[:2]
    inches = 4.0 / max(h, w)                        # the longest side is 4 inches
    fig = new_figure(figsize=(w * inches, h * inches + (0.4 if titles else 0.0)), dpi=100)
    ax = fig.add_axes([0.0, 0.0, 1.0, h * inches / fig.get_figheight()])

    def draw(i):
        ax.clear()
        _show_image(ax, grids[i])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=10)

    return save_animation(fig, draw, len(grids), path, fps=fps)


def plot_interpolation(images_rows, path, value_range=(-1, 1), row_labels=None, title=None):
    """Latent interpolations: row r shows the T images decoded along one path z0 -> z1.

    `images_rows` has shape (R, T, C, H, W) (or (R, T, H, W) for grey). Smooth rows mean the
    generator maps nearby latents to nearby images; sudden jumps hint at memorisation or
    collapse.

        >>> z = interpolate_latents(z0, z1, steps=8)                   # (8, dim)
        >>> rows = G(minigan.tensor(z)).numpy()[None]                  # (1, 8, C, H, W)
        >>> plot_interpolation(rows, "plots/interpolation.png")
        'plots/interpolation.png'
    """
    rows = to_numpy(images_rows)
    if rows.ndim == 4:
        rows = rows[:, :, None]                      # (R, T, H, W) -> (R, T, 1, H, W)
    if rows.ndim != 5:
        raise ValueError(f"plot_interpolation: expected (R, T, C, H, W), got {rows.shape}")
    r, t, c, h, w = rows.shape
    padding = 2
    grid = image_grid_array(rows.reshape(r * t, c, h, w), nrow=t, value_range=value_range,
                            padding=padding)
    fig = new_figure(figsize=(min(1.0 * t + 1.0, 16.0), min(1.0 * r + 0.8, 16.0) * 1.0))
    ax = fig.add_subplot(1, 1, 1)
    _show_image(ax, grid)
    ax.set_axis_on()
    # Tick each column with its interpolation weight t in [0, 1], each row with its label.
    ax.set_xticks([padding + j * (w + padding) + w / 2 for j in range(t)])
    ax.set_xticklabels([f"{j / max(t - 1, 1):.2g}" for j in range(t)], fontsize=8)
    ax.set_xlabel("interpolation weight t  (z0 -> z1)")
    ax.set_yticks([padding + i * (h + padding) + h / 2 for i in range(r)])
    ax.set_yticklabels(row_labels if row_labels is not None else [str(i) for i in range(r)],
                       fontsize=8)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "Latent-space interpolation")
    return save_figure(fig, path)


def interpolate_latents(z0, z1, steps, method="slerp"):
    """`steps` latents from z0 to z1 (both included), shape (steps, *z0.shape).

    "linear": (1 - t) z0 + t z1. For Gaussian latents in many dimensions the midpoint is
    much shorter than typical samples (|z| concentrates near sqrt(dim)), so the generator
    sees atypical inputs there.
    "slerp" (spherical): walk along the great circle between the two directions; when
    |z0| = |z1| every point keeps that norm, so every point stays a typical latent.
        slerp(t) = sin((1-t) w) / sin(w) z0 + sin(t w) / sin(w) z1,  cos w = <z0, z1>/(|z0||z1|)

        >>> interpolate_latents(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 3)
        array([[1.        , 0.        ],
               [0.70710678, 0.70710678],
               [0.        , 1.        ]])
    """
    z0, z1 = to_numpy(z0, np.float64), to_numpy(z1, np.float64)
    if z0.shape != z1.shape:
        raise ValueError(f"interpolate_latents: z0 and z1 must have the same shape, "
                         f"got {z0.shape} and {z1.shape}")
    if steps < 2:
        raise ValueError(f"interpolate_latents: steps must be at least 2, got {steps}")
    t = np.linspace(0.0, 1.0, steps).reshape((steps,) + (1,) * z0.ndim)   # (steps, 1, ...)
    if method == "linear":
        return (1.0 - t) * z0 + t * z1
    if method != "slerp":
        raise ValueError(f"interpolate_latents: method must be 'slerp' or 'linear', got {method!r}")
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    cos = np.clip(np.sum(z0 * z1) / (n0 * n1), -1.0, 1.0) if n0 > 0 and n1 > 0 else 1.0
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:
        # NOTE: (anti)parallel vectors: the great circle is undefined (parallel) or not
        # unique (opposite); fall back to the straight line.
        return (1.0 - t) * z0 + t * z1
    return (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


HOLE_COLOUR = (230, 60, 40)      # missing pixels: red, so a hole never hides in a black background


def _cell_rgb(image, hole, value_range):
    """One (C, H, W) image as (H, W, 3) uint8, with `hole` (H, W) pixels painted in red."""
    rgb = _to_uint8(image[None], value_range)[0]                 # (C, H, W)
    rgb = np.repeat(rgb, 3, axis=0) if rgb.shape[0] == 1 else rgb
    rgb = rgb.transpose(1, 2, 0).copy()                          # (H, W, 3)
    if hole is not None:
        rgb[hole] = HOLE_COLOUR
    return rgb


def plot_image_rows(rows, path, title=None, group_titles=None, value_range=(-1, 1)):
    """A table of images: one labelled row per method, one column per example.

    rows: a list of dicts, every row with the same number n of images:
        "label"     the row's name, shown on the left ("L1 only\\n21.3 dB")
        "images"    (n, C, H, W) or (n, H, W)
        "captions"  optional list of n strings shown under the images ("" for none)
        "holes"     optional (n, H, W) or (n, 1, H, W) bool: pixels to paint red (the
                    missing region of an inpainting input, which is black on black otherwise)
    group_titles: titles over equal groups of columns (e.g. one group per mask kind).

        >>> plot_image_rows([{"label": "noisy", "images": noisy[:8]},
        ...                  {"label": "denoised", "images": out[:8]}], "plots/denoising.png")
        'plots/denoising.png'
    """
    if not rows:
        raise ValueError("plot_image_rows: no rows given")
    batches = [_as_batch(r["images"]) for r in rows]
    n = len(batches[0])
    for r, b in zip(rows, batches):
        if len(b) != n:
            raise ValueError(f"plot_image_rows: row {r['label']!r} has {len(b)} images, "
                             f"the first row has {n}")
    groups = len(group_titles) if group_titles else 1
    if n % groups:
        raise ValueError(f"plot_image_rows: {n} columns do not split into {groups} groups")
    fig = new_figure(figsize=(n * 0.8 + 1.8, len(rows) * 0.85 + (0.9 if title or group_titles else 0.4)))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (row, batch) in enumerate(zip(rows, batches)):
        holes = row.get("holes")
        holes = None if holes is None else to_numpy(holes).astype(bool).reshape(n, *batch.shape[2:])
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(_cell_rgb(batch[c], None if holes is None else holes[c], value_range),
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            caption = (row.get("captions") or [""] * n)[c]
            if caption:
                ax.set_xlabel(caption, fontsize=7, labelpad=1)
        axes[r, 0].set_ylabel(row["label"], rotation=0, ha="right", va="center", fontsize=8)
    if group_titles:
        per = n // groups
        for g, name in enumerate(group_titles):
            axes[0, g * per + per // 2].set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
