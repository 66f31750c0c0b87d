"""Functions for writes while autograd records: overwriting a tensor, writing into a view.

``copy_``/``fill_`` on a tensor in the graph record ``Overwrite``/``Fill``. An in-place op on a
*view* rebases the view's base, as torch does: the base's new node is ``CopySlices`` (the old
base with the view's region replaced by the op's result), and the view becomes
``AsStrided`` of the new base. ``view_geometry`` says where a view lies in its base's memory.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..autograd.function import Function
from .util import unbroadcast

class Overwrite(Function):
    """The value of ``a.copy_(src)`` while autograd records: ``src`` broadcast to ``a``'s shape and
    dtype. The overwritten value gets no gradient; ``src`` gets the gradient summed back."""

    name = "CopyBackwards"

    @staticmethod
    def forward(ctx, a, src):
        src = np.asarray(src)
        ctx.src = (src.shape, src.dtype)
        return np.broadcast_to(src, a.shape).astype(a.dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.src
        return None, unbroadcast(g, shape).astype(dtype, copy=False) if ctx.needs_input_grad[1] else None


class Fill(Overwrite):
    name = "FillBackward2"


def view_geometry(base, view):
    """Where ``view`` lies in ``base``'s memory: (offset, strides) in elements, for a C-contiguous
    base. This is what CopySlices and AsStridedBackward need to route a gradient."""
    itemsize = base.itemsize
    offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if not base.flags.c_contiguous or view.dtype != base.dtype or offset % itemsize \
            or builtins.any(st % itemsize for st in view.strides) or not np.shares_memory(base, view):
        raise RuntimeError("ember supports in-place operations on a view while autograd records "
                           "only when the view's base is contiguous; clone() the view first, or "
                           "make the base contiguous")
    strides = tuple(st // itemsize for st in view.strides)
    if view.size > 1 and builtins.any(st == 0 and n > 1 for st, n in zip(strides, view.shape)):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    return base.shape, view.shape, offset // itemsize, strides


def view_region(flat_array, geometry):
    """The view's elements inside an array laid out like its base (C order), as a writable view."""
    _, shape, offset, strides = geometry
    item = flat_array.itemsize
    return np.lib.stride_tricks.as_strided(flat_array[offset:], shape, tuple(st * item for st in strides))


class CopySlices(Function):
    """The base's new value after an in-place op on its view: the old base with the view's region
    replaced by the op's result. Gradient: the region goes to the result, the rest to the base."""

    name = "CopySlices"

    @staticmethod
    def forward(ctx, base, result, geometry):
        ctx.geometry = geometry
        return base  # the result is already written into the base's memory

    @staticmethod
    def backward(ctx, g):
        g = np.array(g, order="C").reshape(-1)  # a copy: the region is cleared below
        region = view_region(g, ctx.geometry)
        g_result = region.copy()
        region[...] = 0
        return g.reshape(ctx.geometry[0]), g_result, None


class AsStrided(Function):
    """A view, as a function of its (rebased) base: backward scatters into zeros of the base."""

    name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, base, geometry):
        ctx.geometry = geometry
        return view_region(np.ascontiguousarray(base).reshape(-1), geometry)

    @staticmethod
    def backward(ctx, g):
        out = np.zeros(int(np.prod(ctx.geometry[0])), g.dtype)
        view_region(out, ctx.geometry)[...] = g
        return out.reshape(ctx.geometry[0]), None
