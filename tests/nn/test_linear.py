"""Linear, Bilinear, Identity, Flatten and Unflatten against torch."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch, same_error


def test_tutorial_linear_3_to_4():
    layer = ember.nn.Linear(3, 4)
    layer.weight.data = ember.tensor([[1.0] * 3, [2.0] * 3, [3.0] * 3, [4.0] * 3])
    layer.bias.data.fill_(0.5)
    out = layer(ember.tensor([[1.0, 2, 3]]))
    np.testing.assert_array_equal(out.detach().numpy(), [[6.5, 12.5, 18.5, 24.5]])
    assert repr(out) == ("tensor([[ 6.5000, 12.5000, 18.5000, 24.5000]], "
                         "grad_fn=<AddmmBackward0>)")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (2, 1, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_gradients_and_grad_fn(x_shape, bias, dtype):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((6, 4))]
    if bias:
        arrays.append(rng.standard_normal(6))
    fn = lambda lib, *t: lib.nn.functional.linear(*t)  # noqa: E731
    out = check_against_torch(fn, arrays, dtype=dtype)[0]
    want = fn(torch, *[torch.tensor(a, requires_grad=True) for a in arrays])
    assert type(out.grad_fn).__name__ == type(want.grad_fn).__name__


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(1, 7), st.integers(1, 7),
       st.booleans())
def test_linear_property_any_leading_dims(lead, fin, fout, bias):
    rng = np.random.default_rng(fin * 10 + fout)
    arrays = [rng.standard_normal((*lead, fin)), rng.standard_normal((fout, fin))]
    if bias:
        arrays.append(rng.standard_normal(fout))
    check_against_torch(lambda lib, *t: lib.nn.functional.linear(*t), arrays, dtype="float32")


def test_linear_broadcast_bias_and_vector_weight():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    check_against_torch(lambda lib, t, w, b: lib.nn.functional.linear(t, w, b),
                        [x, rng.standard_normal((5, 4)), rng.standard_normal(1)])
    check_against_torch(lambda lib, t, w: lib.nn.functional.linear(t, w),
                        [x, rng.standard_normal(4)])


def test_linear_gradcheck():
    rng = np.random.default_rng(2)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((2, 3, 4), (5, 4), (5,))]
    assert gradcheck(ember.nn.functional.linear, inputs)


def test_linear_one_node_per_call():
    x = ember.randn(8, 4, requires_grad=True)
    y = ember.nn.Linear(4, 3)(x)
    assert [type(n).__name__ for n, _ in y.grad_fn.next_functions] == [
        "AccumulateGrad", "AccumulateGrad", "AccumulateGrad"]


@pytest.mark.parametrize("call, match", [
    (lambda lib: lib.nn.functional.linear(lib.ones(64, 400), lib.ones(120, 300)),
     r"mat1 and mat2 shapes cannot be multiplied \(64x400 and 300x120\)"),
    (lambda lib: lib.nn.functional.linear(lib.ones(2, 4, 3), lib.ones(5, 2)),
     r"mat1 and mat2 shapes cannot be multiplied \(8x3 and 2x5\)"),
    (lambda lib: lib.nn.functional.linear(lib.ones(2, 3), lib.ones(5, 3), lib.ones(4)),
     r"The expanded size of the tensor \(5\) must match the existing size \(4\)"),
    (lambda lib: lib.nn.functional.linear(lib.tensor(1.0), lib.ones(5, 3)),
     "both arguments to linear need to be at least 1D"),
    (lambda lib: lib.nn.functional.linear(lib.ones(2, 3, dtype=lib.float64), lib.ones(5, 3)),
     "dtype"),
    (lambda lib: lib.nn.Bilinear(0, 2, 3), r"in1_features must be > 0"),
])
def test_linear_errors(call, match):
    same_error(call, match=match)


def test_linear_init_matches_torchs_distribution():
    ember.manual_seed(0)
    layer = ember.nn.Linear(400, 120)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.shape == (120, 400) and b.shape == (120,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound      # U(-k, k): std k / sqrt 3
    assert ember.nn.Linear(3, 2, bias=False).bias is None
    assert ember.nn.Linear(3, 2, dtype=ember.float64).weight.dtype == ember.float64


def test_linear_module_forward_backward_against_torch():
    t = torch.nn.Linear(5, 3)
    e = ember.nn.Linear(5, 3)
    e.weight.data = ember.tensor(t.weight.detach().numpy())
    e.bias.data = ember.tensor(t.bias.detach().numpy())
    x = np.random.default_rng(0).standard_normal((4, 2, 5)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(e.bias.grad.numpy(), t.bias.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_against_torch(lead, bias, dtype):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((*lead, 3)), rng.standard_normal((*lead, 4)),
              rng.standard_normal((2, 3, 4))]
    if bias:
        arrays.append(rng.standard_normal(2))
    out = check_against_torch(lambda lib, *t: lib.nn.functional.bilinear(*t), arrays, dtype=dtype)
    want = torch.nn.functional.bilinear(*[torch.tensor(a, requires_grad=True) for a in arrays])
    assert type(out[0].grad_fn).__name__ == type(want.grad_fn).__name__


def test_bilinear_gradcheck_and_module():
    rng = np.random.default_rng(4)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((3, 2), (3, 4), (5, 2, 4), (5,))]
    assert gradcheck(ember.nn.functional.bilinear, inputs)
    m = ember.nn.Bilinear(2, 4, 5)
    assert m(ember.randn(3, 2), ember.randn(3, 4)).shape == (3, 5)
    bound = 1 / math.sqrt(2)
    assert np.abs(m.weight.detach().numpy()).max() <= bound


@pytest.mark.parametrize("shapes, match", [
    (((2, 3), (2, 4), (5, 3, 3)), "input2 size does not match weight size: got 4 but expected 3"),
    (((2, 3), (3, 4), (5, 3, 4)), "input batch dimensions do not match at dim 0: got 2 and 3"),
    (((2, 3), (2, 1, 4), (5, 3, 4)), "input dimensions do not match: got 2 and 3"),
    (((2, 3), (2, 4), (5, 2, 4)), "input1 size does not match weight size: got 3 but expected 2"),
])
def test_bilinear_errors(shapes, match):
    same_error(lambda lib: lib.nn.functional.bilinear(*[lib.ones(*s) for s in shapes]),
               match=match)
    same_error(lambda lib: lib.nn.functional.bilinear(lib.ones(2, 3), lib.ones(2, 4),
                                                      lib.ones(5, 3, 4), lib.ones(4)),
               match="bias size does not match weight size: got 4 but expected 5")


def test_identity_flatten_unflatten():
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 5))
    ident = ember.nn.Identity(54, unused="x")
    t = ember.tensor(x)
    assert ident(t) is t
    for args in [(), (0,), (1, 2), (-3, -1), (2, 3)]:
        check_against_torch(lambda lib, u: lib.nn.Flatten(*args)(u), [x])
    check_against_torch(lambda lib, u: lib.nn.Unflatten(1, (3, 1))(u), [x])
    check_against_torch(lambda lib, u: lib.nn.Unflatten(-1, [5, 1])(u), [x])
    check_against_torch(lambda lib, u: lib.nn.Unflatten(3, (-1, 5))(u), [x])


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Linear(3, 4), lambda lib: lib.nn.Linear(3, 4, bias=False),
    lambda lib: lib.nn.Bilinear(2, 3, 4), lambda lib: lib.nn.Bilinear(2, 3, 4, False),
    lambda lib: lib.nn.Identity(), lambda lib: lib.nn.Flatten(),
    lambda lib: lib.nn.Flatten(0, 2), lambda lib: lib.nn.Unflatten(1, (2, 5)),
    lambda lib: lib.nn.Unflatten(1, [2, 5]),
])
def test_reprs_match_torch(make):
    assert repr(make(ember)) == repr(make(torch))


def test_unflatten_checks_its_sizes():
    same_error(lambda lib: lib.nn.Unflatten(1, (2, 2.5)),
               match="unflattened_size must be tuple of ints, but found element of type float "
                     "at pos 1")
    same_error(lambda lib: lib.nn.Unflatten(1, 6),
               match="unflattened_size must be a tuple of ints, but found type int")
