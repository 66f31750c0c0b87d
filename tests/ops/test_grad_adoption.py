"""The elementwise and matmul Functions that declare ``fresh_grads`` (their leaves keep the backward's
arrays as ``.grad``, no copy): gradients as torch's, accumulating over two backward passes,
and never sharing memory with another leaf's gradient, the upstream gradient, an input or the
output."""
import itertools

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
POS = RNG.uniform(0.5, 2.0, (3, 4))       # inside every op's domain
OTHER = RNG.uniform(0.5, 2.0, (3, 4))
ROW = RNG.uniform(0.5, 2.0, (4,))         # broadcast: the gradient is summed back (unbroadcast)

UNARY = {
    "neg": lambda x: -x, "abs": lambda x: x.abs(), "exp": lambda x: x.exp(),
    "log": lambda x: x.log(), "log1p": lambda x: x.log1p(), "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x: x.rsqrt(), "sin": lambda x: x.sin(), "cos": lambda x: x.cos(),
    "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(),
    "clamp": lambda x: x.clamp(0.8, 1.5), "sign": lambda x: x.sign(),
    "to64": lambda x: x.double(),
}
BINARY = {
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
    "where": lambda a, b: a.where(a > 1, b),
}


MATMUL = {   # (a's shape, b's shape): matrix, vectors, batched and broadcast batches
    "mm": ((3, 4), (4, 5)), "mv": ((3, 4), (4,)), "vm": ((4,), (4, 5)), "dot": ((4,), (4,)),
    "bmm": ((2, 3, 4), (2, 4, 5)), "broadcast": ((2, 1, 3, 4), (5, 4, 2)),
    "batch_vec": ((2, 3, 4), (4,)),
}


def _run(lib, fn, arrays, dtype, up):
    leaves = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    upstream = []
    for _ in range(2):   # the second pass adds to the arrays the leaves adopted in the first
        out = fn(*leaves)
        g = lib.tensor(up[:out.numel()].reshape(out.shape).astype(str(out.dtype).split(".")[-1]))
        out.backward(g)
        upstream.append(g)
    return leaves, out, upstream


def _check(fn, arrays, dtype):
    up = RNG.standard_normal(64)
    leaves, out, upstream = _run(ember, fn, arrays, dtype, up)
    tleaves, _, _ = _run(torch, fn, arrays, dtype, up)
    for e, t in zip(leaves, tleaves):
        assert e.grad.dtype == e.dtype
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    grads = [e.grad._data for e in leaves]
    held = [out._data] + [g._data for g in upstream] + [e._data for e in leaves]
    for a, b in itertools.combinations(grads, 2):
        assert not np.shares_memory(a, b)
    for a, b in itertools.product(grads, held):
        assert not np.shares_memory(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, dtype):
    _check(UNARY[name], [POS], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", ["same", "broadcast"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, shapes, dtype):
    _check(BINARY[name], [POS, OTHER if shapes == "same" else ROW], dtype)


def test_same_leaf_on_both_sides():
    """x / x, x ** x: two fresh contributions for one leaf are summed, as torch."""
    for fn in (BINARY["div"], BINARY["pow"], BINARY["maximum"]):
        x, tx = ember.tensor(POS, requires_grad=True), torch.tensor(POS, requires_grad=True)
        fn(x, x).sum().backward()
        fn(tx, tx).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(MATMUL))
def test_matmul(name, dtype):
    _check(lambda a, b: a @ b, [RNG.standard_normal(s) for s in MATMUL[name]], dtype)


def test_matmul_of_a_leaf_with_itself():
    x = RNG.standard_normal((4, 4))
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (e @ e).sum().backward()
    (t @ t).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)
