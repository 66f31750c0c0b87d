"""The activation kernels (ember/_kernels/activation.py) on arrays: the float32 maths against
float64 references, the softmax reduction paths, PReLU, and the array-level API."""
import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ember._kernels import activation as K

F32_EPS = np.finfo(np.float32).eps


@numba.njit(cache=False)
def _map_expf(x, out):
    for i in range(x.size):
        out[i] = K._expf(x[i])


@numba.njit(cache=False)
def _map_expm1f(x, out):
    for i in range(x.size):
        out[i] = K._expm1f(x[i])


@numba.njit(cache=False)
def _map_tanhf(x, out):
    for i in range(x.size):
        out[i] = K._tanhf(x[i])


@numba.njit(cache=False)
def _map_cdf_pdf_f32(x, cdf, pdf):
    for i in range(x.size):
        cdf[i], pdf[i] = K._normal_cdf_pdf_f32(x[i])


def _apply(fn, x):
    out = np.empty_like(x)
    fn(x, out)
    return out


def test_expf_within_two_ulp_over_its_range():
    x = np.linspace(-87.0, 88.5, 400_001, dtype=np.float32)
    got = _apply(_map_expf, x).astype(np.float64)
    want = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - want) / want) < 2 * F32_EPS


def test_expf_subnormals_overflow_and_specials():
    x = np.array([-95.0, -100.0, -103.5], dtype=np.float32)   # results below float32's normals
    got = _apply(_map_expf, x).astype(np.float64)
    want = np.exp(x.astype(np.float64))
    smallest = float(np.finfo(np.float32).smallest_subnormal)
    np.testing.assert_allclose(got, want, rtol=0, atol=smallest)   # within one subnormal step
    special = np.array([-104.5, -1e4, 89.0, 1e4, np.inf, -np.inf, np.nan, 0.0], dtype=np.float32)
    got = _apply(_map_expf, special)
    np.testing.assert_array_equal(got, [0, 0, np.inf, np.inf, np.inf, 0, np.nan, 1])


def test_expm1f_is_accurate_near_zero():
    x = np.concatenate([np.linspace(-2, 2, 40_001), [1e-7, -1e-7, 1e-30, -0.0]]).astype(np.float32)
    got = _apply(_map_expm1f, x).astype(np.float64)
    want = np.expm1(x.astype(np.float64))
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-38)) < 4 * F32_EPS


def test_tanhf_relative_accuracy_and_saturation():
    x = np.concatenate([np.linspace(-12, 12, 200_001), [1e-6, -1e-6, 1e-20]]).astype(np.float32)
    got = _apply(_map_tanhf, x).astype(np.float64)
    want = np.tanh(x.astype(np.float64))
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-38)) < 4 * F32_EPS
    special = np.array([50, -50, 1e4, np.inf, -np.inf, np.nan], dtype=np.float32)
    np.testing.assert_array_equal(_apply(_map_tanhf, special), [1, -1, 1, 1, -1, np.nan])


def test_normal_cdf_pdf_float32_matches_the_closed_forms():
    x = np.linspace(-9, 9, 18_001, dtype=np.float32)
    cdf, pdf = np.empty_like(x), np.empty_like(x)
    _map_cdf_pdf_f32(x, cdf, pdf)
    x64 = x.astype(np.float64)
    want_cdf = 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x64])
    np.testing.assert_allclose(cdf, want_cdf, atol=2e-7)      # A&S 7.1.26's error bound
    # float32's rounding of x^2 alone moves the exponent by ~eps x^2 / 2
    want_pdf = np.exp(-x64 ** 2 / 2) / math.sqrt(2 * math.pi)
    assert np.all(np.abs(pdf - want_pdf) <= want_pdf * F32_EPS * (4 + x64 ** 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_in_place_and_into_a_strided_output(dtype):
    x = np.linspace(-3, 3, 24).astype(dtype).reshape(4, 6)
    want = np.maximum(x, 0)
    y = x.copy()
    assert K.elementwise(K.relu_forward, (y,), out=y) is y      # the input is its own output
    np.testing.assert_array_equal(y, want)
    base = np.zeros((4, 12), dtype=dtype)
    view = base[:, ::2]                                           # not contiguous
    K.elementwise(K.relu_forward, (x,), out=view)
    np.testing.assert_array_equal(base[:, ::2], want)
    assert not base[:, 1::2].any()


def test_parameters_keep_the_float32_loop_float32():
    x = np.array([-2.0, 3.0], dtype=np.float32)
    y = K.elementwise(K.leaky_relu_forward, (x,), (0.1,))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([-0.2, 3.0], dtype=np.float32))


def test_elementwise_rejects_integer_arrays():
    with pytest.raises(TypeError, match="floating arrays"):
        K.elementwise(K.relu_forward, (np.arange(3),))


def _softmax_ref(x, axis, log):
    x = x.astype(np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return x - lse if log else np.exp(x - lse)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape, axis", [
    ((7, 33), 1),            # rows: inner == 1
    ((3, 5, 1300), 1),       # blocks of 512 columns and a partial last one
    ((1300, 4), 0),          # outer == 1
    ((2, 3, 4, 5), 3), ((2, 3, 4, 5), 0), ((6,), 0),
])
def test_softmax_paths_against_numpy(shape, axis, log):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 5
    y, probs = K.softmax(x, axis, log=True) if log else (K.softmax(x, axis), None)
    np.testing.assert_allclose(y, _softmax_ref(x, axis, log), rtol=1e-12, atol=1e-14)
    if probs is not None:             # the rows path keeps exp(y) for the backward
        np.testing.assert_allclose(probs, _softmax_ref(x, axis, False), rtol=1e-12)
    g = rng.standard_normal(shape)
    # the vector-Jacobian product against the explicit formula
    if log:
        want = g - np.exp(y) * g.sum(axis=axis, keepdims=True)
    else:
        want = y * (g - (g * y).sum(axis=axis, keepdims=True))
    got = K.softmax_grad(g, y, axis, log, probs)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if log:                           # and without them it recomputes them
        np.testing.assert_allclose(K.softmax_grad(g, y, axis, log), want, rtol=1e-10, atol=1e-12)


def test_softmax_is_stable_at_1e4_in_float32():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 1e4 - 2]], dtype=np.float32)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y = K.softmax(x, 1)
        logy, _ = K.softmax(x, 1, log=True)
    assert np.isfinite(y).all() and np.isfinite(logy).all()
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(logy[1], np.log(1 / 3), rtol=1e-6)   # no rounding of log 3 at 1e4
    np.testing.assert_allclose(y[2], _softmax_ref(x[2:], 1, False)[0], rtol=1e-6)


def test_softmax_special_rows():
    x = np.array([[np.nan, 1.0], [-np.inf, -np.inf], [-np.inf, 0.0]])
    y = K.softmax(x, 1)
    assert np.isnan(y[0]).all() and np.isnan(y[1]).all()       # as torch
    np.testing.assert_array_equal(y[2], [0.0, 1.0])
    assert K.softmax(np.zeros((2, 0)), 1).shape == (2, 0)
    np.testing.assert_array_equal(K.softmax(np.array(3.0), 0), 1.0)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.data())
def test_softmax_property_rows_sum_to_one(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32) * 30
    y = K.softmax(x, axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1, atol=1e-6)
    np.testing.assert_allclose(y, _softmax_ref(x, axis, False), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape, channels", [((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4, 3), 3),
                                             ((5,), 1), ((), 1)])
def test_prelu_against_formula(shape, channels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    w = rng.uniform(-0.5, 0.5, channels)
    wb = w.reshape((1, channels) + (1,) * (len(shape) - 2)) if channels > 1 else w[0]
    np.testing.assert_allclose(K.prelu(x, w), np.where(x > 0, x, wb * x))
    g = rng.standard_normal(shape)
    gx, gw = K.prelu_grad(g, x, w)
    np.testing.assert_allclose(gx, np.where(x > 0, g, wb * g))
    contrib = np.where(x > 0, 0.0, g * x)
    want_gw = contrib.sum() if channels == 1 else \
        contrib.sum(axis=tuple(i for i in range(len(shape)) if i != 1))
    np.testing.assert_allclose(gw, np.reshape(want_gw, w.shape))
    assert gw.shape == w.shape


def test_large_arrays_take_the_parallel_path_and_agree():
    """Above SERIAL_BELOW the kernels run on every thread; the results are the same."""
    from ember._kernels._jit import SERIAL_BELOW
    n = 320_000
    assert 8 * 40 * 1000 > SERIAL_BELOW
    x = np.random.default_rng(4).standard_normal(n).astype(np.float32) * 4
    np.testing.assert_array_equal(K.elementwise(K.relu_forward, (x,)), np.maximum(x, 0))
    np.testing.assert_allclose(K.elementwise(K.sigmoid_forward, (x,)),
                               1 / (1 + np.exp(-x.astype(np.float64))), rtol=2e-7, atol=1e-12)
    rows = x[: 300 * 1000].reshape(300, 1000)
    np.testing.assert_allclose(K.softmax(rows, 1), _softmax_ref(rows, 1, False), rtol=1e-5,
                               atol=1e-9)
    cols = x[: 8 * 40 * 1000].reshape(8, 40, 1000)
    np.testing.assert_allclose(K.softmax(cols, 1), _softmax_ref(cols, 1, False), rtol=1e-5,
                               atol=1e-9)


def test_launch_restores_the_thread_count():
    threads = numba.get_num_threads()
    K.elementwise(K.relu_forward, (np.ones(10, dtype=np.float32),))
    assert numba.get_num_threads() == threads


def test_compile_order_cannot_leak_fastmath_into_exp(tmp_path):
    """Regression: softmax's fastmath sums once compiled _expf with their flags when they came
    first, and every later float32 kernel (and the disk cache) got a broken exp."""
    import os
    import subprocess
    import sys
    code = (
        "import numpy as np, math\n"
        "from ember._kernels import activation as K\n"
        "x = np.array([-0.5, -1.0, 2.0], np.float32)\n"
        "K.softmax(x.reshape(1, 3), 1); K.softmax(x.reshape(1, 3), 1, log=True)\n"
        "K.softmax_grad(x.reshape(1, 3), x.reshape(1, 3), 1)\n"
        "y = K.elementwise(K.sigmoid_forward, (x,))\n"
        "want = [1 / (1 + math.exp(-v)) for v in x.tolist()]\n"
        "assert np.allclose(y, want, rtol=1e-6), y\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=root)
    for _ in range(2):                       # compiled fresh, then loaded from the disk cache
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
