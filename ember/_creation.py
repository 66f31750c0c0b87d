"""Tensor creation: tensor, from_numpy, zeros/ones/full/empty, arange, linspace, eye, random."""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._dtype import as_dtype
from ._device import _check_device
from ._tensor import Tensor, _as_shape
from .random import numpy_generator


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
    t = Tensor._wrap(np.linspace(start, end, steps).astype(dt.np))
    return t.requires_grad_() if requires_grad else t


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


def _random_factory(draw, name, kernel):
    def make(*size_args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
        _check_device(device)
        dt = as_dtype(dtype) if dtype is not None else \
            out.dtype if out is not None else _dtype.get_default_dtype()
        if not dt.is_floating_point:
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dtype.scalar_type_name(dt)}'")
        shape = _shape_of(name, size_args, size)
        t = Tensor._wrap(draw(numpy_generator(generator), shape, dt.np))
        return _finish(name, t, out, requires_grad)
    make.__name__ = make.__qualname__ = name
    return make


def _uniform(gen, shape, np_dt):
    return gen.random(shape, dtype=np_dt) if np_dt != np.float16 else gen.random(shape).astype(np_dt)


def _normal(gen, shape, np_dt):
    return gen.standard_normal(shape, dtype=np_dt) if np_dt != np.float16 else \
        gen.standard_normal(shape).astype(np_dt)


rand = _random_factory(_uniform, "rand", "check_uniform_bounds")
randn = _random_factory(_normal, "randn", "normal_kernel_cpu")


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):
    """randint(high, size) or randint(low, high, size), positional or by keyword, as torch."""
    if size is None and high is not None and not isinstance(high, (int, np.integer)):
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low  # randint(size=..., high=...) spelled randint(5, size=...)
    if high is None or size is None:
        raise TypeError("randint() missing required arguments: expected randint(high, size) or "
                        "randint(low, high, size)")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    _check_device(device)
    dt = as_dtype(dtype) if dtype is not None else out.dtype if out is not None else _dtype.int64
    arr = numpy_generator(generator).integers(low, high, _shape_of("randint", (), size))
    return _finish("randint", Tensor._wrap(arr.astype(dt.np)), out, requires_grad)


def rand_like(input, *, dtype=None, generator=None, requires_grad=False, **kw):
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad=False, **kw):
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, generator=generator)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    dt = as_dtype(dtype) if dtype is not None else _dtype.int64
    return Tensor._wrap(numpy_generator(generator).permutation(n).astype(dt.np))


def bernoulli(input, p=None, *, generator=None):
    probs = input._data if p is None else np.full(input.shape, p)
    return Tensor._wrap((numpy_generator(generator).random(probs.shape) < probs).astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    probs = input._data.astype(np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    gen = numpy_generator(generator)
    out = []
    for row in rows:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        out.append(gen.choice(row.size, size=num_samples, replace=replacement, p=row / total))
    res = np.stack(out).astype(np.int64)
    return Tensor._wrap(res.reshape(probs.shape[:-1] + (num_samples,)))


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False):
    """normal(mean, std) with a tensor among them (shape broadcast from both), or
    normal(mean, std, size) with two numbers, as torch."""
    _check_device(device)
    m, s = getattr(mean, "_data", mean), getattr(std, "_data", std)
    numbers = not isinstance(mean, Tensor) and not isinstance(std, Tensor)
    if numbers == (size is None):
        raise TypeError("normal() received an invalid combination of arguments: expected "
                        "normal(Tensor mean, Tensor std) / normal(Tensor mean, float std) / "
                        "normal(float mean, Tensor std) or normal(float mean, float std, tuple size)")
    shape = _shape_of("normal", (), size) if numbers else np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = as_dtype(dtype) if dtype is not None else mean.dtype if isinstance(mean, Tensor) else \
        std.dtype if isinstance(std, Tensor) else _dtype.get_default_dtype()
    t = Tensor._wrap(numpy_generator(generator).normal(m, s, shape).astype(dt.np))
    return _finish("normal", t, out, requires_grad)
