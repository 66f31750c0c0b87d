"""Leaves adopt only gradient arrays nobody else holds: engine-made sums and the arrays a
Function declares fresh (Function.fresh_grads); everything else is copied."""
import numpy as np

import ember
import ember.nn.functional as F


def test_fresh_embedding_gradient_is_adopted_and_still_accumulates():
    w = ember.randn(50, 4, requires_grad=True)
    idx = ember.tensor([[1, 2, 2], [7, 1, 0]])
    up = ember.randn(2, 3, 4)
    F.embedding(idx, w).backward(up)
    first = w.grad.numpy().copy()
    assert not np.shares_memory(w.grad._data, up._data)
    F.embedding(idx, w).backward(up)
    np.testing.assert_allclose(w.grad.numpy(), 2 * first)


def test_linear_bias_gradient_never_aliases_the_incoming_gradient():
    """A (1, out) bias with one row of input: unbroadcast would hand back grad itself."""
    x = ember.randn(1, 3, requires_grad=True)
    w = ember.randn(2, 3, requires_grad=True)
    b = ember.randn(1, 2, requires_grad=True)
    up = ember.randn(1, 2)
    F.linear(x, w, b).backward(up)
    assert not np.shares_memory(b.grad._data, up._data)
    before = up.numpy().copy()
    b.grad += 1.0  # in place on the leaf's grad must not touch the caller's tensor
    np.testing.assert_array_equal(up.numpy(), before)


def test_hooked_leaf_still_gets_its_own_copy():
    w = ember.randn(10, 3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(g))
    F.embedding(ember.tensor([1, 2]), w).sum().backward()
    assert not np.shares_memory(w.grad._data, seen[0]._data)


def test_integer_results_do_not_require_grad_as_torch():
    """x.int() used to stay on the graph: (x + x.int().float()).sum() gave x a gradient of 2."""
    import torch
    for lib in (torch, ember):
        x = lib.tensor([1.7, 2.2], requires_grad=True)
        y = x.int()
        assert not y.requires_grad and y.grad_fn is None
        (x * 1.0 + y.float()).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0]
    assert not (ember.tensor([1.5], requires_grad=True) > 1).requires_grad


def test_mul_gradients_are_adopted_and_accumulate():
    a = ember.randn(3, 4, requires_grad=True)
    b = ember.randn(4, requires_grad=True)  # broadcast: b's gradient is a sum
    up = ember.randn(3, 4)
    (a * b).backward(up)
    (a * a).backward(up)
    ga = up.numpy() * b.detach().numpy() + 2 * up.numpy() * a.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), (up.numpy() * a.detach().numpy()).sum(0), rtol=1e-5)
    for t in (a, b, up):
        assert not np.shares_memory(a.grad._data, t._data)


def test_node_post_hook_that_keeps_a_gradient_gets_a_leaf_copy():
    """A fresh_grads node whose post-hook saw (and kept) its grad_inputs: the leaf copies."""
    a = ember.randn(2, 3, requires_grad=True)
    b = ember.randn(2, 3, requires_grad=True)
    y = a * b
    kept = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: kept.extend(grad_inputs))
    y.backward(ember.ones(2, 3))
    before = kept[0].numpy().copy()
    a.grad += 1.0
    np.testing.assert_array_equal(kept[0].numpy(), before)
