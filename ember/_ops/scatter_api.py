"""Argument checks of the scatter-style Tensor methods (scatter_reduce, index_add/copy/fill,
index_put, masked_scatter, take, put), in torch's order and with torch's messages; then one
Function of ``scatter.py`` each. Every index is range-checked here before NumPy sees it, and
wrapped only where torch wraps (index_fill, index_put, take, put)."""
from __future__ import annotations

import builtins

import numpy as np

from .. import _dtype
from .._dtype import from_numpy_dtype
from .._indexing import _check_index_range, _check_scatter_shapes, _index_array
from ..autograd.function import tensor_class
from . import scatter as G
from .util import normalize_dim

SCATTER_REDUCES = ("sum", "prod", "mean", "amax", "amin")

# scatter_add's own, differentiable path through Tensor.scatter (torch refuses reduce='sum' there,
# and its legacy reduce='add' has no derivative, so neither string can stand for it)
SCATTER_ADD = object()


def _name(a):
    """torch's ScalarType name of an array's dtype (Float, Long ...)."""
    return _dtype.scalar_type_name(from_numpy_dtype(a.dtype))


def _require_tensor(x, op, arg, pos):
    if not isinstance(x, tensor_class()):
        raise TypeError(f"{op}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _long_index(index, op):
    """take/put/index_copy: torch accepts only int64 indices there."""
    a = index._data if isinstance(index, tensor_class()) else np.asarray(index)
    if a.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {_name(a)}")
    return a


def scatter_reduce(self, dim, index, src, reduce, include_self=True):
    _require_tensor(src, "scatter_reduce", "src", 3)
    if reduce not in SCATTER_REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx = _index_array(index, "scatter")
    if src.dtype is not self.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if self.ndim == 0 or idx.ndim == 0:  # torch treats a 0-d tensor as 1-d here
        if builtins.max(self.ndim, idx.ndim) > 1:
            raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
        normalize_dim(dim, 1)
        return scatter_reduce(self.reshape(-1), 0, idx.reshape(-1), src.reshape(-1), reduce,
                              include_self).reshape(self.shape)
    axis = normalize_dim(dim, self.ndim)
    if idx.size == 0:
        return self.clone()
    _check_scatter_shapes(self._data.shape, axis, idx.shape, src._data.shape)
    _check_index_range(idx, self._data.shape[axis], axis)
    fn = G.ScatterReduceLinear if reduce in ("sum", "mean") else G.ScatterReduce
    return fn.apply(self, axis, idx, src, reduce, include_self)


def scatter_legacy_reduce(self, axis, idx, src, reduce):
    """scatter's deprecated reduce='add'/'multiply' (shapes and range already checked)."""
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, tensor_class()):
        import warnings
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                      "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                      "instead for more reduction options.", UserWarning, stacklevel=3)
    return G.ScatterLegacyReduce.apply(self, axis, idx, src, reduce)


def _vector_index(index, op):
    idx = index._data if isinstance(index, tensor_class()) else np.asarray(index)
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index but got: {_name(idx)}")
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, but got dim: {idx.ndim} with "
                         f"type: {_name(idx)} and size: {list(idx.shape)}")
    return idx.astype(np.int64, copy=False).reshape(-1)


def _check_wrapping_range(idx, n, axis):
    """index_fill / index_put: [-n, n) is valid (negative ones wrap); else torch's IndexError."""
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.min() if idx.min() < -n else idx.max()
        raise IndexError(f"index {bad} is out of bounds for dimension {axis} with size {n}")


def _as_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def index_add(self, dim, index, source, alpha=1):
    _require_tensor(source, "index_add", "source", 3)
    idx = _vector_index(index, "index_add_")
    axis = normalize_dim(dim, self.ndim)
    if source.dtype is not self.dtype:
        raise RuntimeError(f"index_add_(): self ({_name(self._data)}) and source "
                           f"({_name(source._data)}) must have the same scalar type")
    n_src = source.shape[axis] if source.ndim else 1
    if idx.size != n_src:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({n_src}), for dim: {dim}")
    shape_self, shape_src = _as_1d(self).shape, _as_1d(source).shape
    if len(shape_self) != len(shape_src) or builtins.any(
            a != b for d, (a, b) in enumerate(zip(shape_self, shape_src)) if d != axis):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(self.shape)} "
                           f"source.shape = {list(source.shape)}")
    _check_index_range(idx, shape_self[axis], axis)
    if self._data.dtype.kind != "f":
        alpha = int(alpha)  # torch converts alpha to self's type
    out = G.IndexAdd.apply(_as_1d(self), axis, idx, _as_1d(source), alpha)
    return out.reshape(self.shape) if self.ndim == 0 else out


def index_copy(self, dim, index, source):
    _require_tensor(source, "index_copy", "source", 3)
    idx = _long_index(index, "index_copy_")
    if idx.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{idx.ndim})")
    idx = idx.reshape(-1)
    axis = normalize_dim(dim, self.ndim)
    n_src = source.shape[axis] if source.ndim else 1
    if idx.size != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to "
                         f"source.size(dim) ({n_src})")
    # torch compares the slices: the shapes without dimension ``axis``
    shape_self, shape_src = _as_1d(self).shape, _as_1d(source).shape
    slice_self = shape_self[:axis] + shape_self[axis + 1:]
    slice_src = shape_src[:axis] + shape_src[axis + 1:]
    for d in range(builtins.min(len(slice_self), len(slice_src))):
        if slice_self[d] != slice_src[d]:
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {slice_self[d]} at dimension "
                               f"{d} and source slice shape: {slice_src[d]} at dimension {d}.")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but "
                           f"got (self) {_name(self._data)} and (source) {_name(source._data)}")
    n = shape_self[axis]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {axis} "
                         f"with size {n}")
    out = G.IndexCopy.apply(_as_1d(self), axis, idx, _as_1d(source))
    return out.reshape(self.shape) if self.ndim == 0 else out


def index_fill(self, dim, index, value):
    idx = index._data if isinstance(index, tensor_class()) else np.asarray(index)
    if idx.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if isinstance(value, tensor_class()):
        if value.ndim:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = value._cast(self.dtype)
    idx = idx.reshape(-1)
    axis = normalize_dim(dim, self.ndim)
    n = _as_1d(self).shape[axis]
    _check_wrapping_range(idx, n, axis)
    idx = np.where(idx < 0, idx + n, idx)
    if not isinstance(value, tensor_class()):
        value = np.asarray(value).astype(self._data.dtype)
    out = G.IndexFill.apply(_as_1d(self), axis, idx, value)
    return out.reshape(self.shape) if self.ndim == 0 else out


def _index_put_key(shape, indices):
    """indices (a tuple of tensors) as NumPy's index, each checked against its dimensions."""
    T = tensor_class()
    key, dim = [], 0
    for t in indices:
        a = t._data if isinstance(t, T) else np.asarray(t)
        if a.dtype.kind == "f" or a.ndim and a.dtype in (np.int8, np.int16):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if a.dtype in (np.bool_, np.uint8):
            a = a != 0
            dims = builtins.max(a.ndim, 1)
            if a.shape != tuple(shape[dim:dim + a.ndim]):
                raise IndexError(f"The shape of the mask {list(a.shape)} at index {dim} does not "
                                 f"match the shape of the indexed tensor {list(shape)} at index {dim}")
        else:
            dims = 1
            if dim < len(shape):
                _check_wrapping_range(a, shape[dim], dim)
                a = a.astype(np.int64, copy=False)
        if dim + dims > len(shape):
            raise IndexError(f"too many indices for tensor of dimension {len(shape)} (got "
                             f"{len(indices)})")
        key.append(a)
        dim += dims
    _check_index_shapes(key)
    return tuple(key)


def _check_index_shapes(key):
    """The integer index tensors broadcast together (a mask counts as its nonzero()s)."""
    shapes = [(int(k.sum()),) if k.dtype == np.bool_ else k.shape for k in key]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         "shapes " + ", ".join(str(list(s)) for s in shapes)) from None


def index_put(self, indices, values, accumulate=False):
    if isinstance(indices, tensor_class()):
        raise TypeError("index_put(): argument 'indices' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    _require_tensor(values, "index_put", "values", 2)
    key = _index_put_key(self._data.shape, tuple(indices))
    if values.dtype is not self.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_name(self._data)} for the destination and {_name(values._data)} for "
                           f"the source.")
    try:
        np.broadcast_shapes(self._data[key].shape, values._data.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be "
                           f"broadcast to indexing result of shape "
                           f"{list(self._data[key].shape)}") from None
    fn = G.IndexPutAccumulate if accumulate else _index_put_plain()
    return fn.apply(self, key, values)


def _index_put_plain():
    from .index import IndexPut
    return IndexPut


def masked_scatter(self, mask, source, inplace=False):
    _require_tensor(source, "masked_scatter", "source", 2)
    m = mask._data if isinstance(mask, tensor_class()) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_name(m)}")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_name(self._data)} and {_name(source._data)}")
    target = self
    if inplace:
        if m.ndim > self.ndim:
            raise RuntimeError(f"expand(CPUBoolType{{{list(m.shape)}}}, size={list(self.shape)}): "
                               f"the number of sizes provided ({self.ndim}) must be greater or "
                               f"equal to the number of dimensions in the tensor ({m.ndim})")
        tensor_class()._wrap(m).expand(*self.shape)  # the mask must expand to self: expand's errors
        shape = self._data.shape
    else:
        shape = np.broadcast_shapes(self._data.shape, m.shape)
        target = self.expand(*shape) if shape != self._data.shape else self
    m = np.broadcast_to(m, shape)
    if int(m.sum()) > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return G.MaskedScatter.apply(target, m, source)


def _flat_index(index, numel, op):
    idx = _long_index(index, op)
    if idx.size and (idx.min() < -numel or idx.max() >= numel):
        bad = idx.min() if idx.min() < -numel else idx.max()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {numel} "
                         f"elements.")
    return np.where(idx < 0, idx + numel, idx)


def take(self, index):
    if self.numel() == 0 and np.size(_long_index(index, "take")):
        raise IndexError("take(): tried to take from an empty tensor")
    return G.Take.apply(self, _flat_index(index, self.numel(), "take"))


def put(self, index, source, accumulate=False):
    _require_tensor(source, "put", "source", 2)
    idx = _flat_index(index, self.numel(), "put_")
    if idx.size != source.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, "
                         f"but got source.numel() = {source.numel()}, index.numel() = {idx.size}")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_name(self._data)} and source.dtype = "
                           f"{_name(source._data)}")
    return G.Put.apply(self, idx, source, accumulate)
