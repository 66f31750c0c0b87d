"""Special functions NumPy lacks (torch.lgamma, digamma, polygamma, erfinv, i0, i1), as numba
ufuncs over float64. Callers pass float64 and cast the result back to the input's dtype: the
float64 value rounded once is at least as close as torch's float32 routines (compared in
tests/ops/test_elementwise_math.py). The ufuncs compile lazily on first call (no signatures
given) and are cached on disk, so importing ember stays cheap.

The algorithms follow torch's own (aten/src/ATen/native/Math.h): the digamma/trigamma series,
the Cephes Hurwitz zeta, and their edge values (digamma(+-0) = -+inf, poles give nan or inf).
"""
from __future__ import annotations

import math

import numba
import numpy as np

_PI = math.pi
_MACHEP = 1.11022302462515654042e-16
# Euler-Maclaurin coefficients of Cephes' zeta (torch's zeta uses the same)
_ZETA_A = np.array([12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
                    7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
                    -4.5979787224074726105e15, 1.8152105401943546773e17,
                    -7.1661652561756670113e18])


@numba.vectorize(cache=True)
def lgamma(x):
    return math.lgamma(x)


@numba.vectorize(cache=True)
def erf(x):
    return math.erf(x)


@numba.vectorize(cache=True)
def erfc(x):
    return math.erfc(x)


@numba.vectorize(cache=True)
def erfinv(y):
    # outside [-1, 1] there is no value; at +-1 the poles
    if not -1.0 <= y <= 1.0:
        return math.nan
    if y == 1.0:
        return math.inf
    if y == -1.0:
        return -math.inf
    if y == 0.0:
        return y
    # Giles' single-precision approximation as the start, then Newton steps on erf(x) = y
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * y
    # Halley steps (cubic convergence): the start is only float32-accurate, and poor in the far tail
    for _ in range(8):
        # near |y| = 1 use erfc for the residual: erf(x) - y loses every digit there
        if y > 0.5:
            r = (1.0 - y) - math.erfc(x)
        elif y < -0.5:
            r = math.erfc(-x) - (1.0 + y)
        else:
            r = math.erf(x) - y
        d = 2.0 / math.sqrt(_PI) * math.exp(-x * x)
        if d == 0.0:
            break
        step = r / d
        step /= 1.0 + x * step  # f'' / f' = -2x for f = erf
        x -= step
        if abs(step) <= 1e-17 * abs(x):
            break
    return x


@numba.vectorize(cache=True)
def digamma(x):
    if x == 0.0:
        return math.copysign(math.inf, -x)  # torch: digamma(+0) = -inf, digamma(-0) = +inf
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        # reflection: psi(1 - x) - psi(x) = pi / tan(pi x), with tan taken of the fractional
        # part of x (more accurate, as torch)
        return _digamma_positive(1.0 - x) - _PI / math.tan(_PI * (x - math.trunc(x)))
    return _digamma_positive(x)


@numba.njit(cache=True)
def _digamma_positive(x):
    if math.isinf(x):
        return x
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    if x == 10.0:
        return result + 2.25175258906672110764
    y = 0.0
    if x < 1.0e17:
        z = 1.0 / (x * x)
        y = z * (8.33333333333333333333e-2 + z * (-8.33333333333333333333e-3 + z * (
            3.96825396825396825397e-3 + z * (-4.16666666666666666667e-3 + z * (
                7.57575757575757575758e-3 + z * (-2.10927960927960927961e-2 + z * (
                    8.33333333333333333333e-2)))))))
    return result + math.log(x) - 0.5 / x - y


@numba.vectorize(cache=True)
def trigamma(x):
    sign = 1.0
    result = 0.0
    if x < 0.5:
        sign = -1.0
        s = math.sin(_PI * x)
        result -= _PI * _PI / (s * s)
        x = 1.0 - x
    for _ in range(6):
        result += 1.0 / (x * x)
        x += 1.0
    ixx = 1.0 / (x * x)
    result += (1.0 + 1.0 / (2.0 * x) + ixx * (1.0 / 6.0 - ixx * (1.0 / 30.0 - ixx * (1.0 / 42.0)))) / x
    return sign * result


@numba.njit(cache=True)
def _zeta(x, q):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x (Cephes, as torch's zeta)."""
    if x == 1.0:
        return math.inf
    if x < 1.0:
        return math.nan
    if q <= 0.0:
        if q == math.floor(q):
            return math.inf
        if x != math.floor(x):
            return math.nan
    s = q ** -x
    a = q
    i = 0
    b = 0.0
    while i < 9 or a <= 9.0:
        i += 1
        a += 1.0
        b = a ** -x
        s += b
        if abs(b / s) < _MACHEP:
            return s
    w = a
    s += b * w / (x - 1.0)
    s -= 0.5 * b
    a = 1.0
    k = 0.0
    for j in range(12):
        a *= x + k
        b /= w
        t = a * b / _ZETA_A[j]
        s = s + t
        if abs(t / s) < _MACHEP:
            return s
        k += 1.0
        a *= x + k
        b /= w
        k += 1.0
    return s


@numba.vectorize(cache=True)
def polygamma_high(n, x):
    """polygamma for n >= 2: (-1)^(n+1) n! zeta(n + 1, x), as torch."""
    sign = 1.0 if n % 2 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * _zeta(n + 1.0, x)


@numba.njit(cache=True)
def _bessel_i(nu, x):
    """I_nu(|x|) for nu in {0, 1}: the power series (all terms positive, no cancellation) for
    small arguments, the asymptotic expansion (terms shrink until k ~ 2x) for large ones."""
    ax = abs(x)
    if ax <= 30.0:
        half = ax / 2.0
        term = half ** nu  # k = 0 term: (x/2)^nu / (0! nu!)
        total = term
        k = 1.0
        while term > total * 1e-17:
            term *= half * half / (k * (k + nu))
            total += term
            k += 1.0
        return total
    if ax > 713.0:
        return math.inf
    mu = 4.0 * nu * nu
    term = 1.0
    total = 1.0
    for k in range(1, 60):
        term *= -(mu - (2.0 * k - 1.0) ** 2) / (8.0 * k * ax)
        total += term
        if abs(term) < 1e-17 * abs(total):
            break
    # e^x split in two so that e^713 / sqrt(...) does not overflow on the way
    e = math.exp(ax / 2.0)
    return e * (e * total / math.sqrt(2.0 * _PI * ax))


@numba.vectorize(cache=True)
def i0(x):
    if math.isnan(x) or math.isinf(x):
        return math.nan  # torch's Chebyshev evaluation gives nan at +-inf
    return _bessel_i(0, x)


@numba.vectorize(cache=True)
def i1(x):
    if math.isnan(x) or math.isinf(x):
        return math.nan  # as torch's i1 and i0
    return math.copysign(_bessel_i(1, x), x)  # I1 is odd
