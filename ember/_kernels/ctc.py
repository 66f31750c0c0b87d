"""Connectionist Temporal Classification: the forward (alpha) and backward (beta) recursions of
Graves et al. 2006 ("Connectionist Temporal Classification: Labelling Unsegmented Sequence Data
with Recurrent Neural Networks", section 4.1), in log space, one batch element per parallel task.

Arrays: ``log_probs`` (T, N, C) float32/float64; ``targets`` (N, S) int64 padded (only the first
``target_lengths[b]`` entries of row b are read, each already checked to be in [0, C));
``input_lengths``/``target_lengths`` (N,) int64, checked against T and S by the caller.

The extended target l' of a target l of length L has 2L + 1 states: blanks at even s, l[s // 2]
at odd s. A path may stay on a state, step to the next, or skip a blank between two different
labels. The formulas and the order of the operations are aten's (aten/src/ATen/native/LossCTC.cpp):
log-sum-exp of up to three terms by subtracting their maximum (0 when all are -inf), and the
backward's gradient ``exp(lp) - exp(log(sum_s alpha beta) + nll - lp)``, which is the gradient
through a log_softmax that produced ``lp`` (torch's convention: the ``exp(lp)`` term assumes the
inputs are normalised log-probabilities, so it is not the derivative for unnormalised inputs).
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import parallel_kernel


@numba.njit(cache=True, inline="always")
def _log_add(x1, x2, x3):
    """log(e^x1 + e^x2 + e^x3), the maximum subtracted first (0 when all are -inf: no
    -inf - -inf); a -inf term adds exactly nothing, so this serves two terms too."""
    m = max(x1, x2, x3)
    if m == -np.inf:
        m = 0.0
    return np.log(np.exp(x1 - m) + np.exp(x2 - m) + np.exp(x3 - m)) + m


@parallel_kernel
def ctc_alpha(log_probs, targets, input_lengths, target_lengths, blank, neg_log_likelihood,
              log_alpha):
    """Fill ``log_alpha`` (N, T, 2S+1) for t < input_length, s <= 2L, and the per-sample loss
    ``neg_log_likelihood`` (N,) = -log p(l | x) (inf when no path fits in the input)."""
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
        for s in range(log_alpha.shape[2]):
            log_alpha[b, 0, s] = neginf
        log_alpha[b, 0, 0] = log_probs[0, b, blank]
        if target_length > 0:
            log_alpha[b, 0, 1] = log_probs[0, b, targets[b, 0]]
        for t in range(1, input_length):
            for s in range(n_states):
                label = blank if s % 2 == 0 else targets[b, s // 2]
                stay = log_alpha[b, t - 1, s]
                step = log_alpha[b, t - 1, s - 1] if s > 0 else neginf
                # skipping the blank in between is allowed only between two different labels
                skip = neginf
                if s > 1 and s % 2 == 1 and targets[b, s // 2 - 1] != label:
                    skip = log_alpha[b, t - 1, s - 2]
                log_alpha[b, t, s] = _log_add(stay, step, skip) + log_probs[t, b, label]
        last = input_length - 1
        if target_length == 0:
            neg_log_likelihood[b] = -log_alpha[b, last, 0]
        else:
            # ending on the last label or on the blank after it
            neg_log_likelihood[b] = -_log_add(log_alpha[b, last, 2 * target_length],
                                              log_alpha[b, last, 2 * target_length - 1], neginf)


@parallel_kernel
def ctc_grad(grad_out, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity,
             neg_log_likelihood, log_alpha, grad):
    """Fill ``grad`` (T, N, C) with d loss_b / d log_probs[t, b, c] times ``grad_out[b]``:
    the beta recursion (eq. 10-11), the log of sum_s alpha beta collected per label (eq. 16),
    then the wrap-up. Rows t >= input_length are zero, and so is every row of a sample whose
    loss is infinite when ``zero_infinity``."""
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
                grad[t, b, c] = neginf  # log of an empty sum
        log_beta = np.empty((max(input_length, 1), n_states), dtype=log_probs.dtype)
        if input_length > 0:
            last = input_length - 1
            for s in range(n_states):
                log_beta[last, s] = neginf
            log_beta[last, 2 * target_length] = log_probs[last, b, blank]
            grad[last, b, blank] = log_alpha[b, last, 2 * target_length] + log_beta[last, 2 * target_length]
            if target_length > 0:
                label = targets[b, target_length - 1]
                log_beta[last, 2 * target_length - 1] = log_probs[last, b, label]
                # a blank and a non-blank state: different labels, no log-add needed
                grad[last, b, label] = (log_alpha[b, last, 2 * target_length - 1]
                                        + log_beta[last, 2 * target_length - 1])
        for t in range(input_length - 2, -1, -1):
            for s in range(n_states - 1, -1, -1):
                label = blank if s % 2 == 0 else targets[b, s // 2]
                stay = log_beta[t + 1, s]
                step = log_beta[t + 1, s + 1] if s < 2 * target_length else neginf
                skip = neginf
                if s < 2 * target_length - 1 and s % 2 == 1 and targets[b, s // 2 + 1] != label:
                    skip = log_beta[t + 1, s + 2]
                log_beta[t, s] = _log_add(stay, step, skip) + log_probs[t, b, label]
                # collected[t, l'(s)] log-plus= alpha[t, s] + beta[t, s] (several s share a label)
                log_alpha_beta = log_alpha[b, t, s] + log_beta[t, s]
                if grad[t, b, label] == neginf:  # the first term: no exp/log (most labels)
                    grad[t, b, label] = log_alpha_beta
                else:
                    grad[t, b, label] = _log_add(grad[t, b, label], log_alpha_beta, neginf)
        g = grad_out[b]
        for t in range(input_length):
            for c in range(n_labels):
                lp = log_probs[t, b, c]
                grad[t, b, c] = (np.exp(lp) - np.exp(grad[t, b, c] + nll - lp)) * g
        for t in range(input_length, max_input_length):
            for c in range(n_labels):
                grad[t, b, c] = 0.0
