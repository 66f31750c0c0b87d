"""RMSNorm, LocalResponseNorm and CrossMapLRN2d (ember/nn/modules/normalization.py,
ember/nn/functional/normalization.py) against torch: outputs, gradients, reprs, state dicts
and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.helpers import check_against_torch, same_error

DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


# ------------------------------------------------------------------ rms_norm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,normalized", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((6,), [6]),
                                              ((1, 2, 3), (3,))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_functional(rng, dtype, shape, normalized, affine, eps):
    w_shape = tuple(normalized)

    def fn(lib, x, w):
        return F(lib).rms_norm(x, normalized, w if affine else None, eps)

    check_against_torch(fn, [rng.standard_normal(shape) * 2, rng.random(w_shape) + 0.5],
                        dtype=dtype)


def test_rms_norm_default_eps_is_the_dtype_epsilon():
    # an all-zero row: x / sqrt(0 + eps) = 0 either way; a tiny row shows eps
    for dtype in ("float32", "float64"):
        x = np.full((1, 4), 1e-5, dtype)
        outs = [F(lib).rms_norm(lib.tensor(x), [4]).numpy() for lib in (ember, torch)]
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)


def test_rms_norm_noncontiguous_and_gradcheck(rng):
    def fn(lib, x, w):
        return F(lib).rms_norm(x.transpose(0, 1), [3], w)

    check_against_torch(fn, [rng.standard_normal((3, 4)), rng.random(3) + 0.5])
    x = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = ember.tensor(rng.random(3) + 0.5, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w: F(ember).rms_norm(x, [3], w), (x, w))
    assert ember.autograd.gradgradcheck(lambda x, w: F(ember).rms_norm(x, [3], w), (x, w))


@pytest.mark.parametrize("call", [
    lambda lib: F(lib).rms_norm(lib.ones(2, 3), [4]),
    lambda lib: F(lib).rms_norm(lib.ones(2, 3), []),
    lambda lib: F(lib).rms_norm(lib.ones(2, 3), [3], lib.ones(2)),
    lambda lib: F(lib).rms_norm(lib.ones(3), [2, 3]),
    lambda lib: F(lib).rms_norm(lib.ones(2, 3), [2, 2, 3]),
    lambda lib: F(lib).rms_norm(lib.ones(2, 3), 3),
    lambda lib: F(lib).rms_norm(lib.ones(2, 3, dtype=lib.int64), [3]),
])
def test_rms_norm_errors_as_torch(call):
    same_error(call)


def test_rms_norm_shape_message():
    same_error(lambda lib: F(lib).rms_norm(lib.ones(2, 3), [4, 3]),
               match=r"^Given normalized_shape=\[4, 3\], expected input with shape \[\*4, 3\], "
                     r"but got input of size\[2, 3\]$")


def test_rms_norm_module(rng):
    x0 = rng.standard_normal((2, 3, 4))
    outs = []
    for lib in (ember, torch):
        m = lib.nn.RMSNorm([3, 4], eps=1e-4).double()
        x = lib.tensor(x0, requires_grad=True)
        m(x).pow(2).sum().backward()
        outs.append((repr(m), list(m.state_dict()), m.weight.grad.numpy(), x.grad.numpy()))
        assert repr(lib.nn.RMSNorm(3, elementwise_affine=False)) == \
            "RMSNorm((3,), eps=None, elementwise_affine=False)"
        assert list(lib.nn.RMSNorm(3, elementwise_affine=False).state_dict()) == []
    assert outs[0][:2] == outs[1][:2]
    np.testing.assert_allclose(outs[0][2], outs[1][2])
    np.testing.assert_allclose(outs[0][3], outs[1][3])
    np.testing.assert_array_equal(ember.nn.RMSNorm(5).weight.detach().numpy(), np.ones(5))


# ------------------------------------------------------------------ local_response_norm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 7, 5), (1, 6, 3, 4), (2, 5, 2, 3, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 9])
def test_local_response_norm(rng, dtype, shape, size):
    def fn(lib, x):
        return F(lib).local_response_norm(x, size, alpha=0.1, beta=0.75, k=2.0)

    check_against_torch(fn, [rng.standard_normal(shape) * 2], dtype=dtype)


def test_local_response_norm_alexnet_defaults_and_gradcheck(rng):
    def fn(lib, x):
        return lib.nn.LocalResponseNorm(5)(x)

    check_against_torch(fn, [rng.standard_normal((2, 8, 4, 4)) * 10])
    x = ember.tensor(rng.standard_normal((1, 4, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: F(ember).local_response_norm(x, 3, 0.5, 0.75, 1.0),
                                    (x,))


def test_local_response_norm_errors_and_empty():
    same_error(lambda lib: F(lib).local_response_norm(lib.ones(2, 3), 2), match="got 2 dim")
    for lib in (ember, torch):
        assert tuple(F(lib).local_response_norm(lib.ones(0, 3, 4), 2).shape) == (0, 3, 4)


def test_local_response_norm_repr():
    for args in ((3,), (5, 1e-3, 0.5, 2.0)):
        assert repr(ember.nn.LocalResponseNorm(*args)) == repr(torch.nn.LocalResponseNorm(*args))


# ------------------------------------------------------------------ CrossMapLRN2d

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [2, 3, 4, 5, 9])
@pytest.mark.parametrize("channels", [1, 4, 7])
def test_cross_map_lrn2d_as_torch(rng, dtype, size, channels):
    # torch's legacy forward window and hand-written backward, not local_response_norm's
    def fn(lib, x):
        return lib.nn.CrossMapLRN2d(size, alpha=0.1, beta=0.75, k=1.5)(x)

    check_against_torch(fn, [rng.standard_normal((2, channels, 3, 2)) * 2], dtype=dtype)


def test_cross_map_lrn2d_errors_and_repr():
    same_error(lambda lib: lib.nn.CrossMapLRN2d(3)(lib.ones(2, 3, 4)), match="Expected input to "
               "be 4D, got 3D instead")
    # size 1: torch's backward cannot place its padded window (it raises in backward)
    for lib in (ember, torch):
        x = lib.ones(1, 3, 2, 2, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(1)(x)
        with pytest.raises(RuntimeError, match="exceeds dimension size"):
            y.sum().backward()
    assert repr(ember.nn.CrossMapLRN2d(3)) == repr(torch.nn.CrossMapLRN2d(3))
    assert not isinstance(ember.nn.CrossMapLRN2d(3), ember.nn.LocalResponseNorm)
