"""Double backward (create_graph=True) through RNN / LSTM / GRU layers and their cells:
gradgradcheck in float64 on tiny sizes, and Hessian-vector products against torch's in
float32 and float64 (values of the first and second derivatives, every input and weight)."""
import numpy as np
import pytest
import torch

import ember
from ember._ops import rnn as _rnn
from ember.autograd import gradgradcheck

# torch warns that oneDNN has no LSTM projection and takes its default path
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-7, atol=1e-9)}


def _pair(cls, *args, dtype, **kwargs):
    """The same module in ember and torch: torch's initial weights copied into ember's."""
    tmod = getattr(torch.nn, cls)(*args, **kwargs).to(getattr(torch, np.dtype(dtype).name))
    emod = getattr(ember.nn, cls)(*args, **kwargs).to(getattr(ember, np.dtype(dtype).name))
    for name, p in tmod.named_parameters():
        getattr(emod, name).data = ember.tensor(p.detach().numpy().copy())
    return emod, tmod


def _hvp(lib, module, run, inputs, seed=3):
    """First derivatives of <run(module, *inputs), u> (create_graph) w.r.t. the inputs and the
    parameters, then the gradient of <first, v>: a Hessian-vector product in all of them."""
    xs = [lib.tensor(a, requires_grad=True) for a in inputs]
    params = list(module.parameters())
    outs = run(lib, module, *xs)
    rng = np.random.default_rng(seed)
    dtype = inputs[0].dtype
    total = sum((o * lib.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype))).sum()
                for o in outs)
    wrt = xs + params
    first = lib.autograd.grad(total, wrt, create_graph=True)
    inner = sum((g * lib.tensor(rng.standard_normal(tuple(g.shape)).astype(dtype))).sum()
                for g in first)
    second = lib.autograd.grad(inner, wrt, allow_unused=True)
    return ([g.detach().numpy() for g in first],
            [np.zeros(w.shape, dtype) if h is None else h.detach().numpy()
             for h, w in zip(second, wrt)])


def _compare(cls, args, kwargs, run, shapes, dtype):
    emod, tmod = _pair(cls, *args, dtype=dtype, **kwargs)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    (ef, es), (tf, ts) = _hvp(ember, emod, run, inputs), _hvp(torch, tmod, run, inputs)
    for a, b in zip(ef + es, tf + ts):
        np.testing.assert_allclose(a, b, **TOL[dtype])


def _layer(lib, module, x, h0, c0=None):
    out, hidden = module(x, h0 if c0 is None else (h0, c0))
    return (out,) + (hidden if isinstance(hidden, tuple) else (hidden,))


LAYERS = [  # (class, args, kwargs, state shapes for D * layers = 4 or 2, batch 2)
    ("RNN", (3, 4, 2), dict(bidirectional=True), [(4, 2, 4)]),
    ("RNN", (3, 4, 2), dict(nonlinearity="relu"), [(2, 2, 4)]),
    ("GRU", (3, 4, 2), dict(bidirectional=True), [(4, 2, 4)]),
    ("GRU", (3, 4, 1), dict(bias=False), [(1, 2, 4)]),
    ("LSTM", (3, 4, 2), dict(bidirectional=True), [(4, 2, 4), (4, 2, 4)]),
    ("LSTM", (3, 4, 2), dict(proj_size=2, bidirectional=True), [(4, 2, 2), (4, 2, 4)]),
]


@pytest.mark.parametrize("cls,args,kwargs,states", LAYERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_hvp_matches_torch(cls, args, kwargs, states, dtype):
    _compare(cls, args, kwargs, _layer, [(4, 2, 3)] + states, dtype)


@pytest.mark.parametrize("cls", ["GRU", "LSTM"])
def test_batch_first_hvp_matches_torch(cls):
    states = [(1, 2, 3)] * (2 if cls == "LSTM" else 1)
    _compare(cls, (2, 3), dict(batch_first=True), _layer, [(2, 4, 2)] + states, np.float64)


def _packed(lib, module, x, h0, c0=None):
    """Sequences of lengths 4, 2, 3 (unsorted): packed, run, padded back."""
    rnn = lib.nn.utils.rnn
    packed = rnn.pack_padded_sequence(x, [4, 2, 3], enforce_sorted=False)
    out, hidden = module(packed, h0 if c0 is None else (h0, c0))
    padded, _ = rnn.pad_packed_sequence(out)
    return (padded,) + (hidden if isinstance(hidden, tuple) else (hidden,))


@pytest.mark.parametrize("cls,kwargs,states", [
    ("LSTM", dict(bidirectional=True), [(2, 3, 3), (2, 3, 3)]),
    ("GRU", dict(bidirectional=True), [(2, 3, 3)]),
    ("RNN", dict(), [(1, 3, 3)]),
])
def test_packed_hvp_matches_torch(cls, kwargs, states):
    _compare(cls, (2, 3), kwargs, _packed, [(4, 3, 2)] + states, np.float64)


def _cell(lib, module, x, h, c=None):
    out = module(x, h if c is None else (h, c))
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("cls,kwargs,states", [
    ("RNNCell", dict(), [(2, 4)]),
    ("RNNCell", dict(nonlinearity="relu"), [(2, 4)]),
    ("GRUCell", dict(), [(2, 4)]),
    ("LSTMCell", dict(), [(2, 4), (2, 4)]),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cell_hvp_matches_torch(cls, kwargs, states, dtype):
    _compare(cls, (3, 4), kwargs, _cell, [(2, 3)] + states, dtype)


def test_gradient_penalty_trains_like_torch():
    """The use that needs it: a loss plus the norm of its gradient w.r.t. the input, one
    backward; the parameters' gradients match torch's."""
    emod, tmod = _pair("LSTM", 3, 4, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    grads = []
    for lib, module in ((ember, emod), (torch, tmod)):
        xt = lib.tensor(x, requires_grad=True)
        out, _ = module(xt)
        loss = out.pow(2).mean()
        (gx,) = lib.autograd.grad(loss, xt, create_graph=True)
        (loss + gx.pow(2).sum()).backward()
        grads.append([p.grad.numpy() for p in module.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, **TOL[np.float64])


# ------------------------------------------------------------------ gradgradcheck, float64
# Finite differences of the recorded first derivatives: tiny sizes, one layer (the stack and
# every weight are covered against torch above), and only the input, the states and the
# recurrence's weights vary: gradcheck's cost grows with the product of input and output sizes.
@pytest.mark.parametrize("mode,hidden,proj,reverse,batch_sizes", [
    ("RNN_TANH", 2, 0, True, [2, 2, 1]),
    ("RNN_RELU", 2, 0, False, [2, 1]),
    ("GRU", 1, 0, True, [2, 1, 1]),
    ("LSTM", 1, 0, False, [2, 2]),
    ("LSTM", 2, 1, True, [2, 1]),
])
def test_gradgradcheck(mode, hidden, proj, reverse, batch_sizes):
    rng = np.random.default_rng(5)
    rows = {"LSTM": 4, "GRU": 3}.get(mode, 1) * hidden
    sizes = np.array(batch_sizes, dtype=np.int64)

    def tensor(*shape, grad=True):
        return ember.tensor(rng.uniform(-1, 1, shape), requires_grad=grad)
    fixed = dict(w_ih=tensor(rows, 1, grad=False), b_ih=tensor(rows, grad=False),
                 b_hh=tensor(rows, grad=False))
    varying = dict(x=tensor(int(sizes.sum()), 1), h0=tensor(2, proj or hidden),
                   w_hh=tensor(rows, proj or hidden))
    if mode == "LSTM":
        varying["c0"] = tensor(2, hidden)
    if proj:
        varying["w_hr"] = tensor(proj, hidden)

    def layer(*values):
        a = dict(fixed, **dict(zip(varying, values)))
        return _rnn.RNNLayer.apply(a["x"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"],
                                   a.get("w_hr"), a["h0"], a.get("c0"), mode, mode, sizes,
                                   reverse)
    assert gradgradcheck(layer, tuple(varying.values()))


def test_first_order_path_is_the_fused_kernel():
    """Without create_graph, backward stays the kernel's (no recomposition): the recorded
    backward is only reached with create_graph=True."""
    calls = []
    original = _rnn.layer_composed
    _rnn.layer_composed = lambda *a: calls.append(1) or original(*a)
    try:
        lstm = ember.nn.LSTM(3, 4)
        x = ember.randn(5, 2, 3, requires_grad=True)
        lstm(x)[0].sum().backward()
        assert not calls
        (g,) = ember.autograd.grad(lstm(x)[0].sum(), x, create_graph=True)
        g.sum().backward()
        assert calls
    finally:
        _rnn.layer_composed = original
