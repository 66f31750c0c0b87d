"""Embedding lookups' array kernels (F.embedding, F.embedding_bag): the in-place max_norm
renormalisation, the bag reductions and the gradients' scatter-adds.

Every index that reaches a kernel here was bounds-checked by ember/nn/functional/sparse.py.
Gradients scatter rows into a dense (num_embeddings, D) array with a serial numba loop: rows
repeat (that is the point of a lookup table), so a parallel loop over them would race.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

NO_ROW = -1  # padding_idx=None, and the row of a gradient entry that goes nowhere


def embedding_renorm_(weight: np.ndarray, rows: np.ndarray, max_norm: float,
                      norm_type: float) -> None:
    """Scale, in place, each distinct row of ``weight`` in ``rows`` whose ``norm_type``-norm
    exceeds ``max_norm`` by ``max_norm / (norm + 1e-7)`` (torch's embedding_renorm_cpu_: the
    norm in the weight's dtype, the scale in double, the product in the weight's dtype).
    Duplicates are renormalised once."""
    rows = np.unique(rows)
    if rows.size == 0:
        return
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1).astype(np.float64)
    over = norms > max_norm
    if not over.any():
        return
    scale = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype)
    weight[rows[over]] *= scale[:, None]


@parallel_kernel
def _bag_reduce(weight, indices, starts, ends, scale, use_scale, use_max, padding_idx,
                out, bag_size, max_rows):
    """Per bag b: out[b] = sum (or max per column) of weight[indices[j]] over j in
    [starts[b], ends[b]), padding rows skipped; bag_size[b] = rows taken. max: the first of
    tied maxima wins and a NaN is never replaced nor replaces (torch's ``>`` comparison)."""
    dim = weight.shape[1]
    for b in numba.prange(out.shape[0]):
        n = 0
        for j in range(starts[b], ends[b]):
            r = indices[j]
            if r == padding_idx:
                continue
            if use_max:
                for d in range(dim):
                    v = weight[r, d]
                    if n == 0 or v > out[b, d]:
                        out[b, d] = v
                        max_rows[b, d] = r
            else:
                s = scale[j] if use_scale else 1.0
                for d in range(dim):
                    out[b, d] += s * weight[r, d]
            n += 1
        bag_size[b] = n


def bag_reduce(weight, indices, starts, ends, mode: str, per_sample_weights, padding_idx):
    """(out (B, D), bag_size (B,), max_rows (B, D) or None) of the bags [starts[b], ends[b])
    of ``indices``; mode 'sum' (scaled by ``per_sample_weights`` if given), 'mean' or 'max'.
    Empty bags (or all-padding bags) give zeros; mean divides by the rows taken."""
    n_bags, dim = starts.shape[0], weight.shape[1]
    out = np.zeros((n_bags, dim), weight.dtype)
    bag_size = np.zeros(n_bags, np.int64)
    use_max = mode == "max"
    max_rows = np.full((n_bags, dim) if use_max else (0, 0), NO_ROW, np.int64)
    use_scale = per_sample_weights is not None
    scale = (np.ascontiguousarray(per_sample_weights) if use_scale
             else np.zeros(0, weight.dtype))
    _bag_reduce(np.ascontiguousarray(weight), indices, starts, ends, scale, use_scale, use_max,
                padding_idx, out, bag_size, max_rows)
    if mode == "mean":
        out /= np.maximum(bag_size, 1).astype(out.dtype)[:, None]
    return out, bag_size, (max_rows if use_max else None)


@numba.njit(cache=True)
def _rows_add(out, rows, src, src_rows, scale):
    """out[rows[j]] += scale[j] * src[src_rows[j]] for every j with rows[j] != NO_ROW."""
    for j in range(rows.shape[0]):
        r = rows[j]
        if r < 0:
            continue
        s = scale[j]
        k = src_rows[j]
        for d in range(out.shape[1]):
            out[r, d] += s * src[k, d]


@numba.njit(cache=True)
def _max_rows_add(out, max_rows, grad):
    for b in range(grad.shape[0]):
        for d in range(grad.shape[1]):
            r = max_rows[b, d]
            if r >= 0:
                out[r, d] += grad[b, d]


def rows_scatter_add(num_rows: int, rows, src, src_rows, scale) -> np.ndarray:
    """A (num_rows, D) array of zeros plus ``scale[j] * src[src_rows[j]]`` at ``rows[j]``
    (rows[j] == NO_ROW: skipped). The weight gradient of every lookup here."""
    out = np.zeros((num_rows, src.shape[1]), src.dtype)
    _rows_add(out, np.ascontiguousarray(rows, np.int64), np.ascontiguousarray(src),
              np.ascontiguousarray(src_rows, np.int64), np.ascontiguousarray(scale, src.dtype))
    return out


def max_bag_backward(num_rows: int, max_rows, grad) -> np.ndarray:
    """The weight gradient of a 'max' bag: each output element's gradient to the row that won."""
    out = np.zeros((num_rows, grad.shape[1]), grad.dtype)
    _max_rows_add(out, max_rows, np.ascontiguousarray(grad))
    return out


def frequency_divisors(indices: np.ndarray, num_rows: int) -> np.ndarray:
    """Per lookup j: how often ``indices[j]`` occurs in ``indices`` (scale_grad_by_freq)."""
    return np.bincount(indices, minlength=num_rows)[indices]


def bag_frequency_divisors(indices: np.ndarray, num_rows: int) -> np.ndarray:
    """embedding_bag's scale_grad_by_freq divisor per lookup, as torch 2.13's CPU backward
    computes it (_embedding_bag_dense_backward_cpu_sum_mean): the i-th distinct index, in
    sorted order, is divided by the count of ``sorted(indices)[i]`` - not of itself. The two
    agree while no index before it repeats; kept as torch does for identical gradients."""
    counts = np.bincount(indices, minlength=num_rows)
    ordered = np.sort(indices)
    distinct = np.unique(ordered)
    group = np.searchsorted(distinct, indices)
    return counts[ordered[group]]
