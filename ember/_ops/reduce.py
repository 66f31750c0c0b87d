"""Reductions. Backward re-expands the gradient over the reduced axes (``_expand_back``)."""
from __future__ import annotations

import numpy as np

from .._kernels import reduce as K
from ..autograd.function import Function
from ..autograd.higher_order import constant, saved
from .util import reverse_cumsum


def _expand_back(g, shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input shape."""
    if g.ndim == 0:
        return np.broadcast_to(g, shape)
    if not keepdim and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _keep(r, shape, axes, keepdim):
    """A reduction's result with the reduced axes kept as 1s when ``keepdim``."""
    return r.reshape([1 if i in axes else d for i, d in enumerate(shape)]) if keepdim else r


class Sum(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axes, keepdim, np_dtype=None):
        ctx.meta = (a.shape, axes, keepdim, a.dtype)
        if np_dtype is None and K.handles(a, axes):   # large float32: on every core
            return _keep(K.trailing_sum(a, len(axes)), a.shape, axes, keepdim)
        return np.sum(a, axis=axes, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, dt = ctx.meta
        return _expand_back(g.astype(dt, copy=False), shape, axes, keepdim), None, None, None


class Mean(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.meta = (a.shape, axes, keepdim)
        n = 1
        for ax in axes:
            n *= a.shape[ax]
        ctx.n = n
        if K.handles(a, axes):   # global average pooling, a loss's mean: on every core
            return _keep(K.trailing_sum(a, len(axes), mean=True), a.shape, axes, keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(a, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx.meta
        return _expand_back(g / ctx.n, shape, axes, keepdim), None, None


class Prod(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdim):
        ctx.save_for_backward(a)
        ctx.meta = (axis, keepdim)
        return np.prod(a, axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        axis, keepdim = ctx.meta
        if axis is None:
            flat = a.reshape(-1)
            return (_prod_others(flat, 0) * g).reshape(a.shape), None, None
        if not keepdim:
            g = np.expand_dims(g, axis)
        return _prod_others(a, axis) * g, None, None

    @staticmethod
    def backward_graph(ctx, g):
        # recorded: the product of the others, exact with zeros, as a prod itself: each element
        # of the axis sees the row with its own place set to 1 (an n x n block per row)
        (a,) = saved(ctx)
        axis, keepdim = ctx.meta
        x = a.reshape(-1) if axis is None else a.transpose(axis, -1)
        n = x.shape[-1]
        rows = x.unsqueeze(-2).expand(*x.shape[:-1], n, n)
        from .index import MaskedFill
        others = Prod.apply(MaskedFill.apply(rows, np.eye(n, dtype=bool), 1), -1, False)
        if axis is None:
            return (others * g).reshape(a.shape), None, None
        if not keepdim:
            g = g.unsqueeze(axis)
        return others.transpose(axis, -1) * g, None, None


def _prod_others(a, axis):
    """Product of all elements but one along ``axis``, exact with zeros (no division)."""
    n = a.shape[axis]
    ones = np.ones_like(np.take(a, [0], axis=axis))
    left = np.concatenate([ones, np.cumprod(np.take(a, range(n - 1), axis=axis), axis=axis)], axis=axis)
    rev = np.flip(a, axis=axis)
    right = np.concatenate([ones, np.cumprod(np.take(rev, range(n - 1), axis=axis), axis=axis)], axis=axis)
    return left * np.flip(right, axis=axis)


class MaxMinDim(Function):
    """max/min along one dim -> (values, indices); the gradient goes to the chosen index."""

    name = "MaxBackward0"

    @staticmethod
    def forward(ctx, a, axis, keepdim, is_max):
        if a.shape and a.shape[axis] == 0:
            raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {axis} to have "
                             f"non-zero size.")
        arg = _nan_aware_arg(a, axis, is_max)
        vals = np.take_along_axis(a, np.expand_dims(arg, axis), axis)
        if not keepdim:
            vals = np.squeeze(vals, axis)
            idx = arg
        else:
            idx = np.expand_dims(arg, axis)
        idx = idx.astype(np.int64, copy=False)
        ctx.meta = (a.shape, axis, keepdim)
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return vals, idx

    @staticmethod
    def backward(ctx, g, _gidx):
        (idx,) = ctx.saved_tensors
        shape, axis, keepdim = ctx.meta
        out = np.zeros(shape, g.dtype)
        if not keepdim:
            g, idx = np.expand_dims(g, axis), np.expand_dims(idx, axis)
        np.put_along_axis(out, idx, g, axis)
        return out, None, None, None

    @staticmethod
    def backward_graph(ctx, g, _gidx):
        # the gradient lands on the one chosen index per slice: g (broadcast along axis) times
        # the one-hot mask of the indices, a constant
        (idx,) = ctx.saved_tensors
        shape, axis, keepdim = ctx.meta
        mask = np.zeros(shape, g._data.dtype)
        np.put_along_axis(mask, idx if keepdim else np.expand_dims(idx, axis), 1, axis)
        if not keepdim:
            g = g.unsqueeze(axis)
        return g * constant(mask, g), None, None, None


def _nan_aware_arg(a, axis, is_max):
    # torch.max propagates NaN: the index of the first NaN wins when one is present
    arg = np.argmax(a, axis=axis) if is_max else np.argmin(a, axis=axis)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        if nan.any():
            has = nan.any(axis=axis)
            arg = np.where(has, np.argmax(nan, axis=axis), arg)
    return arg


class AmaxAmin(Function):
    """amax/amin, and max()/min() of the whole tensor: ties share the gradient evenly."""

    name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, a, axes, keepdim, is_max, op=None):
        op = op or ("max" if is_max else "min")
        if a.size == 0:
            _check_nonempty_reduction(a.shape, axes, op)
        out = (np.max if is_max else np.min)(a, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(a, out)
        ctx.meta = (axes, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        if not keepdim and axes:
            out, g = np.expand_dims(out, axes), np.expand_dims(g, axes)
        mask = (a == out) | (np.isnan(a) & np.isnan(out))
        count = mask.sum(axis=axes, keepdims=True)
        return (mask * (g / count)).astype(g.dtype, copy=False), None, None, None, None

    @staticmethod
    def backward_graph(ctx, g):
        # mask / count is constant: the recorded backward is linear in g
        (a, _) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        weights = AmaxAmin.backward(ctx, np.ones(g.shape, g._data.dtype))[0]
        if not keepdim and axes:
            g = g.reshape(_kept_shape(a.shape, axes))
        return g * constant(weights, g), None, None, None, None


def _check_nonempty_reduction(shape, axes, op):
    """torch's errors for max/min/amax/amin of an empty tensor; empty outputs are fine."""
    if len(axes) == len(shape):
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                           f"Specify the reduction dim with the 'dim' argument.")
    for ax in axes:
        if shape[ax] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {ax} to have non-zero size.")


class Var(Function):
    @staticmethod
    def forward(ctx, a, axes, correction, keepdim):
        n = 1
        for ax in axes:
            n *= a.shape[ax]
        ctx.save_for_backward(a)
        ctx.meta = (axes, correction, keepdim, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.var(a, axis=axes, ddof=correction, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        axes, correction, keepdim, n = ctx.meta
        if not keepdim and axes:
            g = np.expand_dims(g, axes)
        centered = a - a.mean(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (g * centered * (2.0 / (n - correction))).astype(a.dtype, copy=False), None, None, None

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        axes, correction, keepdim, n = ctx.meta
        if not keepdim and axes:
            g = g.reshape(_kept_shape(a.shape, axes))
        with np.errstate(divide="ignore"):  # n == correction: inf, as the array backward
            scale = float(np.divide(2.0, np.float64(n - correction)))
        return g * (a - a.mean(axes, keepdim=True)) * scale, None, None, None


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        m = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0)  # all -inf rows give -inf, not nan
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(a, out)
        ctx.meta = (axes, keepdim)
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        if not keepdim and axes:
            g = np.expand_dims(g, axes)
        return g * np.exp(a - out), None, None

    @staticmethod
    def backward_graph(ctx, g):
        a, _ = saved(ctx)
        axes, keepdim = ctx.meta
        if not keepdim and axes:
            g = g.reshape(_kept_shape(a.shape, axes))
        return g * (a - a.logsumexp(axes, keepdim=True)).exp(), None, None


class Norm(Function):
    """Vector p-norm over ``axes`` (p = 2 by default; inf, -inf, 0 and any real p)."""

    name = "NormBackward1"

    @staticmethod
    def forward(ctx, a, p, axes, keepdim):
        absa = np.abs(a)
        if p == np.inf:
            out = absa.max(axis=axes, keepdims=True)
        elif p == -np.inf:
            out = absa.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (absa != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 2:
            out = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
        else:
            out = np.sum(absa ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(a, out)
        ctx.meta = (p, axes, keepdim)
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        p, axes, keepdim = ctx.meta
        if not keepdim and axes:
            g = np.expand_dims(g, axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                grad = np.zeros_like(a)
            elif p in (np.inf, -np.inf):
                mask = np.abs(a) == out
                grad = np.sign(a) * mask * g / mask.sum(axis=axes, keepdims=True)
            elif p == 2:
                grad = np.where(out == 0, 0, a / out) * g  # torch: zero gradient at a zero norm
            else:
                # p < 1: a zero entry's |a|^(p-1) is inf; torch masks it to a zero gradient
                scaled = np.where(a == 0, 0, np.sign(a) * np.abs(a) ** (p - 1))
                grad = np.where(out == 0, 0, scaled / out ** (p - 1)) * g
        return grad.astype(a.dtype, copy=False), None, None, None

    @staticmethod
    def backward_graph(ctx, g):
        # the array backward's formulas in Tensor ops; the norm is recomputed from a (linked), and
        # a zero norm keeps torch's zero gradient without a 0/0 in the next derivative
        a, out = saved(ctx)
        p, axes, keepdim = ctx.meta
        if not keepdim and axes:
            g = g.reshape(_kept_shape(a.shape, axes))
        if p == 0 or p in (np.inf, -np.inf):  # piecewise constant weights: linear in g
            ones = np.ones(g.shape, g._data.dtype)
            return g * constant(Norm.backward(ctx, ones)[0], g), None, None, None
        nonzero = constant(out._data != 0, g)
        norm = a.norm(p, axes, keepdim=True).masked_fill(constant(out._data == 0, g).bool(), 1)
        if p == 2:
            return g * a / norm * nonzero, None, None, None
        return g * a.sign() * a.abs() ** (p - 1) / norm ** (p - 1) * nonzero, None, None, None


class CumSum(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return np.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return reverse_cumsum(g, ctx.axis), None


def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as size 1 (a keepdim=False gradient's view)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))
