"""Sums and means over the trailing axes of large float32 arrays, on every core.

NumPy's reductions run on one core, and over many short rows (global average pooling: 16384
planes of 7x7) its reduce loop costs ~0.7 ns an element, several times a streaming pass. Here a
C-contiguous array is a (rows, m) view; each parallel task sums one piece of one row in float64
(a long row, e.g. a sum to one value, is cut into pieces so that it spreads over the threads),
and the pieces of a row are added in order. float64 accumulation makes the float32 result at
least as accurate as torch's cascade sum; float64 inputs stay with NumPy's pairwise sum.

The row helper is compiled with fastmath reassoc (so that LLVM vectorises its sum) and calls
nothing; the parallel loop that calls it is compiled without fastmath (as ember/_kernels/norm.py).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import SERIAL_BELOW, parallel_kernel

__all__ = ["trailing_sum", "handles"]

#: Elements per piece of a long row: enough to amortise a task, small enough to spread.
_PIECE = 1 << 15
#: At most this many tasks for the rows that are cut into pieces.
_MAX_TASKS = 64


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _piece_sum(piece):
    total = 0.0
    for i in range(piece.size):   # (indices from 0: numba's negative-index check would
        total += piece[i]         # keep the loop scalar)
    return total


@parallel_kernel(error_model="numpy")
def _row_sums(x, pieces, divisor, out):
    """out[r] = sum(x[r]) / divisor for a C-contiguous (rows, m) array, each row summed as
    ``pieces`` float64 partial sums."""
    rows, m = x.shape
    step = (m + pieces - 1) // pieces
    partial = np.empty(rows * pieces)
    for t in numba.prange(rows * pieces):
        r, c = t // pieces, t % pieces
        partial[t] = _piece_sum(x[r, min(c * step, m):min((c + 1) * step, m)])
    for r in range(rows):
        total = 0.0
        for c in range(pieces):
            total += partial[r * pieces + c]
        out[r] = total / divisor


def handles(a: np.ndarray, axes: tuple) -> bool:
    """Whether ``trailing_sum`` serves a reduction of ``a`` over ``axes`` (sorted, distinct):
    a large C-contiguous float32 array reduced over its last ``len(axes)`` axes."""
    return (a.dtype == np.float32 and a.size >= SERIAL_BELOW and a.flags.c_contiguous
            and len(axes) > 0 and axes == tuple(range(a.ndim - len(axes), a.ndim)))


def trailing_sum(a: np.ndarray, naxes: int, mean: bool = False) -> np.ndarray:
    """Sum (or mean) of ``a`` over its last ``naxes`` axes, shaped as ``a.shape[:-naxes]``
    (0-d for a full reduction). ``handles`` says when to call it."""
    lead = a.shape[:a.ndim - naxes]
    rows = math.prod(lead)
    m = a.size // rows
    pieces = 1 if rows >= _MAX_TASKS else max(1, min(m // _PIECE, _MAX_TASKS // rows))
    out = np.empty(rows, dtype=a.dtype)
    _row_sums(a.reshape(rows, m), pieces, float(m if mean else 1), out)
    return out.reshape(lead)
