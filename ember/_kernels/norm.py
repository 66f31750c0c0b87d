"""Instance normalisation: each row of a C-contiguous (N*C, M) view (one sample's channel, its M
spatial positions) standardised over its own positions, with a per-channel affine map.

One row per parallel task, and every pass over a row reads it while it is still in cache, so
the whole layer streams x once and y once (forward) and grad, x once and grad_x once (backward):
the composite NumPy path it replaces went over memory about eight times, with tiled copies of
the parameters and statistics. Sums accumulate in float64 (torch's acc_type for float on CPU);
the per-element work stays in the input's dtype.

Row helpers with fastmath={"reassoc"} (so that LLVM vectorises their sums) call nothing, and
the parallel loops that call them are compiled without fastmath (ember/_kernels/pool.py and
activation.py explain why: numba reloads fastmath parallel loops from its cache slower, and a
fastmath function's flags leak into what it calls).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import parallel_kernel

__all__ = ["instance_norm_forward", "instance_norm_backward"]

_jit = dict(cache=True, error_model="numpy")
_sum_jit = dict(_jit, fastmath={"reassoc", "nsz"})


@numba.njit(**_sum_jit)
def _row_sum(row):
    total = 0.0
    for j in range(row.size):
        total += row[j]
    return total


@numba.njit(**_sum_jit)
def _row_centred_square_sum(row, mean):
    """sum((row - mean)^2): the second pass of the two-pass variance (no cancellation)."""
    total = 0.0
    for j in range(row.size):
        d = row[j] - mean
        total += d * d
    return total


@numba.njit(**_sum_jit)
def _row_grad_sums(g, row, mean):
    """sum(g) and sum(g * (row - mean))."""
    sum_g = 0.0
    sum_gx = 0.0
    for j in range(g.size):
        sum_g += g[j]
        sum_gx += g[j] * (row[j] - mean)
    return sum_g, sum_gx


@numba.njit(**_jit)
def _row_affine(row, mean, scale, shift, out):
    """out = (row - mean) * scale + shift, all in the row's dtype: centring first keeps a large
    mean from cancelling the row's digits away."""
    for j in range(row.size):
        out[j] = (row[j] - mean) * scale + shift


@parallel_kernel
def instance_norm_forward(x, weight, bias, use_input_stats, eps, mean, var, invstd, y):
    """y[r] = (x[r] - mean[r]) * invstd[r] * weight[r % C] + bias[r % C] for the (rows, M) view x.

    ``use_input_stats``: mean[r], var[r] (biased) and invstd[r] = 1 / sqrt(var + eps) are the
    row's, computed here (float64 arrays); otherwise mean and invstd come filled in (running
    statistics) and var is not touched. weight and bias are (C,) arrays in x's dtype (ones and
    zeros when the layer has none)."""
    channels = weight.shape[0]
    m = x.shape[1]
    for p in numba.prange(x.shape[0]):
        r = np.int64(p)  # prange's index may be unsigned
        row = x[r]
        if use_input_stats:
            mu = _row_sum(row) / m
            v = _row_centred_square_sum(row, mu) / m
            mean[r] = mu
            var[r] = v
            invstd[r] = 1.0 / math.sqrt(v + eps)
        c = r % channels
        scale = invstd[r] * weight[c]
        _row_affine(row, x.dtype.type(mean[r]), x.dtype.type(scale),
                    x.dtype.type(bias[c]), y[r])


@parallel_kernel
def instance_norm_backward(grad, x, weight, use_input_stats, need_input, mean, invstd, sum_g,
                           sum_gx, grad_x):
    """Per row: sum_g[r] = sum(g), sum_gx[r] = sum(g * x_hat) (float64; the parameters'
    gradients are their sums over the batch), and, when ``need_input``, grad_x[r]:

        with the row's own statistics:  a * (g - sum_g / M - x_hat * sum_gx / M)
        with fixed (running) ones:      a * g

    where a = invstd[r] * weight[r % C] and x_hat = (x - mean) * invstd."""
    channels = weight.shape[0]
    m = x.shape[1]
    for p in numba.prange(x.shape[0]):
        r = np.int64(p)
        mu = x.dtype.type(mean[r])
        sg, sgx = _row_grad_sums(grad[r], x[r], mu)
        sgx *= invstd[r]
        sum_g[r] = sg
        sum_gx[r] = sgx
        if not need_input:
            continue
        a = invstd[r] * weight[r % channels]
        if use_input_stats:
            # grad_x = a*g - a*(sum_g/M) - (a*invstd*sum_gx/M) * (x - mean): one affine map of
            # (g, x - mean) per row
            shift = x.dtype.type(-a * sg / m)
            slope = x.dtype.type(-a * invstd[r] * sgx / m)
            _row_grad_input(grad[r], x[r], mu, x.dtype.type(a), slope, shift, grad_x[r])
        else:
            _row_affine(grad[r], x.dtype.type(0.0), x.dtype.type(a), x.dtype.type(0.0),
                        grad_x[r])


@numba.njit(**_jit)
def _row_grad_input(g, row, mean, a, slope, shift, out):
    """out = a * g + slope * (row - mean) + shift."""
    for j in range(g.size):
        out[j] = a * g[j] + slope * (row[j] - mean) + shift
