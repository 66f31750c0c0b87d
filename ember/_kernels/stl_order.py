"""GCC libstdc++'s std::sort, std::nth_element and std::partial_sort, step for step.

torch's CPU topk (partial_sort, or nth_element then sort) and mode (sort) order (value, index)
pairs by value alone, so which of several equal values comes first is decided by the exact
moves of the C++ library torch was built with (GCC's libstdc++). To return torch's indices for
ties, these kernels repeat those algorithms: introsort / introselect with median-of-three
pivots, a 16-element insertion-sort threshold, and binary heaps.

Pairs live in two arrays moved together: ``v`` (values) and ``ix`` (indices). ``how`` picks
the comparison: LESS (plain ``<``: NaN compares false), LARGEST (``>`` with NaN first) and
SMALLEST (``<`` with NaN last).
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

LESS, LARGEST, SMALLEST = 0, 1, 2
_THRESHOLD = 16


@numba.njit(inline="always")
def _before(x, y, how):
    if how == LARGEST:
        return (np.isnan(x) and not np.isnan(y)) or x > y
    if how == SMALLEST:
        return (not np.isnan(x) and np.isnan(y)) or x < y
    return x < y


@numba.njit(inline="always")
def _swap(v, ix, i, j):
    v[i], v[j] = v[j], v[i]
    ix[i], ix[j] = ix[j], ix[i]


@numba.njit
def _lg(n):
    r = 0
    while n > 1:
        n >>= 1
        r += 1
    return r


@numba.njit
def _move_median_to_first(v, ix, result, a, b, c, how):
    if _before(v[a], v[b], how):
        if _before(v[b], v[c], how):
            _swap(v, ix, result, b)
        elif _before(v[a], v[c], how):
            _swap(v, ix, result, c)
        else:
            _swap(v, ix, result, a)
    elif _before(v[a], v[c], how):
        _swap(v, ix, result, a)
    elif _before(v[b], v[c], how):
        _swap(v, ix, result, c)
    else:
        _swap(v, ix, result, b)


@numba.njit
def _unguarded_partition_pivot(v, ix, first, last, how):
    mid = first + (last - first) // 2
    _move_median_to_first(v, ix, first, first + 1, mid, last - 1, how)
    lo, hi, pivot = first + 1, last, first
    while True:
        while _before(v[lo], v[pivot], how):
            lo += 1
        hi -= 1
        while _before(v[pivot], v[hi], how):
            hi -= 1
        if not lo < hi:
            return lo
        _swap(v, ix, lo, hi)
        lo += 1


@numba.njit
def _linear_insert(v, ix, last, how):
    val, vi = v[last], ix[last]
    nxt = last - 1
    while _before(val, v[nxt], how):
        v[last], ix[last] = v[nxt], ix[nxt]
        last = nxt
        nxt -= 1
    v[last], ix[last] = val, vi


@numba.njit
def _insertion_sort(v, ix, first, last, how):
    if first == last:
        return
    for i in range(first + 1, last):
        if _before(v[i], v[first], how):
            val, vi = v[i], ix[i]
            for j in range(i, first, -1):
                v[j], ix[j] = v[j - 1], ix[j - 1]
            v[first], ix[first] = val, vi
        else:
            _linear_insert(v, ix, i, how)


@numba.njit
def _push_heap(v, ix, first, hole, top, val, vi, how):
    parent = (hole - 1) // 2
    while hole > top and _before(v[first + parent], val, how):
        v[first + hole], ix[first + hole] = v[first + parent], ix[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole], ix[first + hole] = val, vi


@numba.njit
def _adjust_heap(v, ix, first, hole, length, val, vi, how):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _before(v[first + child], v[first + child - 1], how):
            child -= 1
        v[first + hole], ix[first + hole] = v[first + child], ix[first + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        v[first + hole], ix[first + hole] = v[first + child - 1], ix[first + child - 1]
        hole = child - 1
    _push_heap(v, ix, first, hole, top, val, vi, how)


@numba.njit
def _make_heap(v, ix, first, last, how):
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(v, ix, first, parent, length, v[first + parent], ix[first + parent], how)
        if parent == 0:
            return
        parent -= 1


@numba.njit
def _pop_heap(v, ix, first, last, result, how):
    val, vi = v[result], ix[result]
    v[result], ix[result] = v[first], ix[first]
    _adjust_heap(v, ix, first, 0, last - first, val, vi, how)


@numba.njit
def _heap_select(v, ix, first, middle, last, how):
    _make_heap(v, ix, first, middle, how)
    for i in range(middle, last):
        if _before(v[i], v[first], how):
            _pop_heap(v, ix, first, middle, i, how)


@numba.njit
def _sort_heap(v, ix, first, last, how):
    while last - first > 1:
        last -= 1
        _pop_heap(v, ix, first, last, last, how)


@numba.njit
def partial_sort(v, ix, first, middle, last, how):
    _heap_select(v, ix, first, middle, last, how)
    _sort_heap(v, ix, first, middle, how)


@numba.njit
def _introsort_loop(v, ix, first, last, depth, how):
    # libstdc++ recurses on the right part and loops on the left; the parts are disjoint, so
    # an explicit stack (numba's disk cache mishandles recursive functions) gives the same result
    stack = np.empty((2 * 64 + 2, 3), np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2] = first, last, depth
    top = 1
    while top:
        top -= 1
        first, last, depth = stack[top, 0], stack[top, 1], stack[top, 2]
        while last - first > _THRESHOLD:
            if depth == 0:
                partial_sort(v, ix, first, last, last, how)
                break
            depth -= 1
            cut = _unguarded_partition_pivot(v, ix, first, last, how)
            stack[top, 0], stack[top, 1], stack[top, 2] = cut, last, depth
            top += 1
            last = cut


@numba.njit
def sort(v, ix, first, last, how):
    if first == last:
        return
    _introsort_loop(v, ix, first, last, _lg(last - first) * 2, how)
    if last - first > _THRESHOLD:
        _insertion_sort(v, ix, first, first + _THRESHOLD, how)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(v, ix, i, how)
    else:
        _insertion_sort(v, ix, first, last, how)


@numba.njit
def nth_element(v, ix, first, nth, last, how):
    if first == last or nth == last:
        return
    depth = _lg(last - first) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(v, ix, first, nth + 1, last, how)
            _swap(v, ix, first, nth)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(v, ix, first, last, how)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(v, ix, first, last, how)


@parallel_kernel
def topk_rows(rows, k, largest, sorted_):
    """torch's CPU topk of each row of ``rows`` (R, n): (values, indices), each (R, k)."""
    n_rows, n = rows.shape
    values = np.empty((n_rows, k), rows.dtype)
    indices = np.empty((n_rows, k), np.int64)
    how = LARGEST if largest else SMALLEST
    for r in numba.prange(n_rows):
        v = rows[r].copy()
        ix = np.arange(n)
        if k * 64 <= n:
            partial_sort(v, ix, 0, k, n, how)
        elif k > 0:
            nth_element(v, ix, 0, k - 1, n, how)
            if sorted_:
                sort(v, ix, 0, k - 1, how)
        values[r] = v[:k]
        indices[r] = ix[:k]
    return values, indices


@parallel_kernel
def mode_rows(rows):
    """torch's CPU mode of each row: the smallest most frequent value and, of its run in
    std::sort's order, the last element's index."""
    n_rows, n = rows.shape
    values = np.empty(n_rows, rows.dtype)
    indices = np.empty(n_rows, np.int64)
    for r in numba.prange(n_rows):
        v = rows[r].copy()
        ix = np.arange(n)
        sort(v, ix, 0, n, LESS)
        best_v, best_i, best_f, freq = v[0], ix[0], 0, 0
        for i in range(n):
            freq += 1
            if i == n - 1 or v[i] != v[i + 1]:
                if freq > best_f:
                    best_v, best_i, best_f = v[i], ix[i], freq
                freq = 0
        values[r] = best_v
        indices[r] = best_i
    return values, indices
