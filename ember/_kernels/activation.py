"""Activation kernels: fused numba loops, forward and backward side by side.

Every elementwise activation is two parallel one-pass loops over flat contiguous arrays:
``<name>_forward(x, out, *params)`` and ``<name>_backward(grad, saved, out, *params)``, where
``saved`` is the output when the derivative can be written with it (sigmoid, tanh, ELU, ReLU,
hardtanh: no transcendental is recomputed) and the input otherwise. Softmax and log-softmax
work on an ``(outer, n, inner)`` view and reduce over ``n``.

Numerics (ember's TRAPS.md #12, #13):

* float32 uses the vectorisable ``exp``/``tanh``/``erf`` below (numba has no SVML here, and a
  scalar ``expf`` call per element ran 4x slower than torch); float64 uses ``math``'s.
* Nothing overflows for any finite input: sigmoid is written with ``exp(-|x|)``, softplus and
  log-sigmoid as ``max(z, 0) + log1p(exp(-|z|))``, softmax subtracts the maximum.
* Kinks and NaN follow ATen's CPU kernels (aten/src/ATen/native/cpu/Activation.cpp,
  BinaryOpsKernel.cpp): every comparison is written the way ATen writes it, because the
  branch NaN falls into decides the result (``relu(nan) = nan``, ``relu'(0) = 0``, ...).

Parameters (alpha, slopes, bounds) must arrive with the arrays' dtype (``_call`` casts them):
a float64 scalar would silently promote a float32 loop to float64.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic, overload

_jit = dict(cache=True)
_pjit = dict(parallel=True, cache=True)


# =========================================================================== scalar maths
def _c(like, value):
    """``value`` as a constant of ``like``'s type, inside compiled code (float32 stays float32)."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(_c)
def _c_impl(like, value):
    ty = like
    return lambda like, value: ty(value)


@intrinsic
def _f32_from_bits(typingctx, bits):
    """Reinterpret an int32 as the float32 with the same bits (what ``ldexp`` needs, vectorised)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(inline="always", **_jit)
def _expf(x):
    """exp for float32 in straight-line code LLVM can vectorise (Cephes expf, ~1 ulp).

    exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2, exp(r) by a degree-7 polynomial.
    2^n is built from the exponent bits in two halves, so results down to the smallest
    subnormal (x ~ -103.9) are right; the selects at the end give inf, 0 and NaN exactly."""
    xc = x if x > np.float32(-104.0) else np.float32(-104.0)
    xc = xc if xc < np.float32(89.0) else np.float32(89.0)
    # round to nearest with the 1.5 * 2^23 trick: plain adds, no call
    n = (xc * np.float32(1.44269504088896341) + np.float32(12582912.0)) - np.float32(12582912.0)
    r = xc - n * np.float32(0.693359375)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    ni = np.int32(n)
    half = ni >> np.int32(1)
    y = (p * _f32_from_bits((half + np.int32(127)) << np.int32(23))
         * _f32_from_bits((ni - half + np.int32(127)) << np.int32(23)))
    y = y if x < np.float32(88.72283935546875) else np.float32(np.inf)
    y = y if x > np.float32(-103.972084) else np.float32(0.0)
    return y if x == x else x


@numba.njit(inline="always", **_jit)
def _expm1f(x):
    """expm1 for float32: a Taylor polynomial near 0 (where exp(x) - 1 cancels), exp - 1 beyond."""
    p = np.float32(1.0 / 40320.0)
    p = p * x + np.float32(1.0 / 5040.0)
    p = p * x + np.float32(1.0 / 720.0)
    p = p * x + np.float32(1.0 / 120.0)
    p = p * x + np.float32(1.0 / 24.0)
    p = p * x + np.float32(1.0 / 6.0)
    p = p * x + np.float32(0.5)
    small = (p * x) * x + x
    big = _expf(x) - np.float32(1.0)
    return small if abs(x) < np.float32(0.5) else big


@numba.njit(inline="always", **_jit)
def _tanhf(x):
    """tanh for float32 (Cephes tanhf, ~2 ulp): odd polynomial for |x| < 0.625, else
    1 - 2 / (exp(2|x|) + 1), which saturates to 1 without overflow."""
    a = abs(x)
    z = x * x
    p = np.float32(-5.70498872745e-3)
    p = p * z + np.float32(2.06390887954e-2)
    p = p * z - np.float32(5.37397155531e-2)
    p = p * z + np.float32(1.33314422036e-1)
    p = p * z - np.float32(3.33332819422e-1)
    small = p * z * x + x
    big = np.float32(1.0) - np.float32(2.0) / (_expf(a + a) + np.float32(1.0))
    big = big if x >= np.float32(0.0) else -big
    return small if a < np.float32(0.625) else big


@numba.njit(inline="always", **_jit)
def _erff(x):
    """erf for float32 as ATen's vectorised CPU erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7):
    erf(x) = sign(x) * (1 - t * P(t) * exp(-x^2)), t = 1 / (1 + 0.3275911 |x|)."""
    a = abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    p = np.float32(1.061405429)
    p = p * t - np.float32(1.453152027)
    p = p * t + np.float32(1.421413741)
    p = p * t - np.float32(0.284496736)
    p = p * t + np.float32(0.254829592)
    y = np.float32(1.0) - p * t * _expf(-a * a)
    return y if x >= np.float32(0.0) else (-y if x < np.float32(0.0) else x)


def _exp(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _expm1(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _tanh(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _erf(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _by_precision(f32_impl, f64_impl):
    """An overload that picks the float32 kernel-friendly version or the libm one."""
    def typer(x):
        if x == types.float32:
            return lambda x: f32_impl(x)
        return lambda x: f64_impl(x)
    return typer


overload(_exp)(_by_precision(_expf, math.exp))
overload(_expm1)(_by_precision(_expm1f, math.expm1))
overload(_tanh)(_by_precision(_tanhf, math.tanh))
overload(_erf)(_by_precision(_erff, math.erf))


@numba.njit(inline="always", **_jit)
def _sigmoid(x):
    """1 / (1 + exp(-x)) through exp(-|x|) <= 1, so it never overflows."""
    one = _c(x, 1.0)
    z = _exp(-abs(x))
    s = one / (one + z)
    return s if x >= _c(x, 0.0) else z * s


@numba.njit(inline="always", **_jit)
def _softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), finite for every finite z."""
    return max(z, _c(z, 0.0)) + math.log1p(_exp(-abs(z)))


# =========================================================================== elementwise kernels
# ReLU: y = max(x, 0); dy/dx = 1 if y > 0 else 0, so relu'(0) = 0 (ATen threshold_backward on
# the result). `x <= 0` rather than `x > 0` keeps NaN: relu(nan) = nan.
@numba.njit(**_pjit)
def relu_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = _c(v, 0.0) if v <= _c(v, 0.0) else v


@numba.njit(**_pjit)
def relu_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = _c(grad[i], 0.0) if y[i] <= _c(grad[i], 0.0) else grad[i]


# LeakyReLU: y = x if x > 0 else slope * x; dy/dx = 1 if x > 0 else slope (so slope at 0).
# ``saved`` may be the output when slope >= 0: then y > 0 exactly when x > 0.
@numba.njit(**_pjit)
def leaky_relu_forward(x, out, slope):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v if v > _c(v, 0.0) else v * slope


@numba.njit(**_pjit)
def leaky_relu_backward(grad, saved, out, slope):
    for i in numba.prange(grad.size):
        out[i] = grad[i] if saved[i] > _c(slope, 0.0) else grad[i] * slope


# Threshold: y = x if x > threshold else value; dy/dx = 1 if x > threshold else 0.
@numba.njit(**_pjit)
def threshold_forward(x, out, threshold, value):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = value if v <= threshold else v


@numba.njit(**_pjit)
def threshold_backward(grad, x, out, threshold):
    for i in numba.prange(grad.size):
        out[i] = _c(threshold, 0.0) if x[i] <= threshold else grad[i]


# Hardtanh: y = clamp(x, lo, hi); dy/dx = 1 inside (lo, hi), 0 at and beyond the bounds
# (ATen hardtanh_backward). With the output saved the test is the same: lo < y < hi.
@numba.njit(**_pjit)
def hardtanh_forward(x, out, lo, hi):
    for i in numba.prange(x.size):
        v = x[i]
        v = lo if v < lo else v
        out[i] = hi if v > hi else v


@numba.njit(**_pjit)
def hardtanh_backward(grad, saved, out, lo, hi):
    for i in numba.prange(grad.size):
        s = saved[i]
        out[i] = grad[i] if (s > lo and s < hi) else _c(lo, 0.0)      # NaN -> 0, as ATen


# ELU family (ELU, SELU, CELU), ATen elu with (alpha, scale, input_scale):
#   y = scale * x                               for x > 0
#   y = scale * alpha * expm1(input_scale * x)  for x <= 0
#   dy/dx = scale (x > 0);  input_scale * (y + scale * alpha) (x <= 0), from the output,
#   or scale * alpha * input_scale * exp(input_scale * x) from the input (alpha < 0).
@numba.njit(**_pjit)
def elu_forward(x, out, alpha, scale, input_scale):
    neg = alpha * scale
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v * scale if v > _c(v, 0.0) else _expm1(v * input_scale) * neg


@numba.njit(**_pjit)
def elu_backward(grad, saved, out, alpha, scale, input_scale, saved_is_result):
    neg = alpha * scale
    for i in numba.prange(grad.size):
        s, g = saved[i], grad[i]
        if saved_is_result:
            d = input_scale * (s + neg)
        else:
            d = input_scale * neg * _exp(s * input_scale)
        out[i] = g * scale if s > _c(s, 0.0) else g * d


# Sigmoid: y = 1 / (1 + exp(-x)); dy/dx = y (1 - y) in [0, 1/4].
@numba.njit(**_pjit)
def sigmoid_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = _sigmoid(x[i])


@numba.njit(**_pjit)
def sigmoid_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * y[i] * (_c(y[i], 1.0) - y[i])


# Tanh: dy/dx = 1 - y^2 in (0, 1].
@numba.njit(**_pjit)
def tanh_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = _tanh(x[i])


@numba.njit(**_pjit)
def tanh_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * (_c(y[i], 1.0) - y[i] * y[i])


# SiLU: y = x sigmoid(x); dy/dx = s (1 + x (1 - s)).
@numba.njit(**_pjit)
def silu_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] * _sigmoid(x[i])


@numba.njit(**_pjit)
def silu_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        s = _sigmoid(v)
        out[i] = grad[i] * s * (_c(v, 1.0) + v * (_c(v, 1.0) - s))


# GELU, exact: y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; dy/dx = Phi(x) + x phi(x).
@numba.njit(**_pjit)
def gelu_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v * _c(v, 0.5) * (_c(v, 1.0) + _erf(v * _c(v, 0.7071067811865476)))


@numba.njit(**_pjit)
def gelu_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        cdf = _c(v, 0.5) * (_c(v, 1.0) + _erf(v * _c(v, 0.7071067811865476)))
        pdf = _c(v, 0.3989422804014327) * _exp(v * v * _c(v, -0.5))
        out[i] = grad[i] * (cdf + v * pdf)


# GELU, tanh approximation: y = x/2 (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2 / pi).
@numba.njit(**_pjit)
def gelu_tanh_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        inner = _c(v, 0.7978845608028654) * (v + _c(v, 0.044715) * v * v * v)
        out[i] = _c(v, 0.5) * v * (_c(v, 1.0) + _tanh(inner))


@numba.njit(**_pjit)
def gelu_tanh_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        inner = _c(v, 0.7978845608028654) * (v + _c(v, 0.044715) * v * v * v)
        t = _tanh(inner)
        d_inner = _c(v, 0.7978845608028654) * (_c(v, 1.0) + _c(v, 3 * 0.044715) * v * v)
        d = _c(v, 0.5) * (_c(v, 1.0) + t) + _c(v, 0.5) * v * (_c(v, 1.0) - t * t) * d_inner
        out[i] = grad[i] * d


# Softplus: y = log(1 + exp(beta x)) / beta, or x where beta x > threshold;
# dy/dx = sigmoid(beta x), or 1 past the threshold.
@numba.njit(**_pjit)
def softplus_forward(x, out, beta, threshold):
    for i in numba.prange(x.size):
        z = x[i] * beta
        out[i] = x[i] if z > threshold else _softplus(z) / beta


@numba.njit(**_pjit)
def softplus_backward(grad, x, out, beta, threshold):
    for i in numba.prange(grad.size):
        z = x[i] * beta
        out[i] = grad[i] if z > threshold else grad[i] * _sigmoid(z)


# LogSigmoid: y = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); dy/dx = sigmoid(-x) in (0, 1).
@numba.njit(**_pjit)
def log_sigmoid_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = -_softplus(-x[i])


@numba.njit(**_pjit)
def log_sigmoid_backward(grad, x, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * _sigmoid(-x[i])


# Mish: y = x tanh(softplus(x)). With e = exp(x): tanh(log(1 + e)) = n / (n + 2), n = e (e + 2),
# no log needed; past x = 20 it is 1 in both precisions (and e^2 would overflow float32).
# dy/dx = tsp + x sigmoid(x) (1 - tsp^2).
@numba.njit(inline="always", **_jit)
def _tanh_softplus(v):
    e = _exp(v)
    n = e * (e + _c(v, 2.0))
    return n / (n + _c(v, 2.0)) if v < _c(v, 20.0) else _c(v, 1.0)


@numba.njit(**_pjit)
def mish_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] * _tanh_softplus(x[i])


@numba.njit(**_pjit)
def mish_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        t = _tanh_softplus(v)
        out[i] = grad[i] * (t + v * _sigmoid(v) * (_c(v, 1.0) - t * t))


# Hardsigmoid: y = clamp(x + 3, 0, 6) / 6; dy/dx = 1/6 on (-3, 3), else 0.
@numba.njit(**_pjit)
def hardsigmoid_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i] + _c(x[i], 3.0)
        v = _c(v, 0.0) if v < _c(v, 0.0) else v
        v = _c(v, 6.0) if v > _c(v, 6.0) else v
        out[i] = v / _c(v, 6.0)


@numba.njit(**_pjit)
def hardsigmoid_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        inside = v > _c(v, -3.0) and v < _c(v, 3.0)
        out[i] = grad[i] / _c(v, 6.0) if inside else _c(v, 0.0)


# Hardswish: y = x clamp(x + 3, 0, 6) / 6; dy/dx = 0 up to -3, x/3 + 1/2 between, 1 from 3 on.
@numba.njit(**_pjit)
def hardswish_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        r = v + _c(v, 3.0)
        r = _c(v, 0.0) if r < _c(v, 0.0) else r
        r = _c(v, 6.0) if r > _c(v, 6.0) else r
        out[i] = v * r / _c(v, 6.0)


@numba.njit(**_pjit)
def hardswish_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v, g = x[i], grad[i]
        d = v / _c(v, 3.0) + _c(v, 0.5)           # NaN falls through to here, as in ATen
        d = _c(v, 1.0) if v >= _c(v, 3.0) else d
        d = _c(v, 0.0) if v <= _c(v, -3.0) else d
        out[i] = g * d


# Hardshrink: y = x where |x| > lambda, else 0. Softshrink: y = x - lambda sign(x) there.
# Both: dy/dx = 1 where |x| > lambda, else 0 (ATen shrink_backward).
@numba.njit(**_pjit)
def hardshrink_forward(x, out, lambd):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = _c(v, 0.0) if (v >= -lambd and v <= lambd) else v


@numba.njit(**_pjit)
def softshrink_forward(x, out, lambd):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v - lambd if v > lambd else (v + lambd if v < -lambd else v * _c(v, 0.0))


@numba.njit(**_pjit)
def shrink_backward(grad, x, out, lambd):
    for i in numba.prange(grad.size):
        v = x[i]
        out[i] = grad[i] if (v < -lambd or v > lambd) else _c(v, 0.0)   # NaN -> 0, as ATen


# Tanhshrink: y = x - tanh(x); dy/dx = tanh(x)^2.
@numba.njit(**_pjit)
def tanhshrink_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] - _tanh(x[i])


@numba.njit(**_pjit)
def tanhshrink_backward(grad, x, out):
    for i in numba.prange(grad.size):
        t = _tanh(x[i])
        out[i] = grad[i] * t * t


# Softsign: y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)^2 in (0, 1].
@numba.njit(**_pjit)
def softsign_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] / (_c(x[i], 1.0) + abs(x[i]))


@numba.njit(**_pjit)
def softsign_backward(grad, x, out):
    for i in numba.prange(grad.size):
        d = _c(x[i], 1.0) + abs(x[i])
        out[i] = grad[i] / (d * d)


# PReLU on an (N, C, inner) view, one slope per channel:
#   y = x if x > 0 else w[c] x;  dL/dx = g or w[c] g;  dL/dw[c] = sum over x <= 0 of g x.
@numba.njit(**_pjit)
def prelu_forward(x, w, out):
    n, c, inner = x.shape
    for nc in numba.prange(n * c):
        b, ch = nc // c, nc % c
        slope = w[ch]
        for k in range(inner):
            v = x[b, ch, k]
            out[b, ch, k] = v if v > _c(v, 0.0) else slope * v


@numba.njit(**_pjit)
def prelu_backward(grad, x, w, grad_x, weight_partial):
    """grad_x in place; weight_partial[b, c]: each (sample, channel)'s share of dL/dw[c]."""
    n, c, inner = x.shape
    for nc in numba.prange(n * c):
        b, ch = nc // c, nc % c
        slope = w[ch]
        acc = _c(slope, 0.0)
        for k in range(inner):
            v, g = x[b, ch, k], grad[b, ch, k]
            if v > _c(v, 0.0):
                grad_x[b, ch, k] = g
            else:
                grad_x[b, ch, k] = slope * g
                acc += v * g
        weight_partial[b, ch] = acc


# =========================================================================== softmax family
# On an (outer, n, inner) view, reducing over n. Rows (inner == 1) are contiguous and reduced
# one per task; otherwise each task takes a block of `inner` columns of one outer index and
# streams over n with the block's running max / sum in a small buffer (vectorised over k).
_BLOCK = 512


@numba.njit(inline="always", **_jit)
def _row_max(x, o, n):
    m = x[o, 0, 0]
    for j in range(1, n):
        v = x[o, j, 0]
        m = v if v > m else m
    return m


@numba.njit(**_pjit)
def softmax_forward(x, out, log):
    """y = exp(x - max) / sum exp(x - max), or for log: y = x - max - log(sum exp(x - max))."""
    outer, n, inner = x.shape
    if n == 0:
        return
    if inner == 1:
        for o in numba.prange(outer):
            m = _row_max(x, o, n)
            m = _c(m, 0.0) if m == -np.inf else m      # an all -inf row: no inf - inf
            s = _c(m, 0.0)
            for j in range(n):
                e = _exp(x[o, j, 0] - m)
                s += e
                if not log:
                    out[o, j, 0] = e
            if log:     # (x - m) - log s: m + log s would round away log s when |m| >> 1
                lse = math.log(s)
                for j in range(n):
                    out[o, j, 0] = (x[o, j, 0] - m) - lse
            else:
                r = _c(m, 1.0) / s
                for j in range(n):
                    out[o, j, 0] *= r
        return
    nblocks = (inner + _BLOCK - 1) // _BLOCK
    for task in numba.prange(outer * nblocks):
        o = task // nblocks
        k0 = (task % nblocks) * _BLOCK
        k1 = min(k0 + _BLOCK, inner)
        m = x[o, 0, k0:k1].copy()
        for j in range(1, n):
            for k in range(k1 - k0):
                v = x[o, j, k0 + k]
                m[k] = v if v > m[k] else m[k]
        for k in range(k1 - k0):
            m[k] = _c(m[k], 0.0) if m[k] == -np.inf else m[k]
        s = np.zeros_like(m)
        for j in range(n):
            for k in range(k1 - k0):
                e = _exp(x[o, j, k0 + k] - m[k])
                s[k] += e
                if not log:
                    out[o, j, k0 + k] = e
        if log:
            for k in range(k1 - k0):
                s[k] = math.log(s[k])
            for j in range(n):
                for k in range(k1 - k0):
                    out[o, j, k0 + k] = (x[o, j, k0 + k] - m[k]) - s[k]
        else:
            for k in range(k1 - k0):
                s[k] = _c(s[k], 1.0) / s[k]
            for j in range(n):
                for k in range(k1 - k0):
                    out[o, j, k0 + k] *= s[k]


@numba.njit(**_pjit)
def softmax_backward(grad, y, out, log):
    """softmax:     dx = y (g - sum_j g y)
    log-softmax: dx = g - exp(y) sum_j g"""
    outer, n, inner = y.shape
    if n == 0:
        return
    if inner == 1:
        for o in numba.prange(outer):
            d = _c(y[o, 0, 0], 0.0)
            for j in range(n):
                d += grad[o, j, 0] if log else grad[o, j, 0] * y[o, j, 0]
            for j in range(n):
                if log:
                    out[o, j, 0] = grad[o, j, 0] - _exp(y[o, j, 0]) * d
                else:
                    out[o, j, 0] = y[o, j, 0] * (grad[o, j, 0] - d)
        return
    nblocks = (inner + _BLOCK - 1) // _BLOCK
    for task in numba.prange(outer * nblocks):
        o = task // nblocks
        k0 = (task % nblocks) * _BLOCK
        k1 = min(k0 + _BLOCK, inner)
        d = np.zeros(k1 - k0, dtype=y.dtype)
        for j in range(n):
            for k in range(k1 - k0):
                g = grad[o, j, k0 + k]
                d[k] += g if log else g * y[o, j, k0 + k]
        for j in range(n):
            for k in range(k1 - k0):
                g, v = grad[o, j, k0 + k], y[o, j, k0 + k]
                out[o, j, k0 + k] = g - _exp(v) * d[k] if log else v * (g - d[k])


# =========================================================================== array-level API
def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def _call(kernel, arrays, params=(), out=None):
    """Run an elementwise ``kernel(*arrays, out, *params)`` on flat views and return ``out``.

    ``out`` may be an input (in-place activations); a non-contiguous ``out`` gets the result
    copied in. Scalars are cast to the arrays' dtype (see the module docstring)."""
    first = arrays[0]
    dtype = first.dtype
    if dtype.kind != "f":
        raise TypeError(f"activation kernels take floating arrays, got {dtype}")
    flat = [_flat(a.astype(dtype, copy=False)) for a in arrays]
    direct = out is not None and out.flags.c_contiguous and out.dtype == dtype
    result = out if direct else np.empty(first.shape, dtype=dtype)
    kernel(*flat, result.reshape(-1),
           *(p if isinstance(p, bool) else dtype.type(p) for p in params))
    if out is not None and not direct:
        out[...] = result
        return out
    return result


def _as3d(x: np.ndarray, dim: int) -> np.ndarray:
    """(outer, n, inner) view of a contiguous array around ``dim``."""
    shape = x.shape
    outer = int(np.prod(shape[:dim], dtype=np.int64))
    inner = int(np.prod(shape[dim + 1:], dtype=np.int64))
    return np.ascontiguousarray(x).reshape(outer, shape[dim], inner)


def softmax(x: np.ndarray, dim: int, log: bool = False) -> np.ndarray:
    """softmax (or log_softmax) of ``x`` over axis ``dim`` (non-negative)."""
    if x.ndim == 0:
        x3 = x.reshape(1, 1, 1)
    else:
        x3 = _as3d(x, dim)
    out = np.empty(x3.shape, dtype=x.dtype)
    if x3.size:
        softmax_forward(x3, out, log)
    return out.reshape(x.shape)


def softmax_grad(grad: np.ndarray, y: np.ndarray, dim: int, log: bool = False) -> np.ndarray:
    """Gradient of softmax / log_softmax over ``dim`` given the upstream ``grad`` and output ``y``."""
    if y.ndim == 0:
        y3 = y.reshape(1, 1, 1)
    else:
        y3 = _as3d(y, dim)
    g3 = np.ascontiguousarray(grad, dtype=y.dtype).reshape(y3.shape)
    out = np.empty(y3.shape, dtype=y.dtype)
    if y3.size:
        softmax_backward(g3, y3, out, log)
    return out.reshape(y.shape)


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """PReLU with one slope per channel of dim 1 (or one shared slope: ``weight.size == 1``)."""
    x3, w = _prelu_views(x, weight)
    out = np.empty(x3.shape, dtype=x.dtype)
    if x3.size:
        prelu_forward(x3, w, out)
    return out.reshape(x.shape)


def prelu_grad(grad: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """(dL/dx, dL/dweight) of PReLU; dL/dweight has ``weight``'s shape."""
    x3, w = _prelu_views(x, weight)
    g3 = np.ascontiguousarray(grad, dtype=x.dtype).reshape(x3.shape)
    grad_x = np.empty(x3.shape, dtype=x.dtype)
    partial = np.zeros(x3.shape[:2], dtype=x.dtype)
    if x3.size:
        prelu_backward(g3, x3, w, grad_x, partial)
    grad_w = partial.sum(axis=0)
    if weight.size == 1:
        grad_w = grad_w.sum()
    return grad_x.reshape(x.shape), grad_w.reshape(weight.shape).astype(weight.dtype, copy=False)


def _prelu_views(x, weight):
    """x as (N, C, inner) around dim 1 with one slope per channel; a single shared slope (or an
    input without dim 1) is one channel."""
    w = np.ascontiguousarray(weight, dtype=x.dtype).reshape(-1)
    if w.size == 1 or x.ndim < 2:
        return np.ascontiguousarray(x).reshape(1, 1, -1), w[:1]
    return _as3d(x, 1), w
