"""ember.linspace gives torch's values bit for bit (NumPy's linspace differs in the last bit
most of the time): torch computes each half from its own end with a fused multiply-add, float16
in half arithmetic, integers by truncating a double."""
import numpy as np
import torch
from hypothesis import given, strategies as st

import ember

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16"]


@given(start=st.floats(-1e4, 1e4), end=st.floats(-1e4, 1e4), steps=st.integers(0, 600),
       dtype=st.sampled_from(DTYPES))
def test_linspace_bitwise_equal_to_torch(start, end, steps, dtype):
    want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    got = ember.linspace(start, end, steps, dtype=getattr(ember, dtype)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_numpy_linspace_would_differ():
    """The case this guards: np.linspace and torch disagree on these float32 values."""
    args = (-15.334710205484868, 65.54051876408835, 17)
    want = torch.linspace(*args).numpy()
    assert not np.array_equal(np.linspace(*args).astype(np.float32), want)
    np.testing.assert_array_equal(ember.linspace(*args).numpy(), want)


def test_large_and_degenerate_sizes():
    for steps in (1, 2, 4097, 100_000):
        for dtype in ("float32", "float64"):
            np.testing.assert_array_equal(
                ember.linspace(-3.3, 7.7, steps, dtype=getattr(ember, dtype)).numpy(),
                torch.linspace(-3.3, 7.7, steps, dtype=getattr(torch, dtype)).numpy())
    assert ember.linspace(0, 1, 0).shape == (0,)
