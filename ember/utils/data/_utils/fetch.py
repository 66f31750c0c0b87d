"""Fetchers: turn an index (or a batch of indices) into collated data, for map-style and
iterable-style datasets alike. Shared by the single- and multi-process loaders
(torch.utils.data._utils.fetch)."""
from __future__ import annotations

import numpy as np

from ..dataset import TensorDataset
from . import collate as _collate


class _BaseDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, possibly_batched_index):
        raise NotImplementedError


class _IterableDatasetFetcher(_BaseDatasetFetcher):
    """Pulls the next ``len(batch_index)`` samples from the stream; the indices only count."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        super().__init__(dataset, auto_collation, collate_fn, drop_last)
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


class _MapDatasetFetcher(_BaseDatasetFetcher):
    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            if getattr(self.dataset, "__getitems__", None):
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _TensorDatasetFetcher(_MapDatasetFetcher):
    """A TensorDataset batched by default_collate: each tensor's rows taken with one fancy
    index, ``[t[indices] for t in tensors]``, instead of a ``t[i]`` per sample and a stack
    per field (two ops per sample were most of an epoch's time). The same batch as torch's
    per-sample path: a list of new contiguous Tensors, same values and dtypes. Wherever the
    two could differ it takes the per-sample path: tensors that require grad (the batch would
    record another graph), a Tensor subclass, an edited ``default_collate_fn_map``, a
    ``__getitems__`` set on the dataset, indices that are not integers or out of range (so
    the errors are torch's)."""

    def fetch(self, possibly_batched_index):
        batch = _take_rows(self.dataset, possibly_batched_index)
        if batch is None:
            return super().fetch(possibly_batched_index)
        return batch


# default_collate's map as ember ships it: while it is unchanged, collating TensorDataset
# samples means stacking each field's rows
_SHIPPED_COLLATE_MAP = dict(_collate.default_collate_fn_map)


def _take_rows(dataset, indices):
    """``[t[indices] for t in dataset.tensors]`` as new Tensors, or None where that might not
    be what default_collate makes of ``[dataset[i] for i in indices]``."""
    Tensor = _collate.Tensor
    tensors = dataset.tensors
    if getattr(dataset, "__getitems__", None) is not None \
            or _collate.default_collate_fn_map != _SHIPPED_COLLATE_MAP:
        return None
    for t in tensors:
        if type(t) is not Tensor or t._requires_grad:
            return None
    try:
        index = np.asarray(indices)
    except (TypeError, ValueError, OverflowError):
        return None
    if index.ndim != 1 or index.dtype.kind not in "iu" or not len(index):
        return None
    try:
        rows = [t._data[index] for t in tensors]
    except IndexError:
        return None
    # (np.stack's result is C order; NumPy does not promise an advanced index's layout)
    return [Tensor._wrap(np.ascontiguousarray(r)) for r in rows]


def create_fetcher(is_iterable: bool, dataset, auto_collation, collate_fn, drop_last):
    if is_iterable:
        cls = _IterableDatasetFetcher
    elif auto_collation and type(dataset) is TensorDataset \
            and collate_fn is _collate.default_collate:
        cls = _TensorDatasetFetcher
    else:
        cls = _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
