"""Creation functions accept every size form torch does, and Size arithmetic stays a Size."""
from __future__ import annotations

import pytest
import torch

import ember

SIZE_FORMS = [((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}),
              ((), {"size": [2, 3]}), ((), {"size": "Size"})]


def _args(lib, args, kwargs):
    kwargs = {k: (lib.Size([2, 3]) if v == "Size" else v) for k, v in kwargs.items()}
    return args, kwargs


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("args,kwargs", SIZE_FORMS)
def test_size_forms(name, args, kwargs):
    for lib in (ember, torch):
        a, k = _args(lib, args, kwargs)
        t = getattr(lib, name)(*a, **k)
        assert tuple(t.shape) == (2, 3) and str(t.dtype).split(".")[1] == "float32"


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn"])
def test_dtype_requires_grad_and_out(name):
    for lib in (ember, torch):
        fn = getattr(lib, name)
        t = fn(size=(2,), dtype=lib.float64, requires_grad=True)
        assert t.dtype is lib.float64 and t.requires_grad and t.is_leaf
        out = lib.empty(0)
        assert fn(2, 3, out=out) is out and tuple(out.shape) == (2, 3)


def test_generator_keyword():
    g = ember.Generator().manual_seed(3)
    a = ember.rand(size=(4,), generator=g)
    b = ember.rand(4, generator=ember.Generator().manual_seed(3))
    assert ember.equal(a, b)


def test_positional_and_keyword_size_together_is_an_error():
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            lib.rand(2, size=(3,))


@pytest.mark.parametrize("call", ["full(size=(2, 3), fill_value=1.5)", "full([2, 3], 7)",
                                  "full((2, 3), True)", "randint(5, (2, 3))",
                                  "randint(2, 5, size=[2, 3])", "randint(high=5, size=(2, 3))",
                                  "randint(5, size=(2, 3), dtype={lib}.int32)",
                                  "normal(0.0, 1.0, size=(2, 3))", "normal(2, 3, (2, 3))",
                                  "normal({lib}.zeros(2, 3), 1.0)", "normal(0.5, {lib}.ones(2, 3))",
                                  "normal(mean={lib}.zeros(2, 3), std={lib}.ones(2, 3))",
                                  "normal(0.0, 1.0, (2, 3), dtype={lib}.float64)"])
def test_shape_and_dtype_agree_with_torch(call):
    got = eval("ember." + call.format(lib="ember"))
    expected = eval("torch." + call.format(lib="torch"))
    assert tuple(got.shape) == tuple(expected.shape) == (2, 3)
    assert str(got.dtype).split(".")[1] == str(expected.dtype).split(".")[1]


def test_normal_requires_grad():
    for lib in (ember, torch):
        t = lib.normal(0.0, 1.0, size=(3,), requires_grad=True)
        assert t.requires_grad and t.is_leaf


def test_normal_of_two_numbers_needs_a_size():
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            lib.normal(0.0, 1.0)


def test_out_refuses_requires_grad():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
            lib.zeros(2, out=lib.ones(2).requires_grad_())


def test_random_int_dtype_raises_as_torch():
    for lib in (ember, torch):
        with pytest.raises(NotImplementedError, match="\"normal_kernel_cpu\" not implemented for 'Long'"):
            lib.randn(2, dtype=lib.int64)


# ---------------------------------------------------------------------------- Size
@pytest.mark.parametrize("expr", ["(1, 1) + s", "s + (1,)", "s[1:]", "s[:-1]", "s * 2", "2 * s",
                                  "s + s", "s[::2]"])
def test_size_arithmetic_returns_size(expr):
    got = eval(expr, {"s": ember.zeros(2, 3, 4).shape})
    expected = eval(expr, {"s": torch.zeros(2, 3, 4).shape})
    assert type(got) is ember.Size and type(expected) is torch.Size
    assert tuple(got) == tuple(expected)
    assert repr(got) == repr(expected).replace("torch", "ember")


def test_size_indexing_returns_int():
    assert ember.zeros(2, 3).shape[1] == 3 and type(ember.zeros(2, 3).shape[1]) is int


def test_size_refuses_list_concatenation_as_torch():
    for lib in (ember, torch):
        s = lib.zeros(2).shape
        with pytest.raises(TypeError):
            s + [1]
        with pytest.raises(TypeError):
            [1] + s
