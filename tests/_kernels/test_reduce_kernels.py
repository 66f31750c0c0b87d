"""ember/_kernels/reduce.py: parallel float32 sums and means over trailing axes, through
Tensor.sum/mean (which use it for large C-contiguous float32 arrays) against torch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember._kernels import reduce as R
from ember._kernels._jit import SERIAL_BELOW


@pytest.mark.parametrize("shape, dim, keepdim", [
    ((1024, 300), None, False),                   # to a scalar: one row cut into pieces
    ((32, 256, 7, 7), (-2, -1), True),            # global average pooling
    ((3, 300, 1000), (1, 2), False),              # a few long rows, each cut into pieces
    ((600, 500), 1, True),                        # many rows, one piece each
])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_large_float32_reductions_match_torch(shape, dim, keepdim, op):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) + 0.5
    assert R.handles(x, ember._ops.util.normalize_dims(dim, x.ndim))
    got_x = ember.from_numpy(x).requires_grad_(True)
    want_x = torch.from_numpy(x).requires_grad_(True)
    args = () if dim is None else (dim, keepdim)
    got, want = getattr(got_x, op)(*args), getattr(want_x, op)(*args)
    assert got.shape == tuple(want.shape) and got.dtype == ember.float32
    exact = getattr(x.astype(np.float64), op)(axis=None if dim is None else dim,
                                               keepdims=keepdim)
    # float64 accumulation: within one rounding of the exact value (torch's cascade sum may
    # be a few ulps off it)
    np.testing.assert_allclose(got.detach().numpy(), exact, rtol=1.2e-7, atol=0)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=2e-6, atol=1e-5)
    up = np.random.default_rng(1).standard_normal(tuple(want.shape)).astype(np.float32)
    got.backward(ember.from_numpy(up))
    want.backward(torch.from_numpy(up))
    np.testing.assert_allclose(got_x.grad.numpy(), want_x.grad.numpy(), rtol=1e-6)


def test_nan_and_inf_propagate():
    x = np.ones(SERIAL_BELOW + 5, np.float32)
    for bad, want in ((np.nan, np.nan), (np.inf, np.inf), (-np.inf, -np.inf)):
        y = x.copy()
        y[-3] = bad
        assert np.array_equal(ember.from_numpy(y).sum().numpy(), np.float32(want), equal_nan=True)
    y = x.copy()
    y[0], y[-1] = np.inf, -np.inf
    assert np.isnan(ember.from_numpy(y).mean().numpy())


def test_what_it_leaves_to_numpy():
    big = np.zeros((SERIAL_BELOW // 64, 64), np.float32)
    assert not R.handles(big[:, ::2], (0, 1))                 # not contiguous
    assert not R.handles(big.astype(np.float64), (0, 1))      # float64: NumPy's pairwise sum
    assert not R.handles(big, (0,))                           # a leading axis
    assert not R.handles(big[:10], (0, 1))                    # small: NumPy's lower overhead
    assert R.handles(big, (1,)) and R.handles(big, (0, 1))


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 40), m=st.integers(1, 2 * (1 << 15) + 7), pieces=st.integers(1, 9))
def test_row_sums_any_split(rows, m, pieces):
    """Every split of the rows into pieces (uneven, more pieces than elements) sums them all."""
    x = np.random.default_rng(rows * m).standard_normal((rows, m)).astype(np.float32)
    out = np.empty(rows, np.float32)
    R._row_sums.serial(x, pieces, 1.0, out)
    np.testing.assert_allclose(out, x.astype(np.float64).sum(1), rtol=1e-6, atol=1e-4)
