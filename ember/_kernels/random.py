"""torch's CPU random streams, bit for bit: the mt19937 engine and ATen's transformations.

The generator state is two arrays the caller owns and these kernels advance in place:
``mt`` (uint32[624], the Mersenne Twister's words) and ``ctl`` (int64[2]: ``left`` and
``next``, as at::mt19937's ``mt19937_data_pod``). The engine is ATen's
(aten/src/ATen/core/MT19937RNGEngine.h): seeded with the standard 32-bit initialisation of
the seed's low 32 bits, ``left`` starts at 1 so the first draw twists. ``random()`` is one
tempered 32-bit word; ``random64()`` is two, the first as the high half
(aten/src/ATen/CPUGeneratorImpl.cpp).

Transformations follow aten/src/ATen/core/TransformationHelper.h and DistributionsHelper.h:

* uniform float32: ``(random() & (2^24 - 1)) * 2^-24``; float64: ``(random64() & (2^53 - 1))
  * 2^-53``; then ``x * (to - from) + from`` (fused, as GCC contracts it in torch's build).
* normal, fewer than 16 elements (or not contiguous): Box-Muller in double on two float64
  uniforms ``u1, u2``: ``r = sqrt(-2 log1p(-u2))``, ``theta = 2 pi u1``; returns ``r cos``
  and caches ``r sin`` in the generator (the cache is part of the state).
* normal, 16 or more: all uniforms first (in the tensor's dtype), then Box-Muller per block of
  16 (``u1 = 1 - d[j]``, ``u2 = d[j + 8]``); a ragged tail redraws 16 fresh uniforms into the
  last 16 slots. float64 uses libm's log/cos/sin and ``fma(r cos, std, mean)``; float32 goes
  through avx_mathfun.h's ``log256_ps``/``sincos256_ps`` (cephes polynomials), replicated
  below lane by lane, with the multiply-adds GCC fuses in torch's AVX2 build fused here too.

numba's ``math`` functions call the same libm (glibc) as torch; fastmath stays off so that no
operation is reordered or fused unless written so.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from ._jit import parallel_kernel

STATE_N = 624
_M = 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UMASK = np.uint32(0x80000000)
_LMASK = np.uint32(0x7FFFFFFF)

_jit = dict(cache=True, error_model="numpy")


# ---------------------------------------------------------------------------------------------
# LLVM helpers numba lacks: a true fused multiply-add and float <-> int bit casts
# ---------------------------------------------------------------------------------------------

@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma), for float32 or float64 operands of one type."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return a(a, a, a), codegen


@intrinsic
def _f32_bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _f32_from_bits(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------

@numba.njit(**_jit)
def seed_state(seed, mt, ctl):
    """at::mt19937(seed): init_genrand on the low 32 bits; left = 1, next = 0."""
    mt[0] = np.uint32(seed & np.uint64(0xFFFFFFFF))
    for j in range(1, STATE_N):
        prev = np.uint64(mt[j - 1])
        mt[j] = np.uint32((np.uint64(1812433253) * (prev ^ (prev >> np.uint64(30))) + np.uint64(j))
                          & np.uint64(0xFFFFFFFF))
    ctl[0] = 1
    ctl[1] = 0


@numba.njit(**_jit)
def _twist_word(u, v):
    y = (u & _UMASK) | (v & _LMASK)
    return (y >> np.uint32(1)) ^ (_MATRIX_A if (v & np.uint32(1)) else np.uint32(0))


@numba.njit(**_jit)
def _next_state(mt):
    for k in range(STATE_N - _M):
        mt[k] = mt[k + _M] ^ _twist_word(mt[k], mt[k + 1])
    for k in range(STATE_N - _M, STATE_N - 1):
        mt[k] = mt[k + _M - STATE_N] ^ _twist_word(mt[k], mt[k + 1])
    mt[STATE_N - 1] = mt[_M - 1] ^ _twist_word(mt[STATE_N - 1], mt[0])


@numba.njit(**_jit)
def _temper(y):
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y


@numba.njit(**_jit)
def fill_random32(mt, ctl, out):
    """``out[i] = random()`` for every i, in order (out: uint32, flat)."""
    left = ctl[0]
    nxt = ctl[1]
    n = out.size
    i = 0
    while i < n:
        left -= 1
        if left == 0:
            _next_state(mt)
            left = STATE_N
            nxt = 0
        # the words left before the next twist can be tempered in one run
        run = min(n - i, left)
        for k in range(run):
            out[i + k] = _temper(mt[nxt + k])
        nxt += run
        left -= run - 1
        i += run
    ctl[0] = left
    ctl[1] = nxt


def random32(mt, ctl, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint32)
    fill_random32(mt, ctl, out)
    return out


def random64(mt, ctl, n: int) -> np.ndarray:
    """``random64()`` n times: two 32-bit words each, the first as the high half."""
    w = random32(mt, ctl, 2 * n).astype(np.uint64)
    return (w[0::2] << np.uint64(32)) | w[1::2]


# ---------------------------------------------------------------------------------------------
# Uniform
# ---------------------------------------------------------------------------------------------

@numba.njit(**_jit)
def _uniform_f32_from(words, out, lo, hi, fused):
    span = hi - lo
    scale = np.float32(1.0 / 16777216.0)
    for i in range(out.size):
        x = np.float32(words[i] & np.uint32(0xFFFFFF)) * scale
        out[i] = _fma(x, span, lo) if fused else x * span + lo


@numba.njit(**_jit)
def _uniform_f64_from(hi_lo, out, lo, hi, fused):
    span = hi - lo
    scale = 1.0 / 9007199254740992.0
    for i in range(out.size):
        w = (np.uint64(hi_lo[2 * i]) << np.uint64(32)) | np.uint64(hi_lo[2 * i + 1])
        x = np.float64(w & np.uint64(0x1FFFFFFFFFFFFF)) * scale
        out[i] = _fma(x, span, lo) if fused else x * span + lo


def uniform(mt, ctl, n: int, dtype, lo: float = 0.0, hi: float = 1.0,
            fused: bool = True) -> np.ndarray:
    """n uniforms on [lo, hi) in ``dtype``'s opmath (float32 for float32/16, float64 for
    float64), as uniform_kernel; the caller casts and applies the upper-bound clamp.
    ``fused``: ``x * (hi - lo) + lo`` is one fma, as in torch's per-CPU-capability kernels
    (built with FMA, which GCC contracts); ATen code outside native/cpu (RReLU's draw) rounds
    the product and the sum separately."""
    if np.dtype(dtype) == np.float64:
        out = np.empty(n, dtype=np.float64)
        _uniform_f64_from(random32(mt, ctl, 2 * n), out, np.float64(lo), np.float64(hi), fused)
    else:
        out = np.empty(n, dtype=np.float32)
        _uniform_f32_from(random32(mt, ctl, n), out, np.float32(lo), np.float32(hi), fused)
    return out


# ---------------------------------------------------------------------------------------------
# Normal
# ---------------------------------------------------------------------------------------------

@numba.njit(**_jit)
def _normal_serial(words, cache, out, mean, std):
    """at::normal_distribution<double> per element, with the generator's cached second sample
    (``cache[0]`` != 0: ``cache[1]`` is valid); words are the pairs' four 32-bit draws."""
    w = 0
    scale = 1.0 / 9007199254740992.0
    mask = np.uint64(0x1FFFFFFFFFFFFF)
    for i in range(out.size):
        if cache[0] != 0.0:
            z = cache[1]
            cache[0] = 0.0
        else:
            a = (np.uint64(words[w]) << np.uint64(32)) | np.uint64(words[w + 1])
            b = (np.uint64(words[w + 2]) << np.uint64(32)) | np.uint64(words[w + 3])
            w += 4
            u1 = np.float64(a & mask) * scale
            u2 = np.float64(b & mask) * scale
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            cache[0] = 1.0
            cache[1] = r * math.sin(theta)
            z = r * math.cos(theta)
        out[i] = _fma(z, std, mean)


def normal_serial(mt, ctl, cache, n: int, mean: float, std: float) -> np.ndarray:
    """n float64 normals the element-wise way (fewer than 16, or a non-contiguous tensor)."""
    fresh = n - (1 if cache[0] != 0.0 and n > 0 else 0)
    pairs = (fresh + 1) // 2
    words = random32(mt, ctl, 4 * pairs)
    out = np.empty(n, dtype=np.float64)
    _normal_serial(words, cache, out, np.float64(mean), np.float64(std))
    return out


@numba.njit(**_jit)
def _box_muller_f64(d, start, mean, std):
    two_pi = 2.0 * math.pi
    for j in range(start, start + 8):
        u1 = 1.0 - d[j]
        u2 = d[j + 8]
        radius = math.sqrt(-2.0 * math.log(u1))
        theta = two_pi * u2
        d[j] = _fma(radius * math.cos(theta), std, mean)
        d[j + 8] = _fma(radius * math.sin(theta), std, mean)


@parallel_kernel(error_model="numpy")
def _box_muller_blocks_f64(d, mean, std):
    # blocks are independent once the uniforms are drawn: parallel over blocks, same numbers
    for b in numba.prange(d.size // 16):
        _box_muller_f64(d, 16 * b, mean, std)


# avx_mathfun.h's constants, as float32
_F = np.float32
_SQRTHF = _F(0.707106781186547524)
_LOG_P = (_F(7.0376836292e-2), _F(-1.1514610310e-1), _F(1.1676998740e-1), _F(-1.2420140846e-1),
          _F(1.4249322787e-1), _F(-1.6668057665e-1), _F(2.0000714765e-1), _F(-2.4999993993e-1),
          _F(3.3333331174e-1))
_LOG_Q1 = _F(-2.12194440e-4)
_LOG_Q2 = _F(0.693359375)
_DP1, _DP2, _DP3 = _F(-0.78515625), _F(-2.4187564849853515625e-4), _F(-3.77489497744594108e-8)
_SINCOF = (_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1))
_COSCOF = (_F(2.443315711809948e-005), _F(-1.388731625493765e-003), _F(4.166664568298827e-002))
_FOPI = _F(1.27323954473516)
_TWO_PI_F = _F(2.0 * math.pi)


@numba.njit(**_jit)
def log_ps(x):
    """One lane of avx_mathfun.h's log256_ps for x > 0 (Box-Muller's 1 - u is in (0, 1])."""
    one = np.float32(1.0)
    x = max(x, _f32_from_bits(np.int32(0x00800000)))
    bits = _f32_bits(x)
    e = np.float32((bits >> np.int32(23)) - np.int32(0x7F)) + one
    x = _f32_from_bits((bits & np.int32(~0x7F800000)) | _f32_bits(np.float32(0.5)))
    small = x < _SQRTHF
    tmp = x if small else np.float32(0.0)
    x = x - one
    e = e - (one if small else np.float32(0.0))
    x = x + tmp
    z = x * x
    y = _LOG_P[0]
    y = _fma(y, x, _LOG_P[1])
    y = _fma(y, x, _LOG_P[2])
    y = _fma(y, x, _LOG_P[3])
    y = _fma(y, x, _LOG_P[4])
    y = _fma(y, x, _LOG_P[5])
    y = _fma(y, x, _LOG_P[6])
    y = _fma(y, x, _LOG_P[7])
    y = _fma(y, x, _LOG_P[8])
    y = y * x
    y = _fma(y, z, e * _LOG_Q1)
    y = _fma(-z, np.float32(0.5), y)
    return _fma(e, _LOG_Q2, x + y)


@numba.njit(**_jit)
def sincos_ps(x):
    """One lane of avx_mathfun.h's sincos256_ps: (sin x, cos x)."""
    sign_sin = np.int32(_f32_bits(x) & np.int32(-0x80000000))
    x = abs(x)
    j = np.int32(x * _FOPI)                                   # cvttps: truncation
    j = (j + np.int32(1)) & np.int32(~1)
    y = np.float32(j)
    swap_sin = (j & np.int32(4)) << np.int32(29)
    poly_sin = (j & np.int32(2)) == 0
    x = _fma(y, _DP1, x)
    x = _fma(y, _DP2, x)
    x = _fma(y, _DP3, x)
    sign_cos = ((~(j - np.int32(2))) & np.int32(4)) << np.int32(29)
    sign_sin = sign_sin ^ swap_sin
    z = x * x
    yc = _fma(_COSCOF[0], z, _COSCOF[1])
    yc = _fma(yc, z, _COSCOF[2])
    yc = yc * z
    yc = _fma(yc, z, -(z * np.float32(0.5)))
    yc = yc + np.float32(1.0)
    ys = _fma(_SINCOF[0], z, _SINCOF[1])
    ys = _fma(ys, z, _SINCOF[2])
    ys = ys * z
    ys = _fma(ys, x, x)
    zero = np.float32(0.0)
    ysin2 = ys if poly_sin else zero
    ysin1 = zero if poly_sin else yc
    ys = ys - ysin2
    yc = yc - ysin1
    s = ysin1 + ysin2
    c = yc + ys
    return (_f32_from_bits(_f32_bits(s) ^ sign_sin), _f32_from_bits(_f32_bits(c) ^ sign_cos))


@numba.njit(**_jit)
def _box_muller_f32(d, start, mean, std):
    for j in range(start, start + 8):
        u1 = np.float32(1.0) - d[j]
        u2 = d[j + 8]
        radius = np.float32(math.sqrt(np.float32(-2.0) * log_ps(u1)))
        s, c = sincos_ps(_TWO_PI_F * u2)
        d[j] = _fma(radius * c, std, mean)
        d[j + 8] = _fma(radius * s, std, mean)


@parallel_kernel(error_model="numpy")
def _box_muller_blocks_f32(d, mean, std):
    for b in numba.prange(d.size // 16):
        _box_muller_f32(d, 16 * b, mean, std)


def normal_fill(mt, ctl, n: int, dtype, mean: float, std: float) -> np.ndarray:
    """n >= 16 normals the way normal_fill does (a contiguous tensor), in float64 for float64
    and float32 (AVX2 path) otherwise. float32/float64 draw all n uniforms first (the ragged
    part's are then discarded); float16 draws 16 per block into a float32 buffer, so only
    whole blocks. A ragged tail then redraws 16 uniforms for the last 16 slots."""
    dtype = np.dtype(dtype)
    f64 = dtype == np.float64
    work = np.float64 if f64 else np.float32
    d = uniform(mt, ctl, n if dtype != np.float16 else n - n % 16, work)
    blocks, tail = (_box_muller_blocks_f64, _box_muller_f64) if f64 else \
        (_box_muller_blocks_f32, _box_muller_f32)
    m, s = (np.float64(mean), np.float64(std)) if f64 else (np.float32(mean), np.float32(std))
    blocks(d, m, s)
    if n % 16:
        fresh = uniform(mt, ctl, 16, work)
        if d.size < n:
            d = np.concatenate([d, np.empty(n - d.size, work)])
        d[n - 16:] = fresh
        tail(d, n - 16, m, s)
    return d


# ---------------------------------------------------------------------------------------------
# Integers and permutations
# ---------------------------------------------------------------------------------------------

@numba.njit(**_jit)
def _from_to_32(words, span, base, out):
    for i in range(out.size):
        out[i] = np.int64(np.uint64(words[i]) % span) + base


@numba.njit(**_jit)
def _from_to_64(words, span, base, out):
    for i in range(out.size):
        v = (np.uint64(words[2 * i]) << np.uint64(32)) | np.uint64(words[2 * i + 1])
        out[i] = np.int64(v % span) + base   # wraps as ATen's int64 arithmetic


_CHUNK = 1 << 20


def random_from_to(mt, ctl, n: int, span: int, base: int) -> np.ndarray:
    """uniform_int_from_to_distribution: ``(v % span) + base`` as int64, v = random64() when
    ``span >= 2^28`` (whatever the dtype: torch's builds outside fbcode), else random().
    Drawn in chunks, so the words never take more memory than a million of them."""
    out = np.empty(n, dtype=np.int64)
    wide = span >= 1 << 28
    per = 2 if wide else 1
    fill = _from_to_64 if wide else _from_to_32
    for start in range(0, n, _CHUNK):
        part = out[start:start + _CHUNK]
        fill(random32(mt, ctl, per * part.size), np.uint64(span), np.int64(base), part)
    return out


@numba.njit(**_jit)
def _randperm_small(words, out):
    n = out.size
    for i in range(n):
        out[i] = i
    for i in range(n - 1):
        z = np.int64(words[i] % np.uint32(n - i))
        save = out[i]
        out[i] = out[z + i]
        out[z + i] = save


@numba.njit(**_jit)
def _randperm_large(words64, out):
    for i in range(out.size):
        z = np.int64(words64[i] % np.uint64(i + 1))
        out[i] = out[z]
        out[z] = i


def randperm(mt, ctl, n: int) -> np.ndarray:
    """randperm_cpu (aten/src/ATen/native/TensorFactories.cpp): a swap walk on ``random() %
    (n - i)`` below (2^32 - 1) / 20, the inside-out shuffle on random64() above."""
    out = np.empty(n, dtype=np.int64)
    if n < (2 ** 32 - 1) // 20:
        _randperm_small(random32(mt, ctl, max(n - 1, 0)), out)
    else:
        _randperm_large(random64(mt, ctl, n), out)
    return out


# ---------------------------------------------------------------------------------------------
# Distributions on one float64 uniform per element
# ---------------------------------------------------------------------------------------------

@numba.njit(**_jit)
def exponential_from(u, lambd):
    out = np.empty_like(u)
    for i in range(u.size):
        out[i] = -1.0 / lambd * math.log1p(-u[i])
    return out


@numba.njit(**_jit)
def geometric_from(u, p):
    out = np.empty_like(u)
    lp = math.log1p(-p)
    for i in range(u.size):
        out[i] = math.ceil(math.log(u[i]) / lp)
    return out


@numba.njit(**_jit)
def cauchy_from(u, median, sigma):
    eps = 2.220446049250313e-16
    out = np.empty_like(u)
    for i in range(u.size):
        v = min(u[i], 1.0 - eps)
        v = max(v, eps)
        out[i] = _fma(sigma, math.tan(math.pi * (v - 0.5)), median)
    return out


@numba.njit(**_jit)
def exp_inplace(z):
    """libm's exp (NumPy's own SIMD exp differs from glibc's in the last bit)."""
    for i in range(z.size):
        z[i] = math.exp(z[i])
    return z


@numba.njit(**_jit)
def _random32_one(mt, ctl):
    left = ctl[0] - 1
    if left == 0:
        _next_state(mt)
        left = STATE_N
        ctl[1] = 0
    ctl[0] = left
    y = mt[ctl[1]]
    ctl[1] += 1
    return _temper(y)


@numba.njit(**_jit)
def _uniform_double_one(mt, ctl):
    hi = np.uint64(_random32_one(mt, ctl))
    lo = np.uint64(_random32_one(mt, ctl))
    w = (hi << np.uint64(32)) | lo
    return np.float64(w & np.uint64(0x1FFFFFFFFFFFFF)) * (1.0 / 9007199254740992.0)


@numba.njit(**_jit)
def _poisson_one(mt, ctl, lam):
    if lam >= 10:
        # transformed rejection (Hoermann 1993), as ATen's sample_poisson; this file of ATen is
        # built without FMA, so nothing below is fused
        slam = math.sqrt(lam)
        loglam = math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = _uniform_double_one(mt, ctl) - 0.5
            v = _uniform_double_one(mt, ctl)
            us = 0.5 - abs(u)
            k = np.int64(math.floor((2 * a / us + b) * u + lam + 0.43))
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= \
                    (-lam + k * loglam - math.lgamma(np.float64(k) + 1)):
                return k
    if lam == 0:
        return np.int64(0)
    enlam = math.exp(-lam)
    x = np.int64(0)
    prod = 1.0
    while True:
        prod *= _uniform_double_one(mt, ctl)
        if prod > enlam:
            x += 1
        else:
            return x


@numba.njit(**_jit)
def poisson(mt, ctl, rates):
    """sample_poisson per rate, in order (float64 rates in, float64 counts out)."""
    out = np.empty(rates.size, dtype=np.float64)
    for i in range(rates.size):
        out[i] = np.float64(_poisson_one(mt, ctl, rates[i]))
    return out
