"""Memory layouts: the order in which an array's numbers lie in memory.

An (N, C, H, W) array is NCHW (C-contiguous) or channels last: memory (N, H, W, C), seen
through a transposed view. minigan's fast CPU convolutions return channels last (conv.py
says why), and the kernels that follow them (batch norm, activations) keep whatever layout
comes in, so no pass over memory is spent on moving numbers around. These helpers let a
kernel work on any dense array as a flat run of numbers, or on rows of C channels.

    memory_view(a)         the numbers of a dense array as a 1-D view, in memory order
    same_order(a, b)       whether two arrays hold their numbers in the same order
    images_outermost(a)    whether images start:stop are one run of a's memory
    same_layout(a, like)   `a`'s values with `like`'s memory order (a itself if it has it)
    channel_rows(x)        x (N, C, *rest) with C innermost in memory -> (N*rest, C) view
"""
import numpy as np


def memory_view(a):
    """A 1-D view of `a`'s numbers in the order they lie in memory, or None when they do
    not fill one block (a slice with gaps). Writes through the view land in `a`."""
    axes = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))   # outermost first
    ordered = a.transpose(axes)
    if not ordered.flags.c_contiguous:
        return None
    return ordered.reshape(-1)


def _order(a):
    """Axes of size > 1 with their strides: equal for two arrays whose numbers lie in the
    same order (size-1 axes have arbitrary strides)."""
    return [(i, s) for i, (n, s) in enumerate(zip(a.shape, a.strides)) if n > 1]


def same_order(a, b):
    """True when two dense arrays of one shape hold their numbers in the same memory order."""
    return a.shape == b.shape and _order(a) == _order(b) and memory_view(a) is not None


def images_outermost(a):
    """True when a's first axis is the outermost in memory (NCHW and channels last both):
    then images start:stop are one run of numbers, start*per_image to stop*per_image."""
    return a.ndim > 1 and all(abs(a.strides[0]) >= abs(s) for s in a.strides[1:])


def same_layout(a, like):
    """`a` (shaped like `like`) with its numbers in `like`'s memory order: `a` itself when
    they already are, else a copy made with np.empty_like(like) (which keeps like's order)."""
    if same_order(a, like):
        return a
    out = np.empty_like(like, dtype=a.dtype)
    np.copyto(out, a)
    return out


def channel_rows(x):
    """x (N, C, *rest) as an (N*prod(rest), C) view when C is the innermost axis in memory
    (channels last, or 2-D (N, C)), else None. With one channel, the numbers lie the same
    either way; None then, since a row of one number is the slow way to walk them."""
    C = x.shape[1]
    moved = np.moveaxis(x, 1, -1)                  # (N, *rest, C), a view
    if not moved.flags.c_contiguous or (C == 1 and x.ndim > 2):
        return None
    return moved.reshape(-1, C)
