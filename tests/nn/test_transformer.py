"""Transformer, TransformerEncoder/Decoder and their layers against torch: state_dict keys,
reprs, warnings, outputs and every gradient (torch's weights copied into ember), masks,
torch's eval fast paths, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, same_error

RNG = np.random.default_rng(5)
D_MODEL, NHEAD, FF = 8, 2, 16


def _randn(*shape):
    return RNG.standard_normal(shape)


def _build_pair(build):
    """``build(lib)`` in both libraries: the same warnings, keys and repr; torch's weights are
    copied into ember."""
    caught = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            model = build(lib)
        caught.append([str(x.message) for x in w])
        if lib is torch:
            tm = model
    em = model
    assert caught[0] == caught[1]
    state = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(em.state_dict()) == list(state)
    assert repr(em) == repr(tm)
    em.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
    return em, tm


def _forward(model, lib, inputs, masks, call, grad):
    model.zero_grad()
    xs = [lib.tensor(a, requires_grad=grad) for a in inputs]
    kw = {k: lib.tensor(v) for k, v in masks.items()}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with lib.set_grad_enabled(grad):
            out = model(*xs, **kw, **call)
    # (torch's own note on its nested-tensor prototype, raised inside its fast path, is not
    # part of the layer's behaviour: ember has no nested tensors)
    res = {"out": out.detach().numpy(), "warnings": [
        str(x.message) for x in w if "nested tensors is in prototype" not in str(x.message)]}
    if grad:
        (out * out).sum().backward()
        res["grads"] = [(n, None if p.grad is None else p.grad.numpy())
                        for n, p in model.named_parameters()] + \
            [(f"input {i}", x.grad.numpy()) for i, x in enumerate(xs)]
    return res


def _compare(em, tm, inputs, masks=(), call=(), train=True, grad=True, dtype=None):
    """Inputs and float masks in the model's dtype; compared at that dtype's tolerance."""
    dtype = dtype or str(next(tm.parameters()).dtype).split(".")[-1]
    inputs = [a.astype(dtype) for a in inputs]
    masks = {k: m.astype(dtype) if m.dtype.kind == "f" else m for k, m in dict(masks).items()}
    call = dict(call)
    em.train(train)
    tm.train(train)
    e = _forward(em, ember, inputs, masks, call, grad)
    t = _forward(tm, torch, inputs, masks, call, grad)
    assert_close(e["out"], t["out"], dtype, what="output")
    assert e["warnings"] == t["warnings"]
    if grad:
        for (name, a), (_, b) in zip(e["grads"], t["grads"]):
            assert (a is None) == (b is None), name
            if a is not None:
                assert_close(a, b, dtype, what=f"gradient of {name}")
    return e["out"]


def _causal(n, dtype="float64"):
    return torch.nn.Transformer.generate_square_subsequent_mask(n, dtype=getattr(
        torch, dtype)).numpy()


S, T, N = 5, 4, 3
KPM = np.zeros((N, S), bool)
KPM[1, 3:] = True


# =========================================================================== encoder layer
LAYER_OPTIONS = {
    "post_norm_relu": dict(),
    "pre_norm_gelu": dict(norm_first=True, activation="gelu"),
    "callable_no_bias": dict(bias=False, activation="silu_module"),
    "batch_first_eps": dict(batch_first=True, layer_norm_eps=1e-3),
}


def _activation(lib, options):
    options = dict(options)
    if options.get("activation") == "silu_module":
        options["activation"] = lib.nn.SiLU()
    return options


@pytest.mark.parametrize("name,dtype", [(n, "float64") for n in LAYER_OPTIONS] +
                         [("post_norm_relu", "float32"), ("pre_norm_gelu", "float32")])
def test_encoder_layer_as_torch(name, dtype):
    opts = LAYER_OPTIONS[name]
    em, tm = _build_pair(lambda lib: lib.nn.TransformerEncoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.0, dtype=getattr(lib, dtype), **_activation(lib, opts)))
    x = _randn(N, S, D_MODEL) if opts.get("batch_first") else _randn(S, N, D_MODEL)
    x = x.astype(dtype)
    src_mask = RNG.random((S, S)) > 0.8
    _compare(em, tm, [x], dtype=dtype)
    _compare(em, tm, [x], dict(src_mask=src_mask, src_key_padding_mask=KPM), dtype=dtype)
    _compare(em, tm, [x], dict(src_mask=_causal(S, dtype)), dict(is_causal=True), dtype=dtype)
    unbatched = x[0] if opts.get("batch_first") else x[:, 0]
    _compare(em, tm, [unbatched], dict(src_key_padding_mask=KPM[1]), dtype=dtype)


def test_encoder_layer_eval_fast_path_values():
    """torch's fused inference layer: equal to the slow path, except that a query with every
    key masked is NaN there (zeros in the slow path, through SDPA)."""
    em, tm = _build_pair(lambda lib: lib.nn.TransformerEncoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True))
    x = _randn(N, S, D_MODEL)
    full = KPM.copy()
    full[2] = True
    rows = np.zeros((S, S), bool)
    rows[0] = True
    for masks in (dict(src_key_padding_mask=KPM), dict(src_key_padding_mask=full),
                  dict(src_mask=rows), dict(src_mask=rows, src_key_padding_mask=KPM)):
        for train, grad in ((True, True), (False, True), (False, False)):
            out = _compare(em, tm, [x], masks, train=train, grad=grad)
            dead = "src_mask" in masks or masks["src_key_padding_mask"] is full
            assert np.isnan(out).any() == (not train and not grad and dead)


# =========================================================================== encoder stack
def _encoder(lib, **kw):
    layer = lib.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True)
    return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(D_MODEL), **kw)


def test_encoder_stack_keys_are_deep_copies():
    em, tm = _build_pair(_encoder)
    assert "layers.0.self_attn.in_proj_weight" in em.state_dict()
    assert "layers.1.linear2.bias" in em.state_dict()
    a, b = em.layers[0].linear1.weight, em.layers[1].linear1.weight
    assert a is not b and np.array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("train,grad", [(True, True), (False, True), (False, False)])
def test_encoder_stack_with_padding(train, grad):
    """In eval without autograd torch runs nested tensors: padded positions come out as 0
    (before the final norm), a fully padded sequence too."""
    em, tm = _build_pair(_encoder)
    kpm = KPM.copy()
    kpm[2] = True
    _compare(em, tm, [_randn(N, S, D_MODEL)], dict(src_key_padding_mask=kpm), train=train,
             grad=grad)


def test_encoder_stack_padding_not_left_aligned_skips_nested_path():
    em, tm = _build_pair(_encoder)
    kpm = KPM.copy()
    kpm[0, 0] = True
    _compare(em, tm, [_randn(N, S, D_MODEL)], dict(src_key_padding_mask=kpm), train=False,
             grad=False)
    em.mask_check = tm.mask_check = False
    _compare(em, tm, [_randn(N, S, D_MODEL)], dict(src_key_padding_mask=kpm), train=False,
             grad=False)


def test_encoder_stack_masks_and_causal_detection():
    em, tm = _build_pair(lambda lib: _encoder(lib, enable_nested_tensor=False))
    x = _randn(N, S, D_MODEL)
    _compare(em, tm, [x], dict(mask=_causal(S)))
    _compare(em, tm, [x], dict(mask=_causal(S)), dict(is_causal=True))
    _compare(em, tm, [x], dict(mask=RNG.random((S, S)) > 0.8, src_key_padding_mask=KPM))


def test_encoder_nested_tensor_warnings():
    """torch warns when enable_nested_tensor cannot be honoured; ember says the same."""
    for opts in (dict(), dict(batch_first=True, norm_first=True), dict(batch_first=True,
                                                                          bias=False)):
        _build_pair(lambda lib: lib.nn.TransformerEncoder(
            lib.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, **opts), 1))
    _build_pair(lambda lib: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(9, 3, FF, batch_first=True), 1))   # odd heads


# =========================================================================== decoder
@pytest.mark.parametrize("norm_first,dtype", [(False, "float64"), (True, "float64"),
                                               (True, "float32")])
def test_decoder_layer_and_stack_as_torch(norm_first, dtype):
    em, tm = _build_pair(lambda lib: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.0, norm_first=norm_first, activation="gelu",
        dtype=getattr(lib, dtype)), 2, norm=lib.nn.LayerNorm(D_MODEL, dtype=getattr(lib, dtype))))
    tgt, mem = _randn(T, N, D_MODEL).astype(dtype), _randn(S, N, D_MODEL).astype(dtype)
    tkpm = np.zeros((N, T), bool)
    tkpm[0, -1] = True
    _compare(em, tm, [tgt, mem], dict(tgt_mask=_causal(T, dtype), tgt_key_padding_mask=tkpm,
                                      memory_key_padding_mask=KPM), dtype=dtype)
    _compare(em, tm, [tgt, mem], dict(tgt_mask=_causal(T, dtype),
                                      memory_mask=RNG.random((T, S)) > 0.8),
             dict(tgt_is_causal=True), dtype=dtype)
    _compare(em, tm, [tgt[:, 0], mem[:, 0]], dtype=dtype)


def test_decoder_layer_eval_self_attention_takes_mha_fast_path():
    """A decoder layer has no fused path, but its self-attention does (NaN rows)."""
    em, tm = _build_pair(lambda lib: lib.nn.TransformerDecoderLayer(
        D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True))
    rows = np.zeros((T, T), bool)
    rows[0] = True
    for train, grad in ((True, True), (False, False)):
        _compare(em, tm, [_randn(N, T, D_MODEL), _randn(N, S, D_MODEL)], dict(tgt_mask=rows),
                 train=train, grad=grad)


# =========================================================================== Transformer
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_as_torch(batch_first):
    em, tm = _build_pair(lambda lib: lib.nn.Transformer(
        D_MODEL, NHEAD, 2, 1, FF, dropout=0.0, batch_first=batch_first))
    src, tgt = _randn(S, N, D_MODEL), _randn(T, N, D_MODEL)
    if batch_first:
        src, tgt = src.transpose(1, 0, 2), tgt.transpose(1, 0, 2)
    masks = dict(tgt_mask=_causal(T), src_key_padding_mask=KPM, memory_key_padding_mask=KPM)
    _compare(em, tm, [src, tgt], masks)
    _compare(em, tm, [src, tgt], masks, train=False, grad=False)


def test_transformer_unbatched_and_custom_parts():
    em, tm = _build_pair(lambda lib: lib.nn.Transformer(
        D_MODEL, NHEAD, 1, 1, FF, dropout=0.0, norm_first=True, bias=False))
    _compare(em, tm, [_randn(S, D_MODEL), _randn(T, D_MODEL)], dict(tgt_mask=_causal(T)))
    custom = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF),
                                         1, enable_nested_tensor=False)
    model = ember.nn.Transformer(D_MODEL, NHEAD, dim_feedforward=FF, num_decoder_layers=1,
                                 custom_encoder=custom)
    assert model.encoder is custom


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_reset_parameters_is_xavier_on_matrices():
    ember.manual_seed(0)
    model = ember.nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()      # (32, 16)
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.array_equal(model.encoder.norm.weight.detach().numpy(), np.ones(16))


def test_generate_square_subsequent_mask():
    for kw in (dict(), dict(dtype="float64")):
        e = ember.nn.Transformer.generate_square_subsequent_mask(
            4, **{k: getattr(ember, v) for k, v in kw.items()})
        t = torch.nn.Transformer.generate_square_subsequent_mask(
            4, **{k: getattr(torch, v) for k, v in kw.items()})
        assert_close(e, t, kw.get("dtype", "float32"))
    assert ember.nn.Transformer.generate_square_subsequent_mask(3, device="cpu").shape == (3, 3)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_errors_as_torch():
    def run(lib, src_shape, tgt_shape, **kw):
        model = lib.nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, **kw)
        return model(lib.zeros(src_shape), lib.zeros(tgt_shape))
    for args in (((S, 2, D_MODEL), (T, 3, D_MODEL)), ((2, S, D_MODEL), (3, T, D_MODEL))):
        err = same_error(lambda lib: run(lib, *args, batch_first=args[0][0] == 2))
        assert str(err) == "the batch number of src and tgt must be equal"
    err = same_error(lambda lib: run(lib, (S, 2, 6), (T, 2, 6)))
    assert str(err) == "the feature number of src and tgt must be equal to d_model"
    err = same_error(lambda lib: lib.nn.TransformerEncoderLayer(D_MODEL, NHEAD, activation="tanh"))
    assert str(err) == "activation should be relu/gelu, not tanh"
    same_error(lambda lib: lib.nn.TransformerDecoderLayer(D_MODEL, 3))


def test_transformer_training_dropout_draws_from_embers_generator():
    model = ember.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.3)
    x = ember.randn(S, N, D_MODEL)
    ember.manual_seed(4)
    a = model(x)
    ember.manual_seed(4)
    b = model(x)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    model.eval()
    assert np.array_equal(model(x).detach().numpy(), model(x).detach().numpy())
