"""Toy distributions: 2-D samples over the discriminator's surface, 1-D densities and D(x).

On toy data the whole game is visible at once: where the real points are, where the
generator puts its points, and what the discriminator believes everywhere in between.
A discriminator here is any callable mapping an (M, 2) (or (M,) for 1-D) NumPy array to
M scores: probabilities in [0, 1] or unbounded critic scores. Wrap a minigan model as

    def discriminator(points):
        with minigan.no_grad():
            return minigan.sigmoid(D(minigan.tensor(points, dtype=minigan.float32))).numpy().ravel()
"""
import numpy as np

from ._common import (COLOR_FAKE, COLOR_REAL, grid_shape, new_figure, save_animation,
                      save_figure, to_numpy)


# --- 2-D ---

def _points(x, who):
    x = to_numpy(x, np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{who}: expected points of shape (M, 2), got {x.shape}")
    return x


def bounds_2d(*point_sets, margin=0.1):
    """(xmin, xmax, ymin, ymax) around all the points, widened by `margin` of the span."""
    pts = np.concatenate([_points(p, "bounds_2d") for p in point_sets if p is not None])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum(hi - lo, 1e-3) * margin
    return (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])


def toy_2d_surface(discriminator, bounds, resolution=100):
    """Evaluate `discriminator` on a resolution x resolution grid over `bounds`.

    Returns (xx, yy, zz), each (resolution, resolution), ready for `contourf` and for the
    "surface" entry of a snapshot (see `plot_toy_2d_snapshots`).

        >>> xx, yy, zz = toy_2d_surface(lambda p: p[:, 0] > 0, (-1, 1, -1, 1), resolution=3)
        >>> zz[0]
        array([0., 0., 1.])
    """
    xmin, xmax, ymin, ymax = bounds
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution))
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)            # (M, 2), M = resolution**2
    zz = to_numpy(discriminator(grid), np.float64).reshape(xx.shape)
    return xx, yy, zz


def _surface_levels(zz):
    """Contour levels: a fixed 0..1 scale for probabilities (so frames compare), else auto."""
    if zz.min() >= 0.0 and zz.max() <= 1.0:
        return np.linspace(0.0, 1.0, 21), "D(x)  (probability real)"
    return 20, "D(x)  (critic score)"


def _draw_toy_2d(ax, real, fake, surface, bounds, title):
    """Draw one 2-D panel on `ax`; returns the contour set (or None) for a colour bar."""
    contour = None
    if surface is not None:
        xx, yy, zz = (to_numpy(a, np.float64) for a in surface)
        levels, _ = _surface_levels(zz)
        # Grey shades (darker = "more real") keep the blue and orange points readable.
        contour = ax.contourf(xx, yy, zz, levels=levels, cmap="Greys", alpha=0.6)
        if zz.min() < 0.5 < zz.max() and zz.max() <= 1.0 and zz.min() >= 0.0:
            # D(x) = 0.5: the decision boundary, where D cannot tell real from fake.
            ax.contour(xx, yy, zz, levels=[0.5], colors="black", linestyles="--", linewidths=1)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=8, c=COLOR_REAL, alpha=0.7, label="real",
                   edgecolors="none")
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=6, c=COLOR_FAKE, alpha=0.8, label="generated",
                   edgecolors="none", marker="^")
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=10)
    return contour


def plot_toy_2d(real, fake, path, discriminator=None, bounds=None, title=None, resolution=100):
    """Real vs generated 2-D points over the discriminator's decision surface; returns `path`.

        >>> plot_toy_2d(real, fake, "plots/toy.png", discriminator=lambda p: 1 / (1 + np.exp(-p[:, 0])))
        'plots/toy.png'
    """
    real, fake = _points(real, "plot_toy_2d"), _points(fake, "plot_toy_2d")
    bounds = bounds or bounds_2d(real, fake)
    surface = toy_2d_surface(discriminator, bounds, resolution) if discriminator else None
    fig = new_figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    contour = _draw_toy_2d(ax, real, fake, surface, bounds, title or "Real vs generated")
    if contour is not None:
        fig.colorbar(contour, ax=ax, label=_surface_levels(surface[2])[1])
    ax.legend(loc="upper right", fontsize="small", markerscale=2)
    return save_figure(fig, path)


def _snapshot_title(snap, i):
    return f"step {snap['step']}" if snap.get("step") is not None else f"snapshot {i}"


def _snapshot_bounds(snapshots, bounds):
    """Shared bounds for all snapshots, so that panels and frames line up."""
    if bounds is not None:
        return bounds
    sets = [s[k] for s in snapshots for k in ("real", "fake") if s.get(k) is not None]
    return bounds_2d(*sets)


def _snapshot_points(snap, who):
    """(real, fake) point arrays of a 2-D snapshot; either may be missing (None)."""
    return tuple(_points(snap[k], who) if snap.get(k) is not None else None
                 for k in ("real", "fake"))


def plot_toy_2d_snapshots(snapshots, path, bounds=None, ncols=4):
    """One panel per snapshot of 2-D training, on shared axes; returns `path`.

    Each snapshot is a dict: "real" (M, 2), "fake" (M, 2), optional "surface" (xx, yy, zz)
    from `toy_2d_surface` (taken at that step) and "step".

        >>> snaps.append({"step": step, "real": x, "fake": g, "surface": toy_2d_surface(D, bounds)})
        >>> plot_toy_2d_snapshots(snaps, "plots/toy_snapshots.png")
        'plots/toy_snapshots.png'
    """
    if not snapshots:
        raise ValueError("plot_toy_2d_snapshots: no snapshots given")
    bounds = _snapshot_bounds(snapshots, bounds)
    rows, cols = grid_shape(len(snapshots), ncols)
    fig = new_figure(figsize=(3.2 * cols + 1.0, 3.2 * rows + 0.3))
    fig.set_layout_engine("constrained")        # room for one colour bar shared by all panels
    axes = fig.subplots(rows, cols, squeeze=False)
    contour, surface = None, None
    for i, (ax, snap) in enumerate(zip(axes.ravel(), snapshots)):
        real, fake = _snapshot_points(snap, "plot_toy_2d_snapshots")
        drawn = _draw_toy_2d(ax, real, fake, snap.get("surface"), bounds, _snapshot_title(snap, i))
        if drawn is not None:
            contour, surface = drawn, snap["surface"]
        ax.tick_params(labelsize=7)
        if i // cols == rows - 1 or i + cols >= len(snapshots):   # bottom panel of its column
            ax.set_xlabel("x₁", fontsize=8)
        if i % cols == 0:
            ax.set_ylabel("x₂", fontsize=8)
    for ax in axes.ravel()[len(snapshots):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if surface is not None:
        zz = to_numpy(surface[2], np.float64)
        if zz.min() >= 0.0 and zz.max() <= 1.0:
            from matplotlib.lines import Line2D
            handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1))
            labels.append("D(x) = 0.5")
        fig.colorbar(contour, ax=axes.ravel().tolist(), shrink=0.8,
                     label=_surface_levels(zz)[1] + ", darker = more real")
    axes[0, 0].legend(handles, labels, loc="upper right", fontsize="x-small", markerscale=2)
    return save_figure(fig, path)


def save_toy_2d_animation(snapshots, path, fps=4, bounds=None):
    """An animated GIF of 2-D training, one frame per snapshot (same dicts as the panels).

        >>> save_toy_2d_animation(snaps, "plots/toy.gif")
        'plots/toy.gif'
    """
    if not snapshots:
        raise ValueError("save_toy_2d_animation: no snapshots given")
    bounds = _snapshot_bounds(snapshots, bounds)
    fig = new_figure(figsize=(5.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)

    def draw(i):
        snap = snapshots[i]
        ax.clear()
        real, fake = _snapshot_points(snap, "save_toy_2d_animation")
        _draw_toy_2d(ax, real, fake, snap.get("surface"), bounds, _snapshot_title(snap, i))
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.legend(loc="upper right", fontsize="small", markerscale=2)

    return save_animation(fig, draw, len(snapshots), path, fps=fps)


# --- 1-D ---

def gaussian_kde(samples, xs, bandwidth=None):
    """Gaussian kernel density estimate of `samples` evaluated at `xs` (NumPy only).

    density(x) = mean_i N(x; samples_i, bandwidth^2). The default bandwidth is Silverman's
    rule, 1.06 * std * n^(-1/5): wide enough to smooth, narrow enough to keep the modes.

        >>> xs = np.linspace(-5, 5, 1001)
        >>> float(np.round(gaussian_kde(np.random.randn(500), xs).sum() * (xs[1] - xs[0]), 2))
        1.0
    """
    samples = to_numpy(samples, np.float64).ravel()
    xs = to_numpy(xs, np.float64)
    if bandwidth is None:
        bandwidth = 1.06 * max(samples.std(), 1e-3) * len(samples) ** (-0.2)
    u = (xs.ravel()[:, None] - samples[None, :]) / bandwidth             # (len(xs), n)
    density = np.exp(-0.5 * u ** 2).mean(axis=1) / (bandwidth * np.sqrt(2 * np.pi))
    return density.reshape(xs.shape)


def _bounds_1d(*sample_sets, margin=0.1):
    pts = np.concatenate([to_numpy(s, np.float64).ravel() for s in sample_sets if s is not None])
    lo, hi = pts.min(), pts.max()
    pad = max(hi - lo, 1e-3) * margin
    return (lo - pad, hi + pad)


def _draw_toy_1d(ax, real, fake, d_curve, data_density, bounds, bins, title, legend=True):
    """One 1-D panel: data density, generator histogram, and D(x) on a second y axis."""
    xs = np.linspace(bounds[0], bounds[1], 400)
    edges = np.linspace(bounds[0], bounds[1], bins + 1)
    handles = []
    if data_density is not None:
        handles += ax.plot(xs, to_numpy(data_density(xs), np.float64), color=COLOR_REAL,
                           linewidth=2, label="data density")
    if real is not None:
        ax.hist(real, bins=edges, density=True, color=COLOR_REAL, alpha=0.2)
        if data_density is None:
            handles += ax.plot(xs, gaussian_kde(real, xs), color=COLOR_REAL, linewidth=2,
                               label="data (KDE)")
    if fake is not None:
        *_, patches = ax.hist(fake, bins=edges, density=True, color=COLOR_FAKE, alpha=0.5,
                              label="generator")
        handles.append(patches[0])
    ax.set_xlim(*bounds)
    ax.set_ylabel("density")
    if d_curve is not None:
        dx, dy = (to_numpy(a, np.float64).ravel() for a in d_curve)
        ax2 = ax.twinx()            # D(x) has its own scale: a probability or a critic score
        handles += ax2.plot(dx, dy, color="black", linestyle="--", linewidth=1.5, label="D(x)")
        if dy.min() >= 0.0 and dy.max() <= 1.0:
            ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("D(x)")
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(handles=handles, loc="upper left", fontsize="small")


def _d_curve(discriminator, bounds, resolution=400):
    xs = np.linspace(bounds[0], bounds[1], resolution)
    return xs, to_numpy(discriminator(xs), np.float64).ravel()


def plot_toy_1d(real_samples, fake_samples, path, discriminator=None, data_density=None,
                bounds=None, bins=50, title=None):
    """1-D GAN: data density, generator histogram and the discriminator's D(x); returns `path`.

    `data_density` is an optional callable (the true density, if known); without it the
    data density is estimated from `real_samples` (histogram and KDE). `discriminator`
    maps an (M,) array to M scores.

        >>> plot_toy_1d(x_real, x_fake, "plots/toy1d.png", discriminator=D_numpy)
        'plots/toy1d.png'
    """
    real = to_numpy(real_samples, np.float64).ravel()
    fake = to_numpy(fake_samples, np.float64).ravel()
    bounds = bounds or _bounds_1d(real, fake)
    d_curve = _d_curve(discriminator, bounds) if discriminator is not None else None
    fig = new_figure(figsize=(7.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    _draw_toy_1d(ax, real, fake, d_curve, data_density, bounds, bins,
                 title or "Data vs generator density, and D(x)")
    ax.set_xlabel("x")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_toy_1d_snapshots(snapshots, path, data_density=None, bounds=None, bins=50, ncols=3):
    """One 1-D panel per snapshot; returns `path`.

    Each snapshot is a dict: "real" (M,), "fake" (M,), optional "d_curve" (xs, D(xs)) taken
    at that step (see `toy_1d_curve`), and "step".

        >>> snaps.append({"step": s, "real": x, "fake": g, "d_curve": toy_1d_curve(D_numpy, (-4, 4))})
        >>> plot_toy_1d_snapshots(snaps, "plots/toy1d_snapshots.png")
        'plots/toy1d_snapshots.png'
    """
    if not snapshots:
        raise ValueError("plot_toy_1d_snapshots: no snapshots given")
    if bounds is None:
        bounds = _bounds_1d(*[s.get(k) for s in snapshots for k in ("real", "fake")])
    rows, cols = grid_shape(len(snapshots), ncols)
    fig = new_figure(figsize=(4.2 * cols, 3.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (ax, snap) in enumerate(zip(axes, snapshots)):
        real = to_numpy(snap["real"], np.float64).ravel() if snap.get("real") is not None else None
        fake = to_numpy(snap["fake"], np.float64).ravel() if snap.get("fake") is not None else None
        _draw_toy_1d(ax, real, fake, snap.get("d_curve"), data_density, bounds, bins,
                     _snapshot_title(snap, i), legend=(i == 0))
        ax.tick_params(labelsize=7)
    for ax in axes[len(snapshots):]:
        ax.set_visible(False)
    fig.tight_layout()
    return save_figure(fig, path)


def toy_1d_curve(discriminator, bounds, resolution=400):
    """(xs, D(xs)) on `resolution` points over `bounds` = (xmin, xmax): a snapshot's "d_curve"."""
    return _d_curve(discriminator, bounds, resolution)
