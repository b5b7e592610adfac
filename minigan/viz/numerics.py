"""Finite differences: why the step size has a sweet spot, and why it depends on the dtype.

The central difference (f(x+h) - f(x-h)) / 2h has two errors:
- truncation, about f'''(x) h^2 / 6: shrinks as h shrinks;
- rounding, about eps |f(x)| / h: grows as h shrinks (eps = 1.2e-7 in float32, 2.2e-16 in
  float64), because two nearly equal numbers are subtracted.
The total is smallest near h ~ eps^(1/3): about 5e-3 in float32 but 6e-6 in float64. That
is why gradient checks run in float64.
"""
import numpy as np

from ._common import new_figure, save_figure, to_numpy


def finite_difference_errors(f, df, x, steps, dtype=np.float64):
    """|central difference - exact derivative| of a scalar function, for each step size.

    f works on NumPy scalars and keeps their dtype (np.sin, np.exp, lambda x: x**3, ...);
    x, the step and the difference are computed in `dtype`; the exact df(x) in float64.
    Returns a float64 array, one error per step.

        >>> steps = np.logspace(-12, 0, 25)
        >>> errs = finite_difference_errors(np.sin, np.cos, 1.0, steps, np.float32)
        >>> 1e-4 < steps[errs.argmin()] < 1e-1          # float32's best step: near eps**(1/3)
        True
    """
    dtype = np.dtype(dtype)
    x_d = dtype.type(x)
    exact = float(df(np.float64(x)))
    errors = []
    for h in to_numpy(steps, np.float64).ravel():
        h_d = dtype.type(h)
        # NOTE: x + h is rounded to `dtype`, so the step actually taken is (x + h) - x, not h;
        # dividing by the true step is what a gradient checker does, and it is what we measure.
        central = (f(x_d + h_d) - f(x_d - h_d)) / (dtype.type(2) * h_d)
        errors.append(abs(float(central) - exact))
    return np.asarray(errors, dtype=np.float64)


def plot_fd_error(steps, errors_by_label, path, title=None):
    """Log-log plot of finite-difference error against step size, one curve per label.

    The minimum of each curve is marked: the best step for that precision.

        >>> steps = np.logspace(-12, 0, 49)
        >>> errs = {name: finite_difference_errors(np.sin, np.cos, 1.0, steps, dt)
        ...         for name, dt in [("float32", np.float32), ("float64", np.float64)]}
        >>> plot_fd_error(steps, errs, "plots/fd_error.png")
        'plots/fd_error.png'
    """
    steps = to_numpy(steps, np.float64).ravel()
    fig = new_figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    for i, (label, errors) in enumerate(errors_by_label.items()):
        errors = to_numpy(errors, np.float64).ravel()
        if errors.shape != steps.shape:
            raise ValueError(f"plot_fd_error: {label!r} has {errors.size} errors for "
                             f"{steps.size} steps")
        # NOTE: an error of exactly 0 (lucky rounding) has no logarithm: leave a gap there.
        shown = np.where(errors > 0, errors, np.nan)
        color = f"C{i}"
        ax.loglog(steps, shown, marker=".", color=color, label=label)
        if np.isfinite(shown).any():
            best = np.nanargmin(shown)
            ax.plot(steps[best], shown[best], marker="o", markersize=10, markerfacecolor="none",
                    color=color)
            ax.annotate(f"best h = {steps[best]:.0e}", (steps[best], shown[best]),
                        textcoords="offset points", xytext=(8, 6), fontsize=8, color=color)
    ax.set_xlabel("step size h")
    ax.set_ylabel("|central difference - exact|")
    ax.set_title(title or "Finite-difference error: truncation (right) vs rounding (left)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
