"""InstanceNorm1d/2d/3d and F.instance_norm (ember/nn/modules/instancenorm.py,
ember/nn/functional/normalization.py) against torch: outputs, gradients, running statistics,
modes, unbatched input, state dicts, warnings and errors."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, check_against_torch, same_error

DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


# ------------------------------------------------------------------ F.instance_norm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 3, 4, 2), (2, 3, 2, 3, 2), (4, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_functional(rng, dtype, shape, affine):
    x = rng.standard_normal(shape) * 3 + 1

    def fn(lib, x, w, b):
        return F(lib).instance_norm(x, weight=w if affine else None, bias=b if affine else None,
                                    eps=1e-3)

    check_against_torch(fn, [x, rng.random(3) + 0.5, rng.standard_normal(3)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_stats(rng, dtype, use_input_stats):
    rm0, rv0 = rng.standard_normal(3), rng.random(3) + 0.5

    def fn(lib, x, w, b):
        rm, rv = lib.tensor(rm0).to(x.dtype), lib.tensor(rv0).to(x.dtype)
        out = F(lib).instance_norm(x, rm, rv, w, b, use_input_stats=use_input_stats,
                                   momentum=0.3)
        return out, rm, rv  # the running statistics after the update are compared too

    check_against_torch(fn, [rng.standard_normal((4, 3, 5)) * 2, rng.random(3) + 0.5,
                             rng.standard_normal(3)], dtype=dtype)


def test_instance_norm_noncontiguous_input(rng):
    def fn(lib, x):
        return F(lib).instance_norm(x.transpose(1, 2))

    check_against_torch(fn, [rng.standard_normal((2, 6, 3))])


def test_instance_norm_gradcheck(rng):
    x = ember.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = ember.tensor(rng.random(3) + 0.5, requires_grad=True)
    b = ember.tensor(rng.standard_normal(3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w, b: F(ember).instance_norm(x, weight=w, bias=b),
                                    (x, w, b))
    assert ember.autograd.gradgradcheck(lambda x, w: F(ember).instance_norm(x, weight=w), (x, w))


@pytest.mark.parametrize("call", [
    lambda lib: F(lib).instance_norm(lib.ones(2, 3, 1)),  # one spatial element
    lambda lib: F(lib).instance_norm(lib.ones(2, 3, 1, 1)),
    lambda lib: F(lib).instance_norm(lib.ones(2, 3, 4), use_input_stats=False),
    lambda lib: F(lib).instance_norm(lib.ones(2, 3, 4), weight=lib.ones(2)),
    lambda lib: F(lib).instance_norm(lib.ones(2, 3, 4), lib.zeros(4), lib.ones(4)),
])
def test_instance_norm_errors_as_torch(call):
    same_error(call)


def test_instance_norm_spatial_message():
    same_error(lambda lib: F(lib).instance_norm(lib.ones(2, 3, 1)),
               match=r"Expected more than 1 spatial element when training, got input size "
                     r"torch.Size\(\[2, 3, 1\]\)")


# ------------------------------------------------------------------ modules

MODULES = {1: ((2, 3, 5), (3, 5)), 2: ((2, 3, 4, 2), (3, 4, 2)), 3: ((2, 3, 2, 3, 2), (3, 2, 2, 2))}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (False, True),
                                          (True, True)])
def test_instance_norm_module_train_and_eval(rng, n, batched, affine, track):
    shape = MODULES[n][0 if batched else 1]
    x0 = rng.standard_normal(shape) * 2 + 0.5
    results = []
    for lib in (ember, torch):
        m = getattr(lib.nn, f"InstanceNorm{n}d")(3, affine=affine, track_running_stats=track,
                                                 momentum=0.2).double()
        if affine:
            with lib.no_grad():
                m.weight.copy_(lib.tensor([0.5, 1.5, 2.0]))
                m.bias.copy_(lib.tensor([0.1, -0.2, 0.3]))
        x = lib.tensor(x0, requires_grad=True)
        y_train = m(x)
        m(x * 2)
        y_train.backward(lib.tensor(np.cos(x0)))
        m.eval()
        y_eval = m(x)
        results.append([y_train, y_eval, x.grad] + list(m.state_dict().values()))
        results[-1].append(list(m.state_dict()))
    assert results[0][-1] == results[1][-1]  # state_dict keys
    for e, t in zip(results[0][:-1], results[1][:-1]):
        assert_close(e, t)


def test_instance_norm_num_batches_tracked_not_counted():
    for lib in (ember, torch):
        m = lib.nn.InstanceNorm1d(3, track_running_stats=True)
        m(lib.randn(2, 3, 4))
        assert int(m.num_batches_tracked) == 0


def test_instance_norm_reprs_and_defaults():
    for args, kw in (((3,), {}), ((4,), dict(affine=True, track_running_stats=True, eps=1e-3)),
                     ((5,), dict(momentum=None))):
        for n in (1, 2, 3):
            e = getattr(ember.nn, f"InstanceNorm{n}d")(*args, **kw)
            t = getattr(torch.nn, f"InstanceNorm{n}d")(*args, **kw)
            assert repr(e) == repr(t)
            assert list(e.state_dict()) == list(t.state_dict())
    m = ember.nn.InstanceNorm2d(3)
    assert m.weight is None and m.running_mean is None and not m.affine


def test_instance_norm_channel_mismatch_warns_or_raises():
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="does not match num_features"):
            lib.nn.InstanceNorm1d(4)(lib.randn(2, 3, 5))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.InstanceNorm2d(3)(lib.randn(3, 4, 5))  # unbatched, matching: silent
    same_error(lambda lib: lib.nn.InstanceNorm2d(4, affine=True)(lib.randn(2, 3, 4, 5)),
               match=r"expected input's size at dim=1 to match num_features \(4\), but got: 3\.")
    same_error(lambda lib: lib.nn.InstanceNorm1d(4, affine=True)(lib.randn(3, 5)),
               match=r"dim=0")


@pytest.mark.parametrize("n,bad", [(1, (3,)), (1, (2, 3, 4, 5)), (2, (3, 4)), (3, (2, 3, 4, 5, 6, 7))])
def test_instance_norm_wrong_rank(n, bad):
    same_error(lambda lib: getattr(lib.nn, f"InstanceNorm{n}d")(3)(lib.ones(*bad)))


def test_instance_norm_old_checkpoint_with_running_stats():
    sd = {"running_mean": ember.zeros(3), "running_var": ember.ones(3)}
    results = []
    for lib in (ember, torch):
        m = lib.nn.InstanceNorm1d(3)
        state = collections.OrderedDict((k, lib.tensor(v.numpy())) for k, v in sd.items())
        state._metadata = {"": {}}  # no version: a pre-0.4 checkpoint
        with pytest.raises(RuntimeError) as info:
            m.load_state_dict(state)
        results.append(str(info.value))
    assert "Unexpected running stats buffer(s) \"running_mean\" and \"running_var\"" in results[0]
    assert results[0] == results[1]


def test_instance_norm_float32_matches(rng):
    x0 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    outs = [lib.nn.InstanceNorm2d(3, affine=True)(lib.tensor(x0)).detach().numpy()
            for lib in (ember, torch)]
    assert outs[0].dtype == np.float32
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ the row kernels (ember/_kernels/norm.py)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 5, 7, 3), (3, 2, 13), (2, 3, 3, 2, 5)])
@pytest.mark.parametrize("params", ["both", "weight", "bias"])
def test_instance_norm_odd_sizes_and_single_parameters(rng, dtype, shape, params):
    c = shape[1]

    def fn(lib, x, w, b):
        return F(lib).instance_norm(x, weight=w if params != "bias" else None,
                                    bias=b if params != "weight" else None)

    check_against_torch(fn, [rng.standard_normal(shape) * 2 - 1, rng.random(c) + 0.5,
                             rng.standard_normal(c)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_noncontiguous_input_and_grad(rng, dtype):
    # a permuted 4-d input, and an output used transposed so its gradient arrives permuted too
    def fn(lib, x, w, b):
        return F(lib).instance_norm(x.permute(0, 3, 1, 2), weight=w, bias=b).transpose(2, 3)

    check_against_torch(fn, [rng.standard_normal((2, 5, 4, 3)), rng.random(3) + 0.5,
                             rng.standard_normal(3)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_eval_path_odd_sizes(rng, dtype):
    rm0, rv0 = rng.standard_normal(4), rng.random(4) + 0.2

    def fn(lib, x, w, b):
        rm, rv = lib.tensor(rm0).to(x.dtype), lib.tensor(rv0).to(x.dtype)
        return F(lib).instance_norm(x, rm, rv, w, b, use_input_stats=False, eps=1e-3)

    check_against_torch(fn, [rng.standard_normal((3, 4, 5, 3)), rng.random(4) + 0.5,
                             rng.standard_normal(4)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_parallel_kernels_match_torch(rng, dtype):
    # 2 x 4 x 190 x 190 = 288,800 elements: above the kernels' serial threshold
    def fn(lib, x, w, b):
        return F(lib).instance_norm(x, weight=w, bias=b)

    check_against_torch(fn, [rng.standard_normal((2, 4, 190, 190)), rng.random(4) + 0.5,
                             rng.standard_normal(4)], dtype=dtype)


def test_instance_norm_float32_large_mean_keeps_its_digits(rng):
    # planes far from zero: the kernel centres before scaling, so nothing cancels
    x0 = (rng.standard_normal((2, 3, 16, 16)) * 0.5 + 1000).astype(np.float32)
    outs = [F(lib).instance_norm(lib.tensor(x0)).numpy() for lib in (ember, torch)]
    reference = F(torch).instance_norm(torch.tensor(x0.astype(np.float64))).numpy()
    np.testing.assert_allclose(outs[0], reference, atol=2e-3)
    np.testing.assert_allclose(outs[0], outs[1], atol=2e-3)


def test_instance_norm_float32_running_stats_2d(rng):
    rm0, rv0 = rng.standard_normal(3), rng.random(3) + 0.5

    def fn(lib, x):
        rm, rv = lib.tensor(rm0).float(), lib.tensor(rv0).float()
        return F(lib).instance_norm(x, rm, rv, momentum=0.25), rm, rv

    check_against_torch(fn, [rng.standard_normal((5, 3, 4, 6)) * 3 + 2], dtype="float32")


def test_instance_norm_float16_and_empty_take_the_composite_path(rng):
    x0 = rng.standard_normal((2, 3, 4, 4))
    e = F(ember).instance_norm(ember.tensor(x0).half())
    t = F(torch).instance_norm(torch.tensor(x0).half())
    assert e.dtype == ember.float16
    np.testing.assert_allclose(e.float().numpy(), t.float().numpy(), atol=1e-2)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean of an empty plane
        check_against_torch(lambda lib, x, w: F(lib).instance_norm(x, weight=w),
                            [np.zeros((2, 3, 0)), np.ones(3)])


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 0, 4, 4)])
def test_instance_norm_empty_batch_or_channels_backward(shape):
    # an empty batch divided the per-plane count by zero channels in backward (ZeroDivisionError)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_against_torch(lambda lib, x: F(lib).instance_norm(x), [np.zeros(shape)])

def test_instance_norm_gradcheck_every_path(rng):
    # (the path with the planes' own statistics: test_instance_norm_gradcheck)
    x = ember.tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    w = ember.tensor(rng.random(2) + 0.5, requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)
    rm, rv = ember.tensor(rng.standard_normal(2)), ember.tensor(rng.random(2) + 0.5)

    def eval_path(x, w, b):
        return F(ember).instance_norm(x, rm, rv, w, b, use_input_stats=False)

    assert ember.autograd.gradcheck(eval_path, (x, w, b))
    assert ember.autograd.gradgradcheck(lambda x, w: eval_path(x, w, b), (x, w))


def test_instance_norm_double_backward_matches_torch(rng):
    x0, w0 = rng.standard_normal((2, 3, 4)), rng.random(3) + 0.5
    results = []
    for lib in (ember, torch):
        x = lib.tensor(x0, requires_grad=True)
        w = lib.tensor(w0, requires_grad=True)
        y = F(lib).instance_norm(x, weight=w)
        gx, = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        results.append((gx, x.grad, w.grad))
    for e, t in zip(*results):
        assert_close(e, t)
