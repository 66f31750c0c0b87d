"""ember.onnx.export for the ops added after the first exporter: max pooling's indices and
max-unpooling, EmbeddingBag, adaptive pools with unequal bins, avg_pool's divisor_override,
several index arrays, cumprod/logcumsumexp/cummax. Each is run in onnxruntime on values other
than the traced ones (a frozen constant would fail) and compared with ember to 1e-5."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from .test_export import Fn, check, export_bytes, x

pytest.importorskip("onnxruntime")

DYNAMIC = dict(input_names=["a"], dynamic_axes={"a": {0: "batch"}})


# ------------------------------------------------------------------------------- max pool indices
@pytest.mark.parametrize("n,kw", [
    (1, dict(kernel_size=2)), (2, dict(kernel_size=2)),
    (2, dict(kernel_size=3, stride=2, padding=1)), (2, dict(kernel_size=2, dilation=2)),
    (2, dict(kernel_size=3, stride=2, ceil_mode=True)), (3, dict(kernel_size=2))])
def test_max_pool_indices(n, kw):
    pool = getattr(F, f"max_pool{n}d")
    model = Fn(lambda a: pool(a, return_indices=True, **kw))
    check(model, x(1, 2, *[7] * n), run_args=[x(3, 2, *[7] * n, seed=1)], **DYNAMIC)


def test_max_pool_indices_unbatched():
    check(Fn(lambda a: F.max_pool2d(a, 2, return_indices=True)), x(3, 6, 6))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_then_unpool(n):
    pool = getattr(nn, f"MaxPool{n}d")(2, return_indices=True)
    unpool = getattr(nn, f"MaxUnpool{n}d")(2)
    model = Fn(lambda a: unpool(*pool(a)), pool, unpool)
    check(model, x(1, 2, *[6] * n), run_args=[x(3, 2, *[6] * n, seed=1)], **DYNAMIC)


def test_unpool_output_size_and_unbatched():
    def f(a):
        y, i = F.max_pool2d(a, 3, stride=2, return_indices=True)
        return F.max_unpool2d(y, i, 3, stride=2, output_size=a.shape[-2:])
    check(Fn(f), x(2, 8, 7))
    check(Fn(f), x(1, 2, 8, 7))


# ------------------------------------------------------------------------------- embedding bag
def ints(*values):
    return ember.tensor(np.asarray(values, dtype=np.int64))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_2d_dynamic_batch(mode, padding_idx):
    ember.manual_seed(0)
    bag = nn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx)
    traced = ember.tensor(np.array([[0, 1, 2], [3, 4, 5]]))
    other = ember.tensor(np.array([[5, 5, 1], [2, 2, 2], [0, 3, 2], [4, 0, 1]]))
    check(bag, traced, run_args=[other], **DYNAMIC)


def test_embedding_bag_per_sample_weights():
    ember.manual_seed(0)
    bag = nn.EmbeddingBag(6, 3, mode="sum")
    check(Fn(lambda i, w: bag(i, per_sample_weights=w), bag),
          ember.tensor(np.array([[0, 1], [3, 4]])), x(2, 2),
          run_args=[ember.tensor(np.array([[5, 2], [1, 1]])), x(2, 2, seed=3)])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_offsets(mode, include_last_offset):
    """Unequal and empty bags; padding rows left out; the bag layout is fixed at trace time
    and the indices' values are read from the graph input."""
    ember.manual_seed(0)
    bag = nn.EmbeddingBag(6, 3, mode=mode, padding_idx=0,
                          include_last_offset=include_last_offset)
    offsets = [0, 2, 2, 5] + ([7] if include_last_offset else [])
    model = Fn(lambda i: bag(i, ints(*offsets)), bag)
    check(model, ints(1, 2, 3, 4, 5, 0, 1), run_args=[ints(5, 0, 4, 4, 0, 0, 0)])


def test_embedding_bag_psw_with_offsets():
    ember.manual_seed(0)
    bag = nn.EmbeddingBag(6, 3, mode="sum")
    model = Fn(lambda i, w: bag(i, ints(0, 1, 4), per_sample_weights=w), bag)
    check(model, ints(1, 2, 3, 4, 5), x(5), run_args=[ints(0, 0, 5, 4, 3), x(5, seed=4)])


def test_embedding_bag_offsets_as_an_input_raise():
    """The bag layout is read at trace time: offsets fed to the graph would be ignored."""
    bag = nn.EmbeddingBag(6, 3)
    with pytest.raises(ember.onnx.OnnxExporterError, match="offsets"):
        export_bytes(Fn(lambda i, o: bag(i, o), bag), (ints(1, 2, 3), ints(0, 1)))


def test_int32_indices_converted_inside_the_op_raise():
    """embedding_bag makes int32 indices int64 with NumPy: a frozen copy, so it raises."""
    bag = nn.EmbeddingBag(6, 3)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="int64"):
        export_bytes(bag, (ember.tensor(np.array([[0, 1], [2, 3]], dtype=np.int32)),))


# ------------------------------------------------------------------------------- pools
@pytest.mark.parametrize("n,kw", [
    (2, dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    (2, dict(kernel_size=3, stride=2, ceil_mode=True, divisor_override=4)),
    (3, dict(kernel_size=2, padding=1, divisor_override=3))])
def test_avg_pool_divisor_override(n, kw):
    pool = getattr(nn, f"AvgPool{n}d")(**kw)
    check(pool, x(1, 2, *[6] * n), run_args=[x(3, 2, *[6] * n, seed=1)], **DYNAMIC)
    check(pool, x(2, *[6] * n))


@pytest.mark.parametrize("kind", ["Avg", "Max"])
@pytest.mark.parametrize("shape,out", [((7,), 3), ((5, 7), (2, 3)), ((5, 6, 7), (2, 4, 3)),
                                       ((5, 4), (3, None)), ((4, 5, 6), (4, 1, 3))])
def test_adaptive_pool_unequal_bins(kind, shape, out):
    pool = getattr(nn, f"Adaptive{kind}Pool{len(shape)}d")(out)
    check(pool, x(1, 2, *shape), run_args=[x(3, 2, *shape, seed=1)], **DYNAMIC)
    check(pool, x(2, *shape))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_adaptive_max_pool_indices_equal_bins(n):
    model = Fn(lambda a: getattr(F, f"adaptive_max_pool{n}d")(a, 2, return_indices=True))
    check(model, x(1, 2, *[6] * n), run_args=[x(3, 2, *[6] * n, seed=1)], **DYNAMIC)


# ------------------------------------------------------------------------------- indexing
@pytest.mark.parametrize("name", ["adjacent_first", "adjacent_middle", "apart", "int_and_array",
                                  "broadcast", "all_dims", "traced_indices", "partial_slice",
                                  "reversed", "none_first", "none_between", "ellipsis",
                                  "mask_and_slice", "mask_and_array"])
def test_several_index_arrays(name):
    i, j = ints(0, 2, -1), ints(1, 0, 3)
    mask = ember.tensor(np.array([True, False, True]))
    fns = {
        "partial_slice": lambda a: a[1:3, i],
        "reversed": lambda a: a[::-2, i, j],
        "none_first": lambda a: a[None, :, i],
        "none_between": lambda a: a[i, None, j],
        "ellipsis": lambda a: a[i, ..., 1:4, j],
        "mask_and_slice": lambda a: a[mask, 1:],
        "mask_and_array": lambda a: a[mask, :, ints(1, -2)],
        "adjacent_first": lambda a: a[i, j],
        "adjacent_middle": lambda a: a[:, i, j],
        "apart": lambda a: a[i, :, j],
        "int_and_array": lambda a: a[:, 1, j],
        "broadcast": lambda a: a[:, i.reshape(3, 1), j.reshape(1, 3)],
        "all_dims": lambda a: a[i, j, i, j],
    }
    if name == "traced_indices":
        check(Fn(lambda a, p, q: a[:, p, q]), x(2, 3, 4, 5), ints(0, 2, -1), ints(3, 0, -4),
              run_args=[x(2, 3, 4, 5, seed=2), ints(1, 1, 0), ints(-1, 2, 2)])
    else:
        check(Fn(fns[name]), x(3, 4, 5, 6))


# ------------------------------------------------------------------------------- cumulative ops
def with_ties_zeros_nans(shape, seed):
    a = np.round(np.random.default_rng(seed).standard_normal(shape), 1).astype(np.float32)
    a.reshape(-1)[::7] = 0.0
    a.reshape(-1)[3::11] = a.reshape(-1)[2::11][:a.reshape(-1)[3::11].size]  # ties
    return ember.tensor(a)


@pytest.mark.parametrize("op", ["cumprod", "logcumsumexp", "cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumulative(op, dim):
    model = Fn(lambda a: getattr(a, op)(dim))
    check(model, x(3, 4, 5), run_args=[with_ties_zeros_nans((3, 4, 5), 1)])


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_nan_and_ints(op):
    a = with_ties_zeros_nans((2, 6), 2).numpy().copy()
    a[0, 2] = a[1, 4] = np.nan
    check(Fn(lambda t: getattr(t, op)(1)), x(2, 6), run_args=[ember.tensor(a)])
    check(Fn(lambda t: getattr(t, op)(0)), ints(3, 1, 3, 5), run_args=[ints(2, 2, 7, -1)])


def test_cumprod_dynamic_batch():
    check(Fn(lambda a: a.cumprod(1)), x(1, 6), run_args=[x(4, 6, seed=3)], **DYNAMIC)


def test_fractional_max_pool_raises_as_torch():
    """torch.onnx has no export for it (random windows per call): ember raises too."""
    pool = nn.FractionalMaxPool2d(2, output_size=3)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="at random"):
        export_bytes(pool, (x(1, 1, 6, 6),))


# ------------------------------------------------------------------------------- LSTM proj_size
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True),
                                dict(batch_first=True, bias=False)])
def test_lstm_proj_size(kw):
    """(A fixed batch, as the other recurrent layers: the module's (T, B, I) -> (T*B, I) views
    are read at trace time.)"""
    ember.manual_seed(0)
    lstm = nn.LSTM(4, 5, proj_size=3, **kw)
    check(Fn(lambda a: lstm(a), lstm), x(3, 2, 4))


def test_lstm_proj_size_with_initial_state():
    ember.manual_seed(0)
    lstm = nn.LSTM(4, 5, proj_size=2)
    check(Fn(lambda a, h, c: lstm(a, (h, c)), lstm), x(3, 2, 4), x(1, 2, 2, seed=1),
          x(1, 2, 5, seed=2))


def test_scalar_constants_stay_0d():
    """A 0-d constant was written as shape (1,): a 0-d result came out (1,)."""
    check(Fn(lambda a: a.sum() * 2.0 + 1.0), x(2, 3))


# ------------------------------------------------------------------------------- opsets
OPSET_CASES = {
    "unpool": lambda: Fn(lambda a: F.max_unpool2d(*F.max_pool2d(a, 2, return_indices=True), 2,
                                                  output_size=a.shape[-2:])),
    "adaptive_max": lambda: nn.AdaptiveMaxPool2d((2, 3)),
    "adaptive_avg3d": lambda: nn.AdaptiveAvgPool3d((2, 3, 2)),
    "embedding_bag_max": lambda: Fn(lambda a: F.embedding_bag(
        ints(0, 3, 1, 2), a.reshape(-1, 5), ints(0, 1), mode="max")),
    "cummax": lambda: Fn(lambda a: a.cummax(-1)),
    "logcumsumexp": lambda: Fn(lambda a: a.logcumsumexp(2)),
}


@pytest.mark.parametrize("opset", [13, 18, 20])
@pytest.mark.parametrize("name", sorted(OPSET_CASES))
def test_opsets(name, opset):
    check(OPSET_CASES[name](), x(1, 2, 5, 5), opset_version=opset)


@pytest.mark.parametrize("shape,out", [((7,), 3), ((5, 7), (2, 3)), ((5, 6, 7), (2, 4, 3))])
def test_adaptive_max_pool_indices_unequal_bins(shape, out):
    pool = getattr(F, f"adaptive_max_pool{len(shape)}d")
    model = Fn(lambda a: pool(a, out, return_indices=True))
    check(model, x(1, 2, *shape), run_args=[x(3, 2, *shape, seed=1)], **DYNAMIC)
    ties = np.round(np.random.default_rng(5).standard_normal((2, *shape))).astype(np.float32)
    check(model, x(2, *shape), run_args=[ember.tensor(ties)])  # ties: the first one wins


def test_unread_outputs_leave_no_nodes():
    """The indices of unequal adaptive bins cost a few nodes per cell: gone when unread."""
    proto = check(nn.AdaptiveMaxPool2d((2, 3)), x(1, 2, 5, 7))
    assert {n.op_type for n in proto.graph.node}.isdisjoint({"ArgMax", "Gather"})
    proto = check(Fn(lambda a: F.adaptive_max_pool2d(a, (2, 3), return_indices=True)),
                  x(1, 2, 5, 7))
    assert [n.op_type for n in proto.graph.node].count("ArgMax") == 6


def test_integer_constant_equal_to_an_input_says_what_to_do():
    """A constant made in forward that equals the traced integer input cannot be told from a
    frozen copy of it: the error says to trace with other inputs, which then works."""
    emb = nn.Embedding(8, 2)
    model = Fn(lambda t: emb(t) + emb(ember.arange(4)), emb)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="other example inputs"):
        export_bytes(model, (ember.arange(4),))
    check(model, ints(3, 1, 2, 7), run_args=[ints(0, 5, 5, 1)])


def test_several_index_arrays_dynamic_batch():
    i, j = ints(0, 2, -1), ints(1, 0, 3)
    check(Fn(lambda a: a[:, i, 1:, j]), x(1, 3, 4, 5), run_args=[x(4, 3, 4, 5, seed=1)],
          **DYNAMIC)
