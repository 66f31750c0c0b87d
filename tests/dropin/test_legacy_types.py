"""torch's legacy tensor types (FloatTensor, LongTensor ...) and Tensor.type(), as torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
         "CharTensor", "ByteTensor", "BoolTensor"]


def _dtype_name(t):
    return str(t.dtype).split(".")[1]


@pytest.mark.parametrize("name", NAMES)
def test_constructors_give_the_dtype(name):
    for args in ([[1, 0, 2]], [2, 3], [ember.Size([2, 3])], []):
        targs = [torch.Size(a) if isinstance(a, ember.Size) else a for a in args]
        got, expected = getattr(ember, name)(*args), getattr(torch, name)(*targs)
        assert _dtype_name(got) == _dtype_name(expected)
        assert tuple(got.shape) == tuple(expected.shape)
        if args and isinstance(args[0], list):
            np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_long_tensor_truncates_floats():
    np.testing.assert_array_equal(ember.LongTensor([1.7, -2.2]).numpy(), torch.LongTensor([1.7, -2.2]).numpy())


@pytest.mark.parametrize("name", NAMES)
def test_isinstance_checks_the_dtype(name):
    for dt in ("float32", "float64", "int64", "uint8", "bool"):
        got = isinstance(ember.zeros(2, dtype=getattr(ember, dt)), getattr(ember, name))
        expected = isinstance(torch.zeros(2, dtype=getattr(torch, dt)), getattr(torch, name))
        assert got == expected, (name, dt)
    assert isinstance(ember.zeros(2), ember.Tensor)


@pytest.mark.parametrize("name", NAMES)
def test_type_strings(name):
    t = getattr(torch, name)([1])
    e = getattr(ember, name)([1])
    assert e.type() == t.type().replace("torch.", "ember.")


@pytest.mark.parametrize("target", ["{lib}.LongTensor", "'torch.DoubleTensor'", "'ember.IntTensor'",
                                    "'torch.HalfTensor'", "{lib}.int16"])
def test_type_casts(target):
    libs = {"ember": ember, "torch": torch}
    got = ember.tensor([1.5, 2.5]).type(eval(target.format(lib="ember"), libs))
    expected = torch.tensor([1.5, 2.5]).type(eval(target.format(lib="torch").replace("ember.", "torch."),
                                                  libs))
    assert _dtype_name(got) == _dtype_name(expected)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_type_to_own_type_is_the_same_tensor():
    t = ember.zeros(2)
    assert t.type(ember.FloatTensor) is t


def test_invalid_type_name():
    for lib in (ember, torch):
        for name in ("torch.Foo", "FloatTensor"):
            with pytest.raises(ValueError, match=f"invalid type: '{name}'"):
                lib.zeros(2).type(name)


def test_wrong_dtype_tensor_is_refused():
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            lib.FloatTensor(lib.tensor([1, 2]))
