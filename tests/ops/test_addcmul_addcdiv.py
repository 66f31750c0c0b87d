"""addcmul/addcdiv (and their in-place and legacy value-first forms) against torch."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_and_gradients_like_torch(name, dtype):
    rng = np.random.default_rng(0)
    x, a = rng.standard_normal((3, 1)), rng.standard_normal((1, 4))
    b = rng.uniform(0.5, 2.0, (3, 4))
    check_against_torch(lambda lib, x, a, b: getattr(lib, name)(x, a, b, value=0.3),
                        [x, a, b], dtype=dtype)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_gradcheck(name):
    rng = np.random.default_rng(1)
    ts = [ember.tensor(rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True) for _ in range(3)]
    assert gradcheck(lambda x, a, b: getattr(x, name)(a, b, value=-0.7), ts)


def test_grad_fn_names_and_in_place_like_torch():
    for lib in (ember, torch):
        y = lib.ones(3, requires_grad=True)
        assert type(lib.addcmul(y, y, y).grad_fn).__name__ == "AddcmulBackward0"
        assert type(lib.addcdiv(y, y, y).grad_fn).__name__ == "AddcdivBackward0"
    e, t = ember.ones(3), torch.ones(3)
    e.addcmul_(ember.tensor([1., 2, 3]), ember.tensor([2., 2, 2]), value=0.5)
    t.addcmul_(torch.tensor([1., 2, 3]), torch.tensor([2., 2, 2]), value=0.5)
    np.testing.assert_allclose(e.numpy(), t.numpy())


def test_legacy_value_first_overload_like_torch():
    e, t = ember.ones(3), torch.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e.addcdiv_(2, ember.tensor([1., 2, 3]), ember.tensor([4., 4, 4]))
        t.addcdiv_(2, torch.tensor([1., 2, 3]), torch.tensor([4., 4, 4]))
    np.testing.assert_allclose(e.numpy(), t.numpy())


def test_integer_rules_like_torch():
    a = [1, 2, 3]
    np.testing.assert_array_equal(ember.addcmul(ember.tensor(a), ember.tensor(a), ember.tensor(a), value=0.5).numpy(),
                                  torch.addcmul(torch.tensor(a), torch.tensor(a), torch.tensor(a), value=0.5).numpy())
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        ember.addcdiv(ember.tensor(a), ember.tensor(a), ember.tensor(a))
