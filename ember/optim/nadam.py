"""NAdam: Adam with Nesterov momentum (Dozat, 2016), as torch.optim.NAdam."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump_version, _check_betas,
                        _check_flags, _check_lr, _check_non_negative, _lerp_, _plus_scaled,
                        _refuse_capturable, _scalar, _step_tensor, _zeros_state)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, as torch.optim.NAdam (torch/optim/nadam.py, ``_single_tensor_nadam``)::

        g = -g                                    if maximize
        theta = theta * (1 - lr * weight_decay)   if weight_decay and decoupled_weight_decay
        g = g + weight_decay * theta              if weight_decay and not decoupled
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_{t+1} likewise;  P = P * mu_t          # mu_product, a 0-d tensor in the state
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        theta = theta - lr * (1 - mu_t) / (1 - P) * g / denom
                      - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / denom

    State per parameter: ``step``, ``mu_product`` (0-d tensors), ``exp_avg``, ``exp_avg_sq``.
    ``decoupled_weight_decay=True`` is NAdamW (weight decay as in AdamW).
    """

    _legacy_group_defaults = dict(maximize=False, foreach=None, capturable=False,
                                  differentiable=False, decoupled_weight_decay=False)
    _tensor_step = True
    _tensor_scalars = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        betas = _check_betas(betas)
        _check_non_negative("weight_decay value", weight_decay)
        _check_non_negative("momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["mu_product"] = _step_tensor(1.0)
            state["exp_avg"] = _zeros_state(p)
            state["exp_avg_sq"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = _scalar(group["lr"]), group["eps"], group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            _refuse_capturable(group, "params, mu_products and state_steps")
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p)
                param = p._data
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                bias_correction2 = 1 - beta2 ** step
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = _plus_scaled(grad, param, weight_decay)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product_t = state["mu_product"]._data
                mu_product_t *= mu  # rounded to the 0-d tensor's dtype, as torch's mul_
                mu_product = mu_product_t.item()

                tmp = np.empty_like(param)
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                exp_avg_sq *= beta2
                _addcmul_(exp_avg_sq, grad, grad, 1 - beta2, tmp)
                denom = np.divide(exp_avg_sq, bias_correction2, out=np.empty_like(param))
                np.sqrt(denom, out=denom)
                denom += np.asarray(eps, dtype=param.dtype)

                mu_product_next = mu_product * mu_next
                _addcdiv_(param, grad, denom, -lr * (1.0 - mu) / (1.0 - mu_product), tmp)
                _addcdiv_(param, exp_avg, denom, (-lr * mu_next) / (1.0 - mu_product_next), tmp)
                _bump_version(p)
        return loss
