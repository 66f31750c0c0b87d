"""Adamax, Adam's infinity-norm variant (Kingma & Ba, 2014, section 7), as torch.optim.Adamax."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _addcdiv_, _bump_version, _check_betas, _check_flags,
                        _check_lr, _check_non_negative, _lerp_, _plus_scaled, _refuse_capturable,
                        _scalar, _step_tensor, _zeros_state)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, as torch.optim.Adamax (torch/optim/adamax.py, ``_single_tensor_adamax``)::

        g = -g                                   if maximize
        g = g + weight_decay * theta             if weight_decay != 0
        m = lerp(m, g, 1 - beta1)                # exp_avg
        u = max(beta2 * u, |g| + eps)            # exp_inf
        theta = theta - lr / (1 - beta1**t) * m / u

    State per parameter: ``step``, ``exp_avg``, ``exp_inf``.

    Args:
        params: parameters or parameter groups to optimise.
        lr (float): learning rate (default 2e-3).
        betas (tuple): decay of the first moment and of the infinity norm (default
            (0.9, 0.999)).
        eps (float): added to |g| (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        foreach, maximize, differentiable, capturable: as torch (see :class:`Adadelta`).
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False,
                                  capturable=False)
    _tensor_step = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        betas = _check_betas(betas)
        _check_non_negative("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["exp_avg"] = _zeros_state(p)
            state["exp_inf"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = _scalar(group["lr"]), group["eps"], group["weight_decay"]
            _refuse_capturable(group)
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p)
                param = p._data
                exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
                step_t = state["step"]._data
                step_t += 1
                if weight_decay != 0:
                    grad = _plus_scaled(grad, param, weight_decay)
                _lerp_(exp_avg, grad, 1 - beta1)
                exp_inf *= beta2
                norm = np.abs(grad, out=np.empty_like(param))
                norm += np.asarray(eps, dtype=param.dtype)
                np.maximum(exp_inf, norm, out=exp_inf)
                clr = lr / (1 - beta1 ** step_t.item())
                _addcdiv_(param, exp_avg, exp_inf, -clr, norm)
                _bump_version(p)
        return loss
