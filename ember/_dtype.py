"""ember's dtypes: thin named wrappers over NumPy dtypes with torch's names and promotion rules."""
from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, printed as torch prints its dtypes (``ember.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating: the order of type promotion

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):  # dtypes are singletons
        return (from_name, (self.name,))

    @property
    def is_complex(self):
        return False


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64,
                 "int": int32, "short": int16})

_default_float = float32


# torch's C++ ScalarType names, which its error messages print ("expected scalar type Float"):
# the one table of them; bfloat16 and the complex types are here for messages about NumPy arrays
# of those types, which ember tensors cannot hold.
SCALAR_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                     "int32": "Int", "int64": "Long", "float16": "Half", "bfloat16": "BFloat16",
                     "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
                     "complex128": "ComplexDouble"}


# ...and the C++ type names that some of its messages print in lower case ("Expected out
# tensor to have dtype float, but got long int instead").
CPP_TYPE_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
                  "int16": "short int", "int32": "int", "int64": "long int", "float16": "c10::Half",
                  "float32": "float", "float64": "double"}


def cpp_type_name(d) -> str:
    key = d.name if isinstance(d, (dtype, np.dtype)) else str(d)
    return CPP_TYPE_NAMES.get(key, str(d))


def scalar_type_name(d) -> str:
    """torch's ScalarType name (``Float``, ``Long`` ...) of an ember dtype, a NumPy dtype or a
    dtype's name; a type torch has no name for is printed as it is."""
    key = d.name if isinstance(d, (dtype, np.dtype)) else str(d)
    return SCALAR_TYPE_NAMES.get(key, str(d))


def legacy_type_name(d) -> str:
    """torch's legacy tensor-type name of a dtype (``FloatTensor``, ``LongTensor`` ...)."""
    return scalar_type_name(d) + "Tensor"


def from_legacy_type_name(name: str) -> dtype:
    """The dtype of ``'torch.FloatTensor'`` or ``'ember.FloatTensor'`` (the module is required,
    as torch's)."""
    module, _, short = name.partition(".")
    for d in ALL:
        if module in ("torch", "ember") and legacy_type_name(d) == short:
            return d
    raise ValueError(f"invalid type: {name!r}")


def from_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; TypeError for dtypes torch has no counterpart for."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported "
                        "types are: float64, float32, float16, int64, int32, int16, int8, uint8, "
                        "and bool.") from None


def to_numpy_dtype(d) -> np.dtype:
    """Accepts an ember dtype, a NumPy dtype (or type), or a torch-style name."""
    if isinstance(d, dtype):
        return d.np
    if isinstance(d, str):
        return _BY_NAME[d].np
    if d is float:
        return _default_float.np
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    return from_numpy_dtype(d).np


def as_dtype(d) -> dtype:
    return d if isinstance(d, dtype) else from_numpy_dtype(to_numpy_dtype(d))


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: bool < integers < floating point; within a category, the wider."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _scalar_dtype(x) -> dtype:
    """The dtype a Python number takes when it meets a tensor (a 'wrapped number' in ATen)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    return _default_float


def _combine(higher, lower):
    # ATen's combine_categories (TensorIterator result_type): a higher-priority operand keeps its
    # dtype unless a lower-priority one is of a higher category.
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """torch.result_type for tensors (dimensioned > zero-dim) and Python numbers (lowest)."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            s = _scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
    return _combine(dim, _combine(zero, wrapped))
