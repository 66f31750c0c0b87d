"""Helpers shared by the ops' backward passes."""
from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Leading axes that broadcasting added are summed away, and axes where the input had size 1
    are summed with keepdims.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_dim(dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative axis, with torch's IndexError otherwise."""
    n = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as torch
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def normalize_dims(dim, ndim: int):
    """None -> all axes; an int or a sequence -> a sorted tuple of distinct non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    axes = tuple(normalize_dim(int(d), ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return tuple(sorted(axes)) if ndim else ()  # a 0-d tensor accepts dim 0/-1 but has no axes


def reverse_cumsum(x: np.ndarray, axis: int) -> np.ndarray:
    """Sums from each position to the end along ``axis``: the adjoint of cumsum."""
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
