"""The vector field of a two-player game and the paths optimisers take through it.

The Dirac-GAN (Mescheder et al., 2018) is the smallest GAN: the data is a point mass at 0,
the generator a point mass at theta, the discriminator D(x) = psi * x. Gradient descent on
both players follows the field (dtheta, dpsi) = (psi, -theta) (for the WGAN loss): it
circles around the equilibrium (0, 0) instead of converging to it, and simultaneous
gradient steps spiral outwards. This figure makes that visible.
"""
import numpy as np

from ._common import new_figure, save_figure, to_numpy


def plot_vector_field(field, path, trajectories=None, bounds=(-2, 2, -2, 2),
                      labels=("θ (generator)", "ψ (discriminator)"), density=21,
                      equilibrium=None, title=None, colors=None):
    """Arrows of `field` over `bounds`, plus optional trajectories; returns `path`.

    field(theta, psi) -> (dtheta, dpsi) takes NumPy grids and returns grids of the same
    shape: the direction the game moves in (e.g. minus the gradients each player descends).
    trajectories: dict name -> (T, 2) array of (theta, psi) points, drawn as lines from a
    circle (start) to a square (end). Arrows have equal length and are coloured by the
    field's speed, so slow regions stay readable. colors: optional dict name -> colour, so
    that a run keeps its colour across figures (default: C1, C2, ... in order).

        >>> dirac = lambda theta, psi: (psi, -theta)
        >>> plot_vector_field(dirac, "plots/dirac.png", equilibrium=(0, 0),
        ...                   trajectories={"simultaneous GD": path_sim, "alternating GD": path_alt})
        'plots/dirac.png'
    """
    xmin, xmax, ymin, ymax = bounds
    theta, psi = np.meshgrid(np.linspace(xmin, xmax, density), np.linspace(ymin, ymax, density))
    dtheta, dpsi = (to_numpy(a, np.float64) * np.ones_like(theta) for a in field(theta, psi))
    speed = np.hypot(dtheta, dpsi)
    # Normalise every arrow to unit length (direction only); colour carries the speed.
    safe = np.where(speed > 0, speed, 1.0)

    fig = new_figure(figsize=(6.4, 5.4))
    ax = fig.add_subplot(1, 1, 1)
    arrows = ax.quiver(theta, psi, dtheta / safe, dpsi / safe, speed, cmap="viridis",
                       angles="xy", pivot="mid", alpha=0.8)
    fig.colorbar(arrows, ax=ax, label="speed |field|")
    if equilibrium is not None:
        ax.plot(*equilibrium, marker="*", markersize=16, color="red", linestyle="none",
                label="equilibrium")
    for i, (name, points) in enumerate((trajectories or {}).items()):
        points = to_numpy(points, np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"plot_vector_field: trajectory {name!r} must have shape (T, 2), "
                             f"got {points.shape}")
        color = (colors or {}).get(name, f"C{(i + 1) % 10}")
        ax.plot(points[:, 0], points[:, 1], color=color, linewidth=1.8, label=name)
        ax.plot(*points[0], marker="o", color=color, markersize=7)
        ax.plot(*points[-1], marker="s", color=color, markersize=7)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or "Game vector field")
    if trajectories or equilibrium is not None:
        ax.legend(loc="upper right", fontsize="small")
    return save_figure(fig, path)
