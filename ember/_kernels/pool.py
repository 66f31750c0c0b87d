"""Pooling kernels: max / average / adaptive / fractional pooling and max-unpooling, any N <= 3.

NumPy arrays in, NumPy arrays out. Every input arrives as ``(planes, *spatial)``, one plane per
(N, C) pair, with 1 to 3 spatial dims; the wrappers view it as ``(planes, D, H, W)`` (missing
leading dims of size 1), so ONE compiled loop per family serves 1-d, 2-d and 3-d.

A pooling window is separable: along each axis, output position ``o`` reads the input positions
``first[o] + j*step`` for ``j < taps[o]`` (already clipped to the unpadded input). These
per-axis tables are tiny NumPy arrays, built once per size and cached; they describe

    max/avg pooling   first = o*stride - pad (moved right past the padding), step = dilation
    adaptive pooling  first = floor(o*in/out), taps = ceil((o+1)*in/out) - first, step = 1
    fractional        first = the pseudo-random interval start of each plane, taps = kernel

so the compiled loops never branch on the family. Average pooling adds a third table per axis,
that axis's factor of the divisor (the window's size with or without the padding, or the bin's
size): divisors are separable too. Tables have shape ``(T, out)`` with ``T == 1``
(shared by every plane) or ``T == planes`` (fractional pooling draws per-plane intervals; an
axis's first and taps tables then both have a row per plane).

The loops run in parallel over planes (``numba.prange``): each plane is written by one thread,
so the backward scatter ``grad_in[p, index] += grad_out[p, o]`` is race-free and needs no
``np.add.at``, even where windows overlap (stride < kernel) or are dilated. One special case:
average pooling whose single window is the whole plane (global average pooling) is a plain
vectorised row sum and a broadcast (``_plane_means`` / ``_plane_fill``).

Indices are int64 flat offsets into each unpadded input plane, as torch's.
"""
from __future__ import annotations

import functools
import math

import numba
import numpy as np

from ._jit import parallel_kernel

__all__ = ["max_pool", "avg_pool", "avg_pool_backward", "adaptive_max_pool", "adaptive_avg_pool",
           "adaptive_avg_pool_backward", "fractional_max_pool", "fractional_intervals",
           "fractional_starts",
           "max_pool_backward", "max_unpool", "max_unpool_backward"]


# -- compiled loops ------------------------------------------------------------------------------

@parallel_kernel
def _max_windows(x, dims, first_d, taps_d, first_h, taps_h, first_w, taps_w, steps, out, index):
    """out[p, o] = max of plane p over window o; index[p, o] = its flat offset in the plane.

    One plane per task; the plane's loops are ``_max_plane``, compiled once as a function of
    its own and called by both twins: inside this parallel loop numba compiled them into code
    that took 1.5x the serial twin's CPU time (measured, 2048 planes of 56x56).
    """
    per_plane_d, per_plane_h, per_plane_w = (first_d.shape[0] > 1, first_h.shape[0] > 1,
                                             first_w.shape[0] > 1)
    for p in numba.prange(x.shape[0]):
        plane = np.int64(p)  # prange's index may be unsigned; keep table rows int64
        td = plane if per_plane_d else 0
        th = plane if per_plane_h else 0
        tw = plane if per_plane_w else 0
        _max_plane(x[p], dims, first_d[td], taps_d[td], first_h[th], taps_h[th], first_w[tw],
                   taps_w[tw], steps, out[p], index[p])


@numba.njit(cache=True)
def _max_plane(xp, dims, first_d, taps_d, first_h, taps_h, first_w, taps_w, steps, out, index):
    """``_max_windows`` on one flat plane, with its rows of the window tables.

    Scan order is d, h, w; a later element wins only if it is greater, or NaN (torch's CPU
    kernel: ``if ((val > maxval) || std::isnan(val))``), so the first of tied maxima wins and
    a NaN becomes the max (pytorch#7645; the last NaN, as torch). The index starts at the
    window's first element inside the input, so an all -inf window still yields a valid index.
    """
    in_h, in_w = dims[1], dims[2]
    step_d, step_h, step_w = steps[0], steps[1], steps[2]
    o = 0
    for od in range(first_d.size):
        d0 = first_d[od]
        nd = taps_d[od]
        for oh in range(first_h.size):
            h0 = first_h[oh]
            nh = taps_h[oh]
            for ow in range(first_w.size):
                w0 = first_w[ow]
                nw = taps_w[ow]
                best_i = (d0 * in_h + h0) * in_w + w0
                best = -np.inf
                for a in range(nd):
                    for b in range(nh):
                        row = ((d0 + a * step_d) * in_h + h0 + b * step_h) * in_w + w0
                        for c in range(nw):
                            i = row + c * step_w
                            v = xp[np.uint64(i)]  # in the plane: see _contiguous_runs
                            if v > best or v != v:
                                best = v
                                best_i = i
                out[np.uint64(o)] = best
                index[np.uint64(o)] = best_i
                o += 1


@numba.njit(cache=True, inline="always")  # in numba IR: LLVM left it a call per window
def _contiguous_runs(nd, nh, nw, in_h, in_w):
    """A (nd, nh, nw) window of a (D, in_h, in_w) plane as ``outer x rows`` runs of ``run``
    contiguous elements: whole-row windows merge their rows, whole-slice windows their slices.

    Fewer, longer inner loops: AdaptiveAvgPool2d((2, 1)) sums half a plane in one run, not
    row by row. The loops index with ``np.uint64(row + c)``, not ``row + c``: numba wraps
    negative signed indices, and as it cannot prove ``row + c >= 0`` the per-element
    wraparound select made these loops 4-6x slower; every offset the tables give is in the
    plane.
    """
    if nw == in_w:
        if nh == in_h:
            return 1, 1, nd * in_h * in_w
        return nd, 1, nh * in_w
    return nd, nh, nw


# No fastmath here: numba 0.68 reloads this parallel loop from its on-disk cache ~1.5x slower
# when it is compiled with fastmath (measured; fresh compiles were fine). The long sums that
# reassociation would vectorise are the whole-plane ones, done by _plane_means.
@parallel_kernel
def _avg_windows(x, dims, first_d, taps_d, size_d, first_h, taps_h, size_h, first_w, taps_w,
                 size_w, divisor_override, out):
    """out[p, o] = sum of window o / divisor, divisor = size_d*size_h*size_w (or the override).

    Sums accumulate in float64; an empty window gives 0 (torch skips it).
    """
    planes = x.shape[0]
    in_h, in_w = dims[1], dims[2]
    out_d, out_h, out_w = first_d.shape[1], first_h.shape[1], first_w.shape[1]
    row_first_w, row_taps_w, row_size_w = first_w[0], taps_w[0], size_w[0]  # cheaper lookups
    for p in numba.prange(planes):
        xp = x[p]
        op = out[p]
        o = 0
        for od in range(out_d):
            d0 = first_d[0, od]
            nd = taps_d[0, od]
            for oh in range(out_h):
                nh = taps_h[0, oh]
                size_dh = size_d[0, od] * size_h[0, oh]
                corner = (d0 * in_h + first_h[0, oh]) * in_w
                for ow in range(out_w):
                    w0 = row_first_w[ow]
                    nw = row_taps_w[ow]
                    outer, rows, run = _contiguous_runs(nd, nh, nw, in_h, in_w)
                    total = 0.0
                    for a in range(outer):
                        for b in range(rows):
                            row = corner + (a * in_h + b) * in_w + w0
                            for c in range(run):
                                total += xp[np.uint64(row + c)]  # see _contiguous_runs
                    if divisor_override != 0:
                        divisor = divisor_override
                    else:
                        divisor = size_dh * row_size_w[ow]
                    op[np.uint64(o)] = total / divisor if nd * nh * nw > 0 else 0.0
                    o += 1


@parallel_kernel
def _avg_windows_backward(grad_out, dims, first_d, taps_d, size_d, first_h, taps_h, size_h,
                          first_w, taps_w, size_w, divisor_override, grad_in):
    """grad_in[p, window o] += grad_out[p, o] / divisor: the adjoint of ``_avg_windows``."""
    planes = grad_out.shape[0]
    in_h, in_w = dims[1], dims[2]
    out_d, out_h, out_w = first_d.shape[1], first_h.shape[1], first_w.shape[1]
    row_first_w, row_taps_w, row_size_w = first_w[0], taps_w[0], size_w[0]
    for p in numba.prange(planes):
        gp = grad_in[p]
        go = grad_out[p]
        o = 0
        for od in range(out_d):
            d0 = first_d[0, od]
            nd = taps_d[0, od]
            for oh in range(out_h):
                nh = taps_h[0, oh]
                size_dh = size_d[0, od] * size_h[0, oh]
                corner = (d0 * in_h + first_h[0, oh]) * in_w
                for ow in range(out_w):
                    w0 = row_first_w[ow]
                    nw = row_taps_w[ow]
                    if divisor_override != 0:
                        divisor = divisor_override
                    else:
                        divisor = size_dh * row_size_w[ow]
                    if nd * nh * nw > 0:
                        g = go[np.uint64(o)] / divisor
                        outer, rows, run = _contiguous_runs(nd, nh, nw, in_h, in_w)
                        for a in range(outer):
                            for b in range(rows):
                                row = corner + (a * in_h + b) * in_w + w0
                                for c in range(run):
                                    gp[np.uint64(row + c)] += g
                    o += 1


@parallel_kernel(fastmath={"reassoc"})  # reassoc: a vectorised sum
def _plane_means(x, divisor, out):
    """out[p, 0] = sum(x[p]) / divisor: average pooling whose single window is the whole plane
    (global average pooling, AdaptiveAvgPool2d(1)); float64 accumulation."""
    for p in numba.prange(x.shape[0]):
        xp = x[p]
        total = 0.0
        for i in range(x.shape[1]):
            total += xp[i]
        out[p, 0] = total / divisor


@parallel_kernel
def _plane_fill(grad_out, divisor, grad_in):
    """grad_in[p, :] = grad_out[p, 0] / divisor: the adjoint of ``_plane_means`` (it writes
    every element, so grad_in needs no zeroing)."""
    for p in numba.prange(grad_in.shape[0]):
        g = grad_out[p, 0] / divisor
        gp = grad_in[p]
        for i in range(grad_in.shape[1]):
            gp[i] = g


@parallel_kernel
def _scatter_add(grad_out, index, grad_in):
    """grad_in[p, index[p, o]] += grad_out[p, o]: max-pooling backward (windows may overlap)."""
    for p in numba.prange(grad_out.shape[0]):
        gp = grad_in[p]
        for o in range(grad_out.shape[1]):
            gp[index[p, o]] += grad_out[p, o]


@parallel_kernel
def _unpool_scatter(x, index, out, bad):
    """out[p, index[p, i]] = x[p, i]; an index outside the plane is skipped and reported in
    ``bad[p]`` (the caller raises), never written elsewhere (pytorch#68873)."""
    size = out.shape[1]
    for p in numba.prange(x.shape[0]):
        op = out[p]
        for i in range(x.shape[1]):
            j = index[p, i]
            if j < 0 or j >= size:
                if bad[p] < 0:
                    bad[p] = i
            else:
                op[j] = x[p, i]


@parallel_kernel
def _gather(src, index, out):
    """out[p, i] = src[p, index[p, i]]: max-unpooling backward."""
    for p in numba.prange(out.shape[0]):
        sp = src[p]
        for i in range(out.shape[1]):
            out[p, i] = sp[index[p, i]]


# -- window tables --------------------------------------------------------------------------------

def _table(values):
    """An int64 (T, out) table; a 1-d row is shared by every plane (T = 1)."""
    table = np.asarray(values, dtype=np.int64)
    return np.ascontiguousarray(table if table.ndim == 2 else table[None])


# The tables depend only on the sizes and options, so they are built once and cached: a training
# loop calls the same pooling every step, and building them costs more than pooling a small
# input. The kernels only read them.
@functools.lru_cache(maxsize=512)
def _sliding_axis(in_size, out_size, kernel, stride, padding, dilation=1):
    """(first, taps, padded_size) of each window along one axis of max/avg pooling.

    A window starts at ``o*stride - padding``; taps in the padding are skipped. ``padded_size``
    is the window clipped to the padded input, ``min(start + k, in + pad) - start``: what
    count_include_pad divides by. It counts the explicit padding but never the ceil_mode
    overhang past it (torch AvgPoolKernel.cpp; coremltools#2844).
    """
    start = np.arange(out_size, dtype=np.int64) * stride - padding
    skip = np.where(start < 0, (-start + dilation - 1) // dilation, 0)    # taps left of the input
    end = np.minimum(kernel, (in_size - start + dilation - 1) // dilation)  # first tap past it
    taps = np.maximum(end - skip, 0)
    padded_size = np.minimum(start + kernel, in_size + padding) - start
    return _table(start + skip * dilation), _table(taps), _table(padded_size)


@functools.lru_cache(maxsize=512)
def _adaptive_axis(in_size, out_size):
    """(first, taps, taps) of adaptive bins, ``start = floor(o*in/out)``, ``end =
    ceil((o+1)*in/out)`` (AdaptivePooling.h; an end rounded down loses elements,
    FlagGems#4915). The bin size is also the averaging divisor."""
    o = np.arange(out_size, dtype=np.int64)
    start = (o * in_size) // out_size
    end = -((-(o + 1) * in_size) // out_size)
    return _table(start), _table(end - start), _table(end - start)


def _axes_3d(axes):
    """Per-axis tables -> the compiled loops' argument list, 1-d and 2-d windows led by size-1
    axes (one tap at 0, size 1) so that they run through the 3-d loops."""
    width = len(axes[0])
    size_one = (np.zeros((1, 1), np.int64),) + (np.ones((1, 1), np.int64),) * (width - 1)
    return [table for axis in [size_one] * (3 - len(axes)) + list(axes) for table in axis]


def _rows(a, dtype=None):
    """``(planes, *spatial)`` as a C-contiguous ``(planes, prod(spatial))`` array (no copy if
    it already is one)."""
    return np.ascontiguousarray(a, dtype=dtype).reshape(a.shape[0], math.prod(a.shape[1:]))


@functools.lru_cache(maxsize=512)
def _dims_3d(spatial):
    """(D, H, W) of a 1-d, 2-d or 3-d ``spatial`` tuple, as the int64 array the loops take."""
    return np.array((1,) * (3 - len(spatial)) + tuple(spatial), dtype=np.int64)


# -- max pooling and its relatives ----------------------------------------------------------------

def _run_max(x, axes, steps, out_spatial):
    """The max kernel over windows given as per-axis (first, taps) tables."""
    planes = x.shape[0]
    out = np.empty((planes, math.prod(out_spatial)), dtype=x.dtype)
    index = np.empty(out.shape, dtype=np.int64)
    _max_windows(_rows(x), _dims_3d(x.shape[1:]), *_axes_3d(axes), _dims_3d(tuple(steps)),
                 out, index)
    shape = (planes, *out_spatial)
    return out.reshape(shape), index.reshape(shape)


def max_pool(x, kernel_size, stride, padding, dilation, out_spatial):
    """Max pooling of ``x`` (planes, *spatial) -> (values, int64 indices), (planes, *out_spatial).

    ``out[o] = max_j x[o*stride - padding + j*dilation]`` over the taps inside the input (the
    padding acts as -inf).
    """
    axes = [_sliding_axis(n, o, k, s, p, d)[:2] for n, o, k, s, p, d in
            zip(x.shape[1:], out_spatial, kernel_size, stride, padding, dilation)]
    return _run_max(x, axes, dilation, out_spatial)


def adaptive_max_pool(x, out_spatial):
    """Adaptive max pooling of ``x`` (planes, *spatial) -> (values, int64 indices)."""
    axes = [_adaptive_axis(n, o)[:2] for n, o in zip(x.shape[1:], out_spatial)]
    return _run_max(x, axes, (1,) * len(axes), out_spatial)


def _as_c_int(v):
    """C's ``static_cast<int>(v)`` as x86 computes it: truncation toward zero, and INT_MIN for
    NaN or anything outside int32 (cvttsd2si's "integer indefinite"); torch's interval formula
    goes through it, so hostile samples give torch's starts, not NumPy's int64 ones."""
    with np.errstate(invalid="ignore"):
        inside = (v >= -2.0 ** 31) & (v < 2.0 ** 31)  # False for NaN
        return np.where(inside, np.trunc(np.where(inside, v, 0)), -2.0 ** 31).astype(np.int64)


def _int32_wrap(v):
    """int32 subtraction's wrap-around (what torch's ``int - int`` does on overflow)."""
    return (v + 2 ** 31) % 2 ** 32 - 2 ** 31


def fractional_intervals(samples, in_size, out_size, pool_size):
    """Window starts of fractional max pooling along one axis, for every plane (Graham 2014).

    torch's generate_intervals (ATen FractionalMaxPooling.h), computed in the samples' dtype
    as torch does, so that float32 rounding picks the same starts::

        alpha = (in - pool) / (out - 1)
        start[i] = int((i + u) * alpha) - int(u * alpha)  for i < out - 1;  start[-1] = in - pool

    ``u`` outside [0, 1) can give starts outside ``[0, in - pool]``: the caller
    (``nn.functional``) checks them before any kernel reads the input at them.
    """
    samples = np.asarray(samples).reshape(-1, 1)
    dtype = samples.dtype.type
    starts = np.empty((samples.shape[0], out_size), dtype=np.int64)
    if out_size > 1:
        alpha = dtype(in_size - pool_size) / dtype(out_size - 1)
        i = np.arange(out_size - 1, dtype=samples.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            starts[:, :-1] = _int32_wrap(_as_c_int((i + samples) * alpha)
                                         - _as_c_int(samples * alpha))
    if out_size > 0:
        starts[:, -1] = in_size - pool_size
    return starts


def fractional_starts(samples, in_spatial, out_spatial, kernel_size):
    """Per-axis window starts, each ``(planes, out)``, from ``samples`` (planes, ndim).

    ``samples[:, j]`` drives spatial axis j, except in 2-d where torch draws (W, H) in that
    order: ``samples[:, 0]`` is for W and ``samples[:, 1]`` for H (FractionalMaxPool2d.cpp).
    """
    nd = len(out_spatial)
    order = [1, 0] if nd == 2 else list(range(nd))
    return [fractional_intervals(samples[:, order[axis]], in_spatial[axis], out_spatial[axis],
                                 kernel_size[axis]) for axis in range(nd)]


def fractional_max_pool(x, kernel_size, out_spatial, samples=None, starts=None):
    """Fractional max pooling of ``x`` (planes, *spatial); ``samples`` (planes, ndim) in [0, 1),
    or the window ``starts`` already made from them (``fractional_starts``), which must lie in
    ``[0, in - kernel]``: the loop reads ``x`` there unchecked.

    Every plane has its own windows, so the tables have a row per plane.
    """
    if starts is None:
        starts = fractional_starts(samples, x.shape[1:], out_spatial, kernel_size)
    axes = [(first, np.full(first.shape, k, np.int64)) for first, k in zip(starts, kernel_size)]
    return _run_max(x, axes, (1,) * len(out_spatial), out_spatial)


def max_pool_backward(grad_out, index, in_spatial):
    """Adjoint of every max pooling (plain, adaptive, fractional): scatter-add by index."""
    planes = grad_out.shape[0]
    grad_in = np.zeros((planes, math.prod(in_spatial)), dtype=grad_out.dtype)
    _scatter_add(_rows(grad_out), _rows(index, np.int64), grad_in)
    return grad_in.reshape(planes, *in_spatial)


# -- average pooling ------------------------------------------------------------------------------

def _avg_axes(in_spatial, out_spatial, kernel_size, stride, padding, count_include_pad):
    """Per-axis (first, taps, divisor factor) of average pooling."""
    axes = []
    for n, o, k, s, p in zip(in_spatial, out_spatial, kernel_size, stride, padding):
        first, taps, padded_size = _sliding_axis(n, o, k, s, p)
        axes.append((first, taps, padded_size if count_include_pad else taps))
    return axes


def _whole_plane_divisor(axes, in_spatial, divisor_override):
    """The divisor if the pooling has one window covering the whole plane, else None."""
    if any(first.shape[1] != 1 or taps[0, 0] != n for (first, taps, _), n in zip(axes, in_spatial)):
        return None
    return divisor_override or math.prod(int(size[0, 0]) for _, _, size in axes)


def _run_avg(x, axes, divisor_override, out_spatial):
    planes = x.shape[0]
    out = np.empty((planes, math.prod(out_spatial)), dtype=x.dtype)
    divisor = _whole_plane_divisor(axes, x.shape[1:], divisor_override)
    if divisor is not None:
        _plane_means(_rows(x), float(divisor), out)
    else:
        _avg_windows(_rows(x), _dims_3d(x.shape[1:]), *_axes_3d(axes),
                     int(divisor_override or 0), out)
    return out.reshape(planes, *out_spatial)


def _run_avg_backward(grad_out, axes, divisor_override, in_spatial):
    planes = grad_out.shape[0]
    divisor = _whole_plane_divisor(axes, in_spatial, divisor_override)
    if divisor is not None:
        grad_in = np.empty((planes, math.prod(in_spatial)), dtype=grad_out.dtype)
        _plane_fill(_rows(grad_out), float(divisor), grad_in)
    else:
        grad_in = np.zeros((planes, math.prod(in_spatial)), dtype=grad_out.dtype)
        _avg_windows_backward(_rows(grad_out), _dims_3d(tuple(in_spatial)), *_axes_3d(axes),
                              int(divisor_override or 0), grad_in)
    return grad_in.reshape(planes, *in_spatial)


def avg_pool(x, kernel_size, stride, padding, out_spatial, count_include_pad=True,
             divisor_override=None):
    """Average pooling of ``x`` (planes, *spatial) -> (planes, *out_spatial).

    ``out[o] = sum(window inside the input) / divisor``; the divisor is ``divisor_override``
    if given, else the window size counting the explicit padding (count_include_pad) or not;
    the ceil_mode overhang past the padding never counts.
    """
    axes = _avg_axes(x.shape[1:], out_spatial, kernel_size, stride, padding, count_include_pad)
    return _run_avg(x, axes, divisor_override, out_spatial)


def avg_pool_backward(grad_out, in_spatial, kernel_size, stride, padding, count_include_pad=True,
                      divisor_override=None):
    """Adjoint of ``avg_pool``: each output's gradient / its divisor, spread over its window."""
    axes = _avg_axes(in_spatial, grad_out.shape[1:], kernel_size, stride, padding,
                     count_include_pad)
    return _run_avg_backward(grad_out, axes, divisor_override, in_spatial)


def adaptive_avg_pool(x, out_spatial):
    """Adaptive average pooling: the mean of each adaptive bin."""
    axes = [_adaptive_axis(n, o) for n, o in zip(x.shape[1:], out_spatial)]
    return _run_avg(x, axes, None, out_spatial)


def adaptive_avg_pool_backward(grad_out, in_spatial):
    """Adjoint of ``adaptive_avg_pool``."""
    axes = [_adaptive_axis(n, o) for n, o in zip(in_spatial, grad_out.shape[1:])]
    return _run_avg_backward(grad_out, axes, None, in_spatial)


# -- max unpooling --------------------------------------------------------------------------------

def max_unpool(x, index, out_spatial):
    """Max unpooling: zeros of (planes, *out_spatial) with ``out[p, index[p, i]] = x[p, i]``.

    Raises RuntimeError (torch's message) if an index falls outside the output plane.
    """
    planes = x.shape[0]
    index = _rows(index, np.int64)
    out = np.zeros((planes, math.prod(out_spatial)), dtype=x.dtype)
    if out.size == 0:  # an empty output has nothing to write (torch returns it, unchecked)
        return out.reshape(planes, *out_spatial)
    bad = np.full(planes, -1, dtype=np.int64)
    _unpool_scatter(_rows(x), index, out, bad)
    offenders = np.flatnonzero(bad >= 0)
    if offenders.size:
        p = offenders[0]
        size = "x".join(str(s) for s in out_spatial)
        raise RuntimeError(f"Found an invalid max index: {index[p, bad[p]]} "
                           f"(output volumes are of size {size})")
    return out.reshape(planes, *out_spatial)


def max_unpool_backward(grad_out, index):
    """Adjoint of ``max_unpool``: gather the output gradient at the indices."""
    flat_index = _rows(index, np.int64)
    grad_in = np.empty(flat_index.shape, dtype=grad_out.dtype)
    _gather(_rows(grad_out), flat_index, grad_in)
    return grad_in.reshape(index.shape)
