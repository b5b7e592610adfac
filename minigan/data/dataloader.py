"""`DataLoader`: batches from a dataset, shuffled each epoch, as in PyTorch.

    >>> minigan.manual_seed(0)
    >>> x, y = minigan.randn(1000, 2), minigan.zeros(1000, dtype=minigan.int64)
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    >>> for xb, yb in loader:        # xb: (64, ...) Tensor, yb: (64,) Tensor
    ...     ...
    >>> len(loader)                  # batches per epoch: ceil(1000 / 64)
    16

Shuffling draws a fresh permutation from minigan's seeded generator at the start of every
epoch, so `minigan.manual_seed` makes the order reproducible while each epoch differs.
"""
import numpy as np

from .. import random as mg_random
from .._device import array_module
from ..tensor import Tensor, as_array
from .dataset import TensorDataset


def default_collate(items):
    """Stack a list of dataset items into a batch.

    Items that are tuples `(x, y, ...)` give a tuple of batched Tensors; items that are
    single Tensors/arrays/numbers give one batched Tensor.
    """
    first = items[0]
    if isinstance(first, (tuple, list)):
        # [(x0, y0), (x1, y1), ...] -> ((x0, x1, ...), (y0, y1, ...)), then stack each.
        return tuple(default_collate(list(field)) for field in zip(*items))
    arrays = [as_array(item) for item in items]     # Python numbers follow PyTorch's dtypes
    xp = array_module(arrays[0])                    # numpy or cupy
    return Tensor._wrap(xp.stack(arrays))           # (B, *item_shape)


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`.

    dataset:     a `Dataset` (anything with `len` and `[i]`).
    batch_size:  items per batch; the last batch is smaller unless `drop_last=True`.
    shuffle:     a new random order every epoch (from minigan's seeded generator).
    drop_last:   skip the last, incomplete batch (keeps batch statistics, e.g. in
                 BatchNorm, computed over equal-sized batches).
    collate_fn:  turns a list of items into a batch (default: `default_collate`).
    num_workers, pin_memory, persistent_workers, prefetch_factor:
                 accepted for PyTorch's signature. NOTE: batches are always made in this
                 process, whatever num_workers says (PyTorch starts that many worker
                 processes); the datasets here are arrays in memory, so a batch is one
                 gather, and worker processes would cost more than they save. There is no
                 pinned memory to use either: a GPU batch is copied when it is moved.

    A `TensorDataset` with the default `collate_fn` is batched by indexing its arrays
    with the batch's index array: one gather per tensor, no per-item Python loop.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, prefetch_factor=None,
                 persistent_workers=False):
        if sampler is not None or batch_sampler is not None:
            raise NotImplementedError("DataLoader: sampler and batch_sampler are not supported; "
                                      "use shuffle=True, or index the dataset yourself")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got "
                             f"{num_workers!r}")
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
                or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)

    def __len__(self):
        """Batches per epoch."""
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)     # ceil(n / batch_size)

    def _epoch_order(self):
        """The order of indices for one epoch: shuffled freshly, or 0..n-1."""
        n = len(self.dataset)
        if self.shuffle:
            # Ask for the generator now, not in __init__: manual_seed replaces it.
            return mg_random.generator().permutation(n)
        return np.arange(n)

    def __iter__(self):
        order = self._epoch_order()                          # (n,)
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        collate = self.collate_fn or default_collate
        for b in range(len(self)):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]    # (B,)
            if fast:
                yield self.dataset[index]                    # tuple of (B, ...) Tensors
            else:
                yield collate([self.dataset[int(i)] for i in index])

    def __repr__(self):
        return (f"DataLoader({len(self.dataset)} items, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")
