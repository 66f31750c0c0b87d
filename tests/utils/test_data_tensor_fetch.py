"""The TensorDataset fetcher (ember/utils/data/_utils/fetch.py): a batch taken with one fancy
index per tensor must be the batch torch's per-sample path makes, and every case where the two
could differ must take the per-sample path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
import ember.utils.data as eud
from ember.utils.data._utils import fetch

from .test_data import assert_same


def _fields(n, rng):
    """Fields of several dtypes and ranks, one of them strided (a transposed array)."""
    return [rng.standard_normal((n, 3, 4, 5)).astype(np.float32),
            np.arange(n) % 10,
            rng.standard_normal((6, n)).T,  # float64, rows are strided
            rng.random(n) < 0.5]


def _loaders(arrays, **kwargs):
    e = eud.DataLoader(eud.TensorDataset(*[ember.from_numpy(a) for a in arrays]), **kwargs)
    t = tud.DataLoader(tud.TensorDataset(*[torch.from_numpy(a) for a in arrays]), **kwargs)
    return e, t


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 16), drop_last=st.booleans(),
       seed=st.integers(0, 2**31))
def test_shuffled_epoch_is_torchs(n, batch_size, drop_last, seed):
    e, t = _loaders(_fields(n, np.random.default_rng(seed)), batch_size=batch_size,
                    shuffle=True, drop_last=drop_last)
    assert isinstance(e._get_iterator()._dataset_fetcher, fetch._TensorDatasetFetcher)
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    eb, tb = list(e), list(t)
    assert_same(eb, tb)  # same indices (torch's RandomSampler stream), values, dtypes, lists
    for batch in eb:
        assert all(x.is_contiguous() and x.grad_fn is None for x in batch)


def test_batch_owns_its_memory():
    x = ember.arange(12.0).reshape(6, 2)
    batch = next(iter(eud.DataLoader(eud.TensorDataset(x), batch_size=3)))[0]
    batch.add_(100)
    assert x.tolist() == np.arange(12.0).reshape(6, 2).tolist()


def test_tensors_that_require_grad_stack_on_the_graph_as_torch():
    e, t = _loaders([np.ones((5, 2), np.float32)], batch_size=2)
    e.dataset.tensors[0].requires_grad_()
    t.dataset.tensors[0].requires_grad_()
    eb, tb = next(iter(e))[0], next(iter(t))[0]
    assert type(eb.grad_fn).__name__ == type(tb.grad_fn).__name__ == "StackBackward0"


@pytest.mark.parametrize("sampler", [[3, -1, 0], np.array([4, 1, 1]), [np.int32(2), 0]])
def test_sampler_indices_as_torch(sampler):
    arrays = _fields(5, np.random.default_rng(0))
    assert_same(list(_loaders(arrays, batch_size=2, sampler=sampler)[0]),
                list(_loaders(arrays, batch_size=2, sampler=sampler)[1]))


def test_out_of_range_index_raises_torchs_error():
    e, t = _loaders([np.zeros((4, 2), np.float32)], batch_size=2, sampler=[0, 4])
    with pytest.raises(IndexError) as te:
        list(t)
    with pytest.raises(IndexError, match=str(te.value)):
        list(e)


def test_edited_collate_map_is_used(monkeypatch):
    def first_only(batch, *, collate_fn_map=None):
        return batch[0]
    monkeypatch.setitem(eud._utils.collate.default_collate_fn_map, ember.Tensor, first_only)
    monkeypatch.setitem(tud._utils.collate.default_collate_fn_map, torch.Tensor, first_only)
    e, t = _loaders([np.arange(6.0).reshape(3, 2)], batch_size=3)
    assert_same(list(e), list(t))


def test_getitems_on_the_dataset_is_honoured():
    ds = eud.TensorDataset(ember.arange(4))
    ds.__getitems__ = lambda indices: [(ember.tensor(-i),) for i in indices]
    assert next(iter(eud.DataLoader(ds, batch_size=4)))[0].tolist() == [0, -1, -2, -3]


def test_subclass_takes_the_per_sample_path():
    class Doubled(eud.TensorDataset):
        def __getitem__(self, index):
            return tuple(t[index] * 2 for t in self.tensors)
    batch = next(iter(eud.DataLoader(Doubled(ember.arange(3)), batch_size=3)))
    assert batch[0].tolist() == [0, 2, 4]
