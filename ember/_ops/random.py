"""Random draws on arrays, from an ``ember.Generator``'s state, in torch's order.

Each function takes a generator (its ``_mt``/``_ctl`` engine state and ``_normal`` cache) and
returns a new NumPy array; the Tensor-level functions (ember/_creation.py, Tensor's in-place
fills) choose the generator and check arguments. Which ATen kernel each one mirrors is named in
its docstring; the transformations live in ember/_kernels/random.py.
"""
from __future__ import annotations

import numpy as np

from .._kernels import random as K


def cpp_number(x: float) -> str:
    """A number as ATen's messages print it (C++ stream, 6 significant digits)."""
    return f"{x:g}"


def seed_engine(gen, seed: int) -> None:
    K.seed_state(np.uint64(seed), gen._mt, gen._ctl)


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def random32(gen, n: int) -> np.ndarray:
    """n draws of ``generator->random()`` (uint32)."""
    return K.random32(gen._mt, gen._ctl, n)


def random64(gen, n: int) -> np.ndarray:
    """n draws of ``generator->random64()`` (uint64)."""
    return K.random64(gen._mt, gen._ctl, n)


def uniform(gen, shape, dtype, low: float = 0.0, high: float = 1.0,
            fused: bool = True) -> np.ndarray:
    """uniform_kernel: [low, high) in the dtype's opmath, cast to ``dtype``; a value the cast
    rounds up to ``high`` becomes ``low`` (ATen's clamp). ``fused=False``: the affine map
    rounded twice (uniform_real_distribution in code built without FMA)."""
    dtype = np.dtype(dtype)
    out = K.uniform(gen._mt, gen._ctl, _count(shape), dtype, low, high, fused)
    if out.dtype != dtype:
        cast = out.astype(dtype)
        cast[cast == dtype.type(high)] = dtype.type(low)
        out = cast
    return out.reshape(shape)


def normal(gen, shape, dtype, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True) -> np.ndarray:
    """normal_kernel: 16 or more elements of a contiguous tensor go through normal_fill
    (uniforms first, Box-Muller per 16; float32 on the AVX2 approximations); fewer, or a
    strided destination, draw element by element with the cached second sample."""
    dtype = np.dtype(dtype)
    n = _count(shape)
    if n >= 16 and contiguous:
        if dtype == np.float64 or dtype == np.float32:
            out = K.normal_fill(gen._mt, gen._ctl, n, dtype, mean, std)
        else:  # float16: in float32 blocks of 16 (the stack-buffer path), then cast
            out = K.normal_fill(gen._mt, gen._ctl, n, dtype, mean, std)
    else:
        out = K.normal_serial(gen._mt, gen._ctl, gen._normal, n, mean, std)
    return out.astype(dtype, copy=False).reshape(shape)


def random_from_to(gen, shape, dtype, low: int, high: int) -> np.ndarray:
    """random_from_to_kernel: ``low + v % (high - low)``; v is random64() when the range
    reaches 2^28, else random() (aten/src/ATen/core/DistributionsHelper.h)."""
    vals = K.random_from_to(gen._mt, gen._ctl, _count(shape), high - low, low)
    return vals.astype(np.dtype(dtype), copy=False).reshape(shape)


def float_random_bounds(dtype, low: int, high: int) -> tuple[int, int]:
    """random_(from, to) on a float dtype: ATen's update_from/update_to move the bounds inward
    to integers the dtype represents, so no cast rounds a draw onto ``to``; a bound beyond
    +-2^mantissa warns as torch."""
    digits = np.finfo(dtype).nmant + 1

    def update_from(v):
        plus_1 = int(np.asarray(v + 1, dtype=dtype).astype(np.float64))
        if plus_1 < v:
            v = plus_1 + (1 << (abs(v + 1).bit_length() - 1 - digits + 1))
        return v

    def update_to(v):
        minus_1 = int(np.asarray(v - 1, dtype=dtype).astype(np.float64))
        if minus_1 >= v:
            v = minus_1 - (1 << (abs(v - 1).bit_length() - 1 - digits + 1))
        return v

    low, high = update_from(low), update_to(high)
    if low >= high:
        raise RuntimeError("random_ expects 'from' casted to dtype to be less than 'to' casted to "
                           f"dtype, but got from={low} >= to={high}")
    name = {16: "half", 32: "float", 64: "double"}[np.dtype(dtype).itemsize * 8]
    for value, what in ((low, "from"), (high - 1, "to - 1")):
        if not -(1 << digits) <= value <= 1 << digits:
            import warnings
            warnings.warn(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision "
                          f"limitations {name} can support discrete uniform distribution only "
                          "within this range. This warning will become an error in version 1.7 "
                          "release, please fix the code in advance", UserWarning, stacklevel=4)
    return low, high


# uniform_int_distribution's modulus per dtype: int64 and double on random64(), the rest on
# random(); floats draw [0, 2^mantissa] inclusive, integers [0, max]
_RANDOM_MODULUS = {"int64": (True, 1 << 63), "float64": (True, (1 << 53) + 1),
                   "float32": (False, (1 << 24) + 1), "float16": (False, (1 << 11) + 1),
                   "int32": (False, 1 << 31), "int16": (False, 1 << 15), "int8": (False, 1 << 7),
                   "uint8": (False, 1 << 8), "bool": (False, 2)}


def random_default(gen, shape, dtype) -> np.ndarray:
    """random_kernel (random_() with no bounds)."""
    dtype = np.dtype(dtype)
    wide, modulus = _RANDOM_MODULUS[dtype.name]
    n = _count(shape)
    v = random64(gen, n) if wide else random32(gen, n).astype(np.uint64)
    return (v % np.uint64(modulus)).astype(dtype).reshape(shape)


def randperm(gen, n: int) -> np.ndarray:
    return K.randperm(gen._mt, gen._ctl, n)


def bernoulli_scalar(gen, shape, p: float) -> np.ndarray:
    """bernoulli_scalar_kernel_default: one float64 uniform per element, ``u < p`` (the portable
    path; torch on Intel CPUs with MKL uses MKL's own stream instead)."""
    return K.uniform(gen._mt, gen._ctl, _count(shape), np.float64) .reshape(shape) < p


def bernoulli_tensor(gen, p: np.ndarray) -> np.ndarray:
    """bernoulli_tensor_cpu_kernel: float64 probabilities compare with a float64 uniform, any
    other float dtype with a float32 uniform (``u < float(p)``)."""
    if p.dtype == np.float64:
        u = K.uniform(gen._mt, gen._ctl, p.size, np.float64)
    else:
        u = K.uniform(gen._mt, gen._ctl, p.size, np.float32)
        p = p.astype(np.float32)
    return u.reshape(p.shape) < p


def exponential(gen, shape, lambd: float) -> np.ndarray:
    """exponential_kernel: ``-1/lambda * log1p(-u)``, u a float64 uniform (float64 result)."""
    u = K.uniform(gen._mt, gen._ctl, _count(shape), np.float64)
    return K.exponential_from(u, np.float64(lambd)).reshape(shape)


def geometric(gen, shape, p: float) -> np.ndarray:
    """geometric_kernel: ``ceil(log(u) / log1p(-p))`` (float64 result)."""
    u = K.uniform(gen._mt, gen._ctl, _count(shape), np.float64)
    return K.geometric_from(u, np.float64(p)).reshape(shape)


def cauchy(gen, shape, median: float, sigma: float) -> np.ndarray:
    """cauchy_kernel: ``median + sigma tan(pi (u - 1/2))``, u clipped to [eps, 1 - eps]."""
    u = K.uniform(gen._mt, gen._ctl, _count(shape), np.float64)
    return K.cauchy_from(u, np.float64(median), np.float64(sigma)).reshape(shape)


def log_normal(gen, shape, mean: float, std: float) -> np.ndarray:
    """log_normal_kernel: exp of at::normal_distribution<double> element by element (the
    cached second sample included), whatever the size."""
    z = K.normal_serial(gen._mt, gen._ctl, gen._normal, _count(shape), mean, std)
    return K.exp_inplace(z).reshape(shape)


def multinomial_with_replacement(gen, probs: np.ndarray, num_samples: int) -> np.ndarray:
    """multinomial_with_replacement_apply: per row the cumulative sums in the probabilities'
    dtype (float32 for float16), divided by their total, the last set to 1; each sample is
    the first bucket whose cumulative value is not below a float64 uniform."""
    rows = probs.reshape(-1, probs.shape[-1])
    acc = np.float32 if rows.dtype == np.float16 else rows.dtype
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        cum = _sequential_cumsum(row.astype(acc))
        cum = cum / cum[-1]
        cum[-1] = 1
        u = K.uniform(gen._mt, gen._ctl, num_samples, np.float64)
        out[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    return out.reshape(probs.shape[:-1] + (num_samples,))


def _sequential_cumsum(row: np.ndarray) -> np.ndarray:
    """Running sums added one at a time in the row's dtype (np.cumsum is sequential)."""
    return np.cumsum(row, dtype=row.dtype)


def poisson(gen, rates: np.ndarray) -> np.ndarray:
    """_s_poisson_cpu: sample_poisson(double(rate)) per element, in order, in the rates' dtype."""
    flat = np.ascontiguousarray(rates, dtype=np.float64).reshape(-1)
    return K.poisson(gen._mt, gen._ctl, flat).astype(rates.dtype).reshape(rates.shape)
