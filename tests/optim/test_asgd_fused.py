"""ASGD's fused step (ember/_kernels/optim_updates.asgd_) rounds as its NumPy passes do (the
path for arrays it does not take), bit for bit, and declines what it cannot take."""
import numpy as np
import pytest

from ember._kernels.optim_updates import asgd_
from ember.optim.asgd import _update


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0, 0.1])
@pytest.mark.parametrize("mu", [1.0, 0.3])
def test_fused_step_equals_the_numpy_passes(dtype, weight_decay, mu):
    rng = np.random.default_rng(0)
    param, grad, ax = (rng.standard_normal((300, 70)).astype(dtype) for _ in range(3))
    lambd, eta = 1e-4, 0.0173
    fused_param, fused_ax = param.copy(), ax.copy()
    assert asgd_(fused_param, grad, fused_ax, 1 - lambd * eta, -eta, mu, weight_decay)
    _update(param, grad, ax, lambd, eta, mu, weight_decay)
    np.testing.assert_array_equal(fused_param, param)
    np.testing.assert_array_equal(fused_ax, ax)


def test_declines_mixed_dtypes_strided_and_shared_arrays():
    a = np.zeros((4, 4), np.float32)
    assert not asgd_(a, np.zeros((4, 4), np.float64), np.zeros((4, 4), np.float32), 1, -1, 1, 0)
    assert not asgd_(a, np.zeros((4, 4), np.float32).T[::2], a.copy(), 1, -1, 1, 0)
    assert not asgd_(a, a, a.copy(), 1, -1, 1, 0)
    assert not asgd_(a.astype(np.float16), a.astype(np.float16), a.astype(np.float16), 1, -1, 1, 0)
