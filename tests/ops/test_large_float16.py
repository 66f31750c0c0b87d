"""float16 arrays above the parallel threshold stay with NumPy: numba has no float16, and the
parallel elementwise kernels used to be handed them (NotImplementedError: float16)."""
import numpy as np
import torch

import ember
from ember._kernels.elementwise import PARALLEL_THRESHOLD

SHAPE = (PARALLEL_THRESHOLD // 512 + 1, 512)


def _pair(seed):
    x = (np.random.default_rng(seed).standard_normal(SHAPE) * 0.5).astype(np.float16)
    return ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def test_mul_add_exp_and_their_gradients():
    (a, ta), (b, tb) = _pair(0), _pair(1)
    up = np.full(SHAPE, 0.5, np.float16)
    (a * b + a.exp()).backward(ember.tensor(up))
    (ta * tb + ta.exp()).backward(torch.tensor(up))
    for e, t in ((a, ta), (b, tb)):
        assert e.grad.dtype == ember.float16
        np.testing.assert_allclose(e.grad.numpy().astype(np.float32),
                                   t.grad.numpy().astype(np.float32), rtol=2e-3, atol=2e-3)


def test_in_place_update_and_sgd_momentum():
    (p, tp), (g, tg) = _pair(2), _pair(3)
    with ember.no_grad():
        p.add_(g, alpha=-0.5)
    with torch.no_grad():
        tp.add_(tg, alpha=-0.5)
    np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    p.grad, tp.grad = g.detach(), tg.detach()
    ember.optim.SGD([p], lr=0.1, momentum=0.9).step()
    torch.optim.SGD([tp], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.detach().numpy().astype(np.float32),
                               tp.detach().numpy().astype(np.float32), rtol=2e-3, atol=2e-3)
