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
    # torch's calc_erfinv starts from this rational approximation (central region and tails) and
    # takes two Newton steps on erf(x) = y; Halley steps on an erfc residual near +-1 converge in
    # as few, and to full float64 accuracy in the far tail too
    ay = abs(y)
    if ay > 1.0 or math.isnan(y):
        return math.nan
    if ay == 1.0:
        return math.copysign(math.inf, y)
    if ay <= 0.7:
        z = y * y
        num = ((-0.140543331 * z + 0.914624893) * z + -1.645349621) * z + 0.886226899
        dem = (((0.012229801 * z + -0.329097515) * z + 1.442710462) * z + -2.118377725) * z + 1.0
        x = y * num / dem
    else:
        z = math.sqrt(-math.log((1.0 - ay) / 2.0))
        num = ((1.641345311 * z + 3.429567803) * z + -1.624906493) * z + -1.970840454
        dem = (1.637067800 * z + 3.543889200) * z + 1.0
        x = math.copysign(num, y) / dem
    for _ in range(6):
        # near |y| = 1 the residual comes from erfc: erf(x) - y loses every digit there
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
        step /= 1.0 + x * step  # Halley's correction (f''/f' = -2x for f = erf): cubic convergence
        x -= step
        if abs(step) <= 1e-15 * abs(x):  # the next step would be below rounding
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
