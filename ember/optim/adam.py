"""Adam and its decoupled-weight-decay form (torch.optim.Adam; AdamW lives in adamw.py)."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump_version, _check_lr,
                        _check_non_negative, _lerp_, _plus_scaled, _refuse_differentiable, _scalar,
                        _step_tensor, _zeros_state)

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014, arXiv:1412.6980), with AMSGrad (Reddi et al., 2018) as an
    option, as torch.optim.Adam.

    For each parameter :math:`\theta` with gradient :math:`g`, at step :math:`t`
    (torch/optim/adam.py, ``_single_tensor_adam``)::

        g = -g                                    if maximize
        theta = theta * (1 - lr * weight_decay)   if weight_decay and decoupled_weight_decay
        g = g + weight_decay * theta              if weight_decay and not decoupled
        m = lerp(m, g, 1 - beta1)                 # beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                     if amsgrad (and v_max replaces v below)
        theta = theta - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    State per parameter: ``step`` (a 0-d float32 tensor), ``exp_avg``, ``exp_avg_sq`` and, with
    amsgrad, ``max_exp_avg_sq``.

    Args:
        params: parameters or parameter groups to optimise.
        lr (float): learning rate (default 1e-3).
        betas (tuple): coefficients of the running averages of g and g² (default (0.9, 0.999)).
        eps (float): added to the denominator for numerical stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        amsgrad (bool): use the AMSGrad variant (default False).
        maximize (bool): maximise the objective (default False).
        decoupled_weight_decay (bool): AdamW's decay, applied to the parameter (default False).
        foreach, capturable, differentiable, fused: accepted for torch compatibility.
    """

    _legacy_group_defaults = dict(amsgrad=False, maximize=False, foreach=None, capturable=False,
                                  differentiable=False, decoupled_weight_decay=False, fused=None)
    _tensor_step = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_non_negative("weight_decay value", weight_decay)
        _refuse_differentiable(differentiable)
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _state_of(self, p, amsgrad):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["exp_avg"] = _zeros_state(p)
            state["exp_avg_sq"] = _zeros_state(p)
            if amsgrad:
                state["max_exp_avg_sq"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = _scalar(group["lr"]), group["eps"], group["weight_decay"]
            amsgrad = group["amsgrad"]
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p, amsgrad)
                param = p._data
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                if group["maximize"]:
                    grad = -grad
                step_t = state["step"]._data
                step_t += 1
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = _plus_scaled(grad, param, weight_decay)
                tmp = np.empty_like(param)  # one scratch array for the three updates
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                exp_avg_sq *= beta2
                _addcmul_(exp_avg_sq, grad, grad, 1 - beta2, tmp)

                step = step_t.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]._data
                    np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = np.sqrt(max_exp_avg_sq)
                else:
                    denom = np.sqrt(exp_avg_sq)
                denom /= bias_correction2_sqrt
                denom += eps
                _addcdiv_(param, exp_avg, denom, -step_size, tmp)
                _bump_version(p)
        return loss
