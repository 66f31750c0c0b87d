"""The parallel and serial twins of the pooling kernels give the same results (the parallel one
runs above SERIAL_BELOW elements, the serial one below and under ember.set_num_threads(1))."""
from __future__ import annotations

import numpy as np
import pytest

from ember._kernels import pool as P
from ember._kernels._jit import SERIAL_BELOW


def _both_twins(kernel, *args):
    """Run ``kernel``'s parallel then serial twin, each on fresh copies of the two output
    arrays (the last two args), and return both pairs."""
    results = []
    for twin in (kernel.parallel, kernel.serial):
        outs = [a.copy() for a in args[-2:]]
        twin(*args[:-2], *outs)
        results.append(outs)
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [((2, 2), (2, 2), (0, 0), (1, 1)),
                                    ((3, 3), (2, 2), (1, 1), (1, 1)),
                                    ((3, 2), (1, 2), (1, 0), (2, 1))])
def test_max_pool_twins_agree_with_ties_and_nan(dtype, window):
    kernel, stride, padding, dilation = window
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(96, 40, 72)).astype(dtype)  # small integers: many ties
    x[5, 3, 7] = np.nan
    x[9] = -np.inf
    assert x.size > SERIAL_BELOW
    out_spatial = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                        for n, k, s, p, d in zip(x.shape[1:], kernel, stride, padding, dilation))
    axes = [P._sliding_axis(n, o, k, s, p, d)[:2] for n, o, k, s, p, d in
            zip(x.shape[1:], out_spatial, kernel, stride, padding, dilation)]
    planes, n_out = x.shape[0], int(np.prod(out_spatial))
    (par_out, par_index), (ser_out, ser_index) = _both_twins(
        P._max_windows, P._rows(x), P._dims_3d(x.shape[1:]), *P._axes_3d(axes),
        P._dims_3d(tuple(dilation)), np.empty((planes, n_out), dtype),
        np.empty((planes, n_out), np.int64))
    np.testing.assert_array_equal(par_out, ser_out)
    np.testing.assert_array_equal(par_index, ser_index)
    assert np.isnan(par_out[5]).any() and np.isneginf(par_out[9]).all()
    # the kernel against a direct NumPy max over the windows (no padding case)
    if padding == (0, 0) and dilation == (1, 1):
        sh, sw = stride
        windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(1, 2))[:, ::sh, ::sw]
        expected = np.max(windows.reshape(*windows.shape[:3], -1), axis=-1)
        np.testing.assert_array_equal(par_out.reshape(expected.shape), expected)
