"""Indexing, gather/scatter and masked ops. Backward of an index is a scatter-add of the
gradient into zeros: duplicates in an advanced index accumulate (np.add.at)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function


def is_basic_index(idx) -> bool:
    """True when NumPy indexing returns a view: ints, slices, None and Ellipsis only."""
    for i in (idx if isinstance(idx, tuple) else (idx,)):
        if isinstance(i, bool) or not (isinstance(i, (int, np.integer, slice)) or i is None
                                       or i is Ellipsis):
            return False
    return True


class Index(Function):
    """Advanced (copying) indexing: integer arrays, boolean masks."""

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, idx):
        ctx.meta = (a.shape, a.dtype, idx)
        return a[idx]

    @staticmethod
    def backward(ctx, g):
        shape, dtype, idx = ctx.meta
        out = np.zeros(shape, g.dtype)
        np.add.at(out, idx, g)
        return out, None


class Select(Function):
    """Basic indexing (ints, slices, None, ...): a view; backward writes into zeros."""

    is_view = True
    name = "SliceBackward0"

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, idx):
        ctx.meta = (a.shape, idx)
        return a[idx]

    @staticmethod
    def backward(ctx, g):
        shape, idx = ctx.meta
        out = np.zeros(shape, g.dtype)
        out[idx] = g
        return out, None


class IndexPut(Function):
    """``out = a.clone(); out[idx] = v`` (the value of Tensor.__setitem__)."""

    name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, a, idx, v):
        out = a.copy()
        out[idx] = v
        ctx.meta = (idx, np.shape(v))
        return out

    @staticmethod
    def backward(ctx, g):
        idx, vshape = ctx.meta
        ga = None
        if ctx.needs_input_grad[0]:
            ga = g.copy()
            ga[idx] = 0
        gv = None
        if ctx.needs_input_grad[2]:
            from .util import unbroadcast
            gv = unbroadcast(g[idx], vshape)
        return ga, None, gv

    @staticmethod
    def backward_graph(ctx, g):
        # recorded: g with the written places zeroed (an index_put itself), and g at them
        from ..autograd.higher_order import constant, sum_to
        idx, vshape = ctx.meta
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = IndexPut.apply(g, idx, constant(np.zeros(()), g))
        if ctx.needs_input_grad[2]:
            gv = sum_to(Index.apply(g, idx), vshape)
        return ga, None, gv


class Gather(Function):
    """``out[i][j][k] = a[i][index[i][j][k]][k]`` (axis 1): the index may be smaller than ``a``
    apart from ``axis`` (the caller checked it is never larger), so ``a`` is cut to its shape
    first; NumPy's take_along_axis would broadcast instead."""

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axis, index):
        ctx.meta = (a.shape, axis, index)
        cut = tuple(slice(None) if d == axis else slice(0, s) for d, s in enumerate(index.shape))
        return np.take_along_axis(a[cut], index, axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, index = ctx.meta
        out = np.zeros(shape, g.dtype)
        _scatter_add_into(out, axis, index, g)
        return out, None, None


def _along_axis_index(index, axis):
    """Full index tuple addressing ``out[..., index[...], ...]`` along ``axis``."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


def _scatter_add_into(out, axis, index, src):
    _add_at_along(out, _along_axis_index(index, axis), src[tuple(slice(0, s) for s in index.shape)])


def _add_at_along(out, full, vals):
    """``np.add.at(out, full, vals)`` (vals in the index's shape), through flat positions:
    ufunc.at with a tuple of index arrays is ~9x slower (NumPy 2.4). Same order of accumulation."""
    if not out.flags.c_contiguous:  # reshape(-1) would be a copy
        np.add.at(out, full, vals)
        return
    flat = np.ravel_multi_index(np.broadcast_arrays(*full), out.shape).reshape(-1)
    np.add.at(out.reshape(-1), flat, np.asarray(vals).reshape(-1))


class Scatter(Function):
    """out = a.clone(); out[index along axis] = src (or += with reduce='add' / scatter_add)."""
    affine_in = (0, 3)  # double backward: autograd/higher_order.py (the index is fixed)

    @staticmethod
    def forward(ctx, a, axis, index, src, accumulate):
        out = a.copy()
        full = _along_axis_index(index, axis)
        if np.ndim(src) == 0:
            src_vals = np.broadcast_to(np.asarray(src, a.dtype), index.shape)
        else:
            src_vals = src[tuple(slice(0, s) for s in index.shape)]
        if accumulate:
            _add_at_along(out, full, src_vals)
        else:
            out[full] = src_vals
        ctx.meta = (axis, index, np.shape(src), accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, index, src_shape, accumulate = ctx.meta
        full = _along_axis_index(index, axis)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = g.copy()
            if not accumulate:
                ga[full] = 0
        if ctx.needs_input_grad[3]:
            gs = np.zeros(src_shape, g.dtype)
            gs[tuple(slice(0, s) for s in index.shape)] = g[full]
        return ga, None, None, gs, None


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.save_for_backward(mask)
        ctx.shape = a.shape
        return np.where(mask, np.asarray(value, a.dtype), a)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        from .util import unbroadcast
        return unbroadcast(np.where(mask, 0, g).astype(g.dtype, copy=False), ctx.shape), None, None

    @staticmethod
    def backward_graph(ctx, g):
        # recorded: g masked by the (constant) mask, itself a masked_fill
        from ..autograd.higher_order import sum_to
        (mask,) = ctx.saved_tensors
        return sum_to(MaskedFill.apply(g, mask, 0), ctx.shape), None, None


class TakeAlong(Function):
    """Values at precomputed indices along an axis (sort, topk, kthvalue): differentiable values."""

    name = "SortBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py (the index is fixed)

    @staticmethod
    def forward(ctx, a, axis, index):
        ctx.meta = (a.shape, axis, index)
        return np.take_along_axis(a, index, axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, index = ctx.meta
        out = np.zeros(shape, g.dtype)
        _scatter_add_into(out, axis, index, g)
        return out, None, None


class TopKValues(TakeAlong):
    name = "TopkBackward0"
