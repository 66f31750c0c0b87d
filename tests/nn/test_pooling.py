"""Pooling layers and functions against torch: values, indices and gradients (float64 and
float32) over property-generated configurations in 1, 2 and 3 dims; the tutorials' examples;
one named test per pooling trap of TRAPS.md; argument errors."""
import math
import random
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
import ember.nn.functional as F
from ember import nn
from ember.nn import _shapes as S
from tests.helpers import assert_close, check_against_torch, same_error, to_numpy, torch_threads

DTYPES = ["float64", "float32"]
RNG = np.random.default_rng(2024)


def fn(lib, name):
    return getattr(lib.nn.functional, name)


def randn(*shape, ties=False):
    if ties:  # small integers: many tied maxima
        return RNG.integers(-2, 3, size=shape).astype(np.float64)
    return RNG.standard_normal(shape)


@st.composite
def windows(draw, dilated=True, max_dims=3):
    """(spatial, kernel, stride, padding, dilation, ceil_mode) with padding <= kernel // 2, as
    torch requires."""
    nd = draw(st.integers(1, max_dims))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) if dilated else 1 for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    spatial = tuple(draw(st.integers(max((k - 1) * d + 1 - 2 * p, 1), 9))
                    for k, d, p in zip(kernel, dilation, padding))
    return spatial, kernel, stride, padding, dilation, draw(st.booleans())


def batch_shape(nd, batched, spatial):
    return ((2, 3) if batched else (3,)) + tuple(spatial)


# -- the tutorials' examples ----------------------------------------------------------------------

def test_tutorial_worked_example_4x4():
    x = ember.tensor([[[[1., 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]]]])
    out = nn.MaxPool2d(2, 2)(x)
    assert out.tolist() == [[[[6., 4.], [7., 9.]]]]


def test_tutorial_avg_pool_of_ones_and_divisor_override():
    ones = ember.ones(1, 1, 4, 4)
    assert nn.AvgPool2d((2, 2), stride=(2, 2))(ones).tolist() == [[[[1., 1.], [1., 1.]]]]
    out = nn.AvgPool2d((2, 2), stride=(2, 2), divisor_override=3)(ones)
    np.testing.assert_allclose(out.numpy(), np.full((1, 1, 2, 2), 4 / 3, np.float32))
    assert f"{out[0, 0, 0, 0].item():.4f}" == "1.3333"


def test_tutorial_max_pool_halves_a_512_image():
    assert nn.MaxPool2d(2)(ember.randn(1, 3, 512, 512)).shape == (1, 3, 256, 256)


def test_tutorial_unpool_puts_each_value_back_at_its_index():
    x = ember.tensor(randn(1, 2, 6, 6).astype(np.float32))
    out, indices = nn.MaxPool2d(2, return_indices=True)(x)
    restored = nn.MaxUnpool2d(2)(out, indices)
    assert restored.shape == x.shape
    flat = restored.numpy().reshape(2, 36)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(2, 9), 1),
                                  out.numpy().reshape(2, 9))
    mask = np.zeros((2, 36), bool)
    np.put_along_axis(mask, indices.numpy().reshape(2, 9), True, 1)
    assert not flat[~mask].any()  # zeros elsewhere
    np.testing.assert_array_equal(flat[mask], x.numpy().reshape(2, 36)[mask])


# -- differential tests over property-generated configurations ------------------------------------

@settings(max_examples=30, deadline=None)
@given(windows(), st.sampled_from(DTYPES), st.booleans(), st.booleans())
def test_max_pool_matches_torch(config, dtype, batched, ties):
    spatial, kernel, stride, padding, dilation, ceil_mode = config
    nd = len(spatial)
    x = randn(*batch_shape(nd, batched, spatial), ties=ties)
    check_against_torch(lambda lib, x: fn(lib, f"max_pool{nd}d")(
        x, kernel, stride, padding, dilation, ceil_mode, True), [x], dtype)


@settings(max_examples=30, deadline=None)
@given(windows(dilated=False), st.sampled_from(DTYPES), st.booleans(), st.booleans(),
       st.sampled_from([None, 1, 2, 5]))
def test_avg_pool_matches_torch(config, dtype, batched, count_include_pad, divisor_override):
    spatial, kernel, stride, padding, _, ceil_mode = config
    nd = len(spatial)
    if nd == 3:  # avg_pool3d alone refuses an input smaller than its kernel, padding or not
        spatial = tuple(max(i, k) for i, k in zip(spatial, kernel))
    x = randn(*batch_shape(nd, batched, spatial))
    extra = () if nd == 1 else (divisor_override,)
    check_against_torch(lambda lib, x: fn(lib, f"avg_pool{nd}d")(
        x, kernel, stride, padding, ceil_mode, count_include_pad, *extra), [x], dtype)


@settings(max_examples=20, deadline=None)
@given(windows(dilated=False), st.sampled_from(DTYPES), st.sampled_from([1, 2, 3, 1.5, math.inf]))
def test_lp_pool_matches_torch(config, dtype, norm_type):
    spatial, kernel, stride, _, _, ceil_mode = config
    nd = len(spatial)
    spatial = tuple(max(n, k) for n, k in zip(spatial, kernel))  # LP pooling has no padding
    x = np.abs(randn(2, 3, *spatial)) + 0.1  # keep the window sums away from 0 (a kink)
    if norm_type in (1, 3):
        x *= RNG.choice([-1, 1], size=x.shape)
    kernel = kernel[0] if nd == 1 else kernel  # torch's lp_pool1d multiplies by an int kernel
    check_against_torch(lambda lib, x: fn(lib, f"lp_pool{nd}d")(
        x, norm_type, kernel, stride, ceil_mode), [x], dtype)


@st.composite
def adaptive_configs(draw):
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(nd))
    sizes = tuple(draw(st.one_of(st.integers(1, 10), st.none())) for _ in range(nd))
    output_size = sizes[0] if nd == 1 else (draw(st.integers(1, 6)) if draw(st.booleans()) else sizes)
    return spatial, (spatial[0] if output_size is None else output_size)


@settings(max_examples=30, deadline=None)
@given(adaptive_configs(), st.sampled_from(DTYPES), st.booleans())
def test_adaptive_pools_match_torch(config, dtype, batched):
    spatial, output_size = config
    nd = len(spatial)
    x = randn(*batch_shape(nd, batched, spatial))
    check_against_torch(lambda lib, x: fn(lib, f"adaptive_avg_pool{nd}d")(x, output_size), [x], dtype)
    check_against_torch(lambda lib, x: fn(lib, f"adaptive_max_pool{nd}d")(x, output_size, True),
                        [x], dtype)


@settings(max_examples=20, deadline=None)
@given(windows(dilated=False), st.sampled_from(DTYPES), st.booleans())
def test_max_unpool_round_trip_matches_torch(config, dtype, batched):
    spatial, kernel, stride, padding, _, _ = config
    nd = len(spatial)
    x = randn(*batch_shape(nd, batched, spatial))

    def pool_unpool(lib, x):
        out, indices = fn(lib, f"max_pool{nd}d")(x, kernel, stride, padding, return_indices=True)
        return fn(lib, f"max_unpool{nd}d")(out, indices, kernel, stride, padding, output_size=spatial)
    default = S.unpool_output_shape(S.pool_output_shape(x.shape, kernel, stride, padding, (1,) * nd,
                                                        False), kernel, stride, padding)
    if all(abs(a - b) < s for a, b, s in zip(spatial, default, stride)):
        check_against_torch(pool_unpool, [x], dtype)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 3), st.sampled_from(DTYPES), st.booleans(), st.data())
def test_fractional_max_pool_matches_torch_given_samples(nd, dtype, batched, data):
    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    spatial = tuple(data.draw(st.integers(k + 1, 9)) for k in kernel)
    out = tuple(data.draw(st.integers(1, n - k + (nd == 2))) for n, k in zip(spatial, kernel))
    x = randn(*batch_shape(nd, batched, spatial))
    u = RNG.random((2 if batched else 1, 3, nd)).astype(dtype)
    check_against_torch(lambda lib, x: fn(lib, f"fractional_max_pool{nd}d")(
        x, kernel, output_size=out, return_indices=True, _random_samples=lib.tensor(u)), [x], dtype)


def test_lp_pool_gradient_is_zero_where_a_window_sums_to_zero():
    # torch: "if the sum to the power of p is zero, the gradient is set to zero as well"
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 2.0
    check_against_torch(lambda lib, x: fn(lib, "lp_pool2d")(x, 2, 2), [x])
    t = ember.tensor(x, requires_grad=True)
    F.lp_pool2d(t, 2, 2).sum().backward()
    assert np.isfinite(t.grad.numpy()).all() and t.grad.numpy()[0, 0, 0, 0] == 1.0


@pytest.mark.parametrize("name,args", [
    ("max_pool2d", ((3, 2), (2, 1), (1, 0), (2, 1))),
    ("avg_pool3d", ((2, 3, 2), (1, 2, 2), (1, 1, 0), True, False)),
    ("adaptive_avg_pool2d", ((3, 4),)),
    ("adaptive_max_pool1d", (4,)),
])
def test_gradcheck(name, args):
    spatial = {"1d": (7,), "2d": (7, 6), "3d": (5, 6, 5)}[name[-2:]]
    x = ember.tensor(randn(2, *spatial), requires_grad=True)  # unbatched (C, *spatial)
    assert ember.autograd.gradcheck(lambda t: fn(ember, name)(t, *args), (x,))


def test_gradcheck_unpool_and_lp_pool():
    x = ember.tensor(randn(1, 2, 6, 6), requires_grad=True)
    indices = F.max_pool2d(x, 2, return_indices=True)[1]
    v = ember.tensor(randn(1, 2, 3, 3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: F.max_unpool2d(t, indices, 2), (v,))
    y = ember.tensor(np.abs(randn(1, 2, 6, 6)) + 0.5, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: F.lp_pool2d(t, 2, 3, 2, True), (y,))


# -- input layouts and dtypes ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_input(dtype):
    x = randn(4, 6, 2, 7).transpose(2, 3, 0, 1)  # (2, 7, 4, 6), strided
    check_against_torch(lambda lib, x: fn(lib, "max_pool2d")(x.transpose(1, 2), 2, 1, 1, 1, True,
                                                             True), [x], dtype)
    check_against_torch(lambda lib, x: fn(lib, "avg_pool2d")(x[:, ::2], 3, 2, 1), [x], dtype)
    check_against_torch(lambda lib, x: fn(lib, "adaptive_avg_pool2d")(x.transpose(2, 3), 1),
                        [x], dtype)


def test_batch_one_unbatched_and_empty_batch():
    x = randn(1, 3, 8, 8)
    check_against_torch(lambda lib, x: fn(lib, "max_pool2d")(x, 3, 2, 1), [x])
    check_against_torch(lambda lib, x: fn(lib, "max_pool2d")(x, 3, 2, 1), [x[0]])
    check_against_torch(lambda lib, x: fn(lib, "avg_pool1d")(x, 3, 2, 1), [x[0, 0]])
    check_against_torch(lambda lib, x: fn(lib, "adaptive_max_pool3d")(x, 2), [x])  # (C,D,H,W)
    empty = ember.zeros(0, 3, 8, 8, requires_grad=True)
    for f in (lambda t: F.max_pool2d(t, 2), lambda t: F.avg_pool2d(t, 2),
              lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: F.adaptive_max_pool2d(t, 3)):
        out = f(empty)
        assert out.shape[0] == 0
        out.sum().backward()
        assert empty.grad.shape == empty.shape


def test_unbatched_unpool_and_fractional():
    x = randn(3, 6, 6)
    u = RNG.random((1, 3, 2))
    check_against_torch(lambda lib, x: fn(lib, "max_unpool2d")(
        *fn(lib, "max_pool2d")(x, 2, return_indices=True), 2), [x])
    check_against_torch(lambda lib, x: fn(lib, "fractional_max_pool2d")(
        x, 2, output_size=4, _random_samples=lib.tensor(u)), [x])


def test_float16_is_computed_in_float32():
    x = randn(1, 2, 6, 6).astype(np.float16)
    for name, args in (("max_pool2d", (2,)), ("avg_pool2d", (3, 1, 1)), ("adaptive_avg_pool2d", (2,))):
        out = fn(ember, name)(ember.tensor(x), *args)
        expected = fn(torch, name)(torch.tensor(x), *args)
        assert out.dtype == ember.float16
        np.testing.assert_allclose(out.numpy().astype(np.float32), expected.numpy().astype(np.float32),
                                   rtol=2e-3, atol=2e-3)


def test_grad_fn_names_follow_torch():
    x = ember.randn(1, 2, 6, 6, requires_grad=True)
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    assert F.adaptive_avg_pool2d(x, 2).grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    assert F.adaptive_max_pool2d(x, 2).grad_fn.name() == "AdaptiveMaxPool2DBackward0"
    assert F.fractional_max_pool2d(x, 2, output_size=3).grad_fn.name() == "FractionalMaxPool2DBackward0"
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    assert not indices.requires_grad and indices.dtype == ember.int64
    assert F.max_unpool2d(out, indices, 2).grad_fn.name() == "MaxUnpool2DBackward0"
    x3 = ember.randn(1, 1, 4, 4, 4, requires_grad=True)
    assert F.max_pool3d(x3, 2).grad_fn.name() == "MaxPool3DWithIndicesBackward0"


# -- TRAPS.md, one test each ----------------------------------------------------------------------

def test_trap1_ceil_mode_drops_a_last_window_starting_in_the_padding():
    # in=5, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4 windows, but the 4th starts at 5 = in + p - 1 + 1,
    # inside the right padding, so torch drops it (pytorch#45357)
    assert S.pool_output_size(5, 2, 2, 1, 1, True) == 3
    x = randn(1, 1, 5, 5)
    for name in ("max_pool2d", "avg_pool2d"):
        out = check_against_torch(lambda lib, x: fn(lib, name)(x, 2, 2, 1, ceil_mode=True), [x])
        assert out[0].shape == (1, 1, 3, 3)
    assert nn.MaxPool1d(3, 2, ceil_mode=True)(ember.randn(1, 1, 6)).shape == (1, 1, 3)


def test_trap2_avg_pool_divisor_counts_padding_but_never_the_ceil_overhang():
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 6)
    for count_include_pad, expected in ((True, [1 / 3, 2.0, 4.0, 2.5]), (False, [0.5, 2.0, 4.0, 5.0])):
        out = check_against_torch(lambda lib, x: fn(lib, "avg_pool1d")(
            x, 3, 2, 1, True, count_include_pad), [x])
        np.testing.assert_allclose(to_numpy(out[0])[0, 0], expected)
    # the gradient uses the same divisor
    t = ember.tensor(x, requires_grad=True)
    F.avg_pool1d(t, 3, 2, 1, True, True).sum().backward()
    np.testing.assert_allclose(t.grad.numpy()[0, 0], [1 / 3, 1 / 3 + 1 / 3, 1 / 3, 2 / 3, 1 / 3, 1 / 3 + 1 / 2])


def test_trap3_divisor_override_wins_over_count_include_pad():
    x = randn(1, 2, 5, 5)
    outs = [check_against_torch(lambda lib, x: fn(lib, "avg_pool2d")(
        x, 3, 2, 1, ceil_mode, cip, 4), [x])[0].detach().numpy()
        for cip in (True, False) for ceil_mode in (True, False)]
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[1], outs[3])
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    np.testing.assert_allclose(outs[1][0, 0, 0, 0], xp[0, 0, :3, :3].sum() / 4)


def test_trap4_max_unpool_output_size_bounds_are_strict_and_bad_indices_raise():
    x = ember.randn(1, 1, 4, 4)
    out, indices = F.max_pool2d(x, 2, return_indices=True)  # default unpool size 4, stride 2
    small = ember.tensor([[[[0, 1], [2, 3]]]])
    for ok in (3, 5):  # strictly within one stride of the default
        assert F.max_unpool2d(out, small, 2, output_size=(ok, ok)).shape == (1, 1, ok, ok)
    o, i = out.numpy(), indices.numpy()
    for bad in (2, 6):
        same_error(lambda lib: fn(lib, "max_unpool2d")(lib.tensor(o), lib.tensor(i), 2,
                                                       output_size=(bad, bad)),
                   match=r"invalid output_size .*between 2 and 6")
    # a smaller output that cuts an index off raises instead of writing elsewhere
    idx = ember.tensor([[[[0, 3], [8, 15]]]])
    F.max_unpool2d(out, idx, 2)
    with pytest.raises(RuntimeError, match="Found an invalid max index: 15"):
        F.max_unpool2d(out, idx, 2, output_size=(3, 3))
    with pytest.raises(RuntimeError, match="Found an invalid max index: -1"):
        F.max_unpool2d(out, idx - 1, 2)


def test_trap8_nan_propagates_and_an_all_minus_inf_window_has_a_valid_index():
    nan, inf = float("nan"), float("inf")
    x = np.array([[[1., nan, 3., nan, -inf, -inf, -inf, -inf]]])
    for name in ("max_pool1d", "adaptive_max_pool1d"):
        args = (4, 4, 0, 1, False, True) if name == "max_pool1d" else (2, True)
        out, idx = check_against_torch(lambda lib, x: fn(lib, name)(x, *args), [x])
        assert np.isnan(to_numpy(out)[0, 0, 0]) and idx.numpy()[0, 0, 0] == 3
        assert to_numpy(out)[0, 0, 1] == -inf and 4 <= idx.numpy()[0, 0, 1] < 8
    check_against_torch(lambda lib, x: fn(lib, "max_pool1d")(x[..., 5:], 2, 1, 1, 2, False, True), [x])


def test_trap9_first_of_tied_maxima_wins_and_overlapping_windows_accumulate():
    x = np.ones((1, 1, 4, 4))
    out, idx = check_against_torch(lambda lib, x: fn(lib, "max_pool2d")(x, 3, 1, 1, 1, False, True), [x])
    assert idx.numpy()[0, 0, 0].tolist() == [0, 0, 1, 2]
    t = ember.tensor(x, requires_grad=True)
    F.max_pool2d(t, 3, 1, 1).sum().backward()  # element 0 wins 4 overlapping windows
    assert t.grad.numpy()[0, 0, 0, 0] == 4 and t.grad.numpy().sum() == 16
    # dilation: each window reads a strided set, and the backward follows the indices
    check_against_torch(lambda lib, x: fn(lib, "max_pool2d")(x, 2, 1, 1, 2), [randn(1, 1, 5, 5, ties=True)])


def test_trap10_adaptive_bins_start_floor_end_ceil():
    assert S.adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]  # an end with floor would lose x[4]
    x = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    out = check_against_torch(lambda lib, x: fn(lib, "adaptive_avg_pool1d")(x, 3), [x])
    np.testing.assert_allclose(to_numpy(out[0])[0, 0], [0.5, 2.0, 3.5])
    check_against_torch(lambda lib, x: fn(lib, "adaptive_max_pool2d")(x, (5, 2), True),
                        [randn(2, 3, 3, 7)])  # output larger than input along H


def test_trap15_zero_dilation_stride_or_kernel_raise_instead_of_computing_garbage():
    x = randn(1, 1, 6, 6)
    for kwargs, match in (({"dilation": 0}, "dilation should be greater than zero"),
                          ({"stride": -1}, "stride should be greater than zero"),
                          ({"padding": 2}, "pad should be at most half of effective kernel size")):
        with pytest.raises(RuntimeError, match=match):
            F.max_pool2d(ember.tensor(x), 3, **kwargs)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        F.avg_pool2d(ember.tensor(x), 0, 1)


# -- the shapes module ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    (5, 2, 2, 0, 1, False), (5, 2, 2, 0, 1, True), (5, 2, 2, 1, 1, True), (6, 3, 2, 1, 1, True),
    (7, 3, 3, 1, 2, True), (10, 4, 3, 2, 1, True), (1, 1, 1, 0, 1, True), (8, 3, 2, 1, 3, False),
])
def test_pool_output_size_matches_torch(args):
    n, k, s, p, d, ceil_mode = args
    expected = torch.nn.functional.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode).shape[-1]
    assert S.pool_output_size(n, k, s, p, d, ceil_mode) == expected


def test_unpool_and_adaptive_output_shapes():
    assert S.unpool_output_shape((1, 1, 3, 4), (2, 2), (2, 2), (0, 0)) == (6, 8)
    assert S.unpool_output_shape((1, 1, 3, 4), (3, 2), (2, 1), (1, 0)) == (5, 5)
    assert S.unpool_output_shape((1, 1, 3, 4), (2, 2), (2, 2), (0, 0), (1, 1, 7, 9)) == (7, 9)
    with pytest.raises(ValueError, match="should be a sequence containing 2 or 4 elements"):
        S.unpool_output_shape((1, 1, 3, 4), (2, 2), (2, 2), (0, 0), (7,))
    with pytest.raises(ValueError, match="non-negative spatial dimensions"):
        S.unpool_output_shape((1, 1, 1), (1,), (1,), (1,))
    assert S.list_with_default((None, 3), (2, 3, 5, 7)) == (5, 3)
    assert S.adaptive_sizes(S.list_with_default(4, (2, 3, 5, 7, 8)), 3) == (4, 4, 4)
    with pytest.raises(ValueError, match="Input dimension should be at least 3"):
        S.list_with_default((None, 3), (5, 7))
    with pytest.raises(RuntimeError, match="output_size must be 2"):
        S.check_adaptive_avg_sizes("f", (1, 2, 3), 2)


# -- argument errors: ember raises what torch raises ----------------------------------------------

X2 = randn(1, 2, 5, 5)


@pytest.mark.parametrize("call,match", [
    (lambda lib, x: fn(lib, "max_pool2d")(x, 3, 1, 2), "pad should be at most half"),
    (lambda lib, x: fn(lib, "max_pool2d")(x, 3, 1, -1), "pad must be non-negative"),
    (lambda lib, x: fn(lib, "max_pool2d")(x, 3, 1, 0, 0), "dilation should be greater than zero"),
    (lambda lib, x: fn(lib, "max_pool2d")(x, 2, -1), "stride should be greater than zero"),
    (lambda lib, x: fn(lib, "max_pool2d")(x, 6), r"Given input size: \(2x5x5\). Calculated output "
                                                 r"size: \(2x0x0\). Output size is too small"),
    (lambda lib, x: fn(lib, "max_pool2d")(x[0, 0], 2), "Expected 3D or 4D|3D or 4D"),
    (lambda lib, x: fn(lib, "max_pool2d")(x[:, :0], 2), "Expected 3D or 4D"),
    (lambda lib, x: fn(lib, "max_pool3d")(x, 2, 1, 2), "pad should be at most half"),
    (lambda lib, x: fn(lib, "avg_pool2d")(x, 3, 1, 2), "pad should be at most half"),
    (lambda lib, x: fn(lib, "avg_pool2d")(x, 2, divisor_override=0), "divisor must be not zero"),
    (lambda lib, x: fn(lib, "avg_pool2d")(x, 6), "Output size is too small"),
    (lambda lib, x: fn(lib, "avg_pool3d")(x, 2, 1, 2), "pad should be at most half"),
    (lambda lib, x: fn(lib, "avg_pool3d")(x[0], 2, 1, 2), "non-empty 4D or 5D"),
    (lambda lib, x: fn(lib, "adaptive_avg_pool2d")(x, -1), "greater than or equal to 0"),
    (lambda lib, x: fn(lib, "adaptive_avg_pool2d")(x, (1, 2, 3)), "output_size must be 2"),
    (lambda lib, x: fn(lib, "adaptive_max_pool2d")(x[0, 0, 0], 2), "3D or 4D"),
    (lambda lib, x: fn(lib, "fractional_max_pool2d")(x, 2, output_size=(5, 3)),
     "pool height 2 too large relative to input height 5"),
    (lambda lib, x: fn(lib, "fractional_max_pool2d")(x, 2), "either an output_size or an output_ratio"),
    (lambda lib, x: fn(lib, "fractional_max_pool2d")(
        x, 2, output_size=2, _random_samples=lib.rand(1, 2, 3, dtype=x.dtype)), r"size\(2\) equals to 2"),
    (lambda lib, x: fn(lib, "fractional_max_pool2d")(
        x, 2, output_size=2, _random_samples=lib.rand(1, 2, 2)), "same dtype as input"),
])
def test_bad_arguments_raise_like_torch(call, match):
    same_error(lambda lib: call(lib, lib.tensor(X2)), match=match)


@pytest.mark.parametrize("call,match", [
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o, i + 100, 2), "Found an invalid max index: 1"),
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o, i.int(), 2), "indices should be type int64 but got: Int"),
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o, i[..., :1], 2), "Expected shape of indices to be same"),
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o[0, 0], i[0, 0], 2), "should be a 3d or 4d Tensor"),
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o, i, 2, output_size=(9, 9)), "invalid output_size"),
    (lambda lib, o, i: fn(lib, "max_unpool2d")(o, i, 2, output_size=(5,)), "2 or 4 elements"),
    (lambda lib, o, i: fn(lib, "max_unpool3d")(o[None], i[None], 2, stride=0), "strides should be greater than zero"),
])
def test_bad_unpool_arguments_raise_like_torch(call, match):
    pooled = {}
    for lib in (ember, torch):
        out, idx = fn(lib, "max_pool2d")(lib.tensor(randn(1, 1, 4, 4)), 2, return_indices=True)
        pooled[lib.__name__] = (out, idx)
    for lib in (ember, torch):
        with pytest.raises((RuntimeError, ValueError), match=match):
            call(lib, *pooled[lib.__name__])


def test_non_float_inputs_and_non_tensors_raise():
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.adaptive_avg_pool2d(ember.ones(1, 1, 4, 4, dtype=ember.int64), 2)
    with pytest.raises(TypeError, match="must be Tensor"):
        F.max_pool2d(np.ones((1, 1, 4, 4)), 2)


# -- modules ---------------------------------------------------------------------------------------

MODULES = [
    "MaxPool1d(3, 2)", "MaxPool2d(2)", "MaxPool2d((2, 3), padding=1, ceil_mode=True, return_indices=True)",
    "MaxPool3d(3, 2, 1, 2)", "AvgPool1d(2)", "AvgPool2d(3, 2, 1, True, False, 2)",
    "AvgPool3d(2, divisor_override=2)", "LPPool1d(2.5, 3, 2)", "LPPool2d(2, 3)", "LPPool3d(1, 2)",
    "AdaptiveMaxPool1d(3)", "AdaptiveMaxPool2d((None, 3), return_indices=True)", "AdaptiveMaxPool3d(2)",
    "AdaptiveAvgPool1d(4)", "AdaptiveAvgPool2d(1)", "AdaptiveAvgPool3d((2, None, 1))",
    "MaxUnpool1d(2, padding=1)", "MaxUnpool2d(2)", "MaxUnpool3d(3, 2)",
    "FractionalMaxPool2d(2, output_ratio=0.5)", "FractionalMaxPool3d(2, output_size=3)",
]


@pytest.mark.parametrize("spec", MODULES)
def test_module_repr_and_attributes_match_torch(spec):
    ours, theirs = eval("nn." + spec), eval("torch.nn." + spec)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                 "count_include_pad", "divisor_override", "norm_type", "output_size", "output_ratio"):
        if hasattr(theirs, name):
            assert getattr(ours, name) == getattr(theirs, name), name


@pytest.mark.parametrize("spec,shape", [
    ("MaxPool2d(3, 2, 1, 1, True, True)", (2, 3, 9, 9)), ("AvgPool1d(3, 2, 1, True, False)", (2, 3, 9)),
    ("AvgPool3d(2, 1, 1, False, True, 3)", (1, 2, 4, 5, 4)), ("AdaptiveAvgPool2d((2, None))", (2, 3, 7, 5)),
    ("AdaptiveMaxPool1d(3, True)", (3, 8)), ("MaxPool3d(2)", (1, 2, 4, 4, 4)),
])
def test_modules_positional_arguments_and_forward_match_torch(spec, shape):
    x = randn(*shape)
    ours, theirs = eval("nn." + spec), eval("torch.nn." + spec)
    e_out, t_out = ours(ember.tensor(x)), theirs(torch.tensor(x))
    for e, t in zip(e_out if isinstance(e_out, tuple) else (e_out,),
                    t_out if isinstance(t_out, tuple) else (t_out,)):
        assert_close(e, t)


def test_max_unpool_module_with_output_size():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    # each window's maximum at its top-left: flat indices into the 5x5 plane stay below 16, so
    # they also fit the default 4x4 output (a maximum at index 16+ raises there, as in torch)
    grid = np.add.outer(np.arange(5.0), np.arange(5.0))
    out, indices = pool(ember.tensor(-grid[None, None]))
    assert unpool(out, indices).shape == (1, 1, 4, 4)
    assert unpool(out, indices, output_size=(1, 1, 5, 5)).shape == (1, 1, 5, 5)


def test_fractional_module_is_random_but_reproducible():
    x = ember.randn(2, 3, 10, 10)
    pool = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True)
    ember.manual_seed(7)
    a, ia = pool(x)
    ember.manual_seed(7)
    b, ib = pool(x)
    assert a.shape == (2, 3, 5, 5) and np.array_equal(ia.numpy(), ib.numpy())
    draws = {tuple(pool(x)[1].numpy().ravel()) for _ in range(5)}
    assert len(draws) > 1  # different windows from draw to draw
    fixed = nn.FractionalMaxPool2d(3, output_size=4, _random_samples=ember.rand(2, 3, 2))
    np.testing.assert_array_equal(fixed(x).numpy(), fixed(x).numpy())
    assert "_random_samples" in dict(fixed.named_buffers())
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        nn.FractionalMaxPool3d(0, output_size=3)


# -- bad windows: ember raises exactly torch's errors, in torch's order --------------------------

def _pool_outcome(lib, family, n, kw, shape, return_indices=False, dtype="float32"):
    """None, or the error's type and the first line of its message."""
    F_ = lib.nn.functional
    x = lib.zeros(shape, dtype=getattr(lib, dtype))
    try:
        if family == "max":
            getattr(F_, f"max_pool{n}d")(x, return_indices=return_indices, **kw)
        elif family == "avg":
            getattr(F_, f"avg_pool{n}d")(x, **kw)
        else:
            getattr(F_, f"lp_pool{n}d")(x, 2, **kw)
    except Exception as e:  # noqa: BLE001 - the kind is compared
        return type(e).__name__, str(e).split("\n")[0]
    return None


_WINDOW_VALUES = dict(kernel_size=(-1, 0, 1, 2, 3, 6), stride=(-1, 0, 1, 2),
                      padding=(-1, 0, 1, 2, 3), dilation=(-1, 0, 1, 2, 4))


def _window_shapes(n):
    """Inputs that fit, are smaller than the kernel, unbatched, with an empty batch, channel
    or spatial dim, of a rank too high or too low (0-d included)."""
    return [(1, 2) + (9,) * n, (1, 2) + (2,) * n, (2,) + (3,) * n, (0, 2) + (3,) * n,
            (1, 0) + (3,) * n, (2, 0) + (3,) * (n - 1), (1, 2) + (4,) * (n - 1) + (0,),
            (1, 1, 2) + (3,) * n, (3,) * n, (3,) * (n - 1)]


def _sampled_window_grid(count, seed=0):
    """``count`` calls drawn from the grid of max/avg/lp pools in 1-3 d (with and without
    indices, ceil_mode, divisor_override, a bool input) over windows whose values, zero and
    negative included, are the same or differ per axis (now and then a tuple of a wrong
    length)."""
    rng = random.Random(seed)
    for _ in range(count):
        n, family = rng.choice((1, 2, 3)), rng.choice(("max", "avg", "lp"))
        names = dict(max=("kernel_size", "stride", "padding", "dilation"),
                     avg=("kernel_size", "stride", "padding"), lp=("kernel_size", "stride"))
        kw = {}
        for name in names[family]:
            values = _WINDOW_VALUES[name]
            if name == "stride" and rng.random() < 0.2:
                continue  # stride None: the kernel
            length = n if rng.random() < 0.95 else rng.choice((0, n + 1))  # a bad length
            kw[name] = rng.choice(values) if n == 1 and length == 1 or rng.random() < 0.3 \
                else tuple(rng.choice(values) for _ in range(length))
        if rng.random() < 0.3:
            kw["ceil_mode"] = True
        if family == "avg" and n > 1 and rng.random() < 0.2:
            kw["divisor_override"] = rng.choice((0, 1))
        return_indices = family == "max" and rng.random() < 0.5
        # a bool input (torch refuses it; lp_pool's x**p makes it int64, which torch pools
        # and ember's float kernels do not: left out)
        dtype = "bool" if family != "lp" and rng.random() < 0.03 else "float32"
        yield family, n, kw, rng.choice(_window_shapes(n)), return_indices, dtype


def test_bad_windows_raise_torchs_errors():
    """Over a sampled grid of windows (zero and negative values, per axis) and inputs (too
    small, empty dims, wrong rank), ember fails where torch fails, with torch's exception type
    and the first line of its message: the check that wins first is torch's (ATen checks the
    stride and pad per axis before the kernel; a 1-d pool is a 2-d one over a unit H axis and
    says so), and so are the words ("non-empty 4D or 5D ...", "max_pool3d_with_indices_out_cpu_
    template(): ..."). Found by this grid: avg_pool3d refusing an input smaller than its kernel
    even where the padding would make room."""
    disagree, messages = [], set()
    with torch_threads(1):
        for family, n, kw, shape, return_indices, dtype in _sampled_window_grid(6000):
            e, t = (_pool_outcome(lib, family, n, kw, shape, return_indices, dtype)
                    for lib in (ember, torch))
            if t is not None:
                messages.add(re.sub(r"-?\d+", "#", t[1]))
            if e != t:
                disagree.append((family, n, kw, shape, return_indices, dtype, e, t))
    assert not disagree, disagree[:5]
    assert len(messages) > 30  # the sample reaches most of torch's checks


def _adaptive_outcome(lib, name, output_size, shape, return_indices):
    try:
        getattr(lib.nn.functional, name)(lib.zeros(shape), output_size,
                                         **({"return_indices": True} if return_indices else {}))
    except Exception as e:  # noqa: BLE001 - the kind is compared
        return type(e).__name__, str(e).split("\n")[0]
    return None


def test_bad_adaptive_pools_raise_torchs_errors():
    """Adaptive pools over a sampled grid of output sizes (negative, zero, one: ATen's mean
    shortcut, which checks no input, None: the input's size) and inputs: torch's error type
    and first line, in torch's order (adaptive_max_pool2d checks the input before the sizes
    and lets a negative size fail at the allocation; adaptive_avg_pool2d the other way round,
    and it allows an empty channel dim)."""
    rng, disagree = random.Random(1), []
    with torch_threads(1):
        for _ in range(1500):
            n, family = rng.choice((1, 2, 3)), rng.choice(("avg", "max"))
            values = (-1, 0, 1, 2, 3) if n == 1 else (-1, 0, 1, 2, 3, None)
            output_size = rng.choice(values) if rng.random() < 0.4 else \
                tuple(rng.choice(values) for _ in range(rng.choice((n, n, n, n + 1))))
            if output_size is None:
                continue  # the binding's TypeError, in other words
            shape = rng.choice(_window_shapes(n))
            call = (f"adaptive_{family}_pool{n}d", output_size, shape,
                    family == "max" and rng.random() < 0.5)
            e, t = (_adaptive_outcome(lib, *call) for lib in (ember, torch))
            if e != t:
                disagree.append((call, e, t))
    assert not disagree, disagree[:5]


def test_bad_max_unpools_raise_torchs_errors():
    """max_unpool over a sampled grid of windows (zero and negative values), output sizes and
    inputs (wrong rank, empty dims, indices of another shape or dtype): torch's error type and
    first line, in torch's order (functional.py's output size in Python first; ATen's 2-d
    unpool takes no stride, so a zero stride only changes the default size; a 1-d unpool is a
    2-d one over a unit W axis)."""
    rng, disagree = random.Random(2), []

    def draw(values, n):
        return rng.choice(values) if n == 1 or rng.random() < 0.4 else \
            tuple(rng.choice(values) for _ in range(n))
    with torch_threads(1):
        for _ in range(1500):
            n = rng.choice((1, 2, 3))
            kernel, padding = draw((-1, 0, 1, 2, 3), n), draw((-1, 0, 1, 2), n)
            stride = draw((-1, 0, 1, 2), n) if rng.random() < 0.8 else None
            output_size = None if rng.random() < 0.7 else \
                tuple(rng.choice((0, 3, 5, 7, 9)) for _ in range(rng.choice((n, n + 2, 1))))
            shape = rng.choice(_window_shapes(n))
            index_shape = shape if rng.random() < 0.9 else shape[:-1] + (1,)
            index_dtype = "int64" if rng.random() < 0.9 else "int32"

            def call(lib):
                x = lib.zeros(shape)
                i = lib.zeros(index_shape, dtype=getattr(lib, index_dtype))
                getattr(lib.nn.functional, f"max_unpool{n}d")(x, i, kernel, stride, padding,
                                                              output_size)
            e, t = (_call_outcome(call, lib) for lib in (ember, torch))
            if e != t:
                disagree.append((n, kernel, stride, padding, output_size, shape, index_shape,
                                 index_dtype, e, t))
    assert not disagree, disagree[:5]


def test_bad_fractional_max_pools_raise_torchs_errors():
    """fractional_max_pool over a sampled grid of windows, output sizes (negative included) or
    ratios and inputs: torch's error type and first line, in torch's order (functional.py's
    size from the ratio; ATen's input checks, then each window: 3-d checks time, width,
    height). Kernels of zero or less, which torch runs over empty windows, ember refuses."""
    rng, disagree = random.Random(3), []

    def draw(values, n):
        return rng.choice(values) if rng.random() < 0.4 else \
            tuple(rng.choice(values) for _ in range(n))
    with torch_threads(1):
        for _ in range(800):
            n = rng.choice((2, 3))
            kernel = draw((1, 2, 3, 6), n)
            output_size, ratio = (draw((-1, 0, 1, 2, 3, 5), n), None) if rng.random() < 0.5 \
                else (None, draw((0.3, 0.5, 0.9), n) if n == 3 or rng.random() < 0.2 else
                      tuple(rng.choice((0.3, 0.5, 0.9)) for _ in range(2)))
            shape = rng.choice(_window_shapes(n))
            samples = (rng.choice((1, 2)), 2, n) if rng.random() < 0.8 else (2, 2, n + 1)

            def call(lib):
                getattr(lib.nn.functional, f"fractional_max_pool{n}d")(
                    lib.zeros(shape), kernel, output_size=output_size, output_ratio=ratio,
                    _random_samples=lib.full(samples, 0.5))
            e, t = (_call_outcome(call, lib) for lib in (ember, torch))
            if e != t:
                disagree.append((n, kernel, output_size, ratio, shape, samples, e, t))
    assert not disagree, disagree[:5]


def _call_outcome(call, lib):
    try:
        call(lib)
    except Exception as e:  # noqa: BLE001 - the kind is compared
        return type(e).__name__, str(e).split("\n")[0]
    return None


@pytest.mark.parametrize("family,n,kw,shape,return_indices", [
    ("max", 2, dict(kernel_size=(2, 6), padding=(1, 3), dilation=3), (1, 1, 9, 9), False),
    ("max", 3, dict(kernel_size=(2, 6, 4), padding=(1, 3, 2), dilation=3), (1, 1, 9, 9, 9), False),
    ("max", 1, dict(kernel_size=2, padding=2, dilation=4), (1, 1, 9), True),
    ("max", 1, dict(kernel_size=2, padding=2, dilation=4), (1, 1, 9), False),
    ("max", 1, dict(kernel_size=0), (1, 1, 9), False),
    ("max", 1, dict(kernel_size=2, stride=0), (1, 1, 9), False),
    ("max", 1, dict(kernel_size=2, padding=-1), (1, 1, 9), False),
    ("max", 1, dict(kernel_size=2, dilation=0), (1, 1, 9), False),
    ("max", 1, dict(kernel_size=2, dilation=4), (1, 1, 2), False),
    ("avg", 3, dict(kernel_size=3, padding=1), (1, 1, 2, 3, 3), False),
    ("lp", 3, dict(kernel_size=3), (1, 1, 3, 2, 3), False),
    ("max", 2, dict(kernel_size=0, stride=0), (1, 1, 9, 9), False),
    ("max", 1, dict(kernel_size=0), (1, 0, 9), True),
    ("avg", 1, dict(kernel_size=0), (1, 1, 9), False),
    ("avg", 1, dict(kernel_size=3), (1, 2, 2), False),
    ("avg", 2, dict(kernel_size=2, divisor_override=0), (3, 3), False),
    ("avg", 2, dict(kernel_size=2), (3, 3), False),
    ("avg", 2, dict(kernel_size=0), (1, 1, 2, 3, 3), False),
    ("avg", 3, dict(kernel_size=2, divisor_override=0), (3, 3, 3), False),
    ("max", 3, dict(kernel_size=2, padding=2), (1, 0, 3, 3, 3), False),
    ("max", 2, dict(kernel_size=(0, 2), stride=(1, -1), padding=(2, 1)), (1, 1, 9, 9), False),
])
def test_bad_window_messages_are_torchs(family, n, kw, shape, return_indices):
    """ATen's own words and number order: W before H in 2-d's half-kernel check, 3-d's own
    layout, max_pool1d's checks of its own (without indices; with them it is a 2-d pool over
    a unit H axis, as avg_pool1d), avg_pool3d's input-smaller-than-kernel check, per-axis
    stride and pad checks before the kernel's, avg_pool2d reading the planes' dim (IndexError)
    after the divisor and before the rank, avg_pool3d the rank before the divisor."""
    with torch_threads(1):
        e, t = (_pool_outcome(lib, family, n, kw, shape, return_indices) for lib in (ember, torch))
    assert t is not None and e == t
