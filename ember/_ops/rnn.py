"""Recurrent layers as differentiable ops: ``RNNLayer`` (one layer, one direction, forward and
backward through time side by side on ember/_kernels/rnn.py) and ``rnn``, the stack of layers
and directions that torch's ``_VF.lstm`` / ``_VF.gru`` / ``_VF.rnn_tanh`` compute, on the packed
layout (a dense batch is packed with equal batch sizes)."""
from __future__ import annotations

import functools

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
        # the biases only for a recorded backward (backward_graph recomputes the layer)
        ctx.save_for_backward(x, w_ih, w_hh, w_hr, h0, c0, y, b_ih, b_hh)
        return (y, h_n, c_n) if mode == "LSTM" else (y, h_n)

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n=None):
        x, w_ih, w_hh, w_hr, h0, c0, y = ctx.saved_tensors[:7]
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
        # create_graph=True: the time loop's derivative is computed by hand in the kernel, its
        # own derivative is not; so the layer is recomputed from recorded Tensor ops (each with
        # its own double backward) and differentiated. Only the recorded pass pays for this.
        from ..autograd.higher_order import grad_of, input_links
        mode, _, batch_sizes, reverse, _ = ctx.conf
        return grad_of(functools.partial(layer_composed, mode, batch_sizes, reverse), ctx,
                       grads, input_links(ctx)[:8]) + (None,) * 4


def layer_composed(mode, batch_sizes, reverse, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0):
    """RNNLayer's forward in Tensor ops, step by step over the packed layout (the same
    arithmetic as ember/_kernels/rnn.py, so its gradient is the layer's to any order)."""
    hidden = w_hh.shape[0] // K.gate_count(mode)
    offsets, order = K.step_order(batch_sizes, reverse)
    gx = x @ w_ih.t()
    if b_ih is not None:
        gx = gx + b_ih
    h, c = h0, c0
    outs = [None] * len(batch_sizes)
    for t in order:
        bs = int(batch_sizes[t])
        h_run = h[:bs]
        gh = h_run @ w_hh.t()
        if b_hh is not None:
            gh = gh + b_hh
        pre = gx[offsets[t]:offsets[t] + bs]
        if mode == "LSTM":
            gates = pre + gh
            i, f = gates[:, :hidden].sigmoid(), gates[:, hidden:2 * hidden].sigmoid()
            g, o = gates[:, 2 * hidden:3 * hidden].tanh(), gates[:, 3 * hidden:].sigmoid()
            c_new = f * c[:bs] + i * g
            h_new = o * c_new.tanh()
            if w_hr is not None:
                h_new = h_new @ w_hr.t()
            c = _carry(c_new, c)
        elif mode == "GRU":
            rz = (pre[:, :2 * hidden] + gh[:, :2 * hidden]).sigmoid()
            r, z = rz[:, :hidden], rz[:, hidden:]
            n = (pre[:, 2 * hidden:] + r * gh[:, 2 * hidden:]).tanh()
            h_new = n + z * (h_run - n)
        else:
            h_new = pre + gh
            h_new = h_new.relu() if mode == "RNN_RELU" else h_new.tanh()
        outs[t] = h_new
        h = _carry(h_new, h)
    y = cat(outs, 0)
    return (y, h, c) if mode == "LSTM" else (y, h)


def _carry(new, state):
    """The state after a step: the running sequences' new rows, the others' rows kept."""
    bs = new.shape[0]
    return new if bs == state.shape[0] else cat([new, state[bs:]], 0)

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
