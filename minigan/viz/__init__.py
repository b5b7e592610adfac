"""minigan.viz: figures for learning GANs, drawn headless with matplotlib and saved to files.

Every function takes plain NumPy arrays, lists or dicts (minigan Tensors work too), writes
the file it is given (PNG, GIF for animations) and returns its path. Nothing opens a
window and no global pyplot state is touched, so they are safe inside a training loop.

    training dynamics   plot_history, plot_quality_curve, ema
    image samples       save_image_grid, image_grid_array, save_grid_animation,
                        plot_interpolation, interpolate_latents, plot_image_rows
    toy data            plot_toy_2d, plot_toy_2d_snapshots, save_toy_2d_animation,
                        toy_2d_surface, plot_toy_1d, plot_toy_1d_snapshots, toy_1d_curve,
                        gaussian_kde
    two-player games    plot_vector_field
    numerics            finite_difference_errors, plot_fd_error
    autograd graphs     graph_text, graph_dot, save_graph

A run folder's figures are drawn by `minigan.gan.RunFolder.plot`, which reads the files
and hands these functions arrays.
"""
from .games import plot_vector_field
from .graph import graph_dot, graph_text, save_graph
from .history import ema, plot_history, plot_quality_curve
from .images import (image_grid_array, interpolate_latents, plot_image_rows, plot_interpolation,
                     save_grid_animation, save_image_grid)
from .numerics import finite_difference_errors, plot_fd_error
from .toy import (gaussian_kde, plot_toy_1d, plot_toy_1d_snapshots, plot_toy_2d,
                  plot_toy_2d_snapshots, save_toy_2d_animation, toy_1d_curve, toy_2d_surface)

__all__ = [
    "plot_history", "plot_quality_curve", "ema",
    "save_image_grid", "image_grid_array", "save_grid_animation", "plot_interpolation",
    "interpolate_latents", "plot_image_rows",
    "plot_toy_2d", "plot_toy_2d_snapshots", "save_toy_2d_animation", "toy_2d_surface",
    "plot_toy_1d", "plot_toy_1d_snapshots", "toy_1d_curve", "gaussian_kde",
    "plot_vector_field",
    "finite_difference_errors", "plot_fd_error",
    "graph_text", "graph_dot", "save_graph",
]
