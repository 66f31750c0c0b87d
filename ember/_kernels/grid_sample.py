"""grid_sample kernels: one fused sampling loop and one fused backward loop.

NumPy arrays in, NumPy arrays out. Every input is seen as 3-d ``(N, C, D, H, W)`` (a 2-d input
is ``D = 1``, with one tap of weight 1 along D) and the grid as ``(N, P, n)``, its last axis in
x, y(, z) order (x runs along W). Sampling point ``p`` reads input pixels at a product of
per-axis taps, computed in the loop from the point's coordinate (no tap tables): along each
axis, ``T`` positions (outside a zero-padded input: no pixel) with weights ``w`` and ``dw``, the
weight's derivative with respect to the normalised grid coordinate:

    nearest    T = 1   nearbyint(x) (half to even), weight 1, no gradient
    bilinear   T = 2   floor(x), floor(x) + 1 with weights 1 - (x - floor x), x - floor x
    bicubic    T = 4   floor(x) - 1 .. floor(x) + 2, Keys' cubic with A = -0.75; the padding
                       is applied to each tap's position, not to x (ATen's get_value_bounded)

where ``x`` is the grid value unnormalised to pixel units and, for nearest and bilinear, passed
through the padding (border: clip; reflection: reflect then clip), with the chain-rule factor
of those steps folded into ``dw``. The formulas are ATen's (aten/src/ATen/native/GridSampler.h,
cpu/GridSamplerKernel.cpp), computed in the input's dtype (float32 rounds as torch's float32).

Work division: forward, one block of points of one sample per task (the channels innermost, so
a point's taps are computed once for all channels); backward, one sample per task (as ATen:
the input's gradient planes of a sample are written by one task only, no atomics), the input's
and the grid's gradients in the same pass over the points.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types as nbtypes
from numba.extending import intrinsic

from ._jit import parallel_kernel

__all__ = ["MODES", "PADDINGS", "grid_sample_forward", "grid_sample_backward",
           "fused_multiply_add"]

MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
BILINEAR, NEAREST, BICUBIC = 0, 1, 2
ZEROS, BORDER, REFLECTION = 0, 1, 2
POINTS_PER_TASK = 1024  # forward: enough work per task to pay for the task's scratch arrays


# -- fused multiply-add -----------------------------------------------------------------------

@intrinsic
def _fma(typingctx, a, b, c):
    """round(a * b + c) with one rounding: LLVM's fma intrinsic (the FMA instruction, or a
    correctly rounded libm call where the CPU has none)."""
    if not (isinstance(a, nbtypes.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty] * 3))
        return builder.call(fn, args)
    return a(a, b, c), codegen


@numba.njit(cache=True)
def _fma_array(a, b, c, out):
    for q in range(a.size):
        out[q] = _fma(a[q], b, c)


def fused_multiply_add(a, b, c):
    """round(a * b + c) with one rounding, elementwise over the array ``a`` (b, c numbers, in
    a's dtype): as ATen's vectorised kernels, compiled with FMA."""
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty_like(flat)
    f = flat.dtype.type
    _fma_array(flat, f(b), f(c), out)
    return out.reshape(np.shape(a))


# -- coordinates (GridSampler.h) ----------------------------------------------------------------

@numba.njit(cache=True, inline="always")
def _unnormalize(coord, size, align_corners, fused, one):
    """[-1, 1] -> pixel units, and d(pixel)/d(coord). align_corners: -1 and 1 are the centres of
    the corner pixels, else the outer edges of the corner pixels.

    Which pixel a point lands on (floor, rint) can hang on the last bit: an identity affine
    grid puts points exactly on pixel centres, where torch's choice of neighbour decides the
    grid's gradient. So the arithmetic is torch's own: its 2-d CPU kernel (vectorised,
    compiled with FMA) computes ``fma(coord + 1, size / 2, -0.5)`` with a single rounding
    (``fused``); the 3-d kernel (scalar GridSampler.h) ``((coord + 1) * size - 1) / 2``."""
    two = one + one
    if align_corners:
        factor = (size - one) / two
        return (coord + one) * factor, factor
    factor = size / two
    if fused:
        return _fma(coord + one, factor, -one / two), factor
    return ((coord + one) * size - one) / two, factor


@numba.njit(cache=True, inline="always")
def _clip(x, size, one):
    """clip_coordinates(_set_grad): clamp to [0, size - 1]; gradient 0 where clamped. A NaN
    becomes 0, as ATen's maximum(in, 0) (the docs: "NaN values in grid would be interpreted
    as -1")."""
    zero = one - one
    top = size - one
    if x > zero and x < top:
        return x, one
    if x > zero:
        return top, zero
    return zero, zero


@numba.njit(cache=True, inline="always")
def _reflect(x, twice_low, twice_high, one):
    """reflect_coordinates(_set_grad): fold x into [low, high] by reflections at the ends;
    the gradient is +-1 with the parity of the number of flips."""
    zero = one - one
    if twice_low == twice_high:
        return zero, zero
    two = one + one
    low = twice_low / two
    span = (twice_high - twice_low) / two
    x = x - low
    sign = one
    if x < zero:
        sign = -one
        x = -x
    extra = np.fmod(x, span)
    flips = np.floor(x / span)
    if np.fmod(flips, two) == zero:
        return extra + low, sign
    return span - extra + low, -sign


@numba.njit(cache=True, inline="always")
def _pad(x, size, padding, align_corners, one):
    """compute_coordinates: the padding applied to a pixel coordinate, and its derivative."""
    if padding == BORDER:
        return _clip(x, size, one)
    if padding == REFLECTION:
        two = one + one
        if align_corners:
            x, g = _reflect(x, one - one, two * (size - one), one)
        else:
            x, g = _reflect(x, -one, two * size - one, one)
        x, g2 = _clip(x, size, one)
        return x, g * g2
    return x, one


@numba.njit(cache=True, inline="always")
def _index(pos, size):
    """int(pos) where 0 <= pos < size, else -1 (outside a zero-padded input; NaN and
    infinities fail both comparisons). ``pos`` holds a whole number (floor, rint or a tap)."""
    if pos >= 0 and pos < size:
        return np.int64(pos)
    return np.int64(-1)


@numba.njit(cache=True)
def _cubic(k, t, one):
    """Keys' cubic (A = -0.75) coefficient of tap k (at floor(x) - 1 + k) for the fraction t,
    and its derivative with respect to t. The taps' distances from x are t + 1, t, 1 - t and
    2 - t: the first two move with x, the last two against it."""
    two = one + one
    three = two + one
    a = -three / (two + two)
    if k == 1 or k == 2:  # |distance| <= 1
        d = t if k == 1 else one - t
        value = ((a + two) * d - (a + three)) * d * d + one
        slope = (three * (a + two) * d - two * (a + three)) * d
    else:                 # 1 < |distance| < 2
        d = t + one if k == 0 else two - t
        value = ((a * d - (two + three) * a) * d + (two + two) * two * a) * d - (two + two) * a
        slope = (three * a * d - (two + three) * two * a) * d + (two + two) * two * a
    return value, (slope if k < 2 else -slope)


@numba.njit(cache=True)
def _padded_index(pos, size, fsize, padding, align_corners, one):
    """The pixel a bicubic tap at ``pos`` reads: the padding applied to the tap's position."""
    padded, _ = _pad(pos, fsize, padding, align_corners, one)
    return _index(padded, size)


@numba.njit(cache=True)
def _axis_taps(coord, size, fsize, mode, padding, align_corners, fused, one):
    """The taps of one point along one axis of ``size`` (= ``fsize``) pixels at normalised
    coordinate ``coord``: (count, indices, weights, derivatives), four of each (the unused
    ones 0). Scalars in and out: no array crosses the call (no reference counting per point)."""
    zero = one - one
    none = np.int64(0)
    x, factor = _unnormalize(coord, fsize, align_corners, fused, one)
    if mode == BICUBIC:
        x0 = np.floor(x)
        t = x - x0
        w0, d0 = _cubic(0, t, one)
        w1, d1 = _cubic(1, t, one)
        w2, d2 = _cubic(2, t, one)
        w3, d3 = _cubic(3, t, one)
        at = (_padded_index(x0 - one, size, fsize, padding, align_corners, one),
              _padded_index(x0, size, fsize, padding, align_corners, one),
              _padded_index(x0 + one, size, fsize, padding, align_corners, one),
              _padded_index(x0 + (one + one), size, fsize, padding, align_corners, one))
        return 4, at, (w0, w1, w2, w3), (d0 * factor, d1 * factor, d2 * factor, d3 * factor)
    x, grad = _pad(x, fsize, padding, align_corners, one)
    grad *= factor
    if mode == NEAREST:
        return (1, (_index(np.rint(x), size), none, none, none), (one, zero, zero, zero),
                (zero, zero, zero, zero))
    x0 = np.floor(x)
    frac = x - x0
    return (2, (_index(x0, size), _index(x0 + one, size), none, none),
            (one - frac, frac, zero, zero), (-grad, grad, zero, zero))


@numba.njit(cache=True, inline="always")
def _store_taps(taps, axis, index, w, dw):
    count, at, weights, slopes = taps
    for k in range(4):
        index[axis, k] = at[k]
        w[axis, k] = weights[k]
        dw[axis, k] = slopes[k]
    return count


@numba.njit(cache=True, inline="always")
def _point_taps(grid, n, p, spatial, mode, padding, align_corners, index, w, dw):
    """The taps of point p of sample n along d, h, w (rows 0, 1, 2); returns their counts.
    A 2-d grid has no z: one tap of weight 1 along D."""
    dims = grid.shape[2]
    fused = dims == 2
    f = w.dtype.type
    one = f(1)
    d, h, wd = spatial
    t_w = _store_taps(_axis_taps(grid[n, p, 0], wd, f(wd), mode, padding, align_corners, fused,
                                 one), 2, index, w, dw)  # grid's x is the last spatial axis
    t_h = _store_taps(_axis_taps(grid[n, p, 1], h, f(h), mode, padding, align_corners, fused,
                                 one), 1, index, w, dw)
    if dims == 3:
        t_d = _store_taps(_axis_taps(grid[n, p, 2], d, f(d), mode, padding, align_corners,
                                     fused, one), 0, index, w, dw)
        return t_d, t_h, t_w
    index[0, 0] = 0
    w[0, 0] = one
    dw[0, 0] = one - one
    return 1, t_h, t_w


# -- the loops ------------------------------------------------------------------------------

@parallel_kernel
def _forward(x, grid, mode, padding, align_corners, out):
    """out[n, c, p] = sum over the tap products of w_d w_h w_w x[n, c, i, j, k].

    A tap outside the input adds nothing, except that a NaN (or infinite) weight still makes
    the output NaN, as ATen's masked loads multiply 0 by the weight (a NaN grid coordinate)."""
    n_batch, channels, points = out.shape
    spatial = (x.shape[2], x.shape[3], x.shape[4])
    blocks = (points + POINTS_PER_TASK - 1) // POINTS_PER_TASK
    for q in numba.prange(n_batch * blocks):
        n = q // blocks
        start = (q - n * blocks) * POINTS_PER_TASK
        index = np.empty((3, 4), np.int64)
        w = np.empty((3, 4), out.dtype)
        dw = np.empty((3, 4), out.dtype)
        for p in range(start, min(start + POINTS_PER_TASK, points)):
            t_d, t_h, t_w = _point_taps(grid, n, p, spatial, mode, padding, align_corners,
                                        index, w, dw)
            for c in range(channels):
                acc = out.dtype.type(0)
                for a in range(t_d):
                    i = index[0, a]
                    for b in range(t_h):
                        j = index[1, b]
                        wdh = w[0, a] * w[1, b]
                        for e in range(t_w):
                            k = index[2, e]
                            wt = wdh * w[2, e]
                            if i < 0 or j < 0 or k < 0:
                                acc += wt - wt  # 0, or NaN for a NaN / infinite weight
                            else:
                                acc += x[n, c, i, j, k] * wt
                out[n, c, p] = acc


@parallel_kernel
def _backward(grad, x, grid, mode, padding, align_corners, want_input, want_grid, grad_x,
              grad_grid):
    """grad_x[n, c, taps] += weight * grad[n, c, p] and grad_grid[n, p, axis] = sum over
    channels and taps of grad * x * d(weight)/d(axis coord) (axes in grid order: x, y, z),
    one sample per task."""
    n_batch, channels, points = grad.shape
    spatial = (x.shape[2], x.shape[3], x.shape[4])
    dims = grid.shape[2]
    for n in numba.prange(n_batch):
        index = np.empty((3, 4), np.int64)
        w = np.empty((3, 4), grad.dtype)
        dw = np.empty((3, 4), grad.dtype)
        zero = grad.dtype.type(0)
        for p in range(points):
            t_d, t_h, t_w = _point_taps(grid, n, p, spatial, mode, padding, align_corners,
                                        index, w, dw)
            gx = zero
            gy = zero
            gz = zero
            for a in range(t_d):
                i = index[0, a]
                if i < 0:
                    continue
                for b in range(t_h):
                    j = index[1, b]
                    if j < 0:
                        continue
                    wdh = w[0, a] * w[1, b]
                    for e in range(t_w):
                        k = index[2, e]
                        if k < 0:
                            continue
                        if want_input:
                            wt = wdh * w[2, e]
                            for c in range(channels):
                                grad_x[n, c, i, j, k] += grad[n, c, p] * wt
                        if want_grid:  # channels first: one sum per tap, then its weights
                            total = zero
                            for c in range(channels):
                                total += grad[n, c, p] * x[n, c, i, j, k]
                            gx += total * (wdh * dw[2, e])
                            gy += total * (w[0, a] * dw[1, b] * w[2, e])
                            gz += total * (dw[0, a] * w[1, b] * w[2, e])
            if want_grid:
                grad_grid[n, p, 0] = gx
                grad_grid[n, p, 1] = gy
                if dims == 3:
                    grad_grid[n, p, 2] = gz


# The common case, bilinear sampling of a 2-d input, as ATen's vectorised 2-d kernel computes
# it (ApplyGridSample<bilinear> in cpu/GridSamplerKernel.cpp): the four weights from the
# distances to the pixel edges, a pixel outside the input read as 0 (so a NaN weight still
# gives NaN), and the grid's gradient summed over the channels before its chain-rule factor.
# The taps of the generic loops above, but in registers: 3-4x faster.

@numba.njit(cache=True, inline="always")
def _bilinear_2d(grid, n, p, height, width, padding, align_corners):
    """Point p of sample n: the pixel indices (-1 outside) of its west/east columns and
    north/south rows, the distances to them and the gradient factors of the coordinates."""
    one = grid.dtype.type(1)
    ix, ix_mult = _unnormalize(grid[n, p, 0], grid.dtype.type(width), align_corners, True, one)
    iy, iy_mult = _unnormalize(grid[n, p, 1], grid.dtype.type(height), align_corners, True,
                               one)
    ix, dx = _pad(ix, grid.dtype.type(width), padding, align_corners, one)
    iy, dy = _pad(iy, grid.dtype.type(height), padding, align_corners, one)
    x0 = np.floor(ix)
    y0 = np.floor(iy)
    west, north = ix - x0, iy - y0   # distances to the west column and north row
    return (_index(x0, width), _index(x0 + one, width), _index(y0, height),
            _index(y0 + one, height), west, north, ix_mult * dx, iy_mult * dy)


@numba.njit(cache=True, inline="always")
def _pixel(x, n, c, row, col):
    return x[n, c, 0, row, col] if row >= 0 and col >= 0 else x.dtype.type(0)


@parallel_kernel
def _forward_bilinear_2d(x, grid, padding, align_corners, out):
    n_batch, channels, points = out.shape
    height, width = x.shape[3], x.shape[4]
    one = x.dtype.type(1)
    blocks = (points + POINTS_PER_TASK - 1) // POINTS_PER_TASK
    for q in numba.prange(n_batch * blocks):
        n = q // blocks
        start = (q - n * blocks) * POINTS_PER_TASK
        for p in range(start, min(start + POINTS_PER_TASK, points)):
            w0, w1, h0, h1, west, north, _, _ = _bilinear_2d(grid, n, p, height, width,
                                                              padding, align_corners)
            east, south = one - west, one - north
            nw, ne, sw, se = south * east, south * west, north * east, north * west
            for c in range(channels):
                out[n, c, p] = (_pixel(x, n, c, h0, w0) * nw + _pixel(x, n, c, h0, w1) * ne
                                + _pixel(x, n, c, h1, w0) * sw + _pixel(x, n, c, h1, w1) * se)


@parallel_kernel
def _backward_bilinear_2d(grad, x, grid, padding, align_corners, want_input, want_grid,
                          grad_x, grad_grid):
    n_batch, channels, points = grad.shape
    height, width = x.shape[3], x.shape[4]
    one = x.dtype.type(1)
    for n in numba.prange(n_batch):
        for p in range(points):
            w0, w1, h0, h1, west, north, x_mult, y_mult = _bilinear_2d(
                grid, n, p, height, width, padding, align_corners)
            east, south = one - west, one - north
            gx = gy = one - one
            for c in range(channels):
                g = grad[n, c, p]
                if want_grid:  # (reads before the writes: grad_x and x may alias modulo 4 KiB)
                    v_nw, v_ne = _pixel(x, n, c, h0, w0), _pixel(x, n, c, h0, w1)
                    v_sw, v_se = _pixel(x, n, c, h1, w0), _pixel(x, n, c, h1, w1)
                    gx += ((v_ne - v_nw) * south + (v_se - v_sw) * north) * g
                    gy += ((v_sw - v_nw) * east + (v_se - v_ne) * west) * g
                if want_input:
                    if h0 >= 0 and w0 >= 0:
                        grad_x[n, c, 0, h0, w0] += g * (south * east)
                    if h0 >= 0 and w1 >= 0:
                        grad_x[n, c, 0, h0, w1] += g * (south * west)
                    if h1 >= 0 and w0 >= 0:
                        grad_x[n, c, 0, h1, w0] += g * (north * east)
                    if h1 >= 0 and w1 >= 0:
                        grad_x[n, c, 0, h1, w1] += g * (north * west)
            if want_grid:
                grad_grid[n, p, 0] = gx * x_mult
                grad_grid[n, p, 1] = gy * y_mult



def grid_sample_forward(x5, grid, mode, padding_mode, align_corners):
    """``x5``: (N, C, D, H, W); ``grid``: (N, P, n) normalised coordinates, n = 2 (D = 1) or
    3, in x5's dtype. Returns (N, C, P)."""
    out = np.empty(x5.shape[:2] + (grid.shape[1],), x5.dtype)
    x5, grid = np.ascontiguousarray(x5), np.ascontiguousarray(grid)
    if mode == "bilinear" and grid.shape[2] == 2:
        _forward_bilinear_2d(x5, grid, PADDINGS[padding_mode], align_corners, out)
    else:
        _forward(x5, grid, MODES[mode], PADDINGS[padding_mode], align_corners, out)
    return out


def grid_sample_backward(grad, x5, grid, mode, padding_mode, align_corners, want_input,
                         want_grid):
    """Gradients of ``grid_sample_forward`` w.r.t. ``x5`` (or None) and ``grid`` (N, P, n)
    (or None); ``grad`` is (N, C, P)."""
    grad_x = np.zeros(x5.shape if want_input else (1, 1, 1, 1, 1), grad.dtype)
    grad_grid = (np.zeros if grad.shape[1] == 0 else np.empty)(
        grid.shape if want_grid else (1, 1, 1), grad.dtype)
    if grad.shape[1]:  # no channels: nothing flows
        args = (np.ascontiguousarray(grad), np.ascontiguousarray(x5), np.ascontiguousarray(grid))
        if mode == "bilinear" and grid.shape[2] == 2:
            _backward_bilinear_2d(*args, PADDINGS[padding_mode], align_corners, want_input,
                                  want_grid, grad_x, grad_grid)
        else:
            _backward(*args, MODES[mode], PADDINGS[padding_mode], align_corners, want_input,
                      want_grid, grad_x, grad_grid)
    return (grad_x if want_input else None), (grad_grid if want_grid else None)
