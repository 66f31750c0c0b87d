"""N-d convolution and its two backward passes, on NumPy arrays.

One implementation serves 1d, 2d and 3d: every call is normalised to three spatial dims by
inserting size-1 dims in front (a 2-d image is a 1 x H x W volume), so each compiled kernel
exists once. Shapes (N batch, C input channels, O output channels, g groups, Cg = C/g, Og = O/g):

    x       (N, C, *S)        input
    w       (O, Cg, *K)       weight
    out     (N, O, *Q)        Q[i] = floor((S[i] + lo[i] + hi[i] - d[i]*(K[i]-1) - 1) / s[i]) + 1

    out[n, o, q] = sum_{c in group(o), k} w[o, c, k] * x[n, c, q*s - lo + k*d]   (zero outside x)

The three public functions are the three faces of this one bilinear map:

    conv_forward(x, w)             -> out       (convolution)
    conv_input_grad(gout, w)       -> gx        (its adjoint in x: *transposed* convolution)
    conv_weight_grad(x, gout)      -> gw        (its adjoint in w)

so ``conv_transpose`` is ``conv_input_grad`` and its input gradient is ``conv_forward``: the
transposed layers reuse these kernels with the roles swapped, nothing is written twice.

Two engines compute each face:

* ``"gemm"``: im2col into a column matrix ``cols[(c, k), (n, q)]`` (numba, one pass, zeros
  written for the padding so no padded copy of x is made), then one BLAS matmul per group:
  ``out = W @ cols``, ``gw = gout @ cols.T``, ``gcols = W.T @ gout`` followed by col2im, which
  accumulates the columns back over the kernel offsets. The column matrix is bounded by
  ``COLS_BUDGET_BYTES``: above it the batch (or, for one huge image, its output rows) is
  processed in chunks.
* ``"direct"``: numba loops over output rows, for GEMMs too skinny for BLAS to pay
  (few channels per group: LeNet-sized layers, depthwise convolutions, the single-channel
  tutorial filters). Each parallel task owns the rows it writes, so no atomics are needed.

Padding is given per spatial dim as ``lo`` (the number of implicit zeros before the first
element); the amount after the last element only decides the output size, which the caller
passes explicitly (a transposed convolution's ``output_padding`` makes the two disagree, see
pytorch#56328).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

__all__ = ["conv_forward", "conv_input_grad", "conv_weight_grad", "conv_output_shape",
           "choose_engine", "COLS_BUDGET_BYTES"]

#: Upper bound on the bytes of one im2col matrix; bigger problems are processed in chunks.
COLS_BUDGET_BYTES = 256 * 2 ** 20


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------

def conv_output_shape(in_spatial, kernel, stride, padding, dilation):
    """Output spatial shape for ``padding`` = one (lo, hi) pair (or an int) per spatial dim."""
    out = []
    for size, k, s, p, d in zip(in_spatial, kernel, stride, padding, dilation):
        lo, hi = (p, p) if isinstance(p, int) else p
        out.append((size + lo + hi - d * (k - 1) - 1) // s + 1)
    return tuple(out)


def _lo(padding):
    return tuple(p if isinstance(p, int) else p[0] for p in padding)


def _to_3d(a, nd):
    """View an (N, C, *S) array with nd spatial dims as (N, C, 1.., *S) with three."""
    return a.reshape(a.shape[:2] + (1,) * (3 - nd) + a.shape[2:])


def _geometry(nd, stride, padding, dilation):
    """stride, lo-padding and dilation as 3-tuples (identity for the inserted dims)."""
    pad = (0,) * (3 - nd)
    one = (1,) * (3 - nd)
    return (one + tuple(stride), pad + _lo(padding), one + tuple(dilation))


# ---------------------------------------------------------------------------------------------
# engine choice
# ---------------------------------------------------------------------------------------------

def choose_engine(channels_per_group, out_per_group, kernel_numel):
    """Pick "gemm" or "direct" for a convolution with these per-group sizes.

    BLAS pays once both GEMM dimensions that are not the (huge) pixel count are reasonably
    wide; with a handful of channels per group the column matrix costs more memory traffic
    than the multiply saves, and the direct loops win (measured in benchmarks/bench_conv.py).
    """
    if channels_per_group * kernel_numel >= 32 and out_per_group >= 16 and channels_per_group >= 4:
        return "gemm"
    return "direct"


# ---------------------------------------------------------------------------------------------
# public faces
# ---------------------------------------------------------------------------------------------

def conv_forward(x, w, stride, padding, dilation, groups, out_spatial=None, engine=None):
    """``out[n, o, q] = sum_{c, k} w[o, c, k] * x[n, c, q*stride - lo + k*dilation]``.

    ``padding``: per spatial dim an int or a (lo, hi) pair. ``out_spatial`` overrides the
    output size (used by transposed convolution's backward, where output_padding makes the
    input one element larger than the size formula gives back).
    """
    nd = x.ndim - 2
    if out_spatial is None:
        out_spatial = conv_output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    x3, w3 = _to_3d(np.ascontiguousarray(x), nd), _to_3d(np.ascontiguousarray(w), nd)
    out = np.empty((x.shape[0], w.shape[0]) + tuple(out_spatial), dtype=x.dtype)
    geo = _geometry(nd, stride, padding, dilation)
    if out.size == 0:
        return out
    if engine is None:
        engine = choose_engine(w.shape[1], w.shape[0] // groups, int(np.prod(w.shape[2:])))
    if engine == "direct":
        _direct_forward(x3, w3, _to_3d(out, nd), groups, *geo)
    else:
        _gemm_forward(x3, w3, _to_3d(out, nd), groups, geo)
    return out


def conv_input_grad(grad_out, w, input_shape, stride, padding, dilation, groups, engine=None):
    """Adjoint of ``conv_forward`` in x (= transposed convolution of ``grad_out`` by ``w``):
    ``gx[n, c, i] = sum_{o, k, q : q*stride - lo + k*dilation = i} w[o, c, k] * gout[n, o, q]``.

    ``input_shape`` is the full (N, C, *S) shape of x, which the output sizes cannot recover.
    """
    nd = grad_out.ndim - 2
    gout3, w3 = _to_3d(np.ascontiguousarray(grad_out), nd), _to_3d(np.ascontiguousarray(w), nd)
    gx = np.empty(tuple(input_shape), dtype=grad_out.dtype)
    geo = _geometry(nd, stride, padding, dilation)
    if gx.size == 0:
        return gx
    if grad_out.size == 0:
        gx.fill(0)
        return gx
    if engine is None:
        engine = choose_engine(w.shape[1], w.shape[0] // groups, int(np.prod(w.shape[2:])))
    if engine == "direct":
        _direct_input_grad(gout3, w3, _to_3d(gx, nd), groups, *geo)
    else:
        _gemm_input_grad(gout3, w3, _to_3d(gx, nd), groups, geo)
    return gx


def conv_weight_grad(x, grad_out, weight_shape, stride, padding, dilation, groups, engine=None):
    """Adjoint of ``conv_forward`` in w:
    ``gw[o, c, k] = sum_{n, q} gout[n, o, q] * x[n, c, q*stride - lo + k*dilation]``."""
    nd = x.ndim - 2
    x3, gout3 = _to_3d(np.ascontiguousarray(x), nd), _to_3d(np.ascontiguousarray(grad_out), nd)
    wshape3 = tuple(weight_shape[:2]) + (1,) * (3 - nd) + tuple(weight_shape[2:])
    geo = _geometry(nd, stride, padding, dilation)
    if x.size == 0 or grad_out.size == 0:
        return np.zeros(tuple(weight_shape), dtype=x.dtype)
    if engine is None:
        engine = choose_engine(weight_shape[1], weight_shape[0] // groups,
                               int(np.prod(weight_shape[2:])))
    if engine == "direct":
        gw = _direct_weight_grad(x3, gout3, wshape3, groups, geo)
    else:
        gw = _gemm_weight_grad(x3, gout3, wshape3, groups, geo)
    return gw.reshape(tuple(weight_shape))


# ---------------------------------------------------------------------------------------------
# GEMM engine: im2col / col2im + BLAS
# ---------------------------------------------------------------------------------------------
# The column matrix of a chunk is cols[(c, kd, kh, kw), n, r, ow] for the chunk's images n and
# output rows r = (od, oh); viewed as (g, Cg*K, nb*R*OW) it is the right operand of one
# batched-over-groups matmul. A chunk is either whole images (n0..n1, every row) or, when a
# single image's columns exceed the budget, a block of rows r0..r1 of one image.

def _chunks(n_images, n_rows, row_bytes):
    """Yield (n0, n1, r0, r1) chunks whose column matrix stays under COLS_BUDGET_BYTES."""
    rows_fit = max(1, COLS_BUDGET_BYTES // max(1, row_bytes))
    if rows_fit >= n_rows:
        per = max(1, rows_fit // n_rows)
        for n0 in range(0, n_images, per):
            yield n0, min(n_images, n0 + per), 0, n_rows
    else:
        for n in range(n_images):
            for r0 in range(0, n_rows, rows_fit):
                yield n, n + 1, r0, min(n_rows, r0 + rows_fit)


def _gemm_plan(x_shape, kernel, out_spatial, itemsize):
    """Kernel numel and the chunks of a GEMM-engine call (column bytes per output row known)."""
    n, c = x_shape[:2]
    k_numel = kernel[0] * kernel[1] * kernel[2]
    od, oh, ow = out_spatial
    return k_numel, _chunks(n, od * oh, c * k_numel * ow * itemsize)


def _gemm_forward(x3, w3, out3, groups, geo):
    stride, pad, dil = geo
    n_img, o = out3.shape[:2]
    ow = out3.shape[4]
    kernel = w3.shape[2:]
    k_numel, chunks = _gemm_plan(x3.shape, kernel, out3.shape[2:], x3.dtype.itemsize)
    wg = w3.reshape(groups, o // groups, -1)
    out_rows = out3.reshape(n_img, o, -1, ow)
    for n0, n1, r0, r1 in chunks:
        cols = _im2col_chunk(x3, kernel, geo, out3.shape[2:], n0, n1, r0, r1)
        prod = np.matmul(wg, cols.reshape(groups, wg.shape[2], -1))      # (g, Og, nb*R*OW)
        # (O, nb, R, OW) -> (nb, O, R, OW): the one transposing copy, written straight into out
        out_rows[n0:n1, :, r0:r1] = prod.reshape(o, n1 - n0, r1 - r0, ow).transpose(1, 0, 2, 3)


def _gemm_weight_grad(x3, gout3, wshape3, groups, geo):
    n_img, o = gout3.shape[:2]
    ow = gout3.shape[4]
    kernel = tuple(wshape3[2:])
    k_numel, chunks = _gemm_plan(x3.shape, kernel, gout3.shape[2:], x3.dtype.itemsize)
    gw = np.zeros((groups, o // groups, wshape3[1] * k_numel), dtype=x3.dtype)
    gout_rows = gout3.reshape(n_img, o, -1, ow)
    for n0, n1, r0, r1 in chunks:
        cols = _im2col_chunk(x3, kernel, geo, gout3.shape[2:], n0, n1, r0, r1)
        g = _gather_rows(gout_rows, n0, n1, r0, r1).reshape(groups, o // groups, -1)
        gw += np.matmul(g, cols.reshape(groups, gw.shape[2], -1).transpose(0, 2, 1))
    return gw


def _gemm_input_grad(gout3, w3, gx3, groups, geo):
    n_img, o = gout3.shape[:2]
    ow = gout3.shape[4]
    kernel = w3.shape[2:]
    k_numel, chunks = _gemm_plan(gx3.shape, kernel, gout3.shape[2:], gx3.dtype.itemsize)
    wt = w3.reshape(groups, o // groups, -1).transpose(0, 2, 1)          # (g, Cg*K, Og)
    gout_rows = gout3.reshape(n_img, o, -1, ow)
    gx3.fill(0)
    for n0, n1, r0, r1 in chunks:
        g = _gather_rows(gout_rows, n0, n1, r0, r1).reshape(groups, o // groups, -1)
        cols = np.matmul(wt, g)                                          # (g, Cg*K, nb*R*OW)
        _col2im(cols.reshape(-1, n1 - n0, (r1 - r0) * ow), gx3, n0, r0,
                kernel[0], kernel[1], kernel[2], gout3.shape[2], gout3.shape[3], ow, *geo)


def _gather_rows(rows, n0, n1, r0, r1):
    """gout rows of a chunk as a contiguous (O, nb, R, OW) array (channels first, as cols)."""
    return np.ascontiguousarray(rows[n0:n1, :, r0:r1].transpose(1, 0, 2, 3))


def _im2col_chunk(x3, kernel, geo, out_spatial, n0, n1, r0, r1):
    c = x3.shape[1]
    kd, kh, kw = kernel
    od, oh, ow = out_spatial
    cols = np.empty((c * kd * kh * kw, n1 - n0, (r1 - r0) * ow), dtype=x3.dtype)
    _im2col(x3, cols, n0, r0, kd, kh, kw, od, oh, ow, *geo)
    return cols


@numba.njit(inline="always")
def _valid_range(offset, stride, in_size, out_size):
    """Output positions q in [0, out_size) whose input index q*stride + offset is in [0, in_size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (in_size - 1 - offset) // stride + 1 if in_size - 1 - offset >= 0 else 0
    return lo, max(lo, min(hi, out_size))


# Inner loops run over slices indexed from 0: a loop over ``a[q + offset]`` makes numba emit a
# negative-index wraparound check per element that stops LLVM vectorising it (15x slower), and
# a slice with a run-time step is a non-contiguous array whose loop is not vectorised either:
# so each helper takes (start, step) and slices contiguously when the step is 1.
# ``y[q] (op)= x[start + q*step]`` for q < len(y), or the scatter form ``y[start + q*step]``.

@numba.njit(inline="always")
def _fill0(y):
    for q in range(y.shape[0]):
        y[q] = 0


@numba.njit(inline="always")
def _copy_from(y, x, start, step):
    if step == 1:
        xc = x[start:start + y.shape[0]]
        for q in range(y.shape[0]):
            y[q] = xc[q]
    else:
        xs = x[start:start + (y.shape[0] - 1) * step + 1:step]
        for q in range(y.shape[0]):
            y[q] = xs[q]


@numba.njit(inline="always")
def _add_to(y, start, step, x):
    if step == 1:
        yc = y[start:start + x.shape[0]]
        for q in range(x.shape[0]):
            yc[q] += x[q]
    else:
        ys = y[start:start + (x.shape[0] - 1) * step + 1:step]
        for q in range(x.shape[0]):
            ys[q] += x[q]


@numba.njit(inline="always")
def _axpy_from(y, a, x, start, step):
    if step == 1:
        xc = x[start:start + y.shape[0]]
        for q in range(y.shape[0]):
            y[q] += a * xc[q]
    else:
        xs = x[start:start + (y.shape[0] - 1) * step + 1:step]
        for q in range(y.shape[0]):
            y[q] += a * xs[q]


@numba.njit(inline="always")
def _axpy_to(y, start, step, a, x):
    if step == 1:
        yc = y[start:start + x.shape[0]]
        for q in range(x.shape[0]):
            yc[q] += a * x[q]
    else:
        ys = y[start:start + (x.shape[0] - 1) * step + 1:step]
        for q in range(x.shape[0]):
            ys[q] += a * x[q]


@numba.njit(inline="always")
def _dot_from(g, x, start, step):
    s = g.dtype.type(0)
    if step == 1:
        xc = x[start:start + g.shape[0]]
        for q in range(g.shape[0]):
            s += g[q] * xc[q]
    else:
        xs = x[start:start + (g.shape[0] - 1) * step + 1:step]
        for q in range(g.shape[0]):
            s += g[q] * xs[q]
    return s


@numba.njit(parallel=True, cache=True)
def _im2col(x, cols, n0, r0, kd_n, kh_n, kw_n, od_n, oh_n, ow_n, stride, pad, dil):
    """cols[(c, kd, kh, kw), n - n0, (r - r0)*OW + ow] = x[n, c, id, ih, iw] (0 in the padding),
    r = od*OH + oh the flat output row, and id = od*sd - pd + kd*dd etc."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_chunk = cols.shape[1]
    n_rows = cols.shape[2] // ow_n
    d_in, h_in, w_in = x.shape[2], x.shape[3], x.shape[4]
    k_numel = kd_n * kh_n * kw_n
    for task in prange(cols.shape[0] * n_chunk):
        ck = task // n_chunk
        n = task % n_chunk
        c = ck // k_numel
        kd = (ck // (kh_n * kw_n)) % kd_n
        kh = (ck // kw_n) % kh_n
        kw = ck % kw_n
        dst = cols[ck, n]
        off_w = kw * dw - pw
        lo, hi = _valid_range(off_w, sw, w_in, ow_n)
        od, oh = r0 // oh_n, r0 % oh_n          # walk the rows without a division per row
        for r in range(n_rows):
            i_d = od * sd - pd + kd * dd
            i_h = oh * sh - ph + kh * dh
            row = dst[r * ow_n:(r + 1) * ow_n]
            if i_d < 0 or i_d >= d_in or i_h < 0 or i_h >= h_in:
                _fill0(row)
            else:
                if lo > 0 or hi < ow_n:
                    _fill0(row[:lo])
                    _fill0(row[hi:])
                _copy_from(row[lo:hi], x[n0 + n, c, i_d, i_h], lo * sw + off_w, sw)
            oh += 1
            if oh == oh_n:
                oh = 0
                od += 1


@numba.njit(parallel=True, cache=True)
def _col2im(cols, gx, n0, r0, kd_n, kh_n, kw_n, od_n, oh_n, ow_n, stride, pad, dil):
    """Adjoint of _im2col: gx[n, c, id, ih, iw] += cols[(c, k), n - n0, (r - r0)*OW + ow].
    One task per (image, channel) plane, so the accumulation needs no atomics."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_chunk = cols.shape[1]
    n_rows = cols.shape[2] // ow_n
    c_n, d_in, h_in, w_in = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    k_numel = kd_n * kh_n * kw_n
    for task in prange(n_chunk * c_n):
        n = task // c_n
        c = task % c_n
        plane = gx[n0 + n, c]
        for k in range(k_numel):
            kd = k // (kh_n * kw_n)
            kh = (k // kw_n) % kh_n
            kw = k % kw_n
            src = cols[c * k_numel + k, n]
            off_w = kw * dw - pw
            lo, hi = _valid_range(off_w, sw, w_in, ow_n)
            if hi <= lo:
                continue
            od, oh = r0 // oh_n, r0 % oh_n
            for r in range(n_rows):
                i_d = od * sd - pd + kd * dd
                i_h = oh * sh - ph + kh * dh
                if i_d >= 0 and i_d < d_in and i_h >= 0 and i_h < h_in:
                    _add_to(plane[i_d, i_h], lo * sw + off_w, sw, src[r * ow_n + lo:r * ow_n + hi])
                oh += 1
                if oh == oh_n:
                    oh = 0
                    od += 1


# ---------------------------------------------------------------------------------------------
# direct engine: numba loops over output rows
# ---------------------------------------------------------------------------------------------

@numba.njit(parallel=True, cache=True)
def _direct_forward(x, w, out, groups, stride, pad, dil):
    """One task per output row out[n, o, od, oh, :]: for every input channel of o's group and
    every kernel offset, add w * (the matching input row) over the valid output positions."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, o_n, od_n, oh_n, ow_n = out.shape
    cg_n, kd_n, kh_n, kw_n = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    d_in, h_in, w_in = x.shape[2], x.shape[3], x.shape[4]
    og_n = o_n // groups
    for task in prange(n_img * o_n * od_n * oh_n):
        oh = task % oh_n
        od = (task // oh_n) % od_n
        o = (task // (oh_n * od_n)) % o_n
        n = task // (oh_n * od_n * o_n)
        c0 = (o // og_n) * cg_n
        row = out[n, o, od, oh]
        row[:] = 0
        for kd in range(kd_n):
            i_d = od * sd - pd + kd * dd
            if i_d < 0 or i_d >= d_in:
                continue
            for kh in range(kh_n):
                i_h = oh * sh - ph + kh * dh
                if i_h < 0 or i_h >= h_in:
                    continue
                for kw in range(kw_n):
                    off_w = kw * dw - pw
                    lo, hi = _valid_range(off_w, sw, w_in, ow_n)
                    if hi <= lo:
                        continue
                    dst = row[lo:hi]
                    for c in range(cg_n):
                        _axpy_from(dst, w[o, c, kd, kh, kw], x[n, c0 + c, i_d, i_h], lo * sw + off_w, sw)


@numba.njit(parallel=True, cache=True)
def _direct_input_grad(gout, w, gx, groups, stride, pad, dil):
    """One task per input row gx[n, c, id, ih, :]: gather the output rows that row feeds
    (od*sd - pd + kd*dd == id) and scatter w * gout into it along the width."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, c_n, d_in, h_in, w_in = gx.shape
    o_n, od_n, oh_n, ow_n = gout.shape[1], gout.shape[2], gout.shape[3], gout.shape[4]
    cg_n, kd_n, kh_n, kw_n = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    og_n = o_n // groups
    for task in prange(n_img * c_n * d_in * h_in):
        i_h = task % h_in
        i_d = (task // h_in) % d_in
        c = (task // (h_in * d_in)) % c_n
        n = task // (h_in * d_in * c_n)
        cl = c % cg_n
        o0 = (c // cg_n) * og_n
        row = gx[n, c, i_d, i_h]
        row[:] = 0
        for kd in range(kd_n):
            num_d = i_d + pd - kd * dd
            if num_d < 0 or num_d % sd != 0 or num_d // sd >= od_n:
                continue
            od = num_d // sd
            for kh in range(kh_n):
                num_h = i_h + ph - kh * dh
                if num_h < 0 or num_h % sh != 0 or num_h // sh >= oh_n:
                    continue
                oh = num_h // sh
                for kw in range(kw_n):
                    off_w = kw * dw - pw
                    lo, hi = _valid_range(off_w, sw, w_in, ow_n)
                    if hi <= lo:
                        continue
                    for o in range(o0, o0 + og_n):
                        _axpy_to(row, lo * sw + off_w, sw, w[o, cl, kd, kh, kw], gout[n, o, od, oh, lo:hi])


def _direct_weight_grad(x3, gout3, wshape3, groups, geo):
    """Partial sums per (image, output channel, block of output rows) in parallel, then one
    NumPy reduction over images and blocks (deterministic, no atomics)."""
    n_img, o_n = gout3.shape[:2]
    rows = gout3.shape[2] * gout3.shape[3]
    blocks = max(1, min(rows, -(-4 * numba.get_num_threads() // (n_img * o_n))))
    partial = np.zeros((n_img, o_n, blocks) + tuple(wshape3[1:]), dtype=x3.dtype)
    _direct_weight_grad_partial(x3, gout3, partial, groups, *geo)
    return partial.sum(axis=(0, 2))


@numba.njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _direct_weight_grad_partial(x, gout, partial, groups, stride, pad, dil):
    """partial[n, o, b, c, k] = sum over rows r of block b of <gout row r, matching x row>.
    fastmath reassoc lets LLVM vectorise the dot products (the order of a float sum)."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, o_n, od_n, oh_n, ow_n = gout.shape
    blocks = partial.shape[2]
    cg_n, kd_n, kh_n, kw_n = partial.shape[3], partial.shape[4], partial.shape[5], partial.shape[6]
    d_in, h_in, w_in = x.shape[2], x.shape[3], x.shape[4]
    og_n = o_n // groups
    n_rows = od_n * oh_n
    for task in prange(n_img * o_n * blocks):
        b = task % blocks
        o = (task // blocks) % o_n
        n = task // (blocks * o_n)
        c0 = (o // og_n) * cg_n
        acc = partial[n, o, b]
        for r in range(b * n_rows // blocks, (b + 1) * n_rows // blocks):
            od = r // oh_n
            oh = r % oh_n
            grow = gout[n, o, od, oh]
            for kd in range(kd_n):
                i_d = od * sd - pd + kd * dd
                if i_d < 0 or i_d >= d_in:
                    continue
                for kh in range(kh_n):
                    i_h = oh * sh - ph + kh * dh
                    if i_h < 0 or i_h >= h_in:
                        continue
                    for kw in range(kw_n):
                        off_w = kw * dw - pw
                        lo, hi = _valid_range(off_w, sw, w_in, ow_n)
                        if hi <= lo:
                            continue
                        g = grow[lo:hi]
                        for c in range(cg_n):
                            acc[c, kd, kh, kw] += _dot_from(g, x[n, c0 + c, i_d, i_h], lo * sw + off_w, sw)
