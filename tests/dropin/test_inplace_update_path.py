"""The optimiser's update path: p.add_(g, alpha=-lr), p -= lr * g, p *= c, p /= c write into the
parameter's memory without a temporary when nothing records, and give torch's values."""
import tracemalloc

import numpy as np
import pytest
import torch

import ember


def _pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    p, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    return (ember.nn.Parameter(ember.tensor(p)), ember.tensor(g),
            torch.nn.Parameter(torch.tensor(p)), torch.tensor(g))


@pytest.mark.parametrize("update", [
    lambda p, g: p.add_(g, alpha=-0.1), lambda p, g: p.sub_(g, alpha=0.3),
    lambda p, g: p.__isub__(g * 0.1), lambda p, g: p.__iadd__(g), lambda p, g: p.__imul__(0.9),
    lambda p, g: p.__itruediv__(2.0), lambda p, g: p.mul_(g), lambda p, g: p.__iadd__(g[0]),
    lambda p, g: p.add_(3, alpha=2)])
@pytest.mark.parametrize("shape", [(4, 5), (600, 600)])   # serial and parallel kernel sizes
def test_update_values_and_identity_like_torch(update, shape):
    p, g, tp, tg = _pair(shape)
    before, version = p._data, p._version
    with ember.no_grad():
        out = update(p, g)
    with torch.no_grad():
        update(tp, tg)
    assert out is p and p._data is before and p._version > version and p.requires_grad
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_update_allocates_nothing():
    p, g, _, _ = _pair((512, 512))
    with ember.no_grad():
        p.add_(g, alpha=-0.1)                     # compile and warm up
        tracemalloc.start()
        for _ in range(5):
            p.add_(g, alpha=-0.1)
            p -= g
            p *= 0.99
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 * 1024, peak                 # one temporary would be 1 MiB


def test_overlapping_views_are_updated_as_numpy_would():
    x = np.arange(10, dtype=np.float32)
    e = ember.tensor(x)
    with ember.no_grad():
        e[1:].add_(e[:-1], alpha=2.0)
    expected = x.copy()
    expected[1:] = x[1:] + 2 * x[:-1]
    np.testing.assert_array_equal(e.numpy(), expected)


def test_recording_and_integer_cases_keep_torchs_rules():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w -= 1.0
    y = w * 2
    y += ember.ones(3)                               # records: AddBackward0
    assert y.grad_fn is not None
    i = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5
    v = ember.ones(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        v += ember.ones(2, 3)
