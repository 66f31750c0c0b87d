"""Parameter and Buffer: Tensors that a Module registers when they are assigned to it.

They live below ``ember.nn`` (which re-exports them as ``ember.nn.Parameter``/``Buffer``, torch's
names) because they are plain Tensor subclasses that other tensor-level code must know without
importing the layers: a checkpoint records and rebuilds Parameters (ember/serialization.py).
"""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._device import _check_device
from ._size import Size
from ._tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]



def _alias(cls, data: Tensor, requires_grad: bool) -> Tensor:
    """A new leaf of type ``cls`` over ``data``'s array and version counter (torch's
    ``Tensor._make_subclass``): writes through either one are seen by the other, and an in-place
    change of ``data`` still invalidates graphs that saved the alias."""
    out = cls._wrap(data._data)
    out._vbox = data._vbox
    if requires_grad:
        out.requires_grad = True  # the core's setter allows floating-point dtypes only
    return out


def _empty() -> Tensor:
    return Tensor._wrap(np.empty(0, dtype=_dtype.get_default_dtype().np))


class Parameter(Tensor):
    r"""A Tensor that a :class:`Module` registers as a parameter when it is assigned as an attribute.

    ``Parameter(data=None, requires_grad=True)``: ``data`` is shared, not copied (as
    ``torch.Tensor._make_subclass``); the Parameter is always a leaf, whatever ``data``'s graph and
    even under ``no_grad``. ``data=None`` gives an empty float tensor.

    >>> Parameter(ember.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _empty()
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        return _alias(cls, data, requires_grad)

    def __init__(self, data=None, requires_grad=True):
        pass  # built in __new__; Tensor.__init__ would rebuild the data from the arguments

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._wrap(self._data.copy()), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(Tensor._wrap(array), requires_grad)


class Buffer(Tensor):
    r"""A Tensor that a :class:`Module` registers as a buffer when it is assigned as an attribute
    (torch.nn.Buffer): ``Buffer(data=None, *, persistent=True)``, sharing ``data``'s array.

    >>> m = Module()
    >>> m.steps = Buffer(ember.zeros(()), persistent=False)   # same as m.register_buffer(...)
    >>> list(m._buffers), list(m.state_dict())
    (['steps'], [])
    """

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _empty()
        t = _alias(cls, data, data.requires_grad)
        t.persistent = persistent
        return t

    def __init__(self, data=None, *, persistent=True):
        pass  # built in __new__, as Parameter


# ---------------------------------------------------------------------------------------------
# Uninitialized parameters and buffers (torch/nn/parameter.py), for the lazy modules
# ---------------------------------------------------------------------------------------------

class UninitializedTensorMixin:
    """What an uninitialized parameter or buffer allows: its dtype, ``size()``, a dtype cast,
    ``materialize``. Every other use raises torch's ValueError.

    torch guards it with ``__torch_function__``; ember's ops read ``tensor._data``, so the guard
    is a ``_data`` property that raises, while the (empty) array lives in ``__dict__`` for the
    allowed methods. ``materialize`` changes the class, and ``_data`` becomes a plain attribute
    again."""

    cls_to_become = Tensor

    @property
    def _data(self):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in {_caller_name()}. This error "
            "happens when you are using a `LazyModule` or explicitly manipulating "
            f"`ember.nn.parameter.{type(self).__name__}` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling ember "
            "functions")

    @_data.setter
    def _data(self, array):
        self.__dict__["_data"] = array

    def _array(self) -> np.ndarray:
        return self.__dict__["_data"]

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self._array())

    @data.setter
    def data(self, value):
        self.__dict__["_data"] = value._array() if is_lazy(value) else (
            value._data if isinstance(value, Tensor) else np.asarray(value))

    @property
    def dtype(self):
        return _dtype.from_numpy_dtype(self._array().dtype)

    def size(self, dim=None):
        shape = self._array().shape
        return Size(shape) if dim is None else shape[dim]

    def is_floating_point(self) -> bool:
        return self._array().dtype.kind == "f"

    def is_complex(self) -> bool:
        return self._array().dtype.kind == "c"

    def requires_grad_(self, requires_grad=True):
        self._data  # raises, as torch's guard does for requires_grad_

    def to(self, *args, **kwargs):
        return self.data.to(*args, **kwargs)

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def cpu(self):
        return self

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor its ``shape`` (zeros; the layer's ``reset_parameters`` draws the
        values) and turn it into ``cls_to_become``, keeping ``requires_grad``."""
        np_dtype = self._array().dtype if dtype is None else _dtype.as_dtype(dtype).np
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        self.__dict__["_data"] = np.zeros(shape, dtype=np_dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, proto):
        return (type(self), (self.requires_grad,))


def _caller_name() -> str:
    """The function that read an uninitialized tensor's data (for the error message)."""
    import sys
    code = sys._getframe(2).f_code
    return f"<function {getattr(code, 'co_qualname', code.co_name)}>"


def is_lazy(param) -> bool:
    """Whether ``param`` is an :class:`UninitializedParameter` or :class:`UninitializedBuffer`."""
    return isinstance(param, UninitializedTensorMixin)


def _uninitialized(cls, requires_grad, dtype):
    t = object.__new__(cls)
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
    t.__dict__["_data"] = np.empty(0, dtype=dt.np)
    t._requires_grad = bool(requires_grad)  # the setter would read the guarded data
    t._vbox = [0]
    return t


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    r"""A parameter whose shape is not known yet (torch.nn.UninitializedParameter): lazy modules
    hold them until their first call, when ``materialize(shape)`` turns them into Parameters.

    Only its dtype, ``size()``, dtype casts and ``materialize`` may be used; anything else raises.

    >>> p = UninitializedParameter()
    >>> p.materialize((2, 3)); type(p).__name__, tuple(p.shape)
    ('Parameter', (2, 3))
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        _check_device(device)
        return _uninitialized(cls, requires_grad, dtype)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, None, self.dtype)
        memo[id(self)] = result
        return result


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    r"""A buffer whose shape is not known yet (torch.nn.UninitializedBuffer); ``materialize``
    turns it into a plain Tensor."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        _check_device(device)
        t = _uninitialized(cls, requires_grad, dtype)
        t.persistent = persistent
        t._is_buffer = True
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass
