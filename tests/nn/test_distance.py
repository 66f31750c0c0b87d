"""F.normalize, F.pairwise_distance, F.pdist, nn.PairwiseDistance and nn.CosineSimilarity
(ember/nn/functional/distance.py, ember/nn/modules/distance.py) against torch."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from tests.helpers import check_against_torch, same_error

DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


# ------------------------------------------------------------------ normalize

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((2, 3, 4), -1), ((6,), 0), ((3, 4), 0),
                                       ((1, 4), 1)])
def test_normalize(rng, dtype, p, shape, dim):
    def fn(lib, x):
        return F(lib).normalize(x, p=p, dim=dim)

    check_against_torch(fn, [rng.standard_normal(shape)], dtype=dtype)


def test_normalize_clamps_small_norms_with_eps(rng):
    x0 = np.array([[1e-14, -2e-14], [3.0, 4.0], [0.0, 0.0]])

    def fn(lib, x):
        return F(lib).normalize(x, eps=1e-12)

    check_against_torch(fn, [x0])


def test_normalize_out_noncontiguous_and_gradcheck(rng):
    x0 = rng.standard_normal((3, 4))
    outs = []
    for lib in (ember, torch):
        out = lib.empty(3, 4, dtype=lib.float64)
        res = F(lib).normalize(lib.tensor(x0), out=out)
        assert res is out
        outs.append(out.numpy())
    np.testing.assert_allclose(outs[0], outs[1])
    check_against_torch(lambda lib, x: F(lib).normalize(x.t(), dim=0), [x0])
    x = ember.tensor(x0, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: F(ember).normalize(x, p=3.0), (x,))
    assert ember.autograd.gradgradcheck(lambda x: F(ember).normalize(x), (x,))


def test_normalize_errors_as_torch():
    same_error(lambda lib: F(lib).normalize(lib.ones(3), dim=1))


# ------------------------------------------------------------------ pairwise_distance

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, math.inf])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (5,)), ((5,), (5,)),
                                    ((2, 3, 4), (3, 4)), ((1, 3), (4, 3))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(rng, dtype, p, shapes, keepdim):
    def fn(lib, a, b):
        return F(lib).pairwise_distance(a, b, p=p, keepdim=keepdim)

    check_against_torch(fn, [rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])],
                        dtype=dtype)


def test_pairwise_distance_equal_inputs_and_gradcheck(rng):
    x0 = rng.standard_normal((3, 4))
    check_against_torch(lambda lib, a, b: F(lib).pairwise_distance(a, b), [x0, x0.copy()])
    a = ember.tensor(x0, requires_grad=True)
    b = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: F(ember).pairwise_distance(a, b, p=1.5), (a, b))


def test_pairwise_distance_integer_inputs_and_errors():
    for lib in (ember, torch):
        d = F(lib).pairwise_distance(lib.arange(4), lib.arange(4))
        np.testing.assert_allclose(d.numpy(), 2e-6, rtol=1e-5)
    same_error(lambda lib: F(lib).pairwise_distance(lib.ones(3, 2), lib.ones(4, 2)))


def test_pairwise_distance_module():
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    outs = []
    for lib in (ember, torch):
        m = lib.nn.PairwiseDistance(p=3.0, eps=1e-3, keepdim=True)
        assert m.norm == 3.0 and repr(m) == "PairwiseDistance()"
        outs.append(m(lib.tensor(a0), lib.tensor(b0)).numpy())
    np.testing.assert_allclose(outs[0], outs[1])


# ------------------------------------------------------------------ pdist

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, 0.0, math.inf])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4), (1, 3), (0, 2), (4, 1)])
def test_pdist(rng, dtype, p, shape):
    def fn(lib, x):
        return F(lib).pdist(x, p=p)

    # torch's pdist backward segfaults on an empty (0, M) input: values only there
    check_against_torch(fn, [rng.standard_normal(shape)], dtype=dtype, grad=shape[0] > 0)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_pdist_repeated_rows_and_ties(p):
    # equal rows: distance 0 and gradient 0; for inf ties get the whole gradient each
    x0 = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [2.0, 3.0, 0.0], [0.0, -1.0, 3.0]])
    check_against_torch(lambda lib, x: F(lib).pdist(x, p=p), [x0])


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_distances_with_zero_differences_below_p_one(p):
    # |d|^(p-1) is infinite at d = 0: torch's norm backward gives those entries 0, not NaN
    # (needs ember/_ops/reduce.py's Norm.backward masking them)
    x0 = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [2.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    check_against_torch(lambda lib, x: F(lib).pdist(x, p=p), [x0])
    check_against_torch(lambda lib, a, b: F(lib).pairwise_distance(a, b, p=p, eps=0),
                        [x0, x0[::-1].copy()])


def test_pdist_noncontiguous_gradcheck_and_no_columns(rng):
    check_against_torch(lambda lib, x: F(lib).pdist(x.t()), [rng.standard_normal((3, 5))])
    x = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: F(ember).pdist(x, p=2.5), (x,))
    check_against_torch(lambda lib, x: F(lib).pdist(x), [np.zeros((3, 0))])


@pytest.mark.parametrize("call", [
    lambda lib: F(lib).pdist(lib.ones(3)),
    lambda lib: F(lib).pdist(lib.ones(3, 2, 2)),
    lambda lib: F(lib).pdist(lib.ones(3, 2), p=-1),
    lambda lib: F(lib).pdist(lib.ones(3, 2, dtype=lib.int64)),
])
def test_pdist_errors_as_torch(call):
    same_error(call, match="pdist only supports")


# ------------------------------------------------------------------ CosineSimilarity

@pytest.mark.parametrize("dim", [1, 0, -1])
def test_cosine_similarity_module(rng, dim):
    def fn(lib, a, b):
        return lib.nn.CosineSimilarity(dim=dim, eps=1e-6)(a, b)

    check_against_torch(fn, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])
    for lib in (ember, torch):
        m = lib.nn.CosineSimilarity()
        assert (m.dim, m.eps, repr(m)) == (1, 1e-8, "CosineSimilarity()")
