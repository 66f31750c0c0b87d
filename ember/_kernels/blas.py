"""Matrix products on ember's own thread pool: NumPy's OpenBLAS, called single-threaded from
inside numba's parallel loops.

Why: a NumPy matmul big enough runs on OpenBLAS's thread pool, whose threads spin after each
call, while ember's other kernels run on numba's pool; on 2 cores the two pools fight (measured,
LeNet-5 step on a loaded machine: 58 ms of CPU with OpenBLAS threaded against 16 ms with it on
one thread; figures in docs/benchmarks.md, "One thread pool"). So ember cuts a product into
tiles and runs the tiles in a numba ``prange``, each tile one OpenBLAS call small enough that
OpenBLAS runs it on the calling thread: its gemm interface goes single-threaded at
``M*N*K <= 65536 * GEMM_MULTITHREAD_THRESHOLD`` (4 by default: interface/gemm.c), a rule that
needs no global setting - the user's ``openblas_set_num_threads`` and their own matmuls are
never touched.

The library is NumPy's own (``numpy.libs/libscipy_openblas64_*``, ILP64: 64-bit integers), found
by path and called through its address, which a compiled kernel takes as an argument (so the
kernels stay cacheable on disk). Where NumPy brings another BLAS (MKL, Accelerate, a 32-bit
integer OpenBLAS) ``AVAILABLE`` is False and ``matmul`` is ``np.matmul``.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from ._jit import parallel_kernel

__all__ = ["AVAILABLE", "TILE_MACS", "matmul"]

#: Multiply-adds per OpenBLAS call: at most 65536 * 4, where OpenBLAS's gemm runs on the calling
#: thread whatever its thread count. (Measured on one core: a (64, 576) @ (576, 3136) product cut
#: into calls of this size runs within 10% of the single call.)
TILE_MACS = 1 << 18

_CBLAS_ROW_MAJOR, _CBLAS_NO_TRANS, _CBLAS_TRANS = 101, 111, 112


def _find_gemm():
    """(sgemm address, dgemm address, core name) of NumPy's ILP64 OpenBLAS, or None."""
    import numpy
    root = os.path.dirname(os.path.dirname(numpy.__file__))
    folders = [os.path.join(root, "numpy.libs"), os.path.join(os.path.dirname(numpy.__file__),
                                                             ".dylibs")]
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*openblas64*"))):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("scipy_", ""):
                try:
                    s, d = getattr(lib, prefix + "cblas_sgemm64_"), getattr(lib, prefix + "cblas_dgemm64_")
                except AttributeError:
                    continue
                return (ctypes.cast(s, ctypes.c_void_p).value,
                        ctypes.cast(d, ctypes.c_void_p).value, _core_name(lib, prefix))
    return None


def _core_name(lib, prefix):
    """The kernels OpenBLAS chose for this CPU ("SkylakeX", "Haswell", ...), or ""."""
    try:
        fn = getattr(lib, prefix + "openblas_get_corename64_")
    except AttributeError:
        return ""
    fn.restype = ctypes.c_char_p
    return (fn() or b"").decode("ascii", "replace")


_GEMM = _find_gemm()

#: Whether ember runs its products on its own pool (else they are plain ``np.matmul``).
AVAILABLE = _GEMM is not None

#: Whether OpenBLAS has its small-matrix kernels here (SMALL_MATRIX_OPT: the SkylakeX kernels,
#: which Cooperlake and SapphireRapids reuse). For a row-major ``a @ b.T`` (column-major "TN":
#: dot products along K) it takes them only for c blocks of at most 1200 elements and K >= 32
#: (kernel/x86_64/sgemm_small_kernel_permit_skylakex.c); 64 x 64 tiles in K-steps miss them
#: and ran 1.4-1.6x slower than 32 x 16 tiles over the whole K (docs/benchmarks.md).
_DOT_KERNEL = AVAILABLE and _GEMM[2] in ("SkylakeX", "Cooperlake", "SapphireRapids")

#: c tile of the dot kernel's products: well under its 1200 elements (measured, one core:
#: 16 x 16 up to 32 x 32 within 5% of each other on Linear(400, 120); 32 x 16 best on larger K)
_DOT_AREA = 512

#: ... and only from this K on: below it the small kernel's short dot products lose to the
#: packed path (one core, (500, 500) @ (K, 500)^T: 1.35x slower at K = 33, even at 48, 0.73-0.92
#: of it at K = 48-128 on other sizes; the kernel never takes K < 32)
_DOT_MIN_K = 48


@intrinsic
def _cblas_gemm(typingctx, addr, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Call ``cblas_?gemm`` (ILP64) at address ``addr``; a, b, c are data addresses, the
    float type is alpha's (float32: sgemm's signature, float64: dgemm's)."""
    sig = types.void(addr, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        addr_, ta, tb, m_, n_, k_, alpha_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        fl = context.get_value_type(signature.args[6])
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, fl, fl.as_pointer(),
                                               i64, fl.as_pointer(), i64, fl, fl.as_pointer(),
                                               i64])
        fn = builder.inttoptr(addr_, fnty.as_pointer())

        def int_(v, t):
            return builder.trunc(v, t) if v.type.width > t.width else builder.sext(v, t) \
                if v.type.width < t.width else v

        def ptr(v):
            return builder.inttoptr(v, fl.as_pointer())
        builder.call(fn, [ir.Constant(i32, _CBLAS_ROW_MAJOR), int_(ta, i32), int_(tb, i32),
                          int_(m_, i64), int_(n_, i64), int_(k_, i64), alpha_, ptr(a_),
                          int_(lda_, i64), ptr(b_), int_(ldb_, i64), beta_, ptr(c_),
                          int_(ldc_, i64)])
        return context.get_dummy_value()
    return sig, codegen


@parallel_kernel
def _tiled_gemm(addr, a, b, c, lds, trans_a, trans_b, tm, tn, tk, accumulate):
    """c[g] (+)= op(a[g]) @ op(b[g]) for every g, one task per (g, tm x tn tile of c), each
    running its K in steps of tk, one single-threaded OpenBLAS call per step.

    a, b, c: 3-d arrays whose last dim has unit stride (op(a) = a[g].T when trans_a), lds their
    leading dimensions (row strides in elements)."""
    g_n, m, n = c.shape
    k = a.shape[1] if trans_a else a.shape[2]
    isz = c.itemsize
    tiles_m, tiles_n = (m + tm - 1) // tm, (n + tn - 1) // tn
    one = c.dtype.type(1)
    # the data addresses as signed integers: uint64 + int64 would make a float64 in numba
    a0, b0, c0 = np.int64(a.ctypes.data), np.int64(b.ctypes.data), np.int64(c.ctypes.data)
    ta = _CBLAS_TRANS if trans_a else _CBLAS_NO_TRANS
    tb = _CBLAS_TRANS if trans_b else _CBLAS_NO_TRANS
    lda, ldb, ldc = lds
    for task in prange(g_n * tiles_m * tiles_n):
        g = task // (tiles_m * tiles_n)
        i0, j0 = ((task // tiles_n) % tiles_m) * tm, (task % tiles_n) * tn
        mm, nn = min(tm, m - i0), min(tn, n - j0)
        cp = c0 + g * c.strides[0] + (i0 * ldc + j0) * isz
        for k0 in range(0, k, tk):
            kk = min(tk, k - k0)
            # element (row, col) of a stored matrix sits at row * ld + col
            ap = a0 + g * a.strides[0] + ((k0 * lda + i0) if trans_a
                                                     else (i0 * lda + k0)) * isz
            bp = b0 + g * b.strides[0] + ((j0 * ldb + k0) if trans_b
                                                     else (k0 * ldb + j0)) * isz
            beta = one if (accumulate or k0 > 0) else c.dtype.type(0)
            _cblas_gemm(addr, ta, tb, mm, nn, kk, one, ap, lda, bp, ldb, beta, cp, ldc)


@functools.lru_cache(maxsize=1024)  # a training loop asks for the same few shapes each step
def _tiles(m, n, k, dot=False):
    """(tm, tn, tk) with tm*tn*tk <= TILE_MACS, K in even steps.

    Packed products: 64 x 64 tiles of c, K in steps as long as the budget allows (measured on
    one core, (64, 576) @ (576, 3136): 64 x 64 x 64 tiles 2.6 ms, one call 2.7 ms, full-K
    64 x 7 tiles 3.2 ms; c's tile stays in cache between the steps). ``dot`` (``a @ b.T`` with
    OpenBLAS's small-matrix kernels, see _DOT_KERNEL): tiles of c of ~512 elements, 32 x 16 where
    c is that large, over K steps of up to 512."""
    if dot:
        tm = min(m, 32)
        tn = min(n, max(16, _DOT_AREA // tm))
        tm = min(m, max(tm, _DOT_AREA // tn))
    else:
        tm, tn = min(m, 64), min(n, 64)
    tk = max(1, min(k, TILE_MACS // (tm * tn)))
    steps = -(-k // tk)
    return tm, tn, -(-k // steps)


def _operand(x, batch):
    """``x`` as the kernel's read-only 3-d operand of ``batch`` matrices whose last dim has unit
    stride: (array, transposed). A 2-d ``x`` is shared by the whole batch (stride 0, as
    np.matmul broadcasts it); a transposed view is passed as such (transposed flag), any other
    layout as a contiguous copy. Read-only, so that the kernel compiles once, not once per mix
    of writeable and read-only (broadcast) operands (~0.4 s each, cold start)."""
    if x.ndim == 2:
        # x[None] where there is no batch: np.broadcast_to costs ~4 us a call
        v = x[None] if batch == 1 else np.broadcast_to(x[None], (batch,) + x.shape)
    else:
        v = x.view() if x.shape[0] == batch else np.broadcast_to(x, (batch,) + x.shape[1:])
    transposed = False
    if not (v.strides[2] == v.itemsize and v.strides[1] >= v.shape[2] * v.itemsize):
        if v.strides[1] == v.itemsize and v.strides[2] >= v.shape[1] * v.itemsize:
            v, transposed = v.transpose(0, 2, 1), True
        else:
            v = np.ascontiguousarray(v)
    v.flags.writeable = False  # v is this call's own view (or copy): the caller's x is untouched
    return v, transposed


def _ld(x):
    """The row stride of x's matrices in elements (any value >= the row length will do when
    there is one row: NumPy may give such a dim any stride, BLAS checks it)."""
    return x.strides[1] // x.itemsize if x.shape[1] > 1 else max(1, x.shape[2])


def matmul(a, b, out=None, accumulate=False):
    """``out = a @ b`` (``out += a @ b`` with ``accumulate``) for float32/float64 arrays of 2 or
    3 dims (a leading batch dim on all three, as np.matmul's), on ember's pool; a or b may be
    transposed views. ``out`` must have unit stride along its last dim."""
    k = a.shape[-1]
    if b.ndim < 2 or b.shape[-2] != k or (out is not None and out.shape[-2:] != (a.shape[-2],
                                                                                b.shape[-1])):
        # the tiled kernel reads and writes by address: a size that does not fit is refused
        # here, before any memory is touched
        raise ValueError(f"matmul: shapes {a.shape} @ {b.shape} -> "
                         f"{None if out is None else out.shape} do not fit")
    if out is None:
        out = np.empty(a.shape[:-1] + b.shape[-1:], dtype=np.result_type(a, b))
    dtype = out.dtype
    if (not AVAILABLE or out.shape[-2] * out.shape[-1] * k <= TILE_MACS  # one call anyway
            or dtype not in (np.float32, np.float64) or a.dtype != dtype
            or b.dtype != dtype or out.ndim not in (2, 3) or out.strides[-1] != out.itemsize
            or out.size == 0 or a.shape[-1] == 0):
        if accumulate:
            out += np.matmul(a, b)
        else:
            np.matmul(a, b, out=out)
        return out
    c3 = out if out.ndim == 3 else out[None]
    a3, trans_a = _operand(a, c3.shape[0])
    b3, trans_b = _operand(b, c3.shape[0])
    m, n = c3.shape[1:]
    tm, tn, tk = _tiles(m, n, k, dot=_DOT_KERNEL and trans_b and not trans_a and k >= _DOT_MIN_K)
    addr = _GEMM[0] if dtype == np.float32 else _GEMM[1]
    _tiled_gemm(addr, a3, b3, c3, (_ld(a3), _ld(b3), _ld(c3)), trans_a, trans_b, tm, tn, tk,
                accumulate,
                work=c3.shape[0] * m * n * k // 16)
    return out
