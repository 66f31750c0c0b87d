"""The losses of issue 12 (ember/nn/functional/loss.py, ember/nn/modules/loss.py) against torch:
cosine_embedding, margin_ranking, hinge_embedding, soft_margin, multilabel_soft_margin,
multi_margin, multilabel_margin, poisson_nll, gaussian_nll, triplet_margin(_with_distance).
Values and gradients for every reduction in float64 and float32, gradcheck, the kinks, the legacy
size_average/reduce arguments, the modules' reprs and torch's errors. CTC: tests/nn/test_ctc.py."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import check_against_torch, same_error

REDUCTIONS = ("none", "mean", "sum")
DTYPES = ("float64", "float32")


def F(lib):
    return lib.nn.functional


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


# Each case: inputs(rng) -> (differentiable arrays, constants); call(lib, reduction, *tensors,
# *constants as lib tensors). Constants are int targets or targets torch does not differentiate.
def _cosine(margin, batched=True):
    def inputs(rng):
        shape = (5, 4) if batched else (4,)
        target = _signs(rng, 5 if batched else ())
        if batched:
            target[2] = 0  # neither 1 nor -1: contributes 0
        return [rng.standard_normal(shape), rng.standard_normal(shape)], [target]
    return inputs, lambda lib, red, a, b, t: F(lib).cosine_embedding_loss(a, b, t, margin=margin,
                                                                           reduction=red)


def _margin_ranking(margin):
    def inputs(rng):
        return [rng.standard_normal(6), rng.standard_normal(6), _signs(rng, 6)], []
    return inputs, lambda lib, red, a, b, t: F(lib).margin_ranking_loss(a, b, t, margin=margin,
                                                                         reduction=red)


def _hinge(margin):
    def inputs(rng):
        t = _signs(rng, (4, 5))
        t[0, 0] = 0.5  # neither: both terms count, as torch
        return [rng.standard_normal((4, 5)) * 2], [t]
    return inputs, lambda lib, red, x, t: F(lib).hinge_embedding_loss(x, t, margin=margin,
                                                                       reduction=red)


def _soft_margin(rng):
    return [rng.standard_normal((4, 5)) * 3], [_signs(rng, (4, 5))]


def _multilabel_soft(weighted):
    def inputs(rng):
        return [rng.standard_normal((4, 5)) * 3, (rng.random((4, 5)) < 0.5) * 1.0], [
            rng.random(5) + 0.5]

    def call(lib, red, x, t, w):
        return F(lib).multilabel_soft_margin_loss(x, t, weight=w.to(x.dtype) if weighted else None,
                                                  reduction=red)
    return inputs, call


def _multi_margin(p, margin, weighted, batched=True):
    def inputs(rng):
        shape = (6, 5) if batched else (5,)
        y = rng.integers(0, 5, 6 if batched else ())
        return [rng.standard_normal(shape)], [y, rng.random(5) + 0.5]

    def call(lib, red, x, y, w):
        return F(lib).multi_margin_loss(x, y, p=p, margin=margin,
                                        weight=w.to(x.dtype) if weighted else None, reduction=red)
    return inputs, call


def _multilabel_margin(batched=True):
    def inputs(rng):
        y = np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [0, 1, 2, 3, 4], [-1, 2, 3, 4, 0]])
        return [rng.standard_normal((4, 5)) if batched else rng.standard_normal(5)], [
            y if batched else y[0]]
    return inputs, lambda lib, red, x, y: F(lib).multilabel_margin_loss(x, y, reduction=red)


def _poisson(log_input, full):
    def inputs(rng):
        x = rng.standard_normal((4, 5)) if log_input else rng.random((4, 5)) * 3 + 0.1
        t = rng.integers(0, 6, (4, 5)).astype(float)
        t[0, :3] = (0.5, 1.0, 1.5)
        t[1, 0] = 0.0
        return [x, t], []
    return inputs, lambda lib, red, x, t: F(lib).poisson_nll_loss(
        x, t, log_input=log_input, full=full, reduction=red)


def _gaussian(var_shape, full):
    def inputs(rng):
        var = rng.random(var_shape) + 0.1
        var.flat[0] = 1e-8  # below eps: clamped, the gradient ignores the clamp
        return [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), var], []
    return inputs, lambda lib, red, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=full,
                                                                       reduction=red)


def _gaussian_float_var(rng):
    return [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], []


def _triplet(p, swap, shape=(5, 6), positive_shape=None):
    def inputs(rng):
        return [rng.standard_normal(shape), rng.standard_normal(positive_shape or shape),
                rng.standard_normal(shape)], []
    return inputs, lambda lib, red, a, pos, n: F(lib).triplet_margin_loss(
        a, pos, n, margin=1.5, p=p, swap=swap, reduction=red)


def _cosine_distance(lib):
    return lambda x, y: 1.0 - F(lib).cosine_similarity(x, y)


def _triplet_distance(custom, swap):
    def inputs(rng):
        return [rng.standard_normal((5, 6)) for _ in range(3)], []

    def call(lib, red, a, pos, n):
        fn = _cosine_distance(lib) if custom else None
        return F(lib).triplet_margin_with_distance_loss(a, pos, n, distance_function=fn,
                                                        margin=0.7 if custom else 1.0, swap=swap,
                                                        reduction=red)
    return inputs, call


CASES = {
    "cosine_margin0": _cosine(0.0), "cosine_margin03": _cosine(0.3),
    "cosine_unbatched": _cosine(0.2, batched=False),
    "margin_ranking_0": _margin_ranking(0.0), "margin_ranking_05": _margin_ranking(0.5),
    "hinge_1": _hinge(1.0), "hinge_margin0": _hinge(0.0),
    "soft_margin": (_soft_margin, lambda lib, red, x, t: F(lib).soft_margin_loss(x, t, reduction=red)),
    "multilabel_soft": _multilabel_soft(False), "multilabel_soft_weighted": _multilabel_soft(True),
    "multi_margin_p1": _multi_margin(1, 1.0, False), "multi_margin_p2": _multi_margin(2, 0.5, False),
    "multi_margin_weighted": _multi_margin(2, 1.0, True),
    "multi_margin_margin0": _multi_margin(1, 0.0, True),
    "multi_margin_unbatched": _multi_margin(1, 1.0, True, batched=False),
    "multilabel_margin": _multilabel_margin(), "multilabel_margin_unbatched": _multilabel_margin(False),
    "poisson_log": _poisson(True, False), "poisson_log_full": _poisson(True, True),
    "poisson_rate": _poisson(False, False), "poisson_rate_full": _poisson(False, True),
    "gaussian_hetero": _gaussian((4, 3), False), "gaussian_full": _gaussian((4, 3), True),
    "gaussian_one_fewer_dim": _gaussian((4,), False), "gaussian_last_dim_1": _gaussian((4, 1), False),
    "gaussian_first_dim_1": _gaussian((1, 3), True),
    "gaussian_float_var": (_gaussian_float_var, lambda lib, red, x, t: F(lib).gaussian_nll_loss(
        x, t, 0.5, reduction=red)),
    "triplet_p2": _triplet(2, False), "triplet_p1_swap": _triplet(1, True),
    "triplet_p2_swap": _triplet(2, True), "triplet_broadcast": _triplet(2, True, positive_shape=(1, 6)),
    "triplet_pinf": _triplet(float("inf"), False),
    "triplet_p3": _triplet(3.0, False), "triplet_unbatched": _triplet(2, True, shape=(6,)),
    "triplet_3d": _triplet(2, False, shape=(2, 3, 4)),
    "triplet_distance_default": _triplet_distance(False, False),
    "triplet_distance_cosine_swap": _triplet_distance(True, True),
}


def _run(name, dtype, reduction, rng):
    inputs, call = CASES[name]
    arrays, constants = inputs(rng)

    def fn(lib, *tensors):
        return call(lib, reduction, *tensors, *(lib.tensor(c) for c in constants))

    return check_against_torch(fn, arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name, reduction, dtype, rng):
    _run(name, dtype, reduction, rng)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, rng):
    inputs, call = CASES[name]
    arrays, constants = inputs(rng)
    # keep the finite differences off the steps: var's clamp at eps, Stirling's mask at y <= 1
    # and log y at y = 0 (random inputs keep them off the hinges' kinks)
    if name.startswith("gaussian") and len(arrays) == 3:
        arrays[2] = arrays[2] + 0.5
    if name.startswith("poisson"):
        arrays[1] = arrays[1] + 0.25
    xs = [ember.tensor(a, requires_grad=True) for a in arrays]
    cs = [ember.tensor(c) for c in constants]
    assert ember.autograd.gradcheck(lambda *t: call(ember, "sum", *t, *cs), xs)


def test_batch_of_one(rng):
    for name in ("cosine_margin03", "multi_margin_p2", "multilabel_margin", "triplet_p2",
                 "multilabel_soft", "gaussian_one_fewer_dim"):
        inputs, call = CASES[name]
        arrays, constants = inputs(rng)
        arrays = [a[:1] if a.ndim else a for a in arrays]
        constants = [c[:1] if c.ndim and c.shape[0] in (4, 5, 6) else c for c in constants]
        check_against_torch(lambda lib, *t: call(lib, "mean", *t, *(lib.tensor(c) for c in constants)),
                            arrays)


# ------------------------------------------------------------------ kinks: which side gets the gradient

def test_margin_ranking_kink_passes_gradient_as_clamp_min():
    # -y (x1 - x2) + margin = 0 exactly: torch's clamp_min passes the gradient at the bound
    check_against_torch(lambda lib, a, b: F(lib).margin_ranking_loss(
        a, b, lib.tensor([1.0, -1.0]), margin=0.5, reduction="sum"), [[1.5, 0.0], [1.0, 0.5]])


def test_multi_margin_kink_has_no_gradient():
    # margin - x_y + x_i = 0 exactly: torch's kernel tests z > 0
    check_against_torch(lambda lib, x: F(lib).multi_margin_loss(x, lib.tensor([0]), reduction="sum"),
                        [[[2.0, 1.0, 0.5]]])
    check_against_torch(lambda lib, x: F(lib).multilabel_margin_loss(
        x, lib.tensor([[0, -1, 2]]), reduction="sum"), [[[2.0, 1.0, 0.5]]])


def test_multilabel_margin_without_labels_and_with_many_classes(rng):
    check_against_torch(lambda lib, x: F(lib).multilabel_margin_loss(
        x, lib.tensor(np.full((3, 4), -1)), reduction="none"), [rng.standard_normal((3, 4))])
    y = np.full((8, 300), -1)
    y[:, :2] = rng.integers(0, 300, (8, 2))  # two labels among 300: only (8, 2, 300) pairs formed
    check_against_torch(lambda lib, x: F(lib).multilabel_margin_loss(x, lib.tensor(y)),
                        [rng.standard_normal((8, 300))], dtype="float32")


def test_hinge_and_cosine_kinks():
    check_against_torch(lambda lib, x: F(lib).hinge_embedding_loss(
        x, lib.tensor([-1.0, -1.0, 1.0]), margin=1.0, reduction="sum"), [[1.0, 0.25, 1.0]])
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    check_against_torch(lambda lib, x, y: F(lib).cosine_embedding_loss(
        x, y, lib.tensor([-1, -1]), margin=0.0, reduction="sum"), [a, np.array([[0.0, 1.0], [1.0, 1.0]])])


def test_triplet_zero_distance_gradient():
    # anchor = positive - eps: the pairwise distance is the norm of exactly 0 (torch: 0 gradient)
    a = np.ones((2, 3))
    check_against_torch(lambda lib, x, y, z: F(lib).triplet_margin_loss(x, y, z, reduction="sum"),
                        [a, a + 1e-6, a + 0.3])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_swap_tie_splits_the_gradient(rng, reduction):
    # positive = anchor: d(a, n) = d(p, n) exactly, minimum's gradient goes half to each
    a = rng.standard_normal((3, 4))
    n = rng.standard_normal((3, 4))
    for p in (2, 1):  # the fused Euclidean path and the composed one
        out = check_against_torch(lambda lib, x, y, z: F(lib).triplet_margin_loss(
            x, y, z, p=p, margin=5.0, swap=True, reduction=reduction), [a, a.copy(), n])
        if p == 2:  # (ember's clamp_min, composed for p = 1, names itself ClampBackward0)
            assert out[0].grad_fn.name() == {"none": "ClampMinBackward0", "mean": "MeanBackward0",
                                             "sum": "SumBackward0"}[reduction]


def test_triplet_integer_inputs_promote_as_torch():
    a, p, n = (np.arange(12).reshape(3, 4) * k for k in (1, 2, 3))
    check_against_torch(lambda lib, x, y, z: F(lib).triplet_margin_loss(x, y, z), [a, p, n])


def test_soft_margin_large_inputs_overflow_as_torch():
    check_against_torch(lambda lib, x: F(lib).soft_margin_loss(x, lib.tensor([-1.0, 1.0, 1.0])),
                        [[800.0, -30.0, 50.0]])


def test_double_backward_matches_torch(rng):
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random((4, 3)) + 0.5]

    def second(lib, fn):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        loss = fn(lib, *xs)
        grads = lib.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
        total = sum((g * g).sum() for g in grads if g is not None)
        return [np.zeros_like(a) if g is None else g.detach().numpy()
                for a, g in zip(arrays, lib.autograd.grad(total, xs, allow_unused=True))]

    for fn in (lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v),
               lambda lib, x, t, v: F(lib).triplet_margin_loss(x, t, v, p=3.0),
               lambda lib, x, t, v: F(lib).triplet_margin_loss(x, t, v, swap=True, margin=3.0),
               lambda lib, x, t, v: F(lib).cosine_embedding_loss(x, t, lib.tensor([1, -1, 1, 1]),
                                                                  margin=-1.0),
               lambda lib, x, t, v: F(lib).poisson_nll_loss(x, v, full=True)):
        for e, t in zip(second(ember, fn), second(torch, fn)):
            np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ legacy reduction arguments

@pytest.mark.parametrize("size_average,reduce,expected", [
    (False, None, "sum"), (None, False, "none"), (True, True, "mean")])
def test_legacy_size_average_reduce(rng, size_average, reduce, expected):
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    t = _signs(rng, (4, 5))
    calls = {
        "cosine_embedding_loss": lambda lib, **kw: F(lib).cosine_embedding_loss(
            lib.tensor(x), lib.tensor(y), lib.tensor(t[:, 0]), **kw),
        "margin_ranking_loss": lambda lib, **kw: F(lib).margin_ranking_loss(
            lib.tensor(x), lib.tensor(y), lib.tensor(t), **kw),
        "hinge_embedding_loss": lambda lib, **kw: F(lib).hinge_embedding_loss(lib.tensor(x), lib.tensor(t), **kw),
        "soft_margin_loss": lambda lib, **kw: F(lib).soft_margin_loss(lib.tensor(x), lib.tensor(t), **kw),
        "multilabel_soft_margin_loss": lambda lib, **kw: F(lib).multilabel_soft_margin_loss(
            lib.tensor(x), lib.tensor((t > 0) * 1.0), **kw),
        "multi_margin_loss": lambda lib, **kw: F(lib).multi_margin_loss(
            lib.tensor(x), lib.tensor([0, 1, 2, 3]), **kw),
        "multilabel_margin_loss": lambda lib, **kw: F(lib).multilabel_margin_loss(
            lib.tensor(x), lib.tensor([[0, 1, -1, 0, 0]] * 4), **kw),
        "poisson_nll_loss": lambda lib, **kw: F(lib).poisson_nll_loss(lib.tensor(x), lib.tensor(np.abs(y)), **kw),
        "triplet_margin_loss": lambda lib, **kw: F(lib).triplet_margin_loss(
            lib.tensor(x), lib.tensor(y), lib.tensor(t), **kw),
    }
    for name, call in calls.items():
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            got = call(ember, size_average=size_average, reduce=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = call(torch, size_average=size_average, reduce=reduce)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-7, err_msg=name)
        np.testing.assert_allclose(got.numpy(), call(ember, reduction=expected).numpy(), rtol=1e-12)


def test_module_legacy_arguments_warn():
    for name in ("CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
                 "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
                 "SoftMarginLoss", "TripletMarginLoss", "PoissonNLLLoss"):
        with pytest.warns(UserWarning, match="reduction='none'"):
            assert getattr(ember.nn, name)(reduce=False).reduction == "none", name


# ------------------------------------------------------------------ modules

@pytest.mark.parametrize("name,kwargs,arrays,constants", [
    ("CosineEmbeddingLoss", dict(margin=0.2, reduction="sum"), 2, [np.array([1, -1, 1, -1])]),
    ("MarginRankingLoss", dict(margin=0.1), 2, [np.array([[1.0] * 5, [-1.0] * 5] * 2)]),
    ("HingeEmbeddingLoss", dict(margin=2.0), 1, [np.array([[1.0] * 5, [-1.0] * 5] * 2)]),
    ("MultiLabelMarginLoss", {}, 1, [np.array([[1, 2, -1, 0, 0]] * 4)]),
    ("MultiLabelSoftMarginLoss", dict(weight=np.arange(1.0, 6.0)), 1, [np.ones((4, 5))]),
    ("MultiMarginLoss", dict(p=2, margin=0.3, weight=np.arange(1.0, 6.0)), 1, [np.array([0, 4, 2, 1])]),
    ("SoftMarginLoss", dict(reduction="none"), 1, [np.array([[1.0] * 5, [-1.0] * 5] * 2)]),
    ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True), 3, []),
    ("TripletMarginWithDistanceLoss", dict(margin=0.5, swap=True), 3, []),
    ("PoissonNLLLoss", dict(log_input=False, full=True, eps=1e-3), 1, [np.arange(20.0).reshape(4, 5)]),
    ("GaussianNLLLoss", dict(full=True, eps=1e-2), 2, [np.full((4, 1), 0.5)]),
])
def test_modules_match_torch(rng, name, kwargs, arrays, constants):
    data = [rng.random((4, 5)) + 0.1 for _ in range(arrays)]

    def fn(lib, *xs):
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        module = getattr(lib.nn, name)(**kw)
        return module(*xs, *(lib.tensor(c) for c in constants))

    check_against_torch(fn, data)


@pytest.mark.parametrize("name,kwargs", [
    ("CosineEmbeddingLoss", dict(margin=0.5)), ("MarginRankingLoss", {}),
    ("HingeEmbeddingLoss", dict(margin=2.0)), ("MultiLabelMarginLoss", {}),
    ("MultiLabelSoftMarginLoss", {}), ("MultiMarginLoss", dict(p=2)), ("SoftMarginLoss", {}),
    ("TripletMarginLoss", dict(swap=True)), ("TripletMarginWithDistanceLoss", {}),
    ("PoissonNLLLoss", dict(full=True)), ("GaussianNLLLoss", dict(full=True)), ("CTCLoss", dict(blank=3)),
])
def test_module_repr_attributes_and_state_dict(name, kwargs):
    e, t = getattr(ember.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    for attr in ("reduction", "margin", "p", "eps", "swap", "full", "log_input", "blank",
                 "zero_infinity"):
        assert getattr(e, attr, None) == getattr(t, attr, None), attr


def test_weighted_modules_register_weight_buffer():
    w = np.arange(1.0, 6.0)
    for name in ("MultiMarginLoss", "MultiLabelSoftMarginLoss"):
        e = getattr(ember.nn, name)(weight=ember.tensor(w))
        t = getattr(torch.nn, name)(weight=torch.tensor(w))
        assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]


def test_module_signatures_match_torch():
    import inspect
    for name in ("CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
                 "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
                 "SoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
                 "PoissonNLLLoss", "GaussianNLLLoss", "CTCLoss"):
        e, t = inspect.signature(getattr(ember.nn, name)), inspect.signature(getattr(torch.nn, name))
        assert [(p.name, p.default, p.kind) for p in e.parameters.values()] == \
            [(p.name, p.default, p.kind) for p in t.parameters.values()], name
    for name in ("cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss",
                 "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
                 "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
                 "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss"):
        e = inspect.signature(getattr(ember.nn.functional, name))
        t = inspect.signature(getattr(torch.nn.functional, name))
        assert [(p.name, p.default, p.kind) for p in e.parameters.values()] == \
            [(p.name, p.default, p.kind) for p in t.parameters.values()], name


# ------------------------------------------------------------------ errors

X = np.zeros((4, 5))
Y4 = np.array([0, 1, 2, 3])


@pytest.mark.parametrize("fn,match", [
    (lambda lib: F(lib).cosine_embedding_loss(lib.tensor(X[None]), lib.tensor(X[None]), lib.tensor(Y4)),
     r"1D target tensor expects 2D input tensors, but found inputs with sizes \[1, 4, 5\] and \[1, 4, 5\]\."),
    (lambda lib: F(lib).cosine_embedding_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X)),
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda lib: F(lib).cosine_embedding_loss(lib.tensor(X[0]), lib.tensor(X[0]), lib.tensor(Y4)),
     r"1D target tensor expects 2D input tensors"),
    (lambda lib: F(lib).cosine_embedding_loss(lib.tensor(X), lib.tensor(X[:, :3]), lib.tensor(Y4)),
     "must match the size"),
    (lambda lib: F(lib).margin_ranking_loss(lib.tensor(X), lib.tensor(X[0]), lib.tensor(X)),
     "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
     r"input1: torch.Size\(\[4, 5\]\), input2: torch.Size\(\[5\]\), target: torch.Size\(\[4, 5\]\)"),
    (lambda lib: F(lib).margin_ranking_loss(lib.tensor(X), lib.tensor(X[:3]), lib.tensor(X)),
     "must match the size"),
    (lambda lib: F(lib).hinge_embedding_loss(lib.tensor(X), lib.tensor(X[:, :3])),
     r"The size of tensor a \(3\) must match the size of tensor b \(5\) at non-singleton dimension 1"),
    (lambda lib: F(lib).cosine_embedding_loss(lib.tensor(X), lib.tensor(X), lib.tensor(Y4[:3])),
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 0"),
    (lambda lib: F(lib).soft_margin_loss(lib.tensor(X), lib.tensor(X, requires_grad=True)),
     "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'"),
    (lambda lib: F(lib).soft_margin_loss(lib.tensor(X[:, :1]), lib.tensor(X)),
     r"output with shape \[4, 1\] doesn't match the broadcast shape \[4, 5\]"),
    (lambda lib: F(lib).soft_margin_loss(lib.tensor(Y4), lib.tensor(Y4 * 1.0)),
     "result type Double can't be cast to the desired output type Long"),
    (lambda lib: F(lib).multilabel_soft_margin_loss(lib.tensor(X), lib.tensor(X), reduction="avg"),
     "avg is not valid"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4), p=3),
     "only p == 1 and p == 2 supported"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4), weight=lib.ones(1, 5)),
     "weight must be one-dimensional"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X[None]), lib.tensor(Y4)),
     r"Expected non-empty vector or matrix with optional 0-dim batch size, but got: \[1, 4, 5\]"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X[:, :0]), lib.tensor(Y4)),
     r"Expected non-empty vector or matrix with optional 0-dim batch size, but got: \[4, 0\]"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4[:3])),
     r"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
     r"samples \(batch size\)\. Expected target size \[4\], but got \[3\]\. Input has shape \[4, 5\]\."),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X[0]), lib.tensor(Y4[:2])),
     r"Expected target size \[1\], but got \[2\]\. Input has shape \[5\]\."),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4), weight=lib.ones(4, dtype=lib.float64)),
     r"inconsistent weight size, expected 5 but got \[4\]"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor([0, 5, 1, 1])), "target out of range"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor([0, -1, 1, 1])), "target out of range"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4 * 1.0)),
     "expected scalar type Long but found Double"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4.astype(np.int32))),
     "expected scalar type Long but found Int"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(X), lib.tensor(Y4), weight=lib.ones(5)),
     "expected scalar type Double but found Float"),
    (lambda lib: F(lib).multi_margin_loss(lib.tensor(Y4[:, None] * np.ones((1, 5), np.int64)), lib.tensor(Y4)),
     "\"multi_margin_loss_cpu_kernel\" not implemented for 'Long'"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X), lib.tensor(np.zeros((4, 4), np.int64))),
     r"inconsistent target size: \[4, 4\] for input of size: \[4, 5\]"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X), lib.tensor(np.zeros(5, np.int64))),
     r"inconsistent target size: \[5\] for input of size: \[4, 5\]"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X[None]), lib.tensor(np.zeros((1, 4, 5), np.int64))),
     "Expected non-empty vector or matrix"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X), lib.tensor([[0, -1, 7, 0, 0]] * 4)),
     "argument #2 'target' is out of range"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X), lib.tensor([[0, -2, 1, 0, 0]] * 4)),
     "argument #2 'target' is out of range"),
    (lambda lib: F(lib).multilabel_margin_loss(lib.tensor(X), lib.tensor(np.zeros((4, 5)))),
     "expected scalar type Long but found Double"),
    (lambda lib: F(lib).poisson_nll_loss(lib.tensor(X), lib.tensor(X), reduction="avg"),
     "avg is not a valid value for reduction"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), -lib.ones(4, 5)),
     "var has negative entry/entries"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), -1.0), "var has negative entry/entries"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), lib.ones(5)), "var is of incorrect size"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), lib.ones(1, 1)), "var is of incorrect size"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), lib.tensor(1.0)), "var is of incorrect size"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), 1), ""),
    (lambda lib: F(lib).gaussian_nll_loss(lib.tensor(X), lib.tensor(X), lib.ones(4, 5), reduction="avg"),
     "avg is not valid"),
    (lambda lib: F(lib).triplet_margin_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X), margin=0),
     "margin must be greater than 0, got 0"),
    (lambda lib: F(lib).triplet_margin_loss(lib.tensor(X), lib.tensor(X[0]), lib.tensor(X)),
     "The anchor, positive, and negative tensors are expected to have the same number of dimensions, "
     "but got: anchor 2D, positive 1D, and negative 2D inputs"),
    (lambda lib: F(lib).triplet_margin_with_distance_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X),
                                                          margin=-1.0), "margin must be greater than 0"),
    (lambda lib: F(lib).triplet_margin_with_distance_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X),
                                                          reduction="avg"), "avg is not a valid value for reduction"),
    (lambda lib: F(lib).triplet_margin_with_distance_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X[0])),
     "anchor 2D, positive 2D, and negative 1D inputs"),
    (lambda lib: F(lib).triplet_margin_with_distance_loss(lib.tensor(X), lib.tensor(X), lib.tensor(X), None),
     "positional argument"),
    (lambda lib: lib.nn.MultiMarginLoss(p=0), "only p == 1 and p == 2 supported"),
    (lambda lib: lib.nn.MultiMarginLoss(weight=lib.ones(2, 2)),
     "MultiMarginLoss: expected weight to be None or 1D tensor, got 2D instead"),
    (lambda lib: lib.nn.TripletMarginLoss(margin=0.0),
     "TripletMarginLoss: expected margin to be greater than 0, got 0.0 instead"),
    (lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=-0.5),
     "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got -0.5 instead"),
])
def test_errors_match_torch(fn, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(fn, match=match)
