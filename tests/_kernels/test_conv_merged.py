"""The direct engine on the merged layout (a batch of narrow images convolved as one image whose
rows are width x batch long), its fused kernel taps, the bias folded into the copy back, and the
tiled transpose - against the plain-NumPy reference of test_conv_kernels.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember._kernels import conv as K
from tests._kernels.test_conv_kernels import ref_forward, ref_input_grad, ref_weight_grad


@st.composite
def merged_problems(draw):
    """Batches of 8+ narrow images, unit stride along the width (what the layout needs), every
    other option free: groups, dilation, padding (asymmetric), stride along the height."""
    nd = draw(st.integers(1, 2))
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    kernel = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd - 1)) + (1,)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(nd))
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, padding):
        least = max(1, d * (k - 1) + 1 - lo - hi)
        spatial.append(draw(st.integers(least, least + 7)))
    n = draw(st.integers(8, 11))
    return dict(x_shape=(n, groups * cg, *spatial), w_shape=(groups * og, cg, *kernel),
                stride=stride, padding=padding, dilation=dilation, groups=groups)


def _arrays(p, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(p["x_shape"]).astype(dtype)
    w = rng.standard_normal(p["w_shape"]).astype(dtype)
    out_spatial = K.conv_output_shape(x.shape[2:], w.shape[2:], p["stride"], p["padding"],
                                      p["dilation"])
    g = rng.standard_normal((x.shape[0], w.shape[0], *out_spatial)).astype(dtype)
    b = rng.standard_normal(w.shape[0]).astype(dtype)
    return x, w, g, b


def _args(p):
    return p["stride"], p["padding"], p["dilation"], p["groups"]


def _check(p, dtype, rtol, atol):
    x, w, g, b = _arrays(p, dtype)
    args = _args(p)
    assert K._merged_pays(x.ndim - 2, g.shape, p["stride"][-1])
    y = K.conv_forward(x, w, *args, engine="direct", bias=b)
    ref = ref_forward(x, w, *args, g.shape[2:]) + b.reshape((1, -1) + (1,) * (x.ndim - 2))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref, rtol=rtol, atol=atol)
    gx = K.conv_input_grad(g, w, x.shape, *args, engine="direct")
    np.testing.assert_allclose(gx, ref_input_grad(g, w, x.shape, *args), rtol=rtol, atol=atol)
    gw = K.conv_weight_grad(x, g, w.shape, *args, engine="direct")
    np.testing.assert_allclose(gw, ref_weight_grad(x, g, w.shape, *args), rtol=rtol,
                               atol=atol * 10)


@settings(max_examples=40, deadline=None)
@given(merged_problems())
def test_direct_engine_on_the_merged_layout(p):
    _check(p, np.float64, 1e-12, 1e-11)


@settings(max_examples=10, deadline=None)
@given(merged_problems())
def test_direct_engine_on_the_merged_layout_float32(p):
    _check(p, np.float32, 2e-4, 2e-4)


@pytest.mark.parametrize("p", [
    # LeNet-5's two layers (batch 8 here): the shapes the layout is for
    dict(x_shape=(8, 3, 32, 32), w_shape=(6, 3, 5, 5), stride=(1, 1), padding=((0, 0), (0, 0)),
         dilation=(1, 1), groups=1),
    dict(x_shape=(8, 6, 14, 14), w_shape=(16, 6, 5, 5), stride=(1, 1), padding=((0, 0), (0, 0)),
         dilation=(1, 1), groups=1),
    # padding wider than the kernel's reach, and 'same' padding's asymmetric pair
    dict(x_shape=(9, 2, 5, 4), w_shape=(3, 2, 2, 2), stride=(1, 1), padding=((3, 0), (2, 4)),
         dilation=(1, 1), groups=1),
    dict(x_shape=(8, 2, 6, 7), w_shape=(2, 2, 4, 4), stride=(1, 1), padding=((1, 2), (1, 2)),
         dilation=(1, 1), groups=1),
    # a row longer than one task's block (DIRECT_BLOCK elements)
    dict(x_shape=(80, 2, 3, 30), w_shape=(2, 2, 1, 7), stride=(1, 1), padding=((0, 0), (3, 3)),
         dilation=(1, 2), groups=1),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_named_shapes(p, dtype):
    tol = 2e-4 if dtype == np.float32 else 1e-11
    _check(p, dtype, tol, tol)


def test_lenet_layers_choose_the_merged_direct_engine():
    assert K._merged_pays(2, (64, 6, 28, 28), 1)
    assert K.choose_engine(3, 6, 1, merged=True, kernel_numel=25) == "direct"
    assert K.choose_engine(6, 16, 1, merged=True, kernel_numel=25) == "direct"
    assert K.choose_engine(64, 64, 1, merged=True, kernel_numel=25) == "gemm"
    assert K.choose_engine(6, 16, 1, True, 4, 25) == "gemm"   # the input gradient's limit


def test_input_grad_of_narrow_rows_takes_the_batch_last_gemm(monkeypatch):
    """On outputs of at most BATCH_LAST_MAX_WIDTH the input gradient runs on the GEMM engine
    (LeNet's second layer: 2x faster than the merged gather); the forward stays direct."""
    used = []
    monkeypatch.setattr(K, "_gemm_input_grad", lambda *a: used.append("gemm"))
    monkeypatch.setattr(K, "_direct_input_grad", lambda *a, work: used.append("direct"))
    x_shape, w = (64, 6, 14, 14), np.zeros((16, 6, 5, 5))
    args = (1, 1), ((0, 0), (0, 0)), (1, 1), 1
    K.conv_input_grad(np.ones((64, 16, 10, 10)), w, x_shape, *args)
    K.conv_input_grad(np.ones((64, 16, 24, 24)), w, (64, 6, 28, 28), *args)
    assert used == ["gemm", "direct"]
    assert not K._merged_pays(2, (64, 6, 28, 28), 2)    # a strided width gathers: not merged
    assert not K._merged_pays(2, (4, 6, 28, 28), 1)     # too few images
    assert not K._merged_pays(3, (64, 6, 8, 8, 8), 1)   # 3-d volumes keep their layout


def test_bias_on_every_engine_and_layout():
    rng = np.random.default_rng(3)
    for x_shape, w_shape in [((8, 3, 9, 9), (4, 3, 3, 3)), ((2, 3, 40, 40), (4, 3, 3, 3)),
                             ((8, 64, 6, 6), (64, 64, 3, 3))]:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        args = (1, 1), (0, 0), (1, 1), 1
        for engine in ("gemm", "direct"):
            np.testing.assert_allclose(
                K.conv_forward(x, w, *args, engine=engine, bias=b),
                K.conv_forward(x, w, *args, engine=engine) + b[:, None, None], rtol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (64, 3072), (7, 33), (300, 17), (16, 4096), (4096, 64)])
def test_transpose_add(shape):
    rng = np.random.default_rng(1)
    src = rng.standard_normal(shape)
    dst = np.empty(shape[::-1])
    K._transpose_add(src, dst, np.empty(0), 1)
    np.testing.assert_array_equal(dst, src.T)
    bias = rng.standard_normal(3)
    plane = -(-shape[0] // 3)
    K._transpose_add(src, dst, bias, plane)
    np.testing.assert_array_equal(dst, src.T + bias[np.arange(shape[0]) // plane])
