"""DistributedSampler against torch's: the same index lists for every rank, shuffled or not."""
from __future__ import annotations

import pytest
import torch
import torch.utils.data.distributed as torch_distributed
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.utils.data import DistributedSampler


def _lists(cls, n, replicas, epoch=0, **kw):
    dataset = list(range(n))
    out = []
    for rank in range(replicas):
        sampler = cls(dataset, num_replicas=replicas, rank=rank, **kw)
        sampler.set_epoch(epoch)
        out.append((list(sampler), len(sampler), sampler.num_samples, sampler.total_size))
    return out


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), replicas=st.integers(1, 8), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32), epoch=st.integers(0, 5))
def test_index_lists_equal_torch(n, replicas, shuffle, drop_last, seed, epoch):
    kw = dict(shuffle=shuffle, drop_last=drop_last, seed=seed)
    assert (_lists(DistributedSampler, n, replicas, epoch, **kw)
            == _lists(torch_distributed.DistributedSampler, n, replicas, epoch, **kw))


@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (2, 5)])
def test_ranks_are_disjoint_cover_the_dataset_and_pad_from_the_head(n, replicas):
    lists = [lst for lst, *_ in _lists(DistributedSampler, n, replicas, shuffle=False)]
    flat = sorted(i for lst in lists for i in lst)
    padding = -n % replicas if n >= replicas else replicas - n
    assert set(flat) == set(range(n))
    assert len(flat) == n + padding
    # strided: rank r takes r, r + replicas, ... of the padded list
    padded = (list(range(n)) * replicas)[:n + padding]
    assert lists == [padded[r::replicas] for r in range(replicas)]


def test_drop_last_drops_the_tail_and_keeps_ranks_disjoint():
    lists = [lst for lst, *_ in _lists(DistributedSampler, 10, 3, drop_last=True)]
    flat = [i for lst in lists for i in lst]
    assert len(flat) == len(set(flat)) == 9


def test_set_epoch_changes_the_order_and_the_same_epoch_repeats_it():
    sampler = DistributedSampler(range(50), num_replicas=2, rank=1, seed=3)
    first = list(sampler)
    assert list(sampler) == first  # without set_epoch every epoch is the same
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_the_permutation_is_ember_randperm_of_seed_plus_epoch():
    g = ember.Generator().manual_seed(7 + 2)
    perm = ember.randperm(20, generator=g).tolist()
    sampler = DistributedSampler(range(20), num_replicas=1, rank=0, seed=7)
    sampler.set_epoch(2)
    assert list(sampler) == perm == torch.randperm(20, generator=torch.Generator().manual_seed(9)).tolist()


@pytest.mark.parametrize("rank", [-1, 2])
def test_rank_out_of_range_raises_as_torch(rank):
    with pytest.raises(ValueError) as theirs:
        torch_distributed.DistributedSampler(range(4), num_replicas=2, rank=rank)
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4), num_replicas=2, rank=rank)
    assert str(ours.value) == str(theirs.value)


def test_torch_named_homes():
    assert ember.utils.data.distributed.DistributedSampler is DistributedSampler
    from ember.utils.data.distributed import DistributedSampler as again
    assert again is DistributedSampler


def test_works_as_a_dataloader_sampler():
    data = ember.utils.data.TensorDataset(ember.arange(10))
    sampler = DistributedSampler(data, num_replicas=2, rank=0, shuffle=False)
    loader = ember.utils.data.DataLoader(data, batch_size=2, sampler=sampler)
    assert [b[0].tolist() for b in loader] == [[0, 2], [4, 6], [8]]


def test_default_replicas_without_a_process_group_raise_as_torch():
    if ember.distributed.is_available() and ember.distributed.is_initialized():
        pytest.skip("a process group is initialised in this process")
    with pytest.raises(ValueError) as theirs:
        torch_distributed.DistributedSampler(range(4))
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4))
    assert str(ours.value) == str(theirs.value)
