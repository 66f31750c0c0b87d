"""Scatter-style writes: scatter_reduce, the legacy scatter reduce, index_add/copy/fill,
index_put with accumulate, masked_scatter, take and put.

Every Function here takes arrays whose indices the caller (ember/_tensor.py, with the checks of
ember/_indexing.py) already checked and wrapped, so NumPy never wraps or clips an index itself.
Duplicate indices accumulate through ``np.<ufunc>.at``.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .index import _along_axis_index
from .util import unbroadcast


def _cut(shape):
    """The leading corner of src (or self) that an index of ``shape`` addresses."""
    return tuple(slice(0, s) for s in shape)


def _src_grad(src_shape, index, values, dtype):
    """Gradient for src: ``values`` (one per index element) in src's corner, zeros elsewhere."""
    gs = np.zeros(src_shape, dtype)
    gs[_cut(index.shape)] = values
    return gs


_REDUCE_AT = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
              "amin": np.minimum}


def _flat_positions(full, shape):
    """The flat (C-order) output position of every index element."""
    return np.ravel_multi_index(np.broadcast_arrays(*full), shape).reshape(-1)


def _full_shape(full):
    return np.broadcast_shapes(*(np.shape(i) for i in full))


def _at(ufunc, out, full, vals):
    """``ufunc.at(out, full, vals)`` through flat positions: ~9x faster than ufunc.at with a
    tuple of index arrays (NumPy 2.4), same order of accumulation."""
    if not out.flags.c_contiguous:
        ufunc.at(out, full, vals)
        return
    vals = np.broadcast_to(np.asarray(vals, out.dtype), _full_shape(full)).reshape(-1)
    ufunc.at(out.reshape(-1), _flat_positions(full, out.shape), vals)


def _reduce_identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


def _scatter_counts(shape, full, include_self, dtype):
    """How many values each output position reduces (self counted when included); 0 -> 1 as
    torch does, so positions nothing was scattered to divide by one."""
    count = np.ones(shape, dtype) if include_self else np.zeros(shape, dtype)
    if not include_self:
        count[full] = 0
    _at(np.add, count, full, 1)
    count[count == 0] = 1
    return count


class ScatterReduce(Function):
    """``a.scatter_reduce(axis, index, src, reduce, include_self)``: every src value reduces
    into ``out[index along axis]``; with include_self=False the old value of a scattered-to
    position takes no part (nor any gradient)."""

    @staticmethod
    def forward(ctx, a, axis, index, src, reduce, include_self):
        full = _along_axis_index(index, axis)
        vals = src[_cut(index.shape)]
        out = a.copy()
        if not include_self:
            out[full] = _reduce_identity(reduce, a.dtype)
        _at(_REDUCE_AT[reduce], out, full, vals)
        if reduce == "mean":
            count = _scatter_counts(a.shape, full, include_self, a.dtype)
            out = out / count if a.dtype.kind == "f" else np.floor_divide(out, count)
        ctx.meta = (axis, index, reduce, include_self)
        ctx.save_for_backward(a, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, index, reduce, include_self = ctx.meta
        a, src, out = ctx.saved_tensors
        full = _along_axis_index(index, axis)
        vals = src[_cut(index.shape)]
        ga, g_vals = _REDUCE_GRADS[reduce](g, a, vals, out, full, include_self)
        if not include_self:
            ga[full] = 0
        gs = _src_grad(src.shape, index, g_vals, g.dtype) if ctx.needs_input_grad[3] else None
        return (ga if ctx.needs_input_grad[0] else None), None, None, gs, None, None


class ScatterReduceLinear(ScatterReduce):
    """reduce='sum'/'mean': the result is affine in self and src (the counts depend on the index
    only), which gives the double backward."""

    name = "ScatterReduceBackward0"
    affine_in = (0, 3)  # double backward: autograd/higher_order.py


def _sum_grads(g, a, vals, out, full, include_self):
    return g.copy(), g[full]


def _mean_grads(g, a, vals, out, full, include_self):
    gm = g / _scatter_counts(a.shape, full, include_self, g.dtype)
    return gm, gm[full]


def _prod_grads(g, a, vals, out, full, include_self):
    """The exact derivative of a product with zeros among its factors: a nonzero factor gets
    result / factor when no factor is zero (else 0); a zero factor gets the product of the
    others when it is the only zero (else 0)."""
    # self is a factor everywhere, except where include_self=False and something was scattered
    zeros = (a == 0).astype(np.int64)
    nonzero_prod = np.where(a == 0, 1, a)
    if not include_self:
        zeros[full] = 0
        nonzero_prod[full] = 1
    _at(np.add, zeros, full, (vals == 0).astype(np.int64))
    _at(np.multiply, nonzero_prod, full, np.where(vals == 0, 1, vals))

    def factor_grad(f, z, p, r):
        with np.errstate(divide="ignore", invalid="ignore"):
            other = np.where(f == 0, np.where(z == 1, p, 0), np.where(z == 0, r / np.where(f == 0, 1, f), 0))
        return other

    ga = g * factor_grad(a, zeros, nonzero_prod, out)
    g_vals = g[full] * factor_grad(vals, zeros[full], nonzero_prod[full], out[full])
    return ga, g_vals


def _extreme_grads(g, a, vals, out, full, include_self):
    """Ties share the gradient evenly. torch counts self's tie even when include_self=False
    (its gradient is then zeroed), which changes src's share: kept so, as torch."""
    a_ties = (a == out).astype(g.dtype)
    val_ties = (vals == out[full]).astype(g.dtype)
    n = a_ties.copy()
    _at(np.add, n, full, val_ties)
    shared = g / n
    return a_ties * shared, val_ties * shared[full]


_REDUCE_GRADS = {"sum": _sum_grads, "mean": _mean_grads, "prod": _prod_grads,
                 "amax": _extreme_grads, "amin": _extreme_grads}


class ScatterLegacyReduce(Function):
    """``scatter(..., reduce='add'/'multiply')``: torch has no derivative for it and says so
    when backward reaches it."""

    name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, axis, index, src, reduce):
        out = a.copy()
        full = _along_axis_index(index, axis)
        vals = np.broadcast_to(np.asarray(src, a.dtype), index.shape) if np.ndim(src) == 0 \
            else src[_cut(index.shape)]
        _at(np.add if reduce == "add" else np.multiply, out, full, vals)
        return out

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::scatter is not implemented")


def _axis_index(ndim, axis, index):
    """Index tuple selecting ``index`` along ``axis`` and everything along the other axes."""
    return (slice(None),) * axis + (index,)


def _index_add_into(out, axis, index, src):
    """``out[..., index, ...] += src`` along ``axis`` with duplicates summed: the slices of each
    index value are summed with one reduceat over the index-sorted src (ufunc.at with a slice
    per index is ~15x slower)."""
    if index.size == 0:
        return
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sums = np.add.reduceat(np.take(src, order, axis=axis), starts, axis=axis)
    np.moveaxis(out, axis, 0)[ordered[starts]] += np.moveaxis(sums, axis, 0)


class IndexAdd(Function):
    """``out = a.clone(); out[..., index, ...] += alpha * src`` (along ``axis``)."""

    affine_in = (0, 3)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axis, index, src, alpha):
        out = a.copy()
        _index_add_into(out, axis, index, src if alpha == 1 else alpha * src)
        ctx.meta = (axis, index, alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, index, alpha = ctx.meta
        gs = None
        if ctx.needs_input_grad[3]:
            gs = np.take(g, index, axis=axis)
            gs = gs if alpha == 1 else gs * alpha
        return g, None, None, gs, None


class IndexCopy(Function):
    """``out = a.clone(); out[..., index, ...] = src`` (along ``axis``)."""

    affine_in = (0, 3)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axis, index, src):
        out = a.copy()
        out[_axis_index(a.ndim, axis, index)] = src
        ctx.meta = (axis, index)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, index = ctx.meta
        ga = g.copy()
        ga[_axis_index(g.ndim, axis, index)] = 0
        gs = np.take(g, index, axis=axis) if ctx.needs_input_grad[3] else None
        return ga, None, None, gs


class IndexFill(Function):
    """``out = a.clone(); out[..., index, ...] = value``; a 0-d tensor value gets the sum of the
    gradient of the positions it filled."""

    affine_in = (0, 3)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axis, index, value):
        out = a.copy()
        out[_axis_index(a.ndim, axis, index)] = value
        ctx.meta = (axis, index)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, index = ctx.meta
        where = _axis_index(g.ndim, axis, np.unique(index))
        gv = np.asarray(g[where].sum(), g.dtype) if ctx.needs_input_grad[3] else None
        ga = g.copy()
        ga[where] = 0
        return ga, None, None, gv


class IndexPutAccumulate(Function):
    """``out = a.clone(); out[idx] += v`` with duplicates summed (index_put accumulate=True)."""

    name = "IndexPutBackward0"
    affine_in = (0, 2)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, idx, v):
        out = a.copy()
        np.add.at(out, idx, v)
        ctx.meta = (idx, np.shape(v))
        return out

    @staticmethod
    def backward(ctx, g):
        idx, vshape = ctx.meta
        gv = unbroadcast(g[idx], vshape) if ctx.needs_input_grad[2] else None
        return g, None, gv


class MaskedScatter(Function):
    """``out[mask] = src.flatten()[:mask.sum()]``, positions taken in row-major order."""

    affine_in = (0, 2)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, mask, src):
        out = a.copy()
        n = int(mask.sum())
        out[mask] = src.reshape(-1)[:n]
        ctx.meta = (mask, src.shape, n)
        return out

    @staticmethod
    def backward(ctx, g):
        mask, src_shape, n = ctx.meta
        ga = np.where(mask, 0, g).astype(g.dtype, copy=False)
        gs = None
        if ctx.needs_input_grad[2]:
            gs = np.zeros(int(np.prod(src_shape)), g.dtype)
            gs[:n] = g[mask]
            gs = gs.reshape(src_shape)
        return ga, None, gs


class Take(Function):
    """``a.flatten()[index]`` in index's shape (indices already wrapped to [0, numel))."""

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, index):
        ctx.meta = (a.shape, index)
        return a.reshape(-1)[index]

    @staticmethod
    def backward(ctx, g):
        shape, index = ctx.meta
        out = np.zeros(int(np.prod(shape)), g.dtype)
        np.add.at(out, index.reshape(-1), g.reshape(-1))
        return out.reshape(shape), None


class Put(Function):
    """``out.flatten()[index] = source`` (or ``+=`` with accumulate)."""

    affine_in = (0, 2)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, index, source, accumulate):
        out = a.copy()
        flat = out.reshape(-1)
        if accumulate:
            np.add.at(flat, index.reshape(-1), source.reshape(-1))
        else:
            flat[index.reshape(-1)] = source.reshape(-1)
        ctx.meta = (index, source.shape, accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        index, source_shape, accumulate = ctx.meta
        flat_index = index.reshape(-1)
        ga = g
        if not accumulate:
            ga = g.copy()
            ga.reshape(-1)[flat_index] = 0
        gs = g.reshape(-1)[flat_index].reshape(source_shape) if ctx.needs_input_grad[2] else None
        return ga, None, gs, None
