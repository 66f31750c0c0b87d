"""The one table of torch's ScalarType names (ember._dtype.scalar_type_name) against torch."""
import numpy as np
import pytest
import torch

import ember
from ember import _dtype

_TORCH = {"bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16,
          "int32": torch.int32, "int64": torch.int64, "float16": torch.float16,
          "float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16,
          "complex64": torch.complex64, "complex128": torch.complex128}


def _torch_name(name):
    # torch.empty(0, dtype=torch.float32).type() == 'torch.FloatTensor'
    return torch.empty(0, dtype=_TORCH[name]).type()[len("torch."):-len("Tensor")]


@pytest.mark.parametrize("d", _dtype.ALL, ids=lambda d: d.name)
def test_scalar_type_name_of_every_ember_dtype_is_torchs(d):
    assert _dtype.scalar_type_name(d) == _torch_name(d.name)
    assert _dtype.scalar_type_name(d.np) == _torch_name(d.name)


@pytest.mark.parametrize("name", ["bfloat16", "complex64", "complex128"])
def test_scalar_type_name_of_types_ember_tensors_cannot_hold(name):
    assert _dtype.scalar_type_name(name) == _torch_name(name)


def test_scalar_type_name_of_an_unknown_type_is_printed_as_is():
    assert _dtype.scalar_type_name(np.dtype("U3")) == str(np.dtype("U3"))


def test_conv_dtype_mismatch_message_uses_the_table():
    x, w = ember.zeros(1, 1, 3), ember.zeros(1, 1, 1, dtype=ember.float64)
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        ember.nn.functional.conv1d(x, w)
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        torch.nn.functional.conv1d(torch.zeros(1, 1, 3), torch.zeros(1, 1, 1, dtype=torch.float64))
