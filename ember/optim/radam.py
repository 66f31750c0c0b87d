"""RAdam: Adam with a rectified adaptive learning rate (Liu et al., 2019, arXiv:1908.03265), as
torch.optim.RAdam."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _add_, _addcmul_, _bump_version, _check_betas, _check_flags,
                        _check_lr, _check_non_negative, _lerp_, _plus_scaled, _refuse_capturable,
                        _scalar, _step_tensor, _zeros_state)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, as torch.optim.RAdam (torch/optim/radam.py, ``_single_tensor_radam``)::

        g = -g                                    if maximize
        theta = theta * (1 - lr * weight_decay)   if weight_decay and decoupled_weight_decay
        g = g + weight_decay * theta              if weight_decay and not decoupled
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:   # the variance is tractable: rectified Adam step
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta = theta - m / (1 - beta1**t) * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r
        else:           # SGD with momentum
            theta = theta - m / (1 - beta1**t) * lr

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False,
                                  capturable=False, decoupled_weight_decay=False)
    _tensor_step = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        betas = _check_betas(betas)
        _check_non_negative("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["exp_avg"] = _zeros_state(p)
            state["exp_avg_sq"] = _zeros_state(p)
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
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = _plus_scaled(grad, param, weight_decay)
                tmp = np.empty_like(param)
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                exp_avg_sq *= beta2
                _addcmul_(exp_avg_sq, grad, grad, 1 - beta2, tmp)

                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                # torch's expression, operation by operation (each a rounding in param's dtype)
                update = np.divide(exp_avg, bias_correction1, out=np.empty_like(param))
                update *= np.asarray(lr, dtype=param.dtype)
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    adaptive = np.sqrt(exp_avg_sq, out=tmp)
                    adaptive += np.asarray(eps, dtype=param.dtype)
                    # a Python number over a tensor is reciprocal() * number in torch
                    np.reciprocal(adaptive, out=adaptive)
                    adaptive *= np.asarray(bias_correction2 ** 0.5, dtype=param.dtype)
                    update *= adaptive
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    update *= np.asarray(rect, dtype=param.dtype)
                _add_(param, update, -1.0)
                _bump_version(p)
        return loss
