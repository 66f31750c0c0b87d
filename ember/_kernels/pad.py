"""Padding: constant / reflect / replicate / circular, and the adjoint of each.

One kernel for every padded layer: ``F.pad``, the ``*Pad{1,2,3}d`` modules and convolution's
``padding_mode``. Arrays in, arrays out; no Tensor, no autograd.

``pads`` is in ``F.pad`` order: the LAST dimension first, as pairs ``(left, right)``::

    pads = (w_left, w_right, h_left, h_right, ...)   # pair i pads axis ndim - 1 - i

Every non-constant mode is a gather along each padded axis: output position ``j`` reads input
position ``src[j]`` (an index map of length ``out``), computed with the formulas of ATen's
kernels (ReflectionPad.cpp, ReplicationPadding.cpp, PadNd.cpp ``_pad_circular``), negative
pads (cropping) included. The adjoint is the matching scatter-add: every output gradient is
added to the input position it was read from. ``constant`` is a slice copy into a filled array
(negative pads crop, as torch's ``constant_pad_nd``), and its adjoint is the slice back.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel

MODES = ("constant", "reflect", "replicate", "circular")


# ---------------------------------------------------------------- index maps, one axis
def _central(n: int, left: int, right: int):
    """Where the kept part of the input lands: (input slice, output slice) along one axis.

    A positive pad shifts it in the output; a negative pad crops it from the input."""
    out = n + left + right
    src = slice(max(-left, 0), n - max(-right, 0))
    dst = slice(max(left, 0), out - max(right, 0))
    return src, dst


def source_index(n: int, left: int, right: int, mode: str) -> np.ndarray:
    """``src[j]``: the input position that output position ``j`` reads along one axis.

    reflect   - mirror about the edge element, which is not repeated: ``3 2 1 | 0 1 2 3 | 2 1``
    replicate - repeat the edge element:                               ``0 0 0 | 0 1 2 3 | 3 3``
    circular  - wrap around the kept (cropped) part:                   ``1 2 3 | 0 1 2 3 | 0 1``
    """
    out = n + left + right
    j = np.arange(out, dtype=np.int64)
    i_start, o_start = max(-left, 0), max(left, 0)
    if mode == "reflect":      # ATen reflection_pad1d: index in padded coordinates, then shift
        ip = np.where(j < left, 2 * left - j,
                      np.where(j < n + left, j, 2 * (n + left - 1) - j))
        return ip - o_start + i_start
    if mode == "replicate":    # ATen replication_pad1d
        ip = np.clip(j, left, n + left - 1)
        return ip - o_start + i_start
    if mode == "circular":     # ATen _pad_circular: the pads copy from the kept part
        kept = out - o_start - max(right, 0)
        return i_start + (j - o_start) % max(kept, 1)
    raise NotImplementedError(f"Unrecognised padding mode {mode}")


def _axis_pads(ndim: int, pads):
    """Yield (axis, left, right) for each padded axis, in F.pad order (last axis first)."""
    for i in range(len(pads) // 2):
        yield ndim - 1 - i, int(pads[2 * i]), int(pads[2 * i + 1])


def padded_shape(shape, pads) -> tuple:
    """Output shape: every padded axis grows by left + right (negative pads shrink it)."""
    out = list(shape)
    for axis, left, right in _axis_pads(len(shape), pads):
        out[axis] = shape[axis] + left + right
    return tuple(out)


# ---------------------------------------------------------------- forward and adjoint
def pad(x: np.ndarray, pads, mode: str = "constant", value: float = 0.0) -> np.ndarray:
    """Pad ``x`` by ``pads`` (F.pad order). Arguments are assumed valid: see ``check_pad``."""
    if mode == "constant":
        out = np.full(padded_shape(x.shape, pads), value, dtype=x.dtype)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, left, right in _axis_pads(x.ndim, pads):
            src[axis], dst[axis] = _central(x.shape[axis], left, right)
        out[tuple(dst)] = x[tuple(src)]
        return out
    for axis, left, right in _axis_pads(x.ndim, pads):
        if left or right:
            x = np.take(x, source_index(x.shape[axis], left, right, mode), axis=axis)
    return np.ascontiguousarray(x)


def pad_backward(grad: np.ndarray, input_shape, pads, mode: str = "constant") -> np.ndarray:
    """Adjoint of ``pad``: the gradient w.r.t. its input, of shape ``input_shape``.

    constant: the central slice (cropped parts get zero). Others: undo the gathers in reverse
    axis order, each a scatter-add of the output positions onto the input positions they read.
    """
    ndim = len(input_shape)
    if mode == "constant":
        g = np.zeros(input_shape, dtype=grad.dtype)
        src, dst = [slice(None)] * ndim, [slice(None)] * ndim
        for axis, left, right in _axis_pads(ndim, pads):
            src[axis], dst[axis] = _central(input_shape[axis], left, right)
        g[tuple(src)] = grad[tuple(dst)]
        return g
    for axis, left, right in reversed(list(_axis_pads(ndim, pads))):
        if left or right:
            n = input_shape[axis]
            grad = _scatter_add_axis(grad, source_index(n, left, right, mode), n, axis)
    return grad


def _scatter_add_axis(grad: np.ndarray, index: np.ndarray, n: int, axis: int) -> np.ndarray:
    """``out[..., index[j], ...] += grad[..., j, ...]`` along ``axis`` (``out``: length n there)."""
    shape = grad.shape
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    g3 = np.ascontiguousarray(grad).reshape(outer, shape[axis], inner)
    out = np.zeros((outer, n, inner), dtype=grad.dtype)
    if g3.size:
        _scatter_add_rows(g3, index, out)
    return out.reshape(shape[:axis] + (n,) + shape[axis + 1:])


@parallel_kernel
def _scatter_add_rows(g, index, out):
    # parallel over the leading block; within it the j loop is serial, so repeated indices
    # (replicate's edges) accumulate without races
    for o in numba.prange(g.shape[0]):
        for j in range(g.shape[1]):
            dst = index[j]
            for k in range(g.shape[2]):
                out[o, dst, k] += g[o, j, k]


# ---------------------------------------------------------------- argument checks
_AXIS_LETTERS = "DHW"


def check_pad_length(ndim: int, pads) -> None:
    """An even number of pads, at most two per dimension."""
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pads) // 2 > ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pads)} and input of dimension "
                           f"{ndim}")


def check_pad(shape, pads, mode: str) -> None:
    """Raise as torch does when ``pads`` cannot pad an input of ``shape`` in ``mode``.

    Checks sizes only (F.pad checks the number of dimensions): constant pads may crop down to
    an empty axis; reflect needs every pad < the axis size; circular may wrap at most once;
    reflect and replicate need a non-empty output (ATen requires it of at least one axis).
    """
    check_pad_length(len(shape), pads)
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    axes = list(_axis_pads(len(shape), pads))
    for axis, left, right in axes:
        n, out = shape[axis], shape[axis] + left + right
        if mode == "constant" and out < 0:
            raise RuntimeError(f"The input size {n}, plus negative padding {left} and {right} "
                               "resulted in a negative output size, which is invalid. Check "
                               f"dimension {axis} of your input.")
        if mode == "reflect" and (left >= n or right >= n):
            raise RuntimeError(f"Argument #{2 + 2 * len(axes)}: Padding size should be less than "
                               "the corresponding input dimension, but got: padding "
                               f"({left}, {right}) at dimension {axis} of input {list(shape)}")
        if mode == "circular":
            if left > n or right > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if out < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            kept = n - max(-left, 0) - max(-right, 0)
            if kept <= 0 < out:
                # torch reads uninitialised memory here; refuse instead of inventing values
                raise RuntimeError(f"circular padding ({left}, {right}) of dimension {axis} "
                                   f"crops all {n} elements and then pads from nothing")
    if mode in ("reflect", "replicate"):
        outs = [shape[a] + l + r for a, l, r in axes]
        if all(o < 1 for o in outs) or any(o < 0 for o in outs):
            letters = _AXIS_LETTERS[-len(axes):]
            ins = ", ".join(f"{c}: {shape[a]}" for c, (a, _, _) in zip(letters, reversed(axes)))
            res = " ".join(f"{c}: {o}" for c, o in zip(letters, reversed(outs)))
            raise RuntimeError(f"input ({ins}) is too small. Calculated output {res}")
