"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (torch.optim.SGD)."""
from __future__ import annotations

import numpy as np

from .._ops.updates import sgd_momentum_
from .._tensor import Tensor
from .optimizer import (Optimizer, _add_, _bump_version, _plus_scaled, _check_flags,
                        _scalar)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (torch.optim.SGD).

    For each parameter :math:`\theta` with gradient :math:`g` (torch/optim/sgd.py)::

        g = -g                                  if maximize
        g = g + weight_decay * theta            if weight_decay != 0
        if momentum != 0:
            b = g                               at the first step
            b = momentum * b + (1 - dampening) * g   afterwards
            g = g + momentum * b                if nesterov, else g = b
        theta = theta - lr * g

    (This is Sutskever's form: the learning rate multiplies the velocity, not the gradient.)

    Args:
        params: parameters or parameter groups to optimise.
        lr (float): learning rate (default 1e-3).
        momentum (float): momentum factor (default 0).
        dampening (float): dampening of the momentum (default 0).
        weight_decay (float): L2 penalty (default 0).
        nesterov (bool): Nesterov momentum (default False; needs momentum > 0, dampening 0).
        maximize (bool): maximise the objective instead of minimising it (default False).
        foreach, differentiable, fused: accepted for torch compatibility; ember has one
            implementation, and ``differentiable=True`` is not supported.

    Example::

        >>> opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _legacy_group_defaults = dict(nesterov=False, maximize=False, foreach=None,
                                  differentiable=False, fused=False)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_flags(differentiable, fused, foreach)

    def step(self, closure=None):
        """Perform a single optimisation step; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            momentum, dampening = group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            # (maximize handled here: the fused step negates inside its one pass)
            for p, grad in self._params_with_grad(group, maximize=False):
                param = p._data
                if momentum != 0 and self._fused_momentum_step(p, grad, group, lr):
                    continue
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = _plus_scaled(grad, param, weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = Tensor._wrap(np.array(grad, copy=True))
                        buf = state["momentum_buffer"]._data
                    else:
                        buf = buf._data
                        buf *= momentum
                        _add_(buf, grad, 1 - dampening)
                    grad = _plus_scaled(grad, buf, momentum) if nesterov else buf
                _add_(param, grad, -lr)
                _bump_version(p)
        return loss

    def _fused_momentum_step(self, p, grad, group, lr) -> bool:
        """The momentum step in one pass over memory (ember/_kernels/elementwise.py), same
        arithmetic as the path below; False where the arrays do not allow it."""
        state = self.state[p]
        buf = state.get("momentum_buffer")
        first = buf is None
        buf_data = np.empty_like(p._data) if first else buf._data
        done = sgd_momentum_(p._data, grad, buf_data, first, lr, group["momentum"],
                             group["dampening"], group["nesterov"], group["weight_decay"],
                             group["maximize"])
        if done:
            if first:
                state["momentum_buffer"] = Tensor._wrap(buf_data)
            _bump_version(p)
        return done
