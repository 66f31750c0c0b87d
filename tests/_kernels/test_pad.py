"""The padding kernel (ember/_kernels/pad.py) against torch.nn.functional.pad, on arrays."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

from ember._kernels.pad import check_pad, pad, pad_backward, padded_shape, source_index

MODES = ["constant", "reflect", "replicate", "circular"]


def torch_pad(x, pads, mode, value=0.0):
    """torch's value and the adjoint applied to a random upstream gradient."""
    t = torch.from_numpy(x).requires_grad_()
    out = F.pad(t, pads, mode=mode, value=value if mode == "constant" else None)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), g, t.grad.numpy()


def assert_matches_torch(x, pads, mode, value=0.0):
    want, g, want_grad = torch_pad(x, pads, mode, value)
    got = pad(x, pads, mode, value)
    assert got.shape == want.shape and got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)
    got_grad = pad_backward(g, x.shape, pads, mode)
    assert got_grad.shape == x.shape and got_grad.dtype == x.dtype
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-6, atol=1e-6)


def arange(*shape, dtype=np.float64):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d_2d_3d_against_torch(mode, dtype):
    rng = np.random.default_rng(0)
    assert_matches_torch(rng.standard_normal((2, 3, 5)).astype(dtype), (2, 3), mode)
    assert_matches_torch(rng.standard_normal((2, 3, 4, 5)).astype(dtype), (1, 3, 2, 0), mode)
    assert_matches_torch(rng.standard_normal((2, 2, 3, 4, 5)).astype(dtype), (1, 2, 0, 3, 2, 1),
                         mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pads", [(-1, 2), (2, -1), (-2, -1), (0, 0), (3, 3)])
def test_negative_pads_crop(mode, pads):
    assert_matches_torch(arange(1, 3, 4), pads, mode)


def test_reflect_negative_beyond_output_follows_aten():
    # ATen's index formula reads x[1] when (-5, 2) leaves a single output element
    assert_matches_torch(arange(1, 3, 4), (-5, 2), "reflect")


def test_index_maps_read_like_the_docstring():
    assert source_index(4, 3, 2, "reflect").tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1]
    assert source_index(4, 3, 2, "replicate").tolist() == [0, 0, 0, 0, 1, 2, 3, 3, 3]
    assert source_index(4, 3, 2, "circular").tolist() == [1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_circular_wraps_the_cropped_part():
    # torch's _pad_circular copies the pads from the kept part: (-1, 2) on [0 1 2 3] -> 1 2 3 1 2
    np.testing.assert_array_equal(pad(arange(4), (-1, 2), "circular"), [1, 2, 3, 1, 2])
    # a pad longer than the kept part wraps it again: torch's values; its gradient for this
    # case comes from overlapping copies, ours is the true adjoint (test_adjoint_identity)
    np.testing.assert_array_equal(pad(arange(4), (-2, 4), "circular"), [2, 3, 2, 3, 2, 3])


def test_constant_value_and_dtype():
    assert_matches_torch(arange(2, 3, dtype=np.float32), (1, 2, 2, 1), "constant", value=-3.5)
    got = pad(arange(2, 3).astype(np.int64), (1, 1), "constant", 2.5)
    assert got.dtype == np.int64 and got[0, 0] == 2      # value cast like torch


def test_constant_pads_leading_dims_and_empty():
    assert_matches_torch(arange(2, 3, 4), (0, 0, 0, 0, 1, 2), "constant")
    assert_matches_torch(arange(1, 3, 4), (-4, 0), "constant")     # cropped to empty
    assert pad(arange(1, 0, 4), (1, 1), "constant").shape == (1, 0, 6)


def test_replicate_edge_gradient_accumulates():
    g = pad_backward(np.ones((1, 1, 9)), (1, 1, 4), (3, 2), "replicate")
    np.testing.assert_array_equal(g, [[[4, 1, 1, 3]]])


def test_adjoint_identity():
    # <pad(x), y> == <x, pad_backward(y)> in every mode, padding three axes
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 6))
    for mode in MODES:
        pads = (2, -1, 3, 1, -1, 2)
        y = rng.standard_normal(padded_shape(x.shape, pads))
        lhs = np.vdot(pad(x, pads, mode), y)
        rhs = np.vdot(x, pad_backward(y, x.shape, pads, mode))
        assert np.isclose(lhs, rhs), mode


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_property_against_torch(data):
    mode = data.draw(st.sampled_from(MODES))
    nsp = data.draw(st.integers(1, 3))
    spatial = data.draw(st.lists(st.integers(1, 6), min_size=nsp, max_size=nsp))
    shape = (data.draw(st.integers(1, 2)), 2, *spatial)
    pads = []
    for n in reversed(spatial):
        hi = {"reflect": n - 1, "circular": n}.get(mode, 7)
        lo = -(n - 1) // 2
        left, right = data.draw(st.integers(lo, hi)), data.draw(st.integers(lo, hi))
        if mode == "circular":   # torch's gradient is only the adjoint while no pad re-wraps
            assume(max(left, right) <= n - max(-left, 0) - max(-right, 0))
        pads += [left, right]
    x = np.random.default_rng(0).standard_normal(shape)
    assert_matches_torch(x, tuple(pads), mode)


@pytest.mark.parametrize("shape, pads, mode, match", [
    ((1, 3, 4), (4, 0), "reflect", r"Argument #4: Padding size should be less than the "
     r"corresponding input dimension, but got: padding \(4, 0\) at dimension 2 of input "
     r"\[1, 3, 4\]"),
    ((1, 1, 3, 3), (0, 0, 0, 3), "reflect", r"Argument #6: .* padding \(0, 3\) at dimension 2"),
    ((1, 3, 4), (5, 0), "circular", "wrapping around more than once"),
    ((1, 3, 4), (-5, 0), "circular", "Negative padding value is resulting in an empty dimension"),
    ((1, 3, 4), (-4, 1), "circular", "crops all 4 elements"),
    ((1, 3, 4), (-4, 0), "replicate", r"input \(W: 4\) is too small. Calculated output W: 0"),
    ((1, 1, 3, 3), (-3, 0, -3, 0), "reflect",
     r"input \(H: 3, W: 3\) is too small. Calculated output H: 0 W: 0"),
    ((1, 3, 4), (-5, 0), "constant", "resulted in a negative output size"),
    ((1, 3, 4), (1,), "constant", "Padding length must be divisible by 2"),
    ((3, 4), (1, 1, 1, 1, 1, 1), "constant", "Padding length should be less than or equal to two"),
])
def test_bad_pads_raise(shape, pads, mode, match):
    with pytest.raises(RuntimeError, match=match):
        check_pad(shape, pads, mode)


def test_bad_mode_raises():
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        check_pad((1, 3, 4), (1, 1), "foo")


def test_valid_pads_pass_check():
    check_pad((1, 1, 3, 3), (0, 0, -3, 0), "reflect")     # one empty axis is allowed (ATen)
    check_pad((1, 3, 4), (4, 4), "circular")
    check_pad((1, 3, 4), (-4, 0), "constant")
