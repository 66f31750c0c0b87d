"""ember._kernels.conv at the array level, against a plain-NumPy reference (an oracle independent
of torch; the differential tests against torch are in tests/nn/test_conv.py). Both engines
("gemm" and "direct") are forced on the same problems, and the chunking of the GEMM engine is
exercised by shrinking its memory budget."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember._kernels import conv as K

ENGINES = ["gemm", "direct"]


# -- reference: pad, then one einsum per kernel offset over strided slices ---------------------

def _offset_slices(kernel, stride, dilation, out_spatial):
    for k in itertools.product(*(range(n) for n in kernel)):
        yield k, tuple(slice(kk * d, kk * d + (q - 1) * s + 1, s)
                       for kk, s, d, q in zip(k, stride, dilation, out_spatial))


def _padded(x, padding, kernel, stride, dilation, out_spatial):
    """x zero-padded by lo in front and enough behind for every window of out_spatial."""
    pads = [(0, 0), (0, 0)]
    lows = [p if isinstance(p, int) else p[0] for p in padding]
    for size, lo, k, s, d, q in zip(x.shape[2:], lows, kernel, stride, dilation, out_spatial):
        need = (q - 1) * s + d * (k - 1) + 1
        pads.append((lo, max(0, need - lo - size)))
    return np.pad(x, pads), pads


def ref_forward(x, w, stride, padding, dilation, groups, out_spatial):
    n, c = x.shape[:2]
    o = w.shape[0]
    xp, _ = _padded(x, padding, w.shape[2:], stride, dilation, out_spatial)
    xg = xp.reshape(n, groups, c // groups, *xp.shape[2:])
    wg = w.reshape(groups, o // groups, c // groups, *w.shape[2:])
    out = np.zeros((n, groups, o // groups) + tuple(out_spatial))
    for k, sl in _offset_slices(w.shape[2:], stride, dilation, out_spatial):
        out += np.einsum("ngc...,goc->ngo...", xg[(slice(None),) * 3 + sl], wg[(...,) + k])
    return out.reshape(n, o, *out_spatial)


def ref_input_grad(gout, w, x_shape, stride, padding, dilation, groups):
    n, c = x_shape[:2]
    o = w.shape[0]
    out_spatial = gout.shape[2:]
    gxp, pads = _padded(np.zeros(x_shape), padding, w.shape[2:], stride, dilation, out_spatial)
    gxg = gxp.reshape(n, groups, c // groups, *gxp.shape[2:])
    wg = w.reshape(groups, o // groups, c // groups, *w.shape[2:])
    gg = gout.reshape(n, groups, o // groups, *out_spatial)
    for k, sl in _offset_slices(w.shape[2:], stride, dilation, out_spatial):
        gxg[(slice(None),) * 3 + sl] += np.einsum("ngo...,goc->ngc...", gg, wg[(...,) + k])
    crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(pads[2:], x_shape[2:]))
    return gxp[(slice(None), slice(None)) + crop]


def ref_weight_grad(x, gout, w_shape, stride, padding, dilation, groups):
    n, c = x.shape[:2]
    o = w_shape[0]
    out_spatial = gout.shape[2:]
    xp, _ = _padded(x, padding, w_shape[2:], stride, dilation, out_spatial)
    xg = xp.reshape(n, groups, c // groups, *xp.shape[2:])
    gg = gout.reshape(n, groups, o // groups, *out_spatial)
    gw = np.zeros((groups, o // groups, c // groups) + tuple(w_shape[2:]))
    for k, sl in _offset_slices(w_shape[2:], stride, dilation, out_spatial):
        xs = xg[(slice(None),) * 3 + sl]
        gw[(...,) + k] = np.einsum("ngoq,ngcq->goc", gg.reshape(*gg.shape[:3], -1),
                                   xs.reshape(*xs.shape[:3], -1))
    return gw.reshape(w_shape)


# -- problems --------------------------------------------------------------------------------

@st.composite
def conv_problems(draw, max_nd=3):
    nd = draw(st.integers(1, max_nd))
    groups = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))
    og = draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, padding):
        least = max(1, d * (k - 1) + 1 - lo - hi)
        spatial.append(draw(st.integers(least, least + (6 if nd < 3 else 3))))
    return dict(x_shape=(n, groups * cg, *spatial), w_shape=(groups * og, cg, *kernel),
                stride=stride, padding=padding, dilation=dilation, groups=groups)


def _arrays(p, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(p["x_shape"]).astype(dtype)
    w = rng.standard_normal(p["w_shape"]).astype(dtype)
    out_spatial = K.conv_output_shape(x.shape[2:], w.shape[2:], p["stride"], p["padding"],
                                      p["dilation"])
    g = rng.standard_normal((x.shape[0], w.shape[0], *out_spatial)).astype(dtype)
    return x, w, g


def _args(p):
    return p["stride"], p["padding"], p["dilation"], p["groups"]


def _faces(x, w, g, args, engine):
    """The three faces (forward, input gradient, weight gradient) computed by ``engine``, g
    being the output gradient."""
    return (K.conv_forward(x, w, *args, engine=engine),
            K.conv_input_grad(g, w, x.shape, *args, engine=engine),
            K.conv_weight_grad(x, g, w.shape, *args, engine=engine))


def _reference_faces(x, w, g, args):
    """The three faces by the plain-NumPy reference."""
    return (ref_forward(x, w, *args, g.shape[2:]), ref_input_grad(g, w, x.shape, *args),
            ref_weight_grad(x, g, w.shape, *args))


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None)
@given(p=conv_problems())
def test_three_faces_match_reference(engine, p):
    x, w, g = _arrays(p)
    args = _args(p)
    for a, b in zip(_faces(x, w, g, args, engine), _reference_faces(x, w, g, args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=15, deadline=None)
@given(p=conv_problems())
def test_adjointness(engine, p):
    """<conv(x, w), g> == <x, conv_input_grad(g, w)> == <w, conv_weight_grad(x, g)>: the
    transposed convolution is the adjoint of the convolution, in x and in w."""
    x, w, g = _arrays(p, seed=1)
    args = _args(p)
    lhs = np.vdot(K.conv_forward(x, w, *args, engine=engine), g)
    np.testing.assert_allclose(np.vdot(x, K.conv_input_grad(g, w, x.shape, *args, engine=engine)),
                               lhs, rtol=1e-10)
    np.testing.assert_allclose(np.vdot(w, K.conv_weight_grad(x, g, w.shape, *args, engine=engine)),
                               lhs, rtol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_stays_float32(engine):
    p = dict(x_shape=(2, 4, 7, 6), w_shape=(6, 2, 3, 2), stride=(2, 1), padding=((1, 0), (1, 1)),
             dilation=(1, 2), groups=2)
    x, w, g = _arrays(p, np.float32)
    args = _args(p)
    y = K.conv_forward(x, w, *args, engine=engine)
    gx = K.conv_input_grad(g, w, x.shape, *args, engine=engine)
    gw = K.conv_weight_grad(x, g, w.shape, *args, engine=engine)
    assert y.dtype == gx.dtype == gw.dtype == np.float32
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    np.testing.assert_allclose(y, ref_forward(x64, w64, *args, g.shape[2:]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, ref_input_grad(g64, w64, x.shape, *args), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, ref_weight_grad(x64, g64, w.shape, *args), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("budget", [2000, 150_000])
def test_gemm_chunks_rows_and_images(monkeypatch, budget):
    """Above COLS_CHUNK_BYTES the GEMM engine works in chunks: several images at a time, or
    blocks of output rows of a single image; the result must not change."""
    p = dict(x_shape=(5, 3, 4, 9, 8), w_shape=(4, 3, 2, 3, 3), stride=(1, 2, 1),
             padding=((1, 1), (1, 0), (2, 1)), dilation=(1, 1, 2), groups=1)
    x, w, g = _arrays(p)
    args = _args(p)
    expected = _reference_faces(x, w, g, args)
    monkeypatch.setattr(K, "COLS_CHUNK_BYTES", budget)
    chunks = list(K._chunks(5, g.shape[2] * g.shape[3], 3 * 18 * g.shape[4] * 8))
    assert len(chunks) > 5 if budget == 2000 else 1 < len(chunks) <= 5
    got = _faces(x, w, g, args, "gemm")
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)



@pytest.mark.parametrize("budget", [None, 2000])
@settings(max_examples=25, deadline=None)
@given(p=conv_problems())
def test_gemm_wide_rows_match_reference(budget, p):
    """Wide rows (the width taps as shifted column matrices, unit stride along the width)
    forced on every problem, whole images and blocks of rows a chunk."""
    x, w, g = _arrays(p)
    args = _args(p)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "_wide_pays", lambda *a: True)
        if budget:
            mp.setattr(K, "COLS_CHUNK_BYTES", budget)
        got = _faces(x, w, g, args, "gemm")
    for a, b in zip(got, _reference_faces(x, w, g, args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-11)


@st.composite
def direct_block_problems(draw):
    """Problems for the direct engine's fused passes: up to nine outputs per group (blocks of
    OUT_BLOCK channels and a shorter last one) and kernels up to seven wide (groups of TAPS
    taps and a remainder), a batch of 1 or, for 1-d/2-d, of 8 (the merged layout)."""
    nd = draw(st.integers(1, 2))
    groups, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 9))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd - 1)) + (draw(st.integers(1, 7)),)
    stride = (1,) * (nd - 1) + (draw(st.sampled_from([1, 1, 2])),)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(nd))
    spatial = [max(1, d * (k - 1) + 1 - lo - hi) + draw(st.integers(0, 5))
               for k, d, (lo, hi) in zip(kernel, dilation, padding)]
    return dict(x_shape=(draw(st.sampled_from([1, 8])), groups * cg, *spatial),
                w_shape=(groups * og, cg, *kernel), stride=stride, padding=padding,
                dilation=dilation, groups=groups)


@settings(max_examples=40, deadline=None)
@given(p=direct_block_problems())
def test_direct_channel_blocks_and_tap_groups(p):
    x, w, g = _arrays(p)
    args = _args(p)
    for a, b, atol in zip(_faces(x, w, g, args, "direct"), _reference_faces(x, w, g, args),
                          (1e-12, 1e-12, 1e-11)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=atol)


def test_gemm_layout_wide_rows_where_they_pay():
    geo = ((1, 1, 1), (1, 1, 1), (1, 1, 1))
    assert K._gemm_layout((3, 3, 3), geo, 32, 16, 16) == ((3, 3, 1), 34, (0, 1, 2))  # Conv3d
    assert K._gemm_layout((1, 3, 3), geo, 8, 64, 64) == ((1, 3, 3), 8, (0,))    # too narrow
    assert K._gemm_layout((1, 3, 3), geo, 64, 3, 64) == ((1, 3, 3), 64, (0,))   # few inputs
    strided = ((1, 1, 2), (1, 1, 1), (1, 1, 1))
    assert K._gemm_layout((1, 3, 3), strided, 64, 64, 64) == ((1, 3, 3), 64, (0,))

def test_explicit_output_size_larger_than_formula():
    """A transposed convolution with output_padding >= stride (allowed when < dilation) makes
    an input one element longer than the conv formula recovers: conv_forward takes the output
    size explicitly, conv_input_grad takes the shape of x."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2, 3, 3))
    g = rng.standard_normal((1, 2, 5))                      # the transposed conv's input
    x_shape = (1, 3, (5 - 1) * 1 + 2 * (3 - 1) + 1 + 1)     # stride 1, dilation 2, op 1
    for engine in ENGINES:
        gx = K.conv_input_grad(g, w, x_shape, (1,), ((0, 0),), (2,), 1, engine=engine)
        np.testing.assert_allclose(gx, ref_input_grad(g, w, x_shape, (1,), ((0, 0),), (2,), 1))
        y = K.conv_forward(gx, w, (1,), ((0, 0),), (2,), 1, out_spatial=(5,), engine=engine)
        np.testing.assert_allclose(y, ref_forward(gx, w, (1,), ((0, 0),), (2,), 1, (5,)))


def test_empty_batch_and_empty_output_channels():
    x = np.zeros((0, 3, 5, 5))
    w = np.ones((4, 3, 3, 3))
    assert K.conv_forward(x, w, (1, 1), (0, 0), (1, 1), 1).shape == (0, 4, 3, 3)
    assert K.conv_input_grad(np.zeros((0, 4, 3, 3)), w, x.shape, (1, 1), (0, 0), (1, 1), 1).shape \
        == x.shape
    np.testing.assert_array_equal(K.conv_weight_grad(x, np.zeros((0, 4, 3, 3)), w.shape, (1, 1),
                                                     (0, 0), (1, 1), 1), np.zeros(w.shape))


@settings(max_examples=20, deadline=None)
@given(p=conv_problems(max_nd=2))
def test_unfold_fold_are_adjoint_im2col(p):
    """unfold is the column matrix of the convolution (w @ unfold(x) == conv(x, w) for groups=1);
    fold is its adjoint."""
    if len(p["x_shape"]) != 4:
        return
    x, _, _ = _arrays(p)
    kernel = p["w_shape"][2:]
    stride, padding, dilation = p["stride"], p["padding"], p["dilation"]
    sym = tuple((lo, lo) for lo, _ in padding)
    cols = K.unfold(x, kernel, stride, sym, dilation)
    o = 2
    w = np.random.default_rng(2).standard_normal((o, x.shape[1], *kernel))
    out_spatial = K.conv_output_shape(x.shape[2:], kernel, stride, sym, dilation)
    np.testing.assert_allclose((w.reshape(o, -1) @ cols).reshape(x.shape[0], o, *out_spatial),
                               ref_forward(x, w, stride, sym, dilation, 1, out_spatial), atol=1e-12)
    c = np.random.default_rng(4).standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(cols, c),
                               np.vdot(x, K.fold(c, x.shape[2:], kernel, stride, sym, dilation)),
                               rtol=1e-10)


def test_choose_engine():
    assert K.choose_engine(64, 64, 1) == "gemm"        # ResNet block
    assert K.choose_engine(3, 6, 1) == "gemm"          # LeNet's first layer
    assert K.choose_engine(1, 1, 1) == "depthwise"     # depthwise
    assert K.choose_engine(1, 1, 1, merged=True) == "direct"   # a batch of narrow images
    assert K.choose_engine(3, 1, 1) == "direct"        # single-filter tutorial image
    assert K.choose_engine(1, 3, 2) == "gemm"          # the tutorial's ConvTranspose2d(3, 1, 3, 2)
    # batches of narrow images: direct for few outputs, or 16 summing 64+ products each
    assert K.choose_engine(3, 6, 1, merged=True, kernel_numel=25) == "direct"   # LeNet conv1
    assert K.choose_engine(6, 16, 1, merged=True, kernel_numel=25) == "direct"  # LeNet conv2
    assert K.choose_engine(8, 16, 1, merged=True, kernel_numel=9) == "direct"
    assert K.choose_engine(3, 16, 1, merged=True, kernel_numel=9) == "gemm"     # 27 products
    assert K.choose_engine(1, 32, 1, merged=True, kernel_numel=9) == "gemm"     # ember demo


@pytest.mark.parametrize("p", [
    dict(x_shape=(9, 4, 11), w_shape=(6, 2, 3), stride=(2,), padding=((2, 1),), dilation=(2,),
         groups=2),
    dict(x_shape=(10, 3, 9, 12), w_shape=(4, 3, 3, 2), stride=(1, 2), padding=((1, 1), (0, 2)),
         dilation=(2, 1), groups=1),
    dict(x_shape=(8, 6, 14, 14), w_shape=(16, 6, 5, 5), stride=(1, 1), padding=((0, 0), (0, 0)),
         dilation=(1, 1), groups=1),   # LeNet's second layer
])
@pytest.mark.parametrize("budget", [None, 3000])
def test_batch_last_layout(monkeypatch, p, budget):
    """Batches of narrow outputs are convolved as one image with the batch as innermost dim."""
    x, w, g = _arrays(p)
    assert K._batch_last_pays(x.ndim - 2, g.shape)
    if budget:
        monkeypatch.setattr(K, "COLS_CHUNK_BYTES", budget)
    args = _args(p)
    for a, b, atol in zip(_faces(x, w, g, args, "gemm"), _reference_faces(x, w, g, args),
                          (1e-12, 1e-12, 1e-11)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=atol)


def test_results_never_alias_the_scratch_memory():
    """The chunks' work arrays are reused from call to call; what a call returns is its own."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    cols = K.unfold(x, (3, 3), (1, 1), (0, 0), (1, 1))
    y = K.conv_forward(x, w, (1, 1), (0, 0), (1, 1), 1, engine="gemm")
    kept = cols.copy(), y.copy()
    K.conv_forward(-x, w, (1, 1), (0, 0), (1, 1), 1, engine="gemm")
    K.conv_weight_grad(-x, -y, w.shape, (1, 1), (0, 0), (1, 1), 1, engine="gemm")
    np.testing.assert_array_equal(cols, kept[0])
    np.testing.assert_array_equal(y, kept[1])


# -- the depthwise engine (one input and one output channel per group) ------------------------

@st.composite
def depthwise_problems(draw):
    """Planes wider than a fused group of taps, paddings beyond the kernel's extent, strides
    wider than the input: the padded-plane buffer's edge cases."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3 if i < nd - 1 else 6)) for i in range(nd))
    stride = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple((draw(st.integers(0, 4)), draw(st.integers(0, 4))) for _ in range(nd))
    spatial = []
    for i, (k, d, (lo, hi)) in enumerate(zip(kernel, dilation, padding)):
        least = max(1, d * (k - 1) + 1 - lo - hi)
        spatial.append(draw(st.integers(least, least + (12 if i == nd - 1 else 3))))
    return dict(x_shape=(draw(st.integers(1, 2)), groups, *spatial),
                w_shape=(groups, 1, *kernel), stride=stride, padding=padding, dilation=dilation,
                groups=groups)


@settings(max_examples=40, deadline=None)
@given(p=depthwise_problems())
def test_depthwise_engine_matches_reference(p):
    x, w, g = _arrays(p)
    args = _args(p)
    assert K.choose_engine(1, 1, p["stride"][-1]) == "depthwise"
    b = np.random.default_rng(5).standard_normal(p["groups"])
    bias = b.reshape((1, -1) + (1,) * (x.ndim - 2))
    np.testing.assert_allclose(K.conv_forward(x, w, *args, engine="depthwise", bias=b),
                               ref_forward(x, w, *args, g.shape[2:]) + bias, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(K.conv_input_grad(g, w, x.shape, *args, engine="depthwise"),
                               ref_input_grad(g, w, x.shape, *args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(K.conv_weight_grad(x, g, w.shape, *args, engine="depthwise"),
                               ref_weight_grad(x, g, w.shape, *args), rtol=1e-12, atol=1e-11)


def test_depthwise_engine_float32_and_transposed_bias():
    """float32 in, float32 out; the input gradient carries a transposed convolution's bias."""
    p = dict(x_shape=(3, 4, 9, 21), w_shape=(4, 1, 3, 3), stride=(1, 1),
             padding=((1, 1), (1, 1)), dilation=(1, 1), groups=4)
    x, w, g = _arrays(p, np.float32)
    args = _args(p)
    b = np.arange(4, dtype=np.float32)
    y = K.conv_forward(x, w, *args, engine="depthwise")
    gx = K.conv_input_grad(g, w, x.shape, *args, engine="depthwise", bias=b)
    gw = K.conv_weight_grad(x, g, w.shape, *args, engine="depthwise")
    assert y.dtype == gx.dtype == gw.dtype == np.float32
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    np.testing.assert_allclose(y, ref_forward(x64, w64, *args, g.shape[2:]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, ref_input_grad(g64, w64, x.shape, *args) + b[:, None, None],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, ref_weight_grad(x64, g64, w.shape, *args), rtol=1e-5, atol=1e-4)


def test_depthwise_engine_refuses_other_convolutions():
    x, w = np.zeros((1, 4, 5, 5)), np.zeros((4, 2, 3, 3))
    with pytest.raises(ValueError, match="one input and one output channel per group"):
        K.conv_forward(x, w, (1, 1), (0, 0), (1, 1), 2, engine="depthwise")


def test_depthwise_engine_needs_a_plane_per_thread(monkeypatch):
    """Its tasks are whole (image, channel) planes: fewer planes than threads go direct."""
    used = []
    monkeypatch.setattr(K, "_depthwise_forward_face", lambda *a: used.append("depthwise"))
    monkeypatch.setattr(K, "_direct_forward", lambda *a, work: used.append("direct"))
    monkeypatch.setattr(K.numba, "get_num_threads", lambda: 4)
    w, args = np.ones((3, 1, 3, 3)), ((1, 1), ((1, 1), (1, 1)), (1, 1), 3)
    K.conv_forward(np.ones((1, 3, 8, 8)), w, *args)
    K.conv_forward(np.ones((2, 3, 8, 8)), w, *args)
    assert used == ["direct", "depthwise"]
