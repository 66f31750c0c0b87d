"""Recurrent layers as differentiable ops: ``RNNLayer`` (one layer, one direction, forward and
backward through time side by side on ember/_kernels/rnn.py) and ``rnn``, the stack of layers
and directions that torch's ``_VF.lstm`` / ``_VF.gru`` / ``_VF.rnn_tanh`` compute, on the packed
layout (a dense batch is packed with equal batch sizes)."""
from __future__ import annotations

import numpy as np

from .._kernels import rnn as K
from ..autograd.function import Function
from .joins import cat, stack

LAYER_NAMES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


class RNNLayer(Function):
    """(y, h_n[, c_n]) of one layer in one direction over a packed sequence.

    Arguments: x (N, I), w_ih, w_hh, b_ih, b_hh (or None), w_hr (LSTM projection, or None),
    h0 (B, P), c0 (B, H, LSTM only, else None), then mode, the layer's name for messages,
    batch_sizes (int64 array) and reverse. Saves x, the weights, h0, c0, y and the kernel's
    gate states (see ember/_kernels/rnn.py).
    """

    name = "RNNLayerBackward0"

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, mode, layer, batch_sizes, reverse):
        y, h_n, c_n, saved = K.layer_forward(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0,
                                             batch_sizes, reverse)
        ctx.conf = (mode, layer, batch_sizes, reverse, b_ih is not None)
        ctx.gate_states = saved
        ctx.save_for_backward(x, w_ih, w_hh, w_hr, h0, c0, y)
        return (y, h_n, c_n) if mode == "LSTM" else (y, h_n)

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n=None):
        x, w_ih, w_hh, w_hr, h0, c0, y = ctx.saved_tensors
        mode, _, batch_sizes, reverse, has_bias = ctx.conf
        need = ctx.needs_input_grad
        needs = (need[0], need[1], need[2], need[3] or need[4], need[5], need[6], need[7])
        dtype = y.dtype
        dy = np.ascontiguousarray(dy, dtype=dtype)
        dc_n = None if dc_n is None else np.ascontiguousarray(dc_n, dtype=dtype)
        dx, dw_ih, dw_hh, db_ih, db_hh, dw_hr, dh0, dc0 = K.layer_backward(
            mode, dy, dh_n, dc_n, x, w_ih, w_hh, w_hr, h0, c0, y, ctx.gate_states,
            batch_sizes, reverse, has_bias, needs)
        return dx, dw_ih, dw_hh, db_ih, db_hh, dw_hr, dh0, dc0, None, None, None, None

    @staticmethod
    def backward_graph(ctx, *grads):
        # The time loop's derivative is computed by hand in the kernel; its own derivative is
        # not. Refuse rather than return a silently wrong (zero) second derivative.
        raise RuntimeError(f"double backward of {ctx.conf[1]} is not implemented in ember "
                           "(create_graph=True reached its fused recurrent kernel)")


def rnn(mode, x, batch_sizes, hx, cx, weights, num_layers, bidirectional, between_layers=None,
        layer=None):
    """The stacked recurrent network over packed data.

    x (N, input_size) Tensor in the packed layout of ``batch_sizes`` (int64 array); hx
    (num_layers * D, B, P) and, for LSTM, cx (num_layers * D, B, H); ``weights`` one list per
    layer and direction, in torch's order: [w_ih, w_hh, b_ih, b_hh, w_hr] (None for an absent
    one). ``between_layers`` (the caller's dropout, in training) maps every layer's output but
the last's before the next layer reads it. Returns
    (output (N, D * P), h_n, c_n or None).
    """
    layer = layer or LAYER_NAMES[mode]
    directions = 2 if bidirectional else 1
    h_finals, c_finals = [], []
    for index in range(num_layers):
        outs = []
        for d in range(directions):
            k = index * directions + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            c0 = cx[k] if mode == "LSTM" else None
            res = RNNLayer.apply(x, w_ih, w_hh, b_ih, b_hh, w_hr, hx[k], c0, mode, layer,
                                 batch_sizes, d == 1)
            outs.append(res[0])
            h_finals.append(res[1])
            if mode == "LSTM":
                c_finals.append(res[2])
        x = outs[0] if directions == 1 else cat(outs, 1)
        if between_layers is not None and index < num_layers - 1:
            x = between_layers(x)
    c_n = stack(c_finals, 0) if mode == "LSTM" else None
    return x, stack(h_finals, 0), c_n
