"""Shape ops built from the basic ones (permute, flip, reshape, expand, slicing, cat): movedim,
rot90, fliplr/flipud, tile, tensor_split and h/v/dsplit, the h/v/d/column stacks, meshgrid,
cartesian_prod, combinations and repeat_interleave. Each checks its arguments with torch's
messages; the gradients are those of the ops it is built from. Views stay views where torch
returns views (movedim, tensor_split, meshgrid)."""
from __future__ import annotations

import builtins
import itertools
import warnings

import numpy as np

from .._dtype import from_numpy_dtype, scalar_type_name
from ..autograd.function import tensor_class
from .util import normalize_dim


def _ints(x):
    return [int(x)] if isinstance(x, (int, np.integer)) else [int(v) for v in x]


def movedim(self, source, destination):
    src, dst = _ints(source), _ints(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [normalize_dim(d, self.ndim) for d in src]
    dst = [normalize_dim(d, self.ndim) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({_ints(source if name == 'source' else destination)})")
    rest = iter(d for d in range(self.ndim) if d not in src)
    placed = dict(zip(dst, src))
    order = [placed[i] if i in placed else next(rest) for i in range(self.ndim)]
    return self.permute(*order) if self.ndim else self.view(())


def rot90(self, k=1, dims=(0, 1)):
    dims = _ints(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if self.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
    if dims[0] == dims[1] or builtins.abs(dims[0] - dims[1]) == self.ndim:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    d0, d1 = (normalize_dim(d, self.ndim) for d in dims)
    k %= 4
    if k == 1:
        return self.flip(d1).transpose(d0, d1)
    if k == 2:
        return self.flip(d0, d1)
    if k == 3:
        return self.flip(d0).transpose(d0, d1)
    return self.clone()


def fliplr(self):
    if self.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return self.flip(1)


def flipud(self):
    if self.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return self.flip(0)


def tile(self, dims):
    dims = _ints(dims)
    return self.repeat(*([1] * (self.ndim - len(dims)) + dims))


def split_argument(op, positional, overload):
    """The one split argument, given by position or by the keyword of one of torch's overloads
    (sections=, indices=, and for tensor_split tensor_indices_or_sections=)."""
    names = ("sections", "indices") + (("tensor_indices_or_sections",) if op == "tensor_split" else ())
    unknown = [k for k in overload if k not in names]
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument '{unknown[0]}'")
    given = ([positional] if positional is not None else []) + list(overload.values())
    if len(given) != 1:
        raise TypeError(f"{op}() received an invalid combination of arguments: expected exactly "
                        f"one of indices_or_sections, {', '.join(names)}")
    return given[0]


def _slice_along(self, axis, start, stop):
    key = [slice(None)] * self.ndim
    key[axis] = slice(start, stop)
    return self[tuple(key)]


def tensor_split(self, indices_or_sections, dim=0):
    if self.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    T = tensor_class()
    if isinstance(indices_or_sections, T):
        a = indices_or_sections._data
        if a.dtype != np.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of "
                               f"long, but got {scalar_type_name(from_numpy_dtype(a.dtype))}")
        if a.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {a.ndim} dims")
        indices_or_sections = int(a) if a.ndim == 0 else [int(v) for v in a]
    axis = normalize_dim(dim, self.ndim)
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        n = self.shape[axis]
        # the first n % sections parts get one element more, as torch
        sizes = [n // sections + (i < n % sections) for i in range(sections)]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        return tuple(_slice_along(self, axis, bounds[i], bounds[i + 1]) for i in range(sections))
    cuts = [0] + [int(i) for i in indices_or_sections] + [None]
    # python slicing, as torch: negative indices wrap, out-of-range ones clip, a later index
    # below an earlier one gives an empty part
    return tuple(_slice_along(self, axis, cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1))


def _directional_split(self, indices_or_sections, op, dim, min_dims):
    if self.ndim < min_dims:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {min_dims} dimension, but "
                           f"got a tensor with {self.ndim} dimensions!")
    if isinstance(indices_or_sections, (int, np.integer)):
        n = self.shape[dim]
        if indices_or_sections == 0 or n % indices_or_sections:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the size "
                               f"of the dimension {n} is not divisible by the split_size "
                               f"{indices_or_sections}!")
    return tensor_split(self, indices_or_sections, dim)


def hsplit(self, indices_or_sections):
    return _directional_split(self, indices_or_sections, "hsplit", 0 if self.ndim == 1 else 1, 1)


def vsplit(self, indices_or_sections):
    return _directional_split(self, indices_or_sections, "vsplit", 0, 2)


def dsplit(self, indices_or_sections):
    return _directional_split(self, indices_or_sections, "dsplit", 2, 3)


def _at_least(t, n):
    """atleast_1d/2d/3d: 0-d -> (1,)*n; 1-d (k,) -> (1, k) or (1, k, 1); 2-d -> (.., .., 1)."""
    if t.ndim >= n:
        return t
    if t.ndim == 0:
        return t.reshape((1,) * n)
    if t.ndim == 1:
        return t.reshape((1, t.shape[0]) + ((1,) if n == 3 else ()))
    return t.unsqueeze(-1)


def _stack_inputs(tensors, op):
    T = tensor_class()
    if isinstance(tensors, T):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return tensors


def _cat_out(tensors, dim, out):
    from .joins import cat
    from .products import _finish_out
    return _finish_out(cat(tensors, dim), out)


def hstack(tensors, *, out=None):
    tensors = [_at_least(t, 1) for t in _stack_inputs(tensors, "hstack")]
    return _cat_out(tensors, 0 if tensors[0].ndim == 1 else 1, out)


def vstack(tensors, *, out=None):
    return _cat_out([_at_least(t, 2) for t in _stack_inputs(tensors, "vstack")], 0, out)


def row_stack(tensors, *, out=None):
    return _cat_out([_at_least(t, 2) for t in _stack_inputs(tensors, "row_stack")], 0, out)


def dstack(tensors, *, out=None):
    return _cat_out([_at_least(t, 3) for t in _stack_inputs(tensors, "dstack")], 2, out)


def column_stack(tensors, *, out=None):
    tensors = _stack_inputs(tensors, "column_stack")
    return _cat_out([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1, out)


def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f'{indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    if builtins.any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [t.numel() for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:  # 'xy' is 'ij' of the inputs with the first two swapped, outputs swapped back
        tensors = (tensors[1], tensors[0]) + tuple(tensors[2:])
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        shape = [1] * len(tensors)
        shape[i] = sizes[i]
        grids.append(t.reshape(shape).expand(*sizes))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    from .joins import stack
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(self, r=2, with_replacement=False):
    from .joins import stack
    if self.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(self.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return self.new_empty((0,))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(self.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return stack([self[rows[:, j]] for j in range(r)], 1)


def repeat_interleave(self, repeats=None, dim=None, output_size=None):
    """``self`` repeated elementwise; with ``repeats`` None, ``self`` is the repeats of
    arange (torch.repeat_interleave(repeats))."""
    T = tensor_class()
    if repeats is None:
        counts = _repeat_counts(self)
        return T._wrap(np.repeat(np.arange(counts.size, dtype=np.int64),
                                 _checked_output(counts, output_size)))
    src = self.reshape(-1) if dim is None else self
    axis = 0 if dim is None else normalize_dim(dim, self.ndim)
    n = src.shape[axis] if src.ndim else 1
    if isinstance(repeats, T):
        counts = _repeat_counts(repeats)
        if counts.size == 1:
            counts = np.full(n, counts[0])
        elif counts.size != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size({axis}) = {n}")
    else:
        if int(repeats) < 0:
            raise RuntimeError("Repeats must be non-negative")
        counts = np.full(n, int(repeats), dtype=np.int64)
    picks = np.repeat(np.arange(n, dtype=np.int64), _checked_output(counts, output_size))
    return src.index_select(axis, T._wrap(picks)) if src.ndim else src.reshape(1)[picks]


def _repeat_counts(repeats):
    a = repeats._data
    if a.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if a.dtype not in (np.int32, np.int64):
        raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                  f"'{scalar_type_name(from_numpy_dtype(a.dtype))}'")
    a = a.reshape(-1).astype(np.int64)
    if a.size and a.min() < 0:
        raise RuntimeError("repeats can not be negative")
    return a


def _checked_output(counts, output_size):
    if output_size is not None and int(counts.sum()) != output_size:
        raise RuntimeError("allocated size does not match required size")
    return counts
