"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992), as torch.optim.ASGD."""
from __future__ import annotations

import numpy as np

from .._ops.updates import asgd_
from .optimizer import (Optimizer, _add_, _bump_version, _check_flags, _check_lr,
                        _check_non_negative, _plus_scaled, _refuse_capturable, _scalar,
                        _scalar_dtype, _step_tensor, _zeros_state)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD, as torch.optim.ASGD (torch/optim/asgd.py, ``_single_tensor_asgd``)::

        g = -g                                   if maximize
        g = g + weight_decay * theta             if weight_decay != 0
        theta = theta * (1 - lambd * eta)        # eta, mu: 0-d tensors in the state
        theta = theta - eta * g
        ax = ax + mu * (theta - ax)              if mu != 1, else ax = theta
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    ``ax`` holds the average of the iterates once ``t`` passes ``t0``; the parameters
    themselves follow plain SGD with a decaying step. State per parameter: ``step``, ``eta``,
    ``mu`` (0-d tensors) and ``ax``.
    """

    _legacy_group_defaults = dict(foreach=None, maximize=False, differentiable=False,
                                  capturable=False)
    _tensor_step = True
    _tensor_scalars = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_non_negative("weight_decay value", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def _state_of(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            state["eta"] = _step_tensor(_scalar(group["lr"]))
            state["mu"] = _step_tensor(1.0)
            state["ax"] = _zeros_state(p)
        return state

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = _scalar(group["lr"]), group["lambd"], group["alpha"], group["t0"]
            weight_decay = group["weight_decay"]
            _refuse_capturable(group, "params, mus, etas, and state_steps")
            for p, grad in self._params_with_grad(group):
                state = self._state_of(p, group)
                param, ax = p._data, state["ax"]._data
                step_t = state["step"]._data
                step_t += 1
                eta = state["eta"]._data.item()
                mu = state["mu"]._data.item()
                if not asgd_(param, grad, ax, 1 - lambd * eta, -eta, mu, weight_decay):
                    _update(param, grad, ax, lambd, eta, mu, weight_decay)
                step = step_t.item()
                state["eta"]._data[...] = _as_tensor(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"]._data[...] = _as_tensor(1 / max(1, step - t0))
                _bump_version(p)
        return loss


def _update(param, grad, ax, lambd, eta, mu, weight_decay) -> None:
    """The step in NumPy passes, for arrays the fused kernel (_ops.updates.asgd_) does not
    take (mixed dtypes, strided or overlapping arrays): the same arithmetic and roundings."""
    if weight_decay != 0:
        grad = _plus_scaled(grad, param, weight_decay)
    param *= np.asarray(1 - lambd * eta, dtype=param.dtype)
    _add_(param, grad, -eta)
    if mu != 1:
        diff = np.subtract(param, ax, out=np.empty_like(param))
        diff *= np.asarray(mu, dtype=param.dtype)
        ax += diff
    else:
        ax[...] = param


def _as_tensor(value) -> np.ndarray:
    """torch's ``torch.as_tensor(value)``: a Python float takes the default dtype (float32)
    before it is copied into the state's eta or mu (which may be float64 after loading)."""
    if isinstance(value, np.generic):
        return np.asarray(value)
    return np.asarray(value, dtype=_scalar_dtype())
