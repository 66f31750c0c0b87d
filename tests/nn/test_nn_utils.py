"""ember.nn.utils's gradient clipping and parameter vectors against torch.nn.utils."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, same_error

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
DTYPES = ["float64", "float32"]


def params_with_grads(lib, dtype, scale=1.0, none_at=None, seed=0):
    """Three parameters of different shapes with the same gradients in both libraries."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ps = []
    for i, shape in enumerate(shapes):
        p = lib.nn.Parameter(lib.tensor(rng.standard_normal(shape).astype(dtype)))
        g = (rng.standard_normal(shape) * scale).astype(dtype)
        if i != none_at:
            p.grad = lib.tensor(g)
        ps.append(p)
    return ps


def run_both(fn, dtype, **kw):
    out = []
    for lib in (ember, torch):
        ps = params_with_grads(lib, dtype, **kw)
        res = fn(lib, ps)
        out.append((res, [None if p.grad is None else p.grad.numpy().copy() for p in ps]))
    (er, eg), (tr, tg) = out
    if tr is None:
        assert er is None
    else:
        assert_close(er, tr, dtype, what="returned norm")
    for a, b in zip(eg, tg):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b, dtype, what="clipped grad")
    return er


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, 0.5, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_against_torch(dtype, norm_type, max_norm):
    nt = float(norm_type)
    run_both(lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, max_norm, nt), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_norm_of_large_and_strided_gradients(dtype):
    # the 2-norm is one dot product per gradient: a million values, and a transposed
    # (non-contiguous) gradient, still give torch's norm and scaling
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(dtype) for s in [(1000, 1000), (300, 200), (7,)]]
    out = []
    for lib in (ember, torch):
        ps = [lib.nn.Parameter(lib.zeros(*g.shape, dtype=getattr(lib, dtype))) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = lib.tensor(g)
        ps[1].grad = lib.tensor(grads[1].T.copy()).t()
        out.append((lib.nn.utils.clip_grad_norm_(ps, 1.0), [p.grad for p in ps]))
    (en, eg), (tn, tg) = out
    assert_close(en, tn, dtype, what="returned norm")
    for a, b in zip(eg, tg):
        assert_close(a, b, dtype, what="clipped grad")


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_norm_returns_norm_before_clipping(dtype):
    # TRAPS.md 25: the returned value is the total norm before clipping, and the coefficient is
    # max_norm / (total + 1e-6) clamped to 1
    p = ember.nn.Parameter(ember.zeros(2, dtype=getattr(ember, dtype)))
    p.grad = ember.tensor([3.0, 4.0], dtype=getattr(ember, dtype))
    total = ember.nn.utils.clip_grad_norm_(p, max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-6)
    p.grad = ember.tensor([0.3, 0.4], dtype=getattr(ember, dtype))
    ember.nn.utils.clip_grad_norm_(p, max_norm=1.0)  # coefficient clamped to 1: unchanged
    np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.4], rtol=1e-7)


def test_clip_grad_norm_single_tensor_generator_and_none_grads():
    run_both(lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps[0], 0.5), "float64")
    run_both(lambda lib, ps: lib.nn.utils.clip_grad_norm_((p for p in ps), 0.5), "float64")
    run_both(lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, 0.5), "float64", none_at=1)


@LIBS
def test_clip_grad_norm_empty(lib):
    assert float(lib.nn.utils.clip_grad_norm_([], 1.0)) == 0.0
    assert lib.nn.utils.clip_grad_norm_([], 1.0).dtype == lib.float32
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient "
                                         "clipping will occur."):
        lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)
    p = lib.nn.Parameter(lib.ones(2))
    assert float(lib.nn.utils.clip_grad_norm_([p], 1.0)) == 0.0  # no grads at all


def test_clip_grad_norm_nonfinite():
    def inf_grads(lib):
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.tensor([float("inf"), 1.0])
        return p

    def f(lib):
        lib.nn.utils.clip_grad_norm_(inf_grads(lib), 1.0, error_if_nonfinite=True)
    same_error(f, match="The total norm of order 2.0 for gradients from `parameters` is "
                        "non-finite, so it cannot be clipped")
    for lib in (ember, torch):  # without the flag: scaled by the non-finite norm, as torch
        p = inf_grads(lib)
        assert math.isinf(float(lib.nn.utils.clip_grad_norm_(p, 1.0)))
        assert np.array_equal(p.grad.numpy(), np.array([np.nan, 0.0], np.float32), equal_nan=True)


def test_clip_grad_norm_mixed_dtypes():
    def make(lib):
        a = lib.nn.Parameter(lib.ones(3))
        a.grad = lib.tensor([1.0, 2.0, 3.0])
        b = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        b.grad = lib.tensor([4.0, 5.0], dtype=lib.float64)
        return [a, b]

    res = []
    for lib in (ember, torch):
        ps = make(lib)
        total = lib.nn.utils.clip_grad_norm_(ps, 1.0)
        res.append((total, [p.grad for p in ps]))
    assert res[0][0].dtype == ember.float64 and res[1][0].dtype == torch.float64
    assert_close(res[0][0], res[1][0])
    for a, b in zip(res[0][1], res[1][1]):
        assert_close(a, b, "float32" if b.dtype == torch.float32 else "float64")


def test_get_total_norm_and_clip_grads_with_norm():
    def fn(lib, ps):
        grads = [p.grad for p in ps]
        total = lib.nn.utils.get_total_norm(grads, 3.0)
        lib.nn.utils.clip_grads_with_norm_(ps, 0.7, total)
        return total
    run_both(fn, "float64")
    run_both(fn, "float32")


def test_clip_grad_norm_deprecated_alias():
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.ones(2)
        with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
            lib.nn.utils.clip_grad_norm(p, 1.0)


def test_clip_grad_norm_foreach_flag_and_training_step():
    # foreach=True/False accepted (CPU); a real step: clip between backward and the update
    for foreach in (None, True, False):
        outs = []
        for lib in (ember, torch):
            lib.manual_seed(0)
            net = lib.nn.Linear(4, 3)
            with lib.no_grad():
                net.weight.copy_(lib.tensor(np.arange(12.0).reshape(3, 4).astype(np.float32)))
                net.bias.fill_(0.5)
            x = lib.tensor(np.linspace(-1, 1, 8).reshape(2, 4).astype(np.float32))
            net(x).pow(2).sum().backward()
            total = lib.nn.utils.clip_grad_norm_(net.parameters(), 2.0, foreach=foreach)
            outs.append([total, net.weight.grad, net.bias.grad])
        for a, b in zip(*outs):
            assert_close(a, b, "float32")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip_value", [0.0, 0.3, 2])
def test_clip_grad_value(dtype, clip_value):
    assert run_both(lambda lib, ps: lib.nn.utils.clip_grad_value_(ps, clip_value), dtype,
                    scale=2.0) is None
    run_both(lambda lib, ps: lib.nn.utils.clip_grad_value_(ps[1], clip_value), dtype, none_at=0)


def test_clip_utilities_do_not_record_graph():
    p = ember.nn.Parameter(ember.ones(3))
    p.grad = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = ember.nn.utils.clip_grad_norm_(p, 1.0)
    assert total.grad_fn is None and p.grad.grad_fn is None


# -- parameters_to_vector / vector_to_parameters ---------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_parameters_to_vector_values_and_grad(dtype):
    res = []
    for lib in (ember, torch):
        ps = params_with_grads(lib, dtype)
        vec = lib.nn.utils.parameters_to_vector(ps)
        (vec * lib.arange(vec.numel(), dtype=vec.dtype)).sum().backward()
        res.append([vec] + [p.grad for p in ps])
    for a, b in zip(*res):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_to_parameters_shares_memory(dtype):
    res = []
    for lib in (ember, torch):
        ps = params_with_grads(lib, dtype)
        vec = lib.tensor(np.arange(24, dtype=dtype))
        lib.nn.utils.vector_to_parameters(vec, ps)
        vec.mul_(2)  # the parameters' data are views of vec
        res.append([p.detach().clone() for p in ps] + [isinstance(ps[0], lib.nn.Parameter)])
    for a, b in zip(res[0][:-1], res[1][:-1]):
        assert_close(a, b, dtype)
    assert res[0][-1] and res[1][-1]


def test_vector_to_parameters_type_error():
    same_error(lambda lib: lib.nn.utils.vector_to_parameters([1.0],
                                                             [lib.nn.Parameter(lib.ones(1))]),
               match="expected torch.Tensor, but got: list")
