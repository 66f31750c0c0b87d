"""ember.linalg: torch.linalg on NumPy's LAPACK.

Each function validates its input with torch's messages, then calls a Function of
``ember/_ops/linalg.py`` (decompositions, with torch's backward formulas) or composes
differentiable ops (norms of matrices, pinv, lstsq, multi_dot), so gradients follow.
"""
from __future__ import annotations

import builtins
import collections

import numpy as np

from . import _dtype
from ._ops import linalg as _L
from ._ops import products as _P
from ._tensor import Tensor, where

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm",
           "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals", "vecdot",
           "vector_norm", "inv_ex", "cholesky_ex", "matrix_exp"]


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix was singular or not positive-definite."""


_Slogdet = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
_Eigh = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
_Qr = collections.namedtuple("linalg_qr", ["Q", "R"])
_Svd = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
_Lstsq = collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


# ------------------------------------------------------------------ argument checks
# the LAPACK kernel torch names when it has no float16 version of an op
_HALF_KERNEL = {"linalg.det": "lu_cpu", "linalg.slogdet": "lu_cpu", "linalg.solve": "lu_cpu",
                "linalg.cholesky": "cholesky_cpu", "linalg.svd": "linalg_svd_cpu",
                "linalg.svdvals": "linalg_svd_cpu", "linalg.eigh": "linalg_eigh_cpu",
                "linalg.eigvalsh": "linalg_eigh_cpu", "linalg.qr": "linalg_qr_cpu"}


def _check_float(a, name, what="input"):
    if a.dtype is _dtype.float16 and name != "linalg.vector_norm":
        if name in _HALF_KERNEL:
            raise NotImplementedError(f"\"{_HALF_KERNEL[name]}\" not implemented for 'Half'")
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got Half")
    if not a.is_floating_point():
        if name in ("linalg.eigh", "linalg.eigvalsh"):
            raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for "
                                      f"'{_dtype.scalar_type_name(a.dtype)}'")
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as {what}. "
                           f"Got {_dtype.scalar_type_name(a.dtype)}")


def _check_matrix(a, name):
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _check_float(a, name)


def _check_square(a, name):
    _check_matrix(a, name)
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def _batch_prefix(shape, index):
    return f"(Batch element {index}): " if len(shape) > 2 else ""


def _each_matrix(a):
    """(flat batch index, matrix) for every matrix of a (..., m, n) array."""
    flat = a.reshape((-1,) + a.shape[-2:])
    return enumerate(flat)


def _first_zero_pivot(m):
    """The 1-based index of the first zero diagonal element of U in LU with partial pivoting
    (LAPACK getrf's info), or 0. Only run once a matrix is known to be singular."""
    u = m.astype(np.float64, copy=True)
    n = u.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            return k + 1
        u[[k, p]] = u[[p, k]]
        u[k + 1:] -= np.outer(u[k + 1:, k] / u[k, k], u[k])
    return 0


# ------------------------------------------------------------------ determinants and inverses
def det(A, *, out=None):
    _check_square(A, "linalg.det")
    return _P._finish_out(_L.Det.apply(A), out)


def slogdet(A, *, out=None):
    _check_square(A, "linalg.slogdet")
    return _Slogdet(*_L.Slogdet.apply(A))


def _logdet(A):
    """torch.logdet: log(det), nan for a negative determinant, -inf for a zero one."""
    _check_square(A, "linalg.slogdet")
    sign, logabs = _L.Slogdet.apply(A)
    return where(sign < 0, Tensor._wrap(np.array(np.nan, logabs._data.dtype)), logabs)


def inv(A, *, out=None):
    _check_square(A, "linalg.inv")
    try:
        res = _L.Inv.apply(A)
    except np.linalg.LinAlgError:
        raise _singular_error(A._data, "linalg.inv: {}The diagonal element {} is zero, the "
                              "inversion could not be completed because the input matrix is "
                              "singular.") from None
    return _P._finish_out(res, out)


def _singular_error(a, template):
    for i, m in _each_matrix(a):
        info = _first_zero_pivot(m)
        if info:
            return LinAlgError(template.format(_batch_prefix(a.shape, i), info))
    return LinAlgError(template.format("", 0))


def solve(A, B, *, left=True, out=None):
    return _solve(A, B, left, out, checked=True)


def _solve(A, B, left, out, checked, vectors=True, name="linalg.solve"):
    _check_square(A, name)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {_dtype.scalar_type_name(A.dtype)} and B of type "
                           f"{_dtype.scalar_type_name(B.dtype)} instead")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        b = B.unsqueeze(-1) if B.ndim == 1 else B
        if b.shape[-1] != A.shape[-2]:
            raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
        return _P._finish_out(_solve(A.mT, B.mT, True, None, checked, vectors, name).mT, out)
    # B is a batch of vectors when it has one dim less than A and matches A's leading shape
    vector = vectors and (B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])))
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    try:
        x = _L.Solve.apply(A, b, checked)
    except np.linalg.LinAlgError:
        idx = next((i for i, m in _each_matrix(A._data) if _first_zero_pivot(m)), 0)
        raise LinAlgError(f"torch.linalg.solve: {_batch_prefix(A.shape, idx)}The solver failed "
                          f"because the input matrix is singular.") from None
    return _P._finish_out(x.squeeze(-1) if vector else x, out)


def cholesky(A, *, upper=False, out=None):
    _check_square(A, "linalg.cholesky")
    try:
        res = _L.Cholesky.apply(A, upper)
    except np.linalg.LinAlgError:
        raise _not_positive_definite(A._data) from None
    return _P._finish_out(res, out)


def _not_positive_definite(a):
    for i, m in _each_matrix(a):
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return LinAlgError(f"linalg.cholesky: {_batch_prefix(a.shape, i)}The factorization "
                                   f"could not be completed because the input is not positive-definite "
                                   f"(the leading minor of order {k} is not positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed because the "
                       "input is not positive-definite.")


def matrix_power(A, n):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    _check_square_any(A, "linalg.matrix_power")
    if n == 0:
        # the identity, connected to A's graph with a zero gradient (torch copies eye into A)
        eye = Tensor._wrap(np.eye(A.shape[-1], dtype=A._data.dtype))
        return where(Tensor._wrap(np.ones(A.shape, bool)), eye, A)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:  # binary exponentiation: O(log n) products
        if n & 1:
            result = base if result is None else result.matmul(base)
        n >>= 1
        if n:
            base = base.matmul(base)
    return result


def _check_square_any(a, name):
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


# ------------------------------------------------------------------ decompositions
def eigh(A, UPLO="L", *, out=None):
    _check_square(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _Eigh(*_L.Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO="L", *, out=None):
    _check_square(A, "linalg.eigvalsh")
    return _P._finish_out(eigh(A, UPLO).eigenvalues, out)


def qr(A, mode="reduced", *, out=None):
    _check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           f"(default), 'r', or 'complete'")
    if mode == "r":
        r = _L.Qr.apply(A.detach(), "reduced")[1]
        return _Qr(Tensor._wrap(np.empty((0,), A._data.dtype)), r)
    return _Qr(*_L.Qr.apply(A, mode))


def svd(A, full_matrices=True, *, driver=None, out=None):
    _check_matrix(A, "linalg.svd")
    return _Svd(*_L.Svd.apply(A, full_matrices))


def svdvals(A, *, driver=None, out=None):
    _check_matrix(A, "linalg.svdvals")
    return _P._finish_out(_L.Svd.apply(A, False)[1], out)


def _default_rtol(A, atol, rtol):
    if rtol is None:
        eps = np.finfo(A._data.dtype).eps
        rtol = 0.0 if atol is not None and _value(atol) > 0 else eps * builtins.max(A.shape[-2:])
    return 0.0 if atol is None else atol, rtol


def _value(x):
    return x.item() if isinstance(x, Tensor) else x


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    if A.ndim < 2 or not A.is_floating_point() or A.dtype is _dtype.float16:
        raise RuntimeError(f"linalg.pinv({_dtype.scalar_type_name(A.dtype)}{{{list(A.shape)}}}): expected "
                           f"a tensor with 2 or more dimensions of float, double, cfloat or cdouble types")
    atol, rtol = _default_rtol(A, atol, rtol)
    # hermitian=True: the same matrix (torch's eigh route differs only in rounding); the SVD
    # route also gives torch's gradient, which is not symmetrised
    u, s, vh = svd(A, full_matrices=False)
    cutoff = _cutoff(s, atol, rtol)
    sinv = where(s > cutoff, s.reciprocal(), Tensor._wrap(np.zeros((), s._data.dtype)))
    return _P._finish_out((vh.mT * sinv.unsqueeze(-2)).matmul(u.mT), out)


def _cutoff(s, atol, rtol):
    """max(atol, rtol * largest singular value), per matrix, as a constant (no gradient)."""
    smax = s._data.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    atol, rtol = np.asarray(_value(atol)), np.asarray(_value(rtol))
    return Tensor._wrap(np.maximum(atol, rtol * smax).astype(s._data.dtype))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None):
    if A.ndim >= 2 and (not A.is_floating_point() or A.dtype is _dtype.float16):
        raise RuntimeError("This function doesn't handle types other than float and double")
    _check_matrix(A, "linalg.matrix_rank")
    atol, rtol = _default_rtol(A, atol, rtol)
    a = A._data
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    cutoff = np.maximum(np.asarray(_value(atol)), np.asarray(_value(rtol)) * smax)
    return _P._finish_out(Tensor._wrap(np.asarray((s > cutoff).sum(axis=-1), dtype=np.int64)), out)


def lstsq(A, B, rcond=None, *, driver=None):
    _check_matrix(A, "linalg.lstsq")
    _check_float(B, "linalg.lstsq")
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    if rcond is None:
        rcond = np.finfo(A._data.dtype).eps * builtins.max(m, n)
    x = pinv(A, rtol=rcond).matmul(b)  # the minimum-norm least-squares solution, differentiable
    s = np.linalg.svd(A._data, compute_uv=False)
    rank = Tensor._wrap(np.asarray((s > rcond * s[..., :1]).sum(axis=-1), np.int64))
    driver = driver or "gelsy"
    empty = A.reshape(-1)[:0]  # torch's empty outputs are part of A's graph too
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank._data == n).all()):
        residuals = (A.matmul(x) - b).square().sum(-2)
    if driver == "gels":
        rank = Tensor._wrap(np.empty((0,), np.int64))
    svals = svdvals(A) if driver in ("gelsd", "gelss") else empty
    return _Lstsq(x.squeeze(-1) if vector else x, residuals, rank, svals)


# ------------------------------------------------------------------ products
def cross(input, other, *, dim=-1, out=None):
    return _P._finish_out(_P.cross(input, other, dim), out)


def multi_dot(tensors, *, out=None):
    tensors = list(tensors)
    _check_multi_dot(tensors)
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    if first_vec:
        tensors[0] = tensors[0].unsqueeze(0)
    if last_vec:
        tensors[-1] = tensors[-1].unsqueeze(-1)
    res = tensors[0]
    for t in tensors[1:]:
        res = res.mm(t)
    if first_vec:
        res = res.squeeze(0)
    if last_vec:
        res = res.squeeze(-1)
    return _P._finish_out(res, out)


def _check_multi_dot(tensors):
    """torch's checks, in torch's order: count, end ranks, middle ranks, dtypes, shapes."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, where_ in ((0, "first"), (n - 1, "last")):
        if tensors[i].ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {where_} tensor must be 1D or 2D but got "
                               f"{tensors[i].ndim}D")
    for i in range(1, n - 1):
        if tensors[i].ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {tensors[i].ndim}D")
    for i, t in enumerate(tensors[1:], 1):
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 "
                               f"is {_dtype.scalar_type_name(tensors[0].dtype).lower()} and tensor {i} "
                               f"{_dtype.scalar_type_name(t.dtype).lower()}")
    for i in range(n - 1):
        a, b = tensors[i], tensors[i + 1]
        if a.shape[-1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(a.shape)} "
                               f"and {list(b.shape)} cannot be multiplied")


# ------------------------------------------------------------------ norms
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        x = x.to(dtype)
    _check_float(x, "linalg.vector_norm")
    from ._ops.util import normalize_dims
    axes = normalize_dims(dim, x.ndim) if x.ndim else ()
    if x.ndim == 0:
        return _P._finish_out(x.abs() if ord != 0 else (x != 0).to(x.dtype), out)
    return _P._finish_out(_L.VectorNorm.apply(x, float(ord), axes, keepdim), out)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        A = A.to(dtype)
    _check_matrix(A, "linalg.matrix_norm")
    from ._ops.util import normalize_dim
    d0, d1 = (normalize_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _P._finish_out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord in ("nuc", 2, -2):
        res = _svd_norm(A, ord, d0, d1, keepdim)
    elif ord in (1, -1, float("inf"), float("-inf")):
        res = _abs_sum_norm(A, ord, d0, d1, keepdim)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return _P._finish_out(res, out)


def _svd_norm(A, ord, d0, d1, keepdim):
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    s = svdvals(A.permute(*rest, d0, d1))
    res = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            res = res.unsqueeze(d)
    return res


def _abs_sum_norm(A, ord, d0, d1, keepdim):
    # ord 1: the largest column sum (sum over rows d0); ord inf: the largest row sum
    sum_dim, max_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(sum_dim, keepdim=True)
    res = sums.amax(max_dim, keepdim=True) if ord > 0 else sums.amin(max_dim, keepdim=True)
    return res if keepdim else res.squeeze((d0, d1))


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if dim is None and ord is not None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
        if A.ndim != 1:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                               f"1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


# ------------------------------------------------------------------ torch's older top-level forms
_SvdLegacy = collections.namedtuple("svd", ["U", "S", "V"])
_QrLegacy = collections.namedtuple("qr", ["Q", "R"])


def _svd_legacy(input, some=True, compute_uv=True):
    """torch.svd: V (not Vh), reduced by default; without compute_uv, U and V are zero
    matrices of the full shapes."""
    if not compute_uv:
        m, n = input.shape[-2:]
        zeros = lambda k: Tensor._wrap(np.zeros(input.shape[:-2] + (k, k), input._data.dtype))  # noqa: E731
        return _SvdLegacy(zeros(m), svdvals(input), zeros(n))
    u, s, vh = svd(input, full_matrices=not some)
    return _SvdLegacy(u, s, vh.mT)


def _qr_legacy(input, some=True):
    return _QrLegacy(*qr(input, "reduced" if some else "complete"))


# ------------------------------------------------------------------ small aliases and compositions
def matmul(input, other, *, out=None):
    return _P._finish_out(input.matmul(other), out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def vecdot(x, y, *, dim=-1, out=None):
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {_dtype.scalar_type_name(x.dtype)} and y of type "
                           f"{_dtype.scalar_type_name(y.dtype)} instead.")
    return _P._finish_out((x * y).sum(dim), out)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Composition: the triangle of A (unit diagonal if asked), then solve; the gradient
    reaches only that triangle, as torch's."""
    for t, name in ((A, "A"), (B, "B")):
        if t.ndim < 2:
            raise RuntimeError(f"linalg.solve_triangular: The input tensor {name} must have at "
                               f"least 2 dimensions.")
    tri = A.triu(1 if unitriangular else 0) if upper else A.tril(-1 if unitriangular else 0)
    if unitriangular:
        eye = Tensor._wrap(np.eye(A.shape[-1], dtype=A._data.dtype))
        tri = tri + eye
    return _P._finish_out(_solve(tri, B, left, None, checked=False, vectors=False,
                                 name="linalg.solve_triangular"), out)


# ------------------------------------------------------------------ *_ex: errors as an info code
_InvEx = collections.namedtuple("linalg_inv_ex", ["inverse", "info"])
_CholeskyEx = collections.namedtuple("linalg_cholesky_ex", ["L", "info"])


def inv_ex(A, *, check_errors=False, out=None):
    """inv with LAPACK's info (0, or the 1-based index of the zero pivot) per matrix instead of
    an error; a failed matrix's inverse is nan here (torch leaves LAPACK's partial result)."""
    _check_square(A, "linalg.inv_ex")
    try:
        return _InvEx(_L.Inv.apply(A), Tensor._wrap(np.zeros(A.shape[:-2], np.int32)))
    except np.linalg.LinAlgError:
        if check_errors:
            raise _singular_error(A._data, "linalg.inv_ex: {}The diagonal element {} is zero, the "
                                  "inversion could not be completed because the input matrix is "
                                  "singular.") from None
    return _ex_result(_InvEx, A._data, np.linalg.inv, _first_zero_pivot)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """cholesky with the order of the first non-positive-definite leading minor as info; a
    failed matrix's factor is nan here (torch leaves LAPACK's partial result)."""
    _check_square(A, "linalg.cholesky_ex")
    try:
        return _CholeskyEx(_L.Cholesky.apply(A, upper), Tensor._wrap(np.zeros(A.shape[:-2], np.int32)))
    except np.linalg.LinAlgError:
        if check_errors:
            err = _not_positive_definite(A._data)
            raise LinAlgError(str(err).replace("linalg.cholesky:", "linalg.cholesky_ex:", 1)) from None
    factor = (lambda m: np.linalg.cholesky(m).T) if upper else np.linalg.cholesky
    return _ex_result(_CholeskyEx, A._data, factor, _first_bad_minor)


def _ex_result(kind, a, factor, first_failure):
    """After LAPACK rejected some matrix of the batch: each matrix's result and info, nan for
    the failed ones (no gradient: the failure path)."""
    flat = a.reshape((-1,) + a.shape[-2:])
    res = np.full(flat.shape, np.nan, a.dtype)
    info = np.zeros(flat.shape[0], np.int32)
    for i, m in enumerate(flat):
        info[i] = first_failure(m)
        if not info[i]:
            res[i] = factor(m)
    return kind(Tensor._wrap(res.reshape(a.shape)), Tensor._wrap(info.reshape(a.shape[:-2])))


def _first_bad_minor(m):
    for k in range(1, m.shape[0] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def matrix_exp(A):
    _check_square(A, "linalg.matrix_exp")
    return _L.MatrixExp.apply(A)
