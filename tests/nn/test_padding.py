"""F.pad and the padding layers against torch (the kernel itself: tests/_kernels/test_pad.py)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch, same_error

MODES = ["constant", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, pads", [
    ((2, 3, 6), (2, 1)), ((3, 6), (0, 3)),                         # 1-d, batched and not
    ((2, 2, 4, 5), (1, 2, 3, 0)), ((2, 4, 5), (1, 1, 1, 1)),       # 2-d
    ((1, 2, 3, 4, 5), (1, 0, 2, 1, 0, 2)), ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1)),   # 3-d
    ((2, 3, 6), (-1, 2)), ((2, 2, 4, 5), (-1, 2, 1, -2)),          # cropping
])
def test_pad_against_torch(shape, pads, mode, dtype):
    x = np.random.default_rng(0).standard_normal(shape)
    out = check_against_torch(lambda lib, t: lib.nn.functional.pad(t, pads, mode), [x], dtype=dtype)
    want = torch.nn.functional.pad(torch.tensor(x, requires_grad=True), pads, mode)
    assert type(out[0].grad_fn).__name__ == type(want.grad_fn).__name__


def test_constant_pad_value_any_number_of_dims_and_cropping():
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    for pads in [(1, 2), (1, 1, 2, 0), (0, 0, 0, 0, 1, 3), (-1, -1, 1, 0, 0, 0), (-4, 1)]:
        check_against_torch(lambda lib, t: lib.nn.functional.pad(t, pads, value=-2.5), [x])
    check_against_torch(lambda lib, t: lib.nn.functional.pad(t, [1, 1], "constant", None), [x])


def test_non_constant_modes_accept_value_zero_only():
    x = np.ones((1, 2, 3))
    check_against_torch(lambda lib, t: lib.nn.functional.pad(t, (1, 1), "replicate", 0.0), [x])
    same_error(lambda lib: lib.nn.functional.pad(lib.ones(1, 2, 3), (1, 1), "reflect", value=1.0),
               match='Padding mode "reflect" doesn\'t take in value argument')


def test_pad_integer_tensor_keeps_dtype():
    x = np.arange(6).reshape(1, 2, 3)
    for mode in MODES:
        e = ember.nn.functional.pad(ember.tensor(x), (1, 1), mode)
        t = torch.nn.functional.pad(torch.tensor(x), (1, 1), mode)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
        assert e.dtype == ember.int64


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_pad_property_against_torch(data):
    mode = data.draw(st.sampled_from(MODES))
    n = data.draw(st.integers(1, 3))
    batched = data.draw(st.booleans())
    spatial = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    shape = ([2] if batched else []) + [2] + spatial
    pads = []
    for size in reversed(spatial):
        hi = {"reflect": size - 1, "circular": size}.get(mode, 4)
        pads += [data.draw(st.integers(0, hi)), data.draw(st.integers(0, hi))]
    x = np.random.default_rng(0).standard_normal(shape)
    check_against_torch(lambda lib, t: lib.nn.functional.pad(t, tuple(pads), mode), [x])


@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck(mode):
    x = ember.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: ember.nn.functional.pad(t, (2, 1, 1, 2), mode), (x,))


@pytest.mark.parametrize("call, kind_match", [
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (4, 0), "reflect"),
     r"Argument #4: Padding size should be less than the corresponding input dimension, but got: "
     r"padding \(4, 0\) at dimension 2 of input \[1, 3, 4\]"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (0, 0, 0, 3), "reflect"),
     r"Argument #6: Padding size should be less than the corresponding input dimension"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (5, 0), "circular"),
     "Padding value causes wrapping around more than once"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (-5, 0), "circular"),
     "Negative padding value is resulting in an empty dimension"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (-4, 0), "replicate"),
     r"input \(W: 4\) is too small. Calculated output W: 0"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (-3, 0, -3, 0), "reflect"),
     r"input \(H: 3, W: 3\) is too small. Calculated output H: 0 W: 0"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (1,)),
     "Padding length must be divisible by 2"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (1,) * 8),
     "Padding length should be less than or equal to two times the input dimension but got "
     "padding length 8 and input of dimension 3"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (1, 1), "wrap"),
     "Unrecognised padding mode wrap"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (1, 1, 1, 1, 1, 1), "reflect"),
     "Padding size 6 is not supported for 3D input tensor"),
    (lambda lib: lib.nn.functional.pad(lib.ones(4), (1, 1), "replicate"),
     "Padding size 2 is not supported for 1D input tensor"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 0, 4), (1, 1), "reflect"),
     r"Expected 2D or 3D \(batch mode\) tensor with possibly 0 batch size and other non-zero "
     r"dimensions for input, but got: \[1, 0, 4\]"),
    (lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 4), (1.5, 0)),
     "must be tuple of ints, but found element of type float at pos 0"),
])
def test_pad_errors_like_torch(call, kind_match):
    same_error(call, match=kind_match)


def test_empty_batch_and_circular_empty_channels_are_allowed():
    for mode in ("reflect", "replicate", "circular"):
        check_against_torch(lambda lib, t: lib.nn.functional.pad(t, (1, 1), mode),
                            [np.zeros((0, 2, 3))])
    check_against_torch(lambda lib, t: lib.nn.functional.pad(t, (1, 1), "circular"),
                        [np.zeros((2, 0, 3))])


LAYERS = [
    ("ZeroPad1d", (2,)), ("ZeroPad1d", ((1, 2),)), ("ZeroPad2d", (1,)),
    ("ZeroPad2d", ((1, 0, 2, 1),)),
    ("ZeroPad3d", (1,)), ("ConstantPad1d", (2, 3.5)), ("ConstantPad2d", ((1, 0, 2, 1), -1.0)),
    ("ConstantPad3d", (1, 0.5)), ("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 0, 2, 1),)),
    ("ReflectionPad3d", (1,)), ("ReplicationPad1d", ((3, 1),)), ("ReplicationPad2d", (2,)),
    ("ReplicationPad3d", ((1, 2, 0, 1, 2, 0),)), ("CircularPad1d", (2,)),
    ("CircularPad2d", ((1, 0, 2, 1),)), ("CircularPad3d", (1,)),
]


@pytest.mark.parametrize("name, args", LAYERS, ids=[f"{n}{a}" for n, a in LAYERS])
def test_padding_layers_against_torch(name, args):
    assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    n = int(name[-2])
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5, 6)[:n + 2])
    check_against_torch(lambda lib, t: getattr(lib.nn, name)(*args)(t), [x])
    check_against_torch(lambda lib, t: getattr(lib.nn, name)(*args)(t), [x[0]])   # unbatched


def test_reflection_pad_larger_than_input_raises():
    same_error(lambda lib: lib.nn.ReflectionPad2d(3)(lib.ones(1, 1, 3, 8)),
               match="Padding size should be less than the corresponding input dimension")


def test_circular_pad_layer_checks_dims():
    same_error(lambda lib: lib.nn.CircularPad2d(1)(lib.ones(2, 3)),
               match=r"expected 3D or 4D input \(got 2D input\)")
