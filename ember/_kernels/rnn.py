"""Recurrent layers (RNN tanh/relu, LSTM, GRU): one layer in one direction, forward and
backward through time, on NumPy arrays.

Every sequence is in torch's *packed* layout: ``x`` is (N, input_size), the rows of step ``t``
are ``x[offsets[t]:offsets[t] + batch_sizes[t]]`` and ``batch_sizes`` never increases, so the
sequences still running at step ``t`` are the first ``batch_sizes[t]`` of the batch. A dense
(T, B, I) input is the packed layout with ``batch_sizes = [B] * T``. A row past the end of its
sequence keeps its state, so the final state of each sequence is its last *valid* one (the
reverse direction starts each sequence from h0 at its own last step), as torch.

Work per layer and direction:

* the input projection of all steps is one GEMM, ``x @ W_ih^T + b``;
* the time loop does, per step, one GEMM of the running state with ``W_hh^T`` (NumPy's BLAS) and
  one compiled numba kernel for the gates (activations, cell update, and in backward their
  derivatives). numba cannot call BLAS without SciPy, which ember does not depend on, and a
  numba-written GEMM is several times slower than BLAS at these sizes, so the GEMM of each step
  stays outside the kernel;
* backward: the gradients of the gate pre-activations of every step, ``dG`` (N, G), come out of
  the loop; then ``dx = dG @ W_ih``, ``dW_ih = dG^T x``, ``dW_hh = dG^T h_prev`` and the bias
  gradients ``dG.sum(0)`` are GEMMs / reductions over all steps at once.

Saved for backward (besides the inputs and the output ``y``): LSTM the activated gates
(i, f, g, o) and the cell states; GRU r, z, n and ``W_hn h + b_hn``; RNN nothing more (its
derivative reads y). Gate layouts are torch's: LSTM i, f, g, o; GRU r, z, n with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (TRAPS.md 21).
"""
from __future__ import annotations

import math

import numba
import numpy as np

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")


def gate_count(mode: str) -> int:
    return {"LSTM": 4, "GRU": 3}.get(mode, 1)


# --------------------------------------------------------------------------- step kernels

@numba.njit(cache=True)
def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


@numba.njit(cache=True)
def rnn_step_forward(pre, gh, relu, h_state, y):
    """pre (bs, H) holds x W_ih^T + b_ih + b_hh; adds gh = h W_hh^T, applies the
    nonlinearity; writes the new state into h_state[:bs] and y (bs, H)."""
    bs, hidden = pre.shape
    for b in range(bs):
        for j in range(hidden):
            v = pre[b, j] + gh[b, j]
            v = (v if v > 0 else 0.0) if relu else math.tanh(v)
            h_state[b, j] = v
            y[b, j] = v


@numba.njit(cache=True)
def rnn_step_backward(dh, y, relu, dpre):
    """dh (bs, H): gradient of the step's output; y its value; writes d(pre-activation)."""
    bs, hidden = dh.shape
    for b in range(bs):
        for j in range(hidden):
            v = y[b, j]
            dpre[b, j] = (dh[b, j] if v > 0 else 0.0) if relu else dh[b, j] * (1.0 - v * v)


@numba.njit(cache=True)
def lstm_step_forward(gates, gh, c_state, c_saved, m):
    """gates (bs, 4H) holds x W_ih^T + b_ih + b_hh: adds gh = h W_hh^T and activates in place
    (i, f, o sigmoid, g tanh); c = f c_prev + i g into c_state[:bs] and c_saved;
    m = o tanh(c) (the new h before any projection)."""
    bs, hidden = m.shape
    for b in range(bs):
        for j in range(hidden):
            i = _sigmoid(gates[b, j] + gh[b, j])
            f = _sigmoid(gates[b, hidden + j] + gh[b, hidden + j])
            g = math.tanh(gates[b, 2 * hidden + j] + gh[b, 2 * hidden + j])
            o = _sigmoid(gates[b, 3 * hidden + j] + gh[b, 3 * hidden + j])
            gates[b, j] = i
            gates[b, hidden + j] = f
            gates[b, 2 * hidden + j] = g
            gates[b, 3 * hidden + j] = o
            c = f * c_state[b, j] + i * g
            c_state[b, j] = c
            c_saved[b, j] = c
            m[b, j] = o * math.tanh(c)


@numba.njit(cache=True)
def lstm_step_backward(dm, gates, c, c_prev, dc_state, dgates):
    """dm (bs, H): gradient of o tanh(c); dc_state[:bs] the cell gradient from the later steps,
    replaced by the gradient reaching c_prev; writes the pre-activation gradients dgates."""
    bs, hidden = dm.shape
    for b in range(bs):
        for j in range(hidden):
            i = gates[b, j]
            f = gates[b, hidden + j]
            g = gates[b, 2 * hidden + j]
            o = gates[b, 3 * hidden + j]
            tc = math.tanh(c[b, j])
            dc = dc_state[b, j] + dm[b, j] * o * (1.0 - tc * tc)
            dgates[b, j] = dc * g * i * (1.0 - i)
            dgates[b, hidden + j] = dc * c_prev[b, j] * f * (1.0 - f)
            dgates[b, 2 * hidden + j] = dc * i * (1.0 - g * g)
            dgates[b, 3 * hidden + j] = dm[b, j] * tc * o * (1.0 - o)
            dc_state[b, j] = dc * f


@numba.njit(cache=True)
def gru_step_forward(gx, gh, b_hh, h_state, saved, y):
    """gx (bs, 3H) = x W_ih^T + b_ih, gh (bs, 3H) = h W_hh^T; r = s(gx_r + gh_r + b_hr),
    z likewise, n = tanh(gx_n + r (gh_n + b_hn)), h' = (1 - z) n + z h. Saves r, z, n and
    gh_n + b_hn in ``saved`` (bs, 4H); writes h' into h_state[:bs] and y."""
    bs, hidden = y.shape
    for b in range(bs):
        for j in range(hidden):
            r = _sigmoid(gx[b, j] + gh[b, j] + b_hh[j])
            z = _sigmoid(gx[b, hidden + j] + gh[b, hidden + j] + b_hh[hidden + j])
            hn = gh[b, 2 * hidden + j] + b_hh[2 * hidden + j]
            n = math.tanh(gx[b, 2 * hidden + j] + r * hn)
            h = (1.0 - z) * n + z * h_state[b, j]
            saved[b, j] = r
            saved[b, hidden + j] = z
            saved[b, 2 * hidden + j] = n
            saved[b, 3 * hidden + j] = hn
            h_state[b, j] = h
            y[b, j] = h


@numba.njit(cache=True)
def gru_step_backward(dh, saved, h_prev, dgx, dgh, dh_direct):
    """dh (bs, H): gradient of h'; writes the gradients of gx (dgx) and of gh + b_hh (dgh), and
    dh_direct = dh z, the part of h_prev's gradient that bypasses W_hh."""
    bs, hidden = dh.shape
    for b in range(bs):
        for j in range(hidden):
            r = saved[b, j]
            z = saved[b, hidden + j]
            n = saved[b, 2 * hidden + j]
            hn = saved[b, 3 * hidden + j]
            d = dh[b, j]
            dn = d * (1.0 - z) * (1.0 - n * n)
            dz = d * (h_prev[b, j] - n) * z * (1.0 - z)
            dr = dn * hn * r * (1.0 - r)
            dgx[b, j] = dr
            dgx[b, hidden + j] = dz
            dgx[b, 2 * hidden + j] = dn
            dgh[b, j] = dr
            dgh[b, hidden + j] = dz
            dgh[b, 2 * hidden + j] = dn * r
            dh_direct[b, j] = d * z


@numba.njit(cache=True)
def previous_states(states, s0, batch_sizes, offsets, reverse, out):
    """out[rows of step t] = the state each running sequence had before step t: the rows of the
    previous step in the direction of travel, or s0 where a sequence starts at t."""
    steps = batch_sizes.shape[0]
    width = states.shape[1]
    for t in range(steps):
        bs = batch_sizes[t]
        prev = t + 1 if reverse else t - 1
        n_prev = 0
        if 0 <= prev < steps:
            n_prev = min(bs, batch_sizes[prev])
        for b in range(bs):
            for j in range(width):
                if b < n_prev:
                    out[offsets[t] + b, j] = states[offsets[prev] + b, j]
                else:
                    out[offsets[t] + b, j] = s0[b, j]


# --------------------------------------------------------------------------- one layer

def _steps(batch_sizes, reverse):
    offsets = np.zeros(len(batch_sizes) + 1, dtype=np.int64)
    np.cumsum(batch_sizes, out=offsets[1:])
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    return offsets, order


def layer_forward(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, batch_sizes, reverse):
    """One layer, one direction. x (N, I) packed; h0 (B, P); c0 (B, H) for LSTM (else None);
    biases and w_hr may be None. Returns (y (N, P), h_n, c_n or None, saved)."""
    n_rows = x.shape[0]
    hidden = w_hh.shape[0] // gate_count(mode)
    dtype = x.dtype
    offsets, order = _steps(batch_sizes, reverse)
    gx = x @ w_ih.T                                   # all steps' input projection: one GEMM
    if b_ih is not None:
        gx += b_ih
        if mode != "GRU":                             # GRU's b_hn sits inside r * (...)
            gx += b_hh
    w_hh_t = w_hh.T
    h_state = np.array(h0, dtype=dtype, order="C")
    out_width = h_state.shape[1]
    y = np.empty((n_rows, out_width), dtype=dtype)
    batch = h_state.shape[0]
    gh = np.empty((batch, w_hh.shape[0]), dtype=dtype)
    saved = c_state = None
    if mode == "LSTM":
        c_state = np.array(c0, dtype=dtype, order="C")
        saved = np.empty((n_rows, hidden), dtype=dtype)        # cell states
        m = np.empty((batch, hidden), dtype=dtype) if w_hr is not None else None
    elif mode == "GRU":
        saved = np.empty((n_rows, 4 * hidden), dtype=dtype)    # r, z, n, W_hn h + b_hn
        b_hh_arr = np.zeros(3 * hidden, dtype=dtype) if b_hh is None else b_hh
    relu = mode == "RNN_RELU"
    for t in order:
        bs = int(batch_sizes[t])
        lo, hi = offsets[t], offsets[t] + bs
        step_gh = gh[:bs]
        np.matmul(h_state[:bs], w_hh_t, out=step_gh)
        if mode == "LSTM":
            if w_hr is None:
                lstm_step_forward(gx[lo:hi], step_gh, c_state, saved[lo:hi], y[lo:hi])
                h_state[:bs] = y[lo:hi]
            else:
                lstm_step_forward(gx[lo:hi], step_gh, c_state, saved[lo:hi], m[:bs])
                np.matmul(m[:bs], w_hr.T, out=y[lo:hi])
                h_state[:bs] = y[lo:hi]
        elif mode == "GRU":
            gru_step_forward(gx[lo:hi], step_gh, b_hh_arr, h_state, saved[lo:hi], y[lo:hi])
        else:
            rnn_step_forward(gx[lo:hi], step_gh, relu, h_state, y[lo:hi])
    if mode == "LSTM":
        saved = (gx, saved)                           # gx now holds the activated gates
    return y, h_state, c_state, saved


def layer_backward(mode, dy, dh_n, dc_n, x, w_ih, w_hh, w_hr, h0, c0, y, saved,
                   batch_sizes, reverse, has_bias, needs):
    """Gradients of one layer-direction. ``needs``: which of (x, w_ih, w_hh, bias, w_hr, h0,
    c0) are wanted. Returns (dx, dw_ih, dw_hh, db_ih, db_hh, dw_hr, dh0, dc0), None where not
    wanted."""
    need_x, need_wih, need_whh, need_b, need_whr, need_h0, need_c0 = needs
    dtype = x.dtype
    n_rows = x.shape[0]
    hidden = w_hh.shape[0] // gate_count(mode)
    offsets, order = _steps(batch_sizes, reverse)
    backward_order = list(order)[::-1]
    batch = h0.shape[0]
    h_prev = np.empty_like(y)
    previous_states(y, h0, batch_sizes, offsets, reverse, h_prev)
    dh_state = np.array(dh_n, dtype=dtype, order="C")
    dgates = np.empty((n_rows, w_hh.shape[0]), dtype=dtype)
    dh_step = np.empty((batch, y.shape[1]), dtype=dtype)
    carry = np.empty_like(dh_step)
    dgh = dh_total = dc_state = None
    relu = mode == "RNN_RELU"
    if mode == "LSTM":
        gates, cells = saved
        c_prev = np.empty_like(cells)
        previous_states(cells, c0, batch_sizes, offsets, reverse, c_prev)
        dc_state = np.array(dc_n, dtype=dtype, order="C")
        if w_hr is not None:
            dh_total = np.empty_like(y)
            dm = np.empty((batch, hidden), dtype=dtype)
    elif mode == "GRU":
        dgh = np.empty_like(dgates)
        direct = np.empty_like(dh_step)
    for t in backward_order:
        bs = int(batch_sizes[t])
        lo, hi = offsets[t], offsets[t] + bs
        dh = dh_step[:bs]
        np.add(dy[lo:hi], dh_state[:bs], out=dh)
        if mode == "LSTM":
            if w_hr is not None:
                dh_total[lo:hi] = dh
                np.matmul(dh, w_hr, out=dm[:bs])
                dh = dm[:bs]
            lstm_step_backward(dh, gates[lo:hi], cells[lo:hi], c_prev[lo:hi], dc_state,
                               dgates[lo:hi])
            np.matmul(dgates[lo:hi], w_hh, out=dh_state[:bs])
        elif mode == "GRU":
            gru_step_backward(dh, saved[lo:hi], h_prev[lo:hi], dgates[lo:hi], dgh[lo:hi],
                              direct[:bs])
            np.matmul(dgh[lo:hi], w_hh, out=carry[:bs])
            np.add(carry[:bs], direct[:bs], out=dh_state[:bs])
        else:
            rnn_step_backward(dh, y[lo:hi], relu, dgates[lo:hi])
            np.matmul(dgates[lo:hi], w_hh, out=dh_state[:bs])
    dgh_all = dgates if dgh is None else dgh           # LSTM and RNN: gh and gx share a grad
    dx = dgates @ w_ih if need_x else None
    dw_ih = dgates.T @ x if need_wih else None
    dw_hh = dgh_all.T @ h_prev if need_whh else None
    db_ih = db_hh = None
    if has_bias and need_b:
        db_ih = dgates.sum(axis=0)
        db_hh = db_ih.copy() if dgh is None else dgh.sum(axis=0)
    dw_hr = None
    if w_hr is not None and need_whr:
        m = gates[:, 3 * hidden:] * np.tanh(cells)
        dw_hr = dh_total.T @ m
    dh0 = dh_state if need_h0 else None
    dc0 = dc_state if mode == "LSTM" and need_c0 else None
    return dx, dw_ih, dw_hh, db_ih, db_hh, dw_hr, dh0, dc0
