"""F.pixel_shuffle / pixel_unshuffle / channel_shuffle and nn.PixelShuffle / PixelUnshuffle /
ChannelShuffle against torch: values and gradients over factors and leading batch dims,
round trips, gradcheck, errors and reprs."""
import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember import nn
from tests.helpers import check_against_torch, same_error

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,r", [((2, 8, 3, 5), 2), ((1, 18, 2, 2), 3), ((4, 3, 3), 1),
                                     ((9, 2, 3), 3), ((2, 3, 8, 1, 4), 2), ((0, 4, 2, 2), 2)])
def test_pixel_shuffle_matches_torch(shape, r, dtype):
    x = RNG.standard_normal(shape)
    # torch 2.13's PixelShuffleBackward0 fails on an empty batch (a wrongly shaped gradient)
    grad = shape[0] != 0
    check_against_torch(lambda lib, t: lib.nn.functional.pixel_shuffle(t, r), [x], dtype,
                        grad=grad)
    check_against_torch(lambda lib, t: lib.nn.PixelShuffle(r)(t), [x], dtype, grad=grad)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,r", [((2, 2, 6, 4), 2), ((1, 1, 3, 9), 3), ((3, 4, 4), 1),
                                     ((2, 3, 1, 4, 6), 2)])
def test_pixel_unshuffle_matches_torch(shape, r, dtype):
    x = RNG.standard_normal(shape)
    check_against_torch(lambda lib, t: lib.nn.functional.pixel_unshuffle(t, r), [x], dtype)
    check_against_torch(lambda lib, t: lib.nn.PixelUnshuffle(r)(t), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,g", [((2, 6, 3), 2), ((2, 6, 3, 4), 3), ((1, 4, 2, 2, 2), 4),
                                     ((3, 5, 2), 1), ((3, 2, 8, 5), 2)])
def test_channel_shuffle_matches_torch(shape, g, dtype):
    x = RNG.standard_normal(shape)
    check_against_torch(lambda lib, t: lib.nn.functional.channel_shuffle(t, g), [x], dtype)
    check_against_torch(lambda lib, t: lib.nn.ChannelShuffle(g)(t), [x], dtype)
    check_against_torch(lambda lib, t: lib.nn.functional.native_channel_shuffle(t, g), [x], dtype,
                        grad=False)


def test_native_channel_shuffle_has_no_derivative_as_torch():
    def run(lib, a):
        lib.nn.functional.native_channel_shuffle(lib.tensor(a, requires_grad=True), 2).sum() \
            .backward()
    same_error(run, np.zeros((1, 4, 2)), match="derivative for aten::native_channel_shuffle")


def test_empty_batch_backward():
    x = ember.zeros(0, 4, 2, 2, requires_grad=True)
    F.pixel_shuffle(x, 2).sum().backward()
    assert x.grad.shape == (0, 4, 2, 2)


def test_non_contiguous_input():
    x = RNG.standard_normal((5, 3, 8, 2))  # permuted to (2, 8, 3, 5)
    check_against_torch(lambda lib, t: lib.nn.functional.pixel_shuffle(t.permute(3, 2, 1, 0), 2),
                        [x])


def test_unshuffle_undoes_shuffle_and_gradcheck():
    x = ember.tensor(RNG.standard_normal((2, 8, 3, 2)), requires_grad=True)
    assert np.array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).detach().numpy(),
                          x.detach().numpy())
    assert ember.autograd.gradcheck(lambda t: F.pixel_shuffle(t, 2), (x,))
    assert ember.autograd.gradcheck(lambda t: F.pixel_unshuffle(t, 1), (x,))
    assert ember.autograd.gradcheck(lambda t: F.channel_shuffle(t, 4), (x,))
    assert ember.autograd.gradgradcheck(lambda t: F.pixel_shuffle(t, 2) ** 2, (x,))


def test_grad_fn_names_and_reprs_are_torchs():
    x = ember.randn(1, 4, 2, 2, requires_grad=True)
    assert type(F.pixel_shuffle(x, 2).grad_fn).__name__ == "PixelShuffleBackward0"
    assert type(F.pixel_unshuffle(x, 2).grad_fn).__name__ == "PixelUnshuffleBackward0"
    assert type(F.channel_shuffle(x, 2).grad_fn).__name__ == "ChannelShuffleBackward0"
    for make in (lambda lib: lib.nn.PixelShuffle(3), lambda lib: lib.nn.PixelUnshuffle(2),
                 lambda lib: lib.nn.ChannelShuffle(4)):
        assert repr(make(ember)) == repr(make(torch))
    assert nn.PixelShuffle(3).upscale_factor == 3
    assert nn.PixelUnshuffle(2).downscale_factor == 2
    assert nn.ChannelShuffle(4).groups == 4


@pytest.mark.parametrize("name,shape,factor,match", [
    ("pixel_shuffle", (2, 8, 3, 3), 3, r"input.size\(-3\)=8 is not divisible by 9"),
    ("pixel_shuffle", (2, 8, 3, 3), 0, "expects a positive upscale_factor, but got 0"),
    ("pixel_shuffle", (2, 8, 3, 3), -2, "expects a positive upscale_factor, but got -2"),
    ("pixel_shuffle", (8, 3), 2, r"at least 3 dimensions, but got input with 2 dimension\(s\)"),
    ("pixel_shuffle", (8, 2), 0, "at least 3 dimensions"),
    ("pixel_shuffle", (2, 8, 3, 3), 2.0, "must be int, not float"),
    ("pixel_unshuffle", (2, 8, 3, 3), 2, r"height to be divisible .*input.size\(-2\)=3"),
    ("pixel_unshuffle", (2, 8, 4, 6), 4, r"width to be divisible .*input.size\(-1\)=6"),
    ("pixel_unshuffle", (2, 8, 4, 6), 0, "expects a positive downscale_factor, but got 0"),
    ("pixel_unshuffle", (4, 6), 2, "at least 3 dimensions"),
    ("channel_shuffle", (2, 8, 3, 3), 3, "Got 8 channels and 3 groups"),
    ("channel_shuffle", (2, 8, 3, 3), 0, "must be positive. Value of groups:0"),
    ("channel_shuffle", (2, 8, 3, 3), -1, "must be positive. Value of groups:-1"),
    ("channel_shuffle", (2, 8), 2, r"> 2 dims, but got input with sizes \[2, 8\]"),
    ("channel_shuffle", (8,), 0, r"> 2 dims"),
    ("channel_shuffle", (2, 8, 3), True, "must be int, not bool"),
    ("channel_shuffle", (2, 8, 3), 2.0, "must be int, not float"),
])
def test_bad_arguments_raise_as_torch(name, shape, factor, match):
    same_error(lambda lib, a: getattr(lib.nn.functional, name)(lib.tensor(a), factor),
               np.zeros(shape, np.float32), match=match)
