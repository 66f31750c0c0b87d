"""Adadelta (Zeiler, 2012, arXiv:1212.5701), as torch.optim.Adadelta."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _addcmul_, _add_, _bump_version, _check_flags, _check_lr,
                        _check_non_negative, _plus_scaled, _refuse_capturable, _scalar,
                        _step_tensor, _zeros_state)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, as torch.optim.Adadelta (torch/optim/adadelta.py, ``_single_tensor_adadelta``)::

        g = -g                                   if maximize
        g = g + weight_decay * theta             if weight_decay != 0
        v = rho * v + (1 - rho) * g * g          # square_avg
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta  # acc_delta
        theta = theta - lr * delta

    State per parameter: ``step``, ``square_avg``, ``acc_delta``.

    Args:
        params: parameters or parameter groups to optimise.
        lr (float): scales delta before it is applied (default 1.0).
        rho (float): coefficient of the running averages (default 0.9).
        eps (float): added inside both square roots (default 1e-6).
        weight_decay (float): L2 penalty (default 0).
        foreach, capturable, maximize, differentiable: as torch; ember has one implementation,
            ``capturable=True`` fails at the step as torch's does on the CPU and
            ``differentiable=True`` is not supported.
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False,
                                  capturable=False)
    _tensor_step = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative("epsilon value", eps)
        _check_non_negative("weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["square_avg"] = _zeros_state(p)
            state["acc_delta"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = _scalar(group["lr"]), group["rho"], group["eps"]
            weight_decay = group["weight_decay"]
            _refuse_capturable(group, supports_xla=False)
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p)
                param = p._data
                square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = _plus_scaled(grad, param, weight_decay)
                square_avg *= rho
                _addcmul_(square_avg, grad, grad, 1 - rho)
                std = np.add(square_avg, eps, out=np.empty_like(param))
                np.sqrt(std, out=std)
                delta = np.add(acc_delta, eps, out=np.empty_like(param))
                np.sqrt(delta, out=delta)
                delta /= std
                delta *= grad
                acc_delta *= rho
                _addcmul_(acc_delta, delta, delta, 1 - rho, std)
                _add_(param, delta, -lr)
                _bump_version(p)
        return loss
