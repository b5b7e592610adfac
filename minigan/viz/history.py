"""Training dynamics: losses, D outputs, gradient norms, penalty and learning rates.

The history is the GAN toolkit's monitor output: one dict per training step (a run
folder's history.jsonl, as `minigan.gan.RunFolder.read_history` returns it).
Any key may be missing; `plot_history` draws a panel for each group of keys it finds:

    step                     x axis (the record's index when absent)
    loss_d, loss_g           the two players' losses
    d_real, d_fake           mean D(x) and mean D(G(z)): probabilities, or critic scores
    wasserstein              the critic's Wasserstein estimate (WGAN)
    penalty                  gradient penalty (WGAN-GP, R1, ...)
    l1, l2, l1_baseline      reconstruction errors of the image apps (pix2pix, inpainting)
    cycle, identity          CycleGAN's cycle-consistency and identity terms
    grad_norm_d, grad_norm_g gradient norms of the two players' parameters
    lr_d, lr_g               learning rates
    time                     seconds the step took (their sum is shown in the title)
"""

import numpy as np

from ._common import COLOR_D, COLOR_G, grid_shape, new_figure, save_figure

# (panel title, y label, [(key, legend label, colour)], smooth?, log scale?)
# Learning rates are set by a schedule, not measured, so smoothing them would only blur.
HISTORY_PANELS = [
    ("Losses", "loss", [("loss_d", "D loss", COLOR_D), ("loss_g", "G loss", COLOR_G)], True, False),
    ("Discriminator outputs", "mean output",
     [("d_real", "mean D(x)  (real)", COLOR_D), ("d_fake", "mean D(G(z))  (fake)", COLOR_G)],
     True, False),
    ("Wasserstein estimate", "E[D(x)] - E[D(G(z))]",
     [("wasserstein", "Wasserstein estimate", "tab:green")], True, False),
    ("Gradient penalty", "penalty", [("penalty", "penalty", "tab:purple")], True, False),
    ("Gradient norms", "norm",
     [("grad_norm_d", "|grad D|", COLOR_D), ("grad_norm_g", "|grad G|", COLOR_G)], True, True),
    ("Reconstruction (image apps)", "mean error",
     [("l1", "L1 to the target (pix2pix: all pixels; inpainting: the hole)", COLOR_G),
      ("l2", "L2 on the hole", "tab:brown"),
      ("l1_baseline", "L1-only baseline", "tab:gray"),
      ("cycle", "cycle L1 (A->B->A, B->A->B)", "tab:red"),
      ("identity", "identity L1", "tab:pink")], True, False),
    ("Learning rates", "learning rate",
     [("lr_d", "lr D", COLOR_D), ("lr_g", "lr G", COLOR_G)], False, False),
]


def _records(history):
    """The history as a list of dicts (one per step), checked."""
    records = list(history)
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise TypeError(f"plot_history: expected a list of dicts (one per step), "
                            f"record {i} is a {type(r).__name__}")
    return records


def ema(values, smoothing=0.9):
    """Exponential moving average with bias correction (as TensorBoard's smoothing slider).

    s_t = smoothing * s_{t-1} + (1 - smoothing) * v_t, divided by (1 - smoothing**t) so that
    the first points are not dragged towards 0 (the average starts at s_0 = 0).
    smoothing=0 returns the values unchanged.

        >>> ema([1.0, 1.0, 1.0], smoothing=0.9)
        array([1., 1., 1.])
    """
    values = np.asarray(values, dtype=np.float64)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"ema: smoothing must be in [0, 1), got {smoothing}")
    out = np.empty_like(values)
    s, weight = 0.0, 0.0
    for i, v in enumerate(values):
        s = smoothing * s + (1.0 - smoothing) * v
        weight = smoothing * weight + (1.0 - smoothing)     # = 1 - smoothing**(i+1)
        out[i] = s / weight
    return out


def _series(records, key):
    """(x, y) of the records holding a finite number under `key`; x is `step` or the index."""
    xs, ys = [], []
    for i, r in enumerate(records):
        v = r.get(key)
        if v is None:
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        # NOTE: a diverging run logs nan/inf; skip them so the rest of the curve still shows.
        if np.isfinite(v):
            xs.append(r.get("step", i))
            ys.append(v)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def plot_history(history, path, smoothing=0.9, title=None):
    """Plot a GAN monitor history: one panel per group of keys found; returns `path`.

    Each measured curve is drawn twice: the raw trace faint behind, its EMA (`smoothing`,
    0 to turn off) on top. GAN losses are noisy by nature, and the trend is what you read.

        >>> history = [{"step": s, "loss_d": 1.38, "loss_g": 0.7} for s in range(100)]
        >>> plot_history(history, "plots/history.png")
        'plots/history.png'
    """
    records = _records(history)
    panels = []
    for panel_title, ylabel, curves, smooth, log in HISTORY_PANELS:
        found = [(key, label, color, *_series(records, key)) for key, label, color in curves]
        found = [c for c in found if len(c[3]) > 0]
        if found:
            panels.append((panel_title, ylabel, found, smooth, log))
    if not panels:
        keys = sorted({k for r in records for k in r})
        wanted = [k for _, _, curves, _, _ in HISTORY_PANELS for k, _, _ in curves]
        raise ValueError(f"plot_history: no plottable key in the history ({len(records)} records); "
                         f"expected some of {wanted}, got keys {keys}")

    # Two columns; three panels go in one row rather than leave a fourth slot empty.
    rows, cols = grid_shape(len(panels), 3 if len(panels) == 3 else 2)
    fig = new_figure(figsize=(6.0 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (panel_title, ylabel, found, smooth, log) in zip(axes, panels):
        for key, label, color, x, y in found:
            if smooth and smoothing > 0 and len(y) > 1:
                ax.plot(x, y, color=color, alpha=0.25, linewidth=0.8)
                ax.plot(x, ema(y, smoothing), color=color, linewidth=1.6, label=label)
            else:
                ax.plot(x, y, color=color, linewidth=1.4, label=label)
        if log and all((c[4] > 0).all() for c in found):
            ax.set_yscale("log")     # norms span decades when training goes wrong
        if panel_title == "Discriminator outputs":
            # D = 0.5 on both is the equilibrium of the original GAN: draw it as a guide.
            ys = np.concatenate([c[4] for c in found])
            if ys.min() >= 0.0 and ys.max() <= 1.0:
                ax.axhline(0.5, color="gray", linestyle=":", linewidth=1)
        ax.set_title(panel_title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    for ax in axes[len(panels):]:
        ax.set_visible(False)

    _, t = _series(records, "time")
    subtitle = f"{len(records)} steps" + (f", {np.sum(t):.0f} s" if len(t) else "")
    if smoothing > 0:
        subtitle += f", EMA smoothing {smoothing}"
    fig.suptitle(f"{title}  ({subtitle})" if title else subtitle)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_quality_curve(rows, path, reference=None, title=None):
    """Sample quality against training time: Inception Score and Fréchet distance, one
    point per probe (rows: dicts with "seconds", "step", "inception_score",
    "frechet_distance"); `reference` draws real data's figures as dashed lines.

        >>> plot_quality_curve([{"step": 500, "seconds": 60, "inception_score": 4.1,
        ...                      "frechet_distance": 90.0}], "plots/quality_curve.png")
        'plots/quality_curve.png'
    """
    rows = _records(rows)
    if not rows:
        raise ValueError("plot_quality_curve: no probes to draw")
    seconds = np.array([r["seconds"] for r in rows], dtype=np.float64)
    fig = new_figure(figsize=(11.0, 3.8))
    axes = fig.subplots(1, 2)
    for ax, key, label, better in ((axes[0], "inception_score", "Inception Score", "higher"),
                                   (axes[1], "frechet_distance", "Fréchet distance", "lower")):
        ax.plot(seconds, [r[key] for r in rows], "o-", color=COLOR_G, label="generated")
        if reference and key in reference:
            ax.axhline(reference[key], color=COLOR_D, linestyle="--", label="real digits")
        for r, s in zip(rows, seconds):
            ax.annotate(f"{r['step']}", (s, r[key]), fontsize=7, textcoords="offset points",
                        xytext=(0, 5), ha="center")
        ax.set(xlabel="training time (s)", ylabel=label, title=f"{label} ({better} is better)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title or "Sample quality over training (labels: step)")
    fig.tight_layout()
    return save_figure(fig, path)
