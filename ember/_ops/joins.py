"""cat and stack: validate shapes as torch does, promote dtypes, then one Function each."""
from __future__ import annotations

from .._dtype import result_type
from .shape import Cat, Stack
from .util import normalize_dim


def _tensors(tensors, op):
    from .._tensor import Tensor

    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a sequence of Tensors, but got {type(t).__name__}")
    dt = tensors[0].dtype
    if any(t.dtype is not dt for t in tensors):
        dt = result_type(*tensors)
        tensors = [t._cast(dt) for t in tensors]
    return tensors


def cat(tensors, dim=0):
    tensors = _tensors(tensors, "cat")
    # torch skips legacy empty 1-d tensors of shape (0,) when concatenating
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = parts[0]
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis = normalize_dim(dim, ref.ndim)
    for i, t in enumerate(parts):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for d in range(ref.ndim):
            if d != axis and t.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected "
                                   f"size {ref.shape[d]} but got size {t.shape[d]} for tensor number "
                                   f"{i} in the list.")
    return Cat.apply(axis, *parts)


def stack(tensors, dim=0):
    tensors = _tensors(tensors, "stack")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref.shape)} at entry 0 and {list(t.shape)} at entry {i}")
    return Stack.apply(normalize_dim(dim, ref.ndim + 1), *tensors)
