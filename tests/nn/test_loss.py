"""Losses (ember/nn/functional/loss.py, ember/nn/modules/loss.py) against torch: values and
gradients for every reduction and dtype, the edge cases of cross-entropy, and torch's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests.helpers import check_against_torch, same_error

REDUCTIONS = ("none", "mean", "sum")
DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


@pytest.fixture
def logits(rng):
    return rng.standard_normal((6, 5)) * 3


# ------------------------------------------------------------------ cross_entropy, class indices

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_indices(rng, logits, dtype, reduction, label_smoothing, weighted):
    y = np.array([0, 4, 2, -100, 1, 4])
    w = rng.random(5) + 0.1

    def fn(lib, x):
        weight = lib.tensor(w).to(x.dtype) if weighted else None
        return F(lib).cross_entropy(x, lib.tensor(y), weight=weight, reduction=reduction,
                                    label_smoothing=label_smoothing)

    check_against_torch(fn, [logits], dtype=dtype)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 4, 3, 2), (2, 4, 2, 2, 3)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extra_dims(rng, shape, reduction):
    x = rng.standard_normal(shape)
    y = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    y.flat[0] = 7  # ignored
    check_against_torch(lambda lib, x: F(lib).cross_entropy(
        x, lib.tensor(y), reduction=reduction, ignore_index=7, label_smoothing=0.1), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 5, 3)])
def test_cross_entropy_probabilities(rng, reduction, label_smoothing, shape):
    x = rng.standard_normal(shape)
    p = rng.random(shape)
    p /= p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    w = rng.random(5)
    check_against_torch(lambda lib, x, p: F(lib).cross_entropy(
        x, p, weight=lib.tensor(w), reduction=reduction, label_smoothing=label_smoothing),
        [x, p])  # the target's gradient is compared too


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched(rng, reduction):
    x = rng.standard_normal(7)
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(3), reduction=reduction), [x])
    # a (1,) target is accepted too; torch's backward then fails (size mismatch), so values only
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor([3]), reduction=reduction),
                        [x], grad=False)


def test_cross_entropy_uint8_target(logits):
    y = np.array([0, 4, 2, 3, 1, 4], dtype=np.uint8)
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(y)), [logits])


def test_cross_entropy_all_ignored_mean_is_nan(logits):
    y = np.full(6, -100)
    out = check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(y)), [logits])
    assert np.isnan(out[0].item())


def test_cross_entropy_empty_batch_mean_is_nan():
    for target in (np.zeros(0, dtype=np.int64), np.zeros((0, 4))):
        out = check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(target)),
                                  [np.zeros((0, 4))], grad=False)
        assert np.isnan(out[0].item())


def test_cross_entropy_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-5e3, 5e3, 5e3]])
    out = check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor([1, 2]),
                                                                  reduction="none"), [x])
    assert np.all(np.isfinite(out[0].detach().numpy()))


def test_cross_entropy_float32_keeps_dtype_and_grad_fn(logits):
    x = ember.tensor(logits, dtype=ember.float32, requires_grad=True)
    loss = F(ember).cross_entropy(x, ember.tensor([0, 1, 2, 3, 4, 0]))
    assert loss.dtype == ember.float32 and loss.shape == ()
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    loss.backward()
    assert x.grad.dtype == ember.float32


def test_cross_entropy_gradcheck(rng):
    x = ember.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    p = ember.tensor(rng.random((3, 4, 2)), requires_grad=True)
    y = ember.tensor(rng.integers(0, 4, (3, 2)))
    w = ember.tensor(rng.random(4))
    assert ember.autograd.gradcheck(
        lambda x: F(ember).cross_entropy(x, y, weight=w, label_smoothing=0.2), (x,))
    assert ember.autograd.gradcheck(lambda x, p: F(ember).cross_entropy(x, p, label_smoothing=0.2),
                                    (x, p))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 6), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 2**16))
def test_cross_entropy_property(n, c, extra, smoothing, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *extra)) * 4
    y = rng.integers(0, c, (n, *extra))
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(y),
                                                            label_smoothing=smoothing), [x])


# ------------------------------------------------------------------ nll_loss

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (5,), (3, 5, 4), (2, 5, 3, 2)])
def test_nll_loss(rng, dtype, reduction, shape):
    x = rng.standard_normal(shape)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, 5, tshape)
    if y.ndim:
        y.flat[-1] = 1  # ignore_index below
    w = rng.random(5)
    check_against_torch(lambda lib, x: F(lib).nll_loss(
        x, lib.tensor(y), weight=lib.tensor(w).to(x.dtype), ignore_index=1, reduction=reduction),
        [x], dtype=dtype)


# ------------------------------------------------------------------ pointwise losses

POINTWISE = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}),
]


@pytest.mark.parametrize("name,kwargs", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pointwise_losses(rng, name, kwargs, reduction, dtype):
    x, t = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    t[0, 0, 0] = x[0, 0, 0]  # a zero difference: the subgradient torch picks
    check_against_torch(lambda lib, x, t: getattr(F(lib), name)(x, t, reduction=reduction, **kwargs),
                        [x, t], dtype=dtype)


@pytest.mark.parametrize("name,kwargs", POINTWISE)
def test_pointwise_losses_broadcast_with_warning(rng, name, kwargs):
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    with pytest.warns(UserWarning, match="different to the input size"):
        check_against_torch(lambda lib, x, t: getattr(F(lib), name)(x, t, **kwargs), [x, t])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses_weight(rng, name, reduction):
    x, t, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random((4, 3))
    check_against_torch(lambda lib, x, t: getattr(F(lib), name)(
        x, t, reduction=reduction, weight=lib.tensor(w)), [x, t])


def test_mse_loss_integer_target_and_mixed_dtypes(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    check_against_torch(lambda lib, x: F(lib).mse_loss(x, lib.tensor([[1, 0], [0, 1], [2, 2]])),
                        [x], dtype="float32")
    out = check_against_torch(lambda lib, x, t: F(lib).mse_loss(x, t.double()),
                              [x, rng.standard_normal((3, 2)).astype(np.float32)],
                              dtype="float32", grad=False)
    assert out[0].dtype == ember.float64


def test_mean_of_empty_is_nan():
    out = check_against_torch(lambda lib, x, t: F(lib).mse_loss(x, t), [np.zeros(0), np.zeros(0)],
                              grad=False)
    assert np.isnan(out[0].item())


# ------------------------------------------------------------------ binary cross-entropy

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy(rng, reduction, dtype):
    x, t, w = rng.uniform(0.05, 0.95, (4, 3)), rng.random((4, 3)), rng.random(3)
    check_against_torch(lambda lib, x, t: F(lib).binary_cross_entropy(
        x, t, weight=lib.tensor(w).to(x.dtype), reduction=reduction), [x, t], dtype=dtype)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    out = check_against_torch(lambda lib, x, t: F(lib).binary_cross_entropy(x, t, reduction="none"),
                              [np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])], grad=False)
    np.testing.assert_array_equal(out[0].detach().numpy(), [100.0, 100.0, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits(rng, reduction, dtype):
    x, t = rng.standard_normal((4, 3)) * 5, rng.random((4, 3))
    w, pw = rng.random((4, 1)), rng.random(3) * 3
    check_against_torch(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, weight=lib.tensor(w).to(x.dtype), pos_weight=lib.tensor(pw).to(x.dtype),
        reduction=reduction), [x, t], dtype=dtype)
    check_against_torch(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, reduction=reduction), [x, t], dtype=dtype)


def test_binary_cross_entropy_with_logits_is_stable():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    out = check_against_torch(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, reduction="none", pos_weight=lib.tensor([2.0])), [x, t])
    assert np.all(np.isfinite(out[0].detach().numpy()))


# ------------------------------------------------------------------ kl_div

@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(rng, reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    t = rng.dirichlet(np.ones(4), size=3)
    t[0, 1] = 0.0  # 0 * log 0 = 0
    if log_target:
        t = np.log(t + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'mean' warns in both
        check_against_torch(lambda lib, x, t: F(lib).kl_div(x, t, reduction=reduction,
                                                            log_target=log_target),
                            [x, t])


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="batchmean"):
        F(ember).kl_div(ember.zeros(2, 3), ember.ones(2, 3) / 3)


# ------------------------------------------------------------------ reductions

def test_legacy_size_average_and_reduce(rng):
    x, t = rng.standard_normal(5), rng.standard_normal(5)
    for size_average, reduce, expected in [(False, None, "sum"), (None, False, "none"),
                                           (True, True, "mean")]:
        with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
            got = F(ember).mse_loss(ember.tensor(x), ember.tensor(t), size_average=size_average,
                                    reduce=reduce)
        want = F(torch).mse_loss(torch.tensor(x), torch.tensor(t), reduction=expected)
        np.testing.assert_allclose(got.numpy(), want.numpy())


# ------------------------------------------------------------------ errors, as torch's

X = np.zeros((4, 10))


@pytest.mark.parametrize("fn,match", [
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, 10])),
     r"Target 10 is out of bounds\."),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, -1])),
     r"Target -1 is out of bounds\."),
    (lambda lib: F(lib).nll_loss(lib.tensor(np.zeros((2, 3, 2, 2))),
                                 lib.tensor(np.full((2, 2, 2), 5))), r"Target 5 is out of bounds"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1.0, 2, 3, 4])),
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor(np.array([1, 2, 3, 4], np.int32))),
     "expected target dtype to be Long or Byte, but got Int"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3])),
     r"Expected input batch_size \(4\) to match target batch_size \(3\)\."),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor(np.zeros((4, 9)))),
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor(np.zeros((4, 10), np.int64))),
     "Expected floating point type for target with class probabilities, got Long"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor(np.zeros((4, 10))), ignore_index=1),
     "ignore_index is not supported for floating point target"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, 4]), weight=lib.ones(9)),
     r"weight tensor should be defined either for all 10 classes or no classes but got weight "
     r"tensor of shape: \[9\]"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, 4]),
                                      weight=lib.ones(10, dtype=lib.float32)),
     "expected scalar type Double but found Float"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, 4]), label_smoothing=1.5),
     r"label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(X), lib.tensor([1, 2, 3, 4]), reduction="avg"),
     "avg is not a valid value for reduction"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(np.zeros((4, 10, 3, 3))),
                                      lib.tensor(np.zeros((4, 3, 2), np.int64))),
     r"size mismatch \(got input: \[4, 10, 3, 3\] , target: \[4, 3, 2\]"),
    (lambda lib: F(lib).cross_entropy(lib.tensor(np.zeros((4, 10, 3, 3))),
                                      lib.tensor(np.zeros((4, 3), np.int64))),
     "only batches of spatial targets supported"),
    (lambda lib: F(lib).nll_loss(lib.tensor(np.zeros((4, 10, 3))),
                                 lib.tensor(np.zeros((4, 2), np.int64))),
     r"Expected target size \[4, 3\], got \[4, 2\]"),
    (lambda lib: F(lib).nll_loss(lib.tensor(np.zeros(())), lib.tensor(1)),
     r"Expected 1 or more dimensions \(got 0\)"),
    (lambda lib: F(lib).nll_loss(lib.tensor(np.zeros((4, 10), np.int64)), lib.tensor([1, 2, 3, 4])),
     "not implemented for 'Long'"),
    (lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5, 1.5]), lib.tensor([0.0, 1.0])),
     "all elements of input should be between 0 and 1"),
    (lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([0.0, 2.0])),
     "all elements of target should be between 0 and 1"),
    (lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([[0.0, 1.0]])),
     "Using a target size .* that is different to the input size"),
    (lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5, 0.5], dtype=lib.float64),
                                             lib.tensor([0.0, 1.0], dtype=lib.float32)),
     "Found dtype Float but expected Double"),
    (lambda lib: F(lib).binary_cross_entropy_with_logits(lib.tensor([0.5, 0.5]), lib.tensor([[0.0, 1.0]])),
     r"Target size .* must be the same as input size"),
    (lambda lib: F(lib).smooth_l1_loss(lib.tensor(X), lib.tensor(X), beta=-1.0),
     "smooth_l1_loss does not support negative values for beta"),
    (lambda lib: F(lib).huber_loss(lib.tensor(X), lib.tensor(X), delta=0.0),
     "huber_loss does not support non-positive values for delta"),
    (lambda lib: F(lib).mse_loss(lib.tensor(X), lib.tensor(np.zeros((3, 1)))), "must match the size"),
    (lambda lib: F(lib).l1_loss(lib.tensor(X), lib.tensor(X), weight=lib.ones(4)),
     "Weights and input must have the same size"),
])
def test_errors_match_torch(fn, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(fn, match=match)


# ------------------------------------------------------------------ modules

def test_modules_forward_like_functionals(rng, logits):
    y = np.array([0, 4, 2, 3, 1, 4])
    w = rng.random(5)
    cases = [
        ("CrossEntropyLoss", dict(weight=w, label_smoothing=0.1, ignore_index=2), (logits, y)),
        ("NLLLoss", dict(weight=w, reduction="sum"), (logits, y)),
        ("MSELoss", dict(reduction="none"), (logits, logits[::-1].copy())),
        ("L1Loss", {}, (logits, logits[::-1].copy())),
        ("SmoothL1Loss", dict(beta=0.3), (logits, logits[::-1].copy())),
        ("HuberLoss", dict(delta=2.0), (logits, logits[::-1].copy())),
        ("BCELoss", dict(weight=w), (1 / (1 + np.exp(-logits)), rng.random((6, 5)))),
        ("BCEWithLogitsLoss", dict(pos_weight=w), (logits, rng.random((6, 5)))),
        ("KLDivLoss", dict(reduction="batchmean", log_target=True), (logits, logits[::-1].copy())),
    ]
    for name, kwargs, (a, b) in cases:
        def make(lib):
            kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            return getattr(lib.nn, name)(**kw)

        check_against_torch(lambda lib, a: make(lib)(a, lib.tensor(b)), [a])


def test_module_attributes_repr_and_state_dict():
    w = ember.ones(3)
    loss = ember.nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    assert (loss.reduction, loss.ignore_index, loss.label_smoothing) == ("mean", 1, 0.1)
    assert repr(loss) == "CrossEntropyLoss()"
    assert list(loss.state_dict()) == ["weight"]  # a buffer, as torch
    assert list(ember.nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    assert ember.nn.HuberLoss(delta=2).delta == 2
    with pytest.raises(TypeError, match="delta must be a float or int"):
        ember.nn.HuberLoss(delta="1")
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert ember.nn.MSELoss(size_average=False).reduction == "sum"
