"""Parameter and Buffer: Tensors that a Module registers when they are assigned to it.

They live below ``ember.nn`` (which re-exports them as ``ember.nn.Parameter``/``Buffer``, torch's
names) because they are plain Tensor subclasses that other tensor-level code must know without
importing the layers: a checkpoint records and rebuilds Parameters (ember/serialization.py).
"""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._tensor import Tensor

__all__ = ["Parameter", "Buffer"]



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
