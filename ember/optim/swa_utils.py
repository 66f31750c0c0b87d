"""Stochastic weight averaging and exponential moving averages of a model, as
torch.optim.swa_utils: AveragedModel, SWALR, update_bn and the averaging functions.

SWA (Izmailov et al., 2018, arXiv:1803.05407) averages the weights a model visits late in
training (with a constant or cyclical lr, SWALR) and then recomputes the BatchNorm statistics
for the averaged weights (update_bn). An EMA (``get_ema_multi_avg_fn``) keeps
``decay * avg + (1 - decay) * current`` instead.

Example::

    >>> swa_model = ember.optim.swa_utils.AveragedModel(model)
    >>> swa_sched = ember.optim.swa_utils.SWALR(opt, swa_lr=0.05)
    >>> for epoch in range(epochs):
    ...     train(model, opt)
    ...     if epoch >= swa_start:
    ...         swa_model.update_parameters(model); swa_sched.step()
    >>> ember.optim.swa_utils.update_bn(loader, swa_model)
"""
from __future__ import annotations

import itertools
import math
import warnings
from copy import deepcopy

from .._creation import tensor
from .._dtype import int64
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import _bump_version, _lerp_, _scalar

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _is_floating(t: Tensor) -> bool:
    return t._data.dtype.kind == "f"


def _assign(target: Tensor, value: Tensor) -> None:
    """``target.copy_(value)`` outside autograd (NumPy's casting truncates a float into an
    integer buffer toward zero, as torch's copy_)."""
    target._data[...] = value._data
    _bump_version(target)


def get_ema_multi_avg_fn(decay=0.999):
    """The in-place EMA update of lists of tensors, ``ema = lerp(ema, current, 1 - decay)``,
    for AveragedModel's ``multi_avg_fn``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        if _is_floating(ema_param_list[0]):
            for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                _lerp_(p_ema._data, p_model._data, 1 - decay)
                _bump_version(p_ema)
        else:
            with no_grad():
                for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                    _assign(p_ema, p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """The in-place running-mean update of lists of tensors, ``avg = lerp(avg, current,
    1 / (n + 1))``, for AveragedModel's ``multi_avg_fn``."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with no_grad():
            if _is_floating(averaged_param_list[0]):
                # with a Tensor count, 1 / (n + 1) is a float32 tensor in torch: the weight
                # rounds to float32 before the lerp
                weight = _scalar(1 / (num_averaged + 1))
                for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
                    _lerp_(p_avg._data, p_model._data, weight)
                    _bump_version(p_avg)
            elif isinstance(num_averaged, Tensor):
                # torch's _foreach_addcdiv_ of integer tensors (e.g. BatchNorm's
                # num_batches_tracked with use_buffers=True) refuses, and so does ember
                raise RuntimeError(
                    "Integer division with addcdiv is no longer supported, and in a future  "
                    "release addcdiv will perform a true division of tensor1 and tensor2. The "
                    "historic addcdiv behavior can be implemented as (input + value * "
                    "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                    "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                    "behavior is just the latter implementation: (input + value * tensor1 / "
                    "tensor2), for all dtypes.")
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
                    _assign(p_avg, p_avg + (p_model - p_avg) * (1.0 / (num_averaged + 1)))

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """The EMA of one tensor, ``decay * ema + (1 - decay) * current``, for ``avg_fn``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The running mean of one tensor, ``avg + (current - avg) / (n + 1)``, for ``avg_fn``."""

    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose parameters are an average of the ones ``model`` had at each
    :meth:`update_parameters` call: the plain mean (SWA) by default, or what ``avg_fn(avg,
    current, n)`` returns, or what ``multi_avg_fn(avg_list, current_list, n)`` does in place
    (e.g. :func:`get_ema_multi_avg_fn`). ``use_buffers=True`` averages the buffers too
    (running statistics included); otherwise they are copied from ``model``. The first
    update copies the model; ``n_averaged`` (a long buffer) counts the updates.
    Calling it runs the averaged copy.
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged model."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers, with use_buffers) in."""
        if self.use_buffers:
            self_params = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            model_params = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            self_params, model_params = list(self.parameters()), list(model.parameters())
        self_params = [p.detach() for p in self_params]
        model_params = [p.detach() for p in model_params]
        n = len(min(self_params, model_params, key=len))  # torch zips, not strictly
        self_params, model_params = self_params[:n], model_params[:n]
        if int(self.n_averaged.item()) == 0:
            for p_averaged, p_model in zip(self_params, model_params):
                _assign(p_averaged, p_model)
        else:
            self._average_in(self_params, model_params)
        if not self.use_buffers:
            for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                _assign(b_swa, b_model.detach())
        self.n_averaged._data += 1
        _bump_version(self.n_averaged)

    def _average_in(self, self_params, model_params) -> None:
        if self.multi_avg_fn is not None or self.avg_fn is None:
            # torch groups the tensors by dtype; on the CPU without multi_avg_fn it then takes
            # the per-tensor running mean (its foreach kernels are for accelerators)
            for _, indices in _group_by_dtype(self_params).items():
                group_self = [self_params[i] for i in indices]
                group_model = [model_params[i] for i in indices]
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(group_self, group_model, self.n_averaged)
                else:
                    avg_fn = get_swa_avg_fn()
                    for p_averaged, p_model in zip(group_self, group_model):
                        _assign(p_averaged, avg_fn(p_averaged, p_model, self.n_averaged))
        else:
            for p_averaged, p_model in zip(self_params, model_params):
                _assign(p_averaged, self.avg_fn(p_averaged, p_model, self.n_averaged))


def _group_by_dtype(tensors) -> dict:
    groups: dict = {}
    for i, t in enumerate(tensors):
        groups.setdefault(t._data.dtype, []).append(i)
    return groups


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm layer of ``model`` with one pass
    over ``loader`` (batches, or tuples/lists whose first element is the input), as a
    cumulative average (momentum None for the pass). The model's train/eval mode is kept."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for bn_module in momenta:
        bn_module.momentum = momenta[bn_module]
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` epochs (``cos`` or
    ``linear``), then hold it. The annealing starts from the lr the group has when the
    scheduler is stepped: each step undoes the previous step's blend to recover it::

        lr_t = swa_lr * alpha_t + lr_0 * (1 - alpha_t),
        alpha_t = anneal(min(1, t / max(1, anneal_epochs)))
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs, strict=True)]

    def _set_anneal_func(self, anneal_strategy) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def state_dict(self) -> dict:
        """Every attribute except the optimiser and the annealing function."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)

