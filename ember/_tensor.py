"""ember.Tensor: a NumPy array with autograd, with torch's API.

The array lives in ``_data`` (always an ``np.ndarray``, 0-d for scalars). Differentiable
operations are Functions in ``ember/_ops``; the methods here validate arguments the way torch
does, apply torch's type promotion, and call ``SomeFunction.apply``.
"""
from __future__ import annotations

import builtins
import collections
import operator

import numpy as np

from . import _dtype
from ._dtype import as_dtype, from_numpy_dtype, result_type
from ._kernels import elementwise as _elementwise_kernels
from ._ops import activation as A
from ._ops import elementwise as E
from ._ops import inplace as V
from ._ops import index as I
from ._ops import linalg as L
from ._ops import products as _P
from ._ops import reduce as R
from ._ops import shape as S
from ._ops import stats as ST
from ._ops import rearrange as RA, scatter_api as SA  # issue 11, G3
from ._ops import pointwise as PW  # issue 11, G5
from ._ops.util import normalize_dim, normalize_dims
from ._device import _CPU, _check_device, device as _Device
from ._indexing import (_check_basic_index, _check_index_range, _check_scatter_shapes, _convert_index,
                        _index_array, _refuse_byte_mask_fill, is_scalar as _is_scalar)
from ._size import Size
from .autograd import grad_mode
from .autograd import function as _function
from .autograd.engine import run_backward

_ReturnMax = collections.namedtuple("max", ["values", "indices"])
_ReturnMin = collections.namedtuple("min", ["values", "indices"])
_ReturnSort = collections.namedtuple("sort", ["values", "indices"])
_ReturnTopk = collections.namedtuple("topk", ["values", "indices"])


def _unwrap(x):
    return x._data if isinstance(x, Tensor) else x


class Tensor:
    """A multi-dimensional array that records the operations applied to it for autograd."""

    __array_priority__ = 1000  # ndarray <op> Tensor defers to the Tensor's reflected operator

    def __init__(self, *args, dtype=None, device=None):
        # torch.Tensor(2, 3) -> an uninitialised float tensor; torch.Tensor([1, 2]) -> float data
        _check_device(device)
        dt = as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = np.array(_unwrap(args[0]), dtype=dt.np)
        else:
            data = np.zeros(_as_shape(args), dtype=dt.np)
        self._init(data)

    def _init(self, data, requires_grad=False):
        self._data = data
        self._requires_grad = requires_grad
        self._vbox = [0]

    # Defaults shared through the class, so that creating a tensor sets only three attributes
    # (the per-op Python overhead is what small networks spend their time on).
    grad = None
    grad_fn = None
    _out_idx = 0
    _base = None
    _accumulator = None

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """Internal constructor: adopt ``data`` as is (no copy, no checks)."""
        t = object.__new__(cls)
        t._data = data
        t._requires_grad = requires_grad
        t._vbox = [0]
        return t

    # ------------------------------------------------------------------ properties and metadata
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vbox[0]

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's memory, outside the graph (as torch's ``.data``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def dtype(self) -> _dtype.dtype:
        return from_numpy_dtype(self._data.dtype)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[normalize_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[normalize_dim(dim, self._data.ndim)]

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:  # issue 11, G1: ember has no complex dtypes (yet)
        return self._data.dtype.kind == "c"

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 trusts copy=: np.array(t) (copy=True) must not share the tensor's memory
        a = self.numpy()
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError("Unable to avoid copy while creating an array as requested.")
            return a.astype(dtype)
        return a.copy() if copy else a

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # np.exp(t) / np.add(t, 1) give a Tensor, as torch; torch turns bool results into uint8
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return Tensor._wrap(np.asarray(array))

    def __reversed__(self):  # torch/_tensor.py: flip(0), a 0-d tensor itself
        return self if self._data.ndim == 0 else self.flip(0)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self._one_element_scalar())

    def __int__(self):
        return int(self._one_element_scalar())

    def _one_element_scalar(self):
        # float(t) / int(t) raise ValueError in torch, where t.item() raises RuntimeError
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()))

    def __contains__(self, element):
        # torch/_tensor.py: (element == self).any(), for a Tensor or a number only
        if not isinstance(element, (Tensor, bool, int, float, complex, np.number, np.bool_)):
            raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you "
                               f"passed in a {type(element)}.")
        same = (element == self) if isinstance(element, Tensor) else (self == element)
        return bool(same.any().item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        # Tensors travel to DataLoader worker processes and back: array + requires_grad only
        return (_rebuild_tensor, (self._data, self._requires_grad))

    def detach(self) -> "Tensor":
        t = Tensor._wrap(self._data)
        t._vbox = self._vbox  # shares memory, so it shares the version counter too
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self, *, memory_format=None) -> "Tensor":
        return E.Clone.apply(self)

    def contiguous(self, memory_format=None) -> "Tensor":
        return self if self._data.flags.c_contiguous else S.Contiguous.apply(self)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False, memory_format=None):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, _Device)):
                _check_device(a)
            elif a is not None:
                dtype = a
        _check_device(device)
        if dtype is None or as_dtype(dtype) is self.dtype:
            return self.clone() if copy else self
        return E.Cast.apply(self, as_dtype(dtype).np)

    def type(self, dtype=None, non_blocking=False):
        """No argument: the legacy type name (``'ember.FloatTensor'``); otherwise a cast to a
        dtype, a legacy type (``ember.LongTensor``) or its name (``'torch.LongTensor'``)."""
        if dtype is None:
            return f"ember.{_dtype.legacy_type_name(self.dtype)}"
        if isinstance(dtype, _LegacyTensorType):
            dtype = dtype.dtype
        elif isinstance(dtype, str):
            dtype = _dtype.from_legacy_type_name(dtype)
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def long(self):
        return self.to(_dtype.int64)

    def int(self):
        return self.to(_dtype.int32)

    def short(self):
        return self.to(_dtype.int16)

    def bool(self):
        return self.to(_dtype.bool_)

    def byte(self):
        return self.to(_dtype.uint8)

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        _check_device("cuda" if device is None else device if not isinstance(device, int) else
                      f"cuda:{device}")
        return self

    def _cast(self, dt):
        return self if dt.np == self._data.dtype else E.Cast.apply(self, dt.np)

    # ------------------------------------------------------------------ arithmetic
    def _binary(self, fn, other, reverse=False, *extra):
        if isinstance(other, Tensor):
            if other._data.shape != self._data.shape:
                _check_broadcast(self._data.shape, other._data.shape)
            if other._data.dtype == self._data.dtype:
                a, b = self, other
            else:
                dt = result_type(self, other)
                a, b = self._cast(dt), other._cast(dt)
        elif isinstance(other, (bool, int, float)):
            if isinstance(other, np.generic):  # np.float64 is a float, and a Python number here
                other = other.item()
            a = self
            if self._data.dtype.kind != "f" or isinstance(other, bool):
                dt = result_type(self, other)
                a = self._cast(dt)
                if isinstance(other, bool) and dt is not _dtype.bool_:
                    other = int(other)
            b = other
        elif isinstance(other, np.generic) and not isinstance(other, np.complexfloating):
            # torch reads a NumPy scalar as a Python number, and np.bool_ as a float (issue 11, G1)
            number = float(other) if isinstance(other, np.bool_) else other.item()
            return self._binary(fn, number, reverse, *extra)
        else:
            return self._binary(fn, _to_tensor(other), reverse, *extra)
        return fn.apply(b, a, *extra) if reverse else fn.apply(a, b, *extra)

    def __add__(self, other):
        return self._binary(E.Add, other)

    def __radd__(self, other):
        return self._binary(E.Add, other, reverse=True)

    def __sub__(self, other):
        return self._binary(E.Sub, other)

    def __rsub__(self, other):
        return self._binary(E.Sub, other, reverse=True)

    def __mul__(self, other):
        return self._binary(E.Mul, other)

    def __rmul__(self, other):
        return self._binary(E.Mul, other, reverse=True)

    def __truediv__(self, other):
        return self._float_operands(other)._binary(E.Div, other)

    def __rtruediv__(self, other):
        return self._float_operands(other)._binary(E.Div, other, reverse=True)

    def __floordiv__(self, other):
        return self._nograd_binary(np.floor_divide, other)

    def __rfloordiv__(self, other):
        return self._nograd_binary(np.floor_divide, other, reverse=True)

    def __mod__(self, other):
        return PW.divmod_like("remainder", self, other)  # differentiable, as torch's

    def __rmod__(self, other):
        return PW.divmod_like("remainder", self, other, reverse=True)

    floor_divide = __floordiv__
    remainder = __mod__

    def floor_divide_(self, other):
        return self._inplace(lambda s, o: s // o, other)

    def remainder_(self, other):
        return self._inplace(lambda s, o: s % o, other)

    def __pow__(self, other):
        return self._binary(E.Pow, other)

    def __rpow__(self, other):
        return self._binary(E.Pow, other, reverse=True)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _to_tensor(other).matmul(self)

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __invert__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("~ (bitwise_not) is only supported for integer and boolean tensors")
        return Tensor._wrap(np.invert(self._data))

    def __and__(self, other):
        return self._bitwise(np.bitwise_and, "bitwise_and_cpu", other)

    __rand__ = __and__

    def __or__(self, other):
        return self._bitwise(np.bitwise_or, "bitwise_or_cpu", other)

    __ror__ = __or__

    def __xor__(self, other):
        return self._bitwise(np.bitwise_xor, "bitwise_xor_cpu", other)

    __rxor__ = __xor__

    def __lshift__(self, other):
        return self._bitwise(np.left_shift, "lshift_cpu", other)

    def __rlshift__(self, other):
        return self._bitwise(np.left_shift, "lshift_cpu", other, reverse=True)

    def __rshift__(self, other):
        return self._bitwise(np.right_shift, "rshift_cpu", other)

    def __rrshift__(self, other):
        return self._bitwise(np.right_shift, "rshift_cpu", other, reverse=True)

    def _bitwise(self, ufunc, kernel, other, reverse=False):
        """Bitwise ops and shifts: integer and bool operands only, torch's message otherwise."""
        for x in (self, other):
            kind = x._data.dtype.kind if isinstance(x, Tensor) else np.asarray(x).dtype.kind
            if kind not in "iub":
                raise NotImplementedError(f'"{kernel}" not implemented for '
                                          f"'{_dtype.scalar_type_name(result_type(self, other))}'")
        return self._nograd_binary(ufunc, other, reverse)

    def _float_operands(self, other):
        """True division of integers gives the default float dtype, as in torch."""
        if self._data.dtype.kind == "f" or isinstance(other, Tensor) and other._data.dtype.kind == "f" \
                or isinstance(other, float):
            return self
        return self._cast(_dtype.get_default_dtype())

    def _nograd_binary(self, ufunc, other, reverse=False):
        dt = result_type(self, other) if isinstance(other, (Tensor, bool, int, float)) else self.dtype
        a = self._data.astype(dt.np, copy=False)
        b = _unwrap(other)
        b = b.astype(dt.np, copy=False) if isinstance(b, np.ndarray) else b
        if reverse:
            a, b = np.asarray(b, dt.np), a
        if dt.np.kind in "iu" and ufunc in E.INTEGER_DIVISIONS:
            E.check_integer_divisor(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # floats: inf and nan, as torch
            return Tensor._wrap(np.asarray(ufunc(a, b)))

    def add(self, other, *, alpha=1):
        if alpha == 1:
            return self + other
        return self._binary(E.Add, other, False, alpha)

    def sub(self, other, *, alpha=1):
        if alpha == 1:
            return self - other
        return self._binary(E.Sub, other, False, alpha)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            return self._nograd_binary(E.trunc_divide, other)
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")

    divide = div
    true_divide = __truediv__

    def pow(self, exponent):
        return self ** exponent

    def maximum(self, other):
        return self._binary(E.Maximum, other if isinstance(other, Tensor) else _to_tensor(other))

    def minimum(self, other):
        return self._binary(E.Minimum, other if isinstance(other, Tensor) else _to_tensor(other))

    def matmul(self, other):
        other = other if isinstance(other, Tensor) else _to_tensor(other)
        if self.ndim == 0 or other.ndim == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                               f"{self.ndim}D and {other.ndim}D")
        a, b = self, other
        if a.dtype is not b.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_dtype.scalar_type_name(a.dtype)} != {_dtype.scalar_type_name(b.dtype)}")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            sa = "x".join(map(str, a.shape[-2:] if a.ndim > 1 else (1, a.shape[0])))
            sb = "x".join(map(str, b.shape[-2:] if b.ndim > 1 else (b.shape[0], 1)))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        return L.matmul_function(a.ndim, b.ndim).apply(a, b)

    def mm(self, mat2):
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError("self must be a matrix" if self.ndim != 2 else "mat2 must be a matrix")
        return self.matmul(mat2)

    def bmm(self, mat2):
        if self.ndim != 3 or mat2.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor" if self.ndim != 3 else "batch2 must be a 3D tensor")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                               f"{self.shape[0]} and {mat2.shape[0]}")
        if self.dtype is not mat2.dtype:
            raise RuntimeError(f"expected scalar type {_dtype.scalar_type_name(self.dtype)} but found "
                               f"{_dtype.scalar_type_name(mat2.dtype)}")
        if self.shape[2] != mat2.shape[1]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{self.shape[0]}, {self.shape[2]}] but got: "
                               f"[{mat2.shape[0]}, {mat2.shape[1]}].")
        return L.Bmm.apply(self, mat2)

    def mv(self, vec):
        # matmul would accept a matrix or two vectors here; torch's mv does not
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, {vec.ndim}")
        if self.dtype is not vec.dtype:  # torch's mv is addmv into a tensor of vec's dtype
            v, m = _dtype.scalar_type_name(vec.dtype), _dtype.scalar_type_name(self.dtype)
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {v}, {m}, and {v}")
        return self.matmul(vec)

    def dot(self, other):
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.dtype is not other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_dtype.scalar_type_name(self.dtype)} and {_dtype.scalar_type_name(other.dtype)}")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got "
                               f"{self.shape[0]} and {other.shape[0]} elements respectively")
        return self.matmul(other)

    # --- products and linear algebra (issue 11)
    def vdot(self, other):
        return self.dot(other)  # real tensors: no conjugation

    def outer(self, vec2):
        return _P.outer(self, vec2)

    ger = outer

    def inner(self, other):
        return _P.inner(self, other)

    def kron(self, other):
        return _P.kron(self, other)

    def cross(self, other, dim=None):
        return _P.cross(self, other, dim)

    def _add_product(self, product, beta, alpha):
        # torch: beta * input + alpha * product; the input only expands to the product's shape,
        # and with beta == 0 it is ignored (nan too)
        inp = self.expand(product.shape)
        out = product if alpha == 1 else product * alpha
        if beta == 0:  # the input still gets a (zero) gradient in torch
            keep = Tensor._wrap(np.ones(out.shape, bool))
            return where(keep, out, inp) if self._requires_grad else out
        return out + (inp if beta == 1 else inp * beta)

    def _check_addmm_dtypes(self, mat1, mat2):
        for a, b, what in ((mat1, mat2, "mat1 and mat2"), (self, mat2, "self and mat2")):
            if a.dtype is not b.dtype:
                raise RuntimeError(f"{what} must have the same dtype, but got "
                                   f"{_dtype.scalar_type_name(a.dtype)} and {_dtype.scalar_type_name(b.dtype)}")

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        self._check_addmm_dtypes(mat1, mat2)
        return self._add_product(mat1.mm(mat2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        if mat.ndim != 2 or vec.ndim != 1 or self.ndim > 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {self.ndim}, {mat.ndim}, {vec.ndim}")
        if not self.dtype is mat.dtype is vec.dtype:
            names = ", ".join(_dtype.scalar_type_name(t.dtype) for t in (self, mat))
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {names}, and "
                               f"{_dtype.scalar_type_name(vec.dtype)}")
        return self._add_product(mat.mv(vec), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        if not self.dtype is batch1.dtype is batch2.dtype:
            n = [_dtype.scalar_type_name(t.dtype).lower() for t in (self, batch1, batch2)]
            raise RuntimeError(f"Input dtypes must be the same, got: input {n[0]}, batch1: {n[1]}, "
                               f"batch2: {n[2]}")
        return self._add_product(batch1.bmm(batch2), beta, alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        self._check_addmm_dtypes(batch1, batch2)
        return self._add_product(batch1.bmm(batch2).sum(0), beta, alpha)

    def matrix_power(self, n):
        from . import linalg
        return linalg.matrix_power(self, n)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        a, b = normalize_dim(dim1, self.ndim), normalize_dim(dim2, self.ndim)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return _P.Diagonal.apply(self, offset, a, b)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        a, b = normalize_dim(dim1, self.ndim + 1), normalize_dim(dim2, self.ndim + 1)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return _P.DiagEmbed.apply(self, offset, a, b)

    def diag(self, diagonal=0):
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal).clone()
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def triu(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError("triu: input tensor must have at least 2 dimensions")
        return _P.Triu.apply(self, diagonal, True)

    def tril(self, diagonal=0):
        if self.ndim < 2:
            raise RuntimeError("tril: input tensor must have at least 2 dimensions")
        return _P.Tril.apply(self, diagonal, False)

    def triu_(self, diagonal=0):
        return self._inplace(Tensor.triu, diagonal)

    def tril_(self, diagonal=0):
        return self._inplace(Tensor.tril, diagonal)

    def det(self):
        from . import linalg
        return linalg.det(self)

    def logdet(self):
        from . import linalg
        return linalg._logdet(self)

    def slogdet(self):
        from . import linalg
        return linalg.slogdet(self)

    def inverse(self):
        from . import linalg
        return linalg.inv(self)

    def pinverse(self, rcond=1e-15):
        from . import linalg
        return linalg.pinv(self, rtol=rcond)

    def cholesky(self, upper=False):
        from . import linalg
        return linalg.cholesky(self, upper=upper)

    def matrix_exp(self):
        from . import linalg
        return linalg.matrix_exp(self)

    def svd(self, some=True, compute_uv=True):
        from . import linalg
        return linalg._svd_legacy(self, some, compute_uv)

    def qr(self, some=True):
        from . import linalg
        return linalg._qr_legacy(self, some)

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, ufunc, other):
        b = _unwrap(other)
        if not isinstance(b, (np.ndarray, bool, int, float, np.generic)):
            b = _to_tensor(b)._data
        if isinstance(b, np.ndarray) and b.shape != self._data.shape:
            _check_broadcast(self._data.shape, b.shape)  # torch's RuntimeError, not NumPy's
        return Tensor._wrap(np.asarray(ufunc(self._data, b)))

    def eq(self, other):
        return self._compare(np.equal, other)

    def ne(self, other):
        return self._compare(np.not_equal, other)

    def lt(self, other):
        return self._compare(np.less, other)

    def le(self, other):
        return self._compare(np.less_equal, other)

    def gt(self, other):
        return self._compare(np.greater, other)

    def ge(self, other):
        return self._compare(np.greater_equal, other)

    # the operators give NotImplemented for what is neither a tensor nor a number, as torch's:
    # Python then answers x == None with False, and x < None with its TypeError (issue 11, G1)
    def _compare_operator(self, ufunc, other):
        if not isinstance(other, (Tensor, np.ndarray, np.generic, bool, int, float, complex)):
            return NotImplemented
        return self._compare(ufunc, other)

    def __eq__(self, other):
        return self._compare_operator(np.equal, other)

    def __ne__(self, other):
        return self._compare_operator(np.not_equal, other)

    def __lt__(self, other):
        return self._compare_operator(np.less, other)

    def __le__(self, other):
        return self._compare_operator(np.less_equal, other)

    def __gt__(self, other):
        return self._compare_operator(np.greater, other)

    def __ge__(self, other):
        return self._compare_operator(np.greater_equal, other)

    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def equal(self, other) -> bool:
        return self.shape == other.shape and bool(np.array_equal(self._data, other._data))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        PW.check_close_arguments(self, other, rtol, atol, "allclose")
        return bool(np.allclose(self._data, _unwrap(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        PW.check_close_arguments(self, other, rtol, atol)
        return Tensor._wrap(np.isclose(self._data, _unwrap(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isnan(self):
        return Tensor._wrap(np.isnan(self._data))

    def isinf(self):
        return Tensor._wrap(np.isinf(self._data))

    def isfinite(self):
        return Tensor._wrap(np.isfinite(self._data))

    def logical_not(self):
        return Tensor._wrap(np.logical_not(self._data))

    def logical_and(self, other):
        return Tensor._wrap(np.logical_and(self._data, _unwrap(other)))

    def logical_or(self, other):
        return Tensor._wrap(np.logical_or(self._data, _unwrap(other)))

    # ------------------------------------------------------------------ unary math
    def _float_unary(self, fn):
        x = self if self._data.dtype.kind == "f" else self._cast(_dtype.get_default_dtype())
        return fn.apply(x)

    def neg(self):
        return E.Neg.apply(self)

    negative = neg

    def abs(self):
        return E.Abs.apply(self)

    absolute = abs

    def exp(self):
        return self._float_unary(E.Exp)

    def log(self):
        return self._float_unary(E.Log)

    def log1p(self):
        return self._float_unary(E.Log1p)

    def log2(self):
        return PW.unary("log2", self)

    def log10(self):
        return PW.unary("log10", self)

    def sqrt(self):
        return self._float_unary(E.Sqrt)

    def rsqrt(self):
        return self._float_unary(E.Rsqrt)

    def sin(self):
        return self._float_unary(E.Sin)

    def cos(self):
        return self._float_unary(E.Cos)

    def tanh(self):
        return self._float_unary(E.Tanh)

    def sigmoid(self):
        return self._float_unary(E.Sigmoid)

    def reciprocal(self):
        return 1.0 / self

    def square(self):
        return PW.square(self)

    def expm1(self):
        return PW.unary("expm1", self)  # exp(x) - 1 would lose every digit for small x

    def sign(self):
        return PW.sign(self)

    def floor(self):
        return E.ZeroGrad.apply(self, np.floor)

    def ceil(self):
        return E.ZeroGrad.apply(self, np.ceil)

    def round(self, decimals=0):
        return PW.round_(self, decimals)

    def trunc(self):
        return E.ZeroGrad.apply(self, np.trunc)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return PW.clamp_tensor(self, min, max)
        x = self
        if self._data.dtype.kind != "f" and any(isinstance(v, float) for v in (min, max)):
            x = self._cast(_dtype.get_default_dtype())
        return E.Clamp.apply(x, min, max)

    clip = clamp

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    # --- addcmul / addcdiv (issue 11): the optimisers' fused updates, and torch's old
    #     value-first overload (``addcmul_(value, t1, t2)``, through ember/_calling.py)
    def _addc(self, fn, tensor1, tensor2, value):
        ops = [t if isinstance(t, Tensor) else _to_tensor(t) for t in (self, tensor1, tensor2)]
        dt = result_type(*ops)
        if fn is E.Addcdiv and dt.np.kind in "iub":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  release "
                "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
                ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
                "for float inputs. The future addcdiv behavior is just the latter implementation: "
                "(input + value * tensor1 / tensor2), for all dtypes.")
        shape = np.broadcast_shapes(*(t._data.shape for t in ops))
        x, a, b = (t._cast(dt) for t in ops)
        value = dt.np.type(value)                  # an integer result truncates value, as torch
        if x.shape != shape:
            x = x.expand(shape)
        return fn.apply(x, a, b, value)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return self._addc(E.Addcmul, tensor1, tensor2, value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return self._addc(E.Addcdiv, tensor1, tensor2, value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda s, a, b: s.addcmul(a, b, value=value), tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda s, a, b: s.addcdiv(a, b, value=value), tensor1, tensor2)

    # --- elementwise math (issue 11): Functions and torch's dtype rules in _ops/pointwise.py
    def tan(self):
        return PW.unary("tan", self)

    def asin(self):
        return PW.unary("asin", self)

    def acos(self):
        return PW.unary("acos", self)

    def atan(self):
        return PW.unary("atan", self)

    def sinh(self):
        return PW.unary("sinh", self)

    def cosh(self):
        return PW.unary("cosh", self)

    def asinh(self):
        return PW.unary("asinh", self)

    def acosh(self):
        return PW.unary("acosh", self)

    def atanh(self):
        return PW.unary("atanh", self)

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def exp2(self):
        return PW.unary("exp2", self)

    def erf(self):
        return PW.unary("erf", self)

    def erfc(self):
        return PW.unary("erfc", self)

    def erfinv(self):
        return PW.unary("erfinv", self)

    def lgamma(self):
        return PW.unary("lgamma", self)

    def digamma(self):
        return PW.unary("digamma", self)

    def polygamma(self, n):
        return PW.polygamma(n, self)

    def i0(self):
        return PW.unary("i0", self)

    def sinc(self):
        return PW.unary("sinc", self)

    def deg2rad(self):
        return PW.unary("deg2rad", self)

    def rad2deg(self):
        return PW.unary("rad2deg", self)

    def frac(self):
        return PW.unary("frac", self)

    def fix(self):
        return self.trunc()

    def sgn(self):
        return self.sign()

    def positive(self):
        if self._data.dtype == np.bool_:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return PW.nan_to_num(self, nan, posinf, neginf)

    def atan2(self, other):
        return PW.binary("atan2", self, other, tensor_only=True)

    arctan2 = atan2

    def hypot(self, other):
        return PW.binary("hypot", self, other, tensor_only=True, floating="hypot_cpu")

    def logaddexp(self, other):
        return PW.binary("logaddexp", self, other, tensor_only=True, floating="logaddexp_cpu")

    def logaddexp2(self, other):
        return PW.binary("logaddexp2", self, other, tensor_only=True, floating="logaddexp2_cpu")

    def xlogy(self, other):
        return PW.binary("xlogy", self, other)

    def fmod(self, other):
        return PW.divmod_like("fmod", self, other)

    def copysign(self, other):
        return PW.binary("copysign", self, other)

    def lerp(self, end, weight):
        return PW.lerp(self, end, weight)

    def float_power(self, exponent):
        return PW.float_power(self, exponent)

    def heaviside(self, values):
        return PW.heaviside(self, values)

    def signbit(self):
        return PW.signbit(self)

    def isposinf(self):
        return PW.isposinf(self)

    def isneginf(self):
        return PW.isneginf(self)

    def isreal(self):
        return PW.isreal(self)

    def bitwise_and(self, other):
        return PW.bitwise("bitwise_and", self, other)

    def bitwise_or(self, other):
        return PW.bitwise("bitwise_or", self, other)

    def bitwise_xor(self, other):
        return PW.bitwise("bitwise_xor", self, other)

    def bitwise_not(self):
        return PW.bitwise("bitwise_not", self)

    def bitwise_left_shift(self, other):
        return PW.bitwise("bitwise_left_shift", self, other)

    def bitwise_right_shift(self, other):
        return PW.bitwise("bitwise_right_shift", self, other)

    def logical_xor(self, other):
        return PW.logical_xor(self, other)

    def gcd(self, other):
        return PW.gcd_lcm("gcd", self, other)

    def lcm(self, other):
        return PW.gcd_lcm("lcm", self, other)

    def logit(self, eps=None):
        return PW.logit(self, eps)

    def logit_(self, eps=None):
        return self._inplace(lambda s: s.logit(eps))

    # in place: the out-of-place op, written back (torch refuses a float result in an int tensor)
    def tan_(self): return self._inplace(Tensor.tan)  # noqa: E704
    def asin_(self): return self._inplace(Tensor.asin)  # noqa: E704
    def acos_(self): return self._inplace(Tensor.acos)  # noqa: E704
    def atan_(self): return self._inplace(Tensor.atan)  # noqa: E704
    def sinh_(self): return self._inplace(Tensor.sinh)  # noqa: E704
    def cosh_(self): return self._inplace(Tensor.cosh)  # noqa: E704
    def asinh_(self): return self._inplace(Tensor.asinh)  # noqa: E704
    def acosh_(self): return self._inplace(Tensor.acosh)  # noqa: E704
    def atanh_(self): return self._inplace(Tensor.atanh)  # noqa: E704
    arcsin_, arccos_, arctan_, arcsinh_, arccosh_, arctanh_ = asin_, acos_, atan_, asinh_, acosh_, atanh_
    def exp2_(self): return self._inplace(Tensor.exp2)  # noqa: E704
    def expm1_(self): return self._inplace(Tensor.expm1)  # noqa: E704
    def erf_(self): return self._inplace(Tensor.erf)  # noqa: E704
    def erfc_(self): return self._inplace(Tensor.erfc)  # noqa: E704
    def erfinv_(self): return self._inplace(Tensor.erfinv)  # noqa: E704
    def lgamma_(self): return self._inplace(Tensor.lgamma)  # noqa: E704
    def digamma_(self): return self._inplace(Tensor.digamma)  # noqa: E704
    def polygamma_(self, n): return self._inplace(lambda s: s.polygamma(n))  # noqa: E704
    def i0_(self): return self._inplace(Tensor.i0)  # noqa: E704
    def sinc_(self): return self._inplace(Tensor.sinc)  # noqa: E704
    def deg2rad_(self): return self._inplace(Tensor.deg2rad)  # noqa: E704
    def rad2deg_(self): return self._inplace(Tensor.rad2deg)  # noqa: E704
    def frac_(self): return self._inplace(Tensor.frac)  # noqa: E704
    def trunc_(self): return self._inplace(Tensor.trunc)  # noqa: E704
    fix_ = trunc_
    def floor_(self): return self._inplace(Tensor.floor)  # noqa: E704
    def ceil_(self): return self._inplace(Tensor.ceil)  # noqa: E704
    def round_(self, decimals=0): return self._inplace(lambda s: s.round(decimals=decimals))  # noqa: E704
    def sign_(self): return self._inplace(Tensor.sign)  # noqa: E704
    sgn_ = sign_
    def square_(self): return self._inplace(Tensor.square)  # noqa: E704
    def rsqrt_(self): return self._inplace(Tensor.rsqrt)  # noqa: E704
    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):  # noqa: E704
        return self._inplace(lambda s: s.nan_to_num(nan, posinf, neginf))
    def atan2_(self, other): return self._inplace(Tensor.atan2, other)  # noqa: E704
    arctan2_ = atan2_
    def hypot_(self, other): return self._inplace(Tensor.hypot, other)  # noqa: E704
    def xlogy_(self, other): return self._inplace(Tensor.xlogy, other)  # noqa: E704
    def fmod_(self, other): return self._inplace(Tensor.fmod, other)  # noqa: E704
    def copysign_(self, other): return self._inplace(Tensor.copysign, other)  # noqa: E704
    def lerp_(self, end, weight): return self._inplace(Tensor.lerp, end, weight)  # noqa: E704
    def float_power_(self, exponent):  # noqa: E704
        PW.check_float_power_base(self)
        return self._inplace(Tensor.float_power, exponent)
    def heaviside_(self, values): return self._inplace(Tensor.heaviside, values)  # noqa: E704
    def bitwise_and_(self, other): return self._inplace(Tensor.bitwise_and, other)  # noqa: E704
    def bitwise_or_(self, other): return self._inplace(Tensor.bitwise_or, other)  # noqa: E704
    def bitwise_xor_(self, other): return self._inplace(Tensor.bitwise_xor, other)  # noqa: E704
    def bitwise_not_(self): return self._inplace(Tensor.bitwise_not)  # noqa: E704
    def bitwise_left_shift_(self, other): return self._inplace(Tensor.bitwise_left_shift, other)  # noqa: E704
    def bitwise_right_shift_(self, other): return self._inplace(Tensor.bitwise_right_shift, other)  # noqa: E704
    def logical_xor_(self, other): return self._inplace(Tensor.logical_xor, other)  # noqa: E704
    def gcd_(self, other): return self._inplace(Tensor.gcd, other)  # noqa: E704
    def lcm_(self, other): return self._inplace(Tensor.lcm, other)  # noqa: E704
    def sin_(self): return self._inplace(Tensor.sin)  # noqa: E704
    def cos_(self): return self._inplace(Tensor.cos)  # noqa: E704
    def log1p_(self): return self._inplace(Tensor.log1p)  # noqa: E704
    def log2_(self): return self._inplace(Tensor.log2)  # noqa: E704
    def log10_(self): return self._inplace(Tensor.log10)  # noqa: E704
    def reciprocal_(self): return self._inplace(Tensor.reciprocal)  # noqa: E704
    def true_divide_(self, other): return self._inplace(Tensor.true_divide, other)  # noqa: E704
    def logical_and_(self, other): return self._inplace(Tensor.logical_and, other)  # noqa: E704
    def logical_or_(self, other): return self._inplace(Tensor.logical_or, other)  # noqa: E704
    def logical_not_(self): return self._inplace(Tensor.logical_not)  # noqa: E704
    def negative_(self): return self.neg_()  # noqa: E704
    def absolute_(self): return self.abs_()  # noqa: E704

    def relu(self):
        return A.relu(self)

    def softmax(self, dim, dtype=None):
        return A.softmax(self, dim, dtype)

    def log_softmax(self, dim, dtype=None):
        return A.softmax(self, dim, dtype, log=True)

    def where(self, condition, other):
        return where(condition, self, other)

    def masked_fill(self, mask, value):
        mask = _unwrap(mask)
        if np.asarray(mask).dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{from_numpy_dtype(np.asarray(mask).dtype)}")
        value = _unwrap(value)
        if np.ndim(value) != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {np.ndim(value)} dimension(s).")
        _check_broadcast(np.shape(mask), self._data.shape)
        return I.MaskedFill.apply(self, mask, value)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None):
        axes = normalize_dims(dim, self.ndim)
        np_dt = as_dtype(dtype).np if dtype is not None else (
            np.int64 if self._data.dtype.kind in "iub" else None)
        return R.Sum.apply(self, axes, keepdim, np_dt)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                               f"floating point or complex dtype. Got: {_dtype.scalar_type_name(x.dtype)}")
        return R.Mean.apply(x, normalize_dims(dim, x.ndim), keepdim)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        axis = None if dim is None else normalize_dim(dim, x.ndim)
        return R.Prod.apply(x, axis, keepdim)

    def _max_min(self, is_max, dim, keepdim):
        if dim is None:
            return R.AmaxAmin.apply(self, tuple(range(self.ndim)), False, is_max)
        if isinstance(dim, Tensor):
            return self.maximum(dim) if is_max else self.minimum(dim)
        axis = normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return (_ReturnMax if is_max else _ReturnMin)(self.clone(), Tensor._wrap(np.array(0)))
        values, indices = R.MaxMinDim.apply(self, axis, keepdim, is_max)
        return (_ReturnMax if is_max else _ReturnMin)(values, indices)

    def max(self, dim=None, keepdim=False):
        return self._max_min(True, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return self._max_min(False, dim, keepdim)

    def amax(self, dim=(), keepdim=False):
        return R.AmaxAmin.apply(self, normalize_dims(dim, self.ndim), keepdim, True, "amax")

    def amin(self, dim=(), keepdim=False):
        return R.AmaxAmin.apply(self, normalize_dims(dim, self.ndim), keepdim, False, "amin")

    def argmax(self, dim=None, keepdim=False):
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        if dim is None:
            a = self._data.reshape(-1)
            idx = R._nan_aware_arg(a, 0, fn is np.argmax)
            out = np.asarray(idx, dtype=np.int64)
            return Tensor._wrap(out.reshape((1,) * self.ndim) if keepdim else out)
        axis = normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return Tensor._wrap(np.array(0, dtype=np.int64))
        idx = R._nan_aware_arg(self._data, axis, fn is np.argmax).astype(np.int64)
        return Tensor._wrap(np.expand_dims(idx, axis) if keepdim else idx)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        correction = _correction(unbiased, correction)
        if self._data.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        return R.Var.apply(self, normalize_dims(dim, self.ndim), correction, keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ST.StdFromVar.apply(self.var(dim, unbiased, keepdim, correction=correction))

    def logsumexp(self, dim, keepdim=False):
        x = self if self._data.dtype.kind == "f" else self._cast(_dtype.get_default_dtype())
        return R.LogSumExp.apply(x, normalize_dims(dim, self.ndim), keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                               f"input. Got {_dtype.scalar_type_name(x.dtype)}")
        if p in ("fro", None):
            p = 2
        elif p == "nuc":
            raise NotImplementedError("nuclear norm is not supported by ember")
        return R.Norm.apply(x, float(p), normalize_dims(dim, x.ndim), keepdim)

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(np.any(self._data, axis=None if dim is None else normalize_dims(dim, self.ndim),
                                   keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(np.all(self._data, axis=None if dim is None else normalize_dims(dim, self.ndim),
                                   keepdims=keepdim))

    def count_nonzero(self, dim=None):
        axes = None if dim is None else normalize_dims(dim, self.ndim)
        return Tensor._wrap(np.asarray(np.count_nonzero(self._data, axis=axes), dtype=np.int64))

    def cumsum(self, dim, *, dtype=None):
        return (self.to(dtype) if dtype is not None else self)._scan(R.CumSum.apply, dim)

    # ------------------------------------------------------------------ sorting
    def sort(self, dim=-1, descending=False, stable=False):
        axis = normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return _ReturnSort(self.clone(), Tensor._wrap(np.array(0, dtype=np.int64)))
        idx = _argsort(self._data, axis, descending)
        return _ReturnSort(I.TakeAlong.apply(self, axis, idx), Tensor._wrap(idx))

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        axis = normalize_dim(dim, self.ndim)
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError("selected index k out of range")
        if self.ndim == 0:  # k is 0 or 1 here; torch returns the element either way
            return _ReturnTopk(self.clone(), Tensor._wrap(np.array(0, np.int64)))
        if self._data.dtype == np.bool_:
            raise RuntimeError("topk does not support bool dtypes on CPU")
        idx = ST.topk_index(self._data, axis, k, largest, sorted)  # ties in torch's order
        return _ReturnTopk(I.TopKValues.apply(self, axis, idx), Tensor._wrap(idx))

    # --- reductions, scans, sorting and statistics (issue 11)
    def _scan(self, fn, dim):
        # a 0-d tensor scans as a 1-element vector (torch accepts dim 0 / -1)
        axis = normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            out = fn(self.reshape(1), 0)
            return type(out)(*(o.reshape(()) for o in out)) if isinstance(out, tuple) else out.reshape(())
        return fn(self, axis)

    def _integral_to_long(self, dtype):
        if dtype is not None:
            return self.to(dtype)
        return self._cast(_dtype.int64) if self._data.dtype.kind in "iub" else self

    def cumprod(self, dim, *, dtype=None):
        return self._integral_to_long(dtype)._scan(ST.CumProd.apply, dim)

    def cummax(self, dim):
        return self._scan(lambda x, axis: ST.RETURN_TYPES["cummax"](*ST.CumMaxMin.apply(x, axis, True)), dim)

    def cummin(self, dim):
        return self._scan(lambda x, axis: ST.RETURN_TYPES["cummin"](*ST.CumMin.apply(x, axis, False)), dim)

    def logcumsumexp(self, dim):
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                      f"'{_dtype.scalar_type_name(self.dtype)}'")
        return self._scan(ST.LogCumSumExp.apply, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise RuntimeError(f"order must be non-negative but got {n}")
        axis = normalize_dim(dim, self.ndim)
        parts = [p for p in (prepend, self, append) if p is not None]
        for p in parts:
            if isinstance(p, Tensor) and p.ndim != self.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        if len(parts) > 1:
            from ._ops.joins import cat
            x = cat(parts, axis)
        else:
            x = self
        for _ in range(n):  # one pass per order n (not per element)
            length = x.shape[axis]
            if length == 0:
                break
            hi, lo = x.narrow(axis, 1, length - 1), x.narrow(axis, 0, length - 1)
            x = (hi != lo) if x._data.dtype == np.bool_ else hi - lo  # bool: xor
        return x

    def _select_along(self, kind, dim, keepdim, choose):
        """(values, indices) of the element ``choose(array, axis)`` picks along ``dim``."""
        axis = normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return ST.RETURN_TYPES[kind](self.clone(), Tensor._wrap(np.array(0, np.int64)))
        if self.shape[axis] == 0:
            raise IndexError(f"{kind}(): Expected reduction dim {axis} to have non-zero size.")
        idx = choose(self._data, axis)
        values = I.TakeAlong.apply(self, axis, idx)
        if not keepdim:
            values, idx = values.squeeze(axis), np.squeeze(idx, axis)
        return ST.RETURN_TYPES[kind](values, Tensor._wrap(idx))

    def _median(self, kind, dim, keepdim, ignore_nan):
        if dim is None:
            flat = self._data.reshape(-1)
            if flat.size == 0:
                return Tensor._wrap(np.array(np.nan, self._data.dtype))
            value = flat[ST.median_index(flat, 0, ignore_nan)[0]]
            return (ST.NanEvenlySelected if ignore_nan else ST.EvenlySelected).apply(self, value)
        return self._select_along(kind, dim, keepdim, lambda a, axis: ST.median_index(a, axis, ignore_nan))

    def median(self, dim=None, keepdim=False):
        return self._median("median", dim, keepdim, False)

    def nanmedian(self, dim=None, keepdim=False):
        return self._median("nanmedian", dim, keepdim, True)

    def kthvalue(self, k, dim=-1, keepdim=False):
        axis = normalize_dim(dim, self.ndim)
        if not 1 <= k <= (self.shape[axis] if self.ndim else 1):
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
        return self._select_along("kthvalue", dim, keepdim, lambda a, ax: ST.kth_index(a, ax, k))

    def mode(self, dim=-1, keepdim=False):
        return self._select_along("mode", dim, keepdim, ST.mode_index)

    def _quantile(self, q, dim, keepdim, interpolation, ignore_nan):
        x = self._check_quantile(q, interpolation)
        qa = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=x._data.dtype)
        if qa.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if qa.size and not ((qa >= 0) & (qa <= 1)).all():
            raise RuntimeError(f"quantile() q values must be in the range [0, 1]" if qa.ndim else
                               f"quantile() q must be in the range [0, 1] but got {float(qa)}")
        keep_shape = (1,) * x.ndim if dim is None or x.ndim == 0 else None
        x = x.reshape(-1) if dim is None or x.ndim == 0 else x
        axis = 0 if dim is None or self.ndim == 0 else normalize_dim(dim, x.ndim)
        low, high, weight = ST.quantile_positions(x._data, qa, axis, ignore_nan, interpolation)
        order = ST.sorted_index(x._data, axis)[None]
        stacked = x.unsqueeze(0).expand(qa.size, *x.shape)
        lo = I.TakeAlong.apply(stacked, axis + 1, np.take_along_axis(order, low, axis + 1))
        hi = I.TakeAlong.apply(stacked, axis + 1, np.take_along_axis(order, high, axis + 1))
        w = Tensor._wrap(np.broadcast_to(weight, lo.shape).astype(x._data.dtype))
        # torch's lerp: from the nearer end, so that weight 1 gives exactly ``hi``
        out = where(w < 0.5, lo + (hi - lo) * w, hi - (hi - lo) * (1 - w))
        if keep_shape is not None:
            out = out.reshape(qa.size, *(keep_shape if keepdim else ()))
        elif not keepdim:
            out = out.squeeze(axis + 1)
        return out.squeeze(0) if qa.ndim == 0 else out

    def _check_quantile(self, q, interpolation):
        if self._data.dtype.kind != "f":
            raise RuntimeError("quantile() input tensor must be either float or double dtype")
        if self.numel() == 0:
            raise RuntimeError("quantile() input tensor must be non-empty")
        if isinstance(q, Tensor) and q.dtype != self.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
            raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, "
                               f"midpoint or nearest, but got {interpolation}")
        return self

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return self._quantile(q, dim, keepdim, interpolation, False)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return self._quantile(q, dim, keepdim, interpolation, True)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        x = self.masked_fill(self.isnan(), 0) if self._data.dtype.kind == "f" else self
        return x.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                               f"but got {_dtype.scalar_type_name(x.dtype)}")
        count = x.isnan().logical_not().sum(dim, keepdim)
        return x.nansum(dim, keepdim) / count

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        # torch's CPU unique sorts even when sorted=False
        axis = None if dim is None else normalize_dim(dim, self.ndim)
        a = self._data
        # torch keeps every NaN apart (NaN != NaN)
        values, inverse, counts = np.unique(a.reshape(-1) if axis is None else a, return_inverse=True,
                                            return_counts=True, axis=axis, equal_nan=False)
        inverse = inverse.reshape(a.shape if axis is None else (a.shape[axis],))
        return _unique_result(values, inverse, counts, return_inverse, return_counts)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        axis = None if dim is None else normalize_dim(dim, self.ndim)
        values, inverse, counts = ST.unique_consecutive(self._data, axis, return_inverse, return_counts)
        return _unique_result(values, inverse, counts, return_inverse, return_counts)

    def bincount(self, weights=None, minlength=0):
        a = self._data
        if a.dtype.kind not in "iu":
            raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                      f"'{_dtype.scalar_type_name(self.dtype)}'")
        if a.ndim != 1 or (a.size and a.min() < 0):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        w = None if weights is None else np.asarray(_unwrap(weights))
        if w is not None and (w.ndim != 1 or w.shape[0] != a.shape[0]):
            raise RuntimeError("weights should be 1-d and have the same length as input")
        out = np.bincount(a, weights=w, minlength=minlength)
        dt = np.int64 if w is None else (np.float32 if w.dtype == np.float32 else np.float64)
        return Tensor._wrap(out.astype(dt, copy=False))

    def histc(self, bins=100, min=0, max=0):
        a = self._data
        if a.dtype.kind != "f":
            raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                      f"'{_dtype.scalar_type_name(self.dtype)}'")
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        lo, hi = float(min), float(max)
        if lo > hi:
            raise RuntimeError("torch.histc: max must be larger than min")
        if lo == hi and a.size:
            lo, hi = float(a.min()), float(a.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
        if lo == hi:  # torch widens an empty range by one on each side
            lo, hi = lo - 1, hi + 1
        return Tensor._wrap(ST.histc(a, int(bins), lo, hi))

    def msort(self):
        return self.sort(dim=0).values

    def aminmax(self, *, dim=None, keepdim=False):
        if self.numel() == 0 and (dim is None or self.shape[normalize_dim(dim, self.ndim)] == 0):
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        if dim is None:
            dims = tuple(range(self.ndim))
            mn, mx = self.amin(dims, keepdim), self.amax(dims, keepdim)
        else:
            mn, mx = self.amin(dim, keepdim), self.amax(dim, keepdim)
        return ST.RETURN_TYPES["aminmax"](mn, mx)

    def dist(self, other, p=2):
        return (self - other).norm(p)

    def renorm(self, p, dim, maxnorm):
        if p <= 0:
            raise RuntimeError("renorm: non-positive-norm not supported")
        if maxnorm < 0:
            raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
        if self.ndim < 2:
            raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {self.ndim} dimensions")
        axis = normalize_dim(dim, self.ndim)
        others = tuple(d for d in range(self.ndim) if d != axis)
        norm = self.norm(p, others, keepdim=True)
        # torch scales by maxnorm / (norm + 1e-7) the slices whose norm exceeds maxnorm
        factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), Tensor._wrap(np.ones((), self._data.dtype)))
        return self * factor

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        shape = _infer_shape(_as_shape(shape), self._data.size)
        if shape == self._data.shape:
            return S.ReshapeView.apply(self, shape)
        fn = S.ReshapeView if _can_view(self._data, shape) else S.Reshape
        return fn.apply(self, shape)

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (_dtype.dtype, type, str)):
            raise NotImplementedError("view(dtype) is not supported by ember")
        return S.View.apply(self, _infer_shape(_as_shape(shape), self._data.size))

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_dim(start_dim, self.ndim)
        e = normalize_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shp = self.shape
        return self.reshape(shp[:s] + (int(np.prod(shp[s:e + 1])),) + shp[e + 1:])

    def unflatten(self, dim, sizes):
        d = normalize_dim(dim, self.ndim)
        sizes = tuple(int(s) for s in sizes)
        if not sizes:
            raise RuntimeError("unflatten: sizes must be non-empty")
        if sizes.count(-1) > 1:
            raise RuntimeError("unflatten got an unexpected error:\nonly one dimension can be inferred")
        known = int(np.prod([s for s in sizes if s != -1]))
        if -1 in sizes and known and self.shape[d] % known == 0:  # else the message below
            sizes = tuple(self.shape[d] // known if s == -1 else s for s in sizes)
        if int(np.prod(sizes)) != self.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                               f"size of dim {dim} ({self.shape[d]}) in the input tensor")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def permute(self, *dims):
        dims = _as_shape(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                               f"not match the length of the desired ordering of dimensions i.e. "
                               f"input.dim() = {self.ndim} is not equal to len(dims) = {len(dims)}")
        axes = tuple(normalize_dim(d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return S.Permute.apply(self, axes)

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            return self
        a, b = normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim)
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return S.Transpose.apply(self, tuple(axes))

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            axes = normalize_dims(dim, self.ndim) if self.ndim else ()
            shape = tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        return S.ReshapeView.apply(self, shape)

    def unsqueeze(self, dim):
        d = normalize_dim(dim, self.ndim + 1)
        shp = self.shape
        return S.ReshapeView.apply(self, shp[:d] + (1,) + shp[d:])

    def expand(self, *sizes):
        sizes = _as_shape(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(ember.{self.dtype.name}{{{list(self.shape)}}}, size={list(sizes)}): "
                               f"the number of sizes provided ({len(sizes)}) must be greater or equal "
                               f"to the number of dimensions in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = []
        for i, s in enumerate(sizes):
            cur = self.shape[i - lead] if i >= lead else None
            if s == -1:
                if cur is None:
                    raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a "
                                       "leading, non-existing dimension 0")
                s = cur
            elif cur is not None and cur != 1 and cur != s:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                                   f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                                   f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
            target.append(s)
        return S.Expand.apply(self, tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *sizes):
        reps = _as_shape(sizes)
        if len(reps) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                               "of dimensions of tensor")
        return S.Repeat.apply(self, reps)

    def flip(self, *dim_args, dims=None):
        if dims is None and not dim_args:  # flip() would otherwise flip every dim
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        dims = _as_shape(dim_args if dims is None else (dims,))
        return S.Flip.apply(self, normalize_dims(dims, self.ndim))

    def roll(self, shifts, dims=None):
        shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
        dims = () if dims is None else (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if not dims and len(shifts) == 1:  # torch rolls the flattened tensor
            return S.Roll.apply(self.flatten(), shifts[0], None).view(self.shape)
        if len(shifts) != len(dims):  # NumPy would broadcast one against the other
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        return S.Roll.apply(self, shifts, tuple(normalize_dim(d, self.ndim) for d in dims))

    def split(self, split_size, dim=0):
        if self.ndim == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        axis = normalize_dim(dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size, (int, np.integer)):
            if split_size < 0:
                raise RuntimeError(f"split expects split_size be non-negative, but got "
                                   f"split_size={split_size}")
            if split_size == 0 and n > 0:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {n}")
            sizes = [0] if split_size == 0 else \
                [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
        else:
            sizes = list(split_size)
            if builtins.any(s < 0 for s in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                                   f"entries, but got split_sizes={sizes}")
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                                   f"(input tensor's size at dimension {dim}), but got "
                                   f"split_sizes={sizes}")
        return S.Split.apply(self, sizes, axis)

    def chunk(self, chunks, dim=0):
        if self.ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
        n = self.shape[normalize_dim(dim, self.ndim)]
        if n == 0:  # torch gives `chunks` empty parts
            return S.Split.apply(self, [0] * chunks, normalize_dim(dim, self.ndim))
        return self.split(-(-n // chunks), dim)

    def unbind(self, dim=0):
        if self.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        axis = normalize_dim(dim, self.ndim)
        return tuple(p.squeeze(axis) for p in self.split(1, axis))

    def narrow(self, dim, start, length):
        # torch's checks, in torch's order: a slice would silently clip what torch rejects
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        if isinstance(start, Tensor):
            if start.ndim or start._data.dtype.kind not in "iu":
                raise RuntimeError("start must be an 0-dim integral Tensor.")
            start = int(start.item())
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        axis = normalize_dim(dim, self.ndim)
        n = self._data.shape[axis]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], "
                             f"but got {start})")
        start = start + n if start < 0 else start
        if start > n - length:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        idx = [slice(None)] * self.ndim
        idx[axis] = slice(start, start + length)
        return self[tuple(idx)]

    def select(self, dim, index):
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        axis = normalize_dim(dim, self.ndim)
        index = operator.index(index)
        if not -self._data.shape[axis] <= index < self._data.shape[axis]:
            raise IndexError(f"select(): index {index} out of range for tensor of size "
                             f"{list(self._data.shape)} at dimension {axis}")
        idx = [slice(None)] * self.ndim
        idx[axis] = index
        return self[tuple(idx)]

    # --- shape (issue 11): composed from the basic shape ops in _ops/rearrange.py
    def movedim(self, source, destination):
        return RA.movedim(self, source, destination)

    moveaxis = movedim

    def rot90(self, k=1, dims=(0, 1)):
        return RA.rot90(self, k, dims)

    def fliplr(self):
        return RA.fliplr(self)

    def flipud(self):
        return RA.flipud(self)

    def tile(self, *dim_args, dims=None):
        return RA.tile(self, _as_shape(dim_args if dims is None else (dims,)))

    # (torch's keyword names are those of its overloads: sections=, indices=,
    # tensor_indices_or_sections=)
    def tensor_split(self, indices_or_sections=None, dim=0, **overload):
        return RA.tensor_split(self, RA.split_argument("tensor_split", indices_or_sections, overload), dim)

    def hsplit(self, indices_or_sections=None, **overload):
        return RA.hsplit(self, RA.split_argument("hsplit", indices_or_sections, overload))

    def vsplit(self, indices_or_sections=None, **overload):
        return RA.vsplit(self, RA.split_argument("vsplit", indices_or_sections, overload))

    def dsplit(self, indices_or_sections=None, **overload):
        return RA.dsplit(self, RA.split_argument("dsplit", indices_or_sections, overload))

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return RA.repeat_interleave(self, repeats, dim, output_size)

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, idx):
        if type(idx) is int:  # the DataLoader's per-sample path: keep it short
            shape = self._data.shape
            if not shape or not -shape[0] <= idx < shape[0]:
                _check_basic_index(shape, idx)
            return I.Select.apply(self, idx)
        idx = _convert_index(idx)
        if I.is_basic_index(idx):
            _check_basic_index(self._data.shape, idx)
            return I.Select.apply(self, idx)
        from ._indexing import _check_advanced_index  # (issue 11, G3: torch's messages)
        _check_advanced_index(self._data.shape, idx)
        try:
            return I.Index.apply(self, idx)
        except IndexError as e:
            raise IndexError(str(e)) from None

    def __setitem__(self, idx, value):
        _refuse_byte_mask_fill(self._data.shape, idx, value)
        idx = _convert_index(idx)
        from ._indexing import _check_advanced_index  # (issue 11, G3: torch's messages)
        (_check_basic_index if I.is_basic_index(idx) else _check_advanced_index)(self._data.shape, idx)
        value = _unwrap(value) if not isinstance(value, Tensor) else value
        if isinstance(value, Tensor):
            if value.dtype is not self.dtype:
                value = value._cast(self.dtype)
        elif isinstance(value, (list, tuple, np.ndarray)):
            value = np.asarray(value, dtype=self._data.dtype)
        self._inplace(lambda s, v: I.IndexPut.apply(s, idx, v), value)

    def gather(self, dim, index, *, sparse_grad=False):
        if sparse_grad:  # the gradient would be a sparse COO tensor, which ember lacks
            raise NotImplementedError("gather(sparse_grad=True) is not supported by ember (no "
                                      "sparse tensors); the default dense gradient has the same values")
        idx = _index_array(index, "gather")
        if self.ndim == 0 or idx.ndim == 0:  # torch treats a 0-d tensor as 1-d here
            if builtins.max(self.ndim, idx.ndim) > 1:
                raise RuntimeError("Index tensor must have the same number of dimensions as "
                                   "input tensor")
            normalize_dim(dim, 1)
            return self.reshape(-1).gather(0, idx.reshape(-1)).reshape(idx.shape)
        axis = normalize_dim(dim, self.ndim)
        if idx.size == 0:  # torch checks no shape for an empty index
            return self.reshape(-1)[:0].reshape(idx.shape)
        if idx.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        for d in range(self.ndim):
            if d != axis and idx.shape[d] > self._data.shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(idx.shape)} to be no larger than self "
                                   f"{list(self._data.shape)} apart from dimension {axis}")
        _check_index_range(idx, self._data.shape[axis], axis)
        return I.Gather.apply(self, axis, idx)

    def take_along_dim(self, indices, dim=None):
        """torch's take_along_dim: int64 indices, negative ones wrap, broadcasting apart from
        ``dim``; ``dim=None`` reads the flattened tensor."""
        idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
        if idx.dtype != np.int64:
            raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                               f"{_dtype.scalar_type_name(from_numpy_dtype(idx.dtype))}")
        if dim is None:  # torch gathers from the flat tensor: no wrapping of negative indices
            return self.reshape(-1).gather(0, idx.reshape(-1))
        axis = normalize_dim(dim, self.ndim)
        if idx.ndim != self.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                               f"number of dimensions, but got {self.ndim} dimensions for input, "
                               f"and {idx.ndim} dimensions for indices")
        n = self._data.shape[axis]
        _check_index_range(idx, n, axis, lowest=-n)
        idx = np.where(idx < 0, idx + n, idx)
        shape_self, shape_idx = list(self._data.shape), list(idx.shape)
        shape_self[axis] = shape_idx[axis] = 1
        _check_broadcast(shape_self, shape_idx)
        common = list(np.broadcast_shapes(tuple(shape_self), tuple(shape_idx)))
        common[axis] = self._data.shape[axis]
        src = self.expand(*common)
        common[axis] = idx.shape[axis]
        return src.gather(axis, np.broadcast_to(idx, common))

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        if src is None:
            src = value
        idx = _index_array(index, "scatter")
        if isinstance(src, Tensor) and src.dtype is not self.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if reduce is not None and reduce is not SA.SCATTER_ADD and reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if self.ndim == 0 or idx.ndim == 0:  # torch treats a 0-d tensor as 1-d here
            if builtins.max(self.ndim, idx.ndim) > 1:
                raise RuntimeError("Index tensor must have the same number of dimensions as self "
                                   "tensor")
            normalize_dim(dim, 1)
            src1 = src.reshape(-1) if isinstance(src, Tensor) else src
            return self.reshape(-1).scatter(0, idx.reshape(-1), src1, reduce=reduce) \
                .reshape(self.shape)
        axis = normalize_dim(dim, self.ndim)
        if idx.size == 0:  # torch checks nothing and writes nothing
            return self.clone()
        if isinstance(src, Tensor) and src.ndim == 0 and idx.ndim > 1:
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        _check_scatter_shapes(self._data.shape, axis, idx.shape,
                              src._data.shape if isinstance(src, Tensor) else None)
        _check_index_range(idx, self._data.shape[axis], axis)
        if reduce in ("add", "multiply"):  # torch's legacy reduce: no derivative
            return SA.scatter_legacy_reduce(self, axis, idx, src, reduce)
        return I.Scatter.apply(self, axis, idx, src, reduce is not None)

    def scatter_add(self, dim, index, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not "
                            f"{type(src).__name__}")
        return self.scatter(dim, index, src, reduce=SA.SCATTER_ADD)

    def index_select(self, dim, index):
        idx = _index_array(index, "index_select", "int32 or int64")
        if idx.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        if self.ndim == 0:
            normalize_dim(dim, 1)
            if idx.size and (idx.min() < 0 or idx.max() >= 1):
                raise IndexError("index out of range in self")
            return self.reshape(-1)[idx.reshape(-1)].reshape(()) if idx.size else \
                self.reshape(-1)[idx.reshape(-1)]
        axis = normalize_dim(dim, self.ndim)
        n = self._data.shape[axis]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx.min() if idx.min() < 0 else idx.max()
            # torch's two kernels word it differently: dim 1 goes through the one that names
            # the element, every other dim through the one that does not
            if axis == 1:
                raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
            raise IndexError("index out of range in self")
        full = [slice(None)] * self.ndim
        full[axis] = idx.reshape(-1)
        return self[tuple(full)]

    def masked_select(self, mask):
        m = np.asarray(_unwrap(mask))
        if m.dtype != np.bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        if m.shape == self._data.shape:
            return self[m]
        _check_broadcast(m.shape, self._data.shape)  # torch names the mask 'tensor a'
        shape = np.broadcast_shapes(self._data.shape, m.shape)
        return self.expand(*shape)[np.broadcast_to(m, shape)]

    def nonzero(self, *, as_tuple=False):
        nz = np.nonzero(self._data)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(np.int64)) for i in nz)
        return Tensor._wrap(np.stack(nz, axis=1).astype(np.int64) if nz else np.zeros((0, 0), np.int64))

    # --- indexing and scatter (issue 11): checks in _ops/scatter_api.py, Functions in _ops/scatter.py
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return SA.scatter_reduce(self, dim, index, src, reduce, include_self)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._inplace(lambda s: SA.scatter_reduce(s, dim, index, src, reduce, include_self))

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._inplace(lambda s: s.scatter(dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim, index, src):
        return self._inplace(lambda s: s.scatter_add(dim, index, src))

    def index_add(self, dim, index, source, *, alpha=1):
        return SA.index_add(self, dim, index, source, alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(lambda s: SA.index_add(s, dim, index, source, alpha))

    def index_copy(self, dim, index, source):
        return SA.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._inplace(lambda s: SA.index_copy(s, dim, index, source))

    def index_fill(self, dim, index, value):
        return SA.index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value):
        return self._inplace(lambda s: SA.index_fill(s, dim, index, value))

    def index_put(self, indices, values, accumulate=False):
        return SA.index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        return self._inplace(lambda s: SA.index_put(s, indices, values, accumulate))

    def masked_scatter(self, mask, source):
        return SA.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        return self._inplace(lambda s: SA.masked_scatter(s, mask, source, inplace=True))

    def take(self, index):
        return SA.take(self, index)

    def put(self, index, source, accumulate=False):
        return SA.put(self, index, source, accumulate)

    def put_(self, index, source, accumulate=False):
        return self._inplace(lambda s: SA.put(s, index, source, accumulate))

    # ------------------------------------------------------------------ in place
    def _inplace_arith(self, ufunc, other, slow, alpha=1):
        """``self (ufunc)= alpha * other`` straight into this tensor's memory when nothing
        records and the operands are floating: the optimiser's update (``p.add_(g, alpha=-lr)``,
        ``p -= lr * g``) then allocates nothing, as torch's in-place kernels. Anything else
        (a graph to record, casting checks, integer rules) goes through ``_inplace(slow, other)``."""
        a = self._data
        fast = a.dtype.kind == "f" and a.flags.writeable and not (
            grad_mode.modes.grad_enabled and self._requires_grad)
        if fast and isinstance(other, Tensor):
            o = other._data
            fast = not other._requires_grad and o.dtype.kind == "f" and (
                o.shape == a.shape or np.broadcast_shapes(a.shape, o.shape) == a.shape)
        elif fast:
            o = other
            fast = type(other) in (float, int)
        if not fast:
            return self._inplace(slow, other)
        if ufunc is np.add:
            _elementwise_kernels.add_scaled_(a, o, alpha)
        elif ufunc is np.subtract:
            _elementwise_kernels.add_scaled_(a, o, -alpha)
        else:
            ufunc(a, o, out=a, casting="same_kind")
        self._vbox[0] += 1
        return self

    def _inplace(self, fn, *args):
        """Run ``fn(self, *args)`` out of place, then write the result into this tensor's memory.

        When autograd records, the op is applied to a copy of the old value (which the new graph
        node may save) and this tensor takes over the node as its grad_fn, as torch rebases it;
        on a view, the base's graph is rebased instead (see ``_rebase_view``).
        """
        grad_on = grad_mode.modes.grad_enabled
        if grad_on and self._requires_grad:
            _check_inplace_on_leaf(self)
        record = grad_on and (self._requires_grad or builtins.any(
            isinstance(a, Tensor) and a._requires_grad for a in args))
        if record:
            geometry = None if self._base is None else V.view_geometry(self._base._data, self._data)
            old = Tensor._wrap(self._data.copy(), self._requires_grad)
            old.grad_fn, old._out_idx, old._accumulator = self.grad_fn, self._out_idx, self._accumulator
            out = fn(old, *args)
        else:
            with grad_mode.no_grad():
                out = fn(self, *args)
        self._write_result(out._data)
        if record and out.grad_fn is None:  # an op without a derivative (//, %, bitwise)
            self.grad_fn, self._requires_grad = None, False
        elif record and self._base is None:
            self.grad_fn, self._out_idx, self._requires_grad = out.grad_fn, out._out_idx, True
        elif record:
            self._rebase_view(out, geometry)
        self._vbox[0] += 1
        return self

    def _write_result(self, res):
        """Copy an in-place op's result into this tensor's memory, with torch's casting rule."""
        if res.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(res.shape)}")
        if res.dtype != self._data.dtype:
            if not np.can_cast(res.dtype, self._data.dtype, "same_kind") or \
                    (res.dtype.kind == "f" and self._data.dtype.kind in "iub"):
                raise RuntimeError(f"result type {_dtype.scalar_type_name(from_numpy_dtype(res.dtype))} can't be "
                                   f"cast to the desired output type {_dtype.scalar_type_name(self.dtype)}")
        np.copyto(self._data, res, casting="unsafe")

    def _rebase_view(self, out, geometry):
        """After an in-place op on a view, as torch: the base's grad_fn becomes CopySlices (the
        view's region takes its gradient from ``out``, the rest passes to the old base), and the
        view's grad_fn becomes AsStridedBackward0 of the new base."""
        base = self._base
        old_base = Tensor._wrap(base._data, base._requires_grad)
        old_base.grad_fn, old_base._out_idx = base.grad_fn, base._out_idx
        old_base._accumulator = base._accumulator
        new_base = V.CopySlices.apply(old_base, out, geometry)
        base.grad_fn, base._out_idx, base._requires_grad = new_base.grad_fn, 0, True
        view = V.AsStrided.apply(base, geometry)
        self.grad_fn, self._out_idx, self._requires_grad = view.grad_fn, 0, True

    # ``x += y`` and friends write into x, as torch's (one path: the out-of-place operator, then
    # ``_inplace``). torch has no ``__imatmul__``: ``x @= y`` rebinds x to a new tensor there too.
    def __iadd__(self, other):
        return self._inplace_arith(np.add, other, Tensor.__add__)

    def __isub__(self, other):
        return self._inplace_arith(np.subtract, other, Tensor.__sub__)

    def __imul__(self, other):
        return self._inplace_arith(np.multiply, other, Tensor.__mul__)

    def __itruediv__(self, other):
        return self._inplace_arith(np.true_divide, other, Tensor.__truediv__)

    def __ifloordiv__(self, other):
        return self._inplace(Tensor.__floordiv__, other)

    def __imod__(self, other):
        return self._inplace(Tensor.__mod__, other)

    def __ipow__(self, other):
        return self._inplace(Tensor.__pow__, other)

    def __iand__(self, other):
        return self._inplace(Tensor.__and__, other)

    def __ior__(self, other):
        return self._inplace(Tensor.__or__, other)

    def __ixor__(self, other):
        return self._inplace(Tensor.__xor__, other)

    def __ilshift__(self, other):
        return self._inplace(Tensor.__lshift__, other)

    def __irshift__(self, other):
        return self._inplace(Tensor.__rshift__, other)

    def add_(self, other, *, alpha=1):
        return self._inplace_arith(np.add, other, lambda s, o: s.add(o, alpha=alpha), alpha)

    def sub_(self, other, *, alpha=1):
        return self._inplace_arith(np.subtract, other, lambda s, o: s.sub(o, alpha=alpha), alpha)

    def mul_(self, other):
        return self._inplace_arith(np.multiply, other, lambda s, o: s * o)

    def div_(self, other, *, rounding_mode=None):
        return self._inplace(lambda s, o: s.div(o, rounding_mode=rounding_mode), other)

    def pow_(self, exponent):
        return self._inplace(lambda s, o: s ** o, exponent)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda s: s.clamp(min, max))

    clip_ = clamp_

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def neg_(self):
        return self._inplace(lambda s: -s)

    def abs_(self):
        return self._inplace(lambda s: s.abs())

    def exp_(self):
        return self._inplace(lambda s: s.exp())

    def log_(self):
        return self._inplace(lambda s: s.log())

    def sqrt_(self):
        return self._inplace(lambda s: s.sqrt())

    def sigmoid_(self):
        return self._inplace(lambda s: s.sigmoid())

    def tanh_(self):
        return self._inplace(lambda s: s.tanh())

    def relu_(self):
        return self._inplace(lambda s: s.relu())

    def masked_fill_(self, mask, value):
        return self._inplace(lambda s: s.masked_fill(mask, value))

    def copy_(self, src, non_blocking=False):
        src = src if isinstance(src, Tensor) else _to_tensor(src)
        if grad_mode.modes.grad_enabled and src._requires_grad:
            return self._inplace(V.Overwrite.apply, src)
        return self._fill_raw(src._data)

    def _fill_raw(self, values):
        """Write values without autograd (fill_, zero_, copy_ of data, random init)."""
        if grad_mode.modes.grad_enabled and self._requires_grad:
            if self.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            return self._inplace(V.Fill.apply, values)
        np.copyto(self._data, np.broadcast_to(values, self._data.shape), casting="unsafe")
        self._vbox[0] += 1
        return self

    def fill_(self, value):
        return self._fill_raw(_unwrap(value))

    def zero_(self):
        return self._fill_raw(0)

    # -- random fills: torch's CPU kernels bit for bit (ember/_ops/random.py, docs/reproducibility.md)

    def _random_fill(self, draw, dtype=None):
        """Fill with ``draw(n)``'s n values (NumPy array, at least ``dtype``), written in memory
        order as ATen's TensorIterator walks a strided destination."""
        arr = self._data
        if arr.flags.c_contiguous:
            return self._fill_raw(draw(arr.size).reshape(arr.shape))
        perm = sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]))
        out = np.empty(arr.shape, dtype=arr.dtype)
        view = out.transpose(perm)
        view[...] = draw(arr.size).reshape(view.shape)
        return self._fill_raw(out)

    def _check_floating_fill(self, kernel):
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{_dtype.scalar_type_name(self._data.dtype)}'")

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        from . import random
        from ._ops import random as R
        self._check_floating_fill("check_uniform_bounds")
        from_, to = float(_unwrap(from_)), float(_unwrap(to))
        if not from_ <= to:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={R.cpp_number(from_)} > to={R.cpp_number(to)}")
        gen = random.resolve(generator)
        return self._random_fill(lambda n: R.uniform(gen, (n,), self._data.dtype, from_, to))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from . import random
        from ._ops import random as R
        self._check_floating_fill("normal_kernel_cpu")
        mean, std = float(_unwrap(mean)), float(_unwrap(std))
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {R.cpp_number(std)}")
        gen = random.resolve(generator)
        contiguous = self._data.flags.c_contiguous
        return self._random_fill(
            lambda n: R.normal(gen, (n,), self._data.dtype, mean, std, contiguous))

    def bernoulli_(self, p=0.5, *, generator=None):
        from . import random
        from ._ops import random as R
        gen = random.resolve(generator)
        if isinstance(p, Tensor):
            probs = np.broadcast_to(p._data, self._data.shape)
            if np.any((probs < 0) | (probs > 1)):
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
            return self._fill_raw(R.bernoulli_tensor(gen, np.ascontiguousarray(probs)))
        p = float(p)
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={R.cpp_number(p)}")
        return self._random_fill(lambda n: R.bernoulli_scalar(gen, (n,), p))

    def exponential_(self, lambd=1.0, *, generator=None):
        from . import random
        from ._ops import random as R
        if self._data.dtype.kind != "f":
            raise RuntimeError("Exponential distribution is a continuous probability distribution."
                               " dtype must be a floating point but you specified "
                               f"{_dtype.scalar_type_name(self._data.dtype)}")
        lambd = float(lambd)
        if not lambd > 0.0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={R.cpp_number(lambd)}")
        gen = random.resolve(generator)
        return self._random_fill(lambda n: R.exponential(gen, (n,), lambd))

    def geometric_(self, p, *, generator=None):
        from . import random
        from ._ops import random as R
        p = float(p)
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={R.cpp_number(p)}")
        gen = random.resolve(generator)
        return self._random_fill(lambda n: R.geometric(gen, (n,), p))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        from . import random
        from ._ops import random as R
        self._check_floating_fill("cauchy_cpu")
        median, sigma = float(median), float(sigma)
        if not sigma > 0.0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={R.cpp_number(sigma)}")
        gen = random.resolve(generator)
        return self._random_fill(lambda n: R.cauchy(gen, (n,), median, sigma))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        from . import random
        from ._ops import random as R
        self._check_floating_fill("log_normal_cpu")
        mean, std = float(mean), float(std)
        if not std > 0.0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={R.cpp_number(std)}")
        gen = random.resolve(generator)
        return self._random_fill(lambda n: R.log_normal(gen, (n,), mean, std))

    def bernoulli(self, p=None, *, generator=None):
        from ._creation import bernoulli
        return bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from ._creation import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    def random_(self, from_=None, to=None, *, generator=None):
        """random_() (each dtype's default range), random_(to) or random_(from, to)."""
        from . import random
        from ._ops import random as R
        gen = random.resolve(generator)
        dt = self._data.dtype
        if from_ is None and to is None:
            return self._random_fill(lambda n: R.random_default(gen, (n,), dt))
        if to is None:
            from_, to = 0, from_
        from_, to = int(from_), int(to)
        if from_ >= to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={from_} >= to={to}")
        if dt.kind == "f":
            from_, to = R.float_random_bounds(dt, from_, to)
        if dt.kind in "iub":
            info = np.iinfo(dt) if dt.kind != "b" else None
            lo, hi = (0, 1) if info is None else (int(info.min), int(info.max))
            name = _dtype.cpp_type_name(dt)
            if not lo <= from_ <= hi:
                raise RuntimeError(f"from is out of bounds for {name}")
            if not lo <= to - 1 <= hi:
                raise RuntimeError(f"to - 1 is out of bounds for {name}")
        return self._random_fill(lambda n: R.random_from_to(gen, (n,), dt, from_, to))

    def unsqueeze_(self, dim):
        return self._reshape_(self.unsqueeze(dim).shape)

    def squeeze_(self, dim=None):
        return self._reshape_(self.squeeze(dim).shape)

    def t_(self):
        if self.ndim < 2:
            return self
        return self.transpose_(0, 1)

    def transpose_(self, dim0, dim1):
        if self.grad_fn is not None or self._requires_grad and grad_mode.modes.grad_enabled:
            raise RuntimeError("ember supports transpose_ only on tensors that don't require grad")
        self._data = np.swapaxes(self._data, normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim))
        return self

    def _reshape_(self, shape):
        """In-place metadata change (unsqueeze_, squeeze_): same memory, new shape."""
        if self.grad_fn is not None:
            out = self.reshape(shape)
            self.grad_fn, self._out_idx = out.grad_fn, out._out_idx
        self._data = self._data.reshape(shape)
        return self

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if inputs is None and not create_graph and self.grad_fn is not None:
            # the common cases, loss.backward() and y.backward(g), without the general handling
            if gradient is None:
                if self._data.size == 1 and self._data.dtype.kind == "f":
                    run_backward((self,), (np.ones_like(self._data),), bool(retain_graph))
                    return
            elif type(gradient) is Tensor and gradient._data.shape == self._data.shape \
                    and gradient._data.dtype == self._data.dtype:
                run_backward((self,), (gradient._data,), bool(retain_graph))
                return
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def retain_grad(self):
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        if builtins.all(t is not self for _, t in node._retained):
            node._retained.append((self._out_idx, self))

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and builtins.any(t is self for _, t in (node._retained or ()))

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            from .autograd.function import _edge
            node = _edge(self)[0]
            hooks = node._hooks if node._hooks is not None else []
            hooks.append(hook)
            node._hooks = hooks
            entry = hook
        else:
            node = self.grad_fn
            hooks = node._hooks if node._hooks is not None else []
            entry = (self._out_idx, hook)
            hooks.append(entry)
            node._hooks = hooks
        return _RemovableHook(hooks, entry)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` after a backward pass has accumulated this leaf's ``.grad``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.function import _edge
        node = _edge(self)[0]
        if node._post_acc_hooks is None:
            node._post_acc_hooks = []
        node._post_acc_hooks.append(hook)
        return _RemovableHook(node._post_acc_hooks, hook)

    # new_* constructors
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _new(np.zeros, _as_shape(size), dtype or self.dtype, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _new(np.ones, _as_shape(size), dtype or self.dtype, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _new(np.zeros, _as_shape(size), dtype or self.dtype, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        t = _new(np.zeros, _as_shape((size,)), dtype or self.dtype, requires_grad=False)
        t._data[...] = fill_value
        return t.requires_grad_(requires_grad) if requires_grad else t

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


class _RemovableHook:
    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        if self._entry in self._hooks:
            self._hooks.remove(self._entry)


def _rebuild_tensor(data, requires_grad):
    return Tensor._wrap(data, requires_grad)


class _LegacyTensorType(type):
    """torch's legacy tensor types (``FloatTensor`` ...): calling one makes a tensor of its dtype
    (from data, or uninitialised - here zero - from sizes); ``isinstance`` checks the dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        _check_device(device)
        if not args:
            return Tensor._wrap(np.zeros((0,), cls.dtype.np))
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype is not cls.dtype:
                raise TypeError(f"expected {cls.dtype} (got {args[0].dtype})")
            return args[0].detach()
        if builtins.all(isinstance(a, (int, np.integer)) for a in args) or \
                len(args) == 1 and isinstance(args[0], Size):
            return Tensor._wrap(np.zeros(_as_shape(args), cls.dtype.np))
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one sequence of data, "
                            f"got {args!r}")
        return Tensor._wrap(np.array(_unwrap(args[0]), dtype=cls.dtype.np, ndmin=0))

    def __repr__(cls):
        return f"<class 'ember.{cls.__name__}'>"


LEGACY_TYPES = {d: _LegacyTensorType(_dtype.legacy_type_name(d), (), {"dtype": d}) for d in _dtype.ALL}


def _check_broadcast(sa, sb):
    """torch's message for shapes that do not broadcast (checked before NumPy sees them)."""
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {max(len(sa), len(sb)) - i}")


def _correction(unbiased, correction):
    if correction is not None and unbiased is not None:
        raise RuntimeError("var(): can't specify both unbiased and correction")
    if correction is not None:
        return correction
    if unbiased is None or unbiased is True:
        return 1
    return 0


def _as_shape(args) -> tuple:
    """(2, 3), ((2, 3),), ([2, 3],) and (Size([2, 3]),) all mean the shape (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size, np.ndarray)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"expected a sequence of integers as the size, but got {args!r}")
        out.append(int(s))
    return tuple(out)


def _infer_shape(shape, numel):
    """Resolve one -1 in ``shape`` and check the element count, with torch's messages."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _can_view(a, shape):
    try:
        v = a.view()
        v.shape = shape
        return True
    except AttributeError:
        return False


def _argsort(a, axis, descending):
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64)
    # stable descending order with NaN first (as torch): sort the reversed array ascending, then
    # reverse the order and map positions back
    n = a.shape[axis]
    idx = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(idx, axis)).astype(np.int64)


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    """unique's result: the values, then the inverse and/or the counts when asked for."""
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def _to_tensor(x, dtype=None):
    from ._creation import tensor
    return tensor(x, dtype=dtype)


def _new(fn, shape, dtype, requires_grad):
    return Tensor._wrap(fn(shape, dtype=as_dtype(dtype).np), requires_grad)


def _check_inplace_on_leaf(t):
    """torch refuses to overwrite a leaf that requires grad, or a view of one, while recording."""
    if t.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = t._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def where(condition, input=None, other=None):
    """``where(cond, x, y)`` picks from x where cond holds; ``where(cond)`` is ``nonzero(as_tuple)``."""
    cond = _unwrap(condition)
    if input is None and other is None:
        return Tensor._wrap(np.asarray(cond)).nonzero(as_tuple=True)
    if np.asarray(cond).dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {from_numpy_dtype(np.asarray(cond).dtype)}")
    # Python numbers take part in type promotion as scalars, anything else as a tensor
    a, b = (v if isinstance(v, Tensor) or _is_scalar(v) else _to_tensor(v) for v in (input, other))
    dt = result_type(a, b)
    a, b = (v._cast(dt) if isinstance(v, Tensor) else np.asarray(v, dt.np) for v in (a, b))
    return E.Where.apply(cond, a, b)


_function.register_tensor_class(Tensor)
