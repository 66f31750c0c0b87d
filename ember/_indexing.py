"""Index arguments of Tensor's indexing methods: conversion to NumPy's form and torch's checks.

``x[idx]``/``x[idx] = v`` convert their index with ``_convert_index`` (Tensors to arrays, lists
to integer or boolean arrays, uint8 tensors to masks as torch does) and check it before NumPy
sees it, so that an out-of-range or malformed index raises torch's error instead of wrapping
around or broadcasting (NumPy's rules). gather/scatter/index_select check their index tensors
here too. The differentiable index Functions are in ``ember/_ops/index.py``.
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from .autograd.function import tensor_class


def _is_tensor(x) -> bool:
    # the Tensor class is defined above this module (it imports it); autograd knows it
    return isinstance(x, tensor_class())


def is_scalar(x) -> bool:
    """A Python or NumPy number (which takes part in type promotion as a scalar)."""
    return isinstance(x, (bool, int, float)) or isinstance(x, np.generic) and x.ndim == 0

def _convert_index(idx):
    """Tensors inside an index become arrays; lists become integer/boolean arrays as in torch."""
    if isinstance(idx, tuple):
        return tuple(_convert_index_item(i) for i in idx)
    return _convert_index_item(idx)


def _convert_index_item(i):
    if _is_tensor(i):
        a = i._data
        # torch takes int64/int32 indices, bool masks and, deprecated, uint8 masks; an int8 or
        # int16 tensor of one or more dims is refused (0-d ones are plain ints)
        if a.dtype.kind == "f" or a.ndim and a.dtype in (np.int8, np.int16):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if a.dtype == np.uint8:
            if a.ndim:
                warnings.warn("indexing with dtype ember.uint8 is now deprecated, please use a "
                              "dtype ember.bool instead.", UserWarning, stacklevel=4)
            return a != 0
        return a if a.ndim else (a.item() if a.dtype != np.bool_ else a)
    if isinstance(i, list):
        a = np.asarray([x._data if _is_tensor(x) else x for x in i])
        if a.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a
    if isinstance(i, np.ndarray) and i.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return i


def _refuse_byte_mask_fill(shape, idx, value):
    """``x[uint8_mask] = one_value`` is torch's masked_fill_, which refuses uint8 masks (a mask
    with several values goes through index_put_ and works, with the deprecation warning). A mask
    of the wrong shape is refused as an IndexError first, by the ordinary path."""
    only = idx[0] if isinstance(idx, tuple) and len(idx) == 1 else idx
    if _is_tensor(only) and only._data.dtype == np.uint8 and \
            only._data.shape == shape[:only._data.ndim] and \
            (is_scalar(value) or _is_tensor(value) and value._data.size == 1):
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           "unsigned char")


def _check_basic_index(shape, idx):
    dim = 0
    items = idx if isinstance(idx, tuple) else (idx,)
    n_real = builtins.sum(1 for i in items if i is not None and i is not Ellipsis)
    if n_real and not shape:
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    if n_real > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    for i in items:
        if i is Ellipsis:
            dim += len(shape) - n_real
            continue
        if i is None:
            continue
        if isinstance(i, (int, np.integer)) and not -shape[dim] <= i < shape[dim]:
            raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {shape[dim]}")
        dim += 1


def _index_array(index, op, expected="int32/int64"):
    a = index._data if _is_tensor(index) else np.asarray(index)
    if a.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"{op}(): Expected dtype {expected} for index")
    return a.astype(np.int64, copy=False)


def _check_index_range(idx, n, axis, lowest=0):
    """Every index in [lowest, n): torch's gather/scatter refuse -1 rather than wrap it."""
    if idx.size and (idx.min() < lowest or idx.max() >= n):
        bad = idx.min() if idx.min() < lowest else idx.max()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {n}")


def _check_scatter_shapes(self_shape, axis, index_shape, src_shape):
    """torch's scatter_shape_check: the index fits in self apart from ``axis``, and in src."""
    if len(index_shape) != len(self_shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    wrong = any(index_shape[d] > self_shape[d] for d in range(len(self_shape)) if d != axis)
    if src_shape is not None and not wrong:
        for d in range(len(self_shape)):
            if d >= max(len(src_shape), 1):
                raise IndexError(f"Dimension out of range (expected to be in range of "
                                 f"[{-max(len(src_shape), 1)}, {max(len(src_shape), 1) - 1}], "
                                 f"but got {d})")
            if index_shape[d] > (src_shape[d] if src_shape else 1):
                wrong = True
                break
    if wrong:
        msg = (f"Expected index {list(index_shape)} to be no larger than self {list(self_shape)} "
               f"apart from dimension {axis}")
        if src_shape is not None:
            msg += f" and to be no larger size than src {list(src_shape)}"
        raise RuntimeError(msg)


def _check_advanced_index(shape, idx):
    """``x[idx]`` with index arrays: torch's IndexErrors before NumPy's (which say "axis").

    torch applies the integers first (as selects), then indexes what is left with the index
    tensors (a mask counting as one per dimension, via nonzero): an out-of-range integer names
    its dimension of ``x``, an out-of-range index tensor its position among the index tensors,
    a mask of the wrong shape the dimension of what is left."""
    items = idx if isinstance(idx, tuple) else (idx,)
    used = [_dims_used(i) for i in items]
    n_real = builtins.sum(used)
    if n_real > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    fill = len(shape) - n_real  # the dims an Ellipsis stands for
    dim, left = 0, []
    for i, n in zip(items, used):
        if i is Ellipsis:
            left += shape[dim:dim + fill]
            dim += fill
        elif _is_int(i):
            if not -shape[dim] <= i < shape[dim]:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {shape[dim]}")
            dim += 1
        else:
            left += shape[dim:dim + n]
            dim += n
    left += shape[dim:]
    _check_index_tensors(items, used, tuple(left), fill)


def _check_index_tensors(items, used, left, fill):
    dim, position, shapes = 0, 0, []
    for i, n in zip(items, used):
        if i is Ellipsis:
            dim += fill
        elif isinstance(i, np.ndarray) and i.dtype == np.bool_ and i.ndim:
            for j in range(i.ndim):
                if i.shape[j] != left[dim + j]:
                    raise IndexError(f"The shape of the mask {list(i.shape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {list(left)} at index "
                                     f"{dim + j}")
            shapes += [(int(i.sum()),)] * i.ndim
            dim, position = dim + i.ndim, position + i.ndim
        elif isinstance(i, np.ndarray) and i.dtype.kind in "iu":
            size = left[dim]
            if i.size and (i.min() < -size or i.max() >= size):
                bad = i.min() if i.min() < -size else i.max()
                raise IndexError(f"index {bad} is out of bounds for dimension {position} with "
                                 f"size {size}")
            shapes.append(i.shape)
            dim, position = dim + 1, position + 1
        elif not _is_int(i):
            dim += n
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         "shapes " + ", ".join(str(list(s)) for s in shapes)) from None


def _is_int(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _dims_used(i):
    """How many dimensions of the indexed tensor an index item consumes."""
    if i is None or i is Ellipsis or isinstance(i, (bool, np.bool_)):
        return 0
    if isinstance(i, np.ndarray) and i.dtype == np.bool_:
        return i.ndim
    return 1
