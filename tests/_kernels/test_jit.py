"""The parallel/serial kernel switch, and why it exists: forked DataLoader workers run ember's
parallel kernels after their parent did (numba's GNU OpenMP layer kills such a child)."""
import numpy as np

import ember
from ember._kernels import _jit, elementwise
from ember.utils.data import DataLoader, Dataset


def test_serial_twin_computes_the_same():
    a = np.random.default_rng(0).standard_normal(elementwise.PARALLEL_THRESHOLD + 5).astype(np.float32)
    out_par, out_ser = np.empty_like(a), np.empty_like(a)
    elementwise._exp.parallel(a, out_par)
    elementwise._exp.serial(a, out_ser)
    np.testing.assert_array_equal(out_par, out_ser)
    try:
        _jit.set_parallel(False)
        assert not _jit.parallel_enabled()
        np.testing.assert_allclose(elementwise.exp(a), np.exp(a), rtol=1e-6)
    finally:
        _jit.set_parallel(True)


class BigExp(Dataset):
    """Each sample runs a parallel-sized kernel inside the worker."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        x = ember.full((elementwise.PARALLEL_THRESHOLD + 1,), float(i))
        return (x * 0).exp().sum()


def test_forked_workers_run_kernels_after_the_parent_did():
    big = ember.ones(elementwise.PARALLEL_THRESHOLD + 1)
    assert (big * big).exp().sum().item() > 0  # the parent starts its thread pool first
    loader = DataLoader(BigExp(), batch_size=2, num_workers=2, timeout=60)
    sums = [b.tolist() for b in loader]
    assert sums == [[elementwise.PARALLEL_THRESHOLD + 1.0] * 2] * 2
