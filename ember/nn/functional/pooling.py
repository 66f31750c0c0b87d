"""Pooling as in torch.nn.functional: max, average, LP, adaptive and fractional max pooling in 1, 2
and 3 dims, and max-unpooling.

Every family is written once for N spatial dims; ``max_pool2d`` and friends only fix N. The
work is split as everywhere in ember:

* the public functions check their arguments with torch's rules and messages (the size formulas
  and checks live in ``ember.nn._shapes``) and call a Function;
* three Functions carry the gradients - ``_WindowMax`` (max over windows; backward scatters the
  gradient to the saved argmax), ``_WindowMean`` (linear pooling; backward is the adjoint
  kernel), ``_MaxUnpool`` (scatter; backward gathers);
* the compiled loops are in ``ember._kernels.pool``.

Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; the Functions view both as a
stack of ``(planes, *spatial)`` planes, so unbatched inputs cost nothing extra.
"""
from __future__ import annotations

import collections.abc
import math

import numpy as np

from ..._dtype import scalar_type_name
from ..._kernels import pool as K
from ..._tensor import Tensor
from ...autograd.function import Function
from .. import _shapes as S

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
]


# -- array plumbing shared by the Functions ------------------------------------------------------

def _planes(a: np.ndarray, n: int) -> np.ndarray:
    """``(N, C, *spatial)`` or ``(C, *spatial)`` -> ``(planes, *spatial)`` for the kernels;
    float16 is computed in float32 (the kernels are compiled for float32 and float64)."""
    a = a.reshape(-1, *a.shape[a.ndim - n:])
    return a.astype(np.float32) if a.dtype == np.float16 else a


def _index_planes(index: np.ndarray, n: int) -> np.ndarray:
    return index.reshape(-1, *index.shape[index.ndim - n:])


def _unplanes(a: np.ndarray, lead: tuple, dtype) -> np.ndarray:
    """Inverse of ``_planes``: restore the leading (N, C) dims and the dtype."""
    return a.reshape(*lead, *a.shape[1:]).astype(dtype, copy=False)


class _WindowMax(Function):
    """Max over windows (max, adaptive max and fractional max pooling).

    ``forward(x, n, pool)``: ``pool(planes) -> (values, indices)`` runs the kernel::

        y[o] = max_{i in window(o)} x[i],   index[o] = the first argmax (a NaN wins)
        dx[i] = sum over {o : index[o] = i} of dy[o]   (overlapping windows accumulate)

    Saves the int64 indices (also returned, non-differentiable) and the input's shape.
    """

    @staticmethod
    def forward(ctx, x, n, pool):
        values, index = pool(_planes(x, n))
        lead = x.shape[:x.ndim - n]
        values, index = _unplanes(values, lead, x.dtype), index.reshape(*lead, *index.shape[1:])
        ctx.save_for_backward(index)
        ctx.n, ctx.input_shape = n, x.shape
        ctx.mark_non_differentiable(index)
        return values, index

    @staticmethod
    def backward(ctx, grad, _grad_index):
        (index,) = ctx.saved_tensors
        n, shape = ctx.n, ctx.input_shape
        grad_in = K.max_pool_backward(_planes(grad, n), _index_planes(index, n),
                                      shape[len(shape) - n:])
        return _unplanes(grad_in, shape[:len(shape) - n], grad.dtype), None, None

    @staticmethod
    def backward_graph(ctx, grad, _grad_index):
        # y is x gathered at the saved argmax (flat per plane): affine in x, so the recorded
        # backward is Gather's, at the same indices
        # (x's values are not needed, so a zero stand-in linked to x's graph serves)
        from ...autograd.higher_order import grad_of, input_links
        (index,) = ctx.saved_tensors
        n = ctx.n

        def gathered(x, *_):
            lead = x.shape[:x.ndim - n]
            flat_index = type(x)._wrap(index.reshape(*lead, -1))
            return x.reshape(*lead, -1).gather(-1, flat_index).reshape(index.shape)
        return grad_of(gathered, ctx, (grad,), input_links(ctx))


class _WindowMean(Function):
    """Linear pooling (average and adaptive average pooling): ``y = A x``, ``dx = A^T dy``.

    ``forward(x, n, pool, adjoint)``: ``pool(planes) -> values`` and ``adjoint(grad_planes,
    in_spatial) -> grad_in`` are the kernel and its transpose (the same windows and the same
    divisors). Saves only the input's shape.
    """

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, x, n, pool, adjoint):
        ctx.n, ctx.input_shape, ctx.adjoint = n, x.shape, adjoint
        return _unplanes(pool(_planes(x, n)), x.shape[:x.ndim - n], x.dtype)

    @staticmethod
    def backward(ctx, grad):
        n, shape = ctx.n, ctx.input_shape
        grad_in = ctx.adjoint(_planes(grad, n), shape[len(shape) - n:])
        return _unplanes(grad_in, shape[:len(shape) - n], grad.dtype), None, None, None


class _MaxUnpool(Function):
    """Max-unpooling: ``y = zeros(out); y[index[i]] = x[i]`` per plane; ``dx[i] = dy[index[i]]``.

    Saves the indices (an input, so modifying them in place before backward raises).
    """

    @staticmethod
    def forward(ctx, x, indices, n, out_spatial):
        ctx.save_for_backward(indices)
        ctx.n = n
        out = K.max_unpool(_planes(x, n), _index_planes(indices, n), out_spatial)
        return _unplanes(out, x.shape[:x.ndim - n], x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        n = ctx.n
        grad_in = K.max_unpool_backward(_planes(grad, n), _index_planes(indices, n))
        return grad_in.reshape(indices.shape).astype(grad.dtype, copy=False), None, None, None


def _named(base, pattern, dims=(1, 2, 3)):
    """One subclass of ``base`` per rank, so that grad_fn prints torch's name, e.g.
    ``<MaxPool2DWithIndicesBackward0>`` (torch's 1-d pools go through 2-d ones and print
    SqueezeBackward1; ember names them after their own rank)."""
    return {n: type(f"{base.__name__}{n}d", (base,), {"name": pattern.format(n)}) for n in dims}


_MAX_POOL = _named(_WindowMax, "MaxPool{}DWithIndicesBackward0")
_ADAPTIVE_MAX_POOL = _named(_WindowMax, "AdaptiveMaxPool{}DBackward0")
_FRACTIONAL_MAX_POOL = _named(_WindowMax, "FractionalMaxPool{}DBackward0", dims=(2, 3))
_AVG_POOL = _named(_WindowMean, "AvgPool{}DBackward0")
_ADAPTIVE_AVG_POOL = _named(_WindowMean, "AdaptiveAvgPool{}DBackward0")
_MAX_UNPOOL = _named(_MaxUnpool, "MaxUnpool{}DBackward0")


# -- argument checks ------------------------------------------------------------------------------

def _check_tensor(name: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, "
                        f"not {type(input).__name__}")


def _check_floating(name: str, input) -> None:
    # torch's kernels dispatch on the dtype after the shape checks, and the message names the
    # kernel: a 1-d pool's is the 2-d one's (see _KERNEL_NAME)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")


# the names ATen's dtype dispatch prints for max_pool{n}d (with indices) and avg_pool{n}d
_KERNEL_NAME = {("max", 1): "max_pool2d", ("max", 2): "max_pool2d", ("max", 3): "max_pool3d",
                ("avg", 1): "avg_pool2d", ("avg", 2): "avg_pool2d",
                ("avg", 3): "avg_pool3d_out_frame"}


def _int_lists(n: int, kernel_size, stride, padding, dilation=1) -> tuple:
    """The window's arguments as torch's binding hands them to ATen: an int repeated n times,
    a sequence as it is (any length: ATen checks it), stride None as empty."""
    def as_list(value, name):
        if isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
            return tuple(S._as_int(v, name) for v in value)
        return (S._as_int(value, name),) * n
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    return (as_list(kernel_size, "kernel_size"), () if no_stride else as_list(stride, "stride"),
            as_list(padding, "padding"), as_list(dilation, "dilation"))


def _check1d_lists(name: str, lists, dilation: bool = True) -> None:
    """ATen's 1-d pools (after checkDimRange): one int each, an empty stride being the kernel."""
    kernel, stride, padding, dilations = lists
    checked = [("kernel_size", kernel), ("stride", stride or kernel), ("padding", padding)]
    for argument, values in checked + ([("dilation", dilations)] if dilation else []):
        S.check1d(name, argument, values)


def _window_tuples(n: int, lists) -> tuple:
    """ATen's reading of checked lists: one value serves every axis, no stride is the kernel."""
    kernel, stride, padding, dilation = (v * n if len(v) == 1 else v for v in lists)
    return kernel, stride or kernel, padding, dilation


def _unit_h(shape) -> tuple:
    shape = tuple(shape)
    return (*shape[:-1], 1, shape[-1])


def _as_2d_pool(shape, window):
    """ATen runs a 1-d pool as a 2-d one over a unit H axis (kernel 1, stride 1, pad 0,
    dilation 1): its checks, and its messages, are then the 2-d ones, showing that axis."""
    return _unit_h(shape), tuple((unit, *v) for unit, v in zip((1, 1, 0, 1), window))


def _max_pool_shape(n: int, shape, window, ceil_mode) -> tuple:
    """The output's spatial size, checked in the order of ATen's max_pool2d/3d_with_indices'
    meta functions (the rank, then Pool.h's checks); max_pool1d_with_indices runs the 2-d
    pool over a unit H axis."""
    if n == 1:
        return _max_pool_shape(2, *_as_2d_pool(shape, window), ceil_mode)[1:]
    S.check_pool_rank(shape, n)
    return S.pool_shape_check("max_pool3d_with_indices_out_cpu_template()", shape, *window,
                              ceil_mode)


def _avg_pool_shape(n: int, shape, window, ceil_mode, divisor_override) -> tuple:
    """The output's spatial size, checked in the order of avg_pool2d/3d's meta functions: 3-d
    checks the rank before the divisor, 2-d reads the planes' dim after it and leaves the rank
    to pool2d_shape_check; avg_pool1d runs the 2-d pool over a unit H axis."""
    if n == 1:
        return _avg_pool_shape(2, *_as_2d_pool(shape, window), ceil_mode, None)[1:]
    if n == 3:
        S.check_pool_rank(shape, n)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if n == 2:
        S.check_has_dim(shape, -3)  # input.size(-3), the planes
    return S.pool_shape_check("avg_pool3d()", shape, *window, ceil_mode,
                              check_input_size=n == 3)


# -- max pooling ----------------------------------------------------------------------------------

def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode):
    name = f"max_pool{n}d"
    _check_tensor(name, input)
    lists = _int_lists(n, kernel_size, stride, padding, dilation)
    if n == 1:  # ATen's max_pool1d_with_indices: checkDimRange and check1d, then 2-d
        S.check_pool1d_rank(name, input.shape)
        _check1d_lists(name, lists)
    else:
        S.check_window_lengths(name, n, *lists)
    window = _window_tuples(n, lists)
    out_spatial = _max_pool_shape(n, input.shape, window, ceil_mode)
    _check_floating(_KERNEL_NAME["max", n], input)
    return _max_pool_apply(n, input, *window, out_spatial)


def _max_pool1d_without_indices(input, kernel_size, stride, padding, dilation, ceil_mode):
    """ATen runs max_pool1d without indices through checks of its own (other words, another
    order: the input first) before the shared kernel."""
    _check_tensor("max_pool1d", input)
    S.check_max_pool1d_input(input.shape)
    lists = _int_lists(1, kernel_size, stride, padding, dilation)
    S.check_max_pool1d_lengths(*lists)
    kernel, stride, padding, dilation = _window_tuples(1, lists)
    S.check_max_pool1d_args(kernel, stride, padding, dilation)
    out = S.check_max_pool1d_output(input.shape[-1], *kernel, *stride, *padding, *dilation,
                                    ceil_mode)
    _check_floating("max_pool1d_impl", input)
    return _max_pool_apply(1, input, kernel, stride, padding, dilation, (out,))


def _max_pool_apply(n, input, kernel, stride, padding, dilation, out_spatial):
    return _MAX_POOL[n].apply(
        input, n, lambda x: K.max_pool(x, kernel, stride, padding, dilation, out_spatial))


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """1-d max pooling; returns ``(output, indices)``. See ``max_pool2d``."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """2-d max pooling; returns ``(output, indices)``. See ``max_pool2d``."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """3-d max pooling; returns ``(output, indices)``. See ``max_pool2d``."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-d max pooling over ``(N, C, L)`` or ``(C, L)``. See ``max_pool2d``."""
    if return_indices:
        return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode)
    return _max_pool1d_without_indices(input, kernel_size, stride, padding, dilation,
                                       ceil_mode)[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""2-d max pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    ``out[n, c, h, w] = max_{i<kH, j<kW} x[n, c, h*sH - pH + i*dH, w*sW - pW + j*dW]``, the
    padding acting as -inf. Output size per dim: ``floor((in + 2p - d(k-1) - 1) / s) + 1``
    (ceil with ``ceil_mode``, minus a last window that would start in the right padding).
    With ``return_indices`` also returns the int64 flat offset of each max within its
    ``(H, W)`` plane (the first of tied maxima; NaN counts as the max), for ``max_unpool2d``.

    Note torch's argument order: ``ceil_mode`` comes before ``return_indices`` here, after it
    in ``MaxPool2d``.

    >>> x = ember.tensor([[[[1., 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]]]])
    >>> max_pool2d(x, 2)
    tensor([[[[6., 4.],
              [7., 9.]]]])
    """
    out, indices = _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode)
    return (out, indices) if return_indices else out


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-d max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``. See ``max_pool2d``."""
    out, indices = _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode)
    return (out, indices) if return_indices else out


# -- average pooling ------------------------------------------------------------------------------

def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    name = f"avg_pool{n}d"
    _check_tensor(name, input)
    lists = _int_lists(n, kernel_size, stride, padding)
    if n == 1:  # ATen's avg_pool1d: checkDimRange and check1d, then 2-d
        S.check_pool1d_rank(name, input.shape)
        _check1d_lists(name, lists, dilation=False)
    else:
        S.check_window_lengths(name, n, *lists[:3])
    kernel, stride, padding, dilation = _window_tuples(n, lists)
    out_spatial = _avg_pool_shape(n, input.shape, (kernel, stride, padding, dilation), ceil_mode,
                                  divisor_override)
    _check_floating(_KERNEL_NAME["avg", n], input)
    args = (kernel, stride, padding)
    options = dict(count_include_pad=bool(count_include_pad), divisor_override=divisor_override)
    return _AVG_POOL[n].apply(
        input, n,
        lambda x: K.avg_pool(x, *args, out_spatial, **options),
        lambda grad, in_spatial: K.avg_pool_backward(grad, in_spatial, *args, **options))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-d average pooling over ``(N, C, L)`` or ``(C, L)`` (no divisor_override, as torch).
    See ``avg_pool2d``."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-d average pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    ``out = sum(window) / divisor``, zero padding. The divisor is ``divisor_override`` if given;
    otherwise the window size, counting the explicit zero padding if ``count_include_pad``
    (the default) but never the part of a ``ceil_mode`` window that overhangs the padding
    (torch's rule; coremltools#2844). The gradient uses the same divisor.

    >>> avg_pool2d(ember.ones(1, 1, 4, 4), 2, divisor_override=3)[0, 0, 0, 0].item()
    1.3333333730697632
    """
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-d average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``. See ``avg_pool2d``."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# -- power-average (LP) pooling -------------------------------------------------------------------

def _lp_pool(n, input, norm_type, kernel_size, stride, ceil_mode):
    """``(sum over window of x^p)^(1/p)``, built exactly as torch builds it (functional.py
    lp_pool2d) so that values and gradients agree, including the corner cases::

        out = avg_pool(x^p, kernel, stride, 0, ceil_mode)
        y   = (sign(out) * relu(|out|) * prod(kernel)) ^ (1/p)

    relu's zero gradient at 0 makes the gradient 0 (not NaN) where the window sum is 0. With
    ceil_mode the average divides a clipped last window by its clipped size, then multiplies by
    the full kernel size (torch's quirk, reproduced). p = +inf / -inf is the max / min of |x|.
    """
    kernel = _lp_kernel(n, kernel_size)
    max_pool = (max_pool1d, max_pool2d, max_pool3d)[n - 1]
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    out = _avg_pool(n, input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    window = math.prod(S._ntuple(n, "kernel_size")(kernel))
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


def _lp_kernel(n: int, kernel_size):
    """functional.py's lp_pool2d/3d unpack _pair/_triple(kernel_size) first (Python's words
    for a wrong length); lp_pool1d hands it to avg_pool1d as it is."""
    if n == 1:
        return kernel_size
    iterable = isinstance(kernel_size, collections.abc.Iterable)
    values = tuple(kernel_size) if iterable else (kernel_size,) * n
    if len(values) < n:
        raise ValueError(f"not enough values to unpack (expected {n}, got {len(values)})")
    if len(values) > n:
        raise ValueError(f"too many values to unpack (expected {n})")
    return values


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-d power-average pooling. See ``_lp_pool``."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-d power-average pooling: ``(sum over the window of x^p)^(1/p)``; p=1 is sum pooling,
    p=inf max pooling. See ``_lp_pool`` for the exact construction."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-d power-average pooling. See ``_lp_pool``."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


# -- adaptive pooling -----------------------------------------------------------------------------

def _adaptive_avg_shape(n: int, shape, sizes):
    """The output's spatial size, checked as ATen's adaptive_avg_pool2d/3d check it: the sizes,
    then (unless the output is 1x1(x1): None, ATen's shortcut through a mean, which checks no
    input) the template's input checks."""
    name = f"adaptive_avg_pool{n}d"
    S.check_adaptive_avg_sizes(name, sizes, n)
    if all(s == 1 for s in sizes):
        return None
    S.check_adaptive_input(name, shape, n, spatial_only=n == 2, colon=False)
    return sizes


def _adaptive_avg_pool(n, input, output_size):
    name = f"adaptive_avg_pool{n}d"
    _check_tensor(name, input)
    if n == 1:  # ATen: checkDimRange, check1d, then adaptive_avg_pool2d over a unit H axis
        sizes = S.adaptive_sizes(output_size, 1)  # parsed before any check, as torch's binding
        S.check_pool1d_rank(name, input.shape)
        S.check1d(name, "output_size", sizes)
        out_spatial = _adaptive_avg_shape(2, _unit_h(input.shape), (1, *sizes))
        out_spatial = out_spatial and out_spatial[1:]
    else:
        sizes = S.adaptive_sizes(S.list_with_default(output_size, input.shape), n)
        out_spatial = _adaptive_avg_shape(n, input.shape, sizes)
    if out_spatial is None:
        return input.mean(tuple(range(-n, 0)), keepdim=True)
    _check_floating(name, input)
    return _ADAPTIVE_AVG_POOL[n].apply(input, n, lambda x: K.adaptive_avg_pool(x, out_spatial),
                                       K.adaptive_avg_pool_backward)


def _adaptive_max_pool(n, input, output_size):
    """Checked in the order of ATen's adaptive_max_pool2d/3d meta functions (the input, then
    the sizes; a negative size fails at the allocation); 1-d: checkDimRange, check1d, its own
    input check, then 2-d over a unit H axis."""
    name = f"adaptive_max_pool{n}d"
    _check_tensor(name, input)
    if n == 1:
        out_spatial = S.adaptive_sizes(output_size, 1)
        S.check_pool1d_rank(name, input.shape)
        S.check1d(name, "output_size", out_spatial)
        S.check_adaptive_input(name, input.shape, 1)
        S.check_adaptive_max_sizes("adaptive_max_pool2d", (1, *out_spatial), 2,
                                   _unit_h(input.shape))
    else:
        out_spatial = S.adaptive_sizes(S.list_with_default(output_size, input.shape), n)
        S.check_adaptive_input(name, input.shape, n)
        S.check_adaptive_max_sizes(name, out_spatial, n, input.shape)
    _check_floating("adaptive_max_pool3d_cpu" if n == 3 else "adaptive_max_pool2d", input)
    # the ONNX exporter reads out_spatial from this lambda's closure
    return _ADAPTIVE_MAX_POOL[n].apply(input, n, lambda x: K.adaptive_max_pool(x, out_spatial))


def adaptive_avg_pool1d(input, output_size):
    """1-d adaptive average pooling to ``output_size``. See ``adaptive_avg_pool2d``."""
    return _adaptive_avg_pool(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """2-d adaptive average pooling: output ``(oH, oW)`` whatever the input size.

    Bin ``i`` of a dim covers ``[floor(i*in/out), ceil((i+1)*in/out))`` (bins overlap when
    ``in`` is not a multiple of ``out``). ``output_size`` is an int or a pair whose ``None``
    entries keep the input's size; ``adaptive_avg_pool2d(x, 1)`` is global average pooling.
    """
    return _adaptive_avg_pool(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """3-d adaptive average pooling. See ``adaptive_avg_pool2d``."""
    return _adaptive_avg_pool(3, input, output_size)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """1-d adaptive max pooling; returns ``(output, indices)``."""
    return _adaptive_max_pool(1, input, output_size)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """2-d adaptive max pooling; returns ``(output, indices)``."""
    return _adaptive_max_pool(2, input, output_size)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """3-d adaptive max pooling; returns ``(output, indices)``."""
    return _adaptive_max_pool(3, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-d adaptive max pooling. See ``adaptive_max_pool2d``."""
    out, indices = _adaptive_max_pool(1, input, output_size)
    return (out, indices) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-d adaptive max pooling over the bins of ``adaptive_avg_pool2d``; with
    ``return_indices`` also the int64 flat offsets of the maxima in each plane."""
    out, indices = _adaptive_max_pool(2, input, output_size)
    return (out, indices) if return_indices else out


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-d adaptive max pooling. See ``adaptive_max_pool2d``."""
    out, indices = _adaptive_max_pool(3, input, output_size)
    return (out, indices) if return_indices else out


# -- max unpooling --------------------------------------------------------------------------------

def _max_unpool(n, input, indices, kernel_size, stride, padding, output_size):
    """Checked in torch's order: functional.py's _unpool_output_size (Python, before any check
    of the tensors), then ATen's max_unpooling2d/3d; functional.py runs a 1-d unpool as a 2-d
    one over a unit W axis appended, and its messages show that axis."""
    kernel = S._ntuple(n, "kernel_size")(kernel_size)
    stride = kernel if stride is None else S._ntuple(n, "stride")(stride)
    padding = S._ntuple(n, "padding")(padding)
    for arg, what in ((input, "input"), (indices, "indices")):
        if not isinstance(arg, Tensor):
            raise TypeError(f"max_unpool{n}d(): argument '{what}' must be Tensor, "
                            f"not {type(arg).__name__}")
    out_spatial = S.unpool_output_shape(input.shape, kernel, stride, padding, output_size)
    unit_w = (1,) if n == 1 else ()
    S.check_max_unpool(max(n, 2), (*input.shape, *unit_w), (*indices.shape, *unit_w),
                       scalar_type_name(indices.dtype), stride)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"max_unpooling{max(n, 2)}d" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")
    return _MAX_UNPOOL[n].apply(input, indices, n, out_spatial)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool1d``. See ``max_unpool2d``."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool2d``: zeros, with each value put back at its index.

    Output size ``(in - 1)*stride - 2*padding + kernel`` per dim, or ``output_size`` (2 or 4
    entries, each strictly within one stride of that default; the way to undo a pooling that
    dropped a remainder). An index outside the output plane raises RuntimeError.
    """
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool3d``. See ``max_unpool2d``."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


# -- fractional max pooling -----------------------------------------------------------------------

def _fractional_max_pool(n, input, kernel_size, output_size, output_ratio, samples):
    """Checked in torch's order: functional.py's output size and default samples (reading
    ``input.size``), ATen's input and window checks, then the samples'. A kernel of zero or
    less, which torch runs, raises here: its windows would be empty."""
    name = f"fractional_max_pool{n}d"
    _check_tensor(name, input)
    kernel = S._ntuple(n, "kernel_size")(kernel_size)
    out_spatial = S.fractional_output_size(name, input.shape, n, output_size, output_ratio)
    if samples is None:
        S.check_has_dim(input.shape, -n - 1)
    S.check_fractional_shape(name, input.shape, kernel, out_spatial)
    _check_floating(name, input)
    batch = 1 if input.dim() == n + 1 else input.shape[0]
    channels = input.shape[-n - 1]
    if samples is None:
        from ..._creation import rand  # the default generator, so ember.manual_seed repeats it
        samples = rand(batch, channels, n, dtype=input.dtype)
    _check_samples(samples, input, batch, channels, n)
    if any(k <= 0 for k in kernel):
        raise ValueError(f"kernel_size must be greater than 0, but got {kernel}")
    u = np.ascontiguousarray(samples._data[:batch]).reshape(batch * channels, n)
    starts = K.fractional_starts(u, input.shape[-n:], out_spatial, kernel)
    _check_window_starts(name, starts, input.shape[-n:], kernel)
    return _FRACTIONAL_MAX_POOL[n].apply(
        input, n, lambda x: K.fractional_max_pool(x, kernel, out_spatial, starts=starts))


def _check_window_starts(name, starts, in_spatial, kernel):
    """Samples outside [0, 1) (or NaN) can move a window off the input; torch accepts them and
    fails its in-kernel assert only when that happens, so ember raises then too (RuntimeError),
    before the kernel would read, and the backward write, outside the plane."""
    for axis, (first, size, k) in enumerate(zip(starts, in_spatial, kernel)):
        bad = (first < 0) | (first > size - k)
        if bad.any():
            raise RuntimeError(
                f"{name}(): _random_samples put a pooling window outside the input: start "
                f"{int(first[bad][0])} along spatial dim {axis} (expected 0 <= start <= "
                f"{size - k}); _random_samples are expected in [0, 1)")


def _check_samples(samples, input, batch, channels, n):
    """torch's checks on ``_random_samples``: shape (>= N, C, n), the input's dtype."""
    if not isinstance(samples, Tensor):
        raise TypeError(f"_random_samples must be a Tensor, not {type(samples).__name__}")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to be 3D, but got {samples.dim()}D")
    if samples.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got {samples.shape[2]}.")
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != channels:
        raise RuntimeError(f"Expect _random_samples.size(1) equals to input channel size "
                           f"{channels}; got {samples.shape[1]}.")


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """2-d fractional max pooling; returns ``(output, indices)``. See ``fractional_max_pool2d``."""
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """3-d fractional max pooling; returns ``(output, indices)``. See ``fractional_max_pool2d``."""
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """2-d fractional max pooling (Graham, arXiv:1412.6071): ``kernel_size`` windows whose
    starts step pseudo-randomly by ``floor`` or ``ceil`` of ``alpha = (in - k) / (out - 1)``.

    ``output_size`` (or ``output_ratio``, giving ``int(in * ratio)``) fixes the output. Each
    (sample, channel) draws its offsets ``u`` in [0, 1) from ember's default generator, or
    takes them from ``_random_samples`` of shape ``(N, C, 2)``, ``u[..., 0]`` for the width
    and ``u[..., 1]`` for the height, as torch: with the same samples the result is torch's.
    """
    out, indices = _fractional_max_pool(2, input, kernel_size, output_size, output_ratio,
                                        _random_samples)
    return (out, indices) if return_indices else out


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """3-d fractional max pooling; ``_random_samples`` is ``(N, C, 3)`` for (T, H, W).
    See ``fractional_max_pool2d``."""
    out, indices = _fractional_max_pool(3, input, kernel_size, output_size, output_ratio,
                                        _random_samples)
    return (out, indices) if return_indices else out
