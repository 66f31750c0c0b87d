"""BatchNorm1d/2d/3d, LayerNorm, GroupNorm (ember/nn/functional/normalization.py and the modules)
against torch: outputs, gradients, running statistics, modes, state dicts and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests.helpers import assert_close, check_against_torch, same_error

DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


# ------------------------------------------------------------------ functional batch_norm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_functional(rng, dtype, training, shape, affine):
    x = rng.standard_normal(shape) * 2 + 1
    rm0, rv0 = rng.standard_normal(3), rng.random(3) + 0.5

    def fn(lib, x, w, b):
        rm, rv = lib.tensor(rm0).to(x.dtype), lib.tensor(rv0).to(x.dtype)
        out = F(lib).batch_norm(x, rm, rv, w if affine else None, b if affine else None,
                                training=training, momentum=0.3, eps=1e-3)
        return out, rm, rv  # the running statistics after the update are compared too

    check_against_torch(fn, [x, rng.random(3) + 0.5, rng.standard_normal(3)], dtype=dtype)


def test_batch_norm_without_running_stats(rng):
    x = rng.standard_normal((4, 3, 5))
    check_against_torch(lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, training=True),
                        [x, rng.random(3), rng.random(3)])


def test_batch_norm_gradcheck(rng):
    x = ember.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = ember.tensor(rng.random(2) + 0.5, requires_grad=True)
    b = ember.tensor(rng.random(2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: F(ember).batch_norm(x, None, None, w, b, training=True), (x, w, b))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 4), c=st.integers(1, 4), spatial=st.lists(st.integers(1, 3), max_size=2),
       seed=st.integers(0, 2**16))
def test_batch_norm_property(n, c, spatial, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *spatial)) * 3
    check_against_torch(lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, training=True),
                        [x, rng.random(c) + 0.1, rng.random(c)])


# ------------------------------------------------------------------ BatchNorm modules

def _pair(cls_name, *args, **kwargs):
    return getattr(ember.nn, cls_name)(*args, **kwargs), getattr(torch.nn, cls_name)(*args, **kwargs)


@pytest.mark.parametrize("cls_name,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                            ("BatchNorm2d", (4, 3, 5, 5)),
                                            ("BatchNorm3d", (2, 3, 2, 3, 4))])
@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
def test_batchnorm_module_training_then_eval(rng, cls_name, shape, momentum):
    e, t = _pair(cls_name, 3, momentum=momentum)
    for _ in range(3):
        x = rng.standard_normal(shape).astype(np.float32) * 2 + 0.5
        check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert_close(getattr(e, name), getattr(t, name), "float32", what=name)
    e.eval(), t.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")
    assert int(e.num_batches_tracked) == 3  # eval does not count


def test_batchnorm_momentum_none_is_cumulative_average(rng):
    bn = ember.nn.BatchNorm1d(2, momentum=None, affine=False, dtype=ember.float64)
    batches = [rng.standard_normal((5, 2)) for _ in range(4)]
    for b in batches:
        bn(ember.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-12)
    # the running variance averages the unbiased batch variances
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-12)


@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_options(rng, track, affine):
    e, t = _pair("BatchNorm2d", 3, affine=affine, track_running_stats=track)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")
    e.eval(), t.eval()  # without running statistics, eval still uses the batch's
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")


def test_batchnorm_bias_false_and_repr():
    e, t = _pair("BatchNorm1d", 4, eps=1e-3, momentum=None, bias=False)
    assert e.bias is None and repr(e) == repr(t)
    assert repr(e) == ("BatchNorm1d(4, eps=0.001, momentum=None, affine=True, bias=False, "
                       "track_running_stats=True)")


def test_batchnorm_state_dict_round_trip_and_old_checkpoints(rng):
    e = ember.nn.BatchNorm2d(3)
    e(ember.tensor(rng.standard_normal((4, 3, 2, 2)), dtype=ember.float32))
    fresh = ember.nn.BatchNorm2d(3)
    fresh.load_state_dict(e.state_dict())
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(fresh, name).detach().numpy(),
                                      getattr(e, name).detach().numpy())
    # a checkpoint from before num_batches_tracked existed (no version metadata) still loads
    old = {k: v for k, v in e.state_dict().items() if k != "num_batches_tracked"}
    ember.nn.BatchNorm2d(3).load_state_dict(old)


def test_batchnorm_float64_module(rng):
    e = ember.nn.BatchNorm1d(3, dtype=ember.float64)
    t = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [rng.standard_normal((4, 3))])
    assert_close(e.running_var, t.running_var, what="running_var")


# ------------------------------------------------------------------ LayerNorm, GroupNorm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized_shape", [(6,), (5, 6), (4, 5, 6)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(rng, dtype, normalized_shape, affine):
    x = rng.standard_normal((2, 4, 5, 6)) * 3 + 2
    w = rng.random(normalized_shape) + 0.5
    b = rng.standard_normal(normalized_shape)

    def fn(lib, x, w, b):
        return F(lib).layer_norm(x, normalized_shape, w if affine != "none" else None,
                                 b if affine == "both" else None, eps=1e-4)

    check_against_torch(fn, [x, w, b], dtype=dtype)


def test_layer_norm_module(rng):
    for kwargs in ({}, {"elementwise_affine": False}, {"bias": False}):
        e, t = _pair("LayerNorm", (3, 4), **kwargs)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        x = rng.standard_normal((2, 3, 4)).astype(np.float32)
        check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")
    assert ember.nn.LayerNorm(5).normalized_shape == (5,)


def test_layer_norm_gradcheck(rng):
    x = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = ember.tensor(rng.random(4) + 0.5, requires_grad=True)
    b = ember.tensor(rng.random(4), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w, b: F(ember).layer_norm(x, (4,), w, b), (x, w, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups", [((3, 6), 3), ((2, 6, 5), 2), ((2, 4, 3, 3), 4),
                                          ((2, 4, 3, 3), 1), ((2, 6, 2, 2, 2), 3)])
def test_group_norm(rng, dtype, shape, groups):
    x = rng.standard_normal(shape) * 2 - 1
    c = shape[1]
    check_against_torch(lambda lib, x, w, b: F(lib).group_norm(x, groups, w, b, eps=1e-3),
                        [x, rng.random(c) + 0.5, rng.standard_normal(c)], dtype=dtype)
    check_against_torch(lambda lib, x: F(lib).group_norm(x, groups), [x], dtype=dtype)


def test_group_norm_module_and_gradcheck(rng):
    e, t = _pair("GroupNorm", 2, 4)
    assert repr(e) == repr(t) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [x], dtype="float32")
    xg = ember.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    wg = ember.tensor(rng.random(4) + 0.5, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w: F(ember).group_norm(x, 2, w), (xg, wg))


# ------------------------------------------------------------------ in-place protection

def test_weight_changed_in_place_before_backward_raises(rng):
    bn = ember.nn.BatchNorm1d(3)
    out = bn(ember.tensor(rng.standard_normal((4, 3)), dtype=ember.float32)).sum()
    with ember.no_grad():
        bn.weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


# ------------------------------------------------------------------ errors, as torch's

@pytest.mark.parametrize("fn,match", [
    (lambda lib: F(lib).batch_norm(lib.zeros(1, 3), None, None, training=True),
     r"Expected more than 1 value per channel when training, got input size torch.Size\(\[1, 3\]\)"),
    (lambda lib: F(lib).batch_norm(lib.zeros(2, 3), lib.zeros(4), lib.ones(4), training=True),
     "running_mean should contain 3 elements not 4"),
    (lambda lib: F(lib).batch_norm(lib.zeros(2, 3), lib.zeros(3), lib.ones(3), weight=lib.ones(4)),
     "weight should contain 3 elements not 4"),
    (lambda lib: F(lib).batch_norm(lib.zeros(2, 3), None, None, training=False),
     "running_mean must be defined in evaluation mode"),
    (lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(2, 3, 4, 5)), r"expected 2D or 3D input \(got 4D input\)"),
    (lambda lib: lib.nn.BatchNorm2d(3)(lib.zeros(2, 3, 4)), r"expected 4D input \(got 3D input\)"),
    (lambda lib: lib.nn.BatchNorm3d(3)(lib.zeros(2, 3, 4, 4)), r"expected 5D input \(got 4D input\)"),
    (lambda lib: F(lib).layer_norm(lib.zeros(2, 3, 4), [5]),
     r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of "
     r"size\[2, 3, 4\]"),
    (lambda lib: F(lib).layer_norm(lib.zeros(2, 3, 4), [4], weight=lib.ones(5)),
     r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[5\] "
     r"and normalized_shape = \[4\]"),
    (lambda lib: F(lib).layer_norm(lib.zeros(2, 3, 4), []),
     "Expected normalized_shape to be at least 1-dimensional"),
    (lambda lib: F(lib).group_norm(lib.zeros(2, 6, 4), 4),
     r"Expected number of channels in input to be divisible by num_groups, but got input of "
     r"shape \[2, 6, 4\] and num_groups=4"),
    (lambda lib: F(lib).group_norm(lib.zeros(1, 4), 4),
     r"Expected more than 1 value per channel when training, got input size \[1, 4\]"),
    (lambda lib: F(lib).group_norm(lib.zeros(2, 6, 4), 3, weight=lib.ones(5)),
     r"Expected weight to be a vector of size equal to the number of channels in input"),
    (lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(4, 3, dtype=lib.float64)),
     r"mixed dtype \(CPU\): all inputs must share same datatype"),
    (lambda lib: lib.nn.LayerNorm(3)(lib.zeros(4, 3, dtype=lib.float64)), "mixed dtype"),
    (lambda lib: F(lib).group_norm(lib.zeros(6), 3),
     "Expected at least 2 dimensions for input tensor but received 1"),
    (lambda lib: lib.nn.GroupNorm(4, 6), r"num_channels \(6\) must be divisible by num_groups \(4\)"),
])
def test_errors_match_torch(fn, match):
    same_error(fn, match=match)
