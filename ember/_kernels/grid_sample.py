"""grid_sample kernels: per-axis taps from the grid (NumPy), one gather loop and its adjoint.

NumPy arrays in, NumPy arrays out. Sampling point ``p`` of batch ``n`` reads input pixels at a
product of per-axis taps: along each spatial axis, ``T`` positions ``index[n, p, t]`` (``-1``
where the tap falls outside a zero-padded input) with weights ``weight[n, p, t]`` and
``dweight[n, p, t]``, the weight's derivative with respect to the grid coordinate:

    nearest    T = 1   index = nearbyint(x) (half to even), weight 1, no gradient
    bilinear   T = 2   floor(x), floor(x) + 1 with weights 1 - (x - floor x), x - floor x
    bicubic    T = 4   floor(x) - 1 .. floor(x) + 2, Keys' cubic with A = -0.75; the padding
                       is applied to each tap's position, not to x (ATen's get_value_bounded)

where ``x`` is the grid value unnormalised to pixel units and, for nearest and bilinear, passed
through the padding (border: clip; reflection: reflect then clip), with the chain-rule factor
of those steps folded into ``dweight``. The formulas are ATen's
(aten/src/ATen/native/GridSampler.h, cpu/GridSamplerKernel.cpp); they are computed in the
grid's dtype with NumPy, so float32 rounds as torch's float32 does.

The loops see every input as 3-d ``(N, C, D, H, W)``; a 2-d input is ``D = 1`` with one tap of
weight 1 along D. The forward and the input's gradient run one (sample, channel) plane per task
(points innermost: contiguous rows, and no two tasks scatter into the same plane, so no
atomics); the grid's gradient one point per task.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

__all__ = ["axis_taps", "constant_taps", "grid_sample_forward", "grid_sample_backward",
           "fused_multiply_add"]


# -- coordinates (GridSampler.h) ----------------------------------------------------------------

def _unnormalize(coord, size, align_corners, fused):
    """[-1, 1] -> pixel units, and d(pixel)/d(coord). align_corners: -1 and 1 are the centres of
    the corner pixels, else the outer edges of the corner pixels.

    Which pixel a point lands on (floor, rint) can hang on the last bit: an identity affine
    grid puts points exactly on pixel centres, where torch's choice of neighbour decides the
    grid's gradient. So the arithmetic is torch's own: its 2-d CPU kernel (vectorised,
    compiled with FMA) computes ``fma(coord + 1, size / 2, -0.5)`` with a single rounding
    (``fused``); the 3-d kernel (scalar GridSampler.h) ``((coord + 1) * size - 1) / 2``."""
    f = coord.dtype.type
    if align_corners:
        factor = f(size - 1) / f(2)
        return (coord + f(1)) * factor, factor
    factor = f(size) / f(2)
    if fused:
        return fused_multiply_add(coord + f(1), factor, -0.5), factor
    return ((coord + f(1)) * f(size) - f(1)) / f(2), factor


def fused_multiply_add(a, b, c):
    """round(a * b + c) with one rounding, elementwise (a an array, b and c numbers): float32
    through float64 (the product of two float32 is exact there); float64 with Dekker's exact
    product and Knuth's two-sum (the error terms added before the last rounding)."""
    if a.dtype == np.float32:
        return (a.astype(np.float64) * np.float64(b) + c).astype(np.float32)
    a = a.astype(np.float64)
    b, c = np.float64(b), np.float64(c)
    p = a * b
    split = 134217729.0  # 2**27 + 1: Veltkamp's split into two 26-bit halves
    ta = split * a
    a_hi = ta - (ta - a)
    a_lo = a - a_hi
    tb = split * b
    b_hi = tb - (tb - b)
    b_lo = b - b_hi
    err = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo  # a*b = p + err
    s = p + c
    v = s - p
    t = (p - (s - v)) + (c - v)  # p + c = s + t
    out = s + (t + err)
    return np.where(np.isfinite(p), out, a * b + c)


def _clip(x, size):
    """clip_coordinates(_set_grad): clamp to [0, size - 1]; gradient 0 where clamped."""
    f = x.dtype.type
    inside = (x > 0) & (x < size - 1)
    # fmax/fmin: a NaN coordinate becomes 0, as ATen's maximum(in, 0) (the docs: "NaN values
    # in grid would be interpreted as -1")
    return np.fmin(np.fmax(x, f(0)), f(size - 1)), inside.astype(x.dtype)


def _reflect(x, twice_low, twice_high):
    """reflect_coordinates(_set_grad): fold x into [low, high] by reflections at the ends;
    the gradient is +-1 with the parity of the number of flips."""
    f = x.dtype.type
    if twice_low == twice_high:
        return np.zeros_like(x), np.zeros_like(x)
    low = f(twice_low) / f(2)
    span = f(twice_high - twice_low) / f(2)
    x = x - low
    sign = np.where(x < 0, f(-1), f(1))
    x = np.abs(x)
    extra = np.fmod(x, span)
    flips = np.floor(x / span)
    even = np.fmod(flips, 2) == 0
    return (np.where(even, extra + low, span - extra + low).astype(x.dtype),
            np.where(even, sign, -sign).astype(x.dtype))


def _pad(x, size, padding_mode, align_corners):
    """compute_coordinates: the padding applied to a pixel coordinate, and its derivative."""
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        if align_corners:
            x, g = _reflect(x, 0, 2 * (size - 1))
        else:
            x, g = _reflect(x, -1, 2 * size - 1)
        x, g2 = _clip(x, size)
        return x, g * g2
    return x, x.dtype.type(1)


@numba.njit(cache=True)
def _index_of(pos, size, out):
    """out = int(pos) where 0 <= pos < size, else -1 (outside a zero-padded input; NaN and
    infinities fail both comparisons). ``pos`` holds whole numbers (floor, rint, or taps)."""
    flat_pos = pos.ravel()
    flat_out = out.ravel()
    for q in range(flat_pos.size):
        v = flat_pos[q]
        flat_out[q] = np.int64(v) if (v >= 0) and (v < size) else -1


def _index(pos, size):
    out = np.empty(pos.shape, np.int64)
    _index_of(np.ascontiguousarray(pos), size, out)
    return out


def _cubic(t, a=-0.75):
    """Keys' cubic coefficients for taps at -1, 0, 1, 2 around fraction t, and d/dt."""
    f = t.dtype.type
    a = f(a)
    one = f(1)

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + one

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    def dnear(x):
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def dfar(x):
        return (3 * a * x - 10 * a) * x + 8 * a

    w = np.stack([far(t + one), near(t), near(one - t), far(2 - t)], axis=-1)
    # d/dt of each coefficient: the arguments t+1, t move with t; 1-t, 2-t against it
    dw = np.stack([dfar(t + one), dnear(t), -dnear(one - t), -dfar(2 - t)], axis=-1)
    return w, dw


def axis_taps(coord, size, mode, padding_mode, align_corners, fused=True):
    """``(index, weight, dweight)``, each ``coord.shape + (T,)``, for one spatial axis of the
    input (``size`` pixels) sampled at normalised coordinates ``coord``; ``fused``: unnormalise
    as torch's 2-d kernel (see ``_unnormalize``)."""
    x, factor = _unnormalize(coord, size, align_corners, fused)
    f = coord.dtype.type
    if mode == "bicubic":
        x0 = np.floor(x)
        w, dw = _cubic(x - x0)
        pos = x0[..., None] + np.arange(-1, 3).astype(x.dtype)
        pos, _ = _pad(pos, size, padding_mode, align_corners)
        return _index(pos, size), w.astype(x.dtype), (dw * factor).astype(x.dtype)
    x, grad = _pad(x, size, padding_mode, align_corners)
    if mode == "nearest":
        index = _index(np.rint(x)[..., None], size)
        return index, np.ones(index.shape, x.dtype), np.zeros(index.shape, x.dtype)
    x0 = np.floor(x)
    two = x.shape + (2,)
    pos, weight, dweight = np.empty(two, x.dtype), np.empty(two, x.dtype), np.empty(two, x.dtype)
    pos[..., 0] = x0
    pos[..., 1] = x0 + f(1)
    np.subtract(x, x0, out=weight[..., 1])
    np.subtract(f(1), weight[..., 1], out=weight[..., 0])
    g = grad * factor
    dweight[..., 1] = g
    dweight[..., 0] = -g
    return _index(pos, size), weight, dweight


def constant_taps(shape, dtype):
    """The single tap of a missing axis (a 2-d input seen as 3-d): index 0, weight 1."""
    return (np.zeros(shape + (1,), np.int64), np.ones(shape + (1,), dtype),
            np.zeros(shape + (1,), dtype))


# -- the loops ------------------------------------------------------------------------------

@parallel_kernel
def _gather(x, id_d, w_d, id_h, w_h, id_w, w_w, out):
    """out[n, c, p] = sum over the tap products of w_d w_h w_w x[n, c, id_d, id_h, id_w].

    One (sample, channel) plane per task, points innermost: the writes are contiguous and the
    reads stay in one input plane (the old point-major order strode over channels).
    A tap outside the input adds nothing, except that a NaN (or infinite) weight still makes
    the output NaN, as ATen's masked loads multiply 0 by the weight (a NaN grid coordinate)."""
    n_batch, channels, points = out.shape
    for q in numba.prange(n_batch * channels):
        n = q // channels
        c = q - n * channels
        for p in range(points):
            acc = out[n, c, p]
            for a in range(id_d.shape[2]):
                i = id_d[n, p, a]
                for b in range(id_h.shape[2]):
                    j = id_h[n, p, b]
                    wdh = w_d[n, p, a] * w_h[n, p, b]
                    for e in range(id_w.shape[2]):
                        k = id_w[n, p, e]
                        wt = wdh * w_w[n, p, e]
                        if i < 0 or j < 0 or k < 0:
                            acc += wt - wt  # 0, or NaN for a NaN / infinite weight
                        else:
                            acc += x[n, c, i, j, k] * wt
            out[n, c, p] = acc


@parallel_kernel
def _scatter_input(grad, id_d, w_d, id_h, w_h, id_w, w_w, grad_x):
    """The adjoint of ``_gather`` for the input: grad_x[n, c, taps] += weight * grad[n, c, p].
    One (sample, channel) plane per task: no two tasks write the same plane, so no atomics."""
    n_batch, channels, points = grad.shape
    for q in numba.prange(n_batch * channels):
        n = q // channels
        c = q - n * channels
        for p in range(points):
            g = grad[n, c, p]
            for a in range(id_d.shape[2]):
                i = id_d[n, p, a]
                if i < 0:
                    continue
                for b in range(id_h.shape[2]):
                    j = id_h[n, p, b]
                    if j < 0:
                        continue
                    wdh = w_d[n, p, a] * w_h[n, p, b]
                    for e in range(id_w.shape[2]):
                        k = id_w[n, p, e]
                        if k < 0:
                            continue
                        grad_x[n, c, i, j, k] += g * (wdh * w_w[n, p, e])


@parallel_kernel
def _scatter_grid(grad, x, id_d, w_d, dw_d, id_h, w_h, dw_h, id_w, w_w, dw_w, grad_grid):
    """The grid's gradient: grad_grid[n, p, axis] = sum over channels and taps of
    grad * x * d(weight)/d(axis coord) (axes in grid order: w, h, d); one point per task."""
    n_batch, channels, points = grad.shape
    for q in numba.prange(n_batch * points):
        n = q // points
        p = q - n * points
        gw = grad_grid[n, p, 0]
        gh = grad_grid[n, p, 1]
        gd = grad_grid[n, p, 2]
        for a in range(id_d.shape[2]):
            i = id_d[n, p, a]
            if i < 0:
                continue
            for b in range(id_h.shape[2]):
                j = id_h[n, p, b]
                if j < 0:
                    continue
                wdh = w_d[n, p, a] * w_h[n, p, b]
                for e in range(id_w.shape[2]):
                    k = id_w[n, p, e]
                    if k < 0:
                        continue
                    total = grad[n, 0, p] * x[n, 0, i, j, k]
                    for c in range(1, channels):
                        total += grad[n, c, p] * x[n, c, i, j, k]
                    gw += total * (wdh * dw_w[n, p, e])
                    gh += total * (w_d[n, p, a] * dw_h[n, p, b] * w_w[n, p, e])
                    gd += total * (dw_d[n, p, a] * w_h[n, p, b] * w_w[n, p, e])
        grad_grid[n, p, 0] = gw
        grad_grid[n, p, 1] = gh
        grad_grid[n, p, 2] = gd


def grid_sample_forward(x5, taps):
    """``x5``: (N, C, D, H, W); ``taps``: ((index, weight, dweight) per axis d, h, w), each
    (N, P, T). Returns (N, C, P)."""
    (id_d, w_d, _), (id_h, w_h, _), (id_w, w_w, _) = taps
    out = np.zeros(x5.shape[:2] + (id_d.shape[1],), x5.dtype)
    _gather(np.ascontiguousarray(x5), id_d, w_d, id_h, w_h, id_w, w_w, out)
    return out


def grid_sample_backward(grad, x5, taps, want_input, want_grid):
    """Gradients of ``grid_sample_forward`` w.r.t. ``x5`` (or None) and the per-point pixel
    coordinates (N, P, 3) in w, h, d order (or None)."""
    (id_d, w_d, dw_d), (id_h, w_h, dw_h), (id_w, w_w, dw_w) = taps
    grad = np.ascontiguousarray(grad)
    grad_x = np.zeros(x5.shape if want_input else (1, 1, 1, 1, 1), grad.dtype)
    grad_grid = np.zeros((grad.shape[0], grad.shape[2], 3), grad.dtype)
    if grad.shape[1] == 0:  # no channels: nothing flows
        return (grad_x if want_input else None), (grad_grid if want_grid else None)
    if want_input:
        _scatter_input(grad, id_d, w_d, id_h, w_h, id_w, w_w, grad_x)
    if want_grid:
        _scatter_grid(grad, np.ascontiguousarray(x5), id_d, w_d, dw_d, id_h, w_h, dw_h, id_w,
                      w_w, dw_w, grad_grid)
    return (grad_x if want_input else None), (grad_grid if want_grid else None)
