"""Tensor creation: tensor, from_numpy, zeros/ones/full/empty, arange, linspace, eye, random."""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._dtype import as_dtype
from ._device import _check_device
from ._tensor import Tensor, _as_shape


def _infer_np_dtype(a: np.ndarray):
    """torch.tensor's inference: bools stay bool, integers become int64, Python floats the
    default dtype; NumPy arrays keep their dtype."""
    if a.dtype.kind == "b":
        return np.dtype(np.bool_)
    if a.dtype.kind in "iu":
        return np.dtype(np.int64)
    if a.dtype.kind == "f":
        return _dtype.get_default_dtype().np
    raise TypeError(f"Could not infer dtype of {a.dtype}")


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested sequence, array or tensor)."""
    _check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, np.ndarray):
        arr = data.copy()
        _dtype.from_numpy_dtype(arr.dtype)  # reject dtypes torch cannot hold
    else:
        arr = np.array(_plain(data))
        if arr.dtype == object:
            raise TypeError(f"Could not infer dtype of {type(data).__name__}: expected numbers or "
                            f"nested sequences of numbers of equal length")
        if isinstance(data, np.generic):
            _dtype.from_numpy_dtype(arr.dtype)
        else:
            inferred = _infer_np_dtype(arr)  # also rejects what torch cannot hold
            # an explicit dtype converts the Python numbers once: float64 must not pass via float32
            arr = arr.astype(inferred if dtype is None else as_dtype(dtype).np, copy=False)
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype).np, copy=False)
    t = Tensor._wrap(arr if arr.flags.c_contiguous else arr.copy())
    if requires_grad:
        t.requires_grad = True
    return t


def _plain(data):
    """Nested sequences of tensors/numbers -> nested lists of numbers (for np.array)."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        if any(isinstance(x, Tensor) for x in data):
            return [_plain(x) for x in data]
    return data


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Share memory with ``data`` when it already is an array of the requested dtype."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    # torch refuses what it cannot share memory with (issue 11, G1): other byte orders, and
    # negative strides (ember could view them, but code written for torch must fail the same)
    if not a.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    if any(s < 0 for s in a.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with "
                         "negative strides are not currently supported. (You can probably work "
                         "around this by making a copy of your array  with array.copy().) ")
    _dtype.from_numpy_dtype(a.dtype)
    return Tensor._wrap(a)


def _shape_of(name, size_args, size):
    """The shape given as varargs ``f(2, 3)``, one sequence ``f((2, 3))`` / ``f(Size)``, or the
    keyword ``f(size=(2, 3))`` - not both, as torch."""
    if size is not None:
        if size_args:
            raise TypeError(f"{name}() received an invalid combination of arguments - got both "
                            f"positional sizes {size_args} and size={size!r}")
        size_args = (size,)
    shape = _as_shape(size_args)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    return shape


def _finish(name, t, out, requires_grad):
    """requires_grad, or write into ``out`` (resized to the result's shape, as torch)."""
    if out is not None:
        if requires_grad or out.requires_grad:
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires grad.")
        if out.shape != t.shape:
            out._data = np.empty(t.shape, out._data.dtype)
        out.copy_(t)
        return out
    if requires_grad:
        t.requires_grad = True
    return t


def _factory(fill, name):
    def make(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False, memory_format=None):
        _check_device(device)
        shape = _shape_of(name, size_args, size)
        np_dt = as_dtype(dtype).np if dtype is not None else \
            out._data.dtype if out is not None else _dtype.get_default_dtype().np
        return _finish(name, Tensor._wrap(fill(shape, np_dt)), out, requires_grad)
    make.__name__ = make.__qualname__ = name
    return make


zeros = _factory(np.zeros, "zeros")
ones = _factory(np.ones, "ones")
empty = _factory(np.zeros, "empty")  # torch leaves memory uninitialised; zeros are the honest equivalent


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    _check_device(device)
    if dtype is None and out is not None:
        dtype = out.dtype
    if dtype is None:
        dtype = (_dtype.bool_ if isinstance(fill_value, bool) else
                 _dtype.int64 if isinstance(fill_value, int) else _dtype.get_default_dtype())
    t = Tensor._wrap(np.full(_shape_of("full", (), size), fill_value, dtype=as_dtype(dtype).np))
    return _finish("full", t, out, requires_grad)


def _like(maker):
    def make_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
        return maker(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad, **kw)
    return make_like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    if end is None:
        start, end = 0, start
    vals = [float(v) if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.int64 if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dtype.get_default_dtype()
    # torch computes the length in double precision, then the values as start + i*step
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(max(n, 0), dtype=np.float64) * vals[2]).astype(as_dtype(dtype).np)
    t = Tensor._wrap(arr)
    return t.requires_grad_() if requires_grad else t


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    _check_device(device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    t = Tensor._wrap(linspace_array(start, end, steps, dt.np))
    return t.requires_grad_() if requires_grad else t


def linspace_array(start, end, steps, np_dtype) -> np.ndarray:
    """torch.linspace's CPU arithmetic, bit for bit: ``step = (end - start) / (steps - 1)`` in
    the output dtype; the first half is ``fma(step, i, start)``, the second half
    ``fma(-step, steps - 1 - i, end)`` - each a fused multiply-add, emulated in a wider float
    and rounded once. (NumPy's linspace differs from torch's in the last bit most of the time.)
    Integer outputs: the bounds are truncated to integers first, the steps computed in
    double and truncated."""
    dtype = np.dtype(np_dtype)
    steps = int(steps)
    if steps == 0:
        return np.empty(0, dtype)
    if dtype == np.float16:
        return _linspace_half(start, end, steps)
    if dtype.kind in "iub":
        s, e = float(int(float(start))), float(int(float(end)))
        work = np.dtype(np.float64)
    else:
        work = dtype
        s, e = work.type(float(start)), work.type(float(end))
    if steps == 1:
        return np.array([s], dtype=work).astype(dtype)
    step = (work.type(e) - work.type(s)) / work.type(steps - 1)
    idx = np.arange(steps)
    if work == np.float32:  # a float32 product is exact in float64: one rounding after the add
        up = np.float64(step) * idx + np.float64(s)
        down = np.float64(e) - np.float64(step) * (steps - 1 - idx)
    else:
        up = _fma64(np.float64(step), idx.astype(np.float64), np.float64(s))
        down = _fma64(-np.float64(step), (steps - 1 - idx).astype(np.float64), np.float64(e))
    values = np.where(idx < steps // 2, up, down).astype(work)
    return values.astype(dtype)


def _fma64(a, b, c):
    """a * b + c rounded once, for float64 arrays: Dekker's exact product and Knuth's exact
    sum, then one rounding of the three parts (matches the hardware FMA torch's kernels use)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1
    ca, cb = split * a, split * b
    a_hi, b_hi = ca - (ca - a), cb - (cb - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    p_err = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    s = p + c
    bb = s - p
    s_err = (p - (s - bb)) + (c - bb)
    return s + (p_err + s_err)


def _linspace_half(start, end, steps) -> np.ndarray:
    """float16: c10::Half arithmetic, every operation computed in float32 and rounded back to
    half (no fused multiply-add)."""
    h, f = np.float16, np.float32
    s, e = h(float(start)), h(float(end))
    if steps == 1:
        return np.array([s], np.float16)
    step = h(f(h(f(e) - f(s))) / f(steps - 1))
    idx = np.arange(steps)
    up = (f(s) + (f(step) * idx.astype(f)).astype(h).astype(f)).astype(h)
    down = (f(e) - (f(step) * (steps - 1 - idx).astype(f)).astype(h).astype(f)).astype(h)
    return np.where(idx < steps // 2, up, down)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=_dtype.float64)
    dt = as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    t = Tensor._wrap((base ** lin._data).astype(dt.np))
    return t.requires_grad_() if requires_grad else t


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, pin_memory=False,
        requires_grad=False):
    _check_device(device)
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    dt = as_dtype(dtype) if dtype is not None else \
        out.dtype if out is not None else _dtype.get_default_dtype()
    t = Tensor._wrap(np.eye(n, m, dtype=dt.np))
    return _finish("aten::eye", t, out, requires_grad)


def _random_factory(fill, name):
    """rand/randn: ``empty(size, dtype).uniform_()`` / ``.normal_()``, as ATen builds them."""
    def make(*size_args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
        _check_device(device)
        dt = as_dtype(dtype) if dtype is not None else \
            out.dtype if out is not None else _dtype.get_default_dtype()
        t = Tensor._wrap(np.empty(_shape_of(name, size_args, size), dt.np))
        fill(t, generator)
        return _finish(name, t, out, requires_grad)
    make.__name__ = make.__qualname__ = name
    return make


rand = _random_factory(lambda t, g: t.uniform_(0.0, 1.0, generator=g), "rand")
randn = _random_factory(lambda t, g: t.normal_(0.0, 1.0, generator=g), "randn")


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):
    """randint(high, size) or randint(low, high, size), positional or by keyword, as torch:
    ``empty(size, dtype).random_(low, high)``."""
    if size is None and high is not None and not isinstance(high, (int, np.integer)):
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low  # randint(size=..., high=...) spelled randint(5, size=...)
    if high is None or size is None:
        raise TypeError("randint() missing required arguments: expected randint(high, size) or "
                        "randint(low, high, size)")
    _check_device(device)
    dt = as_dtype(dtype) if dtype is not None else out.dtype if out is not None else _dtype.int64
    t = Tensor._wrap(np.empty(_shape_of("randint", (), size), dt.np))
    t.random_(int(low), int(high), generator=generator)
    return _finish("randint", t, out, requires_grad)


def _like_dtype(input, dtype):
    return as_dtype(dtype) if dtype is not None else input.dtype


def rand_like(input, *, dtype=None, generator=None, requires_grad=False, **kw):
    return rand(input.shape, dtype=_like_dtype(input, dtype), generator=generator,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad=False, **kw):
    return randn(input.shape, dtype=_like_dtype(input, dtype), generator=generator,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False,
                 **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=_like_dtype(input, dtype), generator=generator,
                   requires_grad=requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """randperm_cpu's shuffle (ember/_kernels/random.py), torch's draws."""
    from . import random
    from ._ops import random as R
    _check_device(device)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = as_dtype(dtype) if dtype is not None else out.dtype if out is not None else _dtype.int64
    t = Tensor._wrap(R.randperm(random.resolve(generator), int(n)).astype(dt.np))
    return _finish("randperm", t, out, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    """Draws 1 with probability ``input`` (element-wise), or ``p`` for every element."""
    t = Tensor._wrap(np.empty(input.shape, input._data.dtype))
    t.bernoulli_(input if p is None else p, generator=generator)
    return _finish("bernoulli", t, out, False)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """torch.multinomial on the CPU: without replacement, or for one sample, the exponential
    trick ``topk(p / q)`` with ``q ~ Exp(1)`` drawn like ``exponential_``; with replacement a
    search of each row's normalised cumulative sums for float64 uniforms."""
    from . import random
    from ._ops import random as R
    probs = input._data
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dtype.scalar_type_name(probs.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = probs.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if n_categories > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    gen = random.resolve(generator)
    if not replacement or num_samples == 1:
        if probs.size and not (np.all(probs < np.inf) and np.all(probs >= 0)):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if np.any(probs.sum(axis=-1) == 0):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = R.exponential(gen, probs.shape, 1.0).astype(probs.dtype)
        ratio = probs / q
        # topk's order: largest first (argmax keeps the first of equal maxima)
        idx = np.argsort(-ratio, axis=-1, kind="stable")[..., :num_samples]
        res = idx.astype(np.int64)
    else:
        if np.any(probs < 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if not np.all(np.isfinite(probs)):
            raise RuntimeError("invalid multinomial distribution (encountering probability entry = "
                               "infinity or NaN)")
        if np.any(probs.sum(axis=-1) <= 0):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        res = R.multinomial_with_replacement(gen, probs, int(num_samples))
    return _finish("multinomial", Tensor._wrap(res), out, False)


def poisson(input, generator=None):
    """Counts drawn from Poisson(rate) per element of ``input`` (torch.poisson's CPU sampler:
    Knuth's product of uniforms below rate 10, Hoermann's transformed rejection above)."""
    from . import random
    from ._ops import random as R
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"poisson_cpu" not implemented for '
                                  f"'{_dtype.scalar_type_name(input._data.dtype)}'")
    if np.any(input._data < 0):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return Tensor._wrap(R.poisson(random.resolve(generator), input._data))


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False):
    """normal(mean, std) with a tensor among them (shape broadcast from both), or
    normal(mean, std, size) with two numbers, as torch: standard normals drawn like
    ``normal_`` into the result, then ``mul_(std)`` and ``add_(mean)`` for tensor arguments."""
    _check_device(device)
    tensor_mean, tensor_std = isinstance(mean, Tensor), isinstance(std, Tensor)
    if (tensor_mean or tensor_std) == (size is not None):
        raise TypeError("normal() received an invalid combination of arguments: expected "
                        "normal(Tensor mean, Tensor std) / normal(Tensor mean, float std) / "
                        "normal(float mean, Tensor std) or normal(float mean, float std, tuple size)")
    if tensor_std and np.any(std._data < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not tensor_std and not float(std) >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")
    if not (tensor_mean or tensor_std):
        dt = as_dtype(dtype) if dtype is not None else \
            out.dtype if out is not None else _dtype.get_default_dtype()
        t = Tensor._wrap(np.empty(_shape_of("normal", (), size), dt.np))
        t.normal_(float(mean), float(std), generator=generator)
        return _finish("normal", t, out, requires_grad)
    shape = np.broadcast_shapes(np.shape(getattr(mean, "_data", mean)),
                                np.shape(getattr(std, "_data", std)))
    dt = mean.dtype if tensor_mean else std.dtype
    t = Tensor._wrap(np.empty(shape, dt.np))
    if tensor_mean and not tensor_std:       # normal(Tensor mean, float std)
        t.normal_(0.0, float(std), generator=generator)
        np.add(t._data, mean._data, out=t._data, casting="unsafe")
    else:
        t.normal_(0.0, 1.0, generator=generator)
        np.multiply(t._data, std._data, out=t._data, casting="unsafe")
        np.add(t._data, mean._data if tensor_mean else np.asarray(mean, dtype=dt.np),
               out=t._data, casting="unsafe")
    return _finish("normal", t, out, requires_grad)
