"""Adagrad (Duchi et al., 2011), as torch.optim.Adagrad."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump_version, _check_lr,
                        _check_non_negative, _plus_scaled, _check_flags, _scalar,
                        _step_tensor)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, as torch.optim.Adagrad (torch/optim/adagrad.py, ``_single_tensor_adagrad``)::

        g = -g                                   if maximize
        g = g + weight_decay * theta             if weight_decay != 0
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                            # s starts at initial_accumulator_value
        theta = theta - clr * g / (sqrt(s) + eps)

    The state (``step``, ``sum``) is created for every parameter in the constructor, as torch.
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False, fused=None)
    _tensor_step = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check_non_negative("lr_decay value", lr_decay)
        _check_non_negative("weight_decay value", weight_decay)
        _check_non_negative("initial_accumulator_value value", initial_accumulator_value)
        _check_non_negative("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        _check_flags(differentiable, fused, foreach)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor(fused=group["fused"])
        state["sum"] = Tensor._wrap(np.full_like(p._data, group["initial_accumulator_value"]))
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = _scalar(group["lr"]), group["lr_decay"], group["eps"]
            weight_decay = group["weight_decay"]
            for p, grad in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:  # a parameter added with add_param_group after __init__
                    state = self._init_state(p, group)
                param = p._data
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                if weight_decay != 0:
                    grad = _plus_scaled(grad, param, weight_decay)
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]._data
                _addcmul_(state_sum, grad, grad, 1)
                std = np.sqrt(state_sum)
                std += eps
                _addcdiv_(param, grad, std, -clr)
                _bump_version(p)
        return loss
