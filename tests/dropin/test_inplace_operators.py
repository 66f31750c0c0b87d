"""``x += y`` and friends write into x as torch's do, and in-place ops on views give torch's
gradients (issue 11, the silent-wrong section of drop-in part 1)."""
from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import ember

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)
B = np.array([[2.0, 1.0, -3.0], [4.0, 0.5, 2.0]], np.float32)
IA = np.array([[5, 6, 7], [8, 9, 10]], np.int64)
IB = np.array([[1, 2, 3], [1, 2, 1]], np.int64)

FLOAT_OPS = [operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ipow]
INT_OPS = [operator.iadd, operator.isub, operator.imul, operator.ifloordiv, operator.imod,
           operator.iand, operator.ior, operator.ixor, operator.ilshift, operator.irshift]


def _check_inplace(lib, a, b, op):
    x = lib.tensor(a)
    alias, version = x, x._version
    r = op(x, lib.tensor(b))
    assert r is alias, f"{op.__name__} rebound the name to a new tensor"
    assert x._version == version + 1
    return x.numpy()


@pytest.mark.parametrize("op", FLOAT_OPS, ids=lambda op: op.__name__)
def test_float_augmented_assignment_writes_in_place(op):
    got = _check_inplace(ember, A, B, op)
    expected = _check_inplace(torch, A, B, op)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("op", INT_OPS, ids=lambda op: op.__name__)
def test_integer_augmented_assignment_writes_in_place(op):
    np.testing.assert_array_equal(_check_inplace(ember, IA, IB, op), _check_inplace(torch, IA, IB, op))


@pytest.mark.parametrize("op", [operator.iadd, operator.imul], ids=lambda op: op.__name__)
def test_augmented_assignment_with_python_number(op):
    for lib in (ember, torch):
        x = lib.tensor(A)
        alias = x
        x = op(x, 2)
        assert x is alias
    np.testing.assert_allclose(op(ember.tensor(A), 2).numpy(), op(torch.tensor(A), 2).numpy())


def test_view_augmented_assignment_changes_base():
    for lib in (ember, torch):
        x = lib.tensor(A)
        v = x[0]
        v += 1
        np.testing.assert_allclose(x.numpy()[0], A[0] + 1)


def test_manual_sgd_step_updates_the_parameter_itself():
    p = ember.nn.Parameter(ember.tensor(A))
    alias = p
    (p * p).sum().backward()
    with ember.no_grad():
        p -= 0.1 * p.grad
    assert p is alias and isinstance(p, ember.nn.Parameter)
    assert p.requires_grad and p.is_leaf and p._version == 1
    np.testing.assert_allclose(p.detach().numpy(), A - 0.1 * 2 * A, rtol=1e-6)


def test_leaf_requiring_grad_refuses_augmented_assignment():
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation."):
        w += 1
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being "
                                           "used in an in-place operation."):
        w[0] += 1


def test_integer_tensor_refuses_float_result():
    i = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        i += ember.tensor([1.5, 2.5])
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i /= 2
    np.testing.assert_array_equal(i.numpy(), [1, 2])


def test_bitwise_on_float_raises_as_torch():
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
        x = ember.tensor([1.0])
        x &= 1
    with pytest.raises(NotImplementedError, match="\"lshift_cpu\" not implemented for 'Float'"):
        ember.tensor([1.0]) << 1


def test_reflected_shifts():
    np.testing.assert_array_equal((1 << ember.tensor([2, 3])).numpy(), (1 << torch.tensor([2, 3])).numpy())
    np.testing.assert_array_equal((64 >> ember.tensor([2, 3])).numpy(), (64 >> torch.tensor([2, 3])).numpy())


def test_matmul_assignment_rebinds_as_torch():
    # torch has no __imatmul__: `a @= b` makes a new tensor and leaves the old one alone
    assert not hasattr(torch.Tensor, "__imatmul__")
    a = ember.tensor(np.eye(2, dtype=np.float32))
    alias = a
    a @= ember.tensor(np.full((2, 2), 2.0, np.float32))
    assert a is not alias
    np.testing.assert_allclose(alias.numpy(), np.eye(2))
    np.testing.assert_allclose(a.numpy(), np.full((2, 2), 2.0))


@pytest.mark.parametrize("op", FLOAT_OPS, ids=lambda op: op.__name__)
def test_augmented_assignment_on_non_leaf_is_recorded(op):
    names, grads = [], []
    for lib in (ember, torch):
        w = lib.tensor(A, requires_grad=True)
        y = w * 2
        alias = y
        y = op(y, lib.tensor(B))
        assert y is alias and y._version == 1
        names.append(type(y.grad_fn).__name__)
        y.sum().backward()
        grads.append(w.grad.numpy())
    if op is not operator.ipow:  # torch names its in-place tensor**tensor node PowBackward0
        assert names[0] == names[1]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5)


# ---------------------------------------------------------------------------- views while recording
def _grads(lib, body):
    x = lib.tensor(A, requires_grad=True)
    y = lib.tensor(B[0], requires_grad=True)
    out = body(lib, x, y)
    (out * lib.tensor(np.arange(out.numel(), dtype=np.float32).reshape(out.shape))).sum().backward()
    return out.detach().numpy(), x.grad.numpy(), y.grad.numpy()


def _slice_add(lib, x, y):
    h = x * 1
    h[1:] += y
    return h


def _relu_on_slice(lib, x, y):
    h = x - y
    (ember if lib is ember else torch).nn.functional.relu_(h[:, 1:])
    return h


def _setitem_on_view(lib, x, y):
    h = x * 2
    h.view(3, 2)[1] = y[:2] * 3
    return h


def _narrow_mul(lib, x, y):
    h = x + 0
    v = h.narrow(1, 1, 2)
    v *= y[:2]
    return h


def _select_then_view_grad(lib, x, y):
    h = x * 2
    v = h.select(0, 1)
    v.mul_(y)
    return h * v.sum()


def _transpose_sub(lib, x, y):
    h = x * x
    t = h.transpose(0, 1)
    t -= y[:2]
    return h


def _unsqueeze_div(lib, x, y):
    h = x + 1
    u = h[0].unsqueeze(0)
    u /= y + 5
    return h


def _view_of_view(lib, x, y):
    h = x * 3
    v = h[:, :2][1]
    v += y[1:]
    return h


def _base_without_grad(lib, x, y):
    z = lib.zeros(2, 3)
    z[0] += y
    return z * x


@pytest.mark.parametrize("body", [_slice_add, _relu_on_slice, _setitem_on_view, _narrow_mul,
                                  _select_then_view_grad, _transpose_sub, _unsqueeze_div,
                                  _view_of_view, _base_without_grad], ids=lambda f: f.__name__[1:])
def test_inplace_on_view_gives_torch_gradients(body):
    for got, expected in zip(_grads(ember, body), _grads(torch, body)):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_inplace_on_view_rebases_grad_fns():
    x = ember.tensor(A, requires_grad=True)
    h = x.clone()
    v = h[1:]
    v *= 2
    assert type(h.grad_fn).__name__ == "CopySlices"
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    assert h._version == v._version == 1


def test_inplace_on_expanded_view_raises():
    h = ember.ones(3, requires_grad=True) * 1
    e = h[None].expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(ember.ones(2, 3, requires_grad=True))
