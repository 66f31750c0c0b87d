"""Connectionist Temporal Classification: the forward (alpha) and backward (beta) recursions of
Graves et al. 2006 ("Connectionist Temporal Classification: Labelling Unsegmented Sequence Data
with Recurrent Neural Networks", section 4.1), in log space, one batch element per parallel task.

Arrays: ``log_probs`` (T, N, C) float32/float64; ``targets`` (N, S) int64 padded (only the first
``target_lengths[b]`` entries of row b are read, each already checked to be in [0, C));
``input_lengths``/``target_lengths`` (N,) int64, checked against T and S by the caller.

The extended target l' of a target l of length L has 2L + 1 states: blanks at even s, l[s // 2]
at odd s. A path may stay on a state, step to the next, or skip a blank between two different
labels. The formulas are aten's (aten/src/ATen/native/LossCTC.cpp), computed with less work:
each time step only visits the states a complete path can be in (``_window``), a log-sum-exp
of two or three terms takes one or two exps (the largest term's is 1) and a log1p, and the
gradient ``exp(lp) - exp(log(sum_s alpha beta) + nll - lp)`` sums the posteriors
``exp(alpha + beta + nll - lp)`` directly; the values agree with aten's to rounding, and so do
its NaNs (lp = -inf, an infinite loss). The gradient is the one through a log_softmax that
produced ``lp`` (torch's convention: the ``exp(lp)`` term assumes the inputs are normalised
log-probabilities, so it is not the derivative for unnormalised inputs).
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel


_NO_STATE = -1.0  # marks a gradient entry no state has added to yet (a sum of exps is >= 0)


@numba.njit(cache=True, inline="always")
def _log_add(x1, x2):
    """log(e^x1 + e^x2) = m + log1p(e^-|x1 - x2|), m the larger (one exp, not two; and
    -inf when both are: no -inf - -inf)."""
    m = max(x1, x2)
    if m == -np.inf:
        return m
    return m + np.log1p(np.exp(-abs(x1 - x2)))


@numba.njit(cache=True, inline="always")
def _log_add3(x1, x2, x3):
    """log(e^x1 + e^x2 + e^x3): the largest term's exp is 1, so two exps and a log1p."""
    if x1 >= x2 and x1 >= x3:
        m, a, b = x1, x2, x3
    elif x2 >= x3:
        m, a, b = x2, x1, x3
    else:
        m, a, b = x3, x1, x2
    if m == -np.inf:
        return m
    return m + np.log1p(np.exp(a - m) + np.exp(b - m))


@numba.njit(cache=True, inline="always")
def _window(t, input_length, n_states):
    """The states [lo, hi) a path can be in at time t: reached from the start (s <= 2t + 1)
    and still able to reach one of the two final states in the steps left. Outside it alpha or
    beta is -inf, so alpha * beta, all the gradient needs, is 0 there: the recursions skip it
    (for targets near their input's length, about half of the T x (2L+1) cells)."""
    return max(0, n_states - 2 * (input_length - t)), min(n_states, 2 * t + 2)


@parallel_kernel
def ctc_alpha(log_probs, targets, input_lengths, target_lengths, blank, neg_log_likelihood,
              log_alpha):
    """Fill ``log_alpha`` (N, T, 2S+1) (-inf outside each time step's window) and the
    per-sample loss ``neg_log_likelihood`` (N,) = -log p(l | x) (inf when no path fits)."""
    n_batch = log_probs.shape[1]
    neginf = -np.inf
    for p in numba.prange(n_batch):
        b = np.int64(p)  # prange's index may be unsigned
        input_length = input_lengths[b]
        target_length = target_lengths[b]
        n_states = 2 * target_length + 1
        if input_length == 0:
            neg_log_likelihood[b] = 0.0 if target_length == 0 else np.inf
            continue
        alpha = log_alpha[b]
        alpha[:input_length, :n_states] = neginf
        alpha[0, 0] = log_probs[0, b, blank]
        if target_length > 0:
            alpha[0, 1] = log_probs[0, b, targets[b, 0]]
        for t in range(1, input_length):
            lo, hi = _window(t, input_length, n_states)
            for s in range(lo, hi):
                stay = alpha[t - 1, s]
                if s % 2 == 0:  # a blank: stay, or step from the label before
                    prev = alpha[t - 1, s - 1] if s > 0 else neginf
                    alpha[t, s] = _log_add(stay, prev) + log_probs[t, b, blank]
                    continue
                label = targets[b, s // 2]
                # skipping the blank in between is allowed only between two different labels
                if s > 1 and targets[b, s // 2 - 1] != label:
                    total = _log_add3(stay, alpha[t - 1, s - 1], alpha[t - 1, s - 2])
                else:
                    total = _log_add(stay, alpha[t - 1, s - 1])
                alpha[t, s] = total + log_probs[t, b, label]
        last = input_length - 1
        if target_length == 0:
            neg_log_likelihood[b] = -alpha[last, 0]
        else:
            # ending on the last label or on the blank after it
            neg_log_likelihood[b] = -_log_add(alpha[last, 2 * target_length],
                                              alpha[last, 2 * target_length - 1])


@parallel_kernel
def ctc_grad(grad_out, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity,
             neg_log_likelihood, log_alpha, grad):
    """Fill ``grad`` (T, N, C) with d loss_b / d log_probs[t, b, c] times ``grad_out[b]``:
    the beta recursion (eq. 10-11), then exp(lp) - sum over the states s of label c of
    exp(alpha + beta + nll - lp) (eq. 16). Each term of that sum is the posterior probability of
    being in state s at time t, at most 1, so it is summed as it is instead of in log space
    (aten log-adds, then exponentiates: the same value to rounding). Rows t >= input_length
    are zero, and so is every row of a sample whose loss is infinite when ``zero_infinity``."""
    max_input_length = log_probs.shape[0]
    n_batch = log_probs.shape[1]
    n_labels = log_probs.shape[2]
    neginf = -np.inf
    for p in numba.prange(n_batch):
        b = np.int64(p)  # prange's index may be unsigned
        nll = neg_log_likelihood[b]
        input_length = input_lengths[b]
        if zero_infinity and nll == np.inf:
            input_length = 0  # every row zeroed below
        target_length = target_lengths[b]
        n_states = 2 * target_length + 1
        for t in range(input_length):
            for c in range(n_labels):
                grad[t, b, c] = _NO_STATE
        alpha = log_alpha[b]
        beta = np.full((max(input_length, 1), n_states), neginf, dtype=log_probs.dtype)
        last = input_length - 1
        if input_length > 0:
            beta[last, 2 * target_length] = log_probs[last, b, blank]
            if target_length > 0:
                beta[last, 2 * target_length - 1] = log_probs[last, b,
                                                              targets[b, target_length - 1]]
        for t in range(last, -1, -1):
            lo, hi = _window(t, input_length, n_states)
            for s in range(hi - 1, lo - 1, -1):
                if t < last:
                    stay = beta[t + 1, s]
                    nxt = beta[t + 1, s + 1] if s < n_states - 1 else neginf
                    if s % 2 == 0:
                        beta[t, s] = _log_add(stay, nxt) + log_probs[t, b, blank]
                    else:
                        label = targets[b, s // 2]
                        if s < n_states - 2 and targets[b, s // 2 + 1] != label:
                            total = _log_add3(stay, nxt, beta[t + 1, s + 2])
                        else:
                            total = _log_add(stay, nxt)
                        beta[t, s] = total + log_probs[t, b, label]
                label = blank if s % 2 == 0 else targets[b, s // 2]
                posterior = np.exp(alpha[t, s] + beta[t, s] + nll - log_probs[t, b, label])
                total = grad[t, b, label]
                grad[t, b, label] = posterior if total == _NO_STATE else total + posterior
        g = grad_out[b]
        for t in range(input_length):
            for c in range(n_labels):
                lp = log_probs[t, b, c]
                total = grad[t, b, c]
                if total == _NO_STATE:
                    # aten's exp(log(empty sum) + nll - lp): 0, but NaN where nll = inf or
                    # lp = -inf, as torch
                    total = np.exp(neginf + nll - lp)
                grad[t, b, c] = (np.exp(lp) - total) * g
        for t in range(input_length, max_input_length):
            for c in range(n_labels):
                grad[t, b, c] = 0.0
