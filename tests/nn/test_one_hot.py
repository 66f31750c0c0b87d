"""F.one_hot against torch: values, shapes, dtype and every error."""
import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F


@pytest.mark.parametrize("data,num_classes", [([1, 0, 3], -1), ([[0, 2], [1, 1]], -1), (2, 4),
                                               ([], 3), ([1, 2], 5)])
def test_one_hot_like_torch(data, num_classes):
    a = np.array(data, dtype=np.int64)
    got = F.one_hot(ember.tensor(a), num_classes)
    want = torch.nn.functional.one_hot(torch.tensor(a), num_classes)
    assert got.dtype == ember.int64 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("data,dtype,num_classes", [([1, -1], np.int64, 3), ([1, 3], np.int64, 3),
                                                     ([1., 2.], np.float32, 3), ([], np.int64, -1),
                                                     ([1, 2], np.int32, 3), ([0, 2], np.int64, -2)])
def test_one_hot_errors_like_torch(data, dtype, num_classes):
    a = np.array(data, dtype=dtype)
    with pytest.raises(RuntimeError) as want:
        torch.nn.functional.one_hot(torch.tensor(a), num_classes)
    with pytest.raises(RuntimeError) as got:
        F.one_hot(ember.tensor(a), num_classes)
    assert str(got.value) == str(want.value)
