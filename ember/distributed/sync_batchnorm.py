"""SyncBatchNorm, as torch.nn.SyncBatchNorm (torch/nn/modules/batchnorm.py, the maths in
torch/nn/modules/_functions.py): batch normalisation with the statistics of the whole global
batch, gathered from every rank of the process group.

Forward: each rank computes its per-channel mean, biased variance and count; an all-gather
gives every rank all of them (ranks with an empty batch are left out); they combine into the
global mean and variance (parallel-variance formula), which normalise, and update the running
statistics (``running_var`` with the unbiased global variance). Backward: the two per-channel
sums the input gradient needs, ``sum(dy)`` and ``sum(dy * (x - mean))``, are all-reduced; the
weight and bias gradients stay local (DDP averages them with the other gradients).

In eval mode, with a world of one, or without an initialised process group, it is BatchNorm.
ember computes on the CPU, so unlike torch's (GPU only) it runs on CPU tensors.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..nn.modules.batchnorm import _BatchNorm
from ..nn import functional as F
from . import collectives as _c
from . import process_group as _pg

__all__ = ["SyncBatchNorm"]


def _channel_view(a, ndim):
    """A per-channel vector shaped to broadcast against an (N, C, *) input."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


class _SyncBatchNormFunction(Function):
    name = "SyncBatchNormBackward"

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum,
                process_group, world_size):
        from .._tensor import Tensor
        channels = input.shape[1]
        count = input.size // channels
        if count == 1 and world_size < 2:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {count}")
        axes = (0,) + tuple(range(2, input.ndim))
        local = np.zeros(2 * channels + 1, input.dtype)
        if input.size > 0:
            mean = input.mean(axis=axes)
            xmu = input - _channel_view(mean, input.ndim)
            local[:channels] = mean
            local[channels:2 * channels] = np.mean(xmu * xmu, axis=axes)  # biased
            local[-1] = count
        gathered = [Tensor._wrap(np.empty_like(local)) for _ in range(world_size)]
        _c.all_gather(gathered, Tensor._wrap(local), group=process_group)
        stats = np.stack([g._data for g in gathered])
        stats = stats[stats[:, -1] >= 1]  # ranks with an empty batch add nothing
        means, variances, counts = (stats[:, :channels], stats[:, channels:2 * channels],
                                    stats[:, -1:])
        total = counts.sum()
        mean = (counts * means).sum(axis=0) / total
        var = (counts * (variances + (means - mean) ** 2)).sum(axis=0) / total
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            unbiased = var * (total / (total - 1)) if total > 1 else np.full_like(var, np.nan)
            running_var[...] = (1 - momentum) * running_var + momentum * unbiased
        invstd = 1 / np.sqrt(var + eps)
        ctx.save_for_backward(input, weight, mean, invstd)
        ctx.total = total
        ctx.process_group = process_group
        out = (input - _channel_view(mean, input.ndim)) * _channel_view(invstd, input.ndim)
        if weight is not None:
            out *= _channel_view(weight, input.ndim)
        if bias is not None:
            out += _channel_view(bias, input.ndim)
        return out.astype(input.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        from .._tensor import Tensor
        input, weight, mean, invstd = ctx.saved_tensors
        ndim = input.ndim
        channels = input.shape[1]
        axes = (0,) + tuple(range(2, ndim))
        needs_input, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        sums = np.zeros(2 * channels, input.dtype)
        if input.size > 0:
            xmu = input - _channel_view(mean, ndim)
            sums[:channels] = grad_output.sum(axis=axes)
            sums[channels:] = (grad_output * xmu).sum(axis=axes)
        # the local sums give the weight and bias gradients (DDP averages those)
        grad_weight = sums[channels:] * invstd if weight is not None and needs_weight else None
        grad_bias = sums[:channels].copy() if weight is not None and needs_bias else None
        grad_input = None
        if needs_input:
            # every rank all-reduces, also one with an empty batch, so the collectives match
            combined = Tensor._wrap(sums.copy())
            _c.all_reduce(combined, group=ctx.process_group)
            mean_dy = combined._data[:channels] / ctx.total
            mean_dy_xmu = combined._data[channels:] / ctx.total
            if input.size > 0:
                scale = invstd if weight is None else invstd * weight
                grad_input = ((grad_output - _channel_view(mean_dy, ndim)
                               - xmu * _channel_view(invstd * invstd * mean_dy_xmu, ndim))
                              * _channel_view(scale, ndim)).astype(input.dtype, copy=False)
            else:
                grad_input = np.zeros_like(input)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    r"""Batch normalisation over the whole global batch of a process group (any input of
    shape (N, C, \*)); see the module docstring. ``process_group`` defaults to the world.

    Example::

        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # every BatchNorm*d
        >>> model = nn.parallel.DistributedDataParallel(model)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input):
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._vbox[0] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        running_mean = self.running_mean if not self.training or self.track_running_stats else None
        running_var = self.running_var if not self.training or self.track_running_stats else None
        need_sync = bn_training and self.training and _pg.is_available() and _pg.is_initialized()
        if need_sync:
            group = self.process_group if self.process_group else _pg.group.WORLD
            world_size = _pg.get_world_size(group)
            need_sync = world_size > 1
        if not need_sync:
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                bn_training, factor, self.eps)
        return _SyncBatchNormFunction.apply(input, self.weight, self.bias, running_mean,
                                            running_var, self.eps, factor, group, world_size)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Every BatchNorm*d in ``module`` replaced by a SyncBatchNorm holding the same
        parameters and buffers (the very tensors); a BatchNorm given itself gives a new
        SyncBatchNorm."""
        module_output = module
        if isinstance(module, _BatchNorm):
            module_output = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                          module.affine, module.track_running_stats,
                                          process_group, bias=module.bias is not None)
            if module.affine:
                module_output.weight = module.weight
                module_output.bias = module.bias
            module_output.running_mean = module.running_mean
            module_output.running_var = module.running_var
            module_output.num_batches_tracked = module.num_batches_tracked
            module_output.training = module.training
            if hasattr(module, "qconfig"):
                module_output.qconfig = module.qconfig
        for name, child in module.named_children():
            module_output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return module_output
