"""RNN, LSTM, GRU and their cells against torch: values of output, h_n, c_n and the gradients of
the input, the initial states and every parameter (float64 tight, float32 loose), packed
sequences, gradcheck, torch's parameter layout and its errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember.autograd import gradcheck
from tests.helpers import assert_close, same_error

from torch.nn.utils import rnn as trnn
from ember.nn.utils import rnn as ernn

KINDS = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "RNN", "RNN_relu": "RNN"}


def _pair(kind, dtype="float64", *args, **kwargs):
    """The same layer in torch and in ember, ember's weights copied from torch's."""
    if kind == "RNN_relu":
        kwargs["nonlinearity"] = "relu"
    t = getattr(torch.nn, KINDS[kind])(*args, **kwargs).to(getattr(torch, dtype))
    e = getattr(ember.nn, KINDS[kind])(*args, **kwargs).to(getattr(ember, dtype))
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, e


def _flat(out):
    """output and states as a flat list (PackedSequence -> its data)."""
    res = []
    for o in out if isinstance(out, tuple) and not hasattr(out, "batch_sizes") else (out,):
        if hasattr(o, "batch_sizes"):
            res.append(o.data)
        elif isinstance(o, tuple):
            res.extend(o)
        else:
            res.append(o)
    return res


def _compare(t_layer, e_layer, t_args, e_args, dtype, leaves, seed=0, tol=None):
    """Run both, compare every output, backpropagate the same random gradient through all of
    them and compare the gradients of ``leaves`` (pairs) and of every parameter."""
    tol = tol or {}
    t_out, e_out = _flat(t_layer(*t_args)), _flat(e_layer(*e_args))
    assert len(t_out) == len(e_out)
    rng = np.random.default_rng(seed)
    grads = []
    for i, (t, e) in enumerate(zip(t_out, e_out)):
        assert_close(e, t, dtype, what=f"output {i}", **tol)
        grads.append(rng.standard_normal(tuple(t.shape)).astype(dtype))
    torch.autograd.backward(t_out, [torch.tensor(g) for g in grads])
    ember.autograd.backward(e_out, [ember.tensor(g) for g in grads])
    for i, (t, e) in enumerate(leaves):
        assert_close(e.grad, t.grad, dtype, what=f"gradient of leaf {i}", **tol)
    for (name, tp), ep in zip(t_layer.named_parameters(), e_layer.parameters()):
        assert_close(ep.grad, tp.grad, dtype, what=f"gradient of {name}", **tol)
    return t_out, e_out


def _leaf(array, dtype):
    a = np.asarray(array, dtype=dtype)
    return torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True)


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, bias=False),
    dict(batch_first=True, num_layers=3),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("kind", list(KINDS))
def test_matches_torch_with_initial_state(kind, config, dtype):
    t, e = _pair(kind, dtype, 3, 5, **config)
    rng = np.random.default_rng(1)
    steps, batch = 4, 3
    shape = (batch, steps, 3) if config.get("batch_first") else (steps, batch, 3)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    tx, ex = _leaf(rng.standard_normal(shape), dtype)
    th, eh = _leaf(rng.standard_normal((layers, batch, 5)), dtype)
    if kind == "LSTM":
        tc, ec = _leaf(rng.standard_normal((layers, batch, 5)), dtype)
        _compare(t, e, (tx, (th, tc)), (ex, (eh, ec)), dtype, [(tx, ex), (th, eh), (tc, ec)])
    else:
        _compare(t, e, (tx, th), (ex, eh), dtype, [(tx, ex), (th, eh)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_matches_torch_without_initial_state(kind, dtype):
    t, e = _pair(kind, dtype, 4, 6, num_layers=2, bidirectional=True)
    tx, ex = _leaf(np.random.default_rng(2).standard_normal((7, 2, 4)), dtype)
    _compare(t, e, (tx,), (ex,), dtype, [(tx, ex)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True),
                                    dict(batch_first=True)], ids=str)
def test_lstm_proj_size(config, dtype):
    t, e = _pair("LSTM", dtype, 3, 6, proj_size=2, **config)
    rng = np.random.default_rng(3)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    shape = (3, 5, 3) if config.get("batch_first") else (5, 3, 3)
    tx, ex = _leaf(rng.standard_normal(shape), dtype)
    th, eh = _leaf(rng.standard_normal((layers, 3, 2)), dtype)
    tc, ec = _leaf(rng.standard_normal((layers, 3, 6)), dtype)
    t_out, e_out = _compare(t, e, (tx, (th, tc)), (ex, (eh, ec)), dtype,
                            [(tx, ex), (th, eh), (tc, ec)])
    assert tuple(e_out[1].shape) == (layers, 3, 2) and tuple(e_out[2].shape) == (layers, 3, 6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input(kind):
    t, e = _pair(kind, "float64", 3, 4, num_layers=2)
    rng = np.random.default_rng(4)
    tx, ex = _leaf(rng.standard_normal((5, 3)), "float64")
    th, eh = _leaf(rng.standard_normal((2, 4)), "float64")
    if kind == "LSTM":
        tc, ec = _leaf(rng.standard_normal((2, 4)), "float64")
        t_out, e_out = _compare(t, e, (tx, (th, tc)), (ex, (eh, ec)), "float64",
                                [(tx, ex), (th, eh), (tc, ec)])
    else:
        t_out, e_out = _compare(t, e, (tx, th), (ex, eh), "float64", [(tx, ex), (th, eh)])
    assert tuple(e_out[0].shape) == (5, 4) and tuple(e_out[1].shape) == (2, 4)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_batch_of_one_and_non_contiguous_input(kind):
    t, e = _pair(kind, "float64", 3, 4, bidirectional=True)
    base = np.random.default_rng(5).standard_normal((1, 3, 6))
    tb, eb = _leaf(base, "float64")
    # (6, 1, 3) seen through a transpose: strides that are not the packed layout's
    _compare(t, e, (tb.permute(2, 0, 1),), (eb.permute(2, 0, 1),), "float64", [(tb, eb)])


def test_empty_batch_as_torch():
    t, e = _pair("LSTM", "float64", 3, 4)
    tx = torch.zeros(5, 0, 3, dtype=torch.float64)
    t_out, e_out = _flat(t(tx)), _flat(e(ember.zeros(5, 0, 3, dtype=ember.float64)))
    assert [tuple(o.shape) for o in e_out] == [tuple(o.shape) for o in t_out]


# --------------------------------------------------------------------------- packed sequences

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True)], ids=str)
def test_packed_unequal_lengths_last_valid_state(kind, config, dtype):
    """Packed input of unequal lengths, not sorted: output data, and h_n / c_n the state at
    each sequence's own last step (not at the longest one's), in the caller's batch order."""
    t, e = _pair(kind, dtype, 3, 4, **config)
    rng = np.random.default_rng(6)
    lengths = [3, 6, 1, 4]
    tx, ex = _leaf(rng.standard_normal((6, 4, 3)), dtype)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    th, eh = _leaf(rng.standard_normal((layers, 4, 4)), dtype)
    tp = trnn.pack_padded_sequence(tx, lengths, enforce_sorted=False)
    ep = ernn.pack_padded_sequence(ex, lengths, enforce_sorted=False)
    if kind == "LSTM":
        tc, ec = _leaf(rng.standard_normal((layers, 4, 4)), dtype)
        t_out, e_out = _compare(t, e, (tp, (th, tc)), (ep, (eh, ec)), dtype,
                                [(tx, ex), (th, eh), (tc, ec)])
    else:
        t_out, e_out = _compare(t, e, (tp, th), (ep, eh), dtype, [(tx, ex), (th, eh)])
    # the same h_n as running each sequence alone, to its own end
    for b, n in enumerate(lengths):
        h0 = eh[:, b:b + 1].detach()
        state = (h0, ec[:, b:b + 1].detach()) if kind == "LSTM" else h0
        single = e(ex[:n, b:b + 1].detach(), state)
        h_single = single[1][0] if kind == "LSTM" else single[1]
        assert_close(e_out[1][:, b:b + 1], h_single, dtype, what=f"h_n of sequence {b}")


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(list(KINDS)), lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       bidirectional=st.booleans(), num_layers=st.integers(1, 2), sort=st.booleans())
def test_packed_any_lengths_as_torch(kind, lengths, bidirectional, num_layers, sort):
    t, e = _pair(kind, "float64", 2, 3, num_layers=num_layers, bidirectional=bidirectional)
    if sort:
        lengths = sorted(lengths, reverse=True)
    tx, ex = _leaf(np.random.default_rng(len(lengths)).standard_normal((max(lengths), len(lengths), 2)),
                   "float64")
    tp = trnn.pack_padded_sequence(tx, lengths, enforce_sorted=sort)
    ep = ernn.pack_padded_sequence(ex, lengths, enforce_sorted=sort)
    _compare(t, e, (tp,), (ep,), "float64", [(tx, ex)])


def test_packed_output_round_trip_matches_padded_run():
    t, e = _pair("GRU", "float64", 2, 3, batch_first=True)
    x = np.random.default_rng(7).standard_normal((3, 5, 2))
    lengths = ember.tensor([5, 2, 4])
    out, _ = e(ernn.pack_padded_sequence(ember.tensor(x), lengths, batch_first=True,
                                         enforce_sorted=False))
    padded, lens = ernn.pad_packed_sequence(out, batch_first=True)
    t_out, _ = t(trnn.pack_padded_sequence(torch.tensor(x), torch.tensor([5, 2, 4]),
                                           batch_first=True, enforce_sorted=False))
    t_padded, t_lens = trnn.pad_packed_sequence(t_out, batch_first=True)
    assert_close(padded, t_padded, "float64")
    assert lens.tolist() == t_lens.tolist()


# --------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("kind,kwargs", [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="relu")),
    ("RNN", dict(bias=False)),
])
def test_gradcheck(kind, kwargs):
    ember.manual_seed(0)
    layer = getattr(ember.nn, kind)(2, 3, **kwargs).double()
    params = list(layer.parameters())
    names = [n for n, _ in layer.named_parameters()]
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)

    def fn(x, *ps):
        for n, p in zip(names, ps):
            setattr(layer, n, p)
        out, h = layer(x)
        return (out, *(h if isinstance(h, tuple) else (h,)))

    assert gradcheck(fn, (x, *[ember.nn.Parameter(p.detach().clone()) for p in params]))


def test_gradcheck_packed_lstm():
    ember.manual_seed(1)
    layer = ember.nn.LSTM(2, 3, bidirectional=True).double()
    x = ember.randn(4, 3, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(2, 3, 3, dtype=ember.float64, requires_grad=True)
    c0 = ember.randn(2, 3, 3, dtype=ember.float64, requires_grad=True)

    def fn(x, h0, c0):
        packed = ernn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        out, (h, c) = layer(packed, (h0, c0))
        return out.data, h, c

    assert gradcheck(fn, (x, h0, c0))


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_gradcheck_cells(cell):
    ember.manual_seed(2)
    layer = getattr(ember.nn, cell)(3, 2).double()
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    h = ember.randn(4, 2, dtype=ember.float64, requires_grad=True)
    args = (x, (h, h * 0.5)) if cell == "LSTMCell" else (x, h)
    assert gradcheck(lambda x, h: layer(x, (h, h * 0.5) if cell == "LSTMCell" else h), (x, h))
    del args


# --------------------------------------------------------------------------- cells

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell,kwargs", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")),
                                         ("LSTMCell", {}), ("GRUCell", {}),
                                         ("GRUCell", dict(bias=False))])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cell, kwargs, batched, dtype):
    tc = getattr(torch.nn, cell)(3, 4, **kwargs).to(getattr(torch, dtype))
    ec = getattr(ember.nn, cell)(3, 4, **kwargs).to(getattr(ember, dtype))
    ec.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tc.state_dict().items()})
    rng = np.random.default_rng(8)
    lead = (2,) if batched else ()
    tx, ex = _leaf(rng.standard_normal(lead + (3,)), dtype)
    th, eh = _leaf(rng.standard_normal(lead + (4,)), dtype)
    if cell == "LSTMCell":
        tcc, ecc = _leaf(rng.standard_normal(lead + (4,)), dtype)
        _compare(tc, ec, (tx, (th, tcc)), (ex, (eh, ecc)), dtype, [(tx, ex), (th, eh), (tcc, ecc)])
    else:
        _compare(tc, ec, (tx, th), (ex, eh), dtype, [(tx, ex), (th, eh)])
    # without a state: zeros, as torch
    out_t, out_e = tc(tx), ec(ex)
    for a, b in zip(_flat(out_t), _flat(out_e)):
        assert_close(b, a, dtype)


def test_lstm_cell_sequence_equals_lstm():
    cell = ember.nn.LSTMCell(3, 4).double()
    lstm = ember.nn.LSTM(3, 4).double()
    lstm.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = ember.randn(5, 2, 3, dtype=ember.float64)
    h = c = ember.zeros(2, 4, dtype=ember.float64)
    for step in x:
        h, c = cell(step, (h, c))
    out, (h_n, c_n) = lstm(x)
    assert_close(h, h_n[0], "float64")
    assert_close(c, c_n[0], "float64")
    assert_close(h, out[-1], "float64")


# --------------------------------------------------------------------------- traps

def test_trap_gru_reset_gate_multiplies_hidden_projection_with_its_bias():
    """TRAPS.md 21: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), not r * (W_hn h) + b_hn."""
    cell = ember.nn.GRUCell(2, 3).double()
    x, h = np.random.default_rng(9).standard_normal((2, 1, 2)).reshape(2, 2)[:1], \
        np.random.default_rng(10).standard_normal((1, 3))
    w_ih, w_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    b_ih, b_hh = cell.bias_ih.detach().numpy(), cell.bias_hh.detach().numpy()
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    r, z = sig(gi[:, :3] + gh[:, :3]), sig(gi[:, 3:6] + gh[:, 3:6])
    n = np.tanh(gi[:, 6:] + r * gh[:, 6:])
    expected = (1 - z) * n + z * h
    got = cell(ember.tensor(x), ember.tensor(h)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    wrong = (1 - z) * np.tanh(gi[:, 6:] + r * (h @ w_hh[6:].T) + b_hh[6:]) + z * h
    assert not np.allclose(got, wrong)


def test_trap_lstm_gate_order_ifgo():
    """TRAPS.md 21: rows of W_ih are i, f, g, o. With only the forget gate's bias large and
    negative, c' = i * g: the cell forgets its state."""
    cell = ember.nn.LSTMCell(1, 1, bias=True).double()
    with ember.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih.copy_(ember.tensor([30.0, -30.0, 0.5, 30.0], dtype=ember.float64))
    h, c = cell(ember.zeros(1, 1, dtype=ember.float64),
                (ember.zeros(1, 1, dtype=ember.float64), ember.full((1, 1), 7.0, dtype=ember.float64)))
    assert abs(c.item() - np.tanh(0.5)) < 1e-9
    assert abs(h.item() - np.tanh(np.tanh(0.5))) < 1e-9


def test_lstm_state_dtype_mismatch_raises():
    # torch raises from its oneDNN path ("get_mkldnn_dtype: unsupported data type"); ember
    # raises too, never casting the state silently
    for lib in (torch, ember):
        with pytest.raises(RuntimeError):
            lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2), (lib.zeros(1, 3, 3, dtype=lib.float64),
                                                   lib.zeros(1, 3, 3)))


@pytest.mark.parametrize("kind", list(KINDS))
def test_saturated_gates_as_torch_without_warnings(kind):
    """Inputs of 1e4 and beyond: exp(-x) overflows to inf inside a sigmoid, which is its 0."""
    t, e = _pair(kind, "float64", 2, 3)
    x = np.array([[[1e4, -1e4]], [[-1e5, 1e3]], [[0.5, 1e300]], [[-3.0, 2.0]]])
    tx, ex = _leaf(x, "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compare(t, e, (tx,), (ex,), "float64", [(tx, ex)])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradient_of_h_n_alone_and_frozen_input(kind):
    """Only h_n reaches the loss (output gets zeros), and the input needs no gradient."""
    t, e = _pair(kind, "float64", 3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(13).standard_normal((5, 2, 3))
    th = t(torch.tensor(x))[1]
    eh = e(ember.tensor(x))[1]
    th = th[0] if kind == "LSTM" else th
    eh = eh[0] if kind == "LSTM" else eh
    (th * th).sum().backward()
    (eh * eh).sum().backward()
    for (name, tp), ep in zip(t.named_parameters(), e.parameters()):
        assert_close(ep.grad, tp.grad, "float64", what=name)


# --------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("kind,kwargs", [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("LSTM", dict(bias=False, proj_size=2)),
    ("GRU", dict(num_layers=3)),
    ("RNN", dict(bidirectional=True, bias=False, nonlinearity="relu")),
])
def test_parameter_names_order_shapes_and_repr_as_torch(kind, kwargs):
    t = getattr(torch.nn, kind)(4, 5, **kwargs)
    e = getattr(ember.nn, kind)(4, 5, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert e._flat_weights_names == t._flat_weights_names
    assert [[tuple(p.shape) for p in ws] for ws in e.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    assert repr(e) == repr(t)
    e.flatten_parameters()  # a no-op on the CPU, as torch's


@pytest.mark.parametrize("cell,kwargs", [("RNNCell", dict(bias=False, nonlinearity="relu")),
                                         ("LSTMCell", {}), ("GRUCell", {})])
def test_cell_parameters_and_repr_as_torch(cell, kwargs):
    t, e = getattr(torch.nn, cell)(4, 5, **kwargs), getattr(ember.nn, cell)(4, 5, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(e) == repr(t)


def test_reset_parameters_uniform_over_one_over_sqrt_hidden():
    layer = ember.nn.LSTM(10, 16, num_layers=2, proj_size=4)
    for name, p in layer.named_parameters():
        a = p.detach().numpy()
        assert np.all(np.abs(a) <= 0.25), name
        assert a.std() > 0.1, name  # filled, not zeros
    layer.reset_parameters()


def test_torch_state_dict_loads_and_gives_torchs_outputs():
    t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    e = ember.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(11).standard_normal((2, 5, 3)).astype(np.float32)
    for a, b in zip(_flat(t(torch.tensor(x))), _flat(e(ember.tensor(x)))):
        assert_close(b, a, "float32")


# --------------------------------------------------------------------------- dropout

def test_dropout_between_layers_training_only():
    # p = 1 zeroes every input of the second layer: deterministic, so comparable with torch
    t, e = _pair("GRU", "float64", 3, 4, num_layers=2, dropout=1.0)
    tx, ex = _leaf(np.random.default_rng(12).standard_normal((4, 2, 3)), "float64")
    _compare(t, e, (tx,), (ex,), "float64", [(tx, ex)])
    t.eval(), e.eval()
    for a, b in zip(_flat(t(tx)), _flat(e(ex))):
        assert_close(b, a, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_dropout_between_layers_draws_torchs_masks(kind, dtype):
    """Seeded alike, the layer starts with torch's weights and its inter-layer dropout draws
    torch's masks (F.dropout's bernoulli_ noise), so training outputs and gradients agree."""
    layers = []
    for lib in (torch, ember):
        lib.manual_seed(7)
        layers.append(getattr(lib.nn, kind)(3, 4, num_layers=3, dropout=0.5,
                                            bidirectional=True).to(getattr(lib, dtype)))
    t, e = layers
    tx, ex = _leaf(np.random.default_rng(14).standard_normal((5, 2, 3)), dtype)
    torch.manual_seed(8)
    ember.manual_seed(8)
    _compare(t, e, (tx,), (ex,), dtype, [(tx, ex)])


def test_dropout_acts_in_training_only():
    ember.manual_seed(0)
    layer = ember.nn.LSTM(3, 8, num_layers=2, dropout=0.5).double()
    x = ember.randn(6, 4, 3, dtype=ember.float64)
    layer.eval()
    a, b = layer(x)[0], layer(x)[0]
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    layer.train()
    c = layer(x)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_dropout_warning_with_one_layer():
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.LSTM(2, 3, dropout=0.5)
        assert len(caught) == 1
        assert "non-zero dropout expects num_layers greater than 1, but got dropout=0.5 and " \
               "num_layers=1" in str(caught[0].message)


# --------------------------------------------------------------------------- errors

def _lstm(lib, *args):
    return lib.nn.LSTM(2, 3)(*args)


ERRORS = [
    ("input_size", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 5)),
     "input.size\\(-1\\) must be equal to input_size. Expected 2, got 5"),
    ("hidden0", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2), (lib.randn(1, 2, 3), lib.randn(1, 3, 3))),
     "Expected hidden\\[0\\] size \\(1, 3, 3\\), got \\[1, 2, 3\\]"),
    ("hidden1", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2), (lib.randn(1, 3, 3), lib.randn(1, 2, 3))),
     "Expected hidden\\[1\\] size \\(1, 3, 3\\), got \\[1, 2, 3\\]"),
    ("hx_dims", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2), (lib.randn(3, 3), lib.randn(1, 2, 3))),
     "For batched 3-D input, hx and cx should also be 3-D but got \\(2-D, 3-D\\) tensors"),
    ("gru_hidden", lambda lib: lib.nn.GRU(2, 3)(lib.randn(4, 3, 2), lib.randn(2, 3, 3)),
     "Expected hidden size \\(1, 3, 3\\), got \\[2, 3, 3\\]"),
    ("gru_hx_dims", lambda lib: lib.nn.GRU(2, 3)(lib.randn(4, 2), lib.randn(1, 1, 3)),
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    ("gru_4d", lambda lib: lib.nn.GRU(2, 3)(lib.randn(4, 3, 2, 1)),
     "GRU: Expected input to be 2D or 3D, got 4D instead"),
    ("rnn_4d", lambda lib: lib.nn.RNN(2, 3)(lib.randn(4, 3, 2, 1)),
     "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
    ("lstm_4d", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2, 1)),
     "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    ("dtype", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(4, 3, 2).double()),
     "RNN input dtype \\((torch|ember).float64\\) does not match weight dtype"),
    ("empty_sequence", lambda lib: lib.nn.LSTM(2, 3)(lib.randn(0, 3, 2)),
     "Expected sequence length to be larger than 0 in RNN"),
    ("packed_hidden", lambda lib: lib.nn.GRU(2, 3)(lib.nn.utils.rnn.pack_padded_sequence(
        lib.randn(4, 3, 2), [3, 2, 1]), lib.randn(1, 2, 3)), "Expected hidden size"),
    ("cell_input", lambda lib: lib.nn.LSTMCell(2, 3)(lib.randn(4, 5)),
     "input has inconsistent input_size: got 5 expected 2"),
    ("cell_batch", lambda lib: lib.nn.LSTMCell(2, 3)(lib.randn(4, 2), (lib.randn(3, 3), lib.randn(4, 3))),
     "Input batch size 4 doesn't match hidden0 batch size 3"),
    ("cell_hidden0", lambda lib: lib.nn.LSTMCell(2, 3)(lib.randn(4, 2), (lib.randn(4, 4), lib.randn(4, 3))),
     "hidden0 has inconsistent hidden_size: got 4, expected 3"),
    ("cell_hidden1", lambda lib: lib.nn.LSTMCell(2, 3)(lib.randn(4, 2), (lib.randn(4, 3), lib.randn(4, 4))),
     "hidden1 has inconsistent hidden_size: got 4, expected 3"),
    ("gru_cell_batch", lambda lib: lib.nn.GRUCell(2, 3)(lib.randn(4, 2), lib.randn(3, 3)),
     "Input batch size 4 doesn't match hidden0 batch size 3"),
    ("gru_cell_unbatched", lambda lib: lib.nn.GRUCell(2, 3)(lib.randn(2), lib.randn(2, 3)),
     "hidden0 has inconsistent hidden_size: got 2, expected 3"),
    ("cell_3d", lambda lib: lib.nn.GRUCell(2, 3)(lib.randn(2, 2, 2)),
     "GRUCell: Expected input to be 1D or 2D, got 3D instead"),
    ("lstm_cell_hx_3d", lambda lib: lib.nn.LSTMCell(2, 3)(lib.randn(2, 2), (lib.randn(1, 2, 3), lib.randn(2, 3))),
     "LSTMCell: Expected hx\\[0\\] to be 1D or 2D, got 3D instead"),
    ("cell_dtype", lambda lib: lib.nn.RNNCell(2, 3)(lib.randn(4, 2).double()),
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ("state_dtype", lambda lib: lib.nn.GRU(2, 3)(lib.randn(4, 3, 2), lib.zeros(1, 3, 3, dtype=lib.float64)),
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ("cell_state_dtype", lambda lib: lib.nn.GRUCell(2, 3)(lib.randn(4, 2), lib.zeros(4, 3, dtype=lib.float64)),
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ("nonlinearity", lambda lib: lib.nn.RNN(2, 3, nonlinearity="foo"),
     "Unknown nonlinearity 'foo'. Select from 'tanh' or 'relu'."),
    ("proj_gru", lambda lib: lib.nn.GRU(2, 3, proj_size=1),
     "proj_size argument is only supported for LSTM, not RNN or GRU"),
    ("proj_too_big", lambda lib: lib.nn.LSTM(2, 3, proj_size=3), "proj_size has to be smaller than hidden_size"),
    ("proj_negative", lambda lib: lib.nn.LSTM(2, 3, proj_size=-1), "proj_size should be a positive integer"),
    ("dropout", lambda lib: lib.nn.LSTM(2, 3, dropout=1.5), "dropout should be a number in range \\[0, 1\\]"),
    ("dropout_bool", lambda lib: lib.nn.LSTM(2, 3, dropout=True), "dropout should be a number"),
    ("hidden_zero", lambda lib: lib.nn.LSTM(2, 0), "hidden_size must be greater than zero"),
    ("layers_zero", lambda lib: lib.nn.GRU(2, 3, num_layers=0), "num_layers must be greater than zero"),
    ("input_float", lambda lib: lib.nn.LSTM(2.0, 3), "input_size should be of type int, got: float"),
    ("bias_type", lambda lib: lib.nn.LSTM(2, 3, bias=1), "bias should be of type bool, got: int"),
    ("batch_first_type", lambda lib: lib.nn.RNN(2, 3, batch_first=None),
     "batch_first should be of type bool, got: NoneType"),
]


@pytest.mark.parametrize("fn,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_as_torch(fn, match):
    err = same_error(fn, match=match)
    # the torch message matches the same pattern (ember's wording is torch's)
    try:
        fn(torch)
    except Exception as t_err:  # noqa: BLE001
        import re
        assert re.search(match, str(t_err)), str(t_err)
    del err


def test_rnn_cell_unknown_nonlinearity_raises_on_forward_as_torch():
    for lib in (torch, ember):
        cell = lib.nn.RNNCell(2, 3, nonlinearity="foo")
        with pytest.raises(RuntimeError, match="Unknown nonlinearity: foo"):
            cell(lib.randn(1, 2))


def test_docstring_examples_run():
    import doctest

    import ember.nn.modules.rnn as modules
    import ember.nn.utils.rnn as utils
    for module in (modules, utils):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
