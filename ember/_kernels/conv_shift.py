"""The shift engine: unit-stride convolutions as sums of shifted matrix products, no im2col.

With every stride 1, copy the input once into a zero-padded buffer of rows of PW elements,
PH rows a plane, PD planes an image, and flatten it per channel: the kernel tap k = (kd, kh,
kw) then reads the buffer at a constant offset from each output's own position,

    shift(k) = (kd*dd*PH + kh*dh)*PW + kw*dw,

so with outputs indexed over the buffer too (j = (od*PH + oh)*PW + ow, the columns and rows
past Q, the output size, computed and thrown away)

    out[o, j] = sum_k  W_k[o, :] @ xpad[:, j + shift(k)]          (W_k = w[:, :, k], O x C)

is one product per tap, each of a strided view of the same padded copy. The padding between
two rows (planes, images) serves both: a window that runs past the right end of a row reads
on into the next row's left padding, so a period of S + max(lo, hi) (at least Q) is enough
where S + lo + hi would pad each row on its own (ResNet's 56-wide rows: 57 instead of 58,
3.5% fewer products). im2col copies the
input prod(K) times (the wide rows of ember/_kernels/conv.py KW/K times); this engine copies it
once, and the products' packing reads it from the cache. The other two faces:

* input gradient: for unit strides it is the forward correlation of the output gradient with
  the flipped, transposed kernel (w'[c, o, k] = w[o, c, K-1-k]) and the padding (K-1)*d - lo,
  which may be negative (a crop): the same code, no col2im.
* weight gradient: gw_k^T = xpad[:, shift(k):] @ gout_pad^T, with the output gradient copied
  into the padded layout, transposed (columns x channels: OpenBLAS runs A @ B 1.45x faster
  than A @ B^T on these 64 x 64 x 64 calls, measured), with zeros where no output is so that
  the thrown-away columns add nothing.

The work goes in chunks of ``SHIFT_CHUNK_BYTES`` (whole images, or blocks of rows of one image
with the rows the last taps read past the block), one task of a numba ``prange`` each: its
thread pads the chunk into a buffer of its own, multiplies and crops, so that the copies and
products stay in that core's cache and the threads meet once per call. A tile of the products
runs every tap (and every K-step of the channels) into the same block of the result while it
is in L1, one single-threaded OpenBLAS call each (ember/_kernels/blas.py says why not
OpenBLAS's own threads). The weight gradient sums one copy of gw per chunk, in a fixed order.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .. import _state
from ._jit import parallel_kernel
from .blas import AVAILABLE, TILE_MACS, _CBLAS_NO_TRANS, _GEMM, _cblas_gemm

__all__ = ["shift_pays", "shift_forward", "shift_input_grad", "shift_weight_grad",
           "SHIFT_CHUNK_BYTES"]

#: Bytes of a chunk's padded input plus its products (or padded output gradient): one
#: thread's work, about what its core's L2 cache holds.
SHIFT_CHUNK_BYTES = 2 ** 20

_scratch = _state.scratch
_u = np.uint64


# ---------------------------------------------------------------------------------------------
# the rule
# ---------------------------------------------------------------------------------------------

#: Most outputs computed per output kept (the padded volume's size over the output's) for which
#: the shift engine beats im2col + GEMM.
SHIFT_MAX_WASTE = 1.25

#: Fewest channels per group, in and out, for which it does.
SHIFT_MIN_CHANNELS = 16


def shift_pays(stride, kernel, dilation, out_spatial, cg, og):
    """Whether the shift engine beats im2col + GEMM on a convolution of ``cg`` -> ``og``
    channels per group. It computes up to prod(Q + (K-1)*d) outputs for prod(Q) (the waste
    counted here; the shared padding makes it less) and its products have K = cg per tap:
    measured on one core, CPU time of the three faces, float32, loaded
    machine (see docs/benchmarks.md), 3x3 kernels, batch 32, shift / im2col ms: 64 -> 64 on
    56x56 (waste 1.07) 271-324 / 302-317, on 128x128 (batch 8) 388 / 555, 128 -> 128 on 28x28
    (1.15) 297 / 371, 256 -> 256 on 14x14 (1.31) 323 / 328, 512 -> 512 on 7x7 (1.65) 417 / 310,
    Conv3d 16 -> 16 on 32^3 (1.2) 97 / 101, 16 -> 16 on 56x56 23 / 47, 8 -> 8 12 / 9;
    Conv1d 64 -> 64 on 1024 36 / 54."""
    if any(s != 1 for s in stride) or int(np.prod(kernel)) == 1:
        return False
    if cg < SHIFT_MIN_CHANNELS or og < SHIFT_MIN_CHANNELS:
        return False
    padded = _padded_shape(out_spatial, kernel, dilation)
    return np.prod(padded, dtype=np.float64) <= SHIFT_MAX_WASTE * np.prod(out_spatial,
                                                                          dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# geometry and chunks
# ---------------------------------------------------------------------------------------------

def _padded_shape(out_spatial, kernel, dil):
    """The extent Q + (K-1)*d of the padded input that the outputs read, per spatial dim."""
    return tuple(q + (k - 1) * d for q, k, d in zip(out_spatial, kernel, dil))


def _layout(in_spatial, out_spatial, kernel, dil, lo):
    """(periods, first, count) per spatial dim: the buffer's row, plane and image periods
    (PD, PH, PW), and where the input's elements that some output reads lie in a period:
    [first, first + count), which hold in[i - lo]; the rest of a period is zeros, at least
    max(first, the zeros after) of them, so that a window past one end reads zeros."""
    periods, first, count = [], [], []
    for s, q, k, d, p in zip(in_spatial, out_spatial, kernel, dil, lo):
        extent = q + (k - 1) * d
        f = min(max(p, 0), extent)
        n = max(0, min(s + p, extent) - f)
        periods.append(max(n + max(f, extent - f - n), q))
        first.append(f)
        count.append(n)
    return tuple(periods), tuple(first), tuple(count)


def _shifts(kernel, dil, periods):
    """The flat offset of every tap in the buffer, in the weight's (kd, kh, kw) order."""
    kd, kh, kw = kernel
    dd, dh, dw = dil
    _, ph, pw = periods
    return np.array([(a * dd * ph + b * dh) * pw + c * dw
                     for a in range(kd) for b in range(kh) for c in range(kw)], dtype=np.int64)


@numba.njit(cache=True)
def _span(nb, r0, r1, periods, ow):
    """The columns a chunk computes: up to its last image's row r1 - 1, column ow - 1."""
    return ((nb - 1) * periods[0] * periods[1] + r1 - r0 - 1) * periods[2] + ow


def _chunks(n_images, periods, out_spatial, shift_max, col_bytes, threads=1):
    """Yield (n0, n1, r0, r1, rows): images n0..n1 and the output rows r0..r1 of each (rows
    r = od*PH + oh of the buffer), whose buffer of ``rows`` rows (the taps read past the last
    output) at ``col_bytes`` a column stays under SHIFT_CHUNK_BYTES, and smaller where that
    leaves fewer than 4 chunks per thread (a small batch on many cores)."""
    pd, ph, pw = periods
    rows_end = (out_spatial[0] - 1) * ph + out_spatial[1]
    budget = min(SHIFT_CHUNK_BYTES, n_images * pd * ph * pw * col_bytes // (4 * threads))

    def rows(nb, r0, r1):
        return -(-(_span(nb, r0, r1, periods, out_spatial[2]) + shift_max) // pw)

    per = budget // (pd * ph * pw * col_bytes)
    if per >= 1 or rows(1, 0, rows_end) * pw * col_bytes <= budget:
        per = max(1, per)
        for n0 in range(0, n_images, per):
            n1 = min(n_images, n0 + per)
            yield n0, n1, 0, rows_end, rows(n1 - n0, 0, rows_end)
        return
    halo = rows(1, 0, 1) - 1
    fit = max(1, budget // (pw * col_bytes) - halo)
    fit = -(-rows_end // -(-rows_end // fit))      # the same number of blocks, evened out
    for n in range(n_images):
        for r0 in range(0, rows_end, fit):
            r1 = min(rows_end, r0 + fit)
            yield n, n + 1, r0, r1, rows(1, r0, r1)


# ---------------------------------------------------------------------------------------------
# the three faces
# ---------------------------------------------------------------------------------------------

def shift_forward(x3, w3, out3, groups, lo, dil):
    """out3 (N, O, *Q) = the unit-stride convolution of x3 (N, C, *S) by w3 (O, Cg, *K), with
    ``lo`` zeros before x3 in each spatial dim (negative: that many elements cut away)."""
    kernel = w3.shape[2:]
    o, cg = w3.shape[:2]
    taps = int(np.prod(kernel))
    # (T, O, Cg): tap t's matrix W_t
    w_taps = np.ascontiguousarray(w3.reshape(o, cg, taps).transpose(2, 0, 1))
    _shift_conv(x3, w_taps, out3, groups, lo, kernel, dil)


def shift_input_grad(gout3, w3, gx3, groups, lo, dil):
    """gx3 = the adjoint of ``shift_forward`` in x: the forward correlation of gout3 with the
    kernel flipped and each group's matrices transposed, padded by (K-1)*d - lo."""
    kernel = w3.shape[2:]
    o, cg = w3.shape[:2]
    taps = int(np.prod(kernel))
    og = o // groups
    # w_taps[t, g*Cg + c, i] = w[g*Og + i, c, T-1-t]: flipping every spatial dim reverses the
    # flat tap order
    w_taps = np.ascontiguousarray(
        w3.reshape(groups, og, cg, taps)[..., ::-1].transpose(3, 0, 2, 1).reshape(taps, -1, og))
    pad = tuple((k - 1) * d - p for k, d, p in zip(kernel, dil, lo))
    _shift_conv(gout3, w_taps, gx3, groups, pad, kernel, dil)


def _shift_conv(x3, w_taps, out3, groups, lo, kernel, dil):
    c, o = x3.shape[1], out3.shape[1]
    plan = _plan(x3, out3.shape[2:], kernel, dil, lo, c + o)
    periods, first, count, shifts, chunks, ld_max = plan
    bufx = _thread_buffers("shift_x", c * ld_max, x3.dtype)
    bufy = _thread_buffers("shift_y", o * ld_max, x3.dtype)
    taps, _, cg = w_taps.shape
    if AVAILABLE and x3.dtype in (np.float32, np.float64):
        tm, tn, tk = _tiles(o // groups, ld_max, cg)
        _conv_chunks(_GEMM[0] if x3.dtype == np.float32 else _GEMM[1], x3, w_taps, out3,
                     groups, lo, first, count, periods, shifts, chunks, bufx, bufy, tm, tn, tk,
                     work=w_taps.size * out3[:, 0].size)
        return
    for n0, n1, r0, r1, rows in chunks:      # without NumPy's OpenBLAS: np.matmul products
        xb, yb = bufx[0, :c * rows * periods[2]], bufy[0, :o * rows * periods[2]]
        _pad_chunk(x3, xb, n0, n1 - n0, r0, rows, lo, first, count, periods)
        _products_numpy(w_taps, xb.reshape(c, -1), yb.reshape(o, -1), shifts,
                        _span(n1 - n0, r0, r1, periods, out3.shape[4]), groups)
        _crop_chunk(yb, out3, n0, n1 - n0, r0, r1, rows * periods[2], periods)


def shift_weight_grad(x3, gout3, wshape3, groups, lo, dil):
    """gw (O, Cg, *K) = sum over images and outputs of gout3 times the matching x3 windows."""
    c, o = x3.shape[1], gout3.shape[1]
    kernel = tuple(wshape3[2:])
    cg, og = c // groups, o // groups
    periods, first, count, shifts, chunks, ld_max = _plan(x3, gout3.shape[2:], kernel, dil, lo,
                                                          c + o)
    bufx = _thread_buffers("shift_x", c * ld_max, x3.dtype)
    bufy = _thread_buffers("shift_y", o * ld_max, x3.dtype)
    # gw_t^T per chunk, tap and group, (chunks, T, g, Cg, Og), summed in a fixed order; in
    # rounds of chunks, so that these copies of gw take at most ~4 chunks' memory
    per_round = max(4 * numba.get_num_threads(),
                    4 * SHIFT_CHUNK_BYTES // (len(shifts) * c * og * x3.dtype.itemsize))
    partial = np.empty((min(len(chunks), per_round), len(shifts), groups, cg, og), x3.dtype)
    gw = np.zeros(partial.shape[1:], dtype=x3.dtype)
    for k in range(0, len(chunks), per_round):
        part = partial[:len(chunks[k:k + per_round])]
        if AVAILABLE and x3.dtype in (np.float32, np.float64):
            tm, tn = min(cg, 64), min(og, 64)
            _weight_chunks(_GEMM[0] if x3.dtype == np.float32 else _GEMM[1], x3, gout3, part,
                           lo, first, count, periods, shifts, chunks[k:k + per_round], bufx,
                           bufy, tm, tn, max(1, TILE_MACS // (tm * tn)),
                           work=part.size * gout3[:, 0].size)
        else:
            for i, (n0, n1, r0, r1, rows) in enumerate(chunks[k:k + per_round]):
                ld = rows * periods[2]
                xb, gb = bufx[0, :c * ld], bufy[0, :o * ld]
                _pad_chunk(x3, xb, n0, n1 - n0, r0, rows, lo, first, count, periods)
                _pad_chunk_t(gout3, gb, n0, n1 - n0, r0, rows, periods)
                span = _span(n1 - n0, r0, r1, periods, gout3.shape[4])
                xg = xb.reshape(groups, cg, ld)
                gg = gb.reshape(ld, groups, og)[:span].transpose(1, 0, 2)
                for t, sh in enumerate(shifts):
                    np.matmul(xg[:, :, sh:sh + span], gg, out=part[i, t])
        gw += part.sum(axis=0)
    # (T, g, Cg, Og) -> (g, Og, Cg, T) = (O, Cg, *K)
    return np.ascontiguousarray(gw.transpose(1, 3, 2, 0)).reshape(wshape3)


def _plan(a3, out_spatial, kernel, dil, lo, channels):
    """(periods, first, count, shifts, chunks, ld_max): the buffer layout, the taps' offsets,
    the chunks as rows (n0, n1, r0, r1, rows) of an int64 array and the longest buffer row."""
    periods, first, count = _layout(a3.shape[2:], out_spatial, kernel, dil, lo)
    shifts = _shifts(kernel, dil, periods)
    threads = numba.get_num_threads() if _state.parallel.enabled else 1
    chunks = np.array(list(_chunks(a3.shape[0], periods, out_spatial, int(shifts[-1]),
                                   channels * a3.dtype.itemsize, threads)), dtype=np.int64)
    return periods, first, count, shifts, chunks, int(chunks[:, 4].max()) * periods[2]


def _thread_buffers(slot, size, dtype):
    """One buffer of ``size`` elements per thread of the pool (a chunk's task indexes it by
    numba.get_thread_id()), in the calling thread's scratch memory."""
    return _scratch(slot, (numba.get_num_threads(), size), dtype)


# ---------------------------------------------------------------------------------------------
# the chunks: one task each, on the thread's own buffers
# ---------------------------------------------------------------------------------------------

def _tiles(m, n, k):
    """(tm, tn, tk), tm*tn*tk <= TILE_MACS (OpenBLAS stays on the calling thread): the whole
    K of a tap where the budget allows, c's tile as wide as the rest of it allows."""
    tm = min(m, 64)
    tk = min(k, 64)
    tn = max(1, min(n, TILE_MACS // (tm * tk)))
    return tm, tn, tk


@parallel_kernel
def _conv_chunks(addr, a, w_taps, out, groups, lo, first, count, periods, shifts, chunks, bufx,
                 bufy, tm, tn, tk):
    """One task per chunk, on its thread's buffers: pad the chunk's rows of ``a``, multiply
    (every tap of a tile of the result while it is in L1), crop the outputs into ``out``. The
    chunk's copies and products stay in the core's own cache, and the threads meet once."""
    c_n, o_n = a.shape[1], out.shape[1]
    for i in prange(chunks.shape[0]):
        tid = numba.get_thread_id()
        n0, nb, r0, r1, rows = (chunks[i, 0], chunks[i, 1] - chunks[i, 0], chunks[i, 2],
                                chunks[i, 3], chunks[i, 4])
        ld = rows * periods[2]
        xb, yb = bufx[tid, :c_n * ld], bufy[tid, :o_n * ld]
        _pad_chunk(a, xb, n0, nb, r0, rows, lo, first, count, periods)
        _chunk_products(addr, w_taps, xb, yb, ld, shifts,
                        _span(nb, r0, r1, periods, out.shape[4]), groups, tm, tn, tk)
        _crop_chunk(yb, out, n0, nb, r0, r1, ld, periods)


@parallel_kernel
def _weight_chunks(addr, x, gout, partial, lo, first, count, periods, shifts, chunks, bufx,
                   bufy, tm, tn, tk):
    """One task per chunk: pad its rows of x and, channels last, of gout, then partial[i, t,
    g] = xpad[g][:, shifts[t]:][:, :span] @ gpad_t[:span, g] in steps of tk columns."""
    c_n, o_n = x.shape[1], gout.shape[1]
    taps, groups, cg, og = partial.shape[1], partial.shape[2], partial.shape[3], partial.shape[4]
    isz = partial.itemsize
    one, zero = partial.dtype.type(1), partial.dtype.type(0)
    tiles_m, tiles_n = (cg + tm - 1) // tm, (og + tn - 1) // tn
    for i in prange(chunks.shape[0]):
        tid = numba.get_thread_id()
        n0, nb, r0, r1, rows = (chunks[i, 0], chunks[i, 1] - chunks[i, 0], chunks[i, 2],
                                chunks[i, 3], chunks[i, 4])
        ld = rows * periods[2]
        xb, gb = bufx[tid, :c_n * ld], bufy[tid, :o_n * ld]
        _pad_chunk(x, xb, n0, nb, r0, rows, lo, first, count, periods)
        _pad_chunk_t(gout, gb, n0, nb, r0, rows, periods)
        span = _span(nb, r0, r1, periods, gout.shape[4])
        x0, g0 = np.int64(xb.ctypes.data), np.int64(gb.ctypes.data)
        p0 = np.int64(partial[i].ctypes.data)
        for task in range(taps * groups * tiles_m * tiles_n):
            tile, g, t = (task % (tiles_m * tiles_n), (task // (tiles_m * tiles_n)) % groups,
                          task // (tiles_m * tiles_n * groups))
            i0, j0 = (tile // tiles_n) * tm, (tile % tiles_n) * tn
            mm, nn = min(tm, cg - i0), min(tn, og - j0)
            cp = p0 + (((t * groups + g) * cg + i0) * og + j0) * isz
            for k0 in range(0, span, tk):
                ap = x0 + ((g * cg + i0) * ld + k0 + shifts[t]) * isz
                bp = g0 + (k0 * o_n + g * og + j0) * isz
                _cblas_gemm(addr, _CBLAS_NO_TRANS, _CBLAS_NO_TRANS, mm, nn, min(tk, span - k0),
                            one, ap, ld, bp, o_n, zero if k0 == 0 else one, cp, og)


@numba.njit(cache=True)
def _chunk_products(addr, w_taps, xb, yb, ld, shifts, span, groups, tm, tn, tk):
    """yb[g*Og + i, j] = sum_t W_t[g*Og + i] @ xb[g*Cg:(g+1)*Cg, j + shifts[t]] for j < span
    (xb, yb: (C, ld) and (O, ld) flat), tile by tile, one single-threaded OpenBLAS call per
    tap and K-step of the channels."""
    taps, o_n, cg = w_taps.shape
    og = o_n // groups
    isz = yb.itemsize
    tiles_m, tiles_n = (og + tm - 1) // tm, (span + tn - 1) // tn
    one, zero = yb.dtype.type(1), yb.dtype.type(0)
    w0, x0, y0 = np.int64(w_taps.ctypes.data), np.int64(xb.ctypes.data), np.int64(yb.ctypes.data)
    for task in range(groups * tiles_m * tiles_n):
        g = task // (tiles_m * tiles_n)
        i0 = g * og + ((task // tiles_n) % tiles_m) * tm
        j0 = (task % tiles_n) * tn
        mm, nn = min(tm, (g + 1) * og - i0), min(tn, span - j0)
        cp = y0 + (i0 * ld + j0) * isz
        for t in range(taps):
            for k0 in range(0, cg, tk):
                ap = w0 + ((t * o_n + i0) * cg + k0) * isz
                bp = x0 + ((g * cg + k0) * ld + j0 + shifts[t]) * isz
                _cblas_gemm(addr, _CBLAS_NO_TRANS, _CBLAS_NO_TRANS, mm, nn, min(tk, cg - k0),
                            one, ap, cg, bp, ld, zero if t == 0 and k0 == 0 else one, cp, ld)


def _products_numpy(w_taps, xpad, prod, shifts, span, groups):
    taps, o, cg = w_taps.shape
    wg = w_taps.reshape(taps, groups, o // groups, cg)
    xg = xpad.reshape(groups, cg, -1)
    pg = prod.reshape(groups, o // groups, -1)[:, :, :span]
    for t, s in enumerate(shifts):
        if t == 0:
            np.matmul(wg[t], xg[:, :, s:s + span], out=pg)
        else:
            pg += np.matmul(wg[t], xg[:, :, s:s + span])


# ---------------------------------------------------------------------------------------------
# copies in and out of the padded layout
# ---------------------------------------------------------------------------------------------

@numba.njit(inline="always")
def _buffer_row(r, nb, periods):
    """(image, pd, ph) of buffer row r (image nb: past the chunk's last image)."""
    plane_rows = periods[0] * periods[1]
    n = min(r // plane_rows, nb)
    return n, (r % plane_rows) // periods[1], r % periods[1]


@numba.njit(cache=True)
def _pad_chunk(a, buf, n0, nb, r0, rows, lo, first, count, periods):
    """buf (C, rows, PW) flat: buf[c, r, p] = a[n0 + n, c, pd - lo_d, ph - lo_h, p - lo_w] for
    the buffer row r0 + r of image n, plane pd, row ph (n < nb), where [first, first + count)
    holds (pd, ph, p); zero elsewhere."""
    c_n, pw_n = a.shape[1], periods[2]
    d_in, h_in, w_in = a.shape[2], a.shape[3], a.shape[4]
    p_lo, p_hi = first[2], first[2] + count[2]
    af = a.ravel()
    for c in range(c_n):
        for r in range(rows):
            n, pd, ph = _buffer_row(r0 + r, nb, periods)
            dst = _u((c * rows + r) * pw_n)
            if (n == nb or pd < first[0] or pd >= first[0] + count[0] or ph < first[1]
                    or ph >= first[1] + count[1] or p_hi == p_lo):
                for p in range(_u(pw_n)):
                    buf[dst + p] = 0
                continue
            src = _u(((((n0 + n) * c_n + c) * d_in + pd - lo[0]) * h_in + ph - lo[1]) * w_in
                     + p_lo - lo[2])
            for p in range(_u(p_lo)):
                buf[dst + p] = 0
            for p in range(_u(p_hi - p_lo)):
                buf[dst + _u(p_lo) + p] = af[src + p]
            for p in range(_u(p_hi), _u(pw_n)):
                buf[dst + p] = 0


@numba.njit(cache=True)
def _pad_chunk_t(a, buf_t, n0, nb, r0, rows, periods):
    """buf_t (rows, PW, C) flat: buf_t[r, p, c] = a[n0 + n, c, pd, ph, p] for the buffer row
    r0 + r of image n, plane pd, row ph, zero outside a (an output gradient's layout, channels
    last)."""
    pw_n, c_n = periods[2], a.shape[1]
    d_in, h_in, w_in = a.shape[2], a.shape[3], a.shape[4]
    cols = min(w_in, pw_n)
    af = a.ravel()
    for r in range(rows):
        n, pd, ph = _buffer_row(r0 + r, nb, periods)
        dst = _u(r * pw_n * c_n)
        if n == nb or pd >= d_in or ph >= h_in:
            for i in range(_u(pw_n * c_n)):
                buf_t[dst + i] = 0
            continue
        for i in range(_u(cols * c_n), _u(pw_n * c_n)):
            buf_t[dst + i] = 0
        for c in range(c_n):
            src = _u((((n0 + n) * c_n + c) * d_in + pd) * h_in + ph) * _u(w_in)
            for p in range(_u(cols)):
                buf_t[dst + p * _u(c_n) + _u(c)] = af[src + p]


@numba.njit(cache=True)
def _crop_chunk(prod, out, n0, nb, r0, r1, ld, periods):
    """out[n0 + n, o, od, oh, :] = prod[o, (n*PD*PH + r - r0)*PW:][:OW] (prod (O, ld) flat)
    for the chunk's output rows r = od*PH + oh in [r0, r1) (oh < OH)."""
    o_n = out.shape[1]
    od_n, oh_n, ow_n = out.shape[2], out.shape[3], out.shape[4]
    ph_n, pw_n = periods[1], periods[2]
    image_rows = periods[0] * ph_n
    of = out.ravel()
    for n in range(nb):
        for o in range(o_n):
            plane = ((n0 + n) * o_n + o) * od_n
            for r in range(r0, r1):
                od, oh = r // ph_n, r % ph_n
                if oh >= oh_n or od >= od_n:
                    continue
                src = _u(o * ld + (n * image_rows + r - r0) * pw_n)
                dst = _u(((plane + od) * oh_n + oh) * ow_n)
                for q in range(_u(ow_n)):
                    of[dst + q] = prod[src + q]
