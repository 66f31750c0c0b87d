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

Three engines compute the faces:

* ``"gemm"``: im2col into a column matrix ``cols[(c, k), (n, q)]`` (numba, one pass, zeros
  written for the padding so no padded copy of x is made), then one BLAS matmul per group:
  ``out = W @ cols``, ``gw^T = cols @ gout^T``, ``gcols = W^T @ gout`` followed by col2im,
  which accumulates the columns back over the kernel offsets. The work goes in chunks of
  ``COLS_CHUNK_BYTES`` of columns (whole images, or blocks of output rows of one image), which
  keeps the columns in cache between im2col and the GEMM and bounds the extra memory whatever
  the batch or image size; the chunks' temporaries are reused from call to call (``_scratch``).
  Batches of narrow 1-d/2-d outputs (LeNet) are convolved as one image whose innermost dim is
  the batch ("batch-last"), so that the copies run over long rows.
* ``"shift"`` (ember/_kernels/conv_shift.py): unit strides only, no im2col. The input is
  copied once into a padded buffer and each kernel tap is one product of a shifted view of it;
  the GEMM engine's faces hand over to it where ``shift_pays`` (enough channels, little
  padding: ResNet's 64 -> 64 3x3 layers).
* ``"direct"``: numba loops over output rows, for GEMMs that degenerate to matrix-vector
  products (the tutorial's one-filter Conv2d(3, 1, 3)) and few-channel layers on batches of
  narrow images (LeNet, the "merged" layout). Each parallel
  task owns the rows it writes, so no atomics are needed.
* ``"depthwise"``: one input and one output channel per group; each plane copied once into a
  buffer padded along the width, so every tap runs over whole rows (see its section).

Padding is given per spatial dim as ``lo`` (the number of implicit zeros before the first
element); the amount after the last element only decides the output size, which the caller
passes explicitly (a transposed convolution's ``output_padding`` makes the two disagree, see
pytorch#56328).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .. import _state
from ._jit import parallel_kernel
from .blas import matmul
from .conv_shift import shift_forward, shift_input_grad, shift_pays, shift_weight_grad

__all__ = ["conv_forward", "conv_input_grad", "conv_weight_grad", "conv_output_shape", "unfold",
           "fold", "choose_engine", "COLS_CHUNK_BYTES"]

#: Bytes of the im2col matrix of one chunk of work: about what the caches hold, so that the GEMM
#: reads the columns from the cache (measured: the GEMM 18% and im2col 2x faster than with one
#: matrix in memory); it also bounds the engine's extra memory whatever the batch or image size.
COLS_CHUNK_BYTES = 4 * 2 ** 20

# The chunks' temporaries reuse per-thread memory, bounded and releasable (ember/_state.py).
_scratch = _state.scratch


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

def choose_engine(channels_per_group, out_per_group, stride_w, merged=False,
                  max_pairs=None, kernel_numel=1):
    """Pick "gemm" or "direct" for a convolution with these per-group sizes.

    On image rows, im2col + BLAS wins as soon as a group maps a few channels to a few channels
    (LeNet's 3 -> 6 ran 2x faster than direct loops on 28-wide rows, measured single-threaded).
    The direct loops win when the GEMM degenerates to a matrix-vector product: depthwise
    convolutions (1 -> 1 per group) and one-filter layers like the tutorial's Conv2d(3, 1, 3)
    (10x faster than im2col) - unless a stride > 1 along the width makes their inner loops
    gather (ConvTranspose2d(3, 1, 3, stride=2): im2col pays the gather once, then runs
    contiguous). On the ``merged`` layout (a batch of narrow images, rows of width x batch) they
    also win for a few channels in and out: LeNet's 3 -> 6 and 6 -> 16 (measured on one
    thread: 3 -> 6 forward 3.7 -> 1.5 ms and weight gradient 4.5 -> 1.3 ms; see
    docs/benchmarks.md for the figures after the taps were fused) - as long as the outputs are
    few: up to 8, or 16 when each sums 64 or more products (``kernel_numel`` taps per input
    channel), past which the GEMM's wider tiles win (one core, CPU ms of the three faces, batch
    64, direct / GEMM: 1 -> 32 3x3 on 8x8 0.72 / 0.54, on 28x28 11.0 / 4.8, 3 -> 16 3x3 on
    32x32 8.4 / 7.2, 1 -> 16 5x5 on 28x28 6.6 / 5.5; but 8 -> 16 3x3 on 16x16 4.0 / 4.5,
    6 -> 16 5x5 2.2 / 2.3, 3 -> 6 5x5 4.0 / 6.2, 1 -> 6 5x5 2.5 / 2.9). ``max_pairs``: the
    most channel pairs for which the merged direct engine serves the face asked for (default:
    ``DIRECT_MAX_PAIRS``, the forward's; the gradients pass theirs).
    """
    pairs = channels_per_group * out_per_group
    max_pairs = DIRECT_MAX_PAIRS if max_pairs is None else max_pairs
    if pairs == 1 and not merged:
        return "depthwise"
    few_outputs = out_per_group <= 8 or (out_per_group <= 16
                                         and channels_per_group * kernel_numel >= 64)
    if (pairs == 1 or (pairs <= 4 and stride_w == 1)
            or (merged and pairs <= max_pairs and few_outputs)):
        return "direct"
    return "gemm"


# ---------------------------------------------------------------------------------------------
# public faces
# ---------------------------------------------------------------------------------------------

def conv_forward(x, w, stride, padding, dilation, groups, out_spatial=None, engine=None,
                 bias=None):
    """``out[n, o, q] = bias[o] + sum_{c, k} w[o, c, k] * x[n, c, q*stride - lo + k*dilation]``.

    ``padding``: per spatial dim an int or a (lo, hi) pair. ``out_spatial`` overrides the
    output size (used by transposed convolution's backward, where output_padding makes the
    input one element larger than the size formula gives back). ``bias`` (O,) or None.
    """
    if out_spatial is None:
        out_spatial = conv_output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    out = np.empty((x.shape[0], w.shape[0]) + tuple(out_spatial), dtype=x.dtype)
    if out.size == 0:
        return out
    return _fill_face(out, x, w, out.shape, stride, padding, dilation, groups, engine,
                      _direct_forward, _gemm_forward, bias, _depthwise_forward_face)


def conv_input_grad(grad_out, w, input_shape, stride, padding, dilation, groups, engine=None,
                    bias=None):
    """Adjoint of ``conv_forward`` in x (= transposed convolution of ``grad_out`` by ``w``):
    ``gx[n, c, i] = bias[c] + sum_{o, k, q : q*stride - lo + k*dilation = i} w[o, c, k] *
    gout[n, o, q]``.

    ``input_shape`` is the full (N, C, *S) shape of x, which the output sizes cannot recover;
    ``bias`` (C,) or None serves the transposed convolution.
    """
    gx = np.empty(tuple(input_shape), dtype=grad_out.dtype)
    if gx.size == 0:
        return gx
    if grad_out.size == 0:
        gx.fill(0)
        if bias is not None:
            gx += bias.reshape((1, -1) + (1,) * (gx.ndim - 2))
        return gx
    # the depthwise kernels' input gradient is a correlation only for unit strides
    depthwise = _depthwise_input_grad if all(s == 1 for s in stride) else None
    return _fill_face(gx, grad_out, w, grad_out.shape, stride, padding, dilation, groups, engine,
                      _direct_input_grad, _gemm_input_grad, bias, depthwise, "input_grad")


def conv_weight_grad(x, grad_out, weight_shape, stride, padding, dilation, groups, engine=None):
    """Adjoint of ``conv_forward`` in w:
    ``gw[o, c, k] = sum_{n, q} gout[n, o, q] * x[n, c, q*stride - lo + k*dilation]``.

    Its dispatch differs from the other two faces' (``_fill_face``): the result has no batch
    dim, so the batch-last layout transposes both operands and nothing back, and the kernels
    return the gradient (a reduction over partial sums) instead of filling an array."""
    if x.size == 0 or grad_out.size == 0:
        return np.zeros(tuple(weight_shape), dtype=x.dtype)
    nd = x.ndim - 2
    merged = _merged_pays(nd, grad_out.shape, stride[-1])
    asked = engine
    engine = _engine(engine, weight_shape, groups, stride[-1], merged, None,
                     x.shape[0] * x.shape[1])
    wshape3 = tuple(weight_shape[:2]) + (1,) * (3 - nd) + tuple(weight_shape[2:])
    geo = _geometry(nd, stride, padding, dilation)
    if engine == "depthwise":
        gw = _depthwise_weight_grad(_as_3d(x), _as_3d(grad_out), wshape3, geo)
    elif engine == "direct" and merged:
        gw = _direct_weight_grad(_merged(x, "x_t"), _merged(grad_out, "y_t"), wshape3, groups,
                                 _merged_geometry(nd, stride, padding, dilation, x.shape[0]))
    elif engine == "direct":
        gw = _direct_weight_grad(_as_3d(x), _as_3d(grad_out), wshape3, groups, geo)
    elif _batch_last_pays(nd, grad_out.shape):
        gw = _gemm_weight_grad(_batch_last(x, "x_t"), _batch_last(grad_out, "y_t"),
                               _batch_last_wshape(tuple(weight_shape)), groups,
                               _batch_last_geometry(nd, stride, padding, dilation), asked)
    else:
        gw = _gemm_weight_grad(_as_3d(x), _as_3d(grad_out), wshape3, groups, geo, asked)
    return gw.reshape(tuple(weight_shape))


def _direct_work(out_shape, w_shape):
    """The size a direct kernel's call counts as for the parallel/serial choice (SERIAL_BELOW
    is in elements of memory-bound work, about 1 ns each; a multiply-add in these loops costs
    about an eighth of that): LeNet's second layer, 75K input elements but 15M multiply-adds,
    then runs on both threads."""
    return int(np.prod(out_shape, dtype=np.int64)) * int(np.prod(w_shape[1:], dtype=np.int64)) // 8


def _as_3d(a):
    """A contiguous (N, C, 1.., *S) view of ``a`` with three spatial dims."""
    return _to_3d(np.ascontiguousarray(a), a.ndim - 2)


def _engine(engine, w_shape, groups, stride_w, merged, max_pairs, planes):
    """The engine asked for (checked), or the one ``choose_engine`` picks for the weight shape
    ``w_shape`` (O, Cg, *K) in ``groups``. The depthwise
    engine's tasks are whole planes: with fewer ``planes`` (images x channels) than threads
    the direct engine's rows keep every thread busy."""
    channels_per_group, out_per_group = w_shape[1], w_shape[0] // groups
    if engine is None:
        engine = choose_engine(channels_per_group, out_per_group, stride_w, merged, max_pairs,
                               int(np.prod(w_shape[2:])))
        if engine == "depthwise" and planes < numba.get_num_threads():
            engine = "direct"
        return engine
    if engine == "depthwise" and channels_per_group * out_per_group != 1:
        raise ValueError(f"the depthwise engine needs one input and one output channel per "
                         f"group, got {channels_per_group} and {out_per_group}")
    return engine


def _fill_face(result, src, w, conv_out_shape, stride, padding, dilation, groups, engine,
               direct, gemm, bias=None, depthwise=None, face="forward"):
    """Fill ``result`` (the output, or the input gradient) from ``src`` (the input, or the
    output gradient) and ``w`` with the chosen engine's kernels ``direct`` / ``gemm`` /
    ``depthwise`` (None: the direct one serves), plus ``bias`` along dim 1: the dispatch
    conv_forward and conv_input_grad share. ``conv_out_shape`` is the shape of the
    convolution's output (``result`` for the forward, ``src`` for the input gradient), which
    decides whether a batch-last layout pays."""
    nd = result.ndim - 2
    merged = _merged_pays(nd, conv_out_shape, stride[-1])
    # the input gradient on narrow rows: the batch-last GEMM beats the direct gather
    max_pairs = 4 if face == "input_grad" and _batch_last_pays(nd, conv_out_shape) else None
    asked = engine
    engine = _engine(engine, w.shape, groups, stride[-1], merged, max_pairs,
                     result.shape[0] * result.shape[1])
    if engine == "depthwise" and depthwise is not None:
        depthwise(_as_3d(src), _as_3d(w), _to_3d(result, nd),
                  np.empty(0, result.dtype) if bias is None else np.ascontiguousarray(bias,
                                                                                   result.dtype),
                  *_geometry(nd, stride, padding, dilation))
        return result
    engine = "direct" if engine == "depthwise" else engine
    work = _direct_work(conv_out_shape, w.shape)
    if engine == "direct" and merged:
        result_t = _scratch("y_t", _batch_last_shape(result.shape), result.dtype)
        direct(_merged(src, "x_t"), _as_3d(w), result_t.reshape(_merged_shape(result.shape)),
               groups, *_merged_geometry(nd, stride, padding, dilation, result.shape[0]),
               DIRECT_BLOCK, work=work)
        return _batch_first_into(result, result_t, bias)
    if engine == "direct":
        direct(_as_3d(src), _as_3d(w), _to_3d(result, nd), groups,
               *_geometry(nd, stride, padding, dilation), DIRECT_BLOCK, work=work)
    elif _batch_last_pays(nd, conv_out_shape):
        result_t = _scratch("y_t", _batch_last_shape(result.shape), result.dtype)
        gemm(_batch_last(src, "x_t"), _batch_last_weight(w), result_t, groups,
             _batch_last_geometry(nd, stride, padding, dilation), asked)
        return _batch_first_into(result, result_t, bias)
    else:
        gemm(_as_3d(src), _as_3d(w), _to_3d(result, nd), groups,
             _geometry(nd, stride, padding, dilation), asked)
    if bias is not None:
        result += bias.reshape((1, -1) + (1,) * nd)
    return result


# ---------------------------------------------------------------------------------------------
# batch-last layout: small images as one image whose innermost "spatial" dim is the batch
# ---------------------------------------------------------------------------------------------
# im2col copies one run per output row; with LeNet's rows of 10 to 28 elements the loop overhead
# dominates. A 1-d or 2-d convolution of a batch (N, C, *S) is also a convolution of the single
# image (1, C, *S, N) with the kernel (*K, 1): the kernels then copy runs of N elements and
# the GEMM sees the whole batch at once. The price is transposing x and the result: measured
# 1.5x faster on LeNet's second layer (10-wide rows), slower from 16-wide rows on.

#: Widest output row for which 1-d/2-d convolutions of a batch use the batch-last layout.
BATCH_LAST_MAX_WIDTH = 14


def _batch_last_pays(nd, out_shape):
    return nd <= 2 and out_shape[0] >= 8 and out_shape[-1] <= BATCH_LAST_MAX_WIDTH


def _batch_last_shape(shape):
    """(N, C, *S) -> (1, C, 1.., *S, N) with three spatial dims."""
    return (1, shape[1]) + (1,) * (2 - (len(shape) - 2)) + tuple(shape[2:]) + (shape[0],)


def _batch_last(a, slot):
    """A copy of ``a`` in the batch-last layout, in scratch memory ``slot``."""
    a_t = _scratch(slot, _batch_last_shape(a.shape), a.dtype)
    n = a.shape[0]
    _transpose_add(np.ascontiguousarray(a).reshape(n, -1), a_t.reshape(-1, n),
                   np.empty(0, a.dtype), 1)
    return a_t


def _batch_first_into(result, a_t, bias):
    """result[n, c, *s] = a_t[c, *s, n] + bias[c] (no bias: None): back from batch-last."""
    n, c = result.shape[:2]
    bias = np.empty(0, result.dtype) if bias is None else np.ascontiguousarray(bias, result.dtype)
    _transpose_add(a_t.reshape(-1, n), result.reshape(n, -1), bias, result[0, 0].size)
    return result


@parallel_kernel
def _transpose_add(src, dst, bias, plane):
    """dst[i, j] = src[j, i] (+ bias[j // plane] when bias is not empty), in tiles of 16 x 256
    that stay in L1. One array is walked along its rows, the other down its columns, 16
    elements (one cache line) a row. The column walk crosses 256 rows: when their length is a
    multiple of 1024 bytes, they fall in a few cache sets and evict each other (3x slower on
    LeNet's input, 4-7x on 16x16 and 32x32 planes going back to batch-first). So dst is walked
    down its columns (contiguous reads, faster otherwise) unless its rows are such a length
    and src's are not."""
    rows, cols = dst.shape
    zero = src.dtype.type(0)
    with_bias = bias.size > 0
    sf, df = src.ravel(), dst.ravel()
    isz = src.itemsize
    if (cols * isz) % 1024 != 0 or (rows * isz) % 1024 == 0:   # 16 rows of src, 256 long
        tiles_i = (rows + 255) // 256
        for tile in prange(((cols + 15) // 16) * tiles_i):
            j0, i0 = (tile // tiles_i) * 16, (tile % tiles_i) * 256
            i1 = min(rows, i0 + 256)
            for j in range(j0, min(cols, j0 + 16)):
                b = bias[j // plane] if with_bias else zero
                s0 = _u(j * rows)
                for i in range(_u(i0), _u(i1)):
                    df[i * _u(cols) + _u(j)] = sf[s0 + i] + b
    else:                                                      # 16 rows of dst, 256 long
        tiles_j = (cols + 255) // 256
        for tile in prange(((rows + 15) // 16) * tiles_j):
            i0, j0 = (tile // tiles_j) * 16, (tile % tiles_j) * 256
            j1 = min(cols, j0 + 256)
            for i in range(i0, min(rows, i0 + 16)):
                d0 = _u(i * cols)
                j = j0
                while j < j1:  # one run per bias value (a channel's plane)
                    e = min(j1, (j // plane + 1) * plane) if with_bias else j1
                    b = bias[j // plane] if with_bias else zero
                    for jj in range(_u(j), _u(e)):
                        df[d0 + jj] = sf[jj * _u(rows) + _u(i)] + b
                    j = e


# ---------------------------------------------------------------------------------------------
# merged layout: the batch-last layout with width and batch as one dim, for the direct engine
# ---------------------------------------------------------------------------------------------
# In the batch-last layout (C, *S, N) width and batch are adjacent; with a unit stride along the
# width, shifting a window by kw columns shifts it by kw*N elements. The batch's convolution is
# then the convolution of one image whose last dim has W*N elements, with the width's padding
# and dilation multiplied by N (an input index (ow - lo + kw*d)*N + n is inside the row exactly
# when its column is). The direct kernels' rows become W*N long (LeNet: 28*64 = 1792 instead of
# 28), which they run at vector speed.

#: Widest output row for which 1-d/2-d convolutions of a batch of 8 or more use the merged layout
#: in the direct engine (wider rows already run at vector speed as they are).
MERGED_MAX_WIDTH = 32

#: Most (input, output) channel pairs per group for which the direct engine beats im2col + GEMM
#: on the merged layout (LeNet's second layer has 96), for the forward and the weight gradient.
#: The input gradient takes the batch-last GEMM where that pays (output rows of at most
#: BATCH_LAST_MAX_WIDTH). Measured, one core, CPU ms, merged direct / GEMM, float32, batch 64,
#: 5x5, loaded machine: 6 -> 16 on 14x14 forward 1.07-1.27 / 1.18-1.43, weight grad 1.04-1.19 /
#: 1.00-1.09 (a tie), input grad 1.26-1.56 / 0.77-0.89; 6 -> 8: input grad 0.66-1.00 /
#: 0.49-0.59; 6 -> 6: 0.63 / 0.49; LeNet's 3 -> 6 on 32x32: 3.23 / 2.44; 4 -> 8 on 28x28
#: (24-wide outputs, no batch-last): 2.79 / 2.94.
DIRECT_MAX_PAIRS = 128

#: Elements of a row per task of the direct kernels: a long merged row is cut so that a task's
#: accumulators stay in L1 and two threads share the rows evenly.
DIRECT_BLOCK = 2048


def _merged_pays(nd, out_shape, stride_w):
    return (nd <= 2 and out_shape[0] >= 8 and stride_w == 1
            and out_shape[-1] <= MERGED_MAX_WIDTH)


def _merged_shape(shape):
    """(N, C, *S) -> (1, C, 1.., *S[:-1], S[-1]*N) with three spatial dims."""
    nd = len(shape) - 2
    return (1, shape[1]) + (1,) * (3 - nd) + tuple(shape[2:-1]) + (shape[-1] * shape[0],)


def _merged(a, slot):
    """A copy of ``a`` in the merged layout, in scratch memory ``slot``."""
    return _batch_last(a, slot).reshape(_merged_shape(a.shape))


def _merged_geometry(nd, stride, padding, dilation, n):
    s, lo, d = _geometry(nd, stride, padding, dilation)
    return s, lo[:2] + (lo[2] * n,), d[:2] + (d[2] * n,)


def _batch_last_wshape(shape):
    """(O, Cg, *K) -> (O, Cg, 1.., *K, 1): the kernel of the batch-last problem."""
    return shape[:2] + (1,) * (4 - len(shape)) + shape[2:] + (1,)


def _batch_last_weight(w):
    return np.ascontiguousarray(w).reshape(_batch_last_wshape(w.shape))


def _batch_last_geometry(nd, stride, padding, dilation):
    pad = (0,) * (2 - nd)
    one = (1,) * (2 - nd)
    return (one + tuple(stride) + (1,), pad + _lo(padding) + (0,),
            one + tuple(dilation) + (1,))


# ---------------------------------------------------------------------------------------------
# GEMM engine: im2col / col2im + BLAS
# ---------------------------------------------------------------------------------------------
# The column matrix of a chunk is cols[(c, kd, kh, kw), n, r, ow] for the chunk's images n and
# output rows r = (od, oh); viewed as (g, Cg*K, nb*R*OW) it is the right operand of one
# batched-over-groups matmul. A chunk is either whole images (n0..n1, every row) or a block of
# rows r0..r1 of one image. Chunks are small (COLS_CHUNK_BYTES) on purpose: the GEMM then reads
# the columns im2col has just written from the cache instead of from memory, and the peak memory
# stays bounded whatever the batch or image size.

def _chunks(n_images, n_rows, row_bytes):
    """Yield (n0, n1, r0, r1) chunks whose column matrix stays under COLS_CHUNK_BYTES."""
    rows_fit = max(1, COLS_CHUNK_BYTES // max(1, row_bytes))
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


def _chunk_view(rows, groups, n0, n1, r0, r1):
    """A single-image chunk of an (N, O, rows, OW) array as a (g, Og, R*OW) view (no copy: the
    matmul takes its row stride), or several images' rows gathered channels-first (a copy)."""
    n_img, o, n_rows, ow = rows.shape
    if n1 - n0 == 1:
        flat = rows.reshape(n_img, groups, o // groups, n_rows * ow)
        return flat[n0, :, :, r0 * ow:r1 * ow]
    g = _scratch("gout", (o, n1 - n0, r1 - r0, ow), rows.dtype)
    np.copyto(g, rows[n0:n1, :, r0:r1].transpose(1, 0, 2, 3))
    return g.reshape(groups, o // groups, -1)


# Wide rows: with a unit stride along the width, the kernel's width taps need not be copied
# one by one. im2col then copies each input row once, widened by (KW-1)*dw columns of the
# padding, and tap kw is the same column matrix shifted by kw*dw columns: one product per tap,
# accumulated (K = Cg*KD*KH each instead of one K = Cg*KD*KH*KW). The products compute
# (KW-1)*dw columns per row that are cut away, but im2col and col2im move KW times less
# memory (Conv3d(16, 16, 3) on 32^3 volumes: im2col was as slow as its GEMM).

#: Narrowest output row (in multiples of the (KW-1)*dw columns it wastes) for wide rows.
WIDE_MIN_RATIO = 8


def _wide_pays(kw, dw, ow, rows, og):
    """Whether wide rows pay for an output row of ``ow``, im2col rows ``rows`` (cg*KD*KH) and
    ``og`` outputs per group. Each extra shift reads and writes the products' og rows once
    more, which the rows im2col no longer copies must outweigh (measured, one core, the three
    faces: Conv3d(16, 16, 3) on 32^3 138 -> 106 ms, ResNet's 64 -> 64 399 -> 380 ms, but VGG's
    3 -> 64 51 -> 77 ms and a Conv1d 64 -> 64 unchanged)."""
    return ow >= WIDE_MIN_RATIO * (kw - 1) * dw and rows >= 2 * og


def _gemm_layout(kernel, geo, ow, cg, og):
    """(im2col's kernel, its row width, the width taps' column shifts) for an output row of
    ``ow`` and a group of ``cg`` -> ``og`` channels: wide rows where they pay, else every tap
    copied by im2col (shifts (0,))."""
    kd, kh, kw = kernel
    sw, dw = geo[0][2], geo[2][2]
    if sw == 1 and kw > 1 and _wide_pays(kw, dw, ow, cg * kd * kh, og):
        return (kd, kh, 1), ow + (kw - 1) * dw, tuple(k * dw for k in range(kw))
    return tuple(kernel), ow, (0,)


def _weight_slabs(w3, groups, shifts):
    """w3 (O, Cg, KD, KH, KW) as one (g, Og, Cg*K') matrix per shift (K' the taps im2col
    copies), stacked: (len(shifts), g, Og, Cg*K')."""
    o = w3.shape[0]
    if len(shifts) > 1:
        w3 = np.ascontiguousarray(np.moveaxis(w3, 4, 0))
    return w3.reshape(len(shifts), groups, o // groups, -1)


def _widened(g, ow, wp):
    """A (g, Og, rows*ow) output-row matrix as (g, Og, rows*wp), zeros in the extra columns (the
    wide rows' columns that no output has)."""
    wide = _scratch("gout_w", g.shape[:2] + (g.shape[2] // ow, wp), g.dtype)
    wide[..., :ow] = g.reshape(g.shape[:2] + (-1, ow))
    wide[..., ow:] = 0
    return wide.reshape(g.shape[:2] + (-1,))


def _shift_serves(engine, geo, wshape3, out_spatial, groups):
    """Whether the shift engine (ember/_kernels/conv_shift.py) computes a GEMM-engine face:
    where it is asked for (unit strides only), or where its rule picks it (no engine asked)."""
    if engine == "shift":
        if any(s != 1 for s in geo[0]):
            raise ValueError(f"the shift engine needs unit strides, got {geo[0]}")
        return True
    return engine is None and shift_pays(geo[0], wshape3[2:], geo[2], out_spatial, wshape3[1],
                                         wshape3[0] // groups)


def _gemm_forward(x3, w3, out3, groups, geo, engine=None):
    if _shift_serves(engine, geo, w3.shape, out3.shape[2:], groups):
        return shift_forward(x3, w3, out3, groups, geo[1], geo[2])
    n_img, o = out3.shape[:2]
    od, oh, ow = out3.shape[2:]
    kernel, wp, shifts = _gemm_layout(w3.shape[2:], geo, ow, w3.shape[1], o // groups)
    k_numel, chunks = _gemm_plan(x3.shape, kernel, (od, oh, wp), x3.dtype.itemsize)
    slabs = _weight_slabs(w3, groups, shifts)
    out_rows = out3.reshape(n_img, o, -1, ow)
    for n0, n1, r0, r1 in chunks:
        cols = _im2col_chunk(x3, kernel, geo, (od, oh, wp), n0, n1, r0, r1)
        cols = cols.reshape(groups, slabs.shape[3], -1)
        if n1 - n0 == 1 and len(shifts) == 1:     # straight into out
            matmul(slabs[0], cols, out=_chunk_view(out_rows, groups, n0, n1, r0, r1))
            continue
        prod = _scratch("prod", slabs.shape[1:3] + cols.shape[2:], out3.dtype)
        span = cols.shape[2] - shifts[-1]           # the columns every shift has
        for i, shift in enumerate(shifts):
            matmul(slabs[i], cols[:, :, shift:shift + span], out=prod[:, :, :span],
                   accumulate=i > 0)
        # (O, nb, R, wp) -> (nb, O, R, OW): one copy that transposes and cuts the wide rows
        out_rows[n0:n1, :, r0:r1] = prod.reshape(o, n1 - n0, r1 - r0, wp)[..., :ow].transpose(
            1, 0, 2, 3)


def _gemm_weight_grad(x3, gout3, wshape3, groups, geo, engine=None):
    if _shift_serves(engine, geo, wshape3, gout3.shape[2:], groups):
        return shift_weight_grad(x3, gout3, wshape3, groups, geo[1], geo[2])
    n_img, o = gout3.shape[:2]
    od, oh, ow = gout3.shape[2:]
    kernel, wp, shifts = _gemm_layout(wshape3[2:], geo, ow, wshape3[1], o // groups)
    k_numel, chunks = _gemm_plan(x3.shape, kernel, (od, oh, wp), x3.dtype.itemsize)
    # gw^T = cols @ gout^T: BLAS runs this orientation 1.3x-2x faster than gout @ cols^T
    gwt = np.zeros((len(shifts), groups, wshape3[1] * k_numel, o // groups), dtype=x3.dtype)
    gout_rows = gout3.reshape(n_img, o, -1, ow)
    for n0, n1, r0, r1 in chunks:
        cols = _im2col_chunk(x3, kernel, geo, (od, oh, wp), n0, n1, r0, r1)
        cols = cols.reshape(groups, gwt.shape[2], -1)
        g = _chunk_view(gout_rows, groups, n0, n1, r0, r1)
        if len(shifts) > 1:
            g = _widened(g, ow, wp)
        span = cols.shape[2] - shifts[-1]
        for i, shift in enumerate(shifts):
            matmul(cols[:, :, shift:shift + span], g[:, :, :span].transpose(0, 2, 1), gwt[i],
                   accumulate=True)
    # (shifts, g, Cg*K', Og) -> (g, Og, Cg*K', shifts): the weight's order, KW last
    return gwt.transpose(1, 3, 2, 0)


def _gemm_input_grad(gout3, w3, gx3, groups, geo, engine=None):
    if _shift_serves(engine, geo, w3.shape, gout3.shape[2:], groups):
        return shift_input_grad(gout3, w3, gx3, groups, geo[1], geo[2])
    n_img, o = gout3.shape[:2]
    od, oh, ow = gout3.shape[2:]
    kernel, wp, shifts = _gemm_layout(w3.shape[2:], geo, ow, w3.shape[1], o // groups)
    k_numel, chunks = _gemm_plan(gx3.shape, kernel, (od, oh, wp), gx3.dtype.itemsize)
    slabs_t = _weight_slabs(w3, groups, shifts).transpose(0, 1, 3, 2)   # (shifts, g, Cg*K', Og)
    gout_rows = gout3.reshape(n_img, o, -1, ow)
    gx3.fill(0)
    for n0, n1, r0, r1 in chunks:
        g = _chunk_view(gout_rows, groups, n0, n1, r0, r1)
        if len(shifts) > 1:
            g = _widened(g, ow, wp)
        cols = _scratch("cols", slabs_t.shape[1:3] + g.shape[2:], gx3.dtype)
        if not cols.size:
            continue
        # column j + shift gathers tap shift's share of output j (the wide rows' extra columns
        # of g are zeros); the last shift's columns lie past every other's
        span = g.shape[2] - shifts[-1]
        for i, shift in enumerate(shifts):
            matmul(slabs_t[i], g[:, :, :span], out=cols[:, :, shift:shift + span],
                   accumulate=i > 0)
            if i == 0:
                cols[:, :, span:] = 0
        _col2im(cols.reshape(-1, n1 - n0, (r1 - r0) * wp), gx3, n0, r0, *kernel, od, oh, wp,
                *geo)


def _im2col_chunk(x3, kernel, geo, out_spatial, n0, n1, r0, r1, scratch=True):
    c = x3.shape[1]
    kd, kh, kw = kernel
    od, oh, ow = out_spatial
    shape = (c * kd * kh * kw, n1 - n0, (r1 - r0) * ow)
    cols = _scratch("cols", shape, x3.dtype) if scratch else np.empty(shape, dtype=x3.dtype)
    if cols.size:  # an empty output (kernel larger than the input) has no columns to fill
        _im2col(x3, cols, n0, r0, kd, kh, kw, od, oh, ow, *geo)
    return cols


# ---------------------------------------------------------------------------------------------
# compiled loops
# ---------------------------------------------------------------------------------------------
# The kernels index the flat (raveled) arrays with unsigned offsets. Indexing ``a[base + q]``
# with a signed index makes numba emit a negative-index wraparound check per element, and a
# view per row costs reference counting; either keeps short rows (LeNet's 10 to 28 elements)
# far from vector speed (measured: 15x on an axpy loop, 2x on im2col). Each helper moves one
# run of ``count`` elements; a unit-stride run has a loop of its own so that LLVM vectorises it.

_u = np.uint64


@numba.njit(inline="always")
def _valid_range(offset, stride, in_size, out_size):
    """The output positions q in [0, out_size) that read an input index q*stride + offset inside
    [0, in_size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (in_size - 1 - offset) // stride + 1 if in_size - 1 - offset >= 0 else 0
    return lo, max(lo, min(hi, out_size))


@numba.njit(inline="always")
def _fill0(y, y0, count):
    for q in range(count):
        y[y0 + q] = 0


@numba.njit(inline="always")
def _gather(y, y0, x, x0, count, step):
    """y[y0 + q] = x[x0 + q*step]"""
    if step == 1:
        for q in range(count):
            y[y0 + q] = x[x0 + q]
    else:
        for q in range(count):
            y[y0 + q] = x[x0 + q * step]


@numba.njit(inline="always")
def _scatter_add(y, y0, step, x, x0, count):
    """y[y0 + q*step] += x[x0 + q]"""
    if step == 1:
        for q in range(count):
            y[y0 + q] += x[x0 + q]
    else:
        for q in range(count):
            y[y0 + q * step] += x[x0 + q]


@numba.njit(inline="always")
def _axpy_gather(y, y0, a, x, x0, count, step):
    """y[y0 + q] += a * x[x0 + q*step]"""
    if step == 1:
        for q in range(count):
            y[y0 + q] += a * x[x0 + q]
    else:
        for q in range(count):
            y[y0 + q] += a * x[x0 + q * step]


@numba.njit(inline="always")
def _axpy_scatter(y, y0, step, a, x, x0, count):
    """y[y0 + q*step] += a * x[x0 + q]"""
    if step == 1:
        for q in range(count):
            y[y0 + q] += a * x[x0 + q]
    else:
        for q in range(count):
            y[y0 + q * step] += a * x[x0 + q]


@numba.njit(inline="always")
def _dot_gather(g, g0, x, x0, count, step):
    """sum_q g[g0 + q] * x[x0 + q*step]"""
    s = g.dtype.type(0)
    if step == 1:
        for q in range(count):
            s += g[g0 + q] * x[x0 + q]
    else:
        for q in range(count):
            s += g[g0 + q] * x[x0 + q * step]
    return s


@parallel_kernel
def _im2col(x, cols, n0, r0, kd_n, kh_n, kw_n, od_n, oh_n, ow_n, stride, pad, dil):
    """cols[(c, kd, kh, kw), n - n0, (r - r0)*OW + ow] = x[n, c, id, ih, iw] (0 in the padding),
    r = od*OH + oh the flat output row, id = od*sd - pd + kd*dd, ih and iw likewise.
    One task per (column-matrix row, image): a run of R*OW outputs."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_chunk, run = cols.shape[1], cols.shape[2]
    n_rows = run // ow_n
    c_n, d_in, h_in, w_in = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    k_numel = kd_n * kh_n * kw_n
    xf, cf = x.ravel(), cols.ravel()
    for task in prange(cols.shape[0] * n_chunk):
        ck, n = task // n_chunk, task % n_chunk
        c = ck // k_numel
        kd, kh, kw = (ck // (kh_n * kw_n)) % kd_n, (ck // kw_n) % kh_n, ck % kw_n
        off_w = kw * dw - pw
        lo, hi = _valid_range(off_w, sw, w_in, ow_n)
        plane = ((n0 + n) * c_n + c) * d_in
        od, oh = r0 // oh_n, r0 % oh_n          # walk the rows without a division per row
        for r in range(n_rows):
            i_d = od * sd - pd + kd * dd
            i_h = oh * sh - ph + kh * dh
            dst = _u(task * run + r * ow_n)
            if i_d < 0 or i_d >= d_in or i_h < 0 or i_h >= h_in:
                _fill0(cf, dst, _u(ow_n))
            else:
                _fill0(cf, dst, _u(lo))
                _fill0(cf, dst + _u(hi), _u(ow_n - hi))
                src = ((plane + i_d) * h_in + i_h) * w_in + lo * sw + off_w
                _gather(cf, dst + _u(lo), xf, _u(src), _u(hi - lo), _u(sw))
            oh += 1
            if oh == oh_n:
                oh, od = 0, od + 1


@parallel_kernel
def _col2im(cols, gx, n0, r0, kd_n, kh_n, kw_n, od_n, oh_n, ow_n, stride, pad, dil):
    """Adjoint of _im2col: gx[n, c, id, ih, iw] += cols[(c, k), n - n0, (r - r0)*OW + ow].
    One task per (image, channel) plane, so the accumulation needs no atomics."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_chunk, run = cols.shape[1], cols.shape[2]
    n_rows = run // ow_n
    c_n, d_in, h_in, w_in = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    k_numel = kd_n * kh_n * kw_n
    gf, cf = gx.ravel(), cols.ravel()
    for task in prange(n_chunk * c_n):
        n, c = task // c_n, task % c_n
        plane = ((n0 + n) * c_n + c) * d_in
        for k in range(k_numel):
            kd, kh, kw = k // (kh_n * kw_n), (k // kw_n) % kh_n, k % kw_n
            off_w = kw * dw - pw
            lo, hi = _valid_range(off_w, sw, w_in, ow_n)
            if hi <= lo:
                continue
            src = ((c * k_numel + k) * n_chunk + n) * run + lo
            od, oh = r0 // oh_n, r0 % oh_n
            for r in range(n_rows):
                i_d = od * sd - pd + kd * dd
                i_h = oh * sh - ph + kh * dh
                if i_d >= 0 and i_d < d_in and i_h >= 0 and i_h < h_in:
                    dst = ((plane + i_d) * h_in + i_h) * w_in + lo * sw + off_w
                    _scatter_add(gf, _u(dst), _u(sw), cf, _u(src + r * ow_n), _u(hi - lo))
                oh += 1
                if oh == oh_n:
                    oh, od = 0, od + 1


# The direct kernels walk the kernel's taps along the width (kw) in groups of up to five: one
# pass over an output row then adds five shifted input rows (six loads and one store per five
# multiply-adds, against ten loads and five stores tap by tap), which keeps them off the
# load/store ports' limit (measured: LeNet's first layer 1.46 -> see docs/benchmarks.md). The
# forward also computes OUT_BLOCK output channels per pass: the input rows it loads then serve
# four outputs (LeNet's second layer, one core: 1.19 -> 0.46 ms; see docs/benchmarks.md).
# Only unit steps are fused (the strided ones gather); a group's edges, where some of its taps
# fall into the padding, go tap by tap.

#: Taps fused into one pass over a row (LeNet's 5-wide kernels in one pass).
TAPS = 5

#: Output channels of one group the direct forward computes per pass over the input rows.
OUT_BLOCK = 4


@numba.njit(inline="always")
def _clip(lo, hi, q0, q1):
    """[lo, hi) cut to [q0, q1) (an empty range stays empty)."""
    lo = max(lo, q0)
    return lo, max(lo, min(hi, q1))


@numba.njit(inline="always")
def _tap_ranges(kw0, ntaps, dw, pw, sw, w_in, ow_n, q0, q1):
    """The output positions [lo, hi) in [q0, q1) that every tap kw0..kw0+ntaps-1 reads inside
    the input (the group's common part; hi == lo when there is none)."""
    lo, hi = q0, q1
    for t in range(ntaps):
        a, b = _valid_range((kw0 + t) * dw - pw, sw, w_in, ow_n)
        lo, hi = max(lo, a), min(hi, b)
    return lo, max(lo, hi)


@numba.njit(inline="always")
def _axpy_taps(y, y0, wk, kw, x, x0, d, count, ntaps):
    """y[y0 + q] += sum_{t < ntaps} wk[kw + t] * x[x0 + t*d + q] for 2 <= ntaps <= TAPS (unit
    steps; d may be negative: the unsigned offsets wrap, and so does their sum)."""
    x1 = x0 + d
    x2 = x1 + d
    x3 = x2 + d
    x4 = x3 + d
    a0, a1 = wk[kw], wk[kw + 1]
    if ntaps == 5:
        a2, a3, a4 = wk[kw + 2], wk[kw + 3], wk[kw + 4]
        for q in range(count):
            y[y0 + q] += (a0 * x[x0 + q] + a1 * x[x1 + q] + a2 * x[x2 + q] + a3 * x[x3 + q]
                          + a4 * x[x4 + q])
    elif ntaps == 4:
        a2, a3 = wk[kw + 2], wk[kw + 3]
        for q in range(count):
            y[y0 + q] += a0 * x[x0 + q] + a1 * x[x1 + q] + a2 * x[x2 + q] + a3 * x[x3 + q]
    elif ntaps == 3:
        a2 = wk[kw + 2]
        for q in range(count):
            y[y0 + q] += a0 * x[x0 + q] + a1 * x[x1 + q] + a2 * x[x2 + q]
    else:
        for q in range(count):
            y[y0 + q] += a0 * x[x0 + q] + a1 * x[x1 + q]


@numba.njit(inline="always")
def _axpy_taps_block(y, y0, ys, w, o, c, kd, kh, kw, x, x0, d, count, ntaps):
    """``_axpy_taps`` for the OUT_BLOCK = 4 output channels o..o+3 at once, ntaps 5 or 3 (5x5
    and 3x3 kernels; other groups go channel by channel: each width costs seconds of compile
    time): row j at y[y0 + j*ys], weights w[o + j, c, kd, kh, kw + t]. One load of each input
    element serves the four (9 loads and 4 stores per 20 multiply-adds with five taps)."""
    x1 = x0 + d
    x2 = x1 + d
    x3 = x2 + d
    x4 = x3 + d
    y1 = y0 + ys
    y2 = y1 + ys
    y3 = y2 + ys
    w0, w1, w2, w3 = w[o, c, kd, kh], w[o + 1, c, kd, kh], w[o + 2, c, kd, kh], w[o + 3, c, kd, kh]
    a0, a1, b0, b1 = w0[kw], w0[kw + 1], w1[kw], w1[kw + 1]
    c0, c1, e0, e1 = w2[kw], w2[kw + 1], w3[kw], w3[kw + 1]
    if ntaps == 5:
        a2, a3, a4 = w0[kw + 2], w0[kw + 3], w0[kw + 4]
        b2, b3, b4 = w1[kw + 2], w1[kw + 3], w1[kw + 4]
        c2, c3, c4 = w2[kw + 2], w2[kw + 3], w2[kw + 4]
        e2, e3, e4 = w3[kw + 2], w3[kw + 3], w3[kw + 4]
        for q in range(count):
            v0, v1, v2, v3, v4 = x[x0 + q], x[x1 + q], x[x2 + q], x[x3 + q], x[x4 + q]
            y[y0 + q] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3 + a4 * v4
            y[y1 + q] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3 + b4 * v4
            y[y2 + q] += c0 * v0 + c1 * v1 + c2 * v2 + c3 * v3 + c4 * v4
            y[y3 + q] += e0 * v0 + e1 * v1 + e2 * v2 + e3 * v3 + e4 * v4
    else:
        a2, b2, c2, e2 = w0[kw + 2], w1[kw + 2], w2[kw + 2], w3[kw + 2]
        for q in range(count):
            v0, v1, v2 = x[x0 + q], x[x1 + q], x[x2 + q]
            y[y0 + q] += a0 * v0 + a1 * v1 + a2 * v2
            y[y1 + q] += b0 * v0 + b1 * v1 + b2 * v2
            y[y2 + q] += c0 * v0 + c1 * v1 + c2 * v2
            y[y3 + q] += e0 * v0 + e1 * v1 + e2 * v2


@numba.njit(inline="always")
def _dot_taps_into(acc, kw, g, g0, x, x0, d, count, ntaps):
    """acc[kw + t] += sum_q g[g0 + q] * x[x0 + t*d + q] for t < ntaps, 2 <= ntaps <= TAPS (unit
    steps; one load of g serves every tap)."""
    z = g.dtype.type(0)
    s0, s1, s2, s3, s4 = z, z, z, z, z
    x1 = x0 + d
    x2 = x1 + d
    x3 = x2 + d
    x4 = x3 + d
    if ntaps == 5:
        for q in range(count):
            v = g[g0 + q]
            s0 += v * x[x0 + q]
            s1 += v * x[x1 + q]
            s2 += v * x[x2 + q]
            s3 += v * x[x3 + q]
            s4 += v * x[x4 + q]
    elif ntaps == 4:
        for q in range(count):
            v = g[g0 + q]
            s0 += v * x[x0 + q]
            s1 += v * x[x1 + q]
            s2 += v * x[x2 + q]
            s3 += v * x[x3 + q]
    elif ntaps == 3:
        for q in range(count):
            v = g[g0 + q]
            s0 += v * x[x0 + q]
            s1 += v * x[x1 + q]
            s2 += v * x[x2 + q]
    else:
        for q in range(count):
            v = g[g0 + q]
            s0 += v * x[x0 + q]
            s1 += v * x[x1 + q]
    _add_taps(acc, kw, ntaps, s0, s1, s2, s3, s4)


@numba.njit(inline="always")
def _add_taps(ak, kw, ntaps, s0, s1, s2, s3, s4):
    """ak[kw + t] += s_t for t < ntaps (2 <= ntaps <= TAPS)."""
    ak[kw] += s0
    ak[kw + 1] += s1
    if ntaps > 2:
        ak[kw + 2] += s2
    if ntaps > 3:
        ak[kw + 3] += s3
    if ntaps > 4:
        ak[kw + 4] += s4


@numba.njit(inline="always")
def _group_size(kw, kw_n, sw):
    """How many taps from kw on go in one fused pass (1: tap by tap)."""
    return min(TAPS, kw_n - kw) if sw == 1 else 1


@parallel_kernel
def _direct_forward(x, w, out, groups, stride, pad, dil, block):
    """One task per block of ``block`` outputs of the rows out[n, o:o+OUT_BLOCK, od, oh, :] (the
    block's channels of one group): ``_direct_forward_task``. (The tasks' loop is all the
    parallel compilation sees: with the body inside, numba's parallel passes took as long
    again as the body's own compilation.)"""
    n_img, o_n, od_n, oh_n, ow_n = out.shape
    ob_n = (o_n // groups + OUT_BLOCK - 1) // OUT_BLOCK
    for task in prange(n_img * groups * ob_n * od_n * oh_n * ((ow_n + block - 1) // block)):
        _direct_forward_task(x, w, out, groups, stride, pad, dil, block, task)


@numba.njit(fastmath={"contract"}, cache=True)
def _direct_forward_task(x, w, out, groups, stride, pad, dil, block, task):
    """Task ``task`` of ``_direct_forward``: for every input channel of the group and every
    kernel offset, add w * (the matching input row) to each of the block's rows. (fastmath
    contract: the multiply-adds become FMAs, as torch's kernels compute them.)"""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, o_n, od_n, oh_n, ow_n = out.shape
    cg_n, kd_n, kh_n, kw_n = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    c_n, d_in, h_in, w_in = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    og_n = o_n // groups
    ob_n = (og_n + OUT_BLOCK - 1) // OUT_BLOCK   # channel blocks per group, the last may be short
    n_blocks = (ow_n + block - 1) // block
    plane = _u(od_n * oh_n * ow_n)               # from one output channel's row to the next's
    xf, of = x.ravel(), out.ravel()
    b, r = task % n_blocks, task // n_blocks
    oh, od = r % oh_n, (r // oh_n) % od_n
    r //= oh_n * od_n
    ob, g, n = r % ob_n, (r // ob_n) % groups, r // (ob_n * groups)
    o0 = g * og_n + ob * OUT_BLOCK
    o_cnt = min(OUT_BLOCK, (g + 1) * og_n - o0)
    c0 = g * cg_n
    q0, q1 = b * block, min(ow_n, (b + 1) * block)
    row = _u((((n * o_n + o0) * od_n + od) * oh_n + oh) * ow_n)
    for j in range(o_cnt):
        _fill0(of, row + _u(j) * plane + _u(q0), _u(q1 - q0))
    for kd in range(kd_n):
        i_d = od * sd - pd + kd * dd
        if i_d < 0 or i_d >= d_in:
            continue
        for kh in range(kh_n):
            i_h = oh * sh - ph + kh * dh
            if i_h < 0 or i_h >= h_in:
                continue
            for c in range(cg_n):
                src = (((n * c_n + c0 + c) * d_in + i_d) * h_in + i_h) * w_in
                kw = 0
                while kw < kw_n:
                    nt = _group_size(kw, kw_n, sw)
                    lo, hi = q0, q0     # the group's common range: all taps in one pass
                    if nt > 1:
                        lo, hi = _tap_ranges(kw, nt, dw, pw, sw, w_in, ow_n, q0, q1)
                        x0 = _u(src + lo + kw * dw - pw)
                        if o_cnt == OUT_BLOCK and (nt == 5 or nt == 3):
                            _axpy_taps_block(of, row + _u(lo), plane, w, o0, c, kd, kh, kw,
                                             xf, x0, _u(dw), _u(hi - lo), nt)
                        else:
                            for j in range(o_cnt):
                                _axpy_taps(of, row + _u(j) * plane + _u(lo),
                                           w[o0 + j, c, kd, kh], kw, xf, x0, _u(dw),
                                           _u(hi - lo), nt)
                    for k in range(kw, kw + nt):   # the rest, tap by tap
                        off_w = k * dw - pw
                        a, e = _valid_range(off_w, sw, w_in, ow_n)
                        a, e = _clip(a, e, q0, q1)
                        for s, t in ((a, min(e, lo)), (max(a, hi), e)):
                            if t > s:
                                for j in range(o_cnt):
                                    _axpy_gather(of, row + _u(j) * plane + _u(s),
                                                 w[o0 + j, c, kd, kh, k], xf,
                                                 _u(src + s * sw + off_w), _u(t - s), _u(sw))
                    kw += nt


@parallel_kernel
def _direct_input_grad(gout, w, gx, groups, stride, pad, dil, block):
    """One task per block of ``block`` elements of an input row gx[n, c, id, ih, :]: gather the
    output rows that row feeds (od*sd - pd + kd*dd == id) and add w * gout along the width."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, c_n, d_in, h_in, w_in = gx.shape
    o_n, od_n, oh_n, ow_n = gout.shape[1], gout.shape[2], gout.shape[3], gout.shape[4]
    cg_n, kd_n, kh_n, kw_n = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    og_n = o_n // groups
    n_blocks = (w_in + block - 1) // block
    gf, gof = gx.ravel(), gout.ravel()
    for task in prange(n_img * c_n * d_in * h_in * n_blocks):
        row_task, b = task // n_blocks, task % n_blocks
        i_h, i_d = row_task % h_in, (row_task // h_in) % d_in
        c, n = (row_task // (h_in * d_in)) % c_n, row_task // (h_in * d_in * c_n)
        cl = c % cg_n
        o0 = (c // cg_n) * og_n
        p0, p1 = b * block, min(w_in, (b + 1) * block)
        row = row_task * w_in
        _fill0(gf, _u(row + p0), _u(p1 - p0))
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
                for o in range(o0, o0 + og_n):
                    src = (((n * o_n + o) * od_n + od) * oh_n + oh) * ow_n
                    kw = 0
                    while kw < kw_n:
                        nt = _group_size(kw, kw_n, sw)
                        # unit stride: input position p reads output q = p - off_w, so the
                        # common range of the taps is taken over p
                        lo, hi = p0, p0
                        if nt > 1:
                            lo, hi = p0, p1
                            for k in range(kw, kw + nt):
                                off_w = k * dw - pw
                                a, e = _valid_range(off_w, 1, w_in, ow_n)
                                lo, hi = max(lo, a + off_w), min(hi, e + off_w)
                            hi = max(lo, hi)
                            _axpy_taps(gf, _u(row + lo), w[o, cl, kd, kh], kw, gof,
                                       _u(src + lo + pw - kw * dw), _u(-dw), _u(hi - lo), nt)
                        for k in range(kw, kw + nt):   # the rest, tap by tap
                            off_w = k * dw - pw
                            a, e = _valid_range(off_w, sw, w_in, ow_n)
                            # outputs q in [a, e) feed positions q*sw + off_w; keep those in
                            # [p0, p1) outside the fused [lo, hi)
                            for s, t in ((p0, min(p1, lo)), (max(p0, hi), p1)):
                                qa = max(a, (s - off_w + sw - 1) // sw)
                                qe = min(e, (t - off_w + sw - 1) // sw)
                                if t > s and qe > qa:
                                    _axpy_scatter(gf, _u(row + qa * sw + off_w), _u(sw),
                                                  w[o, cl, kd, kh, k], gof, _u(src + qa),
                                                  _u(qe - qa))
                        kw += nt


def _direct_weight_grad(x3, gout3, wshape3, groups, geo):
    """Partial sums per (image, block of OUT_BLOCK output channels, block of output rows) in
    parallel, then one NumPy reduction over images and blocks (deterministic, no atomics)."""
    n_img, o_n = gout3.shape[:2]
    rows = gout3.shape[2] * gout3.shape[3]
    tasks = n_img * groups * -(-(o_n // groups) // OUT_BLOCK)
    blocks = max(1, min(rows, -(-4 * numba.get_num_threads() // tasks)))
    partial = np.zeros((n_img, o_n, blocks) + tuple(wshape3[1:]), dtype=x3.dtype)
    _direct_weight_grad_partial(x3, gout3, partial, groups, *geo,
                                work=_direct_work(gout3.shape, wshape3))
    return partial.sum(axis=(0, 2))


@numba.njit(inline="always")
def _dot_taps_block_into(acc, o, c, kd, kh, kw, g, g0, gs, x, x0, d, count):
    """acc[o + j, c, kd, kh, kw + t] += sum_q g[g0 + j*gs + q] * x[x0 + t*d + q] for the
    OUT_BLOCK = 4 rows j of g and TAPS = 5 taps t: each loaded element serves four or five
    products (9 loads per 20 multiply-adds, against 6 per 5 row by row)."""
    z = g.dtype.type(0)
    s00 = s01 = s02 = s03 = s04 = s10 = s11 = s12 = s13 = s14 = z
    s20 = s21 = s22 = s23 = s24 = s30 = s31 = s32 = s33 = s34 = z
    g1 = g0 + gs
    g2 = g1 + gs
    g3 = g2 + gs
    x1 = x0 + d
    x2 = x1 + d
    x3 = x2 + d
    x4 = x3 + d
    for q in range(count):
        v0, v1, v2, v3, v4 = x[x0 + q], x[x1 + q], x[x2 + q], x[x3 + q], x[x4 + q]
        u = g[g0 + q]
        s00, s01, s02, s03, s04 = (s00 + u * v0, s01 + u * v1, s02 + u * v2,
                                   s03 + u * v3, s04 + u * v4)
        u = g[g1 + q]
        s10, s11, s12, s13, s14 = (s10 + u * v0, s11 + u * v1, s12 + u * v2,
                                   s13 + u * v3, s14 + u * v4)
        u = g[g2 + q]
        s20, s21, s22, s23, s24 = (s20 + u * v0, s21 + u * v1, s22 + u * v2,
                                   s23 + u * v3, s24 + u * v4)
        u = g[g3 + q]
        s30, s31, s32, s33, s34 = (s30 + u * v0, s31 + u * v1, s32 + u * v2,
                                   s33 + u * v3, s34 + u * v4)
    _add_taps(acc[o, c, kd, kh], kw, TAPS, s00, s01, s02, s03, s04)
    _add_taps(acc[o + 1, c, kd, kh], kw, TAPS, s10, s11, s12, s13, s14)
    _add_taps(acc[o + 2, c, kd, kh], kw, TAPS, s20, s21, s22, s23, s24)
    _add_taps(acc[o + 3, c, kd, kh], kw, TAPS, s30, s31, s32, s33, s34)


@parallel_kernel
def _direct_weight_grad_partial(x, gout, partial, groups, stride, pad, dil):
    """partial[n, o, b, c, k] = sum over the rows r of block b of <gout row r, matching x row>,
    one task per (image, block of OUT_BLOCK channels of a group, block of rows):
    ``_direct_weight_grad_task`` (the parallel and serial twins share it, as the forward's)."""
    n_img, o_n = gout.shape[:2]
    for task in prange(n_img * groups * ((o_n // groups + OUT_BLOCK - 1) // OUT_BLOCK)
                       * partial.shape[2]):
        _direct_weight_grad_task(x, gout, partial, groups, stride, pad, dil, task)


@numba.njit(fastmath={"reassoc", "contract"}, cache=True)
def _direct_weight_grad_task(x, gout, partial, groups, stride, pad, dil, task):
    """Task ``task`` of ``_direct_weight_grad_partial``. fastmath reassoc lets LLVM vectorise
    the dot products (it may reorder a float sum)."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, o_n, od_n, oh_n, ow_n = gout.shape
    blocks = partial.shape[2]
    cg_n, kd_n, kh_n, kw_n = partial.shape[3], partial.shape[4], partial.shape[5], partial.shape[6]
    c_n, d_in, h_in, w_in = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    og_n = o_n // groups
    ob_n = (og_n + OUT_BLOCK - 1) // OUT_BLOCK
    n_rows = od_n * oh_n
    plane = _u(n_rows * ow_n)
    xf, gof = x.ravel(), gout.ravel()
    b, r = task % blocks, task // blocks
    ob, g, n = r % ob_n, (r // ob_n) % groups, r // (ob_n * groups)
    o0 = g * og_n + ob * OUT_BLOCK
    o_cnt = min(OUT_BLOCK, (g + 1) * og_n - o0)
    c0 = g * cg_n
    acc = partial[n, :, b]
    for r in range(b * n_rows // blocks, (b + 1) * n_rows // blocks):
        od, oh = r // oh_n, r % oh_n
        grow = _u(((n * o_n + o0) * n_rows + r) * ow_n)
        for kd in range(kd_n):
            i_d = od * sd - pd + kd * dd
            if i_d < 0 or i_d >= d_in:
                continue
            for kh in range(kh_n):
                i_h = oh * sh - ph + kh * dh
                if i_h < 0 or i_h >= h_in:
                    continue
                for c in range(cg_n):
                    src = (((n * c_n + c0 + c) * d_in + i_d) * h_in + i_h) * w_in
                    kw = 0
                    while kw < kw_n:
                        nt = _group_size(kw, kw_n, sw)
                        lo, hi = 0, 0
                        if nt > 1:
                            lo, hi = _tap_ranges(kw, nt, dw, pw, sw, w_in, ow_n, 0, ow_n)
                            x0 = _u(src + lo + kw * dw - pw)
                            if o_cnt == OUT_BLOCK and nt == TAPS:
                                _dot_taps_block_into(acc, o0, c, kd, kh, kw, gof,
                                                     grow + _u(lo), plane, xf, x0, _u(dw),
                                                     _u(hi - lo))
                            else:
                                for j in range(o_cnt):
                                    _dot_taps_into(acc[o0 + j, c, kd, kh], kw, gof,
                                                   grow + _u(j) * plane + _u(lo), xf, x0,
                                                   _u(dw), _u(hi - lo), nt)
                        for k in range(kw, kw + nt):   # the rest, tap by tap
                            off_w = k * dw - pw
                            a, e = _valid_range(off_w, sw, w_in, ow_n)
                            for s, t in ((a, min(e, lo)), (max(a, hi), e)):
                                if t > s:
                                    for j in range(o_cnt):
                                        acc[o0 + j, c, kd, kh, k] += _dot_gather(
                                            gof, grow + _u(j) * plane + _u(s), xf,
                                            _u(src + s * sw + off_w), _u(t - s), _u(sw))
                        kw += nt


# ---------------------------------------------------------------------------------------------
# depthwise engine: one input and one output channel per group
# ---------------------------------------------------------------------------------------------
# Each output plane reads one input plane (groups == channels, MobileNet's 3x3 layers). The
# direct engine's row loop spends most of its time there on the edges of the kernel's taps
# (most of a 56-wide row's nine taps need a range cut); these kernels instead copy the plane
# once into a buffer padded with zeros along the width, so that every tap runs over the whole
# output row, the taps fused as in the direct engine. The input gradient of a unit-stride
# depthwise convolution is the forward correlation of the output gradient with the flipped
# kernel (padding (K-1)*d - lo, which may be negative: a crop), so the forward kernel serves
# both; other strides keep the direct engine's gather.

def _depthwise_forward_face(x3, w3, out3, bias, stride, padding, dilation):
    _depthwise_forward(x3, w3, bias, out3, stride, padding, dilation,
                       work=_direct_work(out3.shape, w3.shape))


def _depthwise_input_grad(gout3, w3, gx3, bias, stride, padding, dilation):
    """gx = gout correlated with the flipped kernel (all strides 1)."""
    k = w3.shape[2:]
    flipped = np.ascontiguousarray(w3[:, :, ::-1, ::-1, ::-1])
    pad = tuple(d * (kk - 1) - lo for kk, d, lo in zip(k, dilation, padding))
    _depthwise_forward(gout3, flipped, bias, gx3, stride, pad, dilation,
                       work=_direct_work(gx3.shape, w3.shape))


@numba.njit(inline="always")
def _padded_plane(xf, start, rows, w_in, wp, left):
    """The ``rows`` rows of w_in elements at xf[start:], each copied to [left, left + w_in) of a
    row of wp elements with zeros around (cut at wp when the right part is never read)."""
    xp = np.empty(rows * wp, dtype=xf.dtype)
    zeros = min(left, wp)            # a row may lie wholly in the padding (stride > width)
    count = max(0, min(w_in, wp - left))
    for r in range(rows):
        dst = _u(r * wp)
        _fill0(xp, dst, _u(zeros))
        _gather(xp, dst + _u(zeros), xf, _u(start + r * w_in), _u(count), _u(1))
        _fill0(xp, dst + _u(zeros + count), _u(wp - zeros - count))
    return xp


@numba.njit(inline="always")
def _padded_width(ow_n, sw, pw, kw_n, dw):
    """(row length, left zeros) of a padded plane: every q*sw - pw + k*dw + left is inside."""
    left = max(0, pw)
    return (ow_n - 1) * sw - pw + (kw_n - 1) * dw + left + 1, left


@numba.njit(inline="always")
def _axpy_3x3(y, y0, wk, x, x0, row_step, d, count):
    """y[y0 + q] += sum_{i, j < 3} wk[i, j] * x[x0 + i*row_step + j*d + q] (unit steps)."""
    a0, a1, a2 = wk[0, 0], wk[0, 1], wk[0, 2]
    b0, b1, b2 = wk[1, 0], wk[1, 1], wk[1, 2]
    c0, c1, c2 = wk[2, 0], wk[2, 1], wk[2, 2]
    x1 = x0 + row_step
    x2 = x1 + row_step
    e = d + d
    for q in range(count):
        y[y0 + q] += (a0 * x[x0 + q] + a1 * x[x0 + d + q] + a2 * x[x0 + e + q]
                      + b0 * x[x1 + q] + b1 * x[x1 + d + q] + b2 * x[x1 + e + q]
                      + c0 * x[x2 + q] + c1 * x[x2 + d + q] + c2 * x[x2 + e + q])


@parallel_kernel
def _depthwise_forward(x, w, bias, out, stride, pad, dil):
    """out[n, c, q] = bias[c] + sum_k w[c, 0, k] * x[n, c, q*stride - pad + k*dil], one task per
    (image, channel) plane; ``pad`` may be negative, ``bias`` empty for none."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, c_n, od_n, oh_n, ow_n = out.shape
    kd_n, kh_n, kw_n = w.shape[2], w.shape[3], w.shape[4]
    d_in, h_in, w_in = x.shape[2], x.shape[3], x.shape[4]
    wp, left = _padded_width(ow_n, sw, pw, kw_n, dw)
    with_bias = bias.size > 0
    xf, of = x.ravel(), out.ravel()
    for task in prange(n_img * c_n):
        c = task % c_n
        xp = _padded_plane(xf, task * d_in * h_in * w_in, d_in * h_in, w_in, wp, left)
        b = bias[c] if with_bias else of.dtype.type(0)
        for r in range(od_n * oh_n):
            od, oh = r // oh_n, r % oh_n
            row = _u((task * od_n * oh_n + r) * ow_n)
            for q in range(_u(ow_n)):
                of[row + q] = b
            for kd in range(kd_n):
                i_d = od * sd - pd + kd * dd
                if i_d < 0 or i_d >= d_in:
                    continue
                i_h0 = oh * sh - ph
                if kh_n == 3 and kw_n == 3 and sw == 1 and i_h0 >= 0 and i_h0 + 2 * dh < h_in:
                    # a whole 3x3 window: nine taps in one pass over the row
                    _axpy_3x3(of, row, w[c, 0, kd], xp, _u((i_d * h_in + i_h0) * wp + left - pw),
                              _u(dh * wp), _u(dw), _u(ow_n))
                    continue
                for kh in range(kh_n):
                    i_h = i_h0 + kh * dh
                    if i_h < 0 or i_h >= h_in:
                        continue
                    src = (i_d * h_in + i_h) * wp + left - pw
                    wk = w[c, 0, kd, kh]
                    kw = 0
                    while kw < kw_n:
                        nt = _group_size(kw, kw_n, sw)
                        if nt > 1:
                            _axpy_taps(of, row, wk, kw, xp, _u(src + kw * dw), _u(dw), _u(ow_n),
                                       nt)
                        else:
                            _axpy_gather(of, row, wk[kw], xp, _u(src + kw * dw), _u(ow_n),
                                         _u(sw))
                        kw += nt


def _depthwise_weight_grad(x3, gout3, wshape3, geo):
    """Partial sums per (image, channel) in parallel, then one NumPy sum over the images."""
    partial = np.zeros((gout3.shape[0],) + tuple(wshape3), dtype=x3.dtype)
    _depthwise_weight_grad_partial(x3, gout3, partial, *geo,
                                   work=_direct_work(gout3.shape, wshape3))
    return partial.sum(axis=0)


@parallel_kernel(fastmath={"reassoc", "contract"})
def _depthwise_weight_grad_partial(x, gout, partial, stride, pad, dil):
    """partial[n, c, 0, k] = sum_q gout[n, c, q] * x[n, c, q*stride - pad + k*dil]; fastmath
    reassoc lets LLVM vectorise the dot products (it may reorder a float sum)."""
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dil
    n_img, c_n, od_n, oh_n, ow_n = gout.shape
    kd_n, kh_n, kw_n = partial.shape[3], partial.shape[4], partial.shape[5]
    d_in, h_in, w_in = x.shape[2], x.shape[3], x.shape[4]
    wp, left = _padded_width(ow_n, sw, pw, kw_n, dw)
    xf, gof = x.ravel(), gout.ravel()
    for task in prange(n_img * c_n):
        n, c = task // c_n, task % c_n
        xp = _padded_plane(xf, task * d_in * h_in * w_in, d_in * h_in, w_in, wp, left)
        acc = partial[n, c, 0]
        for r in range(od_n * oh_n):
            od, oh = r // oh_n, r % oh_n
            grow = _u((task * od_n * oh_n + r) * ow_n)
            for kd in range(kd_n):
                i_d = od * sd - pd + kd * dd
                if i_d < 0 or i_d >= d_in:
                    continue
                for kh in range(kh_n):
                    i_h = oh * sh - ph + kh * dh
                    if i_h < 0 or i_h >= h_in:
                        continue
                    src = (i_d * h_in + i_h) * wp + left - pw
                    ak = acc[kd, kh]
                    kw = 0
                    while kw < kw_n:
                        nt = _group_size(kw, kw_n, sw)
                        if nt > 1:
                            _dot_taps_into(ak, kw, gof, grow, xp, _u(src + kw * dw), _u(dw),
                                           _u(ow_n), nt)
                        else:
                            ak[kw] += _dot_gather(gof, grow, xp, _u(src + kw * dw), _u(ow_n),
                                                  _u(sw))
                        kw += nt


# ---------------------------------------------------------------------------------------------
# im2col / col2im as public operations (F.unfold / F.fold)
# ---------------------------------------------------------------------------------------------

def unfold(x, kernel, stride, padding, dilation):
    """im2col: (N, C, *S) -> (N, C*prod(K), L), column l holding the window of output position l
    (channel-major, then kernel offsets in row-major order, as torch's F.unfold)."""
    nd = x.ndim - 2
    out_spatial = conv_output_shape(x.shape[2:], kernel, stride, padding, dilation)
    x3 = _to_3d(np.ascontiguousarray(x), nd)
    kernel3 = (1,) * (3 - nd) + tuple(kernel)
    out3 = (1,) * (3 - nd) + tuple(out_spatial)
    n = x.shape[0]
    cols = _im2col_chunk(x3, kernel3, _geometry(nd, stride, padding, dilation), out3,
                         0, n, 0, out3[0] * out3[1], scratch=False)
    return np.ascontiguousarray(cols.transpose(1, 0, 2))


def fold(cols, output_spatial, kernel, stride, padding, dilation):
    """col2im, the adjoint of ``unfold``: (N, C*prod(K), L) -> (N, C, *output_spatial), each
    column added back at its window (overlaps sum)."""
    nd = len(output_spatial)
    n, ck, _ = cols.shape
    k_numel = int(np.prod(kernel))
    out_spatial = conv_output_shape(output_spatial, kernel, stride, padding, dilation)
    out3 = (1,) * (3 - nd) + tuple(out_spatial)
    kernel3 = (1,) * (3 - nd) + tuple(kernel)
    gx = np.zeros((n, ck // k_numel) + tuple(output_spatial), dtype=cols.dtype)
    if gx.size and cols.size:
        cols_t = np.ascontiguousarray(cols.transpose(1, 0, 2))
        _col2im(cols_t, _to_3d(gx, nd), 0, 0, *kernel3, *out3,
                *_geometry(nd, stride, padding, dilation))
    return gx
