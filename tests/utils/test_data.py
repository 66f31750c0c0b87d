"""ember.utils.data against torch.utils.data: collation, samplers, datasets and the DataLoader
(single-process, and with real worker processes)."""
from __future__ import annotations

import collections
import os
import signal
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
import ember.utils.data as eud

Point = collections.namedtuple("Point", ["x", "y"])


# -- helpers -------------------------------------------------------------------------------------

def assert_same(e, t, path="batch"):
    """Structure, types and values of an ember result equal to torch's."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{path}: {type(e)} is not a Tensor"
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], f"{path}: {e.dtype} vs {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), path
        np.testing.assert_array_equal(e.numpy(), t.numpy(), err_msg=path)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t), path
        for k in t:
            assert_same(e[k], t[k], f"{path}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t), f"{path}: {type(e)} vs {type(t)}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert type(e) is type(t) and e == t, f"{path}: {e!r} vs {t!r}"


def to_ember(x):
    if isinstance(x, torch.Tensor):
        return ember.from_numpy(x.numpy().copy())
    if isinstance(x, dict):
        return {k: to_ember(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(to_ember(v) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(to_ember(v) for v in x)
    return x


@contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""
    def _raise(signum, frame):
        raise TimeoutError(f"test exceeded {seconds} s")
    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Squares(eud.Dataset):
    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full((2,), i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


class TorchSquares(tud.Dataset):
    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full((2,), i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


# -- default_collate -----------------------------------------------------------------------------

COLLATE_CASES = {
    "ints": [0, 1, 2],
    "floats": [0.5, 1.5],
    "int_then_float": [1, 2.5],
    "bools": [True, False],
    "strings": ["a", "b"],
    "bytes": [b"a", b"b"],
    "np_float32": [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "np_int64": [np.arange(3), np.arange(3) * 2],
    "np_uint8": [np.full((2, 2), 255, np.uint8), np.zeros((2, 2), np.uint8)],
    "np_scalars_f32": [np.float32(1.5), np.float32(2.5)],
    "np_scalars_i32": [np.int32(1), np.int32(7)],
    "np_bool": [np.bool_(True), np.bool_(False)],
    "np_0d": [np.array(1.0), np.array(2.0)],
    "tuples": [(0, 1.0, "a"), (2, 3.0, "b")],
    "lists": [[0, 1], [2, 3]],
    "dicts": [{"a": 0, "b": 1.0}, {"a": 2, "b": 3.0}],
    "nested": [{"p": Point(1, np.ones(2)), "l": [1, (2.0, "z")]},
               {"p": Point(3, np.zeros(2)), "l": [4, (5.0, "w")]}],
    "namedtuple": [Point(0, 1.0), Point(2, 3.0)],
}


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    batch = COLLATE_CASES[name]
    assert_same(eud.default_collate(batch), tud.default_collate(batch))


def test_default_collate_tensors():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(5)]
    out = eud.default_collate([ember.from_numpy(a) for a in arrays])
    assert_same(out, tud.default_collate([torch.from_numpy(a) for a in arrays]))
    samples = [(ember.tensor([i, i + 1]), {"t": ember.tensor(float(i))}) for i in range(3)]
    torch_samples = [(torch.tensor([i, i + 1]), {"t": torch.tensor(float(i))}) for i in range(3)]
    assert_same(eud.default_collate(samples), tud.default_collate(torch_samples))


@pytest.mark.parametrize("batch, exc, match", [
    ([np.zeros(3), np.zeros(4)], RuntimeError, r"stack expects each tensor to be equal size, but got \[3\] at entry 0 and \[4\] at entry 1"),
    ([np.array(["a"]), np.array(["b"])], TypeError, "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <U1"),
    ([object(), object()], TypeError, "default_collate: batch must contain tensors, numpy arrays"),
    ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
])
def test_default_collate_errors_match_torch(batch, exc, match):
    with pytest.raises(exc, match=match):
        tud.default_collate(batch)
    with pytest.raises(exc, match=match):
        eud.default_collate(batch)


def test_default_collate_tensor_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1"):
        eud.default_collate([ember.zeros(2), ember.zeros(3)])


def test_default_collate_keeps_autograd():
    a = ember.ones(2, requires_grad=True)
    out = eud.default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("sample", [np.arange(3), {"a": np.ones(2), "b": 3}, Point(np.zeros(1), "s"),
                                    (np.ones(2), 1), [np.float32(2.0), "x"], np.array(["s"]), 7])
def test_default_convert_matches_torch(sample):
    assert_same(eud.default_convert(sample), tud.default_convert(sample))


def test_collate_fn_map_extension():
    class Box:
        def __init__(self, v):
            self.v = v
    fn_map = dict(eud._utils.collate.default_collate_fn_map)
    fn_map[Box] = lambda batch, *, collate_fn_map=None: sum(b.v for b in batch)
    out = eud._utils.collate.collate([(Box(1), 2), (Box(3), 4)], collate_fn_map=fn_map)
    assert out[0] == 4 and out[1].tolist() == [2, 4]


# -- samplers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                                      (2, 5, False), (2, 5, True), (0, 2, False)])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    e = eud.BatchSampler(eud.SequentialSampler(range(n)), batch_size, drop_last)
    t = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(e) == list(t)
    assert len(e) == len(t)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0, drop_last=False), "batch_size should be a positive integer value, but got batch_size=0"),
    (dict(batch_size=True, drop_last=False), "batch_size should be a positive integer value"),
    (dict(batch_size=2, drop_last=1), "drop_last should be a boolean value, but got drop_last=1"),
])
def test_batch_sampler_errors(kwargs, match):
    for lib in (tud, eud):
        with pytest.raises(ValueError, match=match):
            lib.BatchSampler(range(3), **kwargs)


def test_random_sampler_is_a_reproducible_permutation():
    ember.manual_seed(3)
    first = list(eud.RandomSampler(range(20)))
    assert sorted(first) == list(range(20))
    ember.manual_seed(3)
    assert list(eud.RandomSampler(range(20))) == first
    sampler = eud.RandomSampler(range(20))
    assert list(sampler) != list(sampler)  # a new order at each pass
    gen = ember.Generator().manual_seed(5)
    a = list(eud.RandomSampler(range(20), generator=gen))
    gen.manual_seed(5)
    assert list(eud.RandomSampler(range(20), generator=gen)) == a


def test_random_sampler_num_samples_and_replacement():
    s = eud.RandomSampler(range(5), num_samples=12)
    out = list(s)
    assert len(s) == len(out) == 12
    assert sorted(out[:5]) == list(range(5)) and sorted(out[5:10]) == list(range(5))
    r = list(eud.RandomSampler(range(4), replacement=True, num_samples=1000))
    assert len(r) == 1000 and set(r) == {0, 1, 2, 3}
    assert all(250 - 80 < r.count(k) < 250 + 80 for k in range(4))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(replacement=1), TypeError, "replacement should be a boolean value, but got replacement=1"),
    (dict(num_samples=0), ValueError, "num_samples should be a positive integer value, but got num_samples=0"),
])
def test_random_sampler_errors(kwargs, exc, match):
    for lib in (tud, eud):
        with pytest.raises(exc, match=match):
            lib.RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    idx = [3, 7, 11, 20]
    s = eud.SubsetRandomSampler(idx)
    assert sorted(s) == idx and len(s) == 4


def test_weighted_random_sampler_distribution():
    weights = [0.0, 1.0, 3.0, 0.0, 6.0]
    draws = list(eud.WeightedRandomSampler(weights, 5000, replacement=True))
    counts = np.bincount(draws, minlength=5)
    assert counts[0] == counts[3] == 0
    np.testing.assert_allclose(counts[[1, 2, 4]] / 5000, [0.1, 0.3, 0.6], atol=0.03)


def test_weighted_random_sampler_without_replacement():
    weights = ember.tensor([0.9, 0.4, 0.05, 0.2, 0.3, 0.1])
    draws = list(eud.WeightedRandomSampler(weights, 6, replacement=False))
    assert sorted(draws) == list(range(6))
    # the heaviest index comes first most of the time (as torch.multinomial's order statistics)
    firsts = [next(iter(eud.WeightedRandomSampler(weights, 3, replacement=False))) for _ in range(400)]
    assert np.mean(np.array(firsts) == 0) > 0.4
    # zero weights come last once the positive ones are used up, as torch
    assert set(list(eud.WeightedRandomSampler([1.0, 0.0, 0.0], 2, replacement=False))[:1]) == {0}


@pytest.mark.parametrize("weights, n, replacement, match", [
    ([0.0, 0.0], 1, True, r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
    ([-1.0, 1.0], 1, True, "probability tensor contains either `inf`, `nan` or element < 0"),
    ([1.0, float("nan")], 1, True, "probability tensor contains either `inf`, `nan` or element < 0"),
    ([1.0, 1.0], 3, False, "cannot sample n_sample > prob_dist.size"),
])
def test_weighted_random_sampler_errors_match_torch(weights, n, replacement, match):
    for lib in (tud, eud):
        with pytest.raises(RuntimeError, match=match):
            list(lib.WeightedRandomSampler(weights, n, replacement))


@pytest.mark.parametrize("args, match", [
    (([1.0], 0), "num_samples should be a positive integer value, but got num_samples=0"),
    (([1.0], 2, 1), "replacement should be a boolean value, but got replacement=1"),
    (([[1.0]], 2), r"weights should be a 1d sequence but given weights have shape \(1, 1\)"),
])
def test_weighted_random_sampler_arg_errors(args, match):
    for lib in (tud, eud):
        with pytest.raises(ValueError, match=match):
            lib.WeightedRandomSampler(*args)


# -- datasets ------------------------------------------------------------------------------------

def test_tensor_dataset():
    x, y = ember.arange(12.0).reshape(6, 2), ember.arange(6)
    ds = eud.TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8.0, 9.0] and b.item() == 4
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        eud.TensorDataset(x, ember.arange(5))


def test_concat_subset_stack_chain_match_torch():
    parts = [list(range(0, 3)), list(range(10, 15)), list(range(20, 22))]
    e, t = eud.ConcatDataset(parts), tud.ConcatDataset(parts)
    assert len(e) == len(t) == 10
    assert [e[i] for i in range(-10, 10)] == [t[i] for i in range(-10, 10)]
    assert e.cumulative_sizes == t.cumulative_sizes
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        e[-11]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        eud.ConcatDataset([])
    sub = eud.Subset(e, [9, 0, 4])
    assert [sub[i] for i in range(3)] == [21, 0, 11] and len(sub) == 3
    assert sub.__getitems__([0, 2]) == [21, 11]
    assert isinstance(Squares(2) + Squares(3), eud.ConcatDataset) and len(Squares(2) + Squares(3)) == 5
    st = eud.StackDataset(a=[1, 2], b=["x", "y"])
    assert st[1] == {"a": 2, "b": "y"} and len(st) == 2
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        eud.StackDataset([1], [1, 2])

    class Stream(eud.IterableDataset):
        def __init__(self, items):
            self.items = items

        def __iter__(self):
            return iter(self.items)

        def __len__(self):
            return len(self.items)

    chain = Stream([1, 2]) + Stream([3])
    assert list(chain) == [1, 2, 3] and len(chain) == 3


def test_random_split_lengths_match_torch():
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [1 / 3] * 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e = eud.random_split(range(10), lengths)
            t = tud.random_split(range(10), lengths)
        assert [len(s) for s in e] == [len(s) for s in t]
        assert sorted(i for s in e for i in s) == list(range(10))
    gen = ember.Generator().manual_seed(1)
    a = [list(s) for s in eud.random_split(range(10), [4, 6], generator=gen)]
    gen.manual_seed(1)
    assert [list(s) for s in eud.random_split(range(10), [4, 6], generator=gen)] == a
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        eud.random_split(range(10), [3, 3])
    for lib in (tud, eud):
        with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
            lib.random_split(range(10), [1.5, -0.5])


# -- DataLoader, main process --------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
    dict(batch_size=4, sampler=[9, 1, 5, 2, 2]),
    dict(batch_sampler=[[0, 1], [5], [7, 8, 9]]),
    dict(batch_size=2, collate_fn=lambda b: [s["y"] for s in b]),
])
def test_dataloader_matches_torch(kwargs):
    e = list(eud.DataLoader(Squares(), **kwargs))
    t = list(tud.DataLoader(TorchSquares(), **kwargs))
    assert_same(e, t)
    assert len(eud.DataLoader(Squares(), **kwargs)) == len(tud.DataLoader(TorchSquares(), **kwargs))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_dataloader_batches_match_torch_property(n, batch_size, drop_last):
    e = eud.DataLoader(Squares(n), batch_size=batch_size, drop_last=drop_last)
    t = tud.DataLoader(TorchSquares(n), batch_size=batch_size, drop_last=drop_last)
    assert len(e) == len(t)
    assert_same(list(e), list(t))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50), num_samples=st.integers(1, 120), replacement=st.booleans(),
       seed=st.integers(0, 2**31))
def test_random_sampler_properties(n, num_samples, replacement, seed):
    gen = ember.Generator().manual_seed(seed)
    out = list(eud.RandomSampler(range(n), replacement=replacement, num_samples=num_samples, generator=gen))
    assert len(out) == num_samples and all(0 <= i < n for i in out)
    if not replacement:  # whole permutations, then a prefix of one more
        for start in range(0, num_samples - num_samples % n, n):
            assert sorted(out[start:start + n]) == list(range(n))
        tail = out[num_samples - num_samples % n:]
        assert len(set(tail)) == len(tail)


def test_dataloader_tensor_dataset_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((11, 3)).astype(np.float32)
    y = np.arange(11)
    e = list(eud.DataLoader(eud.TensorDataset(ember.from_numpy(x), ember.from_numpy(y)), batch_size=4))
    t = list(tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=4))
    assert_same(e, t)


def test_dataloader_shuffle_is_reproducible():
    ember.manual_seed(7)
    a = [b["y"].tolist() for b in eud.DataLoader(Squares(), batch_size=4, shuffle=True)]
    ember.manual_seed(7)
    b = [b["y"].tolist() for b in eud.DataLoader(Squares(), batch_size=4, shuffle=True)]
    assert a == b and sorted(sum(a, [])) == [i * i for i in range(10)]
    gen = ember.Generator().manual_seed(1)
    loader = eud.DataLoader(Squares(), batch_size=10, shuffle=True, generator=gen)
    epoch1, epoch2 = [next(iter(loader))["y"].tolist() for _ in range(2)]
    assert epoch1 != epoch2


class Stream(eud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = eud.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


class TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def test_iterable_dataset_matches_torch():
    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        assert_same(list(eud.DataLoader(Stream(8), **kwargs)), list(tud.DataLoader(TorchStream(8), **kwargs)))
    assert len(eud.DataLoader(Stream(8), batch_size=3)) == 3
    assert len(eud.DataLoader(Stream(8), batch_size=3, drop_last=True)) == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(shuffle=True, sampler=[0, 1]), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    (dict(multiprocessing_context="fork"), "multiprocessing_context can only be used with multi-process loading"),
])
def test_dataloader_argument_errors_match_torch(kwargs, match):
    for lib, ds in ((tud, TorchSquares()), (eud, Squares())):
        with pytest.raises(ValueError, match=match):
            lib.DataLoader(ds, **kwargs)


def test_single_process_timeout_is_refused_as_torch():
    for lib, ds in ((tud, TorchSquares()), (eud, Squares())):
        with pytest.raises(AssertionError, match="_SingleProcessDataLoaderIter requires timeout == 0"):
            iter(lib.DataLoader(ds, timeout=2))


def test_dataloader_iterable_argument_errors():
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=True"):
        eud.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        eud.DataLoader(Stream(3), sampler=[0])


def test_dataloader_attributes_are_frozen():
    loader = eud.DataLoader(Squares(), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # other attributes may change, as in torch


def test_pin_memory_warns_without_accelerator():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        list(eud.DataLoader(Squares(2), pin_memory=True))


# -- DataLoader, worker processes ----------------------------------------------------------------

class Jittery(eud.Dataset):
    """Slow on early indices so that later batches finish first in other workers."""

    def __len__(self):
        return 13

    def __getitem__(self, i):
        time.sleep(0.02 if i < 4 else 0.0)
        return np.array([i, i * 10]), os.getpid()


def test_workers_keep_sampler_order_and_drop_last():
    with time_limit(30):
        single = [b[0].tolist() for b in eud.DataLoader(Jittery(), batch_size=3, drop_last=True)]
        multi = list(eud.DataLoader(Jittery(), batch_size=3, drop_last=True, num_workers=2))
    assert [b[0].tolist() for b in multi] == single and len(single) == 4
    pids = {int(p) for b in multi for p in b[1].tolist()}
    assert len(pids) == 2 and os.getpid() not in pids


class Failing(eud.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"bad sample {i}")
        return i


def test_worker_exception_is_reraised_with_traceback():
    with time_limit(30):
        loader = eud.DataLoader(Failing(), batch_size=2, num_workers=2)
        it = iter(loader)
        assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
        with pytest.raises(KeyError) as info:
            next(it)
    text = str(info.value)
    assert "Caught KeyError in DataLoader worker process" in text
    assert "Original Traceback" in text and "bad sample 5" in text and "__getitem__" in text
    assert all(not w.is_alive() for w in it._workers)  # shut down, nothing left running


def test_worker_info_init_fn_and_iterable_sharding():
    def init_fn(worker_id):
        info = eud.get_worker_info()
        assert info.id == worker_id and info.num_workers == 2
        info.dataset.tag = f"w{worker_id}"

    class Tagged(eud.Dataset):
        tag = "main"

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.tag

    with time_limit(30):
        tags = list(eud.DataLoader(Tagged(), batch_size=1, num_workers=2, worker_init_fn=init_fn))
        assert [t[0] for t in tags] == ["w0", "w1", "w0", "w1"]
        values = sorted(int(v) for b in eud.DataLoader(Stream(10), batch_size=2, num_workers=2) for v in b.tolist())
    assert values == list(range(10))  # each worker streamed its own share, no duplicates
    assert eud.get_worker_info() is None


class RandomSample(eud.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return float(ember.rand(1).item()), float(np.random.rand())


def test_workers_are_seeded_from_manual_seed_and_persist():
    with time_limit(30):
        ember.manual_seed(11)
        a = [b[0].tolist() for b in eud.DataLoader(RandomSample(), batch_size=2, num_workers=2)]
        ember.manual_seed(11)
        b = [b[0].tolist() for b in eud.DataLoader(RandomSample(), batch_size=2, num_workers=2)]
        assert a == b
        assert a[0] != a[1]  # workers got different seeds
        loader = eud.DataLoader(Jittery(), batch_size=5, num_workers=2, persistent_workers=True)
        epoch1 = list(loader)
        epoch2 = list(loader)
        assert [x[0].tolist() for x in epoch1] == [x[0].tolist() for x in epoch2]
        pids1 = {int(p) for x in epoch1 for p in x[1].tolist()}
        assert pids1 == {int(p) for x in epoch2 for p in x[1].tolist()}  # the same processes
        loader._iterator._shutdown_workers()


class Slow(eud.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(1.0)
        return i


class Dies(eud.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_timeout_and_dead_worker_raise_instead_of_hanging(monkeypatch):
    with time_limit(30):
        with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
            list(eud.DataLoader(Slow(), num_workers=1, timeout=0.2))
        monkeypatch.setattr(eud._utils.worker, "MP_STATUS_CHECK_INTERVAL", 0.2)
        with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
            list(eud.DataLoader(Dies(), num_workers=1))


def test_forkserver_context_and_worker_count_warning():
    # the workaround for forked workers that would run numba-parallel kernels (see the loader's
    # "exited unexpectedly" hint); datasets must then be picklable
    ds = eud.TensorDataset(ember.arange(6.0), ember.arange(6))
    with time_limit(60):
        batches = list(eud.DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="forkserver"))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    with pytest.warns(UserWarning, match="This DataLoader will create 999 worker processes in total"):
        eud.DataLoader(ds, num_workers=999)
    with pytest.raises(ValueError, match="multiprocessing_context option should specify a valid start method"):
        eud.DataLoader(ds, num_workers=1, multiprocessing_context="nope")
