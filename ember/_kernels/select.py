"""Selection of the k-th smallest element of each row, with torch's tie-breaking.

torch's kthvalue runs Sedgewick's quickselect (median-of-three pivot, swapping values and
indices together) on every row; which of several equal values it returns depends on that exact
sequence of swaps, so this is the same algorithm, step for step. NaN counts as the largest.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel


@numba.njit(inline="always")
def _gt_or_nan(x, y):
    return (np.isnan(x) and not np.isnan(y)) or x > y


@numba.njit(inline="always")
def _swap(vals, idx, i, j):
    vals[i], vals[j] = vals[j], vals[i]
    idx[i], idx[j] = idx[j], idx[i]


@numba.njit
def _quickselect(vals, idx, k):
    lo, hi = 0, vals.shape[0] - 1
    while True:
        if hi <= lo:
            return
        if hi == lo + 1:
            if _gt_or_nan(vals[lo], vals[hi]):
                _swap(vals, idx, lo, hi)
            return
        mid = (lo + hi) >> 1
        _swap(vals, idx, mid, lo + 1)
        if _gt_or_nan(vals[lo + 1], vals[hi]):
            _swap(vals, idx, lo + 1, hi)
        if _gt_or_nan(vals[lo], vals[hi]):
            _swap(vals, idx, lo, hi)
        if _gt_or_nan(vals[lo + 1], vals[lo]):
            _swap(vals, idx, lo + 1, lo)
        i, j = lo + 1, hi
        piv = vals[lo]
        while True:
            i += 1
            while _gt_or_nan(piv, vals[i]):
                i += 1
            j -= 1
            while _gt_or_nan(vals[j], piv):
                j -= 1
            if j < i:
                break
            _swap(vals, idx, i, j)
        _swap(vals, idx, lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


@parallel_kernel
def kth_smallest_index(rows, k):
    """Index in its row of each row's k-th smallest (0-based k) element; rows is (R, n)."""
    n_rows, n = rows.shape
    out = np.empty(n_rows, np.int64)
    for r in numba.prange(n_rows):
        vals = rows[r].copy()
        idx = np.arange(n)
        _quickselect(vals, idx, k)
        out[r] = idx[k]
    return out
