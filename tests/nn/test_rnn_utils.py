"""ember.nn.utils.rnn against torch.nn.utils.rnn: PackedSequence, pack/pad/unpad, their values,
gradients and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from tests.helpers import assert_close, same_error

from torch.nn.utils import rnn as trnn
from ember.nn.utils import rnn as ernn


def _both(array, requires_grad=True):
    return (torch.tensor(array, requires_grad=requires_grad),
            ember.tensor(array, requires_grad=requires_grad))


def _same_packed(e, t):
    assert_close(e.data, t.data, str(t.data.dtype).replace("torch.", "") if t.data.is_floating_point() else "float64")
    assert e.batch_sizes.tolist() == t.batch_sizes.tolist()
    for a, b in ((e.sorted_indices, t.sorted_indices), (e.unsorted_indices, t.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 2, 4]),
                                                    (False, [3, 3, 3, 3])])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_pad_round_trip_values_and_gradients(batch_first, enforce_sorted, lengths, as_tensor):
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    x = np.random.default_rng(0).standard_normal(shape)
    tx, ex = _both(x)
    t_len = torch.tensor(lengths) if as_tensor else lengths
    e_len = ember.tensor(lengths) if as_tensor else lengths
    tp = trnn.pack_padded_sequence(tx, t_len, batch_first=batch_first, enforce_sorted=enforce_sorted)
    ep = ernn.pack_padded_sequence(ex, e_len, batch_first=batch_first, enforce_sorted=enforce_sorted)
    _same_packed(ep, tp)
    t_pad, t_lens = trnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=-2.0,
                                             total_length=7)
    e_pad, e_lens = ernn.pad_packed_sequence(ep, batch_first=batch_first, padding_value=-2.0,
                                             total_length=7)
    assert_close(e_pad, t_pad)
    assert e_lens.tolist() == t_lens.tolist() and e_lens.dtype == ember.int64
    g = np.random.default_rng(1).standard_normal(tuple(t_pad.shape))
    t_pad.backward(torch.tensor(g))
    e_pad.backward(ember.tensor(g))
    assert_close(ex.grad, tx.grad)


def test_packed_sequence_is_a_named_tuple_as_torch():
    tp = trnn.pack_sequence([torch.tensor([1, 2, 3]), torch.tensor([4, 5]), torch.tensor([6])])
    ep = ernn.pack_sequence([ember.tensor([1, 2, 3]), ember.tensor([4, 5]), ember.tensor([6])])
    assert repr(ep) == repr(tp)
    data, batch_sizes, sorted_indices, unsorted_indices = ep
    assert data is ep.data and ep._fields == tp._fields and ep[1] is batch_sizes
    assert sorted_indices is None and unsorted_indices is None
    assert isinstance(ep, tuple) and ep.batch_sizes.dtype == ember.int64


def test_packed_sequence_conversions():
    ep = ernn.pack_sequence([ember.tensor([1.0, 2.0]), ember.tensor([3.0])])
    assert ep.double().data.dtype == ember.float64
    assert ep.long().data.dtype == ember.int64
    assert ep.to(ember.float32) is ep
    assert ep.cpu().data is ep.data
    assert not ep.is_cuda
    # built from (data, batch_sizes) as torch's, unsorted_indices inferred
    perm = ember.tensor([2, 0, 1])
    p = ernn.PackedSequence(ep.data, ep.batch_sizes, perm)
    assert p.unsorted_indices.tolist() == [1, 2, 0]
    q = ernn.PackedSequence((ep.data, ep.batch_sizes))
    assert q.batch_sizes is ep.batch_sizes


def test_invert_permutation():
    perm = [3, 0, 2, 1]
    assert ernn.invert_permutation(ember.tensor(perm)).tolist() == \
        trnn.invert_permutation(torch.tensor(perm)).tolist()
    assert ernn.invert_permutation(None) is None


def test_enforce_sorted_false_ties_keep_order_as_torch():
    lengths = [2, 4, 2, 4, 1, 2]
    x = np.arange(4 * 6 * 1, dtype=np.float64).reshape(4, 6, 1)
    tp = trnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False)
    ep = ernn.pack_padded_sequence(ember.tensor(x), lengths, enforce_sorted=False)
    _same_packed(ep, tp)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_as_torch(batch_first, padding_side):
    rng = np.random.default_rng(2)
    seqs = [rng.standard_normal((n, 2, 3)) for n in (3, 1, 4)]
    t_in = [torch.tensor(s, requires_grad=True) for s in seqs]
    e_in = [ember.tensor(s, requires_grad=True) for s in seqs]
    t_out = trnn.pad_sequence(t_in, batch_first, 1.5, padding_side)
    e_out = ernn.pad_sequence(e_in, batch_first, 1.5, padding_side)
    assert_close(e_out, t_out)
    g = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))
    for a, b in zip(e_in, t_in):
        assert_close(a.grad, b.grad)


def test_unpad_and_unpack_sequence_as_torch():
    rng = np.random.default_rng(3)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 3)]
    t_seqs = [torch.tensor(s) for s in seqs]
    e_seqs = [ember.tensor(s) for s in seqs]
    for batch_first in (False, True):
        t_pad = trnn.pad_sequence(t_seqs, batch_first)
        e_pad = ernn.pad_sequence(e_seqs, batch_first)
        lengths = [2, 4, 3]
        t_un = trnn.unpad_sequence(t_pad, torch.tensor(lengths), batch_first)
        e_un = ernn.unpad_sequence(e_pad, ember.tensor(lengths), batch_first)
        for a, b in zip(e_un, t_un):
            assert_close(a, b)
    t_packed = trnn.pack_sequence(t_seqs, enforce_sorted=False)
    e_packed = ernn.pack_sequence(e_seqs, enforce_sorted=False)
    _same_packed(e_packed, t_packed)
    for a, b in zip(ernn.unpack_sequence(e_packed), trnn.unpack_sequence(t_packed)):
        assert_close(a, b)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5), st.booleans())
def test_pack_padded_any_lengths_as_torch(lengths, batch_first):
    steps = max(lengths)
    shape = (len(lengths), steps, 2) if batch_first else (steps, len(lengths), 2)
    x = np.random.default_rng(len(lengths)).standard_normal(shape)
    tp = trnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce_sorted=False)
    ep = ernn.pack_padded_sequence(ember.tensor(x), lengths, batch_first, enforce_sorted=False)
    _same_packed(ep, tp)
    for a, b in zip(ernn.pad_packed_sequence(ep, batch_first),
                    trnn.pad_packed_sequence(tp, batch_first)):
        assert a.tolist() == b.tolist()


ERRORS = [
    ("unsorted", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.randn(4, 3, 2), [2, 3, 1]),
     "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True"),
    ("zero_length", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.randn(4, 3, 2), [3, 2, 0]),
     "Length of all samples has to be greater than 0"),
    ("negative", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(
        lib.randn(4, 3, 2), [3, 2, -1], enforce_sorted=False),
     "Length of all samples has to be greater than 0"),
    ("count", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.randn(4, 3, 2), [3, 2]),
     "Expected `len\\(lengths\\)` to be equal to batch_size, but got 2 \\(batch_size=3\\)"),
    ("lengths_2d", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(
        lib.randn(4, 3, 2), lib.tensor([[3, 2, 1]])),
     "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor"),
    ("one_dim", lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.randn(4), [3]),
     "Dimension out of range"),
    ("total_length", lambda lib: lib.nn.utils.rnn.pad_packed_sequence(
        lib.nn.utils.rnn.pack_padded_sequence(lib.randn(4, 3, 2), [3, 2, 1]), total_length=2),
     "Expected total_length to be at least the length of the longest sequence in input, but got "
     "total_length=2 and max sequence length being 3"),
    ("pad_shapes", lambda lib: lib.nn.utils.rnn.pad_sequence([lib.randn(2, 3), lib.randn(3, 4)]),
     "The size of tensor a \\(3\\) must match the size of tensor b \\(4\\) at non-singleton "
     "dimension 1"),
    ("padding_side", lambda lib: lib.nn.utils.rnn.pad_sequence([lib.randn(2, 3)], padding_side="top"),
     "Expected padding_side to be one of left or right, but got top."),
    ("empty_list", lambda lib: lib.nn.utils.rnn.pad_sequence([]),
     "received an empty list of sequences"),
    ("not_iterable", lambda lib: lib.nn.utils.rnn.pad_sequence(5),
     "pad_sequence: Expected iterable for input sequences"),
    ("pack_sequence_unsorted", lambda lib: lib.nn.utils.rnn.pack_sequence([lib.randn(2), lib.randn(3)]),
     "must be sorted in decreasing order"),
]


@pytest.mark.parametrize("fn,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_as_torch(fn, match):
    same_error(fn, match=match)


def test_length_past_the_padded_input_raises_instead_of_reading_garbage():
    # torch reads past the end here (undefined values); ember refuses
    with pytest.raises(RuntimeError, match="larger than the padded input's sequence dimension"):
        ernn.pack_padded_sequence(ember.randn(4, 3, 2), [5, 2, 1])
