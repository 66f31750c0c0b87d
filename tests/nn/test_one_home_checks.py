"""Argument rules with one home (issue 16 item 6): the legacy size_average/reduce mapping shared
by the loss functionals and modules, and the fold/unfold and F.pad checks kept in nn/_shapes.
Each is checked against torch on a table of cases."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn import _shapes
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


def _error(call):
    """(exception type, message) of a call, or None when it returns."""
    try:
        call()
    except Exception as e:     # the point is to compare whatever is raised
        return type(e), str(e).split("\n")[0]
    return None


# (input shape, kernel_size, dilation, padding, stride). Not here, as ember differs from torch:
# a 2-d input (torch: IndexError, ember: RuntimeError naming the expected dims).
UNFOLD = [((1, 2, 4, 4), (2, 2), 1, 0, 1), ((2, 4, 4), 3, 1, 1, 2), ((0, 2, 4, 4), 2, 1, 0, 1),
          ((1, 2, 4, 4), 0, 1, 0, 1), ((1, 2, 4, 4), 2, 0, 0, 1), ((1, 2, 4, 4), 2, 1, -1, 1),
          ((1, 2, 4, 4), 2, 1, 0, 0), ((1, 2, 4, 4), (2, 2, 2), 1, 0, 1),
          ((1, 0, 4, 4), 2, 1, 0, 1), ((1, 2, 4, 4), 5, 1, 0, 1), ((1, 2, 4, 4), 3, 2, 0, 1),
          ((1, 2, 4, 4), (2, 1.5), 1, 0, 1)]


def _shapes_unfold(shape, kernel_size, dilation, padding, stride):
    args = _shapes.fold_args(kernel_size, dilation, padding, stride)
    _shapes.check_unfold_input(shape, *args)


@pytest.mark.parametrize("shape, kernel_size, dilation, padding, stride", UNFOLD)
def test_unfold_checks_in_shapes_raise_as_torch(shape, kernel_size, dilation, padding, stride):
    expected = _error(lambda: torch.nn.functional.unfold(torch.zeros(shape), kernel_size,
                                                         dilation, padding, stride))
    got = _error(lambda: _shapes_unfold(shape, kernel_size, dilation, padding, stride))
    assert (got and got[0]) == (expected and expected[0])
    if expected and expected[0] is RuntimeError:
        assert got[1] == expected[1]


# (input shape, output_size, kernel_size, dilation, padding, stride)
FOLD = [((1, 8, 9), (4, 4), 2, 1, 0, 1), ((8, 9), 4, 2, 1, 0, 1), ((0, 8, 9), 4, 2, 1, 0, 1),
        ((1, 7, 9), 4, 2, 1, 0, 1), ((1, 8, 8), 4, 2, 1, 0, 1), ((1, 8, 9), (4, 4, 4), 2, 1, 0, 1),
        ((1, 8, 9), 4, 2, 1, 0, 0), ((1, 8, 1), 1, 2, 1, 0, 1), ((1, 8), 4, 2, 1, 0, 1),
        ((1, 0, 9), 4, 2, 1, 0, 1), ((1, 8, 4), 4, 2, 2, 1, 2)]


def _shapes_fold(shape, output_size, kernel_size, dilation, padding, stride):
    output_size = _shapes.fold_pair(output_size, "output_size")
    args = _shapes.fold_args(kernel_size, dilation, padding, stride)
    _shapes.check_fold_input(shape, output_size, *args)


@pytest.mark.parametrize("shape, output_size, kernel_size, dilation, padding, stride", FOLD)
def test_fold_checks_in_shapes_raise_as_torch(shape, output_size, kernel_size, dilation, padding,
                                              stride):
    expected = _error(lambda: torch.nn.functional.fold(torch.zeros(shape), output_size,
                                                       kernel_size, dilation, padding, stride))
    got = _error(lambda: _shapes_fold(shape, output_size, kernel_size, dilation, padding, stride))
    assert (got and got[0]) == (expected and expected[0])
    if expected and expected[0] is RuntimeError:
        assert got[1] == expected[1]


# (input shape, pad, mode, value). Not here, as ember's message differs from torch's: a float
# in pad (both TypeError; ember names the element's type and position).
PAD = [((1, 2, 5), (1, 2), "reflect", None), ((2, 5), (1, 2), "replicate", None),
       ((1, 2, 5), (1, 2), "circular", 0), ((1, 2, 5), (1, 2), "reflect", 1.0),
       ((5,), (1, 2), "reflect", None), ((1, 1, 2, 5), (1, 2), "replicate", None),
       ((1, 2, 3, 5), (1, 1, 1, 1), "reflect", None), ((1, 2, 3, 5), (1,) * 8, "circular", None),
       ((0, 2, 5), (1, 1), "reflect", None), ((1, 0, 5), (1, 1), "replicate", None),
       ((0, 5), (1, 1), "circular", None),
       ((1, 2, 5), (True, 2), "reflect", None), ((1, 2, 5), (np.int64(1), 2), "reflect", None)]


def _shapes_pad(shape, pad, mode, value):
    return _shapes.non_constant_pad_dims(shape, _shapes.pad_ints(pad), mode, value)


@pytest.mark.parametrize("shape, pad, mode, value", PAD)
def test_pad_checks_in_shapes_raise_as_torch(shape, pad, mode, value):
    expected = _error(lambda: torch.nn.functional.pad(torch.ones(shape), pad, mode, value))
    got = _error(lambda: _shapes_pad(shape, pad, mode, value))
    if expected is None:     # the rest (pad sizes against the input) is _kernels.pad's
        assert got is None and _shapes_pad(shape, pad, mode, value) == len(pad) // 2
    elif got is not None:
        assert got == expected
    assert _error(lambda: ember.nn.functional.pad(ember.ones(*shape), pad, mode, value)) == expected
