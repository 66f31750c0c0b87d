"""interpolate's separable resize runs over blocks of planes (ember/_kernels/interpolate.py,
BLOCK_BYTES) so that its axis-by-axis intermediates stay small: with blocks of a few planes,
a step that does not divide the planes, values and gradients stay torch's; the input's
gradient is the backward's own array (the leaf keeps it) and shares nothing."""
import numpy as np
import pytest

import ember
import ember._kernels.interpolate as K
from tests.helpers import check_against_torch

CASES = [   # (input shape, interpolate's arguments): 2-d, 3-d, one axis kept, antialias
    ((3, 5, 6, 7), dict(scale_factor=2, mode="bilinear")),
    ((3, 5, 6, 7), dict(size=(4, 11), mode="bicubic", align_corners=True)),
    ((2, 3, 4, 5, 3), dict(scale_factor=(1.5, 2, 0.7), mode="trilinear")),
    ((3, 5, 6, 7), dict(size=(6, 14), mode="nearest")),
    ((3, 5, 12, 9), dict(size=(5, 4), mode="bilinear", antialias=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("block_bytes", [1, 700])   # one plane a block; 2-3 planes a block
@pytest.mark.parametrize("shape,kw", CASES)
def test_blocks_of_planes_match_torch(shape, kw, block_bytes, dtype, monkeypatch):
    monkeypatch.setattr(K, "BLOCK_BYTES", block_bytes)
    x = np.random.default_rng(3).standard_normal(shape)
    check_against_torch(lambda lib, t: lib.nn.functional.interpolate(t, **kw), [x], dtype=dtype)


def test_the_input_gradient_is_its_own_array_and_accumulates(monkeypatch):
    monkeypatch.setattr(K, "BLOCK_BYTES", 700)
    x = ember.randn(3, 5, 6, 7, requires_grad=True)
    up = ember.randn(3, 5, 12, 14)
    y = ember.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
    y.backward(up, retain_graph=True)
    first = x.grad.numpy().copy()
    for held in (up, y, x):
        assert not np.shares_memory(x.grad._data, held._data)
    y.backward(up)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
