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
* the time loop does, per step, one GEMM of the running state with ``W_hh^T`` (NumPy's BLAS),
  the activations as NumPy ufuncs over the step's gate block (SIMD exp/tanh) and one numba
  kernel for the rest of the cell arithmetic (in backward, one numba kernel for all of a step's
  gate derivatives). numba cannot call BLAS without SciPy, which ember does not depend on, a
  numba-written GEMM is several times slower than BLAS at these sizes, and numba's scalar
  tanh/exp are 10-40x slower than NumPy's SIMD ones (see the step kernels below), so the loop
  itself stays in Python: a handful of calls per step, each on a whole (batch, gates) block;
* backward: the gradients of the gate pre-activations of every step, ``dG`` (N, G), come out of
  the loop; then ``dx = dG @ W_ih``, ``dW_ih = dG^T x``, ``dW_hh = dG^T h_prev`` and the bias
  gradients ``dG.sum(0)`` are GEMMs / reductions over all steps at once.

Saved for backward (besides the inputs and the output ``y``): LSTM the activated gates
(i, f, g, o) and the cell states; GRU r, z, n and ``W_hn h + b_hn``; RNN nothing more (its
derivative reads y). Gate layouts are torch's: LSTM i, f, g, o; GRU r, z, n with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (TRAPS.md 21).
"""
from __future__ import annotations

import numba
import numpy as np

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")


def gate_count(mode: str) -> int:
    return {"LSTM": 4, "GRU": 3}.get(mode, 1)


# --------------------------------------------------------------------------- step kernels
# The activations (sigmoid, tanh) run as NumPy ufuncs over a step's whole gate block: NumPy's
# SIMD exp/tanh cost ~2-3 ns an element here, numba's scalar math.tanh ~90 ns (measured on the
# (64, 2048) float32 gate block of the benchmark: 13 ms a step in one numba kernel, 1.8 ms with
# the ufuncs). The numba kernels below do the arithmetic that would otherwise take several
# NumPy passes and temporaries, and call no transcendental function.

def _sigmoid_(a):
    """In place: a = 1 / (1 + exp(-a)) (exp may overflow to inf, giving 0, as torch)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.add(a, 1, out=a)
    np.reciprocal(a, out=a)


@numba.njit(cache=True)
def lstm_cell_update(gates, c_state, c_saved):
    """c = f c_prev + i g (gates activated, rows i, f, g, o) into c_state[:bs] and c_saved."""
    bs, hidden = c_saved.shape
    for b in range(bs):
        for j in range(hidden):
            c = gates[b, hidden + j] * c_state[b, j] + gates[b, j] * gates[b, 2 * hidden + j]
            c_state[b, j] = c
            c_saved[b, j] = c


@numba.njit(cache=True)
def rnn_step_backward(dh, y, relu, dpre):
    """dh (bs, H): gradient of the step's output; y its value; writes d(pre-activation)."""
    bs, hidden = dh.shape
    for b in range(bs):
        for j in range(hidden):
            v = y[b, j]
            dpre[b, j] = (dh[b, j] if v > 0 else 0.0) if relu else dh[b, j] * (1.0 - v * v)


@numba.njit(cache=True)
def lstm_step_backward(dm, gates, tanh_c, c_prev, dc_state, dgates):
    """dm (bs, H): gradient of m = o tanh(c); dc_state[:bs] the cell gradient from the later
    steps, replaced by the gradient reaching c_prev; writes the pre-activation gradients."""
    bs, hidden = dm.shape
    for b in range(bs):
        for j in range(hidden):
            i = gates[b, j]
            f = gates[b, hidden + j]
            g = gates[b, 2 * hidden + j]
            o = gates[b, 3 * hidden + j]
            tc = tanh_c[b, j]
            dc = dc_state[b, j] + dm[b, j] * o * (1.0 - tc * tc)
            dgates[b, j] = dc * g * i * (1.0 - i)
            dgates[b, hidden + j] = dc * c_prev[b, j] * f * (1.0 - f)
            dgates[b, 2 * hidden + j] = dc * i * (1.0 - g * g)
            dgates[b, 3 * hidden + j] = dm[b, j] * tc * o * (1.0 - o)
            dc_state[b, j] = dc * f


@numba.njit(cache=True)
def gru_step_backward(dh, saved, h_prev, dgx, dgh, dh_direct):
    """dh (bs, H): gradient of h' = (1 - z) n + z h; ``saved`` rows r, z, n, W_hn h + b_hn.
    Writes the gradients of the input projection (dgx) and of W_hh h + b_hh (dgh), and
    dh_direct = dh z, the part of h's gradient that bypasses W_hh."""
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

def step_order(batch_sizes, reverse):
    offsets = np.zeros(len(batch_sizes) + 1, dtype=np.int64)
    np.cumsum(batch_sizes, out=offsets[1:])
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    return offsets, order


def layer_forward(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, batch_sizes, reverse):
    """One layer, one direction. x (N, I) packed; h0 (B, P); c0 (B, H) for LSTM (else None);
    biases and w_hr may be None. Returns (y (N, P), h_n, c_n or None, saved)."""
    with np.errstate(over="ignore"):  # exp(-x) -> inf in a sigmoid is its 0, not an error
        return _layer_forward(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, batch_sizes,
                              reverse)


def _layer_forward(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, batch_sizes, reverse):
    n_rows = x.shape[0]
    hidden = w_hh.shape[0] // gate_count(mode)
    dtype = x.dtype
    offsets, order = step_order(batch_sizes, reverse)
    gx = x @ w_ih.T                                   # all steps' input projection: one GEMM
    if b_ih is not None:
        gx += b_ih
        if mode == "GRU":                             # GRU's b_hn sits inside r * (...)
            gx[:, :2 * hidden] += b_hh[:2 * hidden]
        else:
            gx += b_hh
    w_hh_t = w_hh.T
    h_state = np.array(h0, dtype=dtype, order="C")
    batch, out_width = h_state.shape
    y = np.empty((n_rows, out_width), dtype=dtype)
    gh = np.empty((batch, w_hh.shape[0]), dtype=dtype)
    scratch = np.empty((batch, hidden), dtype=dtype)
    saved = c_state = None
    if mode == "LSTM":
        c_state = np.array(c0, dtype=dtype, order="C")
        saved = np.empty((n_rows, hidden), dtype=dtype)        # cell states
    elif mode == "GRU":
        saved = np.empty((n_rows, 4 * hidden), dtype=dtype)    # r, z, n, W_hn h + b_hn
    for t in order:
        bs = int(batch_sizes[t])
        lo, hi = offsets[t], offsets[t] + bs
        step_gh, h_prev, tmp = gh[:bs], h_state[:bs], scratch[:bs]
        np.matmul(h_prev, w_hh_t, out=step_gh)
        out = y[lo:hi]
        if mode == "LSTM":
            gates = gx[lo:hi]                         # activated in place: saved for backward
            gates += step_gh
            _sigmoid_(gates[:, :2 * hidden])
            np.tanh(gates[:, 2 * hidden:3 * hidden], out=gates[:, 2 * hidden:3 * hidden])
            _sigmoid_(gates[:, 3 * hidden:])
            lstm_cell_update(gates, c_state, saved[lo:hi])
            np.tanh(saved[lo:hi], out=tmp)
            if w_hr is None:
                np.multiply(tmp, gates[:, 3 * hidden:], out=out)
            else:
                np.multiply(tmp, gates[:, 3 * hidden:], out=tmp)
                np.matmul(tmp, w_hr.T, out=out)
        elif mode == "GRU":
            gates, pre = saved[lo:hi], gx[lo:hi]
            rz, n, hn = gates[:, :2 * hidden], gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
            np.add(pre[:, :2 * hidden], step_gh[:, :2 * hidden], out=rz)
            _sigmoid_(rz)
            np.add(step_gh[:, 2 * hidden:], 0 if b_hh is None else b_hh[2 * hidden:], out=hn)
            np.multiply(rz[:, :hidden], hn, out=n)
            n += pre[:, 2 * hidden:]
            np.tanh(n, out=n)
            np.subtract(h_prev, n, out=tmp)           # h' = n + z (h - n)
            tmp *= rz[:, hidden:]
            np.add(tmp, n, out=out)
        else:
            np.add(gx[lo:hi], step_gh, out=out)
            if mode == "RNN_RELU":
                np.maximum(out, 0, out=out)
            else:
                np.tanh(out, out=out)
        h_prev[...] = out
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
    offsets, order = step_order(batch_sizes, reverse)
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
        tanh_c = np.tanh(cells)
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
            lstm_step_backward(dh, gates[lo:hi], tanh_c[lo:hi], c_prev[lo:hi], dc_state,
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
        m = gates[:, 3 * hidden:] * tanh_c
        dw_hr = dh_total.T @ m
    dh0 = dh_state if need_h0 else None
    dc0 = dc_state if mode == "LSTM" and need_c0 else None
    return dx, dw_ih, dw_hh, db_ih, db_hh, dw_hr, dh0, dc0
