"""Convolution layers against torch: F.conv1d/2d/3d, F.conv_transpose1d/2d/3d, F.unfold/fold and
the Conv*/ConvTranspose*/Unfold/Fold modules - values, every gradient, shapes, errors, reprs and
initial distributions. The kernels' own tests (both engines, chunking) are in
tests/_kernels/test_conv_kernels.py."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember._kernels import conv as K
from tests.helpers import assert_close, check_against_torch, same_error

DTYPES = ["float64", "float32"]
CONV = {1: "conv1d", 2: "conv2d", 3: "conv3d"}
CONV_T = {1: "conv_transpose1d", 2: "conv_transpose2d", 3: "conv_transpose3d"}


# -- property-generated grids ----------------------------------------------------------------

@st.composite
def conv_calls(draw, transposed=False):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    batched = draw(st.booleans())
    bias = draw(st.booleans())
    n = draw(st.integers(1, 3))
    small = 4 if nd == 3 else 7
    if transposed:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                               for s, d in zip(stride, dilation))
        spatial = tuple(draw(st.integers(max(1, (2 * p) // s), (2 * p) // s + small))
                        for p, s in zip(padding, stride))
        # keep the output non-empty: (in-1)*s - 2p + d(k-1) + op + 1 >= 1
        spatial = tuple(max(sz, -(-(2 * p - d * (k - 1) - op) // s) + 1)
                        for sz, p, s, d, k, op in zip(spatial, padding, stride, dilation, kernel,
                                                      output_padding))
        c_in = groups * og
        w_shape = (c_in, cg, *kernel)
        b_len = groups * cg
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding,
                      groups=groups, dilation=dilation)
    else:
        mode = draw(st.sampled_from(["int", "int", "valid", "same"]))
        stride = (1,) * nd if mode == "same" else tuple(draw(st.integers(1, 3)) for _ in range(nd))
        padding = mode if mode in ("valid", "same") else tuple(draw(st.integers(0, 2))
                                                                for _ in range(nd))
        pads = (0,) * nd if isinstance(padding, str) else padding
        spatial = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p),
                                         max(1, d * (k - 1) + 1 - 2 * p) + small))
                        for k, d, p in zip(kernel, dilation, pads))
        c_in = groups * cg
        w_shape = (groups * og, cg, *kernel)
        b_len = groups * og
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x_shape = ((n,) if batched else ()) + (c_in, *spatial)
    return nd, x_shape, w_shape, (b_len if bias else None), kwargs


def _inputs(x_shape, w_shape, b_len, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if b_len is not None:
        arrays.append(rng.standard_normal(b_len))
    return arrays


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=30, deadline=None)
@given(call=conv_calls())
def test_conv_matches_torch(dtype, call):
    nd, x_shape, w_shape, b_len, kw = call
    name = CONV[nd]
    check_against_torch(lambda lib, x, w, *b: getattr(lib.nn.functional, name)(
        x, w, b[0] if b else None, **kw), _inputs(x_shape, w_shape, b_len), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=30, deadline=None)
@given(call=conv_calls(transposed=True))
def test_conv_transpose_matches_torch(dtype, call):
    nd, x_shape, w_shape, b_len, kw = call
    name = CONV_T[nd]
    check_against_torch(lambda lib, x, w, *b: getattr(lib.nn.functional, name)(
        x, w, b[0] if b else None, **kw), _inputs(x_shape, w_shape, b_len), dtype=dtype)


@pytest.mark.parametrize("engine", ["gemm", "direct"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_both_engines_through_autograd(monkeypatch, engine, dtype):
    """Force each engine for a layer of the other one's kind (the heuristic picks one per shape)."""
    monkeypatch.setattr(K, "choose_engine", lambda *a: engine)
    arrays = _inputs((2, 4, 9, 8), (6, 2, 3, 2), 6)
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, **kw), arrays,
                        dtype=dtype)
    arrays = _inputs((2, 4, 5, 4), (4, 3, 3, 2), 6)
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 1), groups=2)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw),
                        arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lenet_sized_batches_match_torch(dtype):
    """Batches of narrow outputs take the GEMM engine's batch-last layout."""
    # float32 sums of 150 products of magnitude ~1 (outputs ~12): absolute rounding ~1e-5
    atol = 1e-4 if dtype == "float32" else None
    arrays = _inputs((16, 6, 14, 14), (16, 6, 5, 5), 16)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b), arrays, dtype=dtype,
                        atol=atol)
    arrays = _inputs((9, 4, 12), (4, 2, 3), 4)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv1d(
        x, w, b, stride=2, padding=1, groups=2), arrays, dtype=dtype)
    arrays = _inputs((12, 4, 5, 6), (4, 3, 3, 3), 3)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=2, output_padding=1), arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, x_shape, w_shape, kw", [
    ("conv2d", (2, 4, 9, 11), (4, 1, 3, 3), dict(padding=1, groups=4)),        # MobileNet's 3x3
    ("conv2d", (2, 4, 9, 11), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4)),
    ("conv2d", (1, 3, 8, 13), (3, 1, 3, 5), dict(padding="same", dilation=2, groups=3)),
    ("conv1d", (3, 2, 17), (2, 1, 5), dict(padding=4, groups=2)),
    ("conv3d", (1, 2, 4, 5, 6), (2, 1, 3, 3, 3), dict(padding=1, groups=2)),
    ("conv_transpose2d", (2, 3, 6, 7), (3, 1, 3, 3), dict(padding=1, groups=3)),
    ("conv_transpose2d", (2, 3, 6, 7), (3, 1, 3, 3), dict(stride=2, output_padding=1, groups=3)),
])
def test_depthwise_layers_match_torch(dtype, name, x_shape, w_shape, kw):
    """groups == channels take the depthwise engine (padded planes; the unit-stride input
    gradient as a correlation with the flipped kernel); a transposed view as input."""
    assert K.choose_engine(1, 1, 1) == "depthwise"
    x, w, b = _inputs(x_shape, w_shape, w_shape[0] * w_shape[1] if "transpose" in name
                      else w_shape[0])
    x = np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)   # not C-contiguous
    check_against_torch(lambda lib, x, w, b: getattr(lib.nn.functional, name)(x, w, b, **kw),
                        [x, w, b], dtype=dtype)


# -- named edge cases ----------------------------------------------------------------------

def test_same_padding_even_kernel_puts_extra_on_the_right():
    """padding='same' with an even effective kernel: torch pads one more zero at the end, and
    each axis keeps its own dilation (tinygrad#17805)."""
    arrays = _inputs((1, 2, 7, 6), (3, 2, 2, 4), None)
    out = check_against_torch(lambda lib, x, w: lib.nn.functional.conv2d(
        x, w, padding="same", dilation=(3, 1)), arrays)
    assert tuple(out[0].shape) == (1, 3, 7, 6)


def test_output_padding_is_computed_output_not_zeros():
    """The extra row/column of output_padding holds real values (pytorch#56328)."""
    arrays = _inputs((1, 2, 4, 4), (2, 1, 3, 3), 1)
    out = check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1), arrays)
    assert np.all(out[0].detach().numpy()[..., -1, :] != 0)


def test_output_padding_below_dilation_but_not_stride():
    arrays = _inputs((2, 3, 5), (3, 2, 3), None)
    check_against_torch(lambda lib, x, w: lib.nn.functional.conv_transpose1d(
        x, w, stride=1, output_padding=1, dilation=2), arrays)


def test_dilated_1d_input_gradient():
    """Input gradient of dilated and 1-d convolutions (pytorch#16012, #13008, MyGrad#73)."""
    arrays = _inputs((3, 4, 23), (5, 4, 4), 5)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv1d(
        x, w, b, stride=3, padding=2, dilation=3), arrays)


def test_depthwise_and_depth_multiplier():
    arrays = _inputs((2, 4, 9, 9), (8, 1, 3, 3), 8)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1,
                                                                       groups=4), arrays,
                        dtype="float32")


def test_non_contiguous_input_and_weight():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    check_against_torch(lambda lib, x, w: lib.nn.functional.conv2d(
        x.transpose(2, 3), w.transpose(2, 3), padding=1), [x, w])


def test_batch_of_one_and_unbatched_agree():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 10, 9))
    w = rng.standard_normal((2, 3, 3, 3))
    check_against_torch(lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=2), [x, w])
    check_against_torch(lambda lib, x, w: lib.nn.functional.conv2d(x[None], w, stride=2), [x, w])
    e = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w), stride=2)
    e1 = ember.nn.functional.conv2d(ember.tensor(x[None]), ember.tensor(w), stride=2)
    np.testing.assert_array_equal(e.numpy(), e1.numpy()[0])


def test_grad_fn_names():
    x = ember.randn(1, 3, 6, 6, requires_grad=True)
    w = ember.randn(2, 3, 3, 3, requires_grad=True)
    F = ember.nn.functional
    assert type(F.conv2d(x, w).grad_fn).__name__ == "ConvolutionBackward0"
    assert type(F.conv_transpose2d(x, w.transpose(0, 1)).grad_fn).__name__ == "ConvolutionBackward0"
    assert type(F.unfold(x, 2).grad_fn).__name__ == "Im2ColBackward0"
    assert type(F.fold(F.unfold(x, 2), (6, 6), 2).grad_fn).__name__ == "Col2ImBackward0"


def test_dtype_follows_input():
    x = ember.randn(1, 3, 6, 6)
    w = ember.randn(2, 3, 3, 3)
    assert ember.nn.functional.conv2d(x, w).dtype == ember.float32
    assert ember.nn.functional.conv2d(x.double(), w.double()).dtype == ember.float64


def test_integer_inputs_compute_like_torch():
    x = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    w = np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2) - 20
    e = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w), stride=2)
    t = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2)
    assert e.dtype == ember.int64
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_gradcheck_float64():
    rng = np.random.default_rng(7)
    F = ember.nn.functional
    x = ember.tensor(rng.standard_normal((2, 4, 5, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((4, 2, 2, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(4), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(1, 0), dilation=(2, 1),
                                 groups=2), (x, w, b))
    wt = ember.tensor(rng.standard_normal((4, 3, 2, 3)), requires_grad=True)
    bt = ember.tensor(rng.standard_normal(6), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=(1, 0),
                                           groups=2), (x, wt, bt))
    x1 = ember.tensor(rng.standard_normal((2, 6, 8)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: F.unfold(x.reshape(2, 6, 2, 4), (2, 2), padding=1),
                                    (x1,))


# -- adjointness ------------------------------------------------------------------------------

@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_is_the_adjoint_of_conv(nd):
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for the same stride/padding/dilation/groups."""
    rng = np.random.default_rng(nd)
    F = ember.nn.functional
    spatial = {1: (17,), 2: (9, 8), 3: (5, 6, 7)}[nd]
    kernel = {1: (4,), 2: (3, 2), 3: (2, 3, 2)}[nd]
    x = ember.tensor(rng.standard_normal((2, 4, *spatial)))
    w = ember.tensor(rng.standard_normal((6, 2, *kernel)))
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    y_conv = getattr(F, CONV[nd])(x, w, **kw)
    y = ember.tensor(rng.standard_normal(tuple(y_conv.shape)))
    # conv_transpose's output_padding recovers x's size from y's
    out_pad = [s - ((q - 1) * 2 - 2 + (k - 1) + 1) for s, q, k in zip(spatial, y.shape[2:], kernel)]
    xt = getattr(F, CONV_T[nd])(y, w, stride=2, padding=1, output_padding=out_pad, groups=2)
    assert tuple(xt.shape) == tuple(x.shape)
    np.testing.assert_allclose(float((y_conv * y).sum()), float((x * xt).sum()), rtol=1e-10)


# -- the tutorial's figures ---------------------------------------------------------------------

def test_tutorial_figures():
    ember.manual_seed(0)
    image = ember.randn(1, 3, 512, 512)
    conv = ember.nn.Conv2d(3, 1, 3)
    assert tuple(conv.weight.shape) == (1, 3, 3, 3)
    assert tuple(conv(image).shape) == (1, 1, 510, 510)
    up = ember.nn.ConvTranspose2d(3, 1, 3, stride=2)
    assert tuple(up.weight.shape) == tuple(torch.nn.ConvTranspose2d(3, 1, 3, stride=2).weight.shape)
    assert tuple(up(image).shape) == (1, 1, 1025, 1025)


# -- modules -----------------------------------------------------------------------------------

def _twin(ember_module, torch_cls, *args, **kwargs):
    """The torch module with the ember module's parameters."""
    t = torch_cls(*args, **kwargs).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(ember_module.weight.detach().numpy()))
        if t.bias is not None:
            t.bias.copy_(torch.tensor(ember_module.bias.detach().numpy()))
    return t


def _compare_modules(e_mod, t_mod, x, call=lambda m, x: m(x)):
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = call(e_mod, ex), call(t_mod, tx)
    assert_close(ey, ty, what="output")
    g = np.random.default_rng(0).standard_normal(tuple(ty.shape))
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(ex.grad, tx.grad, what="input gradient")
    assert_close(e_mod.weight.grad, t_mod.weight.grad, what="weight gradient")
    if t_mod.bias is not None:
        assert_close(e_mod.bias.grad, t_mod.bias.grad, what="bias gradient")


MODULE_CASES = [
    (1, dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2)),
    (2, dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2),
             dilation=(1, 2), bias=False)),
    (2, dict(in_channels=3, out_channels=4, kernel_size=4, padding="same", dilation=(1, 2))),
    (3, dict(in_channels=2, out_channels=2, kernel_size=2, padding="valid")),
]


@pytest.mark.parametrize("nd,kw", MODULE_CASES)
def test_conv_modules_match_torch(nd, kw):
    e_mod = getattr(ember.nn, f"Conv{nd}d")(**kw).double()
    t_mod = _twin(e_mod, getattr(torch.nn, f"Conv{nd}d"), **kw)
    assert repr(e_mod) == repr(t_mod)
    x = np.random.default_rng(1).standard_normal((2, kw["in_channels"], *(7,) * nd))
    _compare_modules(e_mod, t_mod, x)
    _compare_modules(e_mod, t_mod, x[0])  # unbatched


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd,padding", [(1, 2), (2, (1, 2)), (2, "same"), (3, 1)])
def test_padding_modes_match_torch(mode, nd, padding):
    """Non-zero padding modes pad with F.pad in its (last dim first) order, then convolve
    unpadded (pytorch#37844, #20981)."""
    kw = dict(in_channels=2, out_channels=3, kernel_size=(3, 2, 3)[:nd] if nd > 1 else 4,
              padding=padding, padding_mode=mode)
    e_mod = getattr(ember.nn, f"Conv{nd}d")(**kw).double()
    t_mod = _twin(e_mod, getattr(torch.nn, f"Conv{nd}d"), **kw)
    assert repr(e_mod) == repr(t_mod)
    x = np.random.default_rng(2).standard_normal((2, 2, *(5, 6, 4)[:nd]))
    _compare_modules(e_mod, t_mod, x)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_modules_and_output_size(nd):
    kw = dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2)
    e_mod = getattr(ember.nn, f"ConvTranspose{nd}d")(**kw).double()
    t_mod = _twin(e_mod, getattr(torch.nn, f"ConvTranspose{nd}d"), **kw)
    assert repr(e_mod) == repr(t_mod)
    x = np.random.default_rng(3).standard_normal((2, 4, *(4, 3, 3)[:nd]))
    _compare_modules(e_mod, t_mod, x)
    size = [2 * s for s in x.shape[2:]]  # the largest valid size: min + stride - 1
    _compare_modules(e_mod, t_mod, x, lambda m, x: m(x, output_size=size))
    _compare_modules(e_mod, t_mod, x, lambda m, x: m(x, output_size=[2, 6] + size))
    _compare_modules(e_mod, t_mod, x[0], lambda m, x: m(x, output_size=size))  # pytorch#75889


def test_reprs_match_torch():
    cases = ["Conv2d(3, 16, 3, padding=1)",
             "Conv2d(3, 16, (3, 5), stride=2, dilation=(1, 2), bias=False, padding_mode='reflect')",
             "Conv1d(3, 6, 3, padding='same')", "Conv3d(2, 2, 3, padding='valid', groups=2)",
             "ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2)",
             "ConvTranspose1d(4, 2, 3, dilation=2, bias=False)",
             "ConvTranspose3d(2, 2, (1, 2, 3), padding=(0, 1, 0))",
             "Unfold((2, 3), padding=1)", "Unfold(2)", "Fold((4, 5), 2, stride=(1, 2))"]
    for c in cases:
        assert repr(eval("ember.nn." + c)) == repr(eval("torch.nn." + c)), c


@pytest.mark.parametrize("cls,args,fan_in", [
    ("Conv2d", (6, 8, (3, 5)), 6 * 15), ("Conv1d", (4, 6, 7, 1, 0, 1, 2), 2 * 7),
    ("ConvTranspose2d", (6, 8, 3), 8 * 9), ("ConvTranspose3d", (4, 6, 2, 1, 0, 0, 2), 3 * 8)])
def test_initial_distributions(cls, args, fan_in):
    """kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight and the
    same bound for the bias; fan_in = weight.size(1) * prod(kernel) (out_channels/groups for a
    transposed layer, as torch computes it)."""
    ember.manual_seed(0)
    samples = np.concatenate([getattr(ember.nn, cls)(*args).weight.detach().numpy().ravel()
                              for _ in range(40)])
    bound = 1 / math.sqrt(fan_in)
    assert samples.min() >= -bound and samples.max() <= bound
    assert abs(samples.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(samples.mean()) < 0.05 * bound
    m = getattr(ember.nn, cls)(*args)
    t = getattr(torch.nn, cls)(*args)
    assert tuple(m.weight.shape) == tuple(t.weight.shape) and m.weight.dtype == ember.float32
    bias = m.bias.detach().numpy()
    assert np.all(np.abs(bias) <= bound) and bias.std() > 0


def test_module_dtype_argument():
    m = ember.nn.Conv2d(2, 3, 3, dtype=ember.float64)
    assert m.weight.dtype == ember.float64 and m.bias.dtype == ember.float64


# -- unfold / fold ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=(2, 3)), dict(kernel_size=3, padding=1, stride=2),
                                dict(kernel_size=(2, 2), dilation=(2, 1), padding=(1, 0),
                                     stride=(1, 3))])
def test_unfold_fold_match_torch(dtype, kw):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 7, 8))
    out = check_against_torch(lambda lib, x: lib.nn.functional.unfold(x, **kw), [x], dtype=dtype)
    cols = rng.standard_normal(tuple(out[0].shape))
    check_against_torch(lambda lib, c: lib.nn.functional.fold(c, (7, 8), **kw), [cols], dtype=dtype)
    check_against_torch(lambda lib, c: lib.nn.Fold((7, 8), **kw)(c), [cols[0]], dtype=dtype)
    check_against_torch(lambda lib, x: lib.nn.Unfold(**kw)(x), [x[0]], dtype=dtype)


# -- errors: the same exception kind as torch, and torch's message --------------------------

def _f(name):
    return lambda lib, *a, **k: getattr(lib.nn.functional, name)(*a, **k)


ERRORS = [
    ("conv2d", (1, 1, 127, 128), (10, 3, 3, 3), {},
     r"Given groups=1, weight of size \[10, 3, 3, 3\], expected input\[1, 1, 127, 128\] to have 3 "
     r"channels, but got 1 channels instead"),
    ("conv2d", (1, 127, 128), (10, 3, 3, 3), {}, r"expected input\[1, 1, 127, 128\] to have 3"),
    ("conv2d", (1, 4, 8, 8), (5, 2, 3, 3), dict(groups=2), "expected weight to be divisible by 2"),
    ("conv2d", (1, 4, 8, 8), (6, 4, 3, 3), dict(groups=0), "non-positive groups"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(stride=0), "non-positive stride"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(stride=(1, -1)), "non-positive stride"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(dilation=0), "dilation should be greater than"),
    ("conv1d", (1, 3, 8), (6, 3, 3), dict(dilation=0), "dilation should be greater than zero"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(padding=-1), "negative padding is not supported"),
    ("conv2d", (1, 3, 2, 8), (6, 3, 3, 3), {},
     r"Calculated padded input size per channel: \(2 x 8\). Kernel size: \(3 x 3\). Kernel size "
     r"can't be greater than actual input size"),
    ("conv2d", (1, 3, 5, 8), (6, 3, 3, 3), dict(dilation=3), r"Kernel size: \(7 x 7\)"),
    ("conv1d", (1, 3, 2), (6, 3, 3), {}, r"input size per channel: \(2\)"),
    ("conv3d", (1, 3, 2, 8, 8), (6, 3, 3, 3, 3), {}, "Kernel size can't be greater"),
    ("conv2d", (3, 8), (6, 3, 3, 3), {},
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[3, 8\]"),
    ("conv1d", (4,), (1, 1, 3), {}, r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
    ("conv3d", (1, 1, 3, 8, 8, 8), (1, 1, 3, 3, 3), {}, "input to conv3d"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(stride=(1, 1, 1)),
     r"expected stride to be a single integer value or a list of 2 values"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(padding=(1, 1, 1)), "expected padding to be"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(stride=2, padding="same"),
     "padding='same' is not supported for strided convolutions"),
    ("conv2d", (1, 3, 8, 8), (6, 3, 3, 3), dict(padding="full"), "Invalid padding string"),
    ("conv2d", (1, 4, 5, 5), (4, 4, 0, 3), {}, "kernel size should be greater than zero"),
    ("conv_transpose2d", (1, 4, 8, 8), (3, 2, 3, 3), {},
     r"Given transposed=1, weight of size \[3, 2, 3, 3\], expected input\[1, 4, 8, 8\] to have 3 "
     r"channels, but got 4 channels instead"),
    ("conv_transpose2d", (1, 3, 8, 8), (3, 2, 3, 3), dict(output_padding=1),
     "output padding must be smaller than either stride or dilation, but got output_padding_height:"
     " 1 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1"),
    ("conv_transpose1d", (1, 3, 8), (3, 2, 3), dict(stride=2, output_padding=3),
     "output_padding_height: 0 output_padding_width: 3 stride_height: 1 stride_width: 2"),
    ("conv_transpose3d", (1, 3, 4, 4, 4), (3, 2, 3, 3, 3), dict(output_padding=1),
     "output_padding_depth: 1"),
    ("conv_transpose2d", (1, 3, 8, 8), (3, 2, 3, 3), dict(stride=2, output_padding=-1),
     "negative output_padding is not supported"),
    ("conv_transpose2d", (1, 3, 8, 8), (3, 2, 3, 3), dict(groups=2),
     "expected weight to be divisible by 2"),
    ("conv_transpose2d", (1, 3, 1, 1), (3, 2, 3, 3), dict(padding=3),
     r"Given input size per channel: \(1 x 1\). Calculated output size per channel: \(-3 x -3\). "
     r"Output size is too small"),
    ("conv_transpose2d", (1, 3, 8, 8), (3, 2, 3, 3), dict(padding=-1), "negative padding"),
]


@pytest.mark.parametrize("name,x_shape,w_shape,kw,match", ERRORS)
def test_bad_arguments_raise_like_torch(name, x_shape, w_shape, kw, match):
    def call(lib):
        return getattr(lib.nn.functional, name)(lib.ones(*x_shape), lib.ones(*w_shape), **kw)
    same_error(call, match=match)


def test_bad_bias_and_dtypes_raise_like_torch():
    F = "conv2d"
    same_error(lambda lib: _f(F)(lib, lib.ones(1, 3, 8, 8), lib.ones(6, 3, 3, 3), lib.ones(5)),
               match=r"expected bias to be 1-dimensional with 6 elements, but got bias of size "
                     r"\[5\]")
    same_error(lambda lib: _f(F)(lib, lib.ones(1, 3, 8, 8), lib.ones(6, 3, 3, 3), lib.ones(6, 1)),
               match="expected bias to be 1-dimensional")
    same_error(lambda lib: _f("conv_transpose2d")(lib, lib.ones(1, 3, 8, 8), lib.ones(3, 2, 3, 3),
                                                  lib.ones(3)),
               match=r"Given transposed=1, weight of size \[3, 2, 3, 3\], expected bias to be "
                     r"1-dimensional with 2 elements")
    same_error(lambda lib: _f(F)(lib, lib.ones(1, 3, 8, 8),
                                 lib.ones(6, 3, 3, 3, dtype=lib.float64)),
               match="expected scalar type Float but found Double")
    same_error(lambda lib: _f(F)(lib, lib.ones(1, 3, 8, 8, dtype=lib.float64),
                                 lib.ones(6, 3, 3, 3)),
               match="expected scalar type Double but found Float")
    same_error(lambda lib: _f(F)(lib, lib.ones(1, 3, 8, 8), lib.ones(6, 3, 3, 3),
                                 lib.ones(6, dtype=lib.float64)),
               match=r"Input type \(float\) and bias type \(double\) should be the same")


@pytest.mark.parametrize("make,match", [
    (lambda lib: lib.nn.Conv2d(3, 2, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda lib: lib.nn.Conv2d(4, 3, 3, groups=2), "out_channels must be divisible by groups"),
    (lambda lib: lib.nn.Conv2d(4, 4, 3, groups=0), "groups must be a positive integer"),
    (lambda lib: lib.nn.Conv2d(4, 4, 3, stride=2, padding="same"),
     "padding='same' is not supported for strided convolutions"),
    (lambda lib: lib.nn.Conv2d(4, 4, 3, padding="foo"), "Invalid padding string 'foo'"),
    (lambda lib: lib.nn.Conv2d(3, 2, 3, padding_mode="foo"), "padding_mode must be one of"),
    (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3, padding_mode="reflect"),
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3, stride=2)(lib.ones(1, 3, 8, 8),
                                                           output_size=(20, 20)),
     r"requested an output size of \(20, 20\), but valid sizes range from \[17, 17\] to "
     r"\[18, 18\]"),
    (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3, stride=2)(lib.ones(1, 3, 8, 8),
                                                           output_size=(20, 20, 1)),
     r"ConvTranspose2D: for 4D input, output_size must have 2 or 4 elements \(got 3\)"),
    (lambda lib: lib.nn.ConvTranspose1d(3, 2, 3, stride=2)(lib.ones(1, 3, 8), output_size=(16,)),
     r"valid sizes range from \[17\] to \[18\]"),
    (lambda lib: lib.nn.Conv2d(4, 4, 0)(lib.ones(1, 4, 5, 5)), "kernel size should be greater"),
])
def test_module_errors_like_torch(make, match):
    same_error(make, match=match)


@pytest.mark.parametrize("call,match", [
    (lambda lib: lib.nn.functional.unfold(lib.ones(1, 1, 1, 5, 6), 2), "Expected 3D or 4D"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), (0, 3)),
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), 2, stride=0),
     "stride should be greater than zero"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), 2, dilation=0),
     "dilation should be greater than zero"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), 2, padding=-1),
     "padding should be non-negative"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), 7),
     r"calculated shape of the array of sliding blocks as \(-1, 0\)"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 3, 5, 6), (2, 2, 2)),
     "It is expected kernel_size equals to 2, but got size 3"),
    (lambda lib: lib.nn.functional.fold(lib.ones(12), (5, 6), 2), "Expected 2D or 3D"),
    (lambda lib: lib.nn.functional.fold(lib.ones(2, 13, 20), (5, 6), 2),
     r"divisible by the product of kernel_size, but got input.size\(1\)=13"),
    (lambda lib: lib.nn.functional.fold(lib.ones(2, 12, 19), (5, 6), 2),
     r"sliding blocks 4 \* 5 = 20, but got input.size\(2\)=19"),
    (lambda lib: lib.nn.functional.fold(lib.ones(2, 12, 20), (5, 6, 7), 2),
     "It is expected output_size equals to 2"),
])
def test_unfold_fold_errors_like_torch(call, match):
    same_error(call, match=match)
