"""Resampling kernels for ``interpolate``: per-axis taps and one separable loop (and its adjoint).

NumPy arrays in, NumPy arrays out. Every mode of ``F.interpolate`` but ``area`` is separable:
along one spatial axis, output position ``j`` reads the input positions ``index[j, t]`` with
weights ``weight[j, t]`` for ``t < count[j]``, and an N-d resize is that 1-d resize applied
axis by axis, the last (contiguous) axis first, as ATen's CPU kernels nest their loops
(aten/src/ATen/native/cpu/UpSampleKernel.cpp, ``Interpolate<n>::eval`` and
``separable_upsample_generic_Nd_kernel_impl``), so float32 rounds in the same order. The taps
of each mode are built here from ATen's formulas (aten/src/ATen/native/UpSample.h):

    nearest        index = min(floorf(scale * j), in - 1)                      (one tap)
    nearest-exact  index = min(floorf(src(j) + 0.5), in - 1)                  (one tap)
    linear         src(j), i0 = floor, i1 = i0 + 1 (clamped), weights 1-l, l  (two taps)
    cubic          src(j) unclamped, i0-1 .. i0+2 clamped, Keys A = -0.75     (four taps)
    antialias      PIL's filter (triangle, Keys A = -0.5, Lanczos-3) with its
                   support widened by the down-scale, weights normalised      (variable taps)

with ``src(j) = scale * (j + 0.5) - 0.5`` (half-pixel centres; clamped at 0 except cubic) or
``scale * j`` with align_corners, and ``scale = 1 / scale_factor`` when a scale factor is used
for the coordinates, else ``in / out`` (``(in - 1) / (out - 1)`` with align_corners). ATen
computes in the input's precision ("opmath": float for float32) except where a C++
expression mixes in a double (``j + 0.5``) or rounds through float (``floorf``): the helpers
below spell each cast out so float32 picks the same input pixels as torch.

The backward pass is the transpose: the same taps scatter-add the output gradient, axis by
axis in the reverse order. The loops run in parallel over the outer (batch x channel x
leading axes) rows, each row owned by one thread, so the scatter needs no atomics.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

__all__ = ["axis_taps", "resample", "resample_adjoint"]


# -- coordinates (UpSample.h) -------------------------------------------------------------------

def _scale(in_size, out_size, align_corners, scale, dtype):
    """area_pixel_compute_scale<dtype>: the source step per output step."""
    f = np.dtype(dtype).type
    if align_corners:
        return f(in_size - 1) / f(out_size - 1) if out_size > 1 else f(0)
    if scale is not None and scale > 0:
        return f(1.0 / scale)  # compute_scales_value: 1/scale in double, then rounded
    return f(in_size) / f(out_size)


def _source_index(scale, j, align_corners, cubic, dtype):
    """area_pixel_compute_source_index: ``scale * (j + 0.5) - 0.5`` is evaluated in double
    (``j + 0.5`` is a double) and rounded to ``dtype``; negative values clamp to 0 except for
    cubic, whose four taps need the sign."""
    if align_corners:
        return scale * j.astype(dtype)
    src = (np.float64(scale) * (j + 0.5) - 0.5).astype(dtype)
    return src if cubic else np.maximum(src, 0)


def _guard(src, in_size, dtype):
    """guard_index_and_lambda: ``floorf`` (through float32 even for double) and a lambda
    clamped to [0, 1]."""
    index = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)
    lam = np.clip(src - index.astype(dtype), 0, 1).astype(dtype)
    return index, lam


def _cubic_weights(t, a):
    """Keys' cubic convolution coefficients for the four taps around fraction ``t``
    (get_cubic_upsample_coefficients), in t's precision."""
    a = t.dtype.type(a)
    one = t.dtype.type(1)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + one

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + one), near(t), near(one - t), far(one - t + one)], axis=-1)


def _nearest_taps(in_size, out_size, scale, exact, opmath):
    j = np.arange(out_size)
    s = _scale(in_size, out_size, False, scale, opmath)
    if exact:
        src = _source_index(s, j, False, False, opmath)
        index = np.floor((src.astype(np.float64) + 0.5).astype(np.float32))
    else:
        index = np.floor((s * j.astype(opmath)).astype(np.float32))
    index = np.minimum(index.astype(np.int64), in_size - 1)
    return index[:, None], np.ones((out_size, 1), opmath)


def _linear_taps(in_size, out_size, align_corners, scale, opmath):
    j = np.arange(out_size)
    if out_size == in_size:  # compute_source_index_and_lambda: an identity axis
        return np.stack([j, j], 1), np.tile(np.array([1, 0], opmath), (out_size, 1))
    s = _scale(in_size, out_size, align_corners, scale, opmath)
    i0, lam = _guard(_source_index(s, j, align_corners, False, opmath), in_size, opmath)
    i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
    return np.stack([i0, i1], 1), np.stack([opmath.type(1) - lam, lam], 1)


def _cubic_taps(in_size, out_size, align_corners, scale, opmath):
    j = np.arange(out_size)
    s = _scale(in_size, out_size, align_corners, scale, opmath)
    i0, lam = _guard(_source_index(s, j, align_corners, True, opmath), in_size, opmath)
    index = np.clip(i0[:, None] + np.arange(-1, 3), 0, in_size - 1)
    return index, _cubic_weights(lam, -0.75)


def _aa_filter(x, kind):
    """PIL's filters as ATen's ``aa_filter``: triangle ('linear'), Keys cubic with A = -0.5
    (PIL's, 'cubic'), or Lanczos-3 ``sinc(x) sinc(x / 3)`` ('lanczos', evaluated in double)."""
    x = np.abs(x)
    if kind == "linear":
        return np.where(x < 1, (1.0 - x.astype(np.float64)).astype(x.dtype), x.dtype.type(0))
    if kind == "lanczos":
        v = x.astype(np.float64)
        return np.where(v < 3, np.sinc(v) * np.sinc(v / 3), 0.0).astype(x.dtype)
    a = x.dtype.type(-0.5)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, x.dtype.type(0))).astype(x.dtype)


_AA_HALF_WIDTH = {"linear": 1.0, "cubic": 2.0, "lanczos": 3.0}  # interp_size / 2


def _antialias_taps(in_size, out_size, align_corners, scale, kind, dtype):
    """_compute_indices_min_size_weights_aa: each output averages the inputs under the filter
    stretched by the down-scale (support = taps/2 * scale when scale >= 1), weights
    normalised to sum 1. Computed in the input's dtype (not opmath), as ATen."""
    f = dtype.type
    s = _scale(in_size, out_size, align_corners, scale, dtype)
    half = f(_AA_HALF_WIDTH[kind])
    support = half * s if s >= 1.0 else half
    width = int(np.ceil(support)) * 2 + 1
    invscale = f(1.0 / np.float64(s)) if s >= 1.0 else f(1.0)
    j = np.arange(out_size)
    center = (np.float64(s) * (j + 0.5)).astype(dtype)
    xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xsize = np.minimum((center + support).astype(np.float64) + 0.5, in_size).astype(np.int64)
    count = np.clip(xsize - xmin, 0, width)
    t = np.arange(width)
    # (j + xmin - center + 0.5) * invscale: the int converts to dtype, + 0.5 makes a double
    arg = (((t + xmin[:, None]).astype(dtype) - center[:, None]).astype(np.float64) + 0.5) \
        * np.float64(invscale)
    w = _aa_filter(arg.astype(dtype), kind)
    w = np.where(t < count[:, None], w, f(0))
    total = np.zeros(out_size, dtype)
    for k in range(width):  # summed in order, in dtype, as ATen's loop
        total = (total + w[:, k]).astype(dtype)
    w = np.where(total[:, None] != 0, w / np.where(total == 0, f(1), total)[:, None], w)
    index = np.minimum(xmin[:, None] + t, in_size - 1)
    return index, w.astype(dtype), count


def axis_taps(mode, in_size, out_size, align_corners, scale, dtype, antialias=False):
    """``(index, weight, count)`` for one axis: ``index``/``weight`` are ``(out, T)``, ``count``
    the number of taps used per output position (``None``: all T). ``mode`` is 'nearest',
    'nearest-exact', 'linear', 'cubic' or (antialias only) 'lanczos'; ``scale`` the user's
    scale factor for this axis (None: from the sizes)."""
    dtype = np.dtype(dtype)
    if antialias:
        return _antialias_taps(in_size, out_size, align_corners, scale, mode, dtype)
    if mode in ("nearest", "nearest-exact"):
        index, weight = _nearest_taps(in_size, out_size, scale, mode == "nearest-exact", dtype)
    elif mode == "linear":
        index, weight = _linear_taps(in_size, out_size, align_corners, scale, dtype)
    elif mode == "cubic":
        index, weight = _cubic_taps(in_size, out_size, align_corners, scale, dtype)
    else:
        raise ValueError(f"unknown resampling mode {mode!r}")
    return index.astype(np.int64), weight.astype(dtype), None


# -- the separable loop ------------------------------------------------------------------------

@parallel_kernel
def _apply_axis(x, index, weight, count, out):
    """out[o, j, k] = sum_{t < count[j]} x[o, index[j, t], k] * weight[j, t]."""
    outer, n_out, inner = out.shape
    for o in numba.prange(outer):
        for j in range(n_out):
            i0 = index[j, 0]
            w0 = weight[j, 0]
            for k in range(inner):
                out[o, j, k] = x[o, i0, k] * w0
            for t in range(1, count[j]):
                i = index[j, t]
                w = weight[j, t]
                for k in range(inner):
                    out[o, j, k] += x[o, i, k] * w


@parallel_kernel
def _adjoint_axis(grad, index, weight, count, out):
    """out[o, index[j, t], k] += grad[o, j, k] * weight[j, t]; ``out`` starts at zero."""
    outer, n_out, inner = grad.shape
    for o in numba.prange(outer):
        for j in range(n_out):
            for t in range(count[j]):
                i = index[j, t]
                w = weight[j, t]
                for k in range(inner):
                    out[o, i, k] += grad[o, j, k] * w


def _counts(taps):
    index, _, count = taps
    if count is None:
        return np.full(index.shape[0], index.shape[1], np.int64)
    return count.astype(np.int64)


#: Bytes of the axis-by-axis intermediates per block of planes. An N-d resize runs block by
#: block over the planes (batch x channels), so that its intermediates (a 2x bilinear
#: upsampling's is twice the input, and was held beside the output in forward and beside the
#: input gradient in backward) stay this small and in cache; the values do not change.
BLOCK_BYTES = 4 << 20


def _passes(taps_per_axis, src_spatial, sizes, dtype, order):
    """Per axis resized, in ``order``: (axis in a (planes, *spatial) block, index, weight in
    ``dtype``, count, size after the pass), and the largest intermediate plane in bytes (what
    every pass but the last leaves behind)."""
    passes, plane, largest = [], list(src_spatial), 0
    for k in order:
        taps = taps_per_axis[k]
        if taps is None:
            continue
        if passes:
            largest = max(largest, int(np.prod(plane, dtype=np.int64)) * dtype.itemsize)
        plane[k] = sizes[k]
        passes.append((1 + k, taps[0], taps[1].astype(dtype, copy=False), _counts(taps), sizes[k]))
    return passes, largest


def _separable(kernel, src, passes, largest, out, scratch):
    """Run ``kernel`` along each pass in turn over blocks of planes of ``src`` (planes,
    *spatial) into ``out`` (planes, *resized), intermediates from ``scratch(shape, dtype)``."""
    step = max(1, BLOCK_BYTES // largest if largest else src.shape[0])
    for start in range(0, src.shape[0], step):
        cur = src[start:start + step]
        for i, (axis, index, weight, count, size) in enumerate(passes):
            outer = int(np.prod(cur.shape[:axis], dtype=np.int64))
            inner = int(np.prod(cur.shape[axis + 1:], dtype=np.int64))
            shape = cur.shape[:axis] + (size,) + cur.shape[axis + 1:]
            res = out[start:start + step] if i == len(passes) - 1 else scratch(shape, src.dtype)
            kernel(cur.reshape(outer, cur.shape[axis], inner), index, weight, count,
                   res.reshape(outer, size, inner))
            cur = res


def _as_planes(a, n):
    """``a`` as a C-contiguous (planes, *last n axes) array."""
    return np.ascontiguousarray(a).reshape((-1,) + a.shape[a.ndim - n:])


def resample(x, taps_per_axis):
    """Resize the trailing ``len(taps_per_axis)`` axes of ``x`` (float32/float64), the last
    axis first. A ``None`` entry leaves that axis as it is."""
    n = len(taps_per_axis)
    spatial = x.shape[x.ndim - n:]
    sizes = [s if t is None else t[0].shape[0] for s, t in zip(spatial, taps_per_axis)]
    passes, largest = _passes(taps_per_axis, spatial, sizes, x.dtype, reversed(range(n)))
    if not passes:
        return x.copy()
    out = np.empty(x.shape[:x.ndim - n] + tuple(sizes), x.dtype)
    _separable(_apply_axis, _as_planes(x, n), passes, largest,
               out.reshape((-1,) + out.shape[-n:]), np.empty)
    return out


def resample_adjoint(grad, taps_per_axis, in_shape):
    """The transpose of ``resample``: scatter ``grad`` back to ``in_shape``, axis by axis."""
    n = len(taps_per_axis)
    sizes = list(in_shape[len(in_shape) - n:])
    passes, largest = _passes(taps_per_axis, grad.shape[grad.ndim - n:], sizes, grad.dtype,
                              range(n))
    if not passes:
        return grad.copy()
    out = np.zeros(tuple(in_shape), grad.dtype)   # the last pass scatter-adds into it
    _separable(_adjoint_axis, _as_planes(grad, n), passes, largest,
               out.reshape((-1,) + out.shape[-n:]), np.zeros)
    return out
