"""Rprop: resilient backpropagation (Riedmiller & Braun, 1993), as torch.optim.Rprop."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _addcmul_, _bump_version, _check_flags, _check_lr,
                        _refuse_capturable, _scalar, _step_tensor, _zeros_state)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop, as torch.optim.Rprop (torch/optim/rprop.py, ``_single_tensor_rprop``). Only the
    sign of the gradient is used; each element has its own step size::

        g = -g                                   if maximize
        s = sign(g * prev)
        step_size = clamp(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0),
                          step_size_min, step_size_max)
        g = 0 where s < 0                        # no move after a sign change
        theta = theta - sign(g) * step_size
        prev = g

    ``step_size`` starts at ``lr``. State per parameter: ``step``, ``prev``, ``step_size``.
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False,
                                  capturable=False)
    _tensor_step = True

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["prev"] = _zeros_state(p)
            state["step_size"] = Tensor._wrap(np.full_like(p._data, _scalar(group["lr"])))
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            _refuse_capturable(group)
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p, group)
                param, prev = p._data, state["prev"]._data
                step_size = state["step_size"]._data
                state["step"]._data += 1
                grad = np.array(grad)  # its own (updated below), and 0-d stays an array
                sign = np.sign(np.multiply(grad, prev, out=np.empty_like(param)))
                # where the sign flipped the step shrinks and this step makes no move
                flipped = sign < 0
                factor = np.where(sign > 0, np.asarray(etaplus, dtype=param.dtype), sign)
                factor[flipped] = etaminus
                factor[sign == 0] = 1
                step_size *= factor
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                grad[flipped] = 0
                _addcmul_(param, np.sign(grad, out=np.empty_like(param)), step_size, -1)
                prev[...] = grad
                _bump_version(p)
        return loss
