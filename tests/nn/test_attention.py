"""scaled_dot_product_attention, multi_head_attention_forward and MultiheadAttention against
torch: values, gradients (float64 and float32), masks, errors, warnings, reprs, parameters."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, check_against_torch, same_error

RNG = np.random.default_rng(12)


def _randn(*shape):
    return RNG.standard_normal(shape)


def _same_message(fn, *args):
    """Both raise, same kind, and ember's message is torch's."""
    err = same_error(fn, *args)
    try:
        fn(torch, *args)
    except Exception as t_err:  # noqa: BLE001
        assert str(err) == str(t_err), f"ember: {err}\ntorch: {t_err}"


# =========================================================================== SDPA: values
SDPA_CASES = {
    # name: (query, key, value shapes, mask kind, mask shape, kwargs)
    "3d": ((2, 3, 4), (2, 5, 4), (2, 5, 6), None, None, {}),
    "4d_bool": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), "bool", (3, 5), {}),
    "4d_float_mask_grad": ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), "float", (2, 3, 5), {}),
    "batch_broadcast": ((2, 3, 4), (1, 5, 4), (5, 6), "float", (3, 5), {}),
    "mask_per_key": ((2, 3, 4), (2, 5, 4), (2, 5, 4), "bool", (5,), {}),
    "mask_per_batch": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), "bool", (2, 1, 3, 5), {}),
    "2d_scale": ((3, 4), (5, 4), (5, 6), "bool", (3, 5), {"scale": 0.3}),
    "causal_square": ((2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4), None, None, {"is_causal": True}),
    "causal_tall": ((1, 6, 4), (1, 3, 4), (1, 3, 2), None, None, {"is_causal": True}),
    "causal_wide": ((1, 2, 4), (1, 5, 4), (1, 5, 2), None, None, {"is_causal": True}),
    "gqa": ((1, 4, 3, 4), (1, 2, 5, 4), (1, 1, 5, 6), None, None, {"enable_gqa": True}),
    "negative_scale": ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), None, None, {"scale": -0.7}),
    "empty_keys": ((2, 3, 4), (2, 0, 4), (2, 0, 6), None, None, {}),
}


def _mask_array(kind, shape):
    if kind == "bool":
        m = RNG.random(shape) > 0.3
        m[..., 0] = True       # every query keeps a key here (fully masked rows: own test)
        return m
    return _randn(*shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_values_and_grads(name, dtype):
    qs, ks, vs, kind, mshape, kw = SDPA_CASES[name]
    arrays = [_randn(*qs), _randn(*ks), _randn(*vs)]
    if kind == "float":
        arrays.append(_mask_array(kind, mshape))      # a float mask gets a gradient too
        fn = lambda lib, q, k, v, m: lib.nn.functional.scaled_dot_product_attention(  # noqa
            q, k, v, attn_mask=m, **kw)
    else:
        mask = None if kind is None else _mask_array(kind, mshape)
        fn = lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(  # noqa
            q, k, v, attn_mask=None if mask is None else lib.tensor(mask), **kw)
    check_against_torch(fn, arrays, dtype)


def test_sdpa_grad_fn_names_follow_torch():
    F = ember.nn.functional
    q4 = ember.randn(1, 2, 3, 4, requires_grad=True)
    assert F.scaled_dot_product_attention(q4, q4, q4).grad_fn.name() == \
        "ScaledDotProductFlashAttentionForCpuBackward0"
    q3 = ember.randn(2, 3, 4, requires_grad=True)
    assert F.scaled_dot_product_attention(q3, q3, q3).grad_fn.name() == "UnsafeViewBackward0"
    q2 = ember.randn(3, 4, requires_grad=True)
    assert F.scaled_dot_product_attention(q2, q2, q2).grad_fn.name() == "MmBackward0"


def test_sdpa_float32_mask_on_float64_inputs_is_allowed():
    mask = _randn(3, 5).astype(np.float32)
    check_against_torch(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.tensor(mask)), [_randn(2, 3, 4), _randn(2, 5, 4), _randn(2, 5, 4)])


# --------------------------------------------------------------------------- traps
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_row_gives_zeros_and_zero_grads(kind):
    """torch 2.13's SDPA (math and CPU flash paths) uses a safe softmax: a query with no key
    to attend gives 0, not NaN, and no gradient flows through it."""
    if kind == "bool":
        mask = np.ones((3, 5), bool)
        mask[1] = False
    else:
        mask = np.zeros((3, 5))
        mask[1] = -np.inf
    for shape in ((2, 3, 4), (1, 2, 3, 4)):
        kshape = shape[:-2] + (5, 4)
        out = check_against_torch(
            lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=lib.tensor(mask)), [_randn(*shape), _randn(*kshape),
                                                      _randn(*kshape)])[0]
        assert np.all(out.detach().numpy()[..., 1, :] == 0)


def test_sdpa_nan_or_inf_in_mask_propagates():
    for bad in (np.nan, np.inf):
        mask = np.zeros((3, 5))
        mask[0, 0] = bad
        check_against_torch(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=lib.tensor(mask)), [_randn(2, 3, 4), _randn(2, 5, 4),
                                                   _randn(2, 5, 4)], grad=False)


def test_sdpa_bool_mask_true_means_take_part():
    """The inverse of MultiheadAttention's key_padding_mask: True keeps the key."""
    q, k = ember.randn(1, 1, 4), ember.randn(1, 3, 4)
    v = ember.tensor([[[1.0], [2.0], [3.0]]])
    only_last = ember.tensor([[False, False, True]])
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=only_last)
    assert out.item() == 3.0


def test_sdpa_dropout_draws_from_embers_dropout():
    """dropout_p > 0: softmax weights go through ember's dropout with ember's generator, so a
    reseeded F.dropout on the weights gives the same result."""
    F = ember.nn.functional
    q, k, v = ember.randn(2, 2, 3, 4), ember.randn(2, 2, 5, 4), ember.randn(2, 2, 5, 4)
    ember.manual_seed(7)
    got = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    ember.manual_seed(7)
    weights = ((q @ k.transpose(-2, -1)) / 2.0).softmax(-1)
    expected = F.dropout(weights, 0.4) @ v
    assert_close(got, expected, "float32")
    ember.manual_seed(8)
    assert not np.allclose(F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).numpy(),
                           got.numpy())
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy() == 0)


def test_sdpa_dropout_gradients_use_the_same_mask():
    F = ember.nn.functional
    arrays = [_randn(1, 2, 3, 4), _randn(1, 2, 5, 4), _randn(1, 2, 5, 4)]
    q, k, v = (ember.tensor(a, requires_grad=True) for a in arrays)
    ember.manual_seed(3)
    F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).sum().backward()
    q2, k2, v2 = (ember.tensor(a, requires_grad=True) for a in arrays)
    ember.manual_seed(3)
    (F.dropout((q2 @ k2.transpose(-2, -1) / 2.0).softmax(-1), 0.5) @ v2).sum().backward()
    for a, b in ((q, q2), (k, k2), (v, v2)):
        assert_close(a.grad, b.grad)


def test_sdpa_gradcheck_and_gradgradcheck():
    F = ember.nn.functional
    q, k, v = (ember.tensor(_randn(*s), requires_grad=True)
               for s in ((1, 2, 3), (1, 3, 3), (1, 3, 2)))
    mask = ember.tensor(_randn(2, 3), requires_grad=True)
    bool_mask = ember.tensor(RNG.random((2, 3)) > 0.5)
    bool_mask[:, 0] = True
    fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)  # noqa: E731
    assert ember.autograd.gradcheck(fn, (q, k, v, mask))
    assert ember.autograd.gradgradcheck(fn, (q, k, v, mask))
    causal = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa
    assert ember.autograd.gradcheck(causal, (q, k, v))
    masked = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask)  # noqa
    assert ember.autograd.gradgradcheck(masked, (q, k, v))


def test_sdpa_float16_runs_in_float32():
    arrays = [_randn(2, 3, 4), _randn(2, 5, 4), _randn(2, 5, 4)]
    check_against_torch(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v), arrays, "float16", grad=False)


# --------------------------------------------------------------------------- SDPA errors
def _sdpa(lib, qs, ks, vs, **kw):
    mk = kw.pop("mask", None)
    dt = kw.pop("dtypes", ("float32",) * 3)
    q, k, v = (lib.tensor(_randn(*s).astype(d)) for s, d in zip((qs, ks, vs), dt))
    return lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=None if mk is None else lib.tensor(mk), **kw)


SDPA_ERRORS = {
    "causal_with_mask": ((2, 3, 4), (2, 5, 4), (2, 5, 6),
                         dict(mask=np.ones((3, 5), bool), is_causal=True)),
    "one_dim": ((4,), (4,), (4,), {}),
    "dtypes_differ": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(dtypes=("float64", "float32",
                                                                        "float32"))),
    "embed_mismatch": ((2, 3, 4), (2, 5, 3), (2, 5, 6), {}),
    "embed_mismatch_4d": ((1, 2, 3, 4), (1, 2, 5, 3), (1, 2, 5, 6), {}),
    "embed_mismatch_2d": ((3, 4), (5, 3), (5, 6), {}),
    "source_mismatch": ((2, 3, 4), (2, 5, 4), (2, 4, 6), {}),
    "source_mismatch_2d": ((3, 4), (5, 4), (4, 6), {}),
    "batch_mismatch": ((2, 3, 4), (3, 5, 4), (3, 5, 6), {}),
    "mask_shape": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(mask=np.ones((4, 5), bool))),
    "mask_more_dims": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(mask=np.ones((1, 2, 3, 5)))),
    "mask_int": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(mask=np.ones((3, 5), np.int64))),
    "mask_float64_on_float32": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(mask=np.ones((3, 5)))),
    "dropout_above_one": ((2, 3, 4), (2, 5, 4), (2, 5, 6), dict(dropout_p=1.5)),
    "gqa_heads_do_not_divide": ((1, 4, 3, 4), (1, 3, 5, 4), (1, 3, 5, 6),
                                dict(enable_gqa=True)),
    "heads_differ_without_gqa": ((1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 6), {}),
    "1d_mask_on_4d": ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), dict(mask=np.ones(5, bool))),
    "0d_mask_on_4d": ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), dict(mask=np.ones((), bool))),
}


@pytest.mark.parametrize("name", list(SDPA_ERRORS))
def test_sdpa_errors_as_torch(name):
    qs, ks, vs, kw = SDPA_ERRORS[name]
    _same_message(lambda lib: _sdpa(lib, qs, ks, vs, **dict(kw)))


def test_sdpa_non_tensor_argument_is_a_type_error():
    k = _randn(2, 5, 4).astype(np.float32)
    _same_message(lambda lib: lib.nn.functional.scaled_dot_product_attention(
        1.0, lib.tensor(k), lib.tensor(k)))


def test_sdpa_integer_inputs_raise():
    x = np.ones((2, 3, 4), np.int64)
    same_error(lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.tensor(x), lib.tensor(x), lib.tensor(x)))


# =========================================================================== MultiheadAttention
def _pair(**kw):
    """The same MultiheadAttention in both libraries (torch's initial weights copied)."""
    dtype = kw.pop("dtype", "float64")
    tm = torch.nn.MultiheadAttention(**kw, dtype=getattr(torch, dtype))
    em = ember.nn.MultiheadAttention(**kw, dtype=getattr(ember, dtype))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return em, tm


def _run(module, lib, inputs, masks, call, grad):
    """Forward (and backward of out + weights^2); returns outputs, grads, warnings."""
    xs = [lib.tensor(a, requires_grad=grad) for a in inputs]
    q, k, v = (xs * 3)[:3] if len(xs) == 1 else xs
    kw = {n: lib.tensor(a) for n, a in masks.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lib.set_grad_enabled(grad):
            out, weights = module(q, k, v, **kw, **call)
    res = {"out": out.detach().numpy(),
           "weights": None if weights is None else weights.detach().numpy(),
           "warnings": [str(w.message) for w in caught]}
    if grad:
        loss = out.sum() if weights is None else out.sum() + (weights * weights).sum()
        loss.backward()
        res["grads"] = [p.grad.numpy() for p in module.parameters()] + \
            [x.grad.numpy() for x in xs]
    return res


def _compare_mha(em, tm, inputs, masks=(), call=(), train=True, grad=True, dtype="float64"):
    masks, call = dict(masks), dict(call)
    em.train(train)
    tm.train(train)
    e = _run(em, ember, inputs, masks, call, grad)
    t = _run(tm, torch, inputs, masks, call, grad)
    assert_close(e["out"], t["out"], dtype, what="output")
    assert (e["weights"] is None) == (t["weights"] is None)
    if t["weights"] is not None:
        assert_close(e["weights"], t["weights"], dtype, what="weights")
    assert e["warnings"] == t["warnings"]
    if grad:
        for i, (a, b) in enumerate(zip(e["grads"], t["grads"])):
            assert_close(a, b, dtype, what=f"gradient {i}")
    return e


L, N, E, S = 4, 2, 8, 5
KPM = np.zeros((N, L), bool)
KPM[1, 2:] = True
ATTN = RNG.random((L, L)) > 0.7
ATTN[:, 0] = False

MHA_CASES = {
    "plain": (dict(), dict(), dict()),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), dict(key_padding_mask=KPM,
                                                                             attn_mask=ATTN),
                          dict()),
    "no_bias": (dict(bias=False), dict(attn_mask=ATTN), dict(need_weights=False)),
    "both_masks": (dict(), dict(key_padding_mask=KPM, attn_mask=ATTN), dict()),
    "both_masks_sdpa": (dict(), dict(key_padding_mask=KPM, attn_mask=ATTN),
                        dict(need_weights=False)),
    "float_masks": (dict(), dict(key_padding_mask=np.where(KPM, -1e9, 0.0),
                                 attn_mask=RNG.standard_normal((L, L))), dict()),
    "mixed_masks_warn": (dict(), dict(key_padding_mask=KPM, attn_mask=ATTN.astype(float)),
                         dict(average_attn_weights=False)),
    "3d_mask_per_head": (dict(num_heads=4), dict(attn_mask=RNG.random((N * 4, L, L)) > 0.8),
                         dict(average_attn_weights=False)),
    "batch_first": (dict(batch_first=True), dict(attn_mask=ATTN), dict()),
    "causal_hint": (dict(), dict(attn_mask=np.triu(np.ones((L, L), bool), 1)),
                    dict(need_weights=False, is_causal=True)),
    "causal_hint_with_weights": (dict(), dict(attn_mask=np.triu(np.ones((L, L), bool), 1)),
                                 dict(is_causal=True)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(MHA_CASES))
def test_mha_self_attention_as_torch(name, dtype):
    kw, masks, call = MHA_CASES[name]
    kw = {"embed_dim": E, "num_heads": 2, **kw}
    em, tm = _pair(**kw, dtype=dtype)
    x = _randn(N, L, E) if kw.get("batch_first") else _randn(L, N, E)
    masks = {k: m.astype(dtype) if m.dtype.kind == "f" else m for k, m in masks.items()}
    _compare_mha(em, tm, [x.astype(dtype)], masks, call, dtype=dtype)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_with_kdim_vdim(need_weights):
    em, tm = _pair(embed_dim=E, num_heads=2, kdim=6, vdim=3)
    assert em.in_proj_weight is None and tuple(em.k_proj_weight.shape) == (E, 6)
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    _compare_mha(em, tm, [_randn(L, N, E), _randn(S, N, 6), _randn(S, N, 3)],
                 dict(key_padding_mask=kpm), dict(need_weights=need_weights))


def test_mha_encoder_decoder_attention_shares_key_and_value():
    em, tm = _pair(embed_dim=E, num_heads=2, batch_first=True)
    q, mem = _randn(N, L, E), _randn(N, S, E)
    for lib, m in ((ember, em), (torch, tm)):
        qt, mt = lib.tensor(q, requires_grad=True), lib.tensor(mem, requires_grad=True)
        out, _ = m(qt, mt, mt)
        out.sum().backward()
        if lib is ember:
            e = (out.detach().numpy(), qt.grad.numpy(), mt.grad.numpy())
        else:
            for a, b in zip(e, (out.detach().numpy(), qt.grad.numpy(), mt.grad.numpy())):
                assert_close(a, b)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched(need_weights):
    em, tm = _pair(embed_dim=E, num_heads=2, batch_first=True)
    _compare_mha(em, tm, [_randn(L, E)], dict(key_padding_mask=KPM[1]),
                 dict(need_weights=need_weights))
    _compare_mha(em, tm, [_randn(L, E)], dict(attn_mask=RNG.random((2, L, L)) > 0.8),
                 dict(need_weights=need_weights))


def test_mha_eval_fast_path_and_slow_path_agree_with_torch():
    """torch's eval fast path (self-attention, batch_first, nothing requiring grad) must give
    the values of the slow path; ember has one path and is compared with both."""
    em, tm = _pair(embed_dim=E, num_heads=2, batch_first=True, dtype="float32")
    x = _randn(N, L, E).astype(np.float32)
    for need_weights in (True, False):
        for train, grad in ((True, True), (False, True), (False, False)):
            _compare_mha(em, tm, [x], dict(key_padding_mask=KPM, attn_mask=ATTN),
                         dict(need_weights=need_weights), train=train, grad=grad,
                         dtype="float32")


def test_mha_fully_masked_query():
    """need_weights=True uses a plain softmax: NaN, as torch. need_weights=False goes through
    SDPA: zeros in training, but torch's eval fast path gives NaN again; ember follows both."""
    em, tm = _pair(embed_dim=E, num_heads=2, batch_first=True)
    mask = np.zeros((L, L), bool)
    mask[0] = True
    x = _randn(N, L, E)
    out = _compare_mha(em, tm, [x], dict(attn_mask=mask), dict(need_weights=True))["out"]
    assert np.isnan(out[:, 0]).all()
    out = _compare_mha(em, tm, [x], dict(attn_mask=mask), dict(need_weights=False))["out"]
    assert not np.isnan(out).any()
    out = _compare_mha(em, tm, [x], dict(attn_mask=mask), dict(need_weights=False),
                       train=False, grad=False)["out"]
    assert np.isnan(out[:, 0]).all()


def test_mha_key_padding_mask_true_means_ignore():
    mha = ember.nn.MultiheadAttention(4, 1, bias=False)
    with ember.no_grad():
        mha.in_proj_weight.copy_(ember.cat([ember.zeros(8, 4), ember.eye(4)]))
        mha.out_proj.weight.copy_(ember.eye(4))
    key = ember.tensor([[[1.0, 0, 0, 0]], [[0, 2.0, 0, 0]]])
    query = ember.zeros(1, 1, 4)
    out, w = mha(query, key, key, key_padding_mask=ember.tensor([[True, False]]))
    assert w.tolist() == [[[0.0, 1.0]]]
    assert out.tolist() == [[[0.0, 2.0, 0.0, 0.0]]]


def test_mha_dropout_on_weights_draws_from_embers_generator():
    mha = ember.nn.MultiheadAttention(E, 2, dropout=0.5)
    x = ember.randn(L, N, E)
    ember.manual_seed(1)
    a, wa = mha(x, x, x, average_attn_weights=False)
    ember.manual_seed(1)
    b, wb = mha(x, x, x, average_attn_weights=False)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert ((wa.detach().numpy() == 0).mean()) > 0.2      # dropped weights are returned as 0
    mha.eval()
    c, wc = mha(x, x, x)
    assert np.allclose(wc.detach().numpy().sum(-1), 1, atol=1e-5)


def test_mha_gradcheck_tiny():
    mha = ember.nn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=ember.float64)
    x = ember.tensor(_randn(3, 2, 4), requires_grad=True)
    mask = ember.tensor(RNG.random((3, 3)) > 0.7)
    params = list(mha.parameters())

    def fn(x, *ps):
        return mha(x, x, x, attn_mask=mask)[0]
    assert ember.autograd.gradcheck(fn, (x, *params))
    assert ember.autograd.gradcheck(lambda x: mha(x, x, x, need_weights=False)[0], (x,))
    # second derivatives, through the returned weights too
    small = ember.tensor(_randn(2, 1, 4), requires_grad=True)

    def with_weights(x):
        out, w = mha(x, x, x, attn_mask=mask[:2, :2])
        return out.sum() + (w * w).sum()
    assert ember.autograd.gradgradcheck(with_weights, (small,))


# --------------------------------------------------------------------------- module shape
def test_mha_parameters_state_dict_and_repr():
    for kw in (dict(), dict(kdim=6, vdim=3, add_bias_kv=True), dict(bias=False)):
        em, tm = _pair(embed_dim=E, num_heads=2, **kw)
        assert list(em.state_dict()) == list(tm.state_dict())
        assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
        assert repr(em) == repr(tm)
        assert type(em.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
        assert isinstance(em.out_proj, ember.nn.Linear)
        for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "dropout",
                     "batch_first", "add_zero_attn", "_qkv_same_embed_dim"):
            assert getattr(em, name) == getattr(tm, name), name


def test_mha_reset_parameters_distributions():
    ember.manual_seed(0)
    mha = ember.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))                  # xavier_uniform_ on (3E, E)
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not mha.in_proj_bias.detach().numpy().any()
    assert not mha.out_proj.bias.detach().numpy().any()
    std = np.sqrt(2 / (1 + 64))                          # xavier_normal_ on (1, 1, E)
    assert 0.5 * std < mha.bias_k.detach().numpy().std() < 1.5 * std
    sep = ember.nn.MultiheadAttention(8, 2, kdim=4, vdim=4)
    kb = np.sqrt(6 / (8 + 4))
    assert np.abs(sep.k_proj_weight.detach().numpy()).max() <= kb


def test_mha_constructor_errors():
    _same_message(lambda lib: lib.nn.MultiheadAttention(0, 2))
    _same_message(lambda lib: lib.nn.MultiheadAttention(8, -1))
    _same_message(lambda lib: lib.nn.MultiheadAttention(10, 3))


MHA_FORWARD_ERRORS = {
    "query_4d": (dict(), [(1, 4, 2, 8)] * 3, {}),
    "batched_key_2d": (dict(), [(4, 2, 8), (5, 8), (5, 8)], {}),
    "unbatched_key_3d": (dict(), [(4, 8), (5, 2, 8), (5, 2, 8)], {}),
    "kpm_3d": (dict(), [(4, 2, 8)] * 3, dict(key_padding_mask=np.zeros((2, 4, 1), bool))),
    "unbatched_kpm_2d": (dict(), [(4, 8)] * 3, dict(key_padding_mask=np.zeros((1, 4), bool))),
    "attn_mask_4d": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((1, 1, 4, 4), bool))),
    "unbatched_3d_mask_shape": (dict(), [(4, 8)] * 3, dict(attn_mask=np.zeros((3, 4, 4), bool))),
    "2d_mask_shape": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((4, 5), bool))),
    "3d_mask_shape": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((2, 4, 4), bool))),
    "kpm_shape": (dict(), [(4, 2, 8)] * 3, dict(key_padding_mask=np.zeros((2, 5), bool))),
    "kpm_batch": (dict(), [(4, 2, 8)] * 3, dict(key_padding_mask=np.zeros((3, 4), bool))),
    "int_mask": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((4, 4), np.int64))),
    "embed_dim": (dict(), [(4, 2, 6)] * 3, {}),
    "key_value_shapes": (dict(), [(4, 2, 8), (5, 2, 8), (6, 2, 8)], {}),
    "causal_without_mask": (dict(), [(4, 2, 8)] * 3, dict(is_causal=True)),
    "float64_mask_on_float32": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((4, 4)))),
    "float64_mask_on_float32_sdpa": (dict(), [(4, 2, 8)] * 3, dict(attn_mask=np.zeros((4, 4)),
                                                                  need_weights=False)),
}


@pytest.mark.parametrize("name", list(MHA_FORWARD_ERRORS))
def test_mha_forward_errors_as_torch(name):
    kw, shapes, extra = MHA_FORWARD_ERRORS[name]
    arrays = [_randn(*s).astype(np.float32) for s in shapes]
    em, tm = _pair(embed_dim=8, num_heads=2, dtype="float32", **kw)

    def call(lib):
        m = em if lib is ember else tm
        kwargs = {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v)
                  for k, v in extra.items()}
        return m(*(lib.tensor(a) for a in arrays), **kwargs)
    _same_message(call)


def test_multi_head_attention_forward_functional_with_static_kv():
    """F.multi_head_attention_forward with torch's signature, static keys/values and separate
    projection weights."""
    bsz, heads, hd = N, 2, E // 2
    arrays = dict(q=_randn(L, bsz, E), k=_randn(S, bsz, E), v=_randn(S, bsz, E),
                  w=_randn(3 * E, E) * 0.3, b=_randn(3 * E) * 0.1, ow=_randn(E, E) * 0.3,
                  ob=_randn(E) * 0.1, sk=_randn(bsz * heads, S, hd), sv=_randn(bsz * heads, S, hd))

    def fn(lib, q, k, v, w, b, ow, ob, sk, sv):
        F = lib.nn.functional
        out1 = F.multi_head_attention_forward(q, k, v, E, heads, w, b, None, None, False, 0.0,
                                              ow, ob, training=True, static_k=sk, static_v=sv)
        out2 = F.multi_head_attention_forward(
            q, k, v, E, heads, None, b, None, None, True, 0.0, ow, ob,
            use_separate_proj_weight=True, q_proj_weight=w[:E], k_proj_weight=w[E:2 * E],
            v_proj_weight=w[2 * E:], need_weights=False)
        return out1[0], out1[1], out2[0]
    check_against_torch(fn, list(arrays.values()))


def test_mha_pickles_and_reads_checkpoints_without_the_qkv_flag():
    """torch 1.1 checkpoints lack ``_qkv_same_embed_dim``; unpickling sets it True."""
    import pickle
    mha = ember.nn.MultiheadAttention(8, 2, dropout=0.0)
    copy = pickle.loads(pickle.dumps(mha))
    x = ember.randn(3, 2, 8)
    assert np.array_equal(copy(x, x, x)[0].detach().numpy(), mha(x, x, x)[0].detach().numpy())
    state = dict(mha.__dict__)
    del state["_qkv_same_embed_dim"]
    old = ember.nn.MultiheadAttention.__new__(ember.nn.MultiheadAttention)
    old.__setstate__(state)
    assert old._qkv_same_embed_dim is True


def test_canonical_mask_helpers_as_torch():
    """torch's transformer code (and code copied from it) calls F._canonical_mask."""
    mask = np.array([[True, False], [False, False]])
    for lib in (ember, torch):
        F = lib.nn.functional
        got = F._canonical_mask(lib.tensor(mask), "m", None, "", lib.float64)
        assert got.dtype == lib.float64
        assert got.tolist() == [[-np.inf, 0.0], [0.0, 0.0]]
        with pytest.warns(UserWarning, match="Support for mismatched m and other is deprecated"):
            F._canonical_mask(lib.tensor(mask), "m", lib.float32, "other", lib.float32)
        assert F._none_or_dtype(None) is None
    _same_message(lambda lib: lib.nn.functional._canonical_mask(
        lib.tensor(mask.astype(np.int64)), "m", None, "", lib.float32))


def test_mha_defaults_sequence_first_and_averaged_weights():
    """TRAPS 24: batch_first=False and average_attn_weights=True by default."""
    em, tm = _pair(embed_dim=E, num_heads=2)
    assert em.batch_first is False and em.dropout == 0.0
    x = _randn(L, N, E)                       # (L, N, E): sequence first
    out, weights = em(*[ember.tensor(x)] * 3)
    assert tuple(out.shape) == (L, N, E) and tuple(weights.shape) == (N, L, L)
    _compare_mha(em, tm, [x])


@pytest.mark.parametrize("enabled", [True, False])
def test_backends_mha_fastpath_switch_changes_the_same_cases_as_torch(enabled):
    """torch.backends.mha.set_fastpath_enabled(False) makes eval-mode attention take the slow
    path, whose fully masked rows are zeros instead of NaN: ember follows the switch."""
    x = np.random.default_rng(0).standard_normal((1, 3, 4)).astype(np.float32)
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(4, 2, batch_first=True).eval()
        if lib is ember:
            m.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
        tm = m
        lib.backends.mha.set_fastpath_enabled(enabled)
        try:
            assert lib.backends.mha.get_fastpath_enabled() is enabled
            q = lib.tensor(x)  # the fast path needs query is key is value
            with lib.no_grad():
                out, _ = m(q, q, q, key_padding_mask=lib.tensor([[True, True, True]]),
                           need_weights=False)
        finally:
            lib.backends.mha.set_fastpath_enabled(True)
        outs.append(out.numpy())
    np.testing.assert_array_equal(np.isnan(outs[1]), np.isnan(outs[0]))
    assert np.isnan(outs[1]).all() == enabled
    np.testing.assert_allclose(np.nan_to_num(outs[1]), np.nan_to_num(outs[0]), atol=1e-6)


def test_multihead_attention_importable_from_activation_as_in_torch():
    from ember.nn.modules.activation import MultiheadAttention
    assert MultiheadAttention is ember.nn.MultiheadAttention
