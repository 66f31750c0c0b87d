"""ember.linalg (issue 11, group G2): values, gradients and errors against torch.linalg."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch

rng = np.random.default_rng(1)


def r(*shape):
    return rng.standard_normal(shape)


def well_conditioned(*shape):
    n = shape[-1]
    return r(*shape) + n * np.eye(n)


def spd(*shape):
    a = r(*shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(*shape):
    a = r(*shape)
    return a + np.swapaxes(a, -1, -2)


DTYPES = ["float64", "float32"]
F32 = dict(rtol=1e-3, atol=1e-4)  # float32 decompositions differ in LAPACK's rounding


def tol(dtype):
    return F32 if dtype == "float32" else {}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_det_slogdet_inv(shape, dtype):
    a = well_conditioned(*shape)
    check_against_torch(lambda lib, x: lib.linalg.det(x), [a], dtype, **tol(dtype))
    check_against_torch(lambda lib, x: tuple(lib.linalg.slogdet(x)), [a], dtype, **tol(dtype))
    check_against_torch(lambda lib, x: lib.linalg.inv(x), [a], dtype, **tol(dtype))
    check_against_torch(lambda lib, x: x.det(), [a], dtype, **tol(dtype))
    check_against_torch(lambda lib, x: x.inverse(), [a], dtype, **tol(dtype))
    check_against_torch(lambda lib, x: lib.logdet(x @ x.mT), [a], dtype, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bshape", [(3,), (3, 2), (2, 3), (2, 3, 2)])
def test_solve(bshape, dtype):
    a = well_conditioned(2, 3, 3)
    b = r(*bshape)
    check_against_torch(lambda lib, x, y: lib.linalg.solve(x, y), [a, b], dtype, **tol(dtype))


def test_solve_right():
    check_against_torch(lambda lib, x, y: lib.linalg.solve(x, y, left=False),
                        [well_conditioned(3, 3), r(2, 3)])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    check_against_torch(lambda lib, x: lib.linalg.cholesky(x, upper=upper), [spd(2, 4, 4)])
    a = ember.tensor(spd(3, 3), requires_grad=True)
    assert gradcheck(lambda x: ember.linalg.cholesky((x + x.mT) / 2, upper=upper), (a,))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(uplo):
    a = sym(2, 4, 4)
    # eigenvectors are unique up to sign: compare a sign-independent function of them
    check_against_torch(lambda lib, x: lib.linalg.eigh(x, uplo)[0], [a])
    check_against_torch(lambda lib, x: (lambda w, v: (w, v * v[..., :1, :].sign()))(*lib.linalg.eigh(x, uplo)),
                        [a])
    check_against_torch(lambda lib, x: lib.linalg.eigvalsh(x), [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_svd(shape, full):
    a = r(*shape)

    def signfree(lib, x):
        u, s, vh = lib.linalg.svd(x, full_matrices=full)
        k = s.shape[-1]
        sign = u[..., :1, :k].sign()
        return s, u[..., :k] * sign, vh[..., :k, :] * sign.mT

    check_against_torch(signfree, [a])
    check_against_torch(lambda lib, x: lib.linalg.svdvals(x), [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr(shape, mode):
    if mode == "complete" and shape[-2] > shape[-1]:
        pytest.skip("torch: the derivative of complete QR is defined only for m <= n")
    check_against_torch(lambda lib, x: tuple(lib.linalg.qr(x, mode)), [r(*shape)])


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, float("inf"), float("-inf"), 0])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 2), False)])
def test_vector_norm(ord, dim, keepdim):
    check_against_torch(lambda lib, x: lib.linalg.vector_norm(x, ord, dim, keepdim), [r(2, 3, 4)])


def test_vector_norm_of_zeros_has_zero_gradient_like_torch():
    check_against_torch(lambda lib, x: lib.linalg.vector_norm(x), [np.zeros((3,))])


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((0, 2), True)])
def test_matrix_norm(ord, dim, keepdim):
    check_against_torch(lambda lib, x: lib.linalg.matrix_norm(x, ord, dim, keepdim), [r(3, 4, 5)])


@pytest.mark.parametrize("args", [dict(), dict(ord=1), dict(dim=1), dict(ord="nuc", dim=(0, 1)),
                                  dict(ord=float("inf"))])
def test_norm(args):
    check_against_torch(lambda lib, x: lib.linalg.norm(x, **args), [r(3, 4)])


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3)])
def test_pinv_and_rank(shape):
    check_against_torch(lambda lib, x: lib.linalg.pinv(x), [r(*shape)])
    low_rank = r(5, 2) @ r(2, 4)
    assert np.array_equal(ember.linalg.matrix_rank(ember.tensor(low_rank)).numpy(),
                          torch.linalg.matrix_rank(torch.tensor(low_rank)).numpy())
    check_against_torch(lambda lib, x: lib.linalg.pinv(x, hermitian=True), [spd(3, 3)])
    check_against_torch(lambda lib, x: lib.linalg.pinv(x), [low_rank], grad=False)


@pytest.mark.parametrize("driver", [None, "gelsd"])
@pytest.mark.parametrize("bshape", [(5, 2), (5,)])
def test_lstsq(driver, bshape):
    def fn(lib, a, b):
        res = lib.linalg.lstsq(a, b, driver=driver)
        return res.solution, res.residuals, res.rank, res.singular_values
    check_against_torch(fn, [r(5, 3), r(*bshape)])


def test_multi_dot_and_cross():
    check_against_torch(lambda lib, *xs: lib.linalg.multi_dot(xs), [r(3), r(3, 4), r(4, 2), r(2)])
    check_against_torch(lambda lib, *xs: lib.linalg.multi_dot(xs), [r(2, 3), r(3, 4), r(4, 2)])
    check_against_torch(lambda lib, x, y: lib.linalg.cross(x, y), [r(4, 3), r(1, 3)])


def test_legacy_svd_and_qr():
    def fn(lib, x):
        u, s, v = lib.svd(x)
        sign = u[..., :1, :].sign()
        return u * sign, s, v * sign
    check_against_torch(fn, [r(4, 3)])
    check_against_torch(lambda lib, x: tuple(lib.linalg.qr(x)), [r(4, 3)])
    q, rr = ember.qr(ember.tensor(r(4, 3)), some=False)
    assert q.shape == (4, 4) and rr.shape == (4, 3)


def test_gradcheck_decompositions():
    a = ember.tensor(well_conditioned(3, 3), requires_grad=True)
    assert gradcheck(lambda x: ember.linalg.det(x), (a,))
    assert gradcheck(lambda x: ember.linalg.inv(x), (a,))
    assert gradcheck(lambda x: ember.linalg.qr(x)[0], (a,))
    assert gradcheck(lambda x: ember.linalg.svd(x, full_matrices=False)[1], (a,))


def _same_error(fn):
    with pytest.raises(RuntimeError) as t_err:
        fn(torch)
    with pytest.raises(RuntimeError) as e_err:
        fn(ember)
    assert str(e_err.value) == str(t_err.value)
    return e_err.value


@pytest.mark.parametrize("fn", [
    lambda lib: lib.linalg.inv(lib.ones(2, 3)),
    lambda lib: lib.linalg.det(lib.ones(3)),
    lambda lib: lib.linalg.inv(lib.eye(2).long()),
    lambda lib: lib.linalg.vector_norm(lib.ones(2).long()),
    lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(3)),
    lambda lib: lib.linalg.multi_dot([lib.ones(2)]),
    lambda lib: lib.linalg.eigh(lib.ones(2, 3)),
    lambda lib: lib.linalg.matrix_power(lib.ones(2, 3), 2),
])
def test_errors_match_torch(fn):
    _same_error(fn)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.linalg.inv(lib.ones(2, 2)),
    lambda lib: lib.linalg.inv(lib.tensor([[1., 2, 3], [2, 4, 6], [1, 1, 1]])),
    lambda lib: lib.linalg.inv(lib.ones(3, 2, 2)),
    lambda lib: lib.linalg.solve(lib.ones(2, 2), lib.ones(2)),
    lambda lib: lib.linalg.solve(lib.ones(3, 2, 2), lib.ones(3, 2)),
    lambda lib: lib.linalg.cholesky(-lib.eye(3)),
    lambda lib: lib.linalg.cholesky(lib.diag(lib.tensor([1., -1, 1]))),
    lambda lib: lib.linalg.cholesky(-lib.eye(3).expand(2, 3, 3)),
])
def test_singular_errors_are_linalg_errors(fn):
    err = _same_error(fn)
    assert isinstance(err, ember.linalg.LinAlgError) and isinstance(err, RuntimeError)


def test_det_backward_of_a_singular_matrix_regression():
    # regression: the backward solved A X = I and raised LinAlgError; torch gives det * A^-T = 0
    check_against_torch(lambda lib, x: lib.linalg.det(x), [np.array([[1.0, 2.0], [2.0, 4.0]])])
    batch = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), well_conditioned(2, 2)])
    check_against_torch(lambda lib, x: lib.linalg.det(x), [batch])


def test_solve_dtype_error_matches_torch():
    _same_error(lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(2, dtype=lib.int64)))


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(upper, left, unit):
    a = well_conditioned(2, 3, 3)
    b = r(2, 3, 4) if left else r(2, 4, 3)
    check_against_torch(lambda lib, x, y: lib.linalg.solve_triangular(
        x, y, upper=upper, left=left, unitriangular=unit), [a, b])


def test_vecdot_diagonal_matmul():
    check_against_torch(lambda lib, x, y: lib.linalg.vecdot(x, y, dim=0), [r(3, 4), r(3, 4)])
    check_against_torch(lambda lib, x: lib.linalg.diagonal(x, offset=1), [r(2, 3, 4)])
    check_against_torch(lambda lib, x, y: lib.linalg.matmul(x, y), [r(2, 3, 4), r(4, 2)])


@pytest.mark.filterwarnings("ignore:torch.qr is deprecated")
def test_legacy_svd_without_uv():
    e = ember.svd(ember.tensor(r(3, 2)), compute_uv=False)
    t = torch.svd(torch.tensor(r(3, 2)), compute_uv=False)
    assert [tuple(x.shape) for x in e] == [tuple(x.shape) for x in t]
    check_against_torch(lambda lib, x: x.svd()[1], [r(3, 2)])
    check_against_torch(lambda lib, x: tuple(x.qr()), [r(3, 2)])


@pytest.mark.parametrize("fn,a", [
    # regression: the backward raised LinAlgError; torch's LU solve gives inf there
    (lambda lib, x: lib.linalg.slogdet(x)[1], [[1.0, 2.0], [2.0, 4.0]]),
    # regressions: nan gradients where torch's are finite, because the 1/gap terms of the
    # eigenvectors / singular vectors were formed although only the values were used
    (lambda lib, x: lib.linalg.eigh(x)[0], [[1.0, 0.0], [0.0, 1.0]]),
    (lambda lib, x: lib.linalg.eigvalsh(x), [[2.0, 0.0], [0.0, 2.0]]),
    (lambda lib, x: lib.linalg.svdvals(x), [[0.0, 0.0], [0.0, 0.0]]),
    (lambda lib, x: lib.linalg.svd(x)[1], [[1.0, 0.0], [0.0, 1.0]]),
    (lambda lib, x: lib.linalg.matrix_norm(x, 2), [[0.0, 0.0], [0.0, 0.0]]),
    # regression: |x|^(p-1) is inf at a zero entry for p < 1; torch gives 0
    (lambda lib, x: lib.linalg.vector_norm(x, 0.5), [0.0, 2.0]),
])
def test_degenerate_gradients_match_torch(fn, a):
    check_against_torch(fn, [np.array(a)])


@pytest.mark.parametrize("fn", [
    lambda lib: lib.linalg.inv(lib.eye(2, dtype=lib.float16)),
    lambda lib: lib.linalg.det(lib.eye(2, dtype=lib.float16)),
    lambda lib: lib.linalg.cholesky(lib.eye(2, dtype=lib.float16)),
    lambda lib: lib.linalg.eigh(lib.eye(2, dtype=lib.int64)),
    lambda lib: lib.linalg.pinv(lib.eye(2, dtype=lib.int64)),
    lambda lib: lib.linalg.matrix_rank(lib.eye(2, dtype=lib.int64)),
    lambda lib: lib.linalg.multi_dot([lib.ones(2, 2), lib.ones(2, 2, 2)]),
    lambda lib: lib.linalg.multi_dot([lib.ones(2, 2, 2), lib.ones(2, 2)]),
    lambda lib: lib.linalg.multi_dot([lib.ones(2, 2), lib.ones(2, 2, 2), lib.ones(2, 2)]),
    lambda lib: lib.linalg.multi_dot([lib.ones(2, 3), lib.ones(2, 2)]),
    lambda lib: lib.linalg.multi_dot([lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64)]),
    lambda lib: lib.linalg.matrix_power(lib.eye(2), 2.0),
    lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(2), left=False),
    lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(2, 3), left=False),
    lambda lib: lib.linalg.qr(lib.ones(2, 2), "x"),
    lambda lib: lib.linalg.eigh(lib.ones(2, 2), "X"),
    lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), 1),
    lambda lib: lib.linalg.matrix_norm(lib.ones(2, 2), 3),
    lambda lib: lib.linalg.lstsq(lib.ones(3, 2), lib.ones(4, 1)),
])
def test_more_errors_match_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception) as e_err:
        fn(ember)
    assert (type(e_err.value).__name__, str(e_err.value)) == (type(t_err.value).__name__, str(t_err.value))


def test_half_vector_norm_is_allowed_like_torch():
    x = ember.ones(4, dtype=ember.float16)
    assert ember.linalg.vector_norm(x).dtype is ember.float16
    assert float(ember.linalg.vector_norm(x)) == 2.0


def test_gradcheck_more_linalg():
    a = ember.tensor(well_conditioned(3, 3), requires_grad=True)
    b = ember.tensor(r(3, 2), requires_grad=True)
    s = ember.tensor(sym(3, 3), requires_grad=True)
    w = ember.tensor(r(4, 3), requires_grad=True)
    assert gradcheck(lambda x, y: ember.linalg.solve(x, y), (a, b))
    assert gradcheck(lambda x: ember.linalg.slogdet(x)[1], (a,))
    assert gradcheck(lambda x: ember.linalg.eigh((x + x.mT) / 2)[1].abs(), (s,))
    assert gradcheck(lambda x: ember.linalg.pinv(x), (w,))
    assert gradcheck(lambda x: ember.linalg.matrix_norm(x, "nuc"), (w,))
    assert gradcheck(lambda x: ember.linalg.vector_norm(x, 3, dim=0), (w,))
    assert gradcheck(lambda x: ember.linalg.qr(x, "complete")[1], (ember.tensor(r(2, 4), requires_grad=True),))


def test_solve_triangular_of_a_singular_matrix_does_not_raise_regression():
    # regression: it went through LAPACK's gesv and raised torch.linalg.solve's LinAlgError;
    # torch's triangular solve returns inf/nan
    a = np.array([[0.0, 1.0], [0.0, 0.0]])
    e = ember.linalg.solve_triangular(ember.tensor(a), ember.ones(2, 1, dtype=ember.float64), upper=True)
    t = torch.linalg.solve_triangular(torch.tensor(a), torch.ones(2, 1, dtype=torch.float64), upper=True)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    _same_error(lambda lib: lib.linalg.solve_triangular(lib.eye(3).expand(2, 3, 3), lib.ones(2, 3), upper=True))


_A = r(2, 4, 3)
_SQ = r(2, 3, 3) + 3 * np.eye(3)
FLOAT32_CASES = {
    "cholesky": (lambda lib, x: lib.linalg.cholesky(x), [_SQ @ np.swapaxes(_SQ, -1, -2) + np.eye(3)]),
    "eigvalsh": (lambda lib, x: lib.linalg.eigvalsh(x), [_SQ + np.swapaxes(_SQ, -1, -2)]),
    "svdvals": (lambda lib, x: lib.linalg.svdvals(x), [_A]),
    "qr": (lambda lib, x: tuple(lib.linalg.qr(x)), [_A]),
    "pinv": (lambda lib, x: lib.linalg.pinv(x), [_A]),
    "fro": (lambda lib, x: lib.linalg.norm(x, dim=(1, 2)), [_A]),
    "nuc": (lambda lib, x: lib.linalg.matrix_norm(x, "nuc"), [_A]),
    "vector_norm": (lambda lib, x: lib.linalg.vector_norm(x, 3), [_A]),
    "lstsq": (lambda lib, x, y: lib.linalg.lstsq(x, y).solution, [_A, r(2, 4, 2)]),
    "cross": (lambda lib, x, y: lib.linalg.cross(x, y), [_A, _A[::-1].copy()]),
    "matrix_power": (lambda lib, x: lib.linalg.matrix_power(x, -2), [_SQ]),
    "slogdet": (lambda lib, x: tuple(lib.linalg.slogdet(x)), [_SQ]),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_float32_against_torch(name):
    fn, arrays = FLOAT32_CASES[name]
    check_against_torch(fn, arrays, "float32", rtol=2e-3, atol=2e-4)


def test_inv_ex_and_cholesky_ex():
    check_against_torch(lambda lib, x: lib.linalg.inv_ex(x).inverse, [well_conditioned(2, 3, 3)])
    check_against_torch(lambda lib, x: lib.linalg.cholesky_ex(x, upper=True).L, [spd(2, 3, 3)])
    bad = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0]), np.ones((3, 3))])
    for name in ("inv_ex", "cholesky_ex"):
        e = getattr(ember.linalg, name)(ember.tensor(bad))
        t = getattr(torch.linalg, name)(torch.tensor(bad))
        assert e.info.dtype is ember.int32
        np.testing.assert_array_equal(e.info.numpy(), t.info.numpy())
        np.testing.assert_allclose(e[0][0].numpy(), t[0][0].numpy())  # the good matrix
    _same_error(lambda lib: lib.linalg.cholesky_ex(-lib.eye(2), check_errors=True))
    _same_error(lambda lib: lib.linalg.inv_ex(lib.zeros(2, 2), check_errors=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [0.1, 2.0, 20.0])
def test_matrix_exp(dtype, scale):
    a = r(2, 3, 3) * scale
    t = dict(rtol=1e-3, atol=1e-3) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)
    check_against_torch(lambda lib, x: lib.linalg.matrix_exp(x), [a], dtype, **t)
    check_against_torch(lambda lib, x: x.matrix_exp(), [a], dtype, **t)


def test_matrix_exp_gradcheck_and_errors():
    a = ember.tensor(r(3, 3), requires_grad=True)
    assert gradcheck(lambda x: ember.matrix_exp(x), (a,))
    _same_error(lambda lib: lib.linalg.matrix_exp(lib.ones(2, 3)))
    _same_error(lambda lib: lib.linalg.matrix_exp(lib.ones(2, 2).long()))
