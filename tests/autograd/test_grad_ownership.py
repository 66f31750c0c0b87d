"""No two leaves ever share a ``.grad`` buffer (issue 14, item 7).

A leaf may take over a gradient array only when the engine made it (a sum of contributions);
everything from user code, hooks or a Function (which may hand its incoming gradient, or a
saved array, to several inputs) is copied. Each path that creates gradients is checked against
torch's values and for shared memory between every pair of leaves and every array the caller
still holds.
"""
import itertools
import sys

import numpy as np
import pytest
import torch

import ember
from ember.autograd import Function


def _pair(values, requires_grad=True):
    return (ember.tensor(values, requires_grad=requires_grad),
            torch.tensor(values, requires_grad=requires_grad))


def _assert_grads_apart(*arrays):
    for a, b in itertools.combinations(arrays, 2):
        assert not np.shares_memory(a, b)


def _assert_leaves(ember_leaves, torch_leaves, others=()):
    grads = [t.grad.numpy() for t in ember_leaves]
    for g, t in zip(grads, torch_leaves):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6)
    _assert_grads_apart(*grads, *others)


def test_add_passes_one_gradient_to_two_leaves():
    (a, ta), (b, tb) = _pair([1., 2., 3.]), _pair([4., 5., 6.])
    (a + b).backward(ember.ones(3))
    (ta + tb).backward(torch.ones(3))
    _assert_leaves([a, b], [ta, tb])


def test_user_grad_output_is_never_adopted():
    (a, ta), (b, tb) = _pair([1., 2., 3.]), _pair([4., 5., 6.])
    g = ember.tensor([1., 2., 3.])
    (a + b).backward(g)
    (ta + tb).backward(torch.tensor([1., 2., 3.]))
    _assert_leaves([a, b], [ta, tb], others=[g.numpy()])
    a.backward(g)  # the leaf is its own root: its gradient is the caller's array
    ta.backward(torch.tensor([1., 2., 3.]))
    _assert_leaves([a, b], [ta, tb], others=[g.numpy()])


def test_hooks_returning_one_array_for_two_leaves():
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    shared, tshared = ember.tensor([7., 8.]), torch.tensor([7., 8.])
    for leaf in (a, b):
        leaf.register_hook(lambda g: shared)
    for leaf in (ta, tb):
        leaf.register_hook(lambda g: tshared)
    (a * b).sum().backward()
    (ta * tb).sum().backward()
    _assert_leaves([a, b], [ta, tb], others=[shared.numpy()])


def test_hook_that_keeps_the_gradient_sees_it_unchanged_by_later_accumulation():
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    kept, tkept = [], []
    a.register_hook(kept.append)
    ta.register_hook(tkept.append)
    for _ in range(2):
        (a * b).sum().backward()
        (ta * tb).sum().backward()
    _assert_leaves([a, b], [ta, tb], others=[k.numpy() for k in kept])
    for k, tk in zip(kept, tkept):
        np.testing.assert_allclose(k.numpy(), tk.numpy())


def test_retain_grad_and_leaves_apart():
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    y, ty = a + b, ta + tb
    y.retain_grad()
    ty.retain_grad()
    (y * 1).sum().backward()
    (ty * 1).sum().backward()
    _assert_leaves([a, b, y], [ta, tb, ty])


def test_accumulation_over_two_backward_calls():
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    for _ in range(2):
        (a + b + a * b).sum().backward()
        (ta + tb + ta * tb).sum().backward()
        _assert_leaves([a, b], [ta, tb])


def test_autograd_grad_returns_separate_arrays():
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    ga, gb = ember.autograd.grad((a + b).sum(), (a, b))
    tga, tgb = torch.autograd.grad((ta + tb).sum(), (ta, tb))
    np.testing.assert_allclose(ga.numpy(), tga.numpy())
    np.testing.assert_allclose(gb.numpy(), tgb.numpy())
    _assert_grads_apart(ga.numpy(), gb.numpy())


class _PassThrough(Function):
    """Backward hands its incoming gradient, unchanged, to both inputs."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


class _SavedGrad(Function):
    """Backward returns an array it saved in forward (and a view of it) to its two inputs."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(np.full_like(x, 2.0))
        return x * 2 + y * 2

    @staticmethod
    def backward(ctx, g):
        (two,) = ctx.saved_tensors
        return two, two[...]


@pytest.mark.parametrize("fn", [_PassThrough, _SavedGrad])
def test_function_returning_one_array_to_two_inputs(fn):
    (a, ta), (b, tb) = _pair([1., 2.]), _pair([3., 4.])
    fn.apply(a, b).backward(ember.ones(2))
    scale = 1.0 if fn is _PassThrough else 2.0
    (ta * scale + tb * scale).backward(torch.ones(2))
    _assert_leaves([a, b], [ta, tb])


def test_expand_and_broadcasting_sums():
    (a, ta), (b, tb) = _pair([[1., 2., 3.]]), _pair([[1.], [2.]])
    c, tc = _pair([5., 6., 7.])
    (a.expand(2, 3) + b + c).sum().backward()
    (ta.expand(2, 3) + tb + tc).sum().backward()
    _assert_leaves([a, b, c], [ta, tb, tc])


def test_ownership_does_not_depend_on_reference_counts(monkeypatch):
    """CPython 3.14 counts fewer references (borrowed stack references); a reference count one
    lower than 3.11's must not make a leaf adopt an array another leaf also receives."""
    real = sys.getrefcount
    # - 2: one for the count 3.14 no longer sees, one for this lambda's own argument
    monkeypatch.setattr(sys, "getrefcount", lambda obj: real(obj) - 2)
    (a, ta), (b, tb) = _pair([1., 2., 3.]), _pair([4., 5., 6.])
    ((a + b) * 2).backward(ember.ones(3))  # AddBackward hands MulBackward's fresh array to both
    ((ta + tb) * 2).backward(torch.ones(3))
    monkeypatch.undo()
    _assert_leaves([a, b], [ta, tb])


def test_zero_dim_leaf_gets_an_array_it_can_update_in_place():
    a, ta = _pair(2.0)
    (a * a + a).backward()  # the engine's sum of two 0-d contributions
    (ta * ta + ta).backward()
    assert type(a.grad.numpy()) is np.ndarray
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    a.grad.zero_()
    assert a.grad.item() == 0.0
