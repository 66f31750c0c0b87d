"""Fused in-place optimiser updates beyond SGD's (which lives in elementwise.py): one pass over
memory instead of one NumPy pass (and temporary) per operation, each operation rounded in the
parameter's dtype as torch's single-tensor code rounds it."""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

__all__ = ["asgd_"]


def _flat_loop_fits(*arrays) -> bool:
    """One flat loop serves: all float32 or all float64 (numba has no float16 arithmetic),
    one shape, C-contiguous, no two overlapping."""
    first = arrays[0]
    if not all(type(a) is np.ndarray and a.dtype == first.dtype and a.shape == first.shape
               and a.flags.c_contiguous for a in arrays) \
            or first.dtype not in (np.float32, np.float64):
        return False
    return not any(np.may_share_memory(a, b) for i, a in enumerate(arrays)
                   for b in arrays[i + 1:])


def asgd_(param, grad, ax, decay, neg_eta, mu, weight_decay) -> bool:
    """One ASGD step in place (torch's ``_single_tensor_asgd``)::

        g = grad + weight_decay * param      (weight_decay != 0)
        param = param * decay                decay = 1 - lambd * eta
        param = param + neg_eta * g          neg_eta = -eta
        ax = ax + mu * (param - ax)          (mu != 1; else ax = param)

    Returns False (nothing done) where the arrays do not fit one flat loop; the caller then
    takes the NumPy path."""
    if not _flat_loop_fits(param, grad, ax):
        return False
    t = param.dtype.type
    _asgd(param.reshape(-1), grad.reshape(-1), ax.reshape(-1), t(decay), t(neg_eta), t(mu),
          t(weight_decay), mu != 1)
    return True


@parallel_kernel
def _asgd(param, grad, ax, decay, neg_eta, mu, weight_decay, average):
    for i in numba.prange(param.size):
        g = grad[i]
        if weight_decay != 0:
            g = g + param[i] * weight_decay
        p = param[i] * decay
        p = p + g * neg_eta
        param[i] = p
        ax[i] = ax[i] + (p - ax[i]) * mu if average else p
