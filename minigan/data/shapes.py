"""Procedural images: circles, squares, triangles and crosses, drawn with NumPy.

A labelled image dataset that needs no files at all, so a DCGAN lesson runs anywhere:

    >>> minigan.manual_seed(0)
    >>> ds = shapes(1000, size=28)
    >>> images, labels = ds.tensors      # (1000, 1, 28, 28) in [-1, 1], (1000,) int64
    >>> ds.classes[int(labels[0])]
    'triangle'

Each shape gets a random centre, size and (for polygons) rotation. Drawing is vectorised:
every pixel of every image of one class is tested at once against the shape's equations.
"""
import numpy as np

from .. import random as mg_random
from .dataset import TensorDataset

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")

# Draw at 4x4 sub-pixels per pixel and average: soft, anti-aliased edges (like the grey
# strokes of real digits) instead of jagged binary ones.
_SUPERSAMPLE = 4
_CHUNK = 256      # images drawn at once


def _disk(x, y, cx, cy, r):
    """Inside a circle: x, y (1, S, S); cx, cy, r (m, 1, 1) -> (m, S, S) bool."""
    return (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2


def _regular_polygon(x, y, cx, cy, r, angle, sides):
    """Inside a regular polygon with circumradius r, rotated by angle -> (m, S, S) bool.

    A point is inside a convex polygon when it lies on the inner side of every edge:
    the cross product edge x (point - edge start) is >= 0 for counter-clockwise vertices.
    """
    inside = np.ones(np.broadcast_shapes(x.shape, cx.shape), dtype=bool)
    for k in range(sides):
        a0 = angle + 2 * np.pi * k / sides
        a1 = angle + 2 * np.pi * (k + 1) / sides
        x0, y0 = cx + r * np.cos(a0), cy + r * np.sin(a0)        # edge start (m, 1, 1)
        x1, y1 = cx + r * np.cos(a1), cy + r * np.sin(a1)        # edge end
        inside &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0
    return inside


def _cross(x, y, cx, cy, r, angle):
    """A plus sign of arm length r and arm half-width r/4, rotated by angle."""
    c, s = np.cos(angle), np.sin(angle)
    u = c * (x - cx) + s * (y - cy)           # coordinates along the rotated arms
    v = -s * (x - cx) + c * (y - cy)
    w = r / 4
    return ((np.abs(u) <= r) & (np.abs(v) <= w)) | ((np.abs(v) <= r) & (np.abs(u) <= w))


def _draw(name, m, size, rng):
    """m images of shape `name` as float (m, size, size) in [0, 1]."""
    fine = size * _SUPERSAMPLE
    # Sub-pixel centres in image units (0..size): (1, fine, fine) each.
    # float32 halves the memory traffic of these (m, fine, fine) comparisons.
    coords = ((np.arange(fine) + 0.5) / _SUPERSAMPLE).astype(np.float32)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    y, x = y[None], x[None]
    # Per-image parameters, (m, 1, 1) so they broadcast against the pixel grid.
    r = rng.uniform(0.2, 0.4, size=(m, 1, 1)) * size                 # circumradius
    cx = r + rng.uniform(0, 1, size=(m, 1, 1)) * (size - 2 * r)      # shape fits inside
    cy = r + rng.uniform(0, 1, size=(m, 1, 1)) * (size - 2 * r)
    angle = rng.uniform(0, 2 * np.pi, size=(m, 1, 1))
    r, cx, cy, angle = (v.astype(np.float32) for v in (r, cx, cy, angle))
    if name == "circle":
        mask = _disk(x, y, cx, cy, r)
    elif name == "square":
        mask = _regular_polygon(x, y, cx, cy, r, angle, 4)
    elif name == "triangle":
        mask = _regular_polygon(x, y, cx, cy, r, angle, 3)
    else:
        mask = _cross(x, y, cx, cy, r, angle)
    # (m, fine, fine) -> (m, size, S, size, S) -> mean over sub-pixels -> (m, size, size)
    return mask.reshape(m, size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(2, 4))


def shapes(n, size=28, classes=SHAPE_CLASSES):
    """n random shape images, shape (n, 1, size, size), float32 in [-1, 1], with labels.

    Background is -1, the shape +1 (the range of a tanh generator). `classes` picks which
    shapes to draw (a subset of `SHAPE_CLASSES`); labels index `ds.classes`.
    """
    unknown = [c for c in classes if c not in SHAPE_CLASSES]
    if unknown or not classes:
        raise ValueError(f"shapes: classes must be a non-empty subset of {SHAPE_CLASSES}, "
                         f"got {tuple(classes)}")
    rng = mg_random.generator()
    labels = rng.integers(0, len(classes), size=n, dtype=np.int64)  # (n,)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    for k, name in enumerate(classes):
        chosen = np.flatnonzero(labels == k)
        # In chunks: the supersampled grid of a whole class at once could take gigabytes.
        for start in range(0, len(chosen), _CHUNK):
            part = chosen[start:start + _CHUNK]
            ink = _draw(name, len(part), size, rng)                     # (m, size, size)
            images[part, 0] = 2 * ink - 1                               # [0, 1] -> [-1, 1]
    ds = TensorDataset(images, labels)
    ds.classes = tuple(classes)
    return ds
