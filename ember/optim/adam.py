"""Adam and its decoupled-weight-decay form (torch.optim.Adam; AdamW lives in adamw.py)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump_version, _check_betas,
                        _check_flags, _check_lr, _check_non_negative, _lerp_, _plus_scaled,
                        _refuse_capturable, _scalar, _step_tensor, _zeros_state)

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
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        _check_non_negative("weight_decay value", weight_decay)
        _check_beta_types(betas, foreach, capturable)
        betas = _check_betas(betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        _check_flags(differentiable, fused, foreach)

    def _state_of(self, p, amsgrad, fused):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor(fused=fused)
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
            _refuse_capturable(group)
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p, amsgrad, group["fused"])
                param = p._data
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
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


def _check_beta_types(betas, foreach, capturable) -> None:
    """torch's Adam takes betas as two floats or as two 1-element Tensors."""
    if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            if not capturable and foreach:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
            if beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
