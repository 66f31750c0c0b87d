"""A leaf's own copy of a gradient it may not adopt (engine._finish_leaf -> own_copy): large
float32/float64 gradients are written on every core, a broadcast scalar (sum or mean to one
value) filled; values, accumulation, hooks and aliasing as torch's."""
import numpy as np
import pytest
import torch

import ember
from ember._kernels.elementwise import PARALLEL_THRESHOLD, own_copy

# just over the threshold, so that the parallel paths run (and the tests stay fast)
BIG = (PARALLEL_THRESHOLD // 512 + 1, 512)
DTYPES = ["float32", "float64"]


def _leaves(dtype, shape=BIG, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _assert_own(copy, src):
    assert type(copy) is np.ndarray and copy.flags.c_contiguous and copy.flags.writeable
    assert copy.dtype == src.dtype and copy.shape == src.shape
    assert not np.shares_memory(copy, src)
    np.testing.assert_array_equal(copy, src)


@pytest.mark.parametrize("dtype", DTYPES + ["float16", "int64"])
@pytest.mark.parametrize("layout", ["scalar", "contiguous", "transposed", "row", "block",
                                    "column", "small"])
def test_own_copy_equals_its_source_in_memory_of_its_own(dtype, layout):
    rng = np.random.default_rng(1)
    base = rng.standard_normal(BIG).astype(dtype)
    src = {"scalar": np.broadcast_to(np.array(2.5, dtype), BIG),
           "contiguous": base,
           "transposed": base.T,
           "row": np.broadcast_to(base[:1], BIG),   # stride 0 on one axis only
           # a (2, 256) block repeated along a leading dim; a column repeated along the last
           "block": np.broadcast_to(base[:1].reshape(1, 2, 256), (BIG[0], 2, 256)),
           "column": np.broadcast_to(base[:, :1], BIG),
           "small": base[:3, :5]}[layout]
    _assert_own(own_copy(src), src)


def test_own_copy_of_a_numpy_scalar_is_a_0d_array():
    out = own_copy(np.float32(3.0))
    assert type(out) is np.ndarray and out.shape == () and out == 3.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_reduction_to_a_scalar_fills_the_leaf_and_accumulates(dtype, reduce):
    x, tx = _leaves(dtype)
    for _ in range(2):   # the second backward adds to the first's (now the leaf's own) array
        getattr(x, reduce)().backward()
        getattr(tx, reduce)().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
        assert x.grad.dtype == getattr(ember, dtype)
    x.grad += 1.0   # the leaf's array is writable and shared with nothing
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy() + 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_retain_graph_backward_twice(dtype):
    x, tx = _leaves(dtype)
    y, ty = (x * 3).sum(), (tx * 3).sum()
    ember_first = None
    for retain in (True, False):
        y.backward(retain_graph=retain)
        ty.backward(retain_graph=retain)
        if ember_first is None:
            ember_first = x.grad.numpy().copy()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * ember_first, rtol=1e-6)
    # the root's own gradient: a transposed leaf reached by a broadcast scalar stays filled
    z, tz = _leaves(dtype, seed=2)
    z.t().sum().backward()
    tz.t().sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), tz.grad.numpy())


def test_leaf_hook_sees_and_replaces_the_broadcast_gradient():
    x, tx = _leaves("float32")
    for leaf in (x, tx):
        leaf.register_hook(lambda g: g * 2)
    x.sum().backward()
    tx.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    seen = []
    x.grad = None
    x.register_hook(lambda g: seen.append(g))   # runs after the doubling hook
    x.sum().backward()
    assert not np.shares_memory(x.grad._data, seen[0]._data)
    np.testing.assert_array_equal(x.grad.numpy(), seen[0].numpy())


def test_non_leaf_retained_grad_and_its_leaf():
    x, tx = _leaves("float64")
    y, ty = x * 2, tx * 2
    y.retain_grad()
    ty.retain_grad()
    y.sum().backward()
    ty.sum().backward()
    for e, t in ((y, ty), (x, tx)):
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    assert not np.shares_memory(y.grad._data, x.grad._data)


def test_add_hands_one_large_gradient_to_two_leaves_that_do_not_share_it():
    (a, ta), (b, tb) = _leaves("float32"), _leaves("float32", seed=3)
    up = np.random.default_rng(4).standard_normal(BIG).astype(np.float32)
    g = ember.tensor(up)
    (a + b).backward(g)
    (ta + tb).backward(torch.tensor(up))
    for e, t in ((a, ta), (b, tb)):
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    for one, other in ((a.grad, b.grad), (a.grad, g), (b.grad, g)):
        assert not np.shares_memory(one._data, other._data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_contributions_are_summed_as_torch(dtype):
    """Two gradients for one tensor are added by the engine (on every core when large): a
    leaf used twice, and a root given twice."""
    x, tx = _leaves(dtype)
    (x * 2 + x.exp()).sum().backward()
    (tx * 2 + tx.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    up = [np.random.default_rng(s).standard_normal(BIG).astype(dtype) for s in (5, 6)]
    y, ty = x * 3, tx * 3
    ember.autograd.backward([y, y], [ember.tensor(u) for u in up])
    torch.autograd.backward([ty, ty], [torch.tensor(u) for u in up])
    # (float32: the two libraries round the sums in different orders)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6,
                               atol=1e-5 if dtype == "float32" else 0)
