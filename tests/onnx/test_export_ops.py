"""ember.onnx.export for the ops mapped with the layer-coverage work (issue 13): the rarer
pointwise ops, sort/topk with their indices, diagonals, cross, scatters and takes, distances,
and the losses under each reduction. Each runs in onnxruntime on values other than the traced
ones (indices too, where they are inputs) and matches ember to 1e-5."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from .test_export import Fn, check, export_bytes, x

pytest.importorskip("onnxruntime")

DYNAMIC = dict(input_names=["a"], dynamic_axes={"a": {0: "batch"}})


def ints(*values):
    return ember.tensor(np.asarray(values, dtype=np.int64))


def special(seed):
    """Values with zeros, signed zeros, infinities and nan among normal ones."""
    a = np.random.default_rng(seed).standard_normal((4, 6)).astype(np.float32)
    a[0, :4] = [0.0, -0.0, np.inf, -np.inf]
    a[1, 0] = np.nan
    return ember.tensor(a)


POINTWISE = {
    "atan2": lambda a: ember.atan2(a, a.flip(0)) + ember.atan2(a, ember.zeros(6)),
    "fmod": lambda a: ember.fmod(a * 3, 0.7) + ember.fmod(a * 3, -a.flip(0)),
    "remainder": lambda a: ember.remainder(a * 3, 0.7) + ember.remainder(a * 3, a.flip(0))
    + (a * 3) % -0.6,
    "hypot_copysign": lambda a: ember.hypot(a, a.flip(0)) + ember.copysign(a, a.flip(0)),
    "logaddexp": lambda a: ember.logaddexp(a, a.flip(0)) + ember.logaddexp2(a, a * 2),
    "xlogy": lambda a: ember.xlogy(a.relu(), a.abs() + 1),
    "sinc_frac": lambda a: ember.sinc(a) + (a * 3).frac(),
    "heaviside": lambda a: ember.heaviside(a, a.flip(0)),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_pointwise(name):
    check(Fn(POINTWISE[name]), x(4, 6))


def test_integer_remainder_takes_the_divisor_sign():
    check(Fn(lambda i: ember.remainder(i, -3) + ember.remainder(i * 2, 4)), ints(-7, -1, 0, 5),
          run_args=[ints(9, -4, 3, -12)])


def test_nan_to_num_and_specials():
    model = Fn(lambda a: ember.nan_to_num(a, nan=2.0, neginf=-5.0) + ember.nan_to_num(a))
    check(model, special(0), run_args=[special(1)])


@pytest.mark.parametrize("op", ["lgamma", "digamma", "erfinv"])
def test_no_onnx_form_refused(op):
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="no exact composition"):
        export_bytes(Fn(lambda a: getattr(ember, op)(a.sigmoid() * 0.5)), (x(2, 3),))


# ------------------------------------------------------------------------------- sort, topk
@pytest.mark.parametrize("fn", [
    lambda a: a.topk(3, dim=1),
    lambda a: a.topk(2, dim=0, largest=False).values * 2,
    lambda a: a.sort(1, descending=True),
    lambda a: a.sort(0).values + a.argsort(0).float(),
    lambda a: a[:, a[0].topk(2).indices] + a.gather(1, a.topk(2, 1).indices),
    lambda a: a[:, :1].sort(1, descending=True).values + a[:, :1].topk(1, 1).indices])
def test_sort_topk_values_and_indices(fn):
    """The indices are ONNX's TopK output, not a frozen copy: other inputs sort otherwise."""
    check(Fn(fn), x(4, 6), run_args=[x(4, 6, seed=9)])


def test_topk_dynamic_batch():
    check(Fn(lambda a: a.topk(2, dim=1)), x(2, 6), run_args=[x(5, 6, seed=3)], **DYNAMIC)


@pytest.mark.parametrize("fn,why", [
    (lambda a: a.median(1).values, "median"), (lambda a: a.kthvalue(2, 1).values, "kthvalue"),
    (lambda a: a.mode(1).values, "mode")])
def test_values_at_precomputed_indices_refused(fn, why):
    """median, kthvalue, mode pick indices with NumPy: exported, they would be frozen."""
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=why):
        export_bytes(Fn(fn), (x(4, 6),))


def test_sort_of_tied_rows_cannot_tell_the_direction():
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="tied"):
        export_bytes(Fn(lambda a: a.sort(1, descending=True).values), (ember.ones(2, 3),))


# ------------------------------------------------------------------------------- diagonals, cross
@pytest.mark.parametrize("fn", [
    lambda a: a.diagonal() + a.diagonal(2).sum() + a.diagonal(-1)[:1].sum(),
    lambda a: ember.trace(a) + a.reshape(2, 3, 4).diagonal(0, 0, 2).sum(),
    lambda a: ember.diag_embed(a) + ember.diag_embed(a[:, :5], 1)[:, :6, :6],
    lambda a: ember.linalg.cross(a[:, :3], a[:, 3:]) + ember.cross(a.reshape(4, 3, 2),
                                                                   a.reshape(4, 3, 2), dim=1)
    .sum(-1)])
def test_diagonals_and_cross(fn):
    check(Fn(fn), x(4, 6))


# ------------------------------------------------------------------------------- scatters, takes
def test_index_ops_with_traced_indices():
    model = Fn(lambda a, i: a.index_add(0, i, a * 2, alpha=0.5) + a.index_copy(0, i.flip(0), a)
               + a.index_fill(1, i, -1.0) + ember.take(a, i - 5).sum()
               + a.put(i * 3, a[0, :4], accumulate=True))
    check(model, x(4, 6), ints(0, 3, 2, 1), run_args=[x(4, 6, seed=3), ints(2, 2, 0, 3)])


@pytest.mark.parametrize("opset", [16, 18])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self, opset):
    index = ints(*[0, 1, 1, 0, 2, 2] * 4).reshape(4, 6)
    model = Fn(lambda a: a.scatter_reduce(1, index, a * 2, reduce, include_self=include_self)
               + a.scatter(1, index, 3.0) + a.scatter_add(0, index.flip(1) % 4, a))
    if opset < 18 and reduce in ("amax", "amin"):
        with pytest.raises(ember.onnx.UnsupportedOperatorError, match="opset_version >= 18"):
            export_bytes(model, (x(4, 6),), opset_version=opset)
        return
    check(model, x(4, 6), opset_version=opset)


# ------------------------------------------------------------------------------- distances
@pytest.mark.parametrize("fn", [
    lambda a: F.pdist(a) + F.pdist(a, p=1).sum() + F.pdist(a, p=3).sum(),
    lambda a: ember.cdist(a, a.flip(0) + 1) + ember.cdist(a, a[:2], p=1).sum(),
    lambda a: F.normalize(a, dim=0) + F.cosine_similarity(a, a.flip(0))[:, None]
    + F.pairwise_distance(a, a * 2, p=1.5)[:, None]])
def test_distances(fn):
    check(Fn(fn), x(4, 6))


def test_cdist_dynamic_batch():
    check(Fn(lambda a: ember.cdist(a, a * 0.5 + 1)), x(2, 5), run_args=[x(4, 5, seed=1)],
          **DYNAMIC)


# ------------------------------------------------------------------------------- losses
def probs(*shape, seed=0):
    p = np.random.default_rng(seed).dirichlet(np.ones(shape[1]), size=shape[0])
    return ember.tensor(p.astype(np.float32))


LOSSES = {
    "mse": lambda r: (lambda a, b: F.mse_loss(a, b, reduction=r)),
    "l1": lambda r: (lambda a, b: F.l1_loss(a, b, reduction=r)),
    "smooth_l1": lambda r: (lambda a, b: F.smooth_l1_loss(a, b, reduction=r, beta=0.3)),
    "huber": lambda r: (lambda a, b: F.huber_loss(a, b, reduction=r, delta=0.7)),
    "bce": lambda r: (lambda a, b: F.binary_cross_entropy(a.sigmoid(), b.sigmoid(),
                                                          weight=ember.ones(5) * 0.5,
                                                          reduction=r)),
    "bce_logits": lambda r: (lambda a, b: F.binary_cross_entropy_with_logits(
        a, b.sigmoid(), weight=b.abs(), reduction=r)),
    "kl_div": lambda r: (lambda a, b: F.kl_div(a.log_softmax(1), b.softmax(1), reduction=r)),
    "kl_div_log_target": lambda r: (lambda a, b: F.kl_div(a.log_softmax(1), b.log_softmax(1),
                                                          reduction=r, log_target=True)),
    "soft_margin": lambda r: (lambda a, b: F.soft_margin_loss(a, b.sign().detach(),
                                                              reduction=r)),
    "poisson_nll": lambda r: (lambda a, b: F.poisson_nll_loss(a, b.abs(), full=True,
                                                              reduction=r)),
    "gaussian_nll": lambda r: (lambda a, b: F.gaussian_nll_loss(a, b, a.abs() + 0.1,
                                                                reduction=r)),
    "cosine_embedding": lambda r: (lambda a, b: F.cosine_embedding_loss(
        a, b, ember.tensor([1.0, -1.0, 1.0, -1.0]), margin=0.1, reduction=r)),
    "hinge_embedding": lambda r: (lambda a, b: F.hinge_embedding_loss(
        a, b.sign().detach(), reduction=r)),
    "margin_ranking": lambda r: (lambda a, b: F.margin_ranking_loss(
        a[:, 0], b[:, 0], ember.tensor([1.0, -1.0, 1.0, -1.0]), reduction=r)),
    "triplet": lambda r: (lambda a, b: F.triplet_margin_loss(a, b, a.flip(0), reduction=r)),
    "multilabel_soft_margin": lambda r: (lambda a, b: F.multilabel_soft_margin_loss(
        a, (b > 0).float(), reduction=r)),
}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_reductions(name, reduction):
    check(Fn(LOSSES[name](reduction)), x(4, 5), x(4, 5, seed=1))


@pytest.mark.parametrize("kw", [dict(), dict(weight=ember.tensor([1.0, 2.0, 0.5])),
                                dict(ignore_index=1), dict(label_smoothing=0.2),
                                dict(weight=ember.tensor([1.0, 2.0, 0.5]), ignore_index=0,
                                     label_smoothing=0.1)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_and_nll(kw, reduction):
    model = Fn(lambda a, t: F.cross_entropy(a, t, reduction=reduction, **kw)
               + F.nll_loss(a.log_softmax(1), t, reduction=reduction,
                            **{k: v for k, v in kw.items() if k != "label_smoothing"}))
    check(model, x(4, 3), ints(0, 2, 1, 1), run_args=[x(4, 3, seed=2), ints(1, 1, 2, 0)])
    # spatial (N, C, d) targets and a dynamic batch
    check(model, x(2, 3, 5), ints(*range(10)).reshape(2, 5) % 3,
          run_args=[x(3, 3, 5, seed=4), ints(*range(15)).reshape(3, 5) % 2],
          input_names=["a", "t"], dynamic_axes={"a": {0: "n"}, "t": {0: "n"}})


@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.3),
                                dict(weight=ember.tensor([1.0, 2.0, 0.5]))])
def test_cross_entropy_probability_targets_and_unbatched(kw):
    check(Fn(lambda a, q: F.cross_entropy(a, q, **kw)), x(4, 3), probs(4, 3),
          run_args=[x(4, 3, seed=5), probs(4, 3, seed=6)])
    check(Fn(lambda a, t: F.cross_entropy(a, t, reduction="none", **kw)), x(3), ints(2)[0],
          run_args=[x(3, seed=1), ints(0)[0]])


def test_kl_div_batchmean_dynamic_batch():
    check(Fn(lambda a, b: F.kl_div(a.log_softmax(1), b.softmax(1), reduction="batchmean")),
          x(2, 5), x(2, 5, seed=1), run_args=[x(6, 5, seed=2), x(6, 5, seed=3)],
          input_names=["a", "b"], dynamic_axes={"a": [0], "b": [0]})


# ------------------------------------------------------------------------------- packed sequences
RNN = nn.utils.rnn


@pytest.mark.parametrize("kind,kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                     ("GRU", dict(batch_first=True)), ("RNN", dict()),
                                     ("LSTM", dict(batch_first=True, bidirectional=True))])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequences_of_unequal_lengths(kind, kw, enforce_sorted):
    """pack_padded_sequence -> RNN -> pad_packed_sequence is ONNX's recurrent node with
    sequence_lens, the lengths a graph input: other lengths (and a shorter longest one) run
    right, padded positions hold padding_value, h_n each sequence's last state."""
    ember.manual_seed(0)
    layer = getattr(nn, kind)(4, 5, **kw)
    batch_first = kw.get("batch_first", False)

    def forward(a, lengths):
        packed = RNN.pack_padded_sequence(a, lengths, batch_first=batch_first,
                                          enforce_sorted=enforce_sorted)
        out, state = layer(packed)
        y, out_lengths = RNN.pad_packed_sequence(out, batch_first=batch_first,
                                                 padding_value=-7.0)
        return y, out_lengths, state
    shape = (3, 5, 4) if batch_first else (5, 3, 4)
    traced, other = (ints(5, 3, 2), ints(4, 4, 1)) if enforce_sorted else \
        (ints(2, 5, 3), ints(4, 1, 4))
    check(Fn(forward, layer), x(*shape), traced, run_args=[x(*shape, seed=3), other])


def test_packed_sequences_dynamic_batch_initial_state_and_total_length():
    ember.manual_seed(0)
    gru = nn.GRU(4, 5, num_layers=2)

    def forward(a, lengths, h):
        out, h_n = gru(RNN.pack_padded_sequence(a, lengths, enforce_sorted=False), h)
        return RNN.pad_packed_sequence(out, total_length=6)[0], h_n
    check(Fn(forward, gru), x(5, 2, 4), ints(3, 5), x(2, 2, 5, seed=1),
          run_args=[x(5, 4, 4, seed=2), ints(1, 5, 2, 4), x(2, 4, 5, seed=4)],
          input_names=["a", "lengths", "h"],
          dynamic_axes={"a": {1: "batch"}, "lengths": {0: "batch"}, "h": {1: "batch"}})


def test_packed_data_used_otherwise_raises():
    gru = nn.GRU(4, 5)

    def forward(a):
        packed = RNN.pack_padded_sequence(a, [3, 2])
        return gru(RNN.PackedSequence(packed.data * 2, packed.batch_sizes))[1]
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="PackedSequence's data"):
        export_bytes(Fn(forward, gru), (x(3, 2, 4),))


# ------------------------------------------------------------------------------- predicates, guards
@pytest.mark.parametrize("fn", [
    lambda a: ember.where(a.isnan() | ember.isinf(a), 0.0, a) + ember.isfinite(a).float(),
    lambda a: a.nan_to_num() * ember.logical_not(a > 0).float()
    + ember.logical_and(a > 0, a < 1).float() + (a > 1).logical_or(a < -1).float(),
    lambda a: (a > -1).all(1, keepdim=True).float() + (a > 0).all().float()
    + (a > 0).any(0).float() + (~(a > 0.5)).float()])
def test_predicates_and_boolean_ops(fn):
    """isnan/isinf/isfinite, logical_*, any/all and ~ compute with NumPy outside Functions;
    the trace maps them (the traced and the run inputs hold nan and infinities)."""
    check(Fn(fn), special(0), run_args=[special(3)])


@pytest.mark.parametrize("fn", [
    lambda a: a * ember.signbit(a).float(),
    lambda a: a * ember.tensor(a.detach().sum(1, keepdim=True).tolist())])
def test_values_computed_outside_the_trace_raise(fn):
    """A value computed from the inputs outside ember's traced ops would be a constant of the
    traced values: export runs the model once more on shuffled inputs, sees it differ, and
    raises naming the op that reads it."""
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="outside ember's traced ops"):
        export_bytes(Fn(fn), (x(4, 6),))
