"""RMSprop (Hinton's lecture 6e), centered and with momentum, as torch.optim.RMSprop."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _add_, _addcdiv_, _addcmul_, _bump_version, _check_flags,
                        _check_lr, _check_non_negative, _lerp_, _plus_scaled, _refuse_capturable,
                        _scalar, _step_tensor, _zeros_state)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, as torch.optim.RMSprop (torch/optim/rmsprop.py, ``_single_tensor_rmsprop``)::

        g = -g                                   if maximize
        g = g + weight_decay * theta             if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            a = lerp(a, g, 1 - alpha)            # running mean of g
            s = sqrt(v - a * a) + eps
        else:
            s = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / s
            theta = theta - lr * b
        else:
            theta = theta - lr * g / s

    State per parameter: ``step``, ``square_avg`` and, as the options ask, ``momentum_buffer``
    and ``grad_avg``.
    """

    _legacy_group_defaults = dict(momentum=0, centered=False, foreach=None, maximize=False,
                                  differentiable=False, capturable=False)
    _tensor_step = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        _check_non_negative("momentum value", momentum)
        _check_non_negative("weight_decay value", weight_decay)
        _check_non_negative("alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["square_avg"] = _zeros_state(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = _zeros_state(p)
            if group["centered"]:
                state["grad_avg"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = _scalar(group["lr"]), group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            _refuse_capturable(group)
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p, group)
                param = p._data
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = _plus_scaled(grad, param, weight_decay)
                square_avg = state["square_avg"]._data
                square_avg *= alpha
                _addcmul_(square_avg, grad, grad, 1 - alpha)
                if group["centered"]:
                    grad_avg = state["grad_avg"]._data
                    _lerp_(grad_avg, grad, 1 - alpha)
                    avg = square_avg.copy()
                    _addcmul_(avg, grad_avg, grad_avg, -1)
                    np.sqrt(avg, out=avg)
                else:
                    avg = np.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    _addcdiv_(buf, grad, avg, 1)
                    _add_(param, buf, -lr)
                else:
                    _addcdiv_(param, grad, avg, -lr)
                _bump_version(p)
        return loss
