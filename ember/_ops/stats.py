"""Scans, order statistics, counting and searching (torch's reductions/scans/sorting group).

Differentiable scans are Functions (forward and backward side by side). Order statistics
(median, kthvalue, mode, quantile) only choose *indices* here; the Tensor layer takes the values
with ``TakeAlong``, so the gradient goes to the chosen element as in torch. The counting and
searching helpers (unique, bincount, histc, searchsorted) return arrays with no gradient.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .index import _scatter_add_into
from .util import reverse_cumsum


# ----------------------------------------------------------------------------- scans
class CumProd(Function):
    """Cumulative product; backward is exact when the input holds zeros (no division by 0)."""

    name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, a, axis):
        out = np.cumprod(a, axis=axis)
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return cumprod_grad(a, out, g, ctx.axis), None


def cumprod_grad(a, out, g, axis):
    # Before the first zero z of a row, d out_j / d a_i = out_j / a_i (a_i != 0 there). At z the
    # products that include a_z are those of a with a_z replaced by 1; after z every path
    # through a_z's product is zero.
    n = a.shape[axis]
    zero = a == 0
    pos = np.arange(n).reshape((-1,) + (1,) * (a.ndim - axis - 1))
    first = np.where(zero.any(axis=axis, keepdims=True), np.argmax(zero, axis=axis, keepdims=True), n)
    before = pos < first
    safe_a = np.where(before, a, 1)
    grad = np.where(before, reverse_cumsum(g * out, axis) / safe_a, 0)
    at_zero = pos == first
    if at_zero.any():
        prod_wo_zero = np.cumprod(np.where(at_zero, 1, a), axis=axis)
        tail = reverse_cumsum(np.where(pos >= first, g * prod_wo_zero, 0), axis)
        grad = np.where(at_zero, tail, grad)
    return grad.astype(a.dtype, copy=False)


class CumMaxMin(Function):
    """cummax / cummin -> (values, indices); ties and NaN take the latest index, as torch."""

    name = "CummaxBackward0"

    @staticmethod
    def forward(ctx, a, axis, is_max):
        acc = np.maximum if is_max else np.minimum
        vals = acc.accumulate(a, axis=axis) if a.size else a.copy()
        n = a.shape[axis] if a.ndim else 1
        pos = np.arange(n).reshape((-1,) + (1,) * (a.ndim - axis - 1)) if a.ndim else np.zeros((), np.int64)
        hit = a == vals
        if a.dtype.kind == "f":
            hit |= np.isnan(a)
        idx = np.where(hit, pos, 0)
        idx = (np.maximum.accumulate(idx, axis=axis) if a.ndim and a.size else idx).astype(np.int64)
        ctx.meta = (a.shape, axis, idx)
        ctx.mark_non_differentiable(idx)
        return vals, idx

    @staticmethod
    def backward(ctx, g, _gidx):
        shape, axis, idx = ctx.meta
        out = np.zeros(shape, g.dtype)
        if len(shape):
            _scatter_add_into(out, axis, idx, g)
        else:
            out = g.copy()
        return out, None, None


class LogCumSumExp(Function):
    name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, a, axis):
        out = np.logaddexp.accumulate(a, axis=axis) if a.size else a.copy()
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        # grad_i = sum_{j>=i} g_j exp(a_i - out_j), summed in log space (positive and negative
        # parts of g apart) so that large inputs neither overflow nor lose precision
        a, out = ctx.saved_tensors
        axis = ctx.axis
        if not a.size:
            return np.zeros_like(a), None
        with np.errstate(divide="ignore"):
            pos = _reverse_logcumsumexp(np.log(np.maximum(g, 0)) - out, axis)
            neg = _reverse_logcumsumexp(np.log(np.maximum(-g, 0)) - out, axis)
        return (np.exp(a + pos) - np.exp(a + neg)).astype(a.dtype, copy=False), None


class CumMin(CumMaxMin):
    name = "CumminBackward0"


def _reverse_logcumsumexp(x, axis):
    return np.flip(np.logaddexp.accumulate(np.flip(x, axis), axis=axis), axis)


class EvenlySelected(Function):
    """A value chosen from ``a`` as a whole (global median): ties share the gradient evenly."""

    name = "MedianBackward0"

    @staticmethod
    def forward(ctx, a, value):
        ctx.save_for_backward(a)
        ctx.value = value
        return np.array(value, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        v = ctx.value
        mask = (a == v) | (np.isnan(a) & np.isnan(v)) if a.dtype.kind == "f" else a == v
        count = max(int(mask.sum()), 1)
        return (mask * (g / count)).astype(g.dtype, copy=False), None


class NanEvenlySelected(EvenlySelected):
    name = "NanmedianBackward0"


class StdFromVar(Function):
    """std = sqrt(var), with torch's zero gradient where the std is 0 (not 0 * inf = nan)."""

    name = "StdBackward0"

    @staticmethod
    def forward(ctx, var):
        out = np.asarray(np.sqrt(var))  # an array even 0-d: saved as the output, linked
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(out == 0, 0, g / (2 * out)).astype(out.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, g):
        # recorded; a zero std divides by 1 instead (then masked), so no inf * 0 = nan below
        from ..autograd.higher_order import constant, saved
        from .index import MaskedFill
        (out,) = saved(ctx)
        zero = out._data == 0
        return MaskedFill.apply(g / (2 * (out + constant(zero, out))), zero, 0)


# ----------------------------------------------------------------------------- order statistics
def sorted_index(a, axis):
    """Stable ascending argsort with NaN last (NumPy's order), int64."""
    return np.argsort(a, axis=axis, kind="stable").astype(np.int64)


def median_index(a, axis, ignore_nan):
    """Index (keepdim shape) of the lower median along ``axis``.

    median: a NaN in the row makes the result that NaN; nanmedian skips NaN (all-NaN -> NaN).
    """
    order = sorted_index(a, axis)
    n = a.shape[axis]
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    nans = nan.sum(axis=axis, keepdims=True)
    if ignore_nan:
        k = np.where(nans == n, 0, (n - nans - 1) // 2)
    else:
        k = np.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN in sorted order
    return np.take_along_axis(order, k.astype(np.int64), axis)


def kth_index(a, axis, k):
    """Index (keepdim shape) of the k-th smallest (1-based) along ``axis``, equal values
    resolved as torch's quickselect does."""
    from .._kernels.select import kth_smallest_index
    idx = kth_smallest_index(_rows(a, axis), k - 1)
    return _from_rows(idx[:, None], a, axis)


def mode_index(a, axis):
    """Index (keepdim shape) of the most frequent value along ``axis``: the smallest such value,
    at the index torch's sort leaves last in its run."""
    rows = _rows(a, axis)
    if not _has_ties(rows) and not _isnan(rows).any():
        idx = np.argmin(rows, axis=1)  # all values distinct: each is a run of one
    else:
        from .._kernels.stl_order import mode_rows
        _, idx = mode_rows(rows)
    return _from_rows(idx[:, None], a, axis)


def topk_index(a, axis, k, largest, sorted_):
    """Indices (k along ``axis``) of torch's CPU topk, ties in torch's order."""
    rows = _rows(a, axis)
    if sorted_ and not _has_ties(rows):
        # distinct values: every correct sort agrees, and NumPy's needs no compiling (the
        # libstdc++ replica costs seconds to compile on first use)
        order = np.argsort(rows, axis=1, kind="stable")  # NaN last: largest flips it to first
        idx = order[:, ::-1][:, :k] if largest else order[:, :k]
    else:
        from .._kernels.stl_order import topk_rows
        _, idx = topk_rows(rows, k, largest, sorted_)
    return _from_rows(np.ascontiguousarray(idx, dtype=np.int64), a, axis)


def _has_ties(rows):
    """True when some row holds a value twice (two NaN count as a tie)."""
    if rows.shape[1] < 2:
        return False
    s = np.sort(rows, axis=1)
    same = s[:, 1:] == s[:, :-1]
    if rows.dtype.kind == "f":
        same |= np.isnan(s[:, 1:]) & np.isnan(s[:, :-1])
    return bool(same.any())


def _rows(a, axis):
    """``a`` with ``axis`` last, as contiguous float64 rows, so that one compiled kernel serves
    every dtype (a variant costs seconds to compile on first use): exact for float32, bools and
    integers below 2**53; larger integers become their ranks, which keep order and ties (all
    the kernels look at)."""
    moved = np.moveaxis(a, axis, -1)
    rows = np.ascontiguousarray(moved).reshape(int(np.prod(moved.shape[:-1])), moved.shape[-1])
    if rows.dtype == np.float64:
        return rows
    if rows.dtype.kind in "iu" and rows.size and (rows.max() >= 2 ** 53 or rows.min() <= -2 ** 53):
        return np.unique(rows, return_inverse=True)[1].reshape(rows.shape).astype(np.float64)
    return rows.astype(np.float64)


def _from_rows(idx, a, axis):
    shape = np.moveaxis(a, axis, -1).shape[:-1] + (idx.shape[-1],)
    return np.moveaxis(idx.reshape(shape), -1, axis)


def _isnan(x):
    return np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)


def quantile_positions(a, q, axis, ignore_nan, interpolation):
    """(low index, high index, weight), each shaped (len(q), *keepdim shape) for ``a`` sorted
    along ``axis``: quantile = low + weight * (high - low). A row with NaN (or all NaN for
    nanquantile) gives indices of a NaN."""
    n = a.shape[axis]
    nans = _isnan(a).sum(axis=axis, keepdims=True)
    valid = (n - nans) if ignore_nan else np.where(nans > 0, 0, n)
    q = q.reshape((-1,) + (1,) * a.ndim)
    rank = q * np.maximum(valid - 1, 0).astype(q.dtype)
    if interpolation == "lower":
        rank = np.floor(rank)
    elif interpolation == "higher":
        rank = np.ceil(rank)
    elif interpolation == "nearest":
        rank = np.round(rank)  # half to even, as torch's round
    low = np.floor(rank).astype(np.int64)
    high = np.ceil(rank).astype(np.int64)
    weight = rank - low
    if interpolation == "midpoint":
        weight = np.where(high != low, 0.5, 0.0).astype(q.dtype)
    no_value = valid == 0  # all-NaN rows (nanquantile) or any-NaN rows (quantile): a NaN
    nan_at = np.broadcast_to(n - np.maximum(nans, 1), low.shape)
    low = np.where(no_value, nan_at, low)
    high = np.where(no_value, nan_at, high)
    return low, high, weight


# ----------------------------------------------------------------------------- counting
def unique_consecutive_mask(flat_or_rows):
    """True where a new run starts, for a 1-D array or for rows (axis 0) of a 2-D array."""
    a = flat_or_rows
    start = np.ones(a.shape[0], bool)
    if a.shape[0] > 1:
        differ = a[1:] != a[:-1]
        start[1:] = differ if a.ndim == 1 else differ.reshape(a.shape[0] - 1, -1).any(axis=1)
    return start


def unique_consecutive(a, axis, return_inverse, return_counts):
    """(values, inverse, counts) of runs of equal entries (along ``axis`` or of the flat array)."""
    moved = a.reshape(-1) if axis is None else np.moveaxis(a, axis, 0)
    start = unique_consecutive_mask(moved)
    values = moved[start]
    run = np.cumsum(start) - 1
    inverse = run.reshape(a.shape) if axis is None else run
    counts = np.diff(np.append(np.flatnonzero(start), moved.shape[0]))
    if axis is not None:
        values = np.moveaxis(values, 0, axis)
    return values, inverse.astype(np.int64), counts.astype(np.int64)


def histc(a, bins, lo, hi):
    """torch.histc: ``bins`` equal bins over [lo, hi]; hi falls in the last bin, outside is
    dropped. Bin edges are compared as torch does (linspace edges, then a local correction)."""
    flat = a.reshape(-1)
    out = np.zeros(bins, dtype=a.dtype)
    inside = flat[(flat >= lo) & (flat <= hi)]
    if not inside.size:
        return out
    edges = np.linspace(lo, hi, bins + 1).astype(a.dtype)
    pos = ((inside - lo) * bins / (hi - lo)).astype(np.int64) if hi > lo else np.zeros(inside.shape, np.int64)
    pos = np.clip(pos, 0, bins - 1)
    pos = np.where((pos > 0) & (inside < edges[pos]), pos - 1, pos)
    pos = np.where((pos < bins - 1) & (inside >= edges[np.minimum(pos + 1, bins)]), pos + 1, pos)
    return np.bincount(pos, minlength=bins)[:bins].astype(a.dtype)


def _searchsorted_rows(seq, values, right, sorter):
    """Row-wise np.searchsorted: ``seq`` 1-D (shared) or with the leading dims of ``values``."""
    side = "right" if right else "left"
    if seq.ndim == 1:
        if sorter is not None:
            return np.searchsorted(seq, values, side=side, sorter=sorter.reshape(-1))
        return np.searchsorted(seq, values, side=side)
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter, -1)
    rows_s = seq.reshape(-1, seq.shape[-1])
    rows_v = values.reshape(rows_s.shape[0], -1)
    # one searchsorted per row: a row is a separate sorted sequence
    out = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(rows_s, rows_v)]) \
        if rows_s.shape[0] else np.zeros(rows_v.shape, np.int64)
    return out.reshape(values.shape)


# ----------------------------------------------------------------------------- result types
# torch.return_types.<name>: named tuples of (values, indices) (aminmax: (min, max))
def _pair(name, fields=("values", "indices")):
    import collections
    return collections.namedtuple(name, list(fields))


RETURN_TYPES = {name: _pair(name) for name in ("cummax", "cummin", "median", "nanmedian", "mode",
                                               "kthvalue")}
RETURN_TYPES["aminmax"] = _pair("aminmax", ("min", "max"))


# ----------------------------------------------------------------------------- public functions
# torch functions of this group that are not Tensor methods (ember.<name> imports them).
def _as_tensor(x):
    from .._tensor import Tensor
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    _check_float_for("var_mean", input)
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(() if dim is None else dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    _check_float_for("std_mean", input)
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(() if dim is None else dim, keepdim))


def _check_float_for(op, t):
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"{op} only support floating point and complex dtypes")


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side is not None and (side == "right") != bool(right) and right:
        raise RuntimeError(f"torch.searchsorted(): side and right can't be set to opposites, got "
                           f"side of {side} while right was True")
    seq = sorted_sequence._data
    values = np.asarray(input._data if hasattr(input, "_data") else input)
    if seq.ndim > 1 and seq.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the "
                           f"first N-1 dimensions of boundaries tensor and input value tensor must "
                           f"match, but we got boundaries tensor {list(seq.shape)} and input value "
                           f"tensor {list(values.shape)}")
    srt = None if sorter is None else sorter._data
    idx = _searchsorted_rows(seq, values, right or side == "right", srt)
    return _as_tensor(idx.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    # compute_mode picks torch's algorithm (matrix products or not); ember has one, exact way
    if x1.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if diff.shape[-1] == 0:  # no coordinates: every distance is 0
        return diff.abs().sum(-1)
    if p == float("inf"):
        return _max_abs_all_ties(diff)
    return diff.norm(p, dim=-1)


def _max_abs_all_ties(diff):
    # torch's cdist(p=inf) backward sends the whole gradient to every coordinate that attains
    # the maximum (norm(inf) would share it): value max|d|, gradient sum over the ties of sign(d)
    absd = diff.abs()
    top = absd.detach().amax(-1, keepdim=True)
    tied = (absd.detach() == top)._cast(absd.dtype)
    return top.squeeze(-1) + ((absd - absd.detach()) * tied).sum(-1)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """torch 2.13's formula: each input divided by its norm clamped to ``eps`` (the clamp made
    without autograd, so the gradient flows through the unclamped norm), then the dot product."""
    from .._dtype import result_type
    common = result_type(x1, x2)
    if common.np.kind != "f":
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{_scalar_name(common)}")
    x1, x2 = _broadcast_pair(x1._cast(common), x2._cast(common))
    n1, n2 = (_clamped_norm(x, dim, eps) for x in (x1, x2))
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _scalar_name(dt):
    from .._dtype import scalar_type_name
    return scalar_type_name(dt)


def _broadcast_pair(a, b):
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    return a.expand(*shape), b.expand(*shape)


def _clamped_norm(x, dim, eps):
    norm = x.norm(2, dim, keepdim=True)
    detached = norm.detach()
    return norm + (detached.clamp_min(eps) - detached)  # value clamped, gradient of the norm


_ACCUMULATE_IN_OUT_DTYPE = frozenset("sum nansum prod cumsum cumprod".split())


def with_out(fn, name=None):
    """``fn(..., out=None)``: torch's ``out=`` for an op returning a tensor or a named tuple of
    them (``out`` then a tuple of tensors, one per field); the outs are returned, as in torch."""
    name = name or fn.__name__
    if getattr(fn, "_with_out", False):
        return fn

    def wrapped(*args, out=None, **kwargs):
        if name in _ACCUMULATE_IN_OUT_DTYPE and out is not None and "dtype" not in kwargs \
                and args and hasattr(args[0], "_data") and out.dtype is not args[0].dtype:
            kwargs["dtype"] = out.dtype  # torch accumulates in out's dtype: the input cast first
        res = fn(*args, **kwargs)
        if out is None:
            return res
        from .products import _finish_out
        if isinstance(res, tuple):
            if not isinstance(out, (tuple, list)) or len(out) != len(res):
                raise TypeError(f"{name}(): argument 'out' must be tuple of "
                                f"{len(res)} Tensors")
            return type(res)(*(_finish_out(r, o, name) for r, o in zip(res, out)))
        return _finish_out(res, out, name)

    wrapped.__name__ = wrapped.__qualname__ = name
    wrapped.__doc__ = fn.__doc__
    wrapped.__wrapped__ = fn
    wrapped._with_out = True
    return wrapped


# =========================================================================== double backward (issue 11, G7)
# cumprod and logcumsumexp recorded as their composition over a (..., n, n) block per row
# (row j keeps a_0..a_j): prod / logsumexp of it, whose own recorded backwards are exact with
# zeros and -inf; cummax/cummin as the scatter of g to the fixed indices.
def _prefix_block(a, axis, fill):
    """(..., n, n) from ``a`` moved to the last axis: row j holds a_0..a_j, ``fill`` after."""
    x = a.transpose(axis, -1) if a.ndim else a.reshape(1)
    n = x.shape[-1]
    rows = x.unsqueeze(-2).expand(*x.shape[:-1], n, n)
    from .index import MaskedFill
    return MaskedFill.apply(rows, np.triu(np.ones((n, n), bool), 1), fill)


def _from_prefix_block(out, a, axis):
    return out.transpose(axis, -1) if a.ndim else out.reshape(())


def _cumprod_composed(a, axis):
    from .reduce import Prod
    return _from_prefix_block(Prod.apply(_prefix_block(a, axis, 1), -1, False), a, axis)


def _logcumsumexp_composed(a, axis):
    return _from_prefix_block(_prefix_block(a, axis, -np.inf).logsumexp(-1), a, axis)


def _composed_graph(composed):
    def backward_graph(ctx, g):
        from ..autograd.higher_order import grad_of, input_links
        return grad_of(composed, ctx, (g,), input_links(ctx))
    return staticmethod(backward_graph)


def _cummaxmin_graph(ctx, g, _gidx):
    from ..autograd.higher_order import constant
    from .index import Scatter
    shape, axis, idx = ctx.meta
    if not len(shape):
        return g * 1, None, None
    return Scatter.apply(constant(np.zeros(shape), g), axis, idx, g, True), None, None


CumProd.backward_graph = _composed_graph(_cumprod_composed)
LogCumSumExp.backward_graph = _composed_graph(_logcumsumexp_composed)
CumMaxMin.backward_graph = staticmethod(_cummaxmin_graph)
