"""Datasets with PyTorch's names: `Dataset`, `TensorDataset`, `Subset`.

A dataset is anything with `len(ds)` and `ds[i]`. `TensorDataset` wraps tensors that
share their first dimension, and can also be indexed with a whole array of indices at
once, which is how `DataLoader` makes a batch without a Python loop:

    >>> x = minigan.randn(100, 2)
    >>> y = minigan.zeros(100, dtype=minigan.int64)
    >>> ds = TensorDataset(x, y)
    >>> len(ds), ds[0][0].shape
    (100, (2,))
    >>> xb, yb = ds[np.array([3, 1, 4])]      # a batch: (3, 2) and (3,)
"""
import numpy as np

from .._device import array_module
from ..tensor import Tensor, as_array


class Dataset:
    """Base class: subclasses define `__getitem__(index)` and `__len__()`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Tensors (or arrays) indexed together along their first dimension.

    `ds[i]` is a tuple with one item of each tensor; `ds[index_array]` is a tuple of
    batches. Arrays are turned into Tensors (sharing memory where possible).
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor._wrap(as_array(t))
                             for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(f"TensorDataset: all tensors must have the same size in their "
                             f"first dimension, got shapes {shapes}")

    def __getitem__(self, index):
        # Index the raw arrays, not the Tensors: a dataset is data, not part of a graph,
        # so there is no autograd node to record. An index array gathers a whole batch
        # in one NumPy (or CuPy) call.
        out = []
        for t in self.tensors:
            i = index
            if isinstance(index, np.ndarray):
                i = array_module(t._data).asarray(index)   # indices on the tensor's device
            out.append(Tensor._wrap(t._data[i]))
        return tuple(out)

    def __len__(self):
        return self.tensors[0].shape[0]

    def __repr__(self):
        shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in self.tensors)
        return f"{type(self).__name__}({len(self)} items: {shapes})"


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)
