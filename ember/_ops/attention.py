"""Scaled dot-product attention as one Function: two batched GEMMs around a softmax.

    S  = scale * Q K^T + bias          (..., L, S)   bias: the additive mask (or None)
    P  = softmax(S) over the last axis; with ``safe``, rows where every S is -inf give 0
         (torch's ``_safe_softmax``, used by its SDPA), otherwise they give NaN (torch's plain
         softmax, used by MultiheadAttention's need_weights path and its fast path)
    Pd = P * keep                      keep: dropout's scaled keep mask (or None)
    O  = Pd V                          (..., L, Ev)

backward (g = dO, gW = dPd when the weights are an output too):
    dV = Pd^T g,  dPd = g V^T + gW,  dP = dPd * keep,  dS = P (dP - sum(dP P)),
    dQ = scale dS K,  dK = scale dS^T Q,  dbias = dS (each summed over broadcast batch dims).

One node instead of five keeps the (..., L, S) intermediates to P alone and the Python overhead
to one call; ``backward_graph`` recomputes the same composition from recorded ops, so second
derivatives hold too.
"""
from __future__ import annotations

import numpy as np

from .._kernels import activation as K
from ..autograd.function import Function
from .util import unbroadcast


def _probabilities(scores: np.ndarray, safe: bool) -> np.ndarray:
    p = K.softmax(scores, scores.ndim - 1)
    if safe:
        dead = np.all(scores == -np.inf, axis=-1, keepdims=True)
        if dead.any():
            p = np.where(dead, 0, p).astype(p.dtype, copy=False)
    return p


def _mT(a):
    return np.swapaxes(a, -1, -2)


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(scale Q K^T + bias)) V; see the module docstring."""
    name = "ScaledDotProductAttentionBackward0"

    @staticmethod
    def forward(ctx, q, k, v, bias, scale, keep, safe, weights_out=False):
        scores = np.matmul(q * q.dtype.type(scale), _mT(k))
        if bias is not None:
            scores = np.add(scores, bias, out=scores) if np.broadcast_shapes(
                scores.shape, bias.shape) == scores.shape else scores + bias
        p = _probabilities(scores, safe)
        pd = p if keep is None else p * keep
        out = np.matmul(pd, v)
        # the bias is saved only for backward_graph, which recomputes the scores from it
        ctx.save_for_backward(q, k, v, p, *(() if bias is None else (bias,)))
        ctx.keep, ctx.scale, ctx.safe, ctx.weights_out = keep, scale, safe, weights_out
        ctx.bias_shape = None if bias is None else bias.shape
        return (out, pd) if weights_out else out

    @staticmethod
    def backward(ctx, g, g_weights=None):
        q, k, v, p = ctx.saved_tensors[:4]
        keep, scale = ctx.keep, ctx.scale
        need_q, need_k, need_v, need_bias = ctx.needs_input_grad[:4]
        pd = p if keep is None else p * keep
        gv = unbroadcast(np.matmul(_mT(pd), g), v.shape) if need_v else None
        gq = gk = gb = None
        if need_q or need_k or need_bias:
            dp = np.matmul(g, _mT(v))
            if g_weights is not None:
                dp += g_weights
            if keep is not None:
                dp *= keep
            ds = K.softmax_grad(dp, p, p.ndim - 1)
            if need_bias:
                gb = unbroadcast(ds, ctx.bias_shape)
            s = q.dtype.type(scale)
            if need_q:
                gq = unbroadcast(np.matmul(ds, k) * s, q.shape)
            if need_k:
                gk = unbroadcast(np.matmul(_mT(ds), q) * s, k.shape)
        return gq, gk, gv, gb, None, None, None, None

    @staticmethod
    def backward_graph(ctx, *grads):
        from ..autograd.function import tensor_class
        from ..autograd.higher_order import constant, grad_of, input_links
        keep, scale, safe = ctx.keep, ctx.scale, ctx.safe
        dead = np.all(ctx.saved_tensors[3] == 0, axis=-1, keepdims=True) if safe else None

        def composed(q, k, v, bias, *_):
            scores = (q * scale).matmul(k.transpose(-2, -1))
            if bias is not None:
                scores = scores + bias
            p = scores.softmax(-1)
            if dead is not None and dead.any():   # rows the forward zeroed stay zero
                p = p.masked_fill(tensor_class()._wrap(dead), 0.0)
            pd = p if keep is None else p * constant(keep, p)
            out = pd.matmul(v)
            return (out, pd) if ctx.weights_out else out
        return grad_of(composed, ctx, grads, input_links(ctx))


class AttentionWithWeights(ScaledDotProductAttention):
    """The same node, applied with weights_out=True to return (O, Pd): MultiheadAttention's
    need_weights=True path."""
    name = "BmmBackward0"


class _SdpaFlashCpu(ScaledDotProductAttention):
    name = "ScaledDotProductFlashAttentionForCpuBackward0"


class _SdpaView(ScaledDotProductAttention):
    name = "UnsafeViewBackward0"


class _SdpaMm(ScaledDotProductAttention):
    name = "MmBackward0"


def sdpa_function(ndims, dtype, math_only: bool):
    """The node torch would record: its CPU flash kernel takes 4-d float32 inputs without
    dropout (or expanded heads); its math path ends in matmul's nodes."""
    if max(ndims) == 2:
        return _SdpaMm
    flash = min(ndims) == 4 and max(ndims) == 4 and dtype == np.float32 and not math_only
    return _SdpaFlashCpu if flash else _SdpaView
