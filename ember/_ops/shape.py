"""Shape operations. Reshape, permute, expand, split and basic indexing return views that share
memory (and the version counter) with their input, as torch's do; the others copy."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .util import unbroadcast


class View(Function):
    """A reshape that must not copy (Tensor.view): raises where torch's view does."""

    is_view = True

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        out = a.view()
        try:
            out.shape = shape  # NumPy refuses (instead of copying) when strides don't allow it
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                               "least one dimension spans across two contiguous subspaces). Use "
                               ".reshape(...) instead.") from None
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Reshape(Function):
    """reshape / flatten / unflatten / squeeze / unsqueeze: a view when strides allow, else a copy."""

    name = "ViewBackward0"

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class ReshapeView(Reshape):
    is_view = True
    name = "ViewBackward0"


class Permute(Function):
    is_view = True

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, ctx.inverse), None


class Transpose(Permute):
    is_view = True


class Expand(Function):
    is_view = True

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.in_shape), None


class Repeat(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, reps):
        ctx.meta = (a.shape, reps)
        return np.tile(a.reshape((1,) * (len(reps) - a.ndim) + a.shape), reps)

    @staticmethod
    def backward(ctx, g):
        shape, reps = ctx.meta
        padded = (1,) * (len(reps) - len(shape)) + shape
        # split every axis into (repeat, size) and sum over the repeats
        split = []
        for r, s in zip(reps, padded):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(shape), None


class Flip(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.flip(a, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return np.flip(g, ctx.axes), None


class Roll(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, shifts, axes):
        ctx.meta = (shifts, axes)
        return np.roll(a, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        shifts, axes = ctx.meta
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return np.roll(g, neg, axes), None, None


class Cat(Function):
    affine_in = "all"  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        bounds = np.cumsum(ctx.sizes)[:-1]
        return (None, *np.split(g, bounds, axis=ctx.axis))


class Stack(Function):
    affine_in = "all"  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        n = g.shape[ctx.axis]
        return (None, *(np.take(g, i, axis=ctx.axis) for i in range(n)))


class Split(Function):
    """Split into views along ``axis`` at the given section sizes."""

    is_view = True
    name = "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx, a, sizes, axis):
        ctx.meta = (a.shape, axis)
        bounds = np.cumsum(sizes)[:-1]
        return tuple(np.split(a, bounds, axis=axis))

    @staticmethod
    def backward(ctx, *grads):
        return np.concatenate(grads, axis=ctx.meta[1]), None, None

    @staticmethod
    def backward_graph(ctx, *grads):
        return Cat.apply(ctx.meta[1], *grads), None, None


class Contiguous(Function):
    name = "CloneBackward0"

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a):
        return np.ascontiguousarray(a) if not a.flags.c_contiguous else a.copy()

    @staticmethod
    def backward(ctx, g):
        return g
