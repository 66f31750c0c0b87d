"""Fused in-place parameter updates for ember.optim. The optimisers sit above the kernel
layer (only _kernels/_ops/_tensor/nn call kernels), so they reach these through here."""
from .._kernels.elementwise import sgd_momentum_
from .._kernels.optim_updates import asgd_

__all__ = ["sgd_momentum_", "asgd_"]
