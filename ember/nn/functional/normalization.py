"""Normalisation layers' functionals, as torch.nn.functional: batch_norm, layer_norm, group_norm,
instance_norm, rms_norm, local_response_norm.

All three standardise ``x`` over some axes and then apply a per-channel (or per-element) affine
map. They share one forward and one backward for the standardisation::

    x_hat = (x - mean) * invstd,       invstd = 1 / sqrt(var + eps)      (biased variance)
    dx    = invstd * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))

(means over the normalised axes; the backward is the standard one, e.g. Ioffe & Szegedy 2015,
written in terms of x_hat). What differs is only which axes are normalised:

    batch_norm  (N, C, *):  per channel, over N and the spatial axes
    layer_norm  (*, S):     per sample, over the trailing normalized_shape S
    group_norm  (N, C, *):  per sample and group of C/G channels, over those channels and space

instance_norm standardises each (sample, channel) plane, torch's batch_norm of the (1, N*C, *)
view, in its own Function on the row kernels of ember/_kernels/norm.py (no repeated parameters);
rms_norm and local_response_norm are compositions of differentiable ops (as torch's are).
"""
from __future__ import annotations

import math

import numpy as np

from ..._dtype import scalar_type_name
from ..._kernels import norm as K
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm"]


def _standardize(x: np.ndarray, axes: tuple, eps: float):
    """x_hat (a new array), mean, biased var and invstd (kept dims) of x over ``axes``."""
    mean = x.mean(axis=axes, keepdims=True)
    x_hat = np.subtract(x, mean)
    var = np.square(x_hat).mean(axis=axes, keepdims=True)  # two-pass: no cancellation
    invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat *= invstd
    return x_hat, mean, var, invstd


def _standardize_backward(g_hat: np.ndarray, x_hat: np.ndarray, invstd: np.ndarray, axes: tuple):
    """The gradient with respect to x of x_hat = standardize(x), given d loss / d x_hat:
    ``invstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))``, in one new array."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    out = np.multiply(g_hat, x_hat)
    mean_gx = out.mean(axis=axes, keepdims=True)
    np.multiply(x_hat, mean_gx, out=out)
    np.subtract(g_hat, out, out=out)
    out -= mean_g
    out *= invstd
    return out


def _present(*arrays) -> tuple:
    """The arrays that are not None (save_for_backward takes arrays only)."""
    return tuple(a for a in arrays if a is not None)


def _channel_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) vector shaped (1, C, 1, ...) to broadcast over (N, C, *)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# ---------------------------------------------------------------------------------------------
# batch_norm
# ---------------------------------------------------------------------------------------------

class _BatchNorm(Function):
    r"""y = (x - μ) / sqrt(σ² + ε) * γ + β per channel.

    training: μ, σ² are the batch's (biased σ²), and the running statistics, if given, move
    towards them in place: ``r = (1 - momentum) * r + momentum * batch`` with the *unbiased*
    variance n/(n-1) σ² for running_var (torch's batch_norm_cpu_update_stats_template).
    evaluation: μ, σ² are the running statistics, and y is an affine map of x.
    """
    name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        axes = (0,) + tuple(range(2, x.ndim))
        if training:
            x_hat, mean, var, invstd = _standardize(x, axes, eps)
            if running_mean is not None:
                n = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean.reshape(-1)
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += momentum * var.reshape(-1) * (n / (n - 1))
        else:
            mean = _channel_view(running_mean, x.ndim)
            invstd = (1.0 / np.sqrt(_channel_view(running_var, x.ndim) + eps)).astype(x.dtype)
            x_hat = (x - mean) * invstd
        y = x_hat * _channel_view(weight, x.ndim) if weight is not None else x_hat.copy()
        if bias is not None:
            y += _channel_view(bias, x.ndim)
        ctx.save_for_backward(x_hat, invstd, *_present(weight))
        ctx.meta = (axes, training)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        r"""With :math:`S_g = \sum g` and :math:`S_{gx} = \sum g \hat{x}` per channel over its
        M values: dβ = S_g, dγ = S_gx, and in training (the batch statistics depend on x)
        :math:`dx = γ\,\mathrm{invstd}\,(g - S_g/M - \hat{x} S_{gx}/M)`; in evaluation
        :math:`dx = γ\,\mathrm{invstd}\,g`."""
        x_hat, invstd, *weight = ctx.saved_tensors
        scale = invstd * _channel_view(weight[0], grad.ndim) if weight else invstd
        axes, training = ctx.meta
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        sum_g = grad.sum(axis=axes, keepdims=True) if need_b or (need_x and training) else None
        gx = prod = None
        if need_w or (need_x and training):
            prod = np.multiply(grad, x_hat)
            sum_gx = prod.sum(axis=axes, keepdims=True)
        if need_x:
            if training:
                m = max(grad.size // max(grad.shape[1], 1), 1)  # an empty batch: no division by 0
                gx = np.multiply(x_hat, sum_gx / m, out=prod)  # reuses prod's memory
                np.subtract(grad, gx, out=gx)
                gx -= sum_g / m
                gx *= scale
            else:
                gx = grad * scale
        gw = sum_gx.reshape(-1) if need_w else None
        gb = sum_g.reshape(-1) if need_b else None
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # recorded backward (create_graph=True): the gradient of the composition. x is not kept,
        # but x_hat / invstd = x - mean is, and y depends on x only through x - mean (training:
        # the batch mean absorbs any shift); it rides on a zero stand-in linked to x's graph.
        from ...autograd.higher_order import constant, grad_of, input_links
        x_hat, invstd = ctx.saved_tensors[:2]
        axes, training = ctx.meta
        eps = ctx._args[7]
        centred = constant(x_hat / invstd, grad)

        def composed(x, weight, bias, *_):
            xc = x + centred
            if training:
                xc = xc - xc.mean(axes, keepdim=True)
                y = xc / ((xc * xc).mean(axes, keepdim=True) + eps).sqrt()
            else:
                y = xc * constant(invstd, grad)
            view = (1, -1) + (1,) * (y.ndim - 2)
            y = y * weight.reshape(view) if weight is not None else y
            return y + bias.reshape(view) if bias is not None else y
        return grad_of(composed, ctx, (grad,), input_links(ctx))


def _verify_batch_size(size) -> None:
    """Training statistics need more than one value per channel. (torch prints ``size`` as
    given: a torch.Size for batch_norm, a list for group_norm.)"""
    if math.prod(size[:1] + size[2:]) == 1:
        shown = _torch_size(size) if isinstance(size, tuple) else str(list(size))
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{shown}")


def _torch_size(shape) -> str:
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _check_same_dtype(x: np.ndarray, *tensors) -> None:
    """torch's CPU kernels refuse a float32 input with float64 parameters or statistics (and
    the other way round); without this NumPy would silently upcast."""
    for t in tensors:
        if t is not None and t._data.dtype != x.dtype:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _array(x):
    return None if x is None else x._data if isinstance(x, Tensor) else np.asarray(x)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalisation over the channel dimension 1 of ``(N, C, *)``:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    With ``training`` the batch statistics are used and ``running_mean``/``running_var`` (if
    given) are updated in place with ``momentum``; otherwise the running statistics are used.
    """
    x = input._data
    if training:
        _verify_batch_size(tuple(x.shape))
    if x.ndim < 2:
        raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
    _check_per_channel(x.shape[1], 1, running_mean, running_var, weight, bias)
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _check_same_dtype(x, running_mean, running_var, weight, bias)
    out = _BatchNorm.apply(input, weight, bias, _array(running_mean), _array(running_var),
                           bool(training), float(momentum), float(eps))
    if training:
        _mark_updated(running_mean, running_var)
    return out


def _check_per_channel(channels, repeat, running_mean, running_var, weight, bias) -> None:
    """Each given statistic or affine parameter holds one value per channel. torch's message
    counts them ``repeat`` times: instance_norm checks them tiled once per sample."""
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels * repeat} elements not "
                               f"{t.numel() * repeat}")


def _mark_updated(*running) -> None:
    """Bump the version of the running statistics the kernels updated in place."""
    for t in running:
        if t is not None:
            t._vbox[0] += 1


# ---------------------------------------------------------------------------------------------
# layer_norm
# ---------------------------------------------------------------------------------------------

class _LayerNorm(Function):
    """y = standardize(x over the trailing k axes) * weight + bias (weight, bias: those k dims)."""
    name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        x_hat, _, _, invstd = _standardize(x, axes, eps)
        y = x_hat * weight if weight is not None else x_hat.copy()
        if bias is not None:
            y += bias
        ctx.save_for_backward(x_hat, invstd, *_present(weight))
        ctx.axes = axes
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_hat, invstd, *weight = ctx.saved_tensors
        weight = weight[0] if weight else None
        axes = ctx.axes
        lead = tuple(range(grad.ndim - len(axes)))
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            g_hat = grad * weight if weight is not None else grad
            gx = _standardize_backward(g_hat, x_hat, invstd, axes)
        if ctx.needs_input_grad[1]:
            gw = (grad * x_hat).sum(axis=lead)
        if ctx.needs_input_grad[2]:
            gb = grad.sum(axis=lead)
        return gx, gw, gb, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # recorded backward: as _BatchNorm's, standardizing over the trailing axes
        from ...autograd.higher_order import constant, grad_of, input_links
        x_hat, invstd = ctx.saved_tensors[:2]
        axes, eps = ctx.axes, ctx._args[4]
        centred = constant(x_hat / invstd, grad)

        def composed(x, weight, bias, *_):
            xc = x + centred
            xc = xc - xc.mean(axes, keepdim=True)
            y = xc / ((xc * xc).mean(axes, keepdim=True) + eps).sqrt()
            y = y * weight if weight is not None else y
            return y + bias if bias is not None else y
        return grad_of(composed, ctx, (grad,), input_links(ctx))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dimensions:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    with the mean and (biased) variance of each sample's trailing block, and ``weight`` γ /
    ``bias`` β of shape ``normalized_shape``.
    """
    shape = _check_normalized_shape(input, normalized_shape, weight=weight, bias=bias)
    _check_same_dtype(input._data, weight, bias)
    return _LayerNorm.apply(input, weight, bias, len(shape), float(eps))


def _check_normalized_shape(input, normalized_shape, star="*, ", **params) -> tuple:
    """normalized_shape as a tuple, checked against the parameters and the input's trailing
    dims with torch's messages (layer_norm's and rms_norm's checks; rms_norm prints the
    expected shape as ``[*3]``, layer_norm as ``[*, 3]``)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x = input._data
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, t in params.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[{star}{', '.join(str(s) for s in shape)}], but got input of size"
                           f"{list(x.shape)}")
    return shape


# ---------------------------------------------------------------------------------------------
# group_norm
# ---------------------------------------------------------------------------------------------

class _GroupNorm(Function):
    """Standardise each (sample, group) over its C/G channels and the spatial axes, then apply a
    per-channel affine map."""
    name = "NativeGroupNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        grouped = x.reshape(x.shape[0], num_groups, -1)
        x_hat, _, _, invstd = _standardize(grouped, (2,), eps)
        x_hat = x_hat.reshape(x.shape)
        y = x_hat * _channel_view(weight, x.ndim) if weight is not None else x_hat.copy()
        if bias is not None:
            y += _channel_view(bias, x.ndim)
        ctx.save_for_backward(x_hat, invstd, *_present(weight))
        ctx.num_groups = num_groups
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_hat, invstd, *weight = ctx.saved_tensors
        weight = weight[0] if weight else None
        axes = (0,) + tuple(range(2, grad.ndim))
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            g_hat = grad * _channel_view(weight, grad.ndim) if weight is not None else grad
            n, g = grad.shape[0], ctx.num_groups
            gx = _standardize_backward(g_hat.reshape(n, g, -1), x_hat.reshape(n, g, -1), invstd,
                                       (2,)).reshape(grad.shape)
        if ctx.needs_input_grad[1]:
            gw = (grad * x_hat).sum(axis=axes)
        if ctx.needs_input_grad[2]:
            gb = grad.sum(axis=axes)
        return gx, gw, gb, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # recorded backward: as _LayerNorm's, standardizing each (sample, group) block
        from ...autograd.higher_order import constant, grad_of, input_links
        x_hat, invstd = ctx.saved_tensors[:2]
        shape, groups, eps = x_hat.shape, ctx.num_groups, ctx._args[4]
        blocks = (shape[0], groups, -1)
        centred = constant((x_hat.reshape(blocks) / invstd).reshape(shape), grad)

        def channel(v):
            return v.reshape((1, -1) + (1,) * (len(shape) - 2))

        def composed(x, weight, bias, *_):
            xc = (x + centred).reshape(blocks)
            xc = xc - xc.mean(2, keepdim=True)
            y = (xc / ((xc * xc).mean(2, keepdim=True) + eps).sqrt()).reshape(shape)
            y = y * channel(weight) if weight is not None else y
            return y + channel(bias) if bias is not None else y
        return grad_of(composed, ctx, (grad,), input_links(ctx))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Group normalisation (Wu & He, 2018) of ``(N, C, *)``: the channels are split into
    ``num_groups`` groups, each standardised per sample over its channels and spatial
    positions, then scaled and shifted per channel by ``weight``/``bias`` (C,)."""
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    _verify_batch_size([x.shape[0] * x.shape[1] // num_groups, num_groups, *x.shape[2:]])
    n_channels = x.shape[1]
    if n_channels % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != n_channels):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(x.shape)}")
    _check_same_dtype(x, weight, bias)
    return _GroupNorm.apply(input, weight, bias, int(num_groups), float(eps))


# ---------------------------------------------------------------------------------------------
# instance_norm
# ---------------------------------------------------------------------------------------------

class _InstanceNorm(Function):
    r"""y = (x - μ) / sqrt(σ² + ε) * γ + β with μ, σ² per (sample, channel) plane (biased σ²)
    and γ, β per channel: the (N, C, *) input as an (N*C, M) array of rows, one kernel pass
    each way (ember/_kernels/norm.py).

    ``use_input_stats``: the planes' own statistics; the running statistics, if given, move
    towards them in place as torch's aten::instance_norm does it: batch_norm updates a copy per
    sample, with the *unbiased* variance, and the running statistics become their mean.
    Otherwise μ, σ² are the running statistics and y is an affine map of x.
    Saved for backward: x (version-checked) and the per-plane mean and invstd, not x_hat.
    """
    name = "NativeBatchNormBackward0"  # torch runs batch_norm on the (1, N*C, *) view
    fresh_grads = True  # grad_x and the parameters' sums are new arrays: leaves may adopt them

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_input_stats, momentum,
                eps):
        n, c = x.shape[:2]
        rows = np.ascontiguousarray(x).reshape(n * c, -1)
        m = rows.shape[1]
        w, b = _per_channel(weight, c, 1, x.dtype), _per_channel(bias, c, 0, x.dtype)
        mean = np.empty(n * c)  # float64: torch's accumulation type on CPU
        var = np.empty(n * c)
        invstd = np.empty(n * c)
        if not use_input_stats:
            mean[:] = np.tile(running_mean, n)
            invstd[:] = np.tile(1.0 / np.sqrt(running_var.astype(np.float64) + eps), n)
        y = np.empty_like(rows)
        K.instance_norm_forward(rows, w, b, bool(use_input_stats), float(eps), mean, var, invstd,
                                y)
        if use_input_stats:
            for running, batch in ((running_mean, mean), (running_var, var * (m / (m - 1)))):
                if running is not None:
                    updated = (1 - momentum) * running + momentum * batch.reshape(n, c)
                    running[...] = updated.mean(axis=0)
        ctx.save_for_backward(x, *_present(weight))
        ctx.stats = (mean, invstd)
        ctx.meta = use_input_stats
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        """With S_g = sum g and S_gx = sum g x_hat per plane of M values: dβ and dγ are their
        sums over the batch, and dx = γ invstd (g - S_g/M - x_hat S_gx/M) with the planes' own
        statistics (they depend on x), dx = γ invstd g with the running ones."""
        x, *weight = ctx.saved_tensors
        mean, invstd = ctx.stats
        n, c = x.shape[:2]
        rows = np.ascontiguousarray(x).reshape(n * c, -1)
        w = _per_channel(weight[0] if weight else None, c, 1, x.dtype)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        sum_g, sum_gx = np.empty(n * c), np.empty(n * c)
        grad_x = np.empty_like(rows) if need_x else rows[:0]
        K.instance_norm_backward(np.ascontiguousarray(grad, dtype=x.dtype).reshape(rows.shape),
                                 rows, w, ctx.meta, bool(need_x), mean, invstd, sum_g, sum_gx,
                                 grad_x)
        gw = sum_gx.reshape(n, c).sum(axis=0).astype(x.dtype) if need_w else None
        gb = sum_g.reshape(n, c).sum(axis=0).astype(x.dtype) if need_b else None
        gx = grad_x.reshape(x.shape) if need_x else None
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # recorded backward (create_graph=True): the gradient of the composition, on x itself
        # (saved, so input_links hands it over with its values)
        from ...autograd.higher_order import constant, grad_of, input_links
        mean, invstd = ctx.stats
        use_input_stats, eps = ctx.meta, ctx._args[7]

        def composed(x, weight, bias, *_):
            axes = tuple(range(2, x.ndim))
            if use_input_stats:
                xc = x - x.mean(axes, keepdim=True)
                y = xc / ((xc * xc).mean(axes, keepdim=True) + eps).sqrt()
            else:
                planes = tuple(x.shape[:2]) + (1,) * len(axes)
                y = (x - constant(mean.reshape(planes), x)) * constant(invstd.reshape(planes), x)
            view = (1, -1) + (1,) * len(axes)
            y = y * weight.reshape(view) if weight is not None else y
            return y + bias.reshape(view) if bias is not None else y
        return grad_of(composed, ctx, (grad,), input_links(ctx))


def _per_channel(v, channels: int, fill: float, dtype) -> np.ndarray:
    """A (C,) parameter as the kernels take it, or ``fill`` where the layer has none."""
    return np.full(channels, fill, dtype) if v is None else np.ascontiguousarray(v)


def _verify_spatial_size(size) -> None:
    if math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{_torch_size(size)}")


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    r"""Instance normalisation (Ulyanov et al., 2016) of ``(N, C, *)``: each (sample, channel)
    plane standardised over its own positions (biased variance), then scaled and shifted per
    channel by ``weight``/``bias`` (C,).

    With ``use_input_stats`` the running statistics (if given) move towards the planes'
    statistics as in torch (the mean over the batch of N batch_norm updates); without it they
    normalise instead.
    """
    if use_input_stats:
        _verify_spatial_size(tuple(input.shape))
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    x = input._data
    if x.ndim < 2 or x.size == 0 or x.dtype not in (np.float32, np.float64):
        # the kernels take non-empty float32 and float64 (N, C, *) input; the composite path
        # serves the rest, and its batch_norm raises torch's errors for fewer than 2 dims
        return _instance_norm_composite(input, running_mean, running_var, weight, bias,
                                        use_input_stats, momentum, eps)
    _check_per_channel(x.shape[1], x.shape[0], running_mean, running_var, weight, bias)
    _check_same_dtype(x, running_mean, running_var, weight, bias)
    out = _InstanceNorm.apply(input, weight, bias, _array(running_mean), _array(running_var),
                              bool(use_input_stats), float(momentum), float(eps))
    if use_input_stats:
        _mark_updated(running_mean, running_var)
    return out


def _instance_norm_composite(input, running_mean, running_var, weight, bias, use_input_stats,
                             momentum, eps):
    """As torch's aten::instance_norm: batch_norm of the ``(1, N*C, *)`` view, with the (C,)
    parameters and running statistics repeated N times (the kernels take float32 and float64
    only; this serves float16 and empty input)."""
    shape = tuple(input.shape)
    n, c = shape[0], shape[1]
    stats = [None if t is None else Tensor._wrap(np.tile(t._data, n))
             for t in (running_mean, running_var)]
    out = batch_norm(input.contiguous().reshape(1, n * c, *shape[2:]), stats[0], stats[1],
                     None if weight is None else weight.repeat(n),
                     None if bias is None else bias.repeat(n), use_input_stats, momentum, eps)
    for running, tiled in zip((running_mean, running_var), stats):
        if running is not None and use_input_stats:
            running._data[...] = tiled._data.reshape(n, c).mean(axis=0)
            running._vbox[0] += 1
    return out.reshape(shape)


# ---------------------------------------------------------------------------------------------
# rms_norm, local_response_norm
# ---------------------------------------------------------------------------------------------

def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Root-mean-square layer normalisation (Zhang & Sennrich, 2019) over the trailing
    ``normalized_shape`` dims:

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} \gamma

    ``eps=None`` takes the machine epsilon of the input's dtype (torch's default); no centring,
    no bias.
    """
    if isinstance(normalized_shape, int):
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        "ints, not int")
    if input.ndim < len(normalized_shape):
        raise ValueError(f"Input tensor must have at least {len(normalized_shape)} dimensions, "
                         f"but got {input.ndim}")
    shape = _check_normalized_shape(input, normalized_shape, star="*", weight=weight)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"rms_norm" not implemented for '
                                  f"'{scalar_type_name(input._data.dtype)}'")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * (input * input).mean(dims, keepdim=True).add(eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""Local response normalisation across channels (Krizhevsky et al., 2012, AlexNet):

    .. math:: b_c = a_c \left(k + \frac{\alpha}{n} \sum_{c'} a_{c'}^2\right)^{-\beta}

    summed over the ``size`` neighbouring channels c' in [c - size//2, c + (size-1)//2]
    (zeros beyond the edges, still divided by ``size``): torch's formula, an average pool of
    the zero-padded squared input along the channels.
    """
    from .padding import pad
    from .pooling import avg_pool2d, avg_pool3d
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input "
                         f"(got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input * input
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = tuple(input.shape)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    return input / (div * alpha + k) ** beta


class _CrossMapLRN2d(Function):
    """torch.nn.CrossMapLRN2d's Function (torch/nn/modules/_functions.py, a port of Lua torch's
    SpatialCrossMapLRN), reproduced with its quirks rather than as local_response_norm: the
    forward's running window never drops channel 0 (its 0-based port removes channel
    ``c - pre_pad`` only for ``c > pre_pad``), and the backward is its own hand-written formula
    over a window offset by ``size - (size - 1) / 2`` - not the derivative of the forward, so
    torch's gradcheck fails on it and ember's matches torch's, not finite differences."""

    name = "CrossMapLRN2dBackward"

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        channels = x.shape[1]
        square = x * x
        pre_pad = int((size - 1) / 2 + 1)
        delta = np.zeros_like(x)
        delta[:, 0] = square[:, :min(pre_pad, channels)].sum(axis=1)
        c = np.arange(1, channels)
        added = c[c < channels - pre_pad + 1]
        delta[:, added] += square[:, added + pre_pad - 1]
        removed = c[c > pre_pad]
        delta[:, removed] -= square[:, removed - pre_pad]
        scale = np.cumsum(delta, axis=1, dtype=x.dtype)  # torch's running sum over channels
        scale *= alpha / size
        scale += k
        out = np.power(scale, -beta) * x
        ctx.save_for_backward(x, out, scale)
        ctx.meta = (size, alpha, beta)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out, scale = ctx.saved_tensors
        size, alpha, beta = ctx.meta
        channels = x.shape[1]
        inverse_pre_pad = int(size - (size - 1) / 2)
        if inverse_pre_pad + channels > channels + size - 1:
            raise RuntimeError(f"start ({inverse_pre_pad}) + length ({channels}) exceeds "
                               f"dimension size ({channels + size - 1}).")
        padded = np.zeros((x.shape[0], channels + size) + x.shape[2:], x.dtype)
        padded[:, 1 + inverse_pre_pad:1 + inverse_pre_pad + channels] = grad * out / scale
        window = np.cumsum(padded, axis=1)  # window[:, c] = sum of the padded ratios before c
        accum = window[:, size:size + channels] - window[:, :channels]
        gx = np.power(scale, -beta) * grad
        gx -= (2 * alpha * beta / size) * x * accum
        return gx, None, None, None, None


def _cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1):
    """torch.nn.CrossMapLRN2d's computation (no torch.nn.functional counterpart)."""
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    return _CrossMapLRN2d.apply(input, int(size), float(alpha), float(beta), float(k))
