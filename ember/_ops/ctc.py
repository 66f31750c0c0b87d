"""The CTC loss per sample, as aten's ``_ctc_loss``: forward (alpha recursion) and backward
(beta recursion and torch's gradient formula) side by side, on the kernels of
``ember/_kernels/ctc.py``. ``F.ctc_loss`` checks the arguments and reduces."""
from __future__ import annotations

import numpy as np

from .._kernels import ctc as K
from ..autograd.function import Function


def _work(log_alpha) -> int:
    """The recursion's work in the units of the kernels' parallel threshold (elements of cheap
    elementwise work): a cell of the (N, T, 2S+1) lattice costs a log-sum-exp and an add, about
    as much as 16 such elements, so a batch worth a few tenths of a millisecond already runs on
    all the threads (the cells are an upper bound; the windows visit fewer)."""
    return 16 * log_alpha.size


class CtcLoss(Function):
    """``log_probs`` (T, N, C) -> the negative log-likelihoods (N,).

    Non-tensor arguments, made and checked by ``F.ctc_loss``: ``targets`` (N, S) int64 padded,
    ``input_lengths``/``target_lengths`` (N,) int64, ``blank``, ``zero_infinity``. Saved for
    backward: log_probs (version-checked), the losses and log_alpha (N, T, 2S+1), as torch.
    torch's backward is not differentiable again, nor is this one.
    """
    name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = np.ascontiguousarray(log_probs)
        n_batch = lp.shape[1]
        nll = np.empty(n_batch, dtype=lp.dtype)
        log_alpha = np.empty((n_batch, lp.shape[0], 2 * targets.shape[1] + 1), dtype=lp.dtype)
        K.ctc_alpha(lp, targets, input_lengths, target_lengths, blank, nll, log_alpha,
                    work=_work(log_alpha))
        ctx.save_for_backward(log_probs)
        ctx.lengths = (targets, input_lengths, target_lengths, blank, zero_infinity)
        ctx.alpha = (nll, log_alpha)
        return nll.copy()  # the output may be changed in place; the saved nll must not

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        targets, input_lengths, target_lengths, blank, zero_infinity = ctx.lengths
        nll, log_alpha = ctx.alpha
        lp = np.ascontiguousarray(log_probs)
        grad_in = np.empty_like(lp)
        K.ctc_grad(np.ascontiguousarray(grad, dtype=lp.dtype), lp, targets, input_lengths,
                   target_lengths, blank, bool(zero_infinity), nll, log_alpha, grad_in,
                   work=2 * _work(log_alpha))
        return grad_in, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        from ..autograd.higher_order import saved
        (log_probs,) = saved(ctx)
        return _CtcLossBackward.apply(grad, log_probs, ctx), None, None, None, None, None


class _CtcLossBackward(Function):
    """CtcLoss's backward as a recorded node (create_graph=True): its value is the array
    backward's; differentiating it raises, with torch's message."""
    name = "NotImplemented"

    @staticmethod
    def forward(ctx, grad, log_probs, node):
        return CtcLoss.backward(node, grad)[0]

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")
