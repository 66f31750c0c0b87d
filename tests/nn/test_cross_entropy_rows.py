"""cross_entropy on (rows, classes) logits with class indices: the compiled row kernels
(ember/_kernels/loss.py, taken from _CE_COMPILED_FROM elements on) and the NumPy path against
torch, values and gradients, and their edge cases - each edge case on both paths."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import ember
from ember._kernels import _jit
from tests.helpers import check_against_torch, same_error

_loss = importlib.import_module("ember.nn.functional.loss")


def F(lib):
    return lib.nn.functional


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Both implementations on small logits: the threshold moved to 0 or out of reach (and the
    compiled forward seen to run, or not)."""
    compiled = request.param == "compiled"
    monkeypatch.setattr(_loss, "_CE_COMPILED_FROM", 0 if compiled else 1 << 62)
    calls = []
    kernel = _loss.cross_entropy_rows_forward
    monkeypatch.setattr(_loss, "cross_entropy_rows_forward",
                        lambda *a, **k: calls.append(1) or kernel(*a, **k))
    yield request.param
    assert bool(calls) == compiled or request.node.name.startswith("test_out_of_range")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing,weighted", [(0.0, False), (0.1, True)])
def test_large_rows_on_the_parallel_twin(reduction, smoothing, weighted, dtype="float32"):
    """(256, 1000) is above SERIAL_BELOW: the parallel twin, with ignored rows among them.
    (float32 only: each parallel twin costs ~2 s to compile on a cold cache; float64 runs the
    same code through the serial twin in the tests below.)"""
    assert 256 * 1000 >= _loss._CE_COMPILED_FROM
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 1000)) * 3
    y = rng.integers(0, 1000, 256)
    y[::17] = -100
    w = rng.random(1000) + 0.1
    assert x.size * 4 >= _jit.SERIAL_BELOW

    def fn(lib, x):
        weight = lib.tensor(w).to(x.dtype) if weighted else None
        return F(lib).cross_entropy(x, lib.tensor(y), weight=weight, reduction=reduction,
                                    label_smoothing=smoothing)

    check_against_torch(fn, [x], dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 10), (64, 10), (5, 1), (3, 2)])
def test_small_rows_and_one_class(dtype, shape, path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 2
    y = rng.integers(0, shape[1], shape[0])
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(y)), [x], dtype=dtype)


def test_transposed_logits(path):
    """A non-contiguous view (x.T) gives torch's values and a gradient in x's own layout."""
    rng = np.random.default_rng(2)
    base = rng.standard_normal((10, 7))
    y = rng.integers(0, 10, 7)
    check_against_torch(lambda lib, b: F(lib).cross_entropy(b.t(), lib.tensor(y),
                                                            reduction="sum"), [base])


def test_custom_ignore_index_and_uint8_targets(path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5))
    y = np.array([0, 4, 2, 3, 1, 4], dtype=np.uint8)
    check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor(y), ignore_index=4,
                                                            label_smoothing=0.2), [x])


def test_nan_and_infinite_rows_as_torch(path):
    """A NaN in a row makes its loss NaN; an all -inf row gives torch's NaN; +inf too."""
    x = np.array([[0.0, np.nan, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0],
                  [1.0, 2.0, 3.0]])
    out = check_against_torch(lambda lib, x: F(lib).cross_entropy(x, lib.tensor([0, 1, 2, 0]),
                                                                  reduction="none"), [x],
                              grad=False)
    assert np.isnan(out[0].detach().numpy()[:3]).all()


@pytest.mark.parametrize("target", [[0, 5, 1], [0, -1, 1], [0, -101, 1]])
def test_out_of_range_targets_raise_before_anything_is_computed(target, path):
    x = np.zeros((3, 5), np.float32)
    same_error(lambda lib: F(lib).cross_entropy(lib.tensor(x), lib.tensor(target)),
               match="out of bounds")
    with pytest.raises(IndexError, match=f"Target {[t for t in target if t not in (0, 1)][0]} "
                                         "is out of bounds"):
        F(ember).cross_entropy(ember.tensor(x), ember.tensor(target))


def test_gradcheck_and_double_backward_rows(path):
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = ember.tensor([0, 2, -100, 1])
    w = ember.tensor(rng.random(3) + 0.5)
    fn = lambda x: F(ember).cross_entropy(x, y, weight=w, label_smoothing=0.3)  # noqa: E731
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))
    # second derivative against torch's
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor([0, 2, -100, 1]),
                                           weight=torch.tensor(w.numpy()), label_smoothing=0.3)
    (gt,) = torch.autograd.grad(lt, xt, create_graph=True)
    (ggt,) = torch.autograd.grad((gt ** 2).sum(), xt)
    (ge,) = ember.autograd.grad(fn(x), x, create_graph=True)
    (gge,) = ember.autograd.grad((ge ** 2).sum(), x)
    np.testing.assert_allclose(gge.numpy(), ggt.numpy(), rtol=1e-10, atol=1e-12)
