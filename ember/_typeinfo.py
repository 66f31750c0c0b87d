"""torch.finfo / torch.iinfo / torch.can_cast: what a dtype can hold, read from NumPy's tables
and printed as torch prints them (``finfo(resolution=1e-06, min=-3.40282e+38, ...)``)."""
from __future__ import annotations

import numpy as np

from . import _dtype

_TYPE_NAMES = {"finfo": "floating point", "iinfo": "integer"}


def _check_dtype(fn_name, d, param="type", position=1):
    if not isinstance(d, _dtype.dtype):
        raise TypeError(f"{fn_name}(): argument '{param}' (position {position}) must be "
                        f"torch.dtype, not {type(d).__name__}".replace("torch.dtype", "ember.dtype"))


class finfo:
    """Machine limits of a floating-point dtype (the default dtype when none is given)."""

    def __init__(self, type=None):
        d = _dtype.get_default_dtype() if type is None else type
        _check_dtype("finfo", d)
        if not d.is_floating_point:
            raise TypeError("ember.finfo() requires a floating point input type. Use ember.iinfo "
                            "to handle 'ember.finfo'")
        info = np.finfo(d.np)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # exact, as torch (NumPy rounds it to the dtype)
        self.dtype = d.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")

    __str__ = __repr__


class iinfo:
    """Limits of an integer dtype (bool has none, as in torch)."""

    def __init__(self, type):
        _check_dtype("iinfo", type)
        if type is _dtype.bool_:
            raise TypeError("ember.bool is not supported by ember.iinfo")
        if type.is_floating_point:
            raise TypeError("ember.iinfo() requires an integer input type. Use ember.finfo to "
                            "handle 'ember.iinfo'")
        info = np.iinfo(type.np)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = type.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"

    __str__ = __repr__


def can_cast(from_, to):
    """torch.can_cast: casting may not lower the category (float -> int, int -> bool); it may
    narrow within one (float64 -> float16, int64 -> int8)."""
    _check_dtype("can_cast", from_, "from_", 1)
    _check_dtype("can_cast", to, "to", 2)
    return from_._category <= to._category


def promote_types(type1, type2):
    """torch.promote_types: the smallest dtype both convert to without losing their category."""
    _check_dtype("promote_types", type1, "type1", 1)
    _check_dtype("promote_types", type2, "type2", 2)
    return _dtype.promote_types(type1, type2)


def _is_operand(x):
    return isinstance(getattr(x, "dtype", None), _dtype.dtype) or \
        isinstance(x, (bool, int, float, np.number, np.bool_))


def _as_python_number(x):
    # torch reads NumPy scalars as Python numbers, np.bool_ as a float (as in arithmetic)
    if isinstance(x, np.bool_):
        return float(x)
    return x.item() if isinstance(x, np.generic) else x


def result_type(tensor, other):
    """torch.result_type of two operands, each a Tensor or a Python number."""
    if not (_is_operand(tensor) and _is_operand(other)):
        got = ", ".join(type(x).__name__ for x in (tensor, other))
        raise TypeError(f"result_type() received an invalid combination of arguments - got "
                        f"({got}), but expected one of: (Tensor tensor, Tensor other), (Number "
                        f"scalar, Tensor tensor), (Tensor tensor, Number other), (Number scalar1, "
                        f"Number scalar2)")
    return _dtype.result_type(_as_python_number(tensor), _as_python_number(other))
