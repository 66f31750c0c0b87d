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

A tile of the products runs every tap (and every K-step of the channels) into the same block
of the result while it is in L1, one single-threaded OpenBLAS call each, tiles in a numba
``prange`` (ember/_kernels/blas.py says why not OpenBLAS's own threads). The work goes in
chunks of ``SHIFT_CHUNK_BYTES``: whole images, or blocks of rows of one image with the rows
the last taps read past the block.
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

#: Bytes of a chunk's padded input plus its products (or padded output gradient).
SHIFT_CHUNK_BYTES = 4 * 2 ** 20

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


def _span(nb, r0, r1, periods, ow):
    """The columns a chunk computes: up to its last image's row r1 - 1, column ow - 1."""
    return ((nb - 1) * periods[0] * periods[1] + r1 - r0 - 1) * periods[2] + ow


def _chunks(n_images, periods, out_spatial, shift_max, col_bytes):
    """Yield (n0, n1, r0, r1, rows): images n0..n1 and the output rows r0..r1 of each (rows
    r = od*PH + oh of the buffer), whose buffer of ``rows`` rows (the taps read past the last
    output) at ``col_bytes`` a column stays under SHIFT_CHUNK_BYTES."""
    pd, ph, pw = periods
    rows_end = (out_spatial[0] - 1) * ph + out_spatial[1]

    def rows(nb, r0, r1):
        return -(-(_span(nb, r0, r1, periods, out_spatial[2]) + shift_max) // pw)

    per = SHIFT_CHUNK_BYTES // (pd * ph * pw * col_bytes)
    if per >= 1 or rows(1, 0, rows_end) * pw * col_bytes <= SHIFT_CHUNK_BYTES:
        per = max(1, per)
        for n0 in range(0, n_images, per):
            n1 = min(n_images, n0 + per)
            yield n0, n1, 0, rows_end, rows(n1 - n0, 0, rows_end)
        return
    halo = rows(1, 0, 1) - 1
    fit = max(1, SHIFT_CHUNK_BYTES // (pw * col_bytes) - halo)
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
    n_img, c = x3.shape[:2]
    o = out3.shape[1]
    out_spatial = out3.shape[2:]
    layout = _layout(x3.shape[2:], out_spatial, kernel, dil, lo)
    periods = layout[0]
    shifts = _shifts(kernel, dil, periods)
    col_bytes = (c + o) * x3.dtype.itemsize
    for n0, n1, r0, r1, rows in _chunks(n_img, periods, out_spatial, shifts[-1], col_bytes):
        xpad = _pad_chunk(x3, "shift_x", n0, n1, r0, rows, lo, layout)
        prod = _scratch("shift_y", (o, xpad.shape[1]), out3.dtype)
        _products(w_taps, xpad, prod, shifts, _span(n1 - n0, r0, r1, periods, out_spatial[2]),
                  groups)
        _crop_rows(prod, out3, n0, n1 - n0, r0, r1, periods,
                   work=o * (n1 - n0) * (r1 - r0) * periods[2])


def shift_weight_grad(x3, gout3, wshape3, groups, lo, dil):
    """gw (O, Cg, *K) = sum over images and outputs of gout3 times the matching x3 windows."""
    n_img, c = x3.shape[:2]
    o = gout3.shape[1]
    kernel = tuple(wshape3[2:])
    cg, og = c // groups, o // groups
    out_spatial = gout3.shape[2:]
    layout = _layout(x3.shape[2:], out_spatial, kernel, dil, lo)
    periods = layout[0]
    shifts = _shifts(kernel, dil, periods)
    splits = _splits(len(shifts) * groups * -(-cg // 64) * -(-og // 64),
                     len(shifts) * c * og * x3.dtype.itemsize)
    # gw_t^T per tap and group, (splits, T, g, Cg, Og): each split sums its own columns
    partial = np.zeros((splits, len(shifts), groups, cg, og), dtype=x3.dtype)
    col_bytes = (c + o) * x3.dtype.itemsize
    for n0, n1, r0, r1, rows in _chunks(n_img, periods, out_spatial, shifts[-1], col_bytes):
        xpad = _pad_chunk(x3, "shift_x", n0, n1, r0, rows, lo, layout)
        gpad_t = _scratch("shift_y", (rows * periods[2], o), gout3.dtype)
        _pad_rows_t(gout3, gpad_t.reshape(rows, periods[2], o), n0, n1 - n0, r0, periods,
                    work=gpad_t.size)
        _weight_products(xpad, gpad_t, partial, shifts,
                         _span(n1 - n0, r0, r1, periods, out_spatial[2]))
    # (T, g, Cg, Og) -> (g, Og, Cg, T) = (O, Cg, *K)
    gw = partial.sum(axis=0) if splits > 1 else partial[0]
    return np.ascontiguousarray(gw.transpose(1, 3, 2, 0)).reshape(wshape3)


def _splits(tasks, gw_bytes):
    """Into how many runs of columns the weight gradient's products are cut (each summed into
    its own copy of gw) so that its ``tasks`` (taps x groups x tiles) keep every thread busy:
    ResNet's 9 tasks on 2 threads run 5 + 4 in one run, 9 + 9 in two. At most 4 chunks'
    worth of copies."""
    threads = numba.get_num_threads() if _state.parallel.enabled else 1
    if tasks >= 8 * threads:
        return 1
    return max(1, min(threads, -(-8 * threads // tasks), 4 * SHIFT_CHUNK_BYTES // gw_bytes))


# ---------------------------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------------------------

def _tiles(m, n, k):
    """(tm, tn, tk), tm*tn*tk <= TILE_MACS (OpenBLAS stays on the calling thread): the whole
    K of a tap where the budget allows, c's tile as wide as the rest of it allows."""
    tm = min(m, 64)
    tk = min(k, 64)
    tn = max(1, min(n, TILE_MACS // (tm * tk)))
    return tm, tn, tk


def _products(w_taps, xpad, prod, shifts, span, groups):
    """prod[g*Og + i, j] = sum_t W_t[g*Og + i] @ xpad[g*Cg:(g+1)*Cg, j + shifts[t]], j < span."""
    taps, o, cg = w_taps.shape
    og = o // groups
    if not AVAILABLE or xpad.dtype not in (np.float32, np.float64):
        _products_numpy(w_taps, xpad, prod, shifts, span, groups)
        return
    tm, tn, tk = _tiles(og, span, cg)
    addr = _GEMM[0] if xpad.dtype == np.float32 else _GEMM[1]
    _shift_gemm(addr, w_taps, xpad, prod, shifts, span, groups, tm, tn, tk,
                work=taps * o * cg * span // 16)


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


@parallel_kernel
def _shift_gemm(addr, w_taps, xpad, prod, shifts, span, groups, tm, tn, tk):
    """One task per (group, tm x tn tile of prod): every tap and K-step of the channels into
    the same tile, one single-threaded OpenBLAS call each (the tile stays in L1)."""
    taps, o_n, cg = w_taps.shape
    og = o_n // groups
    ldx, ldp = xpad.shape[1], prod.shape[1]
    isz = prod.itemsize
    tiles_m, tiles_n = (og + tm - 1) // tm, (span + tn - 1) // tn
    one, zero = prod.dtype.type(1), prod.dtype.type(0)
    w0, x0, p0 = (np.int64(w_taps.ctypes.data), np.int64(xpad.ctypes.data),
                  np.int64(prod.ctypes.data))
    for task in prange(groups * tiles_m * tiles_n):
        g = task // (tiles_m * tiles_n)
        i0 = g * og + ((task // tiles_n) % tiles_m) * tm
        j0 = (task % tiles_n) * tn
        mm, nn = min(tm, (g + 1) * og - i0), min(tn, span - j0)
        cp = p0 + (i0 * ldp + j0) * isz
        for t in range(taps):
            for k0 in range(0, cg, tk):
                kk = min(tk, cg - k0)
                ap = w0 + ((t * o_n + i0) * cg + k0) * isz
                bp = x0 + ((g * cg + k0) * ldx + j0 + shifts[t]) * isz
                beta = zero if t == 0 and k0 == 0 else one
                _cblas_gemm(addr, _CBLAS_NO_TRANS, _CBLAS_NO_TRANS, mm, nn, kk, one, ap, cg,
                            bp, ldx, beta, cp, ldp)


def _weight_products(xpad, gpad_t, partial, shifts, span):
    """partial[s, t, g] += xpad[g][:, cols_s + shifts[t]] @ gpad_t[cols_s, g], the columns
    j < span split in len(partial) runs s (one per thread: the tasks then divide evenly)."""
    splits, taps, groups, cg, og = partial.shape
    if not AVAILABLE or xpad.dtype not in (np.float32, np.float64):
        xg = xpad.reshape(groups, cg, -1)
        gg = gpad_t[:span].reshape(span, groups, og).transpose(1, 0, 2)
        for t, s in enumerate(shifts):
            partial[0, t] += np.matmul(xg[:, :, s:s + span], gg)
        return
    tm, tn = min(cg, 64), min(og, 64)
    tk = max(1, TILE_MACS // (tm * tn))
    addr = _GEMM[0] if xpad.dtype == np.float32 else _GEMM[1]
    _shift_gemm_weight(addr, xpad, gpad_t, partial, shifts, span, tm, tn, tk,
                       work=taps * groups * cg * og * span // 16)


@parallel_kernel
def _shift_gemm_weight(addr, xpad, gpad_t, partial, shifts, span, tm, tn, tk):
    """One task per (split of the columns, tap, group, tm x tn tile of gw_t^T), its columns in
    steps of tk, accumulated into the tile (beta = 1)."""
    splits, taps, groups, cg, og = partial.shape
    ldx, ldg = xpad.shape[1], gpad_t.shape[1]
    isz = partial.itemsize
    tiles_m, tiles_n = (cg + tm - 1) // tm, (og + tn - 1) // tn
    per_split = (span + splits - 1) // splits
    one = partial.dtype.type(1)
    x0, g0, p0 = (np.int64(xpad.ctypes.data), np.int64(gpad_t.ctypes.data),
                  np.int64(partial.ctypes.data))
    tiles = tiles_m * tiles_n
    for task in prange(splits * taps * groups * tiles):
        tile, g = task % tiles, (task // tiles) % groups
        t, s = (task // (tiles * groups)) % taps, task // (tiles * groups * taps)
        i0, j0 = (tile // tiles_n) * tm, (tile % tiles_n) * tn
        mm, nn = min(tm, cg - i0), min(tn, og - j0)
        cp = p0 + ((((s * taps + t) * groups + g) * cg + i0) * og + j0) * isz
        for k0 in range(s * per_split, min(span, (s + 1) * per_split), tk):
            kk = min(tk, span - k0, (s + 1) * per_split - k0)
            ap = x0 + ((g * cg + i0) * ldx + k0 + shifts[t]) * isz
            bp = g0 + (k0 * ldg + g * og + j0) * isz
            _cblas_gemm(addr, _CBLAS_NO_TRANS, _CBLAS_NO_TRANS, mm, nn, kk, one, ap, ldx, bp,
                        ldg, one, cp, og)


# ---------------------------------------------------------------------------------------------
# copies in and out of the padded layout
# ---------------------------------------------------------------------------------------------

def _pad_chunk(a3, slot, n0, n1, r0, rows, lo, layout):
    """Images n0..n1 of a3 (N, C, D, H, W) from buffer row r0 on, ``rows`` rows, in the
    buffer layout as (C, rows*PW) in scratch ``slot``."""
    c = a3.shape[1]
    periods, first, count = layout
    buf = _scratch(slot, (c, rows, periods[2]), a3.dtype)
    _pad_rows(a3, buf, n0, n1 - n0, r0, lo, first, count, periods, work=buf.size)
    return buf.reshape(c, -1)


@numba.njit(inline="always")
def _buffer_row(r, nb, periods):
    """(image, pd, ph) of buffer row r (image nb: past the chunk's last image)."""
    plane_rows = periods[0] * periods[1]
    n = min(r // plane_rows, nb)
    return n, (r % plane_rows) // periods[1], r % periods[1]


@parallel_kernel
def _pad_rows(a, buf, n0, nb, r0, lo, first, count, periods):
    """buf[c, r, p] = a[n0 + n, c, pd - lo_d, ph - lo_h, p - lo_w] for the buffer row r0 + r
    of image n, plane pd, row ph (n < nb), where [first, first + count) holds (pd, ph, p);
    zero elsewhere. One task per channel."""
    c_n, rows, pw_n = buf.shape
    d_in, h_in, w_in = a.shape[2], a.shape[3], a.shape[4]
    p_lo, p_hi = first[2], first[2] + count[2]
    af, bf = a.ravel(), buf.ravel()
    for c in prange(c_n):
        for r in range(rows):
            n, pd, ph = _buffer_row(r0 + r, nb, periods)
            dst = _u((c * rows + r) * pw_n)
            if (n == nb or pd < first[0] or pd >= first[0] + count[0] or ph < first[1]
                    or ph >= first[1] + count[1] or p_hi == p_lo):
                for p in range(_u(pw_n)):
                    bf[dst + p] = 0
                continue
            src = _u(((((n0 + n) * a.shape[1] + c) * d_in + pd - lo[0]) * h_in + ph - lo[1])
                     * w_in + p_lo - lo[2])
            for p in range(_u(p_lo)):
                bf[dst + p] = 0
            for p in range(_u(p_hi - p_lo)):
                bf[dst + _u(p_lo) + p] = af[src + p]
            for p in range(_u(p_hi), _u(pw_n)):
                bf[dst + p] = 0


@parallel_kernel
def _pad_rows_t(a, buf_t, n0, nb, r0, periods):
    """buf_t[r, p, c] = a[n0 + n, c, pd, ph, p] for the buffer row r0 + r of image n, plane
    pd, row ph, zero outside a (the layout of an output gradient, channels last); one task per
    row."""
    rows, pw_n, c_n = buf_t.shape
    d_in, h_in, w_in = a.shape[2], a.shape[3], a.shape[4]
    cols = min(w_in, pw_n)
    af, bf = a.ravel(), buf_t.ravel()
    for r in prange(rows):
        n, pd, ph = _buffer_row(r0 + r, nb, periods)
        dst = _u(r * pw_n * c_n)
        if n == nb or pd >= d_in or ph >= h_in:
            for i in range(_u(pw_n * c_n)):
                bf[dst + i] = 0
            continue
        for i in range(_u(cols * c_n), _u(pw_n * c_n)):
            bf[dst + i] = 0
        for c in range(c_n):
            src = _u((((n0 + n) * c_n + c) * d_in + pd) * h_in + ph) * _u(w_in)
            for p in range(_u(cols)):
                bf[dst + p * _u(c_n) + _u(c)] = af[src + p]


@parallel_kernel
def _crop_rows(prod, out, n0, nb, r0, r1, periods):
    """out[n0 + n, o, od, oh, :] = prod[o, ((n*PD*PH + r - r0)*PW : ...)[:OW] for the chunk's
    output rows r = od*PH + oh in [r0, r1) (oh < OH); one task per (image, output channel)."""
    o_n = prod.shape[0]
    od_n, oh_n, ow_n = out.shape[2], out.shape[3], out.shape[4]
    ph_n, pw_n = periods[1], periods[2]
    image_rows = periods[0] * ph_n
    pf, of = prod.ravel(), out.ravel()
    for task in prange(nb * o_n):
        n, o = task // o_n, task % o_n
        plane = ((n0 + n) * o_n + o) * od_n
        for r in range(r0, r1):
            od, oh = r // ph_n, r % ph_n
            if oh >= oh_n or od >= od_n:
                continue
            src = _u(o * prod.shape[1] + (n * image_rows + r - r0) * pw_n)
            dst = _u(((plane + od) * oh_n + oh) * ow_n)
            for q in range(_u(ow_n)):
                of[dst + q] = pf[src + q]
