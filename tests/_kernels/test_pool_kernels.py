"""ember._kernels.pool at the array level, against plain-NumPy reference implementations (an
oracle independent of torch; the differential tests against torch are in tests/nn/test_pooling.py).
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember._kernels import pool as K
from ember.nn._shapes import adaptive_bins, pool_output_size


# -- references: pad, then loop over windows in NumPy ---------------------------------------------

def _window_slices(out_spatial, kernel, stride, dilation):
    for o in itertools.product(*(range(n) for n in out_spatial)):
        yield o, tuple(slice(i * s, i * s + (k - 1) * d + 1, d)
                       for i, k, s, d in zip(o, kernel, stride, dilation))


def reference_max_pool(x, kernel, stride, padding, dilation, out_spatial):
    """Max over windows of the -inf padded input; index = first argmax (NaN wins, last NaN)."""
    n = len(kernel)
    spatial = x.shape[1:]
    pad = [(0, 0)] + [(p, p + k * d + s) for p, k, d, s in zip(padding, kernel, dilation, stride)]
    padded = np.pad(x, pad, constant_values=-np.inf)
    positions = np.pad(np.arange(int(np.prod(spatial))).reshape(spatial), pad[1:], constant_values=-1)
    out = np.empty((x.shape[0], *out_spatial), x.dtype)
    index = np.empty(out.shape, np.int64)
    for o, window in _window_slices(out_spatial, kernel, stride, dilation):
        pos = positions[window].reshape(-1)
        valid = pos >= 0
        for p in range(x.shape[0]):
            vals = padded[(p, *window)].reshape(-1)[valid]
            nan = np.flatnonzero(np.isnan(vals))
            j = nan[-1] if nan.size else (int(np.argmax(vals)) if np.any(vals > -np.inf) else 0)
            out[(p, *o)] = vals[j]
            index[(p, *o)] = pos[valid][j]
    assert n == len(out_spatial)
    return out, index


def reference_avg_pool(x, kernel, stride, padding, out_spatial, count_include_pad, divisor_override):
    spatial = x.shape[1:]
    pad = [(0, 0)] + [(p, p + k + s) for p, k, s in zip(padding, kernel, stride)]
    padded = np.pad(x.astype(np.float64), pad)
    inside = np.pad(np.ones(spatial), pad[1:])                         # real input elements
    in_padding = np.pad(np.ones([n + 2 * p for n, p in zip(spatial, padding)]),  # input + pads
                        [(0, k + s) for k, s in zip(kernel, stride)])
    out = np.empty((x.shape[0], *out_spatial), x.dtype)
    for o, window in _window_slices(out_spatial, kernel, stride, (1,) * len(kernel)):
        divisor = (divisor_override or
                   (in_padding[window].sum() if count_include_pad else inside[window].sum()))
        out[(slice(None), *o)] = padded[(slice(None), *window)].reshape(x.shape[0], -1).sum(1) / divisor
    return out


def _sizes(spatial, kernel, stride, padding, dilation, ceil_mode):
    return tuple(pool_output_size(n, k, s, p, d, ceil_mode)
                 for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))


@st.composite
def windows(draw, dilated=True):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) if dilated else 1 for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    spatial = tuple(draw(st.integers((k - 1) * d + 1, 6)) for k, d in zip(kernel, dilation))
    ceil_mode = draw(st.booleans())
    return spatial, kernel, stride, padding, dilation, ceil_mode


# -- max pooling ----------------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(windows(), st.sampled_from([np.float32, np.float64]))
def test_max_pool_matches_reference(args, dtype):
    spatial, kernel, stride, padding, dilation, ceil_mode = args
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(3, *spatial)).astype(dtype)  # small integers: many ties
    out_spatial = _sizes(spatial, kernel, stride, padding, dilation, ceil_mode)
    out, index = K.max_pool(x, kernel, stride, padding, dilation, out_spatial)
    ref_out, ref_index = reference_max_pool(x, kernel, stride, padding, dilation, out_spatial)
    assert out.dtype == dtype and index.dtype == np.int64
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(index, ref_index)
    # backward: every output's gradient lands on its argmax, overlaps accumulate
    grad = rng.standard_normal(out.shape).astype(dtype)
    expected = np.zeros((3, int(np.prod(spatial))), dtype)
    for p in range(3):
        np.add.at(expected[p], index[p].reshape(-1), grad[p].reshape(-1))
    np.testing.assert_allclose(K.max_pool_backward(grad, index, spatial),
                               expected.reshape(x.shape), rtol=1e-6)


def test_max_pool_nan_and_all_minus_inf_windows():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 0.0, -np.inf, -np.inf]])
    out, index = K.max_pool(x, (5,), (5,), (0,), (1,), (1,))
    assert np.isnan(out[0, 0]) and index[0, 0] == 3  # torch: `val > max || isnan(val)`
    out, index = K.max_pool(x[:, 5:], (2,), (1,), (1,), (1,), (3,))
    np.testing.assert_array_equal(out, [[-np.inf] * 3])
    np.testing.assert_array_equal(index, [[0, 0, 1]])  # the window's first element inside the input


def test_max_pool_first_of_ties_wins():
    x = np.ones((1, 4, 4), np.float32)
    out, index = K.max_pool(x, (3, 3), (1, 1), (1, 1), (1, 1), (4, 4))
    expected = [[max(i - 1, 0) * 4 + max(j - 1, 0) for j in range(4)] for i in range(4)]
    np.testing.assert_array_equal(index[0], expected)


# -- average pooling ------------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(windows(dilated=False), st.booleans(), st.sampled_from([None, 1, 3, -2]),
       st.sampled_from([np.float32, np.float64]))
def test_avg_pool_matches_reference(args, count_include_pad, divisor_override, dtype):
    spatial, kernel, stride, padding, dilation, ceil_mode = args
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, *spatial)).astype(dtype)
    out_spatial = _sizes(spatial, kernel, stride, padding, dilation, ceil_mode)
    out = K.avg_pool(x, kernel, stride, padding, out_spatial, count_include_pad, divisor_override)
    ref = reference_avg_pool(x, kernel, stride, padding, out_spatial, count_include_pad,
                             divisor_override)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    # backward is the adjoint: <A x, g> == <x, A^T g>
    g = rng.standard_normal(out.shape)
    grad = K.avg_pool_backward(g.astype(dtype), spatial, kernel, stride, padding,
                               count_include_pad, divisor_override)
    np.testing.assert_allclose(np.vdot(out.astype(np.float64), g), np.vdot(x.astype(np.float64), grad),
                               rtol=1e-4, atol=1e-5)


def test_avg_pool_ceil_overhang_is_not_counted():
    # in=5, k=2, s=2, ceil: the last window [4, 6) overhangs; it divides by 1, not 2 (TRAPS 2)
    x = np.arange(5, dtype=np.float64)[None]
    out = K.avg_pool(x, (2,), (2,), (0,), (3,), True, None)
    np.testing.assert_array_equal(out, [[0.5, 2.5, 4.0]])
    # padding 1: windows [-1,1) [1,3) [3,5) count the left pad; a 4th, [5,7), would start in
    # the right padding and is dropped (TRAPS 1)
    assert pool_output_size(5, 2, 2, 1, 1, True) == 3
    out = K.avg_pool(x, (2,), (2,), (1,), (3,), True, None)
    np.testing.assert_array_equal(out, [[0.0, 1.5, 3.5]])
    # k=3, s=2, p=1, in=6, ceil: the last window [5, 8) holds x[5], the pad at 6 and the
    # overhang at 7 -> divisor 2 with count_include_pad, 1 without; never 3
    x = np.arange(6, dtype=np.float64)[None]
    assert pool_output_size(6, 3, 2, 1, 1, True) == 4
    np.testing.assert_array_equal(K.avg_pool(x, (3,), (2,), (1,), (4,), True, None),
                                  [[1 / 3, 2.0, 4.0, 2.5]])
    np.testing.assert_array_equal(K.avg_pool(x, (3,), (2,), (1,), (4,), False, None),
                                  [[0.5, 2.0, 4.0, 5.0]])


# -- adaptive pooling -----------------------------------------------------------------------------

@pytest.mark.parametrize("in_size,out_size", [(7, 3), (5, 5), (3, 7), (10, 4), (1, 1), (6, 0)])
def test_adaptive_tables_match_shapes_bins(in_size, out_size):
    first, taps, sizes = K._adaptive_axis(in_size, out_size)
    np.testing.assert_array_equal(taps, sizes)
    assert [(int(a), int(a + b)) for a, b in zip(first[0], taps[0])] == adaptive_bins(in_size, out_size)


def test_adaptive_pools_match_reference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 7, 5, 6))
    out_spatial = (3, 5, 4)
    mean = K.adaptive_avg_pool(x, out_spatial)
    values, index = K.adaptive_max_pool(x, out_spatial)
    bins = [adaptive_bins(n, o) for n, o in zip(x.shape[1:], out_spatial)]
    for o in itertools.product(*(range(n) for n in out_spatial)):
        window = tuple(slice(*bins[a][o[a]]) for a in range(3))
        block = x[(slice(None), *window)].reshape(4, -1)
        np.testing.assert_allclose(mean[(slice(None), *o)], block.mean(1))
        np.testing.assert_array_equal(values[(slice(None), *o)], block.max(1))
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(4, -1), index.reshape(4, -1), 1),
                                  values.reshape(4, -1))
    g = rng.standard_normal(mean.shape)
    np.testing.assert_allclose(np.vdot(mean, g),
                               np.vdot(x, K.adaptive_avg_pool_backward(g, x.shape[1:])))


# -- fractional max pooling -----------------------------------------------------------------------

def test_fractional_intervals_formula():
    for dtype in (np.float32, np.float64):
        u = np.array([0.0, 0.3, 0.99], dtype)
        starts = K.fractional_intervals(u, 25, 7, 3)
        alpha = dtype(25 - 3) / dtype(7 - 1)
        for row, s in zip(starts, u):
            expected = [int((dtype(i) + s) * alpha) - int(s * alpha) for i in range(6)] + [22]
            assert row.tolist() == expected
        assert starts.min() >= 0 and starts.max() == 22
    assert K.fractional_intervals(np.array([0.5]), 9, 1, 2).tolist() == [[7]]


def test_fractional_max_pool_windows():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 8))
    u = rng.random((2, 2))
    out, index = K.fractional_max_pool(x, (2, 3), (4, 3), u)
    starts_h = K.fractional_intervals(u[:, 1], 9, 4, 2)  # 2-d: u[:, 0] drives W, u[:, 1] drives H
    starts_w = K.fractional_intervals(u[:, 0], 8, 3, 3)
    for p in range(2):
        for i in range(4):
            for j in range(3):
                h, w = starts_h[p, i], starts_w[p, j]
                assert out[p, i, j] == x[p, h:h + 2, w:w + 3].max()
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, -1), index.reshape(2, -1), 1),
                                  out.reshape(2, -1))


# -- max unpooling --------------------------------------------------------------------------------

def test_max_unpool_scatter_and_gather():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 6, 6)).astype(np.float32)
    values, index = K.max_pool(x, (2, 2), (2, 2), (0, 0), (1, 1), (3, 3))
    out = K.max_unpool(values, index, (6, 6))
    expected = np.zeros((3, 36), np.float32)
    np.put_along_axis(expected, index.reshape(3, -1), values.reshape(3, -1), 1)
    np.testing.assert_array_equal(out, expected.reshape(3, 6, 6))
    g = rng.standard_normal((3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(K.max_unpool_backward(g, index),
                                  np.take_along_axis(g.reshape(3, -1), index.reshape(3, -1), 1)
                                  .reshape(index.shape))


@pytest.mark.parametrize("bad", [36, -1, 10**12])
def test_max_unpool_rejects_indices_outside_the_plane(bad):
    x = np.ones((2, 4), np.float64)
    index = np.zeros((2, 4), np.int64)
    index[1, 2] = bad
    with pytest.raises(RuntimeError, match=f"Found an invalid max index: {bad} "
                                           r"\(output volumes are of size 6x6\)"):
        K.max_unpool(x, index, (6, 6))


def test_empty_batch_and_non_contiguous_input():
    x = np.zeros((0, 5, 5), np.float32)
    out, index = K.max_pool(x, (2, 2), (2, 2), (0, 0), (1, 1), (2, 2))
    assert out.shape == index.shape == (0, 2, 2)
    y = np.random.default_rng(5).standard_normal((5, 5, 3)).transpose(2, 0, 1)  # a strided view
    out, _ = K.max_pool(y, (2, 2), (2, 2), (0, 0), (1, 1), (2, 2))
    np.testing.assert_array_equal(out, reference_max_pool(np.ascontiguousarray(y), (2, 2), (2, 2),
                                                          (0, 0), (1, 1), (2, 2))[0])


@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None),
                                                                (True, 5)])
def test_whole_plane_windows_take_the_global_pooling_path(count_include_pad, divisor_override):
    # one window covering the plane (global average pooling) runs _plane_means/_plane_fill;
    # here it also hangs over one column of padding on each side of W
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3, 3))
    args = ((3, 4), (3, 4), (0, 1))
    out = K.avg_pool(x, *args, (1, 1), count_include_pad, divisor_override)
    ref = reference_avg_pool(x, *args, (1, 1), count_include_pad, divisor_override)
    np.testing.assert_allclose(out, ref)
    g = rng.standard_normal(out.shape)
    grad = K.avg_pool_backward(g, (3, 3), *args, count_include_pad, divisor_override)
    divisor = divisor_override or (3 * 4 if count_include_pad else 3 * 3)
    np.testing.assert_allclose(grad, np.broadcast_to(g / divisor, x.shape))
    np.testing.assert_allclose(K.adaptive_avg_pool(x, (1, 1))[:, 0, 0], x.mean((1, 2)))
