"""Threads and the host process (issue 14, items 5 and 6): grad mode is per thread, as torch's,
and importing ember leaves numba's process-wide threading layer usable by the user's own code."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

import ember
from ember.autograd import Function

_TIMEOUT = 10  # seconds any thread here may wait for another; a hang fails instead of blocking CI


def _in_thread(fn):
    """Run ``fn`` in a new thread and return its result (re-raising its exception)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001  (handed back to the test thread)
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(_TIMEOUT)
    assert not t.is_alive(), "thread did not finish"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _hold_mode_in_thread(mode_cm):
    """Start a thread that enters ``mode_cm()`` and stays inside until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def run():
        with mode_cm():
            entered.set()
            release.wait(_TIMEOUT)

    t = threading.Thread(target=run)
    t.start()
    assert entered.wait(_TIMEOUT)
    return t, release


def test_no_grad_in_another_thread_leaves_this_thread_recording():
    x = ember.ones(3, requires_grad=True)
    for mode in (ember.no_grad, ember.inference_mode, lambda: ember.set_grad_enabled(False)):
        t, release = _hold_mode_in_thread(mode)
        try:
            assert ember.is_grad_enabled()
            assert (x * 2).requires_grad
        finally:
            release.set()
            t.join(_TIMEOUT)


def test_new_thread_starts_with_grad_enabled_as_torch():
    import torch
    with ember.no_grad(), torch.no_grad():
        assert _in_thread(ember.is_grad_enabled) is _in_thread(torch.is_grad_enabled) is True
        assert not ember.is_grad_enabled()
    with ember.inference_mode(), torch.inference_mode():
        assert _in_thread(ember.is_grad_enabled) is _in_thread(torch.is_grad_enabled) is True


def test_no_grad_in_a_thread_stays_in_that_thread():
    x = ember.ones(3, requires_grad=True)

    def eval_step():
        with ember.no_grad():
            return (x * 2).requires_grad, ember.is_grad_enabled()

    assert _in_thread(eval_step) == (False, False)
    assert ember.is_grad_enabled() and (x * 2).requires_grad


class _WaitInBackward(Function):
    """Identity whose backward signals, then waits: lets a test look at other threads mid-backward."""
    inside = threading.Event()
    release = threading.Event()

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        _WaitInBackward.grad_enabled_inside = ember.is_grad_enabled()
        _WaitInBackward.inside.set()
        _WaitInBackward.release.wait(_TIMEOUT)
        return g


def test_backward_in_one_thread_does_not_turn_grad_off_in_others():
    x = ember.ones(3, requires_grad=True)
    y = _WaitInBackward.apply(x).sum()
    t = threading.Thread(target=y.backward)
    t.start()
    try:
        assert _WaitInBackward.inside.wait(_TIMEOUT)
        assert ember.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        _WaitInBackward.release.set()
        t.join(_TIMEOUT)
    assert _WaitInBackward.grad_enabled_inside is False  # backward itself is not recorded, as torch
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3, np.float32))


def test_training_beside_an_evaluation_thread():
    """The issue's report: a training loop beside an evaluation thread lost every step."""
    lin = ember.nn.Linear(4, 2)
    data = ember.randn(8, 4)
    stop = threading.Event()

    def evaluate():
        while not stop.is_set():
            with ember.no_grad():
                lin(data)

    t = threading.Thread(target=evaluate)
    t.start()
    lost = 0
    try:
        for _ in range(200):
            out = lin(data)
            lost += not out.requires_grad
    finally:
        stop.set()
        t.join(_TIMEOUT)
    assert lost == 0
