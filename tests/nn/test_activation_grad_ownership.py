"""Activation, softmax and GLU backward passes return arrays they allocated (fresh_grads): a
leaf adopts them without a copy, and they must still never alias the upstream gradient, the
saved output or the input, and accumulate across backward calls."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

CASES = {
    "relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh, "silu": F.silu, "gelu": F.gelu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1), "elu": F.elu, "celu": F.celu,
    "rrelu_train": lambda x: F.rrelu(x, training=True), "glu": lambda x: F.glu(x, -1),
    "softmax": lambda x: F.softmax(x, 1), "log_softmax": lambda x: F.log_softmax(x, 1),
    "softmax_dim0": lambda x: F.softmax(x, 0),
    "prelu": lambda x: F.prelu(x, ember.full((4,), 0.25)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_leaf_gradient_is_its_own_array_and_accumulates(name):
    fn = CASES[name]
    x = ember.randn(3, 4, requires_grad=True)
    up = ember.randn(3, 2) if name == "glu" else ember.randn(3, 4)
    ember.manual_seed(0)  # rrelu draws the same slopes both times
    y = fn(x)
    y.backward(up)
    first = x.grad.numpy().copy()
    for other in (up._data, y._data, x._data):
        assert not np.shares_memory(x.grad._data, other)
    ember.manual_seed(0)
    y2 = fn(x)
    y2.backward(up)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
    x.grad += 1.0  # in place on the leaf's grad touches nothing else
    np.testing.assert_array_equal(up.numpy(), up._data)


def test_prelu_weight_gradient_is_adopted_and_accumulates():
    x = ember.randn(2, 4, 3)
    w = ember.full((4,), 0.25, requires_grad=True)
    up = ember.randn(2, 4, 3)
    F.prelu(x, w).backward(up)
    first = w.grad.numpy().copy()
    F.prelu(x, w).backward(up)
    np.testing.assert_allclose(w.grad.numpy(), 2 * first, rtol=1e-6)


def test_sigmoid_and_silu_tails_match_torch():
    """ATen's sigmoid is 1 / (1 + exp(-x)): 0 where exp(-x) overflows, subnormal just above."""
    import torch
    values = [-800.0, -104.0, -90.0, -88.7, -88.0, -87.0, -1e-30, 0.0, 80.0, 1000.0,
              float("nan"), float("inf"), -float("inf")]
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(values * 2, dtype=dtype)   # also through the vectorised loop body
        for name in ("sigmoid", "silu"):
            want = getattr(torch.nn.functional, name)(x).numpy()
            got = getattr(F, name)(ember.from_numpy(x.numpy())).numpy()
            np.testing.assert_allclose(got, want, rtol=2e-7 if dtype == torch.float32 else 1e-15,
                                       atol=0)
            number = ~np.isnan(want)
            assert np.array_equal(np.signbit(got[number]), np.signbit(want[number]))   # -0.0


@pytest.mark.parametrize("shape, dim", [((256, 1000), 1), ((4, 64, 32, 32), 1)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_on_all_threads_matches_torch(shape, dim, log):
    """Sizes whose forward (work counted 4x the elements) and rows backward (2x) run the parallel
    kernels."""
    import torch
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 4
    up = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ex, tx = ember.from_numpy(x).requires_grad_(True), torch.from_numpy(x).requires_grad_(True)
    name = "log_softmax" if log else "softmax"
    got, want = getattr(F, name)(ex, dim), getattr(torch.nn.functional, name)(tx, dim)
    got.backward(ember.from_numpy(up))
    want.backward(torch.from_numpy(up))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)
