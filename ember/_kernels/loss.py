"""Loss kernels: cross-entropy with class indices on (rows, classes) logits, forward and backward
side by side.

One pass per row does what the NumPy composition did in ~15 array operations (max, shift, exp,
sum, log, the target's gather, the weights' gather, the ignore mask...): on LeNet's (64, 10)
logits those operations cost far more than their arithmetic. The row helpers (max, the float32
exp LLVM vectorises, sum) are the softmax kernels' (ember/_kernels/activation.py), so the
probabilities here round as F.softmax's do.

The forward keeps ``exp(x - max)`` and its row sums for the backward, which rebuilds the
probabilities from them; the loss needs only ``log(sum) - (x_target - max)``.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import parallel_kernel
from .activation import _c, _exp, _pjit, _row_max, _sum

__all__ = ["cross_entropy_rows_forward", "cross_entropy_rows_backward", "first_bad_target"]

#: The work per element counted against _jit.SERIAL_BELOW: an exp and a few passes over the row,
#: as the softmax forward's (ember/_kernels/activation.py, _SOFTMAX_WORK).
WORK_PER_ELEMENT = 4


@numba.njit(cache=True)
def first_bad_target(target, n_classes, ignore_index):
    """The row of the first target outside [0, n_classes) that is not ``ignore_index``, or -1:
    checked before any row is computed (torch raises "Target t is out of bounds")."""
    for n in range(target.size):
        t = np.int64(target[n])
        if t != ignore_index and (t < 0 or t >= n_classes):
            return n
    return -1


@numba.njit(inline="always")
def _class_weights(weight, n_classes, eps):
    """(sum_c w_c, 1/C) in eps's float type; every class weighs 1 when ``weight`` is empty."""
    total_w = _c(eps, n_classes)
    if weight.size > 0:
        total_w = _c(eps, 0.0)
        for j in range(n_classes):
            total_w += weight[j]
    return total_w, _c(eps, 1.0) / _c(eps, n_classes)


@parallel_kernel(**_pjit)
def cross_entropy_rows_forward(x, target, weight, ignore_index, eps, exps, sums, loss, w_t,
                               safe, kept):
    """Per row n of the (rows, C) logits, with y = target[n] and m = max(x[n]):

    exps[n] = exp(x[n] - m), sums[n] = sum(exps[n]);
    loss[n] = (1 - eps) w_y (log sums[n] - (x[n, y] - m))
              + eps/C (sum_c w_c log sums[n] - sum_c w_c (x[n, c] - m)),
    0 for an ignored row; w_t[n] = w_y (0 if ignored), safe[n] = y (0 if ignored), kept[n].
    ``weight`` has C entries, or none (every class weighs 1). Targets are in range (checked by
    first_bad_target)."""
    n_classes = x.shape[1]
    weighted = weight.size > 0
    one, zero = _c(eps, 1.0), _c(eps, 0.0)
    total_w, inv_c = _class_weights(weight, n_classes, eps)
    for n in numba.prange(x.shape[0]):
        row, e = x[n], exps[n]
        m = _row_max(row)
        for j in range(n_classes):
            e[j] = _exp(row[j] - m)
        s = _sum(e)
        sums[n] = s
        t = np.int64(target[n])
        kept[n] = t != ignore_index
        if not kept[n]:
            safe[n] = 0
            w_t[n] = zero
            loss[n] = zero
            continue
        w = weight[t] if weighted else one
        safe[n] = t
        w_t[n] = w
        log_s = math.log(s)
        value = w * (log_s - (row[t] - m))
        if eps != zero:
            shift = zero  # sum_c w_c (x_c - m)
            for j in range(n_classes):
                shift += (row[j] - m) * (weight[j] if weighted else one)
            value = (one - eps) * value + eps * inv_c * (total_w * log_s - shift)
        loss[n] = value


@parallel_kernel(**_pjit)
def cross_entropy_rows_backward(exps, sums, safe, kept, w_t, g, weight, eps, out):
    """The logits' gradient of cross_entropy_rows_forward's loss, g[n] its upstream gradient
    (g has one entry per row, or a single one shared by all):

    out[n] = p[n] total[n] - a[n],  p = exps / sums, a[n] = c one-hot(y) + spread w,
    c = (1 - eps) w_y g[n], spread = eps/C g[n] (0 if ignored), total = c + spread sum_c w_c."""
    n_classes = exps.shape[1]
    weighted = weight.size > 0
    one, zero = _c(eps, 1.0), _c(eps, 0.0)
    total_w, inv_c = _class_weights(weight, n_classes, eps)
    shared = g.size == 1
    for n in numba.prange(exps.shape[0]):
        gn = g[0] if shared else g[n]
        c = (one - eps) * w_t[n] * gn
        spread = eps * inv_c * gn if kept[n] else zero
        scale = (c + spread * total_w) / sums[n]
        e, o = exps[n], out[n]
        for j in range(n_classes):
            o[j] = e[j] * scale
        if spread != zero:
            for j in range(n_classes):
                o[j] -= spread * (weight[j] if weighted else one)
        o[safe[n]] -= c
