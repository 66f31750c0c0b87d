"""Matrix products. One Function covers every ``matmul`` case (vector, matrix, batched,
broadcast); subclasses only carry torch's grad_fn names."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .util import unbroadcast


class MatMul(Function):
    name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # promote vectors to matrices so one formula serves all: (.., n, k) @ (.., k, m)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Mv(MatMul):
    name = "MvBackward0"


class Dot(MatMul):
    name = "DotBackward0"


class Bmm(MatMul):
    name = "BmmBackward0"


class BatchedMatMul(MatMul):
    name = "UnsafeViewBackward0"


def matmul_function(ndim_a: int, ndim_b: int):
    if ndim_a == 1 and ndim_b == 1:
        return Dot
    if ndim_a == 2 and ndim_b == 1:
        return Mv
    if ndim_a == 2 and ndim_b == 2:
        return MatMul
    return BatchedMatMul
