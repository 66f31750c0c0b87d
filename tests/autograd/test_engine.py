"""The autograd engine: accumulation, retain_graph, autograd.grad, hooks, grad modes, in-place
rules and the version counter, with torch's behaviour and errors."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import check_against_torch, same_error


def test_grad_accumulates_across_backward_calls():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_shared_subexpression_and_diamond():
    def fn(lib, x):
        y = x * 2
        return (y * y + y.exp()).sum() + y.sum()
    check_against_torch(fn, [np.array([0.1, -0.3, 0.5])])


def test_same_tensor_twice_in_an_add_gives_independent_grads():
    a = ember.tensor([1.0], requires_grad=True)
    b = ember.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.item() == 1.0  # a's and b's .grad must not alias one array


def test_backward_twice_without_retain_graph_raises():
    x = ember.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 4.0
    z = (x.exp()).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_nonscalar_backward_needs_gradient():
    same_error(lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(),
               match="grad can be implicitly created only for scalar outputs")
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(ember.tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])


def test_backward_on_tensor_without_grad_raises():
    same_error(lambda lib: lib.ones(2).sum().backward(), match="does not require grad")


def test_gradient_shape_mismatch():
    same_error(lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(lib.ones(3)))


def test_autograd_grad_returns_without_accumulating():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor([3.0], requires_grad=True)
    out = (x * x).sum() * y
    gx, gy = ember.autograd.grad(out, (x, y))
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gy.numpy(), [5.0])
    assert x.grad is None and y.grad is None
    z = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        ember.autograd.grad((x * 2).sum(), (x, z))
    assert ember.autograd.grad((x * 2).sum(), (x, z), allow_unused=True)[1] is None


def test_grad_of_intermediate_tensor():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (g,) = ember.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


def test_no_grad_and_decorators():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @ember.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    with ember.no_grad():
        with ember.enable_grad():
            assert (x * 2).requires_grad
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()


def test_inplace_on_leaf_requiring_grad_raises():
    same_error(lambda lib: lib.ones(2, requires_grad=True).add_(1), match="leaf Variable")
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        x.add_(1)  # allowed under no_grad, as in torch
    np.testing.assert_allclose(x.detach().numpy(), [2, 2])


def test_inplace_on_non_leaf_keeps_gradients_right():
    def fn(lib, x):
        y = x * 2
        y.add_(3)
        y.mul_(x)
        y.clamp_(max=20.0)
        y.sub_(x, alpha=2)
        return y
    check_against_torch(fn, [np.array([0.5, 1.0, 4.0])])


def test_modifying_saved_tensor_raises():
    def fn(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        z = y.exp()  # saves its output
        z.add_(1)
        z.sum().backward()
    same_error(fn, match="modified by an inplace operation")

    def fn2(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        z = y * y  # saves y
        y.mul_(3)
        z.sum().backward()
    same_error(fn2, match="modified by an inplace operation")


def test_version_counter():
    x = ember.ones(3)
    v = x[1:]
    assert x._version == 0
    x.add_(1)
    assert x._version == 1 and v._version == 1
    v.mul_(2)
    assert x._version == 2
    np.testing.assert_allclose(x.numpy(), [2, 4, 4])


def test_requires_grad_rules():
    same_error(lambda lib: lib.tensor([1, 2]).requires_grad_(), match="floating point")
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert y.is_leaf is False and x.is_leaf is True
    assert y.detach().requires_grad is False


def test_retain_grad_and_hooks():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(seen[0], [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [180.0, 360.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_grad_fn_names_match_torch():
    cases = [lambda lib, x: x + x, lambda lib, x: x * 2, lambda lib, x: x.sum(), lambda lib, x: x.exp(),
             lambda lib, x: x.mean(), lambda lib, x: x / 2, lambda lib, x: x - 1, lambda lib, x: -x,
             lambda lib, x: x.view(4), lambda lib, x: x.permute(1, 0), lambda lib, x: x.expand(3, 2, 2),
             lambda lib, x: x @ x, lambda lib, x: x.tanh(), lambda lib, x: x.sigmoid(),
             lambda lib, x: x.pow(2), lambda lib, x: x.clone(), lambda lib, x: x.abs()]
    for fn in cases:
        e = fn(ember, ember.ones(2, 2, requires_grad=True))
        t = fn(torch, torch.ones(2, 2, requires_grad=True))
        assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


def test_custom_function_contract():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a * a * g

    x = ember.tensor([2.0], dtype=ember.float64, requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward0"
    y.backward()
    assert x.grad.item() == 12.0
    assert ember.autograd.gradcheck(Cube.apply, (x,))


def test_deep_graph_does_not_recurse():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    assert np.isfinite(x.grad.item())


def test_copy_and_fill_inside_the_graph():
    def fn(lib, x, w):
        y = x * 2
        y.copy_(w)          # y's old value gets no gradient, w's broadcast is summed back
        z = x * 3
        z[1:].fill_(0.5) if lib is torch else z.__setitem__(slice(1, None), 0.5)
        return y * x + z
    check_against_torch(fn, [np.array([[0.5, 1.0, 4.0]] * 2), np.array([1.0, -2.0, 3.0])])


def test_set_grad_enabled_as_decorator_leaves_the_mode_alone():
    @ember.set_grad_enabled(False)
    def f(t):
        return t * 2
    assert ember.is_grad_enabled()
    x = ember.ones(1, requires_grad=True)
    assert not f(x).requires_grad and ember.is_grad_enabled()


def test_a_node_that_gets_no_gradient_still_releases_the_leaves_below_it():
    class Detached(ember.autograd.Function):  # returns None for an input that requires grad
        @staticmethod
        def forward(ctx, a):
            return a * 0

        @staticmethod
        def backward(ctx, g):
            return None

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2                                  # h's node gets no gradient at all ...
    (Detached.apply(h) + x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])  # ... x must still get its 3
