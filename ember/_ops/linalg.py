"""Matrix products. One Function covers every ``matmul`` case (vector, matrix, batched,
broadcast); subclasses only carry torch's grad_fn names."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .util import unbroadcast


class MatMul(Function):
    name = "MmBackward0"

    affine_in = (0, 1)  # double backward: autograd/higher_order.py
    fresh_grads = True  # ga, gb are new products (or sums of them): leaves keep them, no copy

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # promote vectors to matrices so one formula serves all: (.., n, k) @ (.., k, m)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Mv(MatMul):
    name = "MvBackward0"


class Dot(MatMul):
    name = "DotBackward0"


class Bmm(MatMul):
    name = "BmmBackward0"


class BatchedMatMul(MatMul):
    name = "UnsafeViewBackward0"


def matmul_function(ndim_a: int, ndim_b: int):
    if ndim_a == 1 and ndim_b == 1:
        return Dot
    if ndim_a == 2 and ndim_b == 1:
        return Mv
    if ndim_a == 2 and ndim_b == 2:
        return MatMul
    return BatchedMatMul


# ------------------------------------------------------------------ decompositions (issue 11)
# Forward through NumPy's LAPACK; backward as torch's formulas (real inputs).
def _mT(a):
    return np.swapaxes(a, -1, -2)


def _eye_like(n, dtype):
    return np.eye(n, dtype=dtype)


class Det(Function):
    name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        d = np.linalg.det(a).astype(a.dtype)
        ctx.save_for_backward(a, d)
        return np.asarray(d)

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        # d det / dA = det * A^{-T}; solve rather than invert (torch does the same via LU)
        eye = np.broadcast_to(_eye_like(a.shape[-1], a.dtype), a.shape)
        try:
            ginv = _mT(np.linalg.solve(a, eye))
        except np.linalg.LinAlgError:
            ginv = _mT(_solve_or_zeros(a, eye))
        return (g * d)[..., None, None] * ginv


def _solve_or_zeros(a, b):
    """Batched solve where exactly singular matrices give zeros: their determinant is 0, so
    torch's gradient det * A^{-T} is 0 there (it does not raise)."""
    flat_a, flat_b = a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:])
    res = np.zeros(flat_b.shape, dtype=a.dtype)
    for i in range(flat_a.shape[0]):  # only after LAPACK reported a singular matrix
        try:
            res[i] = np.linalg.solve(flat_a[i], flat_b[i])
        except np.linalg.LinAlgError:
            pass
    return res.reshape(b.shape)


def _solve_unchecked(a, b):
    """Batched solve that, like torch's LU solve, does not raise on a singular matrix: its
    zero pivot gives inf/nan (LAPACK via NumPy raises; this is only its fallback)."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        pass
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    flat_a = np.broadcast_to(a, shape + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
    flat_b = np.broadcast_to(b, shape + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    out = np.stack([_lu_solve_unchecked(m, r) for m, r in zip(flat_a, flat_b)])
    return out.reshape(shape + b.shape[-2:])


def _lu_solve_unchecked(m, r):
    u, x = m.astype(m.dtype, copy=True), r.astype(m.dtype, copy=True)
    n = u.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        if not np.tril(u, -1).any():  # already upper triangular: back substitution, as trsm
            return _back_substitute(u, x)
        if not np.triu(u, 1).any():  # lower: the same on the reversed system
            return _back_substitute(u[::-1, ::-1], x[::-1])[::-1]
        for k in range(n):  # partial pivoting, as getrf
            p = k + int(np.argmax(np.abs(u[k:, k])))
            u[[k, p]], x[[k, p]] = u[[p, k]], x[[p, k]]
            f = u[k + 1:, k] / u[k, k]
            u[k + 1:] -= np.outer(f, u[k])
            x[k + 1:] -= np.outer(f, x[k])
        return _back_substitute(u, x)


def _back_substitute(u, x):
    x = x.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(u.shape[0] - 1, -1, -1):
            x[k] = (x[k] - u[k, k + 1:] @ x[k + 1:]) / u[k, k]
    return x


class Slogdet(Function):
    name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        sign, logabs = np.linalg.slogdet(a)
        sign, logabs = np.asarray(sign.astype(a.dtype)), np.asarray(logabs.astype(a.dtype))
        ctx.save_for_backward(a)
        return sign, logabs  # (torch records sign too; its gradient is zero)

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        a, = ctx.saved_tensors
        eye = np.broadcast_to(_eye_like(a.shape[-1], a.dtype), a.shape)
        return g_logabs[..., None, None] * _mT(_solve_unchecked(a, eye))


class Inv(Function):
    name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.linalg.inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        inv, = ctx.saved_tensors
        return -_mT(inv) @ g @ _mT(inv)


class Solve(Function):
    """A X = B for matrices B (the vector case is a column matrix, reshaped by the caller)."""
    name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b, checked=True):
        # checked: LAPACK's singular-matrix error (linalg.solve raises it, as torch); unchecked:
        # inf/nan as torch's triangular solve
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a_b, b_b = np.broadcast_to(a, shape + a.shape[-2:]), np.broadcast_to(b, shape + b.shape[-2:])
        x = np.linalg.solve(a_b, b_b) if checked else _solve_unchecked(a_b, b_b)
        ctx.save_for_backward(a, b, x)
        return x

    @staticmethod
    def backward(ctx, g):
        a, b, x = ctx.saved_tensors
        shape = g.shape[:-2]
        gb = _solve_unchecked(np.broadcast_to(_mT(a), shape + a.shape[-2:]), g)
        ga = -gb @ _mT(x) if ctx.needs_input_grad[0] else None
        return (unbroadcast(ga, a.shape) if ga is not None else None,
                unbroadcast(gb, b.shape) if ctx.needs_input_grad[1] else None, None)


class Cholesky(Function):
    name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a, upper):
        low = np.linalg.cholesky(a)
        out = np.ascontiguousarray(_mT(low)) if upper else low
        ctx.save_for_backward(out)  # the output itself, so the recorded backward links to it
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        low, gl = (_mT(out), _mT(g)) if ctx.upper else (out, g)
        # gA = L^{-T} phi(L^T gL) L^{-1}, phi = lower triangle with the diagonal halved; symmetrised
        phi = np.tril(_mT(low) @ gl)
        phi = phi - 0.5 * np.tril(np.triu(phi))
        linv = np.linalg.inv(low)
        ga = _mT(linv) @ phi @ linv
        return 0.5 * (ga + _mT(ga)), None


class Eigh(Function):
    name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        idx = np.arange(w.shape[-1])
        if not gv.any():  # only the eigenvalues were used: no 1/gap term (finite for repeats)
            inner = np.zeros(v.shape, v.dtype)
        else:
            vtgv = _mT(v) @ gv
            inner = 0.5 * (vtgv - _mT(vtgv))  # the skew part: eigenvectors are orthonormal
            gap = w[..., None, :] - w[..., :, None]
            gap[..., idx, idx] = 1.0
            inner = inner / gap
        inner[..., idx, idx] = gw
        return v @ inner @ _mT(v), None


class Svd(Function):
    name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        # full_matrices: only the first k columns of U (rows of Vh) enter the gradient, as torch
        u, vh, gu, gvh = u[..., :k], vh[..., :k, :], gu[..., :k], gvh[..., :k, :]
        if not gu.any() and not gvh.any():  # only S was used (svdvals, norms): U diag(gS) Vh
            return (u * gs[..., None, :]) @ vh, None
        v, gv = _mT(vh), _mT(gvh)
        s2 = s * s
        f = s2[..., None, :] - s2[..., :, None]
        idx = np.arange(k)
        f[..., idx, idx] = np.inf
        f = 1.0 / f
        utgu, vtgv = _mT(u) @ gu, _mT(v) @ gv
        inner = (f * (utgu - _mT(utgu))) * s[..., None, :] + s[..., :, None] * (f * (vtgv - _mT(vtgv)))
        inner[..., idx, idx] += gs
        ga = u @ inner @ vh
        sinv = 1.0 / s
        m, n = u.shape[-2], v.shape[-2]
        if m > k:
            ga = ga + ((gu - u @ utgu) * sinv[..., None, :]) @ vh
        if n > k:
            ga = ga + u @ (sinv[..., :, None] * _mT(gv - v @ vtgv))
        return ga, None


class Qr(Function):
    name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, a, mode):
        q, r = np.linalg.qr(a, mode=mode)
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        _check_qr_differentiable(ctx.mode, m, n)
        if m >= n:
            return _qr_backward_tall(q[..., :n], r[..., :n, :], gq[..., :n], gr[..., :n, :]), None
        # wide: A = [X | Y] with X = Q U square and V = Q^T Y, so Q also receives Y gV^T
        u, v = r[..., :m], r[..., m:]
        gu, gv = gr[..., :m], gr[..., m:]
        gx = _qr_backward_tall(q, u, gq + (q @ v) @ _mT(gv), gu)
        return np.concatenate([gx, q @ gv], axis=-1), None


def _check_qr_differentiable(mode, m, n):
    # Q's last m - n columns are any orthonormal completion: no derivative exists (torch raises)
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")


def _qr_backward_tall(q, r, gq, gr):
    """gA = (gQ + Q copyltu(M)) R^{-T}, M = R gR^T - gQ^T Q (m >= n, reduced)."""
    mm = r @ _mT(gr) - _mT(gq) @ q
    copyltu = np.tril(mm) + _mT(np.tril(mm, -1))
    b = gq + q @ copyltu
    return _mT(_solve_unchecked(r, _mT(b)))


class VectorNorm(Function):
    name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord, axes, keepdim):
        ax = np.abs(x)
        if ord == np.inf:
            n = ax.max(axis=axes, keepdims=True)
        elif ord == -np.inf:
            n = ax.min(axis=axes, keepdims=True)
        elif ord == 0:
            n = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif ord == 1:
            n = ax.sum(axis=axes, keepdims=True)
        elif ord == 2:
            n = np.sqrt((ax * ax).sum(axis=axes, keepdims=True))
        else:
            n = (ax ** ord).sum(axis=axes, keepdims=True) ** (1.0 / ord)
        n = n.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, n)
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        return n if keepdim else np.squeeze(n, axis=axes)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        ord, axes = ctx.ord, ctx.axes
        if not ctx.keepdim:
            g = np.expand_dims(g, axes)
        if ord == 0:
            return np.zeros_like(x), None, None, None
        if ord in (np.inf, -np.inf):
            hit = (np.abs(x) == n)
            count = hit.sum(axis=axes, keepdims=True)
            return np.sign(x) * hit * (g / count), None, None, None
        if ord == 1:
            return np.sign(x) * g, None, None, None
        safe = np.where(n == 0, 1, n)
        if ord == 2:
            return np.where(n == 0, 0, x * (g / safe)), None, None, None
        ax = np.abs(x)
        grad = np.sign(x) * ax ** (ord - 1) * (g / safe ** (ord - 1))
        # zero entries and zero norms get 0, as torch (|x|^(p-1) is inf there for p < 1)
        return np.where((n == 0) | (ax == 0), 0, grad).astype(x.dtype, copy=False), None, None, None

    @staticmethod
    def backward_graph(ctx, g):
        """torch's norm_backward in Tensor ops on x (linked), the norm recorded again as this
        Function: its higher orders (nan at a zero 2-norm included) are torch's."""
        from ..autograd.higher_order import constant, saved
        from .index import MaskedFill
        x, _ = saved(ctx)
        ord, axes = ctx.ord, ctx.axes
        n = VectorNorm.apply(x, ord, axes, True)
        g = g.reshape(n.shape)  # keepdim's shape
        sgn = constant(np.sign(x._data), x)
        if ord == 0:
            return constant(np.zeros(x.shape), x) * g, None, None, None
        if ord == 1:
            return sgn * g, None, None, None
        if ord in (np.inf, -np.inf):
            hit = np.abs(x._data) == n._data
            return sgn * (g / constant(hit.sum(axis=axes, keepdims=True), x)) * constant(hit, x), \
                None, None, None
        zero_n = n._data == 0
        if ord == 2:
            return g * MaskedFill.apply(x / n, zero_n, 0), None, None, None
        if ord < 1:
            scaled = sgn * MaskedFill.apply(x.abs() ** (ord - 1), x._data == 0, 0)
            return scaled * g * n ** (1 - ord), None, None, None
        scaled = sgn * x.abs() ** (ord - 1) if ord < 2 else x * x.abs() ** (ord - 2)
        return scaled * MaskedFill.apply(g / n ** (ord - 1), zero_n, 0), None, None, None


# ------------------------------------------------------------------ matrix exponential
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def expm(a):
    """exp of each (..., n, n) matrix: scaling and squaring with a degree-13 Padé approximant
    (Higham 2005), each matrix scaled by its own power of two."""
    b = _PADE13
    norm1 = np.abs(a).sum(axis=-2).max(axis=-1, initial=0.0)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(norm1 / _THETA13))).astype(np.int64)
    x = a / (2.0 ** s)[..., None, None].astype(a.dtype)
    eye = np.eye(a.shape[-1], dtype=a.dtype)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u).astype(a.dtype, copy=False)
    for i in range(int(s.max(initial=0))):  # undo the scaling: square s times, per matrix
        r = np.where((s > i)[..., None, None], r @ r, r)
    return r


class MatrixExp(Function):
    name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return expm(a)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        # the Fréchet derivative in direction G sits in the upper-right block of
        # exp([[A^T, G], [0, A^T]])
        n = a.shape[-1]
        big = np.zeros(g.shape[:-2] + (2 * n, 2 * n), dtype=a.dtype)
        at = np.broadcast_to(_mT(a), g.shape)
        big[..., :n, :n] = at
        big[..., n:, n:] = at
        big[..., :n, n:] = g
        return expm(big)[..., :n, n:]


# =========================================================================== double backward (issue 11, G7)
# The backwards of inv, det, slogdet and solve in Tensor ops on the linked input / output;
# the inverse they need is this module's Inv again, so every order is recorded.
def _t(x):
    return x.transpose(-1, -2)


def _inv_graph(ctx, g):
    from ..autograd.higher_order import saved
    (inv,) = saved(ctx)
    return -_t(inv) @ g @ _t(inv)


def _det_graph(ctx, g):
    """g det A^{-T}, with the determinant and inverse recorded as Det / Inv of A."""
    from ..autograd.higher_order import saved
    a, _ = saved(ctx)
    return (g * Det.apply(a)).unsqueeze(-1).unsqueeze(-1) * _t(Inv.apply(a))


def _slogdet_graph(ctx, g_sign, g_logabs):
    from ..autograd.higher_order import saved
    (a,) = saved(ctx)
    return g_logabs.unsqueeze(-1).unsqueeze(-1) * _t(Inv.apply(a))


def _solve_graph(ctx, g):
    """gB = A^{-T} g (a solve), gA = -gB X^T, X the linked output."""
    from ..autograd.higher_order import saved, sum_to
    a, b, x = saved(ctx)
    at = _t(a).expand(*g.shape[:-2], *a.shape[-2:])
    gb = Solve.apply(at, g, False)
    ga = sum_to(-gb @ _t(x), a.shape) if ctx.needs_input_grad[0] else None
    return ga, (sum_to(gb, b.shape) if ctx.needs_input_grad[1] else None), None


Inv.backward_graph = staticmethod(_inv_graph)
Det.backward_graph = staticmethod(_det_graph)
Slogdet.backward_graph = staticmethod(_slogdet_graph)
Solve.backward_graph = staticmethod(_solve_graph)


# The decompositions' backwards in Tensor ops on their linked outputs: the inverses and
# triangular solves inside are Inv / Solve again, the matrix exponential is MatrixExp again,
# so gradients of gradients are recorded to any order (torch derives its double backward the
# same way, from the first derivative's formula).
def _eye_mask(n):
    return np.eye(n, dtype=bool)


def _off_diagonal_reciprocal(diff, eye):
    """1 / diff off the diagonal, 0 on it, with no inf anywhere: a masked inf would turn the
    next derivative into 0 * inf = nan."""
    from .elementwise import Where
    one = diff.new_ones(())
    safe = Where.apply(eye, one, diff)
    return Where.apply(eye, diff.new_zeros(()), one / safe)


def _cholesky_graph(ctx, g):
    from ..autograd.higher_order import saved
    (out,) = saved(ctx)
    low, gl = (_t(out), _t(g)) if ctx.upper else (out, g)
    phi = (_t(low) @ gl).tril()
    phi = phi - 0.5 * phi.diagonal(dim1=-2, dim2=-1).diag_embed()
    linv = Inv.apply(low)
    ga = _t(linv) @ phi @ linv
    return 0.5 * (ga + _t(ga)), None


def _eigh_graph(ctx, gw, gv):
    from ..autograd.higher_order import saved
    w, v = saved(ctx)
    if not gv._data.any():  # only the eigenvalues were used: no 1/gap term
        return v @ gw.diag_embed() @ _t(v), None
    eye = _eye_mask(w.shape[-1])
    vtgv = _t(v) @ gv
    skew = 0.5 * (vtgv - _t(vtgv))
    inner = skew * _off_diagonal_reciprocal(w.unsqueeze(-2) - w.unsqueeze(-1), eye)
    return v @ (inner + gw.diag_embed()) @ _t(v), None


def _svd_graph(ctx, gu, gs, gvh):
    from ..autograd.higher_order import saved
    u, s, vh = saved(ctx)
    k = s.shape[-1]
    u, vh, gu, gvh = u[..., :k], vh[..., :k, :], gu[..., :k], gvh[..., :k, :]
    if not gu._data.any() and not gvh._data.any():  # only S was used
        return (u * gs.unsqueeze(-2)) @ vh, None
    v, gv = _t(vh), _t(gvh)
    s2 = s * s
    f = _off_diagonal_reciprocal(s2.unsqueeze(-2) - s2.unsqueeze(-1), _eye_mask(k))
    utgu, vtgv = _t(u) @ gu, _t(v) @ gv
    inner = (f * (utgu - _t(utgu))) * s.unsqueeze(-2) + s.unsqueeze(-1) * (f * (vtgv - _t(vtgv)))
    ga = u @ (inner + gs.diag_embed()) @ vh
    m, n = u.shape[-2], v.shape[-2]
    if m > k:
        ga = ga + ((gu - u @ utgu) / s.unsqueeze(-2)) @ vh
    if n > k:
        ga = ga + u @ (_t(gv - v @ vtgv) / s.unsqueeze(-1))
    return ga, None


def _qr_graph(ctx, gq, gr):
    from ..autograd.higher_order import saved
    from .joins import cat
    q, r = saved(ctx)
    m, n = q.shape[-2], r.shape[-1]
    _check_qr_differentiable(ctx.mode, m, n)
    if m >= n:
        return _qr_tall_graph(q[..., :n], r[..., :n, :], gq[..., :n], gr[..., :n, :]), None
    u, v = r[..., :m], r[..., m:]
    gu, gv = gr[..., :m], gr[..., m:]
    gx = _qr_tall_graph(q, u, gq + (q @ v) @ _t(gv), gu)
    return cat([gx, q @ gv], -1), None


def _qr_tall_graph(q, r, gq, gr):
    mm = r @ _t(gr) - _t(gq) @ q
    copyltu = mm.tril() + _t(mm.tril(-1))
    b = gq + q @ copyltu
    return _t(Solve.apply(r, _t(b), False))


def _matrix_exp_graph(ctx, g):
    """The Fréchet derivative as the upper-right block of exp([[A^T, G], [0, A^T]]), built
    from the linked A and recorded as MatrixExp again."""
    from ..autograd.higher_order import saved
    from .joins import cat
    (a,) = saved(ctx)
    n = a.shape[-1]
    at = _t(a).expand(*g.shape)
    top = cat([at, g], -1)
    bottom = cat([g.new_zeros(g.shape), at], -1)
    return MatrixExp.apply(cat([top, bottom], -2))[..., :n, n:]


Cholesky.backward_graph = staticmethod(_cholesky_graph)
Eigh.backward_graph = staticmethod(_eigh_graph)
Svd.backward_graph = staticmethod(_svd_graph)
Qr.backward_graph = staticmethod(_qr_graph)
MatrixExp.backward_graph = staticmethod(_matrix_exp_graph)
