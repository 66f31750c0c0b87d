"""Gradients of gradients through the linalg decompositions (cholesky, eigh, svd, qr) and
matrix_exp: their backwards are recorded in Tensor ops (ember/_ops/linalg.py), checked by
finite differences (gradgradcheck) and against torch's second derivatives."""
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck


def _spd(lib, x):
    return x @ x.mT + 3 * lib.eye(x.shape[-1], dtype=x.dtype)


def _sym(lib, x):
    return x + x.mT


# name -> (input shape, f(lib, x)); symmetric inputs are built inside f, so finite differences
# see the same function the analytic gradient describes
CASES = {
    "cholesky": ((2, 3, 3), lambda lib, x: lib.linalg.cholesky(_spd(lib, x))),
    "cholesky_upper": ((3, 3), lambda lib, x: lib.linalg.cholesky(_spd(lib, x), upper=True)),
    "eigh": ((2, 3, 3), lambda lib, x: _eigh_product(lib, _sym(lib, x))),
    "eigh_upper": ((3, 3), lambda lib, x: lib.linalg.eigh(_sym(lib, x), UPLO="U")[1].abs()),
    "eigvalsh": ((2, 4, 4), lambda lib, x: lib.linalg.eigvalsh(_sym(lib, x))),
    "svd_tall": ((2, 4, 3), lambda lib, x: _svd_product(lib, x, False)),
    "svd_wide_full": ((3, 5), lambda lib, x: lib.linalg.svd(x)[2][..., :3, :].abs()),
    "svdvals": ((2, 4, 3), lambda lib, x: lib.linalg.svdvals(x)),
    "qr_tall": ((2, 4, 3), lambda lib, x: _qr_product(lib, x, "reduced")),
    "qr_wide": ((3, 5), lambda lib, x: _qr_product(lib, x, "reduced")),
    "qr_complete_square": ((3, 3), lambda lib, x: _qr_product(lib, x, "complete")),
    "qr_complete_wide": ((2, 4), lambda lib, x: _qr_product(lib, x, "complete")),
    "matrix_exp": ((2, 3, 3), lambda lib, x: lib.linalg.matrix_exp(0.5 * x)),
}


def _eigh_product(lib, a):
    w, v = lib.linalg.eigh(a)
    return v.abs() * w.unsqueeze(-2)  # abs: eigenvectors are defined up to sign


def _svd_product(lib, x, full):
    u, s, vh = lib.linalg.svd(x, full_matrices=full)
    return u @ (s.unsqueeze(-1) * vh) + (u * s.unsqueeze(-2)).abs()


def _qr_product(lib, x, mode):
    q, r = lib.linalg.qr(x, mode=mode)
    return lib.cat([(q * q.sum(-2, keepdim=True)).flatten(), r.flatten()])


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    shape, f = CASES[name]
    x = ember.tensor(_input(shape), requires_grad=True)
    fn = lambda t: f(ember, t)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_vector_product_matches_torch(name):
    shape, f = CASES[name]
    data, v = _input(shape, 1), _input(shape, 2)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        out = f(lib, x)
        weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))
        (g,) = lib.autograd.grad((out * weights).sum(), x, create_graph=True)
        (hv,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
        results.append((g.detach().numpy(), hv.numpy()))
    (g, hv), (tg, thv) = results
    np.testing.assert_allclose(g, tg, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(hv, thv, rtol=1e-8, atol=1e-9)


def test_third_order_through_matrix_exp():
    """MatrixExp's backward is MatrixExp again, so any order is recorded."""
    data = 0.3 * _input((2, 2))
    results = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        (g,) = lib.autograd.grad(lib.linalg.matrix_exp(x).sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad((g * g).sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        results.append(g3.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-11)


def test_qr_complete_tall_is_not_differentiable_as_torch():
    """Q's extra columns are any orthonormal completion: torch refuses the backward."""
    for lib in (ember, torch):
        x = lib.tensor(_input((4, 3)), requires_grad=True)
        with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
            lib.linalg.qr(x, mode="complete")[1].sum().backward()
