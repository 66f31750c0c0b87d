"""Activation kernels: fused numba loops, forward and backward side by side.

Every elementwise activation is two parallel one-pass loops over flat contiguous arrays:
``<name>_forward(x, out, *params)`` and ``<name>_backward(grad, saved, out, *params)``, where
``saved`` is the output when the derivative can be written with it (sigmoid, tanh, ELU, ReLU,
hardtanh: no transcendental is recomputed) and the input otherwise. Softmax and log-softmax
work on an ``(outer, n, inner)`` view and reduce over ``n``.

Numerics (ember's TRAPS.md #12, #13):

* float32 uses the vectorisable exp, expm1, tanh and normal CDF (erf) below: numba has no
  vector math library here, and a scalar ``expf`` call per element ran 4x slower than torch.
  float64 uses ``math``'s.
* Nothing overflows for any finite input: sigmoid is written with ``exp(-|x|)``, softplus and
  log-sigmoid as ``max(z, 0) + log1p(exp(-|z|))``, softmax subtracts the maximum.
* Kinks and NaN follow ATen's CPU kernels (aten/src/ATen/native/cpu/Activation.cpp,
  BinaryOpsKernel.cpp): every comparison is written the way ATen writes it, because the
  branch NaN falls into decides the result (``relu(nan) = nan``, ``relu'(0) = 0``, ...).

Parameters (alpha, slopes, bounds) must arrive with the arrays' dtype (``elementwise`` casts them):
a float64 scalar would silently promote a float32 loop to float64.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic, overload

from ._jit import parallel_kernel

# error_model numpy: x / 0 -> inf, no Python exception check, which would also block
# vectorisation. fastmath contract: a * b + c may become one fused multiply-add (one rounding
# fewer; the polynomials below are chains of them): without it LLVM kept every mul and add
# apart, a third of sigmoid's instructions. Never reassoc here: it would undo _expf's rounding.
_pjit = dict(error_model="numpy", fastmath={"contract"})
_jit = dict(_pjit, cache=True)
# The per-element helpers (exp, tanh, erf, sigmoid, ...) are inlined into each kernel's numba IR
# (inline="always"), not left to LLVM: LLVM inlined them into the parallel twins but left
# calls in the serial twins (every array under _jit.SERIAL_BELOW elements), whose loops then
# ran scalar, 10-25x slower (float32 tanh on 1M elements, serial: 10.7 ms, 0.91 ms inlined).
# Cost: a kernel's first compilation (cached afterwards) takes 0.5-0.8 s more of CPU (tanh's
# serial twin 0.36 -> 0.90 s), most of it numba inlining through the _by_precision overloads;
# calling the inline helper directly compiles in 0.47 s (measured), a lever for later.
_elem_jit = dict(_jit, inline="always")
# The overloads below are inlined into their (cached) callers and must not be cached themselves:
# numba keys its disk cache by qualified name and source line, which the lambdas made by
# _by_precision share, so with caching on, a later process was served one helper's compiled
# float32 lambda for another's (sigmoid(-1) came out 1/3).
_inline_jit = dict(error_model="numpy")


# =========================================================================== scalar maths
def _c(like, value):
    """``value`` as a constant of ``like``'s type, inside compiled code (float32 stays float32)."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(_c, jit_options=_inline_jit)
def _c_impl(like, value):
    ty = like
    return lambda like, value: ty(value)


@intrinsic
def _f32_from_bits(typingctx, bits):
    """Reinterpret an int32 as the float32 with the same bits (what ``ldexp`` needs, vectorised)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(**_elem_jit)
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


@numba.njit(**_elem_jit)
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


@numba.njit(**_elem_jit)
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


@numba.njit(**_elem_jit)
def _normal_cdf_pdf_f32(x):
    """(Phi(x), phi(x)) for float32 with one exp: erf as ATen's vectorised CPU erf
    (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), whose exp(-a^2), a = |x| / sqrt 2,
    is exp(-x^2 / 2), the normal density's own exponential:
    1 - erf(a) = t P(t) exp(-a^2), t = 1 / (1 + 0.3275911 a)."""
    a = abs(x) * np.float32(0.7071067811865476)
    e = _expf(x * x * np.float32(-0.5))          # one rounding fewer than -a * a
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    p = np.float32(1.061405429)
    p = p * t - np.float32(1.453152027)
    p = p * t + np.float32(1.421413741)
    p = p * t - np.float32(0.284496736)
    p = p * t + np.float32(0.254829592)
    tail = np.float32(0.5) * p * t * e                  # Phi(-|x|)
    cdf = np.float32(1.0) - tail if x >= np.float32(0.0) else (tail if x < np.float32(0.0) else x)
    return cdf, np.float32(0.3989422804014327) * e


@numba.njit(**_elem_jit)
def _normal_cdf_pdf_f64(x):
    return 0.5 * (1.0 + math.erf(x * 0.7071067811865476)), \
        0.3989422804014327 * math.exp(-0.5 * x * x)


def _exp(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _expm1(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _tanh(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _normal_cdf_pdf(x):
    raise NotImplementedError("only callable from numba-compiled code")


def _by_precision(f32_impl, f64_impl):
    """An overload that picks the float32 kernel-friendly version or the libm one."""
    def typer(x):
        if x == types.float32:
            return lambda x: f32_impl(x)
        return lambda x: f64_impl(x)
    return typer


# Inlined into the caller's IR, so they compile under its flags (error_model above). A loop
# that inlines two of them was left scalar by LLVM here (gelu's backward with erf and exp), so
# each kernel takes one transcendental helper per element (hence _normal_cdf_pdf).
for _stub, _f32, _f64 in ((_exp, _expf, math.exp), (_expm1, _expm1f, math.expm1),
                          (_tanh, _tanhf, math.tanh),
                          (_normal_cdf_pdf, _normal_cdf_pdf_f32, _normal_cdf_pdf_f64)):
    overload(_stub, inline="always", jit_options=_inline_jit)(_by_precision(_f32, _f64))


@numba.njit(**_elem_jit)
def _sigmoid(x):
    """ATen's sigmoid (and SiLU's), 1 / (1 + exp(-x)): where exp(-x) overflows to inf
    (x < -88.7 in float32) the result is 0, as torch's. Fewer instructions than _sigmoid_tail."""
    one = _c(x, 1.0)
    return one / (one + _exp(-x))


@numba.njit(**_elem_jit)
def _sigmoid_tail(x):
    """1 / (1 + exp(-x)) through exp(-|x|) <= 1: never overflows and keeps the subnormal tail,
    as ATen's log_sigmoid and softplus backward (z / (1 + z) there)."""
    one = _c(x, 1.0)
    z = _exp(-abs(x))
    s = one / (one + z)
    return s if x >= _c(x, 0.0) else z * s


@numba.njit(**_elem_jit)
def _softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), finite for every finite z."""
    return max(z, _c(z, 0.0)) + math.log1p(_exp(-abs(z)))


# =========================================================================== elementwise kernels
# ReLU: y = max(x, 0); dy/dx = 1 if y > 0 else 0, so relu'(0) = 0 (ATen threshold_backward on
# the result). `x <= 0` rather than `x > 0` keeps NaN: relu(nan) = nan.
@parallel_kernel(**_pjit)
def relu_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = _c(v, 0.0) if v <= _c(v, 0.0) else v


@parallel_kernel(**_pjit)
def relu_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = _c(grad[i], 0.0) if y[i] <= _c(grad[i], 0.0) else grad[i]


# LeakyReLU: y = x if x > 0 else slope * x; dy/dx = 1 if x > 0 else slope (so slope at 0).
# ``saved`` may be the output when slope >= 0: then y > 0 exactly when x > 0.
@parallel_kernel(**_pjit)
def leaky_relu_forward(x, out, slope):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v if v > _c(v, 0.0) else v * slope


@parallel_kernel(**_pjit)
def leaky_relu_backward(grad, saved, out, slope):
    for i in numba.prange(grad.size):
        out[i] = grad[i] if saved[i] > _c(slope, 0.0) else grad[i] * slope


# Threshold: y = x if x > threshold else value; dy/dx = 1 if x > threshold else 0.
@parallel_kernel(**_pjit)
def threshold_forward(x, out, threshold, value):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = value if v <= threshold else v


@parallel_kernel(**_pjit)
def threshold_backward(grad, x, out, threshold, value):
    for i in numba.prange(grad.size):
        out[i] = _c(threshold, 0.0) if x[i] <= threshold else grad[i]


# Hardtanh: y = clamp(x, lo, hi); dy/dx = 1 inside (lo, hi), 0 at and beyond the bounds
# (ATen hardtanh_backward). With the output saved the test is the same: lo < y < hi.
@parallel_kernel(**_pjit)
def hardtanh_forward(x, out, lo, hi):
    for i in numba.prange(x.size):
        v = x[i]
        v = lo if v < lo else v
        out[i] = hi if v > hi else v


@parallel_kernel(**_pjit)
def hardtanh_backward(grad, saved, out, lo, hi):
    for i in numba.prange(grad.size):
        s = saved[i]
        out[i] = grad[i] if (s > lo and s < hi) else _c(lo, 0.0)      # NaN -> 0, as ATen


# ELU family (ELU, SELU, CELU), ATen elu with (alpha, scale, input_scale):
#   y = scale * x                               for x > 0
#   y = scale * alpha * expm1(input_scale * x)  for x <= 0
#   dy/dx = scale (x > 0);  input_scale * (y + scale * alpha) (x <= 0), from the output,
#   or scale * alpha * input_scale * exp(input_scale * x) from the input (alpha < 0).
@parallel_kernel(**_pjit)
def elu_forward(x, out, alpha, scale, input_scale):
    neg = alpha * scale
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v * scale if v > _c(v, 0.0) else _expm1(v * input_scale) * neg


@parallel_kernel(**_pjit)
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
@parallel_kernel(**_pjit)
def sigmoid_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = _sigmoid(x[i])


@parallel_kernel(**_pjit)
def sigmoid_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * y[i] * (_c(y[i], 1.0) - y[i])


# Tanh: dy/dx = 1 - y^2 in (0, 1].
@parallel_kernel(**_pjit)
def tanh_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = _tanh(x[i])


@parallel_kernel(**_pjit)
def tanh_backward(grad, y, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * (_c(y[i], 1.0) - y[i] * y[i])


# SiLU: y = x sigmoid(x), written x / (1 + exp(-x)) as ATen's (one multiply fewer);
# dy/dx = s (1 + x (1 - s)).
@parallel_kernel(**_pjit)
def silu_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v / (_c(v, 1.0) + _exp(-v))


@parallel_kernel(**_pjit)
def silu_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        s = _sigmoid(v)
        out[i] = grad[i] * s * (_c(v, 1.0) + v * (_c(v, 1.0) - s))


# GELU, exact: y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; dy/dx = Phi(x) + x phi(x).
@parallel_kernel(**_pjit)
def gelu_forward(x, out):
    for i in numba.prange(x.size):
        cdf, _ = _normal_cdf_pdf(x[i])
        out[i] = x[i] * cdf


@parallel_kernel(**_pjit)
def gelu_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        cdf, pdf = _normal_cdf_pdf(v)
        out[i] = grad[i] * (cdf + v * pdf)


# GELU, tanh approximation: y = x/2 (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2 / pi).
@parallel_kernel(**_pjit)
def gelu_tanh_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        inner = _c(v, 0.7978845608028654) * (v + _c(v, 0.044715) * v * v * v)
        out[i] = _c(v, 0.5) * v * (_c(v, 1.0) + _tanh(inner))


@parallel_kernel(**_pjit)
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
@parallel_kernel(**_pjit)
def softplus_forward(x, out, beta, threshold):
    for i in numba.prange(x.size):
        z = x[i] * beta
        out[i] = x[i] if z > threshold else _softplus(z) / beta


@parallel_kernel(**_pjit)
def softplus_backward(grad, x, out, beta, threshold):
    for i in numba.prange(grad.size):
        z = x[i] * beta
        out[i] = grad[i] if z > threshold else grad[i] * _sigmoid_tail(z)


# LogSigmoid: y = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); dy/dx = sigmoid(-x) in (0, 1).
@parallel_kernel(**_pjit)
def log_sigmoid_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = -_softplus(-x[i])


@parallel_kernel(**_pjit)
def log_sigmoid_backward(grad, x, out):
    for i in numba.prange(grad.size):
        out[i] = grad[i] * _sigmoid_tail(-x[i])


# Mish: y = x tanh(softplus(x)). With e = exp(x): tanh(log(1 + e)) = n / (n + 2), n = e (e + 2),
# and sigmoid(x) = e / (1 + e): one exp, no log. From x = 20 on both are 1 to float64 precision
# (and e^2 would overflow float32), so e is taken of min(x, 20).
# dy/dx = tsp + x sigmoid(x) (1 - tsp^2).
@numba.njit(**_elem_jit)
def _tanh_softplus_sigmoid(v):
    big = v > _c(v, 20.0)
    e = _exp(_c(v, 20.0) if big else v)
    n = e * (e + _c(v, 2.0))
    tsp = _c(v, 1.0) if big else n / (n + _c(v, 2.0))
    return tsp, e / (_c(v, 1.0) + e)


@parallel_kernel(**_pjit)
def mish_forward(x, out):
    for i in numba.prange(x.size):
        tsp, _ = _tanh_softplus_sigmoid(x[i])
        out[i] = x[i] * tsp


@parallel_kernel(**_pjit)
def mish_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        tsp, sig = _tanh_softplus_sigmoid(v)
        out[i] = grad[i] * (tsp + v * sig * (_c(v, 1.0) - tsp * tsp))


# Hardsigmoid: y = clamp(x + 3, 0, 6) / 6; dy/dx = 1/6 on (-3, 3), else 0.
@parallel_kernel(**_pjit)
def hardsigmoid_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i] + _c(x[i], 3.0)
        v = _c(v, 0.0) if v < _c(v, 0.0) else v
        v = _c(v, 6.0) if v > _c(v, 6.0) else v
        out[i] = v / _c(v, 6.0)


@parallel_kernel(**_pjit)
def hardsigmoid_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v = x[i]
        inside = v > _c(v, -3.0) and v < _c(v, 3.0)
        out[i] = grad[i] / _c(v, 6.0) if inside else _c(v, 0.0)


# Hardswish: y = x clamp(x + 3, 0, 6) / 6; dy/dx = 0 up to -3, x/3 + 1/2 between, 1 from 3 on.
@parallel_kernel(**_pjit)
def hardswish_forward(x, out):
    for i in numba.prange(x.size):
        v = x[i]
        r = v + _c(v, 3.0)
        r = _c(v, 0.0) if r < _c(v, 0.0) else r
        r = _c(v, 6.0) if r > _c(v, 6.0) else r
        out[i] = v * r / _c(v, 6.0)


@parallel_kernel(**_pjit)
def hardswish_backward(grad, x, out):
    for i in numba.prange(grad.size):
        v, g = x[i], grad[i]
        d = v / _c(v, 3.0) + _c(v, 0.5)           # NaN falls through to here, as in ATen
        d = _c(v, 1.0) if v >= _c(v, 3.0) else d
        d = _c(v, 0.0) if v <= _c(v, -3.0) else d
        out[i] = g * d


# Hardshrink: y = x where |x| > lambda, else 0. Softshrink: y = x - lambda sign(x) there.
# Both: dy/dx = 1 where |x| > lambda, else 0 (ATen shrink_backward).
@parallel_kernel(**_pjit)
def hardshrink_forward(x, out, lambd):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = _c(v, 0.0) if (v >= -lambd and v <= lambd) else v


@parallel_kernel(**_pjit)
def softshrink_forward(x, out, lambd):
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v - lambd if v > lambd else (v + lambd if v < -lambd else v * _c(v, 0.0))


@parallel_kernel(**_pjit)
def shrink_backward(grad, x, out, lambd):
    for i in numba.prange(grad.size):
        v = x[i]
        out[i] = grad[i] if (v < -lambd or v > lambd) else _c(v, 0.0)   # NaN -> 0, as ATen


# Tanhshrink: y = x - tanh(x); dy/dx = tanh(x)^2.
@parallel_kernel(**_pjit)
def tanhshrink_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] - _tanh(x[i])


@parallel_kernel(**_pjit)
def tanhshrink_backward(grad, x, out):
    for i in numba.prange(grad.size):
        t = _tanh(x[i])
        out[i] = grad[i] * t * t


# Softsign: y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)^2 in (0, 1].
@parallel_kernel(**_pjit)
def softsign_forward(x, out):
    for i in numba.prange(x.size):
        out[i] = x[i] / (_c(x[i], 1.0) + abs(x[i]))


@parallel_kernel(**_pjit)
def softsign_backward(grad, x, out):
    for i in numba.prange(grad.size):
        d = _c(x[i], 1.0) + abs(x[i])
        out[i] = grad[i] / (d * d)


# PReLU on an (N, C, inner) view, one slope per channel:
#   y = x if x > 0 else w[c] x;  dL/dx = g or w[c] g;  dL/dw[c] = sum over x <= 0 of g x.
@parallel_kernel(**_pjit)
def prelu_forward(x, w, out):
    n, c, inner = x.shape
    for nc in numba.prange(n * c):
        b, ch = nc // c, nc % c
        slope = w[ch]
        for k in range(inner):
            v = x[b, ch, k]
            out[b, ch, k] = v if v > _c(v, 0.0) else slope * v


@parallel_kernel(**_pjit)
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
# On an (outer, n, inner) view, reducing over n.
#
# Rows (inner == 1: the last dim, contiguous): one row per task. LLVM vectorises a reduction
# only when it may reassociate it, so the sums live in two small helpers compiled with
# fastmath={"reassoc", "nsz"} that call nothing else; the max runs as eight independent chains.
# A NaN anywhere in a row makes its sum NaN, so the row comes out NaN as in torch whatever the
# max saw.
# Columns (inner > 1): each task takes a block of up to _BLOCK columns of one outer index and
# streams over n; the running max and sum of every column are elementwise work across the block
# (row slices ``x[o, j, k0:k1]`` keep those loops on contiguous, vectorisable memory).
_BLOCK = 1024
_sum_jit = dict(_jit, fastmath={"reassoc", "nsz"})


@numba.njit(**_jit)
def _row_max(row):
    n = row.size
    full = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = row[0]
    for j in range(0, full, 8):
        v = row[j]
        m0 = v if v > m0 else m0
        v = row[j + 1]
        m1 = v if v > m1 else m1
        v = row[j + 2]
        m2 = v if v > m2 else m2
        v = row[j + 3]
        m3 = v if v > m3 else m3
        v = row[j + 4]
        m4 = v if v > m4 else m4
        v = row[j + 5]
        m5 = v if v > m5 else m5
        v = row[j + 6]
        m6 = v if v > m6 else m6
        v = row[j + 7]
        m7 = v if v > m7 else m7
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    for j in range(full, n):
        m = row[j] if row[j] > m else m
    return _c(m, 0.0) if m == -np.inf else m      # an all -inf row: no inf - inf


@numba.njit(**_sum_jit)
def _sum(a):
    """sum(a) of a non-empty row. (Like _dot, this calls nothing: a fastmath function's callees
    were compiled with its flags, and reassociation breaks _expf's rounding trick.)"""
    s = a[0]
    for j in range(1, a.size):
        s += a[j]
    return s


@numba.njit(**_sum_jit)
def _dot(a, b):
    """sum(a * b) of non-empty rows."""
    s = a[0] * b[0]
    for j in range(1, a.size):
        s += a[j] * b[j]
    return s


@numba.njit(**_jit)
def _softmax_row(x, out, probs, log):
    """out = softmax(x), or log_softmax(x) with the probabilities also kept in ``probs`` (the
    backward's exp(y), which it then need not recompute). One contiguous row."""
    m = _row_max(x)
    for j in range(x.size):
        probs[j] = _exp(x[j] - m)
    s = _sum(probs)
    r = _c(m, 1.0) / s
    if log:
        lse = math.log(s)
        for j in range(x.size):
            out[j] = (x[j] - m) - lse          # not x - (m + lse): that rounds lse away at |m| >> 1
            probs[j] *= r
    else:
        for j in range(x.size):
            out[j] *= r


@parallel_kernel(**_pjit)
def softmax_rows_forward(x, out, probs, log):
    """Softmax (``probs`` is ``out``) or log-softmax of each row of C-contiguous (rows, n)
    arrays."""
    for o in numba.prange(x.shape[0]):
        _softmax_row(x[o], out[o], probs[o], log)


@parallel_kernel(**_pjit)
def softmax_rows_backward(grad, p, out, log):
    """softmax: dx = p (g - sum(g p));  log-softmax: dx = g - p sum(g), p the probabilities."""
    for o in numba.prange(p.shape[0]):
        g, pr, gx = grad[o], p[o], out[o]
        if log:
            d = _sum(g)
            for j in range(g.size):
                gx[j] = g[j] - pr[j] * d
        else:
            d = _dot(g, pr)
            for j in range(g.size):
                gx[j] = pr[j] * (g[j] - d)


@parallel_kernel(**_pjit)
def softmax_columns_forward(x, out, log):
    """Softmax / log-softmax over axis 1 of a C-contiguous (outer, n, inner) array."""
    outer, n, inner = x.shape
    nblocks = (inner + _BLOCK - 1) // _BLOCK
    for task in numba.prange(outer * nblocks):
        o, k0 = task // nblocks, (task % nblocks) * _BLOCK
        k1 = min(k0 + _BLOCK, inner)
        m = x[o, 0, k0:k1].copy()
        for j in range(1, n):
            row = x[o, j, k0:k1]
            for k in range(m.size):
                m[k] = row[k] if row[k] > m[k] else m[k]
        for k in range(m.size):
            m[k] = _c(m[k], 0.0) if m[k] == -np.inf else m[k]
        s = np.zeros_like(m)
        for j in range(n):
            row, orow = x[o, j, k0:k1], out[o, j, k0:k1]
            for k in range(m.size):
                e = _exp(row[k] - m[k])
                orow[k] = e
                s[k] += e
        if log:
            for k in range(m.size):
                s[k] = math.log(s[k])
            for j in range(n):
                row, orow = x[o, j, k0:k1], out[o, j, k0:k1]
                for k in range(m.size):
                    orow[k] = (row[k] - m[k]) - s[k]
        else:
            for k in range(m.size):
                s[k] = _c(s[k], 1.0) / s[k]
            for j in range(n):
                orow = out[o, j, k0:k1]
                for k in range(m.size):
                    orow[k] *= s[k]


@parallel_kernel(**_pjit)
def softmax_columns_backward(grad, y, out, log):
    """The same products as softmax_rows_backward, over axis 1 of (outer, n, inner) arrays."""
    outer, n, inner = y.shape
    nblocks = (inner + _BLOCK - 1) // _BLOCK
    for task in numba.prange(outer * nblocks):
        o, k0 = task // nblocks, (task % nblocks) * _BLOCK
        k1 = min(k0 + _BLOCK, inner)
        d = np.zeros(k1 - k0, dtype=y.dtype)
        for j in range(n):
            g, yr = grad[o, j, k0:k1], y[o, j, k0:k1]
            for k in range(d.size):
                d[k] += g[k] if log else g[k] * yr[k]
        for j in range(n):
            g, yr, gx = grad[o, j, k0:k1], y[o, j, k0:k1], out[o, j, k0:k1]
            if log:
                for k in range(d.size):
                    gx[k] = g[k] - _exp(yr[k]) * d[k]
            else:
                for k in range(d.size):
                    gx[k] = yr[k] * (g[k] - d[k])


# =========================================================================== array-level API
# (Each parallel kernel runs serially on small arrays: see _jit.parallel_kernel.)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def elementwise(kernel, arrays, params=(), out=None):
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
    shape = x.shape      # (math.prod of Python ints: np.prod cost ~4 us a call)
    return np.ascontiguousarray(x).reshape(math.prod(shape[:dim]), shape[dim],
                                           math.prod(shape[dim + 1:]))


#: The forward's work per element, in the memory-bound passes _jit.SERIAL_BELOW counts: an
#: exp and four passes over the row. (256, 1000) logits then run on all threads: 2 threads,
#: best of 2000 calls on a loaded 2-core machine: 118 us, serially 185 us.
_SOFTMAX_WORK = 4


def softmax(x: np.ndarray, dim: int, log: bool = False):
    """softmax of ``x`` over axis ``dim`` (non-negative); with ``log``, log_softmax and the
    probabilities exp(y) as ``(y, probs)`` (probs is None where the backward recomputes them:
    reductions over a non-last axis, where keeping them costs more memory than it saves)."""
    x3 = _as3d(x, dim) if x.ndim else x.reshape(1, 1, 1)
    outer, n, inner = x3.shape
    out = np.empty(x3.shape, dtype=x.dtype)
    probs = None
    if inner == 1:
        out2 = out.reshape(outer, n)
        probs = np.empty_like(out2) if log else out2
        if x3.size:
            softmax_rows_forward(x3.reshape(outer, n), out2, probs, log,
                                 work=x3.size * _SOFTMAX_WORK)
        probs = probs.reshape(x.shape) if log else None
    elif x3.size:
        softmax_columns_forward(x3, out, log, work=x3.size * _SOFTMAX_WORK)
    return (out.reshape(x.shape), probs) if log else out.reshape(x.shape)


def softmax_grad(grad: np.ndarray, y: np.ndarray, dim: int, log: bool = False,
                 probs: np.ndarray | None = None) -> np.ndarray:
    """Gradient of softmax / log_softmax over ``dim`` given the upstream ``grad`` and the output
    ``y`` (and for log_softmax the ``probs`` its forward returned, if any)."""
    y3 = _as3d(y, dim) if y.ndim else y.reshape(1, 1, 1)
    outer, n, inner = y3.shape
    g3 = np.ascontiguousarray(grad, dtype=y.dtype).reshape(y3.shape)
    out = np.empty(y3.shape, dtype=y.dtype)
    if y3.size:
        if inner == 1:
            p = y3 if not log else (np.exp(y3) if probs is None else probs)
            shape2 = (outer, n)
            softmax_rows_backward(g3.reshape(shape2),
                   np.ascontiguousarray(p).reshape(shape2), out.reshape(shape2), log,
                   work=y3.size * 2)  # two passes a row: (256, 1000) gains from 2 threads
        else:
            softmax_columns_backward(g3, y3, out, log)
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
    if w.size == 1 or x.ndim < 2:      # (N, 1, rest): still one parallel task per sample
        return np.ascontiguousarray(x).reshape(x.shape[0] if x.ndim else 1, 1, -1), w[:1]
    return _as3d(x, 1), w
