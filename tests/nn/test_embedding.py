"""Embedding and EmbeddingBag (ember/nn/functional/sparse.py, ember/nn/modules/sparse.py,
ember/_kernels/embedding.py) against torch: outputs, weight and per-sample-weight gradients,
the in-place max_norm renormalisation, modules' reprs and state dicts, and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests.helpers import assert_close, check_against_torch, same_error

DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


# ------------------------------------------------------------------ F.embedding

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_shape", [(), (1,), (7,), (2, 5), (2, 3, 4), (0,), (2, 0)])
def test_embedding_values_and_grads(rng, dtype, index_shape):
    idx = rng.integers(0, 6, index_shape)

    def fn(lib, w, i):
        return F(lib).embedding(i, w)

    check_against_torch(fn, [rng.standard_normal((6, 4)), idx], dtype=dtype)


@pytest.mark.parametrize("padding_idx", [0, 3, -1, -6])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_padding_and_frequency(rng, padding_idx, scale_grad_by_freq):
    # repeated indices, unsorted, the padding row among them
    idx = np.array([[5, 1, 3, 1, 0], [1, 5, 2, 3, 3]])

    def fn(lib, w, i):
        return F(lib).embedding(i, w, padding_idx=padding_idx,
                                scale_grad_by_freq=scale_grad_by_freq)

    check_against_torch(fn, [rng.standard_normal((6, 3)), idx])


def test_embedding_padding_row_gets_zero_gradient(rng):  # TRAPS.md 23
    w = ember.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    F(ember).embedding(ember.tensor([2, 2, 4]), w, padding_idx=2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[2], 0)
    np.testing.assert_array_equal(w.grad.numpy()[4], 1)


def test_embedding_int32_and_noncontiguous_indices(rng):
    idx = rng.integers(0, 8, (4, 6)).astype(np.int32)

    def fn(lib, w, i):
        return F(lib).embedding(i.t()[::2], w)  # a strided view of int32 indices

    check_against_torch(fn, [rng.standard_normal((8, 3)), idx], dtype="float32")


def test_embedding_noncontiguous_weight(rng):
    def fn(lib, w, i):
        return F(lib).embedding(i, w.t())

    check_against_torch(fn, [rng.standard_normal((3, 8)), np.array([7, 0, 7])])


def test_embedding_integer_weight():
    w = np.arange(12).reshape(4, 3)
    for lib in (ember, torch):
        out = F(lib).embedding(lib.tensor([3, 1]), lib.tensor(w))
        np.testing.assert_array_equal(out.numpy(), w[[3, 1]])


def test_embedding_gradcheck(rng):
    w = ember.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = ember.tensor([[0, 4, 4], [1, 2, 0]])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: not gradchecked)
    assert ember.autograd.gradcheck(lambda w: F(ember).embedding(idx, w), (w,))
    assert ember.autograd.gradgradcheck(lambda w: F(ember).embedding(idx, w) ** 2, (w,))


# ------------------------------------------------------------------ max_norm (TRAPS.md 23)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_max_norm_renormalises_looked_up_rows_in_place(rng, dtype, norm_type):
    w0 = (rng.standard_normal((8, 4)) * 2).astype(dtype)
    idx = np.array([[1, 3, 1], [6, 3, 0]])  # duplicates renormalise once; rows 2, 4, 5, 7 not
    ws = {}
    for lib in (ember, torch):
        w = lib.tensor(w0.copy(), requires_grad=True)
        out = F(lib).embedding(lib.tensor(idx), w, max_norm=1.5, norm_type=norm_type)
        out.sum().backward()
        ws[lib.__name__] = (w, out)
    (ew, eo), (tw, to) = ws["ember"], ws["torch"]
    assert_close(ew.detach(), tw.detach(), dtype, what="renormalised weight")
    assert_close(eo, to, dtype)
    assert_close(ew.grad, tw.grad, dtype)
    untouched = [2, 4, 5, 7]
    np.testing.assert_array_equal(ew.detach().numpy()[untouched], w0[untouched])


def test_max_norm_scale_uses_the_1e7_guard():
    # a row of norm exactly 2 with max_norm 1: scaled by 1 / (2 + 1e-7), not 1/2
    w = ember.tensor([[2.0, 0.0]], dtype=ember.float64)
    F(ember).embedding(ember.tensor([0]), w, max_norm=1.0)
    assert w[0, 0].item() == 2.0 * (1.0 / (2.0 + 1e-7))


def test_max_norm_bumps_the_weight_version():  # TRAPS.md 23: a saved weight then refuses
    for lib in (ember, torch):
        w = lib.tensor([[3.0, 4.0], [0.1, 0.1]], requires_grad=True)
        saved = (w * w).sum()  # mul saves w
        F(lib).embedding(lib.tensor([0]), w, max_norm=1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            saved.backward()


def test_max_norm_out_of_range_renormalises_rows_before_raising():
    w0 = np.full((4, 2), 3.0)
    ws = []
    for lib in (ember, torch):
        w = lib.tensor(w0.copy())
        with pytest.raises(IndexError, match="out of range"):
            F(lib).embedding(lib.tensor([9, -1, 0]), w, max_norm=1.0)
        ws.append(w.numpy())
    np.testing.assert_allclose(ws[0], ws[1])


# ------------------------------------------------------------------ embedding errors

@pytest.mark.parametrize("call", [
    lambda lib: F(lib).embedding(lib.tensor([4]), lib.ones(4, 2)),
    lambda lib: F(lib).embedding(lib.tensor([-1]), lib.ones(4, 2)),
    lambda lib: F(lib).embedding(lib.tensor([1.0]), lib.ones(4, 2)),
    lambda lib: F(lib).embedding(lib.tensor([1], dtype=lib.int16), lib.ones(4, 2)),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4)),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4, 2, 2)),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4, 2), padding_idx=4),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4, 2), padding_idx=-5),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4, 2), padding_idx=1.5),
    lambda lib: F(lib).embedding([1], lib.ones(4, 2)),
    lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(4, 2, dtype=lib.int64), max_norm=1.0),
    lambda lib: lib.nn.Embedding(4, 2, padding_idx=4),
    lambda lib: lib.nn.Embedding(4, 2, padding_idx=-5),
    lambda lib: lib.nn.Embedding(4, 2, _weight=lib.ones(3, 2)),
    lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(3)),
    lambda lib: lib.nn.EmbeddingBag(4, 2, padding_idx=4),
    lambda lib: lib.nn.EmbeddingBag.from_pretrained(lib.ones(3, 2, 2)),
])
def test_embedding_errors_as_torch(call):
    same_error(call)


def test_embedding_index_error_message():
    same_error(lambda lib: F(lib).embedding(lib.tensor([[0, 7]]), lib.ones(4, 2)),
               match=r"^index out of range in self$")


def test_sparse_is_refused_clearly():
    for call in (lambda: ember.nn.Embedding(4, 2, sparse=True),
                 lambda: ember.nn.EmbeddingBag(4, 2, sparse=True),
                 lambda: ember.nn.Embedding.from_pretrained(ember.ones(4, 2), sparse=True),
                 lambda: F(ember).embedding(ember.tensor([1]), ember.ones(4, 2), sparse=True),
                 lambda: F(ember).embedding_bag(ember.tensor([[1]]), ember.ones(4, 2),
                                                sparse=True)):
        with pytest.raises(NotImplementedError, match="no sparse tensors"):
            call()
    # torch's own check for max mode comes first, as in torch
    same_error(lambda lib: F(lib).embedding_bag(lib.tensor([[1]]), lib.ones(4, 2), mode="max",
                                                sparse=True), match="max mode")


# ------------------------------------------------------------------ nn.Embedding

def test_embedding_module_repr_state_dict_and_init(rng):
    for lib in (ember, torch):
        m = lib.nn.Embedding(10, 3, padding_idx=-1, max_norm=2, norm_type=1,
                             scale_grad_by_freq=True)
        assert m.padding_idx == 9
        np.testing.assert_array_equal(m.weight.detach().numpy()[9], 0)
        assert list(m.state_dict()) == ["weight"]
    assert repr(ember.nn.Embedding(10, 3, padding_idx=-1, max_norm=2, norm_type=1,
                                   scale_grad_by_freq=True)) == \
        repr(torch.nn.Embedding(10, 3, padding_idx=-1, max_norm=2, norm_type=1,
                                scale_grad_by_freq=True))
    assert repr(ember.nn.Embedding(10, 3)) == "Embedding(10, 3)"
    m = ember.nn.Embedding(5, 2, dtype=ember.float64)
    assert m.weight.dtype == ember.float64 and m.weight.requires_grad


def test_embedding_init_draws_as_reset_parameters():
    # torch's order: empty, normal_(0, 1) from the default generator, then the padding row zeroed
    ember.manual_seed(3)
    w = ember.empty(7, 4)
    ember.nn.init.normal_(w)
    ember.manual_seed(3)
    m = ember.nn.Embedding(7, 4, padding_idx=2)
    expected = w.numpy().copy()
    expected[2] = 0
    np.testing.assert_array_equal(m.weight.detach().numpy(), expected)


def test_embedding_init_matches_torch_when_the_streams_do():
    ember.manual_seed(0)
    torch.manual_seed(0)
    if not np.array_equal(ember.randn(40).numpy(), torch.randn(40).numpy()):
        pytest.skip("ember's default generator does not yet reproduce torch's randn stream")
    ember.manual_seed(1)
    torch.manual_seed(1)
    np.testing.assert_array_equal(ember.nn.Embedding(20, 5, padding_idx=3).weight.detach().numpy(),
                                  torch.nn.Embedding(20, 5, padding_idx=3).weight.detach().numpy())


def test_from_pretrained_shares_and_freezes(rng):
    w = ember.tensor(rng.standard_normal((4, 3)))
    m = ember.nn.Embedding.from_pretrained(w)
    assert not m.weight.requires_grad
    w[1, 1] = 7.0
    assert m(ember.tensor([1]))[0, 1].item() == 7.0  # the weight IS the given tensor
    m = ember.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert m.weight.requires_grad and m.padding_idx == 1
    assert m.weight[1, 1].item() == 7.0  # a pretrained padding row is not zeroed (as torch)
    bag = ember.nn.EmbeddingBag.from_pretrained(w, mode="max")
    assert not bag.weight.requires_grad and bag.mode == "max"
    assert ember.nn.EmbeddingBag.from_pretrained(w, freeze=False).weight.requires_grad


def test_embedding_module_trains_like_torch(rng):
    w0 = rng.standard_normal((6, 3))
    idx = np.array([[1, 2, 2], [0, 5, 1]])
    results = []
    for lib in (ember, torch):
        m = lib.nn.Embedding.from_pretrained(lib.tensor(w0), freeze=False, padding_idx=2,
                                             max_norm=1.0)
        opt = lib.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            (m(lib.tensor(idx)) ** 2).sum().backward()
            opt.step()
        results.append(m.weight.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ F.embedding_bag

BAG_INPUTS = {
    # name: (indices, offsets, include_last_offset); bags with repeats, an empty bag, padding 4
    "offsets": ([1, 2, 4, 5, 4, 3, 2, 9, 4], [0, 4, 4, 8], False),
    "last_offset": ([1, 2, 4, 5, 4, 3, 2, 9, 4], [0, 3, 3, 9], True),
    "trailing_empty": ([1, 7, 4, 3], [0, 2, 4, 4], False),
    "one_bag": ([0, 0, 3], [0], False),
    "2d": ([[1, 2, 4], [4, 4, 4], [9, 0, 9]], None, False),
    "2d_one_row": ([[3, 4, 5, 3]], None, False),
}


def _bag(lib, w, name, mode, padding_idx=None, psw=None, **kw):
    indices, offsets, last = BAG_INPUTS[name]
    i = lib.tensor(indices)
    o = None if offsets is None else lib.tensor(offsets)
    return F(lib).embedding_bag(i, w, o, mode=mode, include_last_offset=last,
                                padding_idx=padding_idx, per_sample_weights=psw, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("name", list(BAG_INPUTS))
@pytest.mark.parametrize("padding_idx", [None, 4, -6])
def test_embedding_bag_values_and_grads(rng, dtype, mode, name, padding_idx):
    def fn(lib, w):
        return _bag(lib, w, name, mode, padding_idx)

    check_against_torch(fn, [rng.standard_normal((10, 3))], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BAG_INPUTS))
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_per_sample_weights(rng, dtype, name, padding_idx):
    shape = np.shape(BAG_INPUTS[name][0])

    def fn(lib, w, psw):
        return _bag(lib, w, name, "sum", padding_idx, psw)

    check_against_torch(fn, [rng.standard_normal((10, 3)), rng.standard_normal(shape)],
                        dtype=dtype)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(rng, mode):
    # torch's CPU backward divides the i-th distinct index by the count of the i-th smallest
    # index (not its own): [0, 1, 1, 3] gives index 3 a divisor of 2 - reproduced as torch does
    for indices, offsets in (([0, 1, 1, 3], [0, 2]), ([5, 1, 3, 1, 1, 0, 5], [0, 3, 3])):
        def fn(lib, w):
            return F(lib).embedding_bag(lib.tensor(indices), w, lib.tensor(offsets), mode=mode,
                                        scale_grad_by_freq=True, padding_idx=3)

        check_against_torch(fn, [rng.standard_normal((6, 2))])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_last_offset_short_of_the_end(rng, mode):
    # include_last_offset with offsets[-1] < len(input): the last bag runs to the end of the
    # input, as torch's CPU kernels do (float64 here: torch's float32 'sum' takes an fbgemm
    # path that stops at offsets[-1] instead, so torch has no one answer there)
    def fn(lib, w):
        return F(lib).embedding_bag(lib.tensor([1, 2, 4, 5, 4, 3, 2, 9, 4]), w,
                                    lib.tensor([0, 3, 3, 7]), mode=mode, include_last_offset=True)

    check_against_torch(fn, [rng.standard_normal((10, 3))])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 12), bags=st.integers(1, 5), mode=st.sampled_from(["sum", "mean", "max"]),
       padding=st.sampled_from([None, 0, 3]), last=st.booleans(), seed=st.integers(0, 2**16))
def test_embedding_bag_random_bags(n, bags, mode, padding, last, seed):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, 5, n)
    offsets = np.sort(np.concatenate([[0], rng.integers(0, n + 1, bags - 1)]))
    if last:
        offsets = np.append(offsets, n)
    psw = rng.standard_normal(n) if mode == "sum" and seed % 2 else None

    def fn(lib, w, *p):
        return F(lib).embedding_bag(lib.tensor(indices), w, lib.tensor(offsets), mode=mode,
                                    include_last_offset=last, padding_idx=padding,
                                    per_sample_weights=p[0] if p else None)

    check_against_torch(fn, [rng.standard_normal((5, 3))] + ([psw] if psw is not None else []))


def test_embedding_bag_max_ties_and_nan():
    w0 = np.array([[1.0, 2.0], [1.0, np.nan], [0.0, 5.0], [np.nan, 1.0]])

    def fn(lib, w):
        return F(lib).embedding_bag(lib.tensor([0, 1, 2, 3, 0]), w, lib.tensor([0, 3]),
                                    mode="max")

    check_against_torch(fn, [w0])


def test_embedding_bag_int32_indices_and_offsets(rng):
    def fn(lib, w):
        i = lib.tensor([3, 1, 1, 0, 2], dtype=lib.int32)
        return F(lib).embedding_bag(i, w, lib.tensor([0, 2], dtype=lib.int32), mode="sum")

    check_against_torch(fn, [rng.standard_normal((4, 3))], dtype="float32")


def test_embedding_bag_empty_batch(rng):
    def fn(lib, w):
        return F(lib).embedding_bag(lib.zeros(0, 3, dtype=lib.int64), w, mode="sum")

    check_against_torch(fn, [rng.standard_normal((4, 3))])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_max_norm(rng, mode):
    w0 = rng.standard_normal((10, 3)) * 2

    def fn(lib, w):
        w = w * 1  # a non-leaf, so torch may renormalise it in place
        out = _bag(lib, w, "offsets", mode, max_norm=1.2)
        return out, w

    check_against_torch(fn, [w0])


def test_embedding_bag_gradcheck(rng):
    w = ember.tensor(rng.standard_normal((10, 3)), requires_grad=True)
    psw = ember.tensor(rng.standard_normal(9), requires_grad=True)
    for mode in ("sum", "mean", "max"):  # padding rows are left out of the bags: a true gradient
        assert ember.autograd.gradcheck(lambda w: _bag(ember, w, "offsets", mode, 4), (w,))
    assert ember.autograd.gradcheck(lambda w, p: _bag(ember, w, "offsets", "sum", 4, p),
                                    (w, psw))
    assert ember.autograd.gradgradcheck(
        lambda w, p: _bag(ember, w, "offsets", "sum", None, p) ** 2, (w, psw))
    for mode in ("mean", "max"):
        assert ember.autograd.gradgradcheck(lambda w: _bag(ember, w, "offsets", mode, 4) ** 2,
                                            (w,))


@pytest.mark.parametrize("call", [
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([1])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0, 3])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0, 3]),
                                        include_last_offset=True),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1.0, 2]), w, lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 10]), w, lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([-1]), w, lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="mean",
                                        per_sample_weights=lib.ones(2)),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="sum",
                                        per_sample_weights=lib.ones(3)),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="sum",
                                        per_sample_weights=lib.ones(2, dtype=lib.float32)),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="max",
                                        scale_grad_by_freq=True),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="min"),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([[1, 2]]), w, lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([[[1, 2]]]), w),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([[0]])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w.reshape(-1), lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w.long(), lib.tensor([0])),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), padding_idx=10),
    lambda lib, w: F(lib).embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), padding_idx=-11),
    lambda lib, w: F(lib).embedding_bag(lib.zeros(2, 0, dtype=lib.int64), w),
])
def test_embedding_bag_errors_as_torch(call):
    same_error(lambda lib: call(lib, lib.ones(10, 3, dtype=lib.float64)))


@pytest.mark.parametrize("mode,psw", [("sum", False), ("mean", False), ("max", False),
                                      ("sum", True)])
def test_embedding_bag_weight_changed_before_backward(mode, psw):
    # the weight is saved only when per-sample weights need it: otherwise it may change in
    # place between forward and backward (another max_norm lookup, an optimizer step), as torch
    outcomes = []
    for lib in (ember, torch):
        w = lib.tensor(np.full((5, 3), 2.0), requires_grad=True)
        p = lib.ones(2, dtype=lib.float64, requires_grad=True) if psw else None
        out = F(lib).embedding_bag(lib.tensor([0, 1]), w, lib.tensor([0]), mode=mode,
                                   per_sample_weights=p)
        with lib.no_grad():
            w.mul_(0.5)
        try:
            out.sum().backward()
            outcomes.append(w.grad.numpy().tolist())
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e)
            outcomes.append("raised")
    assert outcomes[0] == outcomes[1]


def test_embedding_bag_decreasing_offsets_raise():
    # torch checks this only on some paths (float32 raises an internal check, float64 computes
    # something); ember always refuses
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F(ember).embedding_bag(ember.tensor([1, 2, 3]), ember.ones(4, 2), ember.tensor([0, 2, 1]))


def test_embedding_bag_legacy_argument_order_warns(rng):
    w = ember.tensor(rng.standard_normal((4, 2)))
    with pytest.warns(UserWarning, match="Argument order"):
        out = F(ember).embedding_bag(w, ember.tensor([[1, 3]]))
    assert_close(out, F(ember).embedding_bag(ember.tensor([[1, 3]]), w))


# ------------------------------------------------------------------ nn.EmbeddingBag

def test_embedding_bag_module(rng):
    w0 = rng.standard_normal((10, 3))
    outs = []
    for lib in (ember, torch):
        m = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(w0), freeze=False, mode="sum",
                                                padding_idx=-1, include_last_offset=True)
        out = m(lib.tensor([1, 9, 2, 2]), lib.tensor([0, 1, 4]),
                per_sample_weights=lib.tensor([0.5, 1.0, 2.0, -1.0], dtype=lib.float64))
        out.sum().backward()
        outs.append((repr(m), list(m.state_dict()), out.detach().numpy(), m.weight.grad.numpy()))
    assert outs[0][:2] == outs[1][:2]
    np.testing.assert_allclose(outs[0][2], outs[1][2])
    np.testing.assert_allclose(outs[0][3], outs[1][3])
    assert repr(ember.nn.EmbeddingBag(10, 3)) == "EmbeddingBag(10, 3, mode='mean')"
    m = ember.nn.EmbeddingBag(10, 3, padding_idx=0)
    np.testing.assert_array_equal(m.weight.detach().numpy()[0], 0)
