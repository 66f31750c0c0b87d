"""ember/_state.py: the state that outlives a call, with its bounds and thread semantics."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember import _state
from ember.autograd import function


def test_scratch_reuses_memory_of_a_slot():
    _state.release_scratch()
    a = _state.scratch("t", (4, 4), np.float32)
    b = _state.scratch("t", (2, 8), np.float32)
    assert np.shares_memory(a, b)
    assert _state.scratch_bytes() == 64


def test_scratch_keeps_at_most_the_limit(monkeypatch):
    """A request beyond the per-thread bound is served but not kept (it used to be kept forever)."""
    _state.release_scratch()
    monkeypatch.setattr(_state, "SCRATCH_LIMIT_BYTES", 1000)
    small = _state.scratch("small", (100,), np.float64)      # 800 bytes: kept
    big = _state.scratch("big", (100,), np.float64)          # 800 more: over 1000, not kept
    assert big.shape == (100,) and not np.shares_memory(small, big)
    assert _state.scratch_bytes() == 800
    again = _state.scratch("big", (100,), np.float64)
    assert not np.shares_memory(big, again)


def test_release_scratch_frees_the_threads_memory():
    _state.scratch("t", (1000,), np.float64)
    assert _state.scratch_bytes() >= 8000
    _state.release_scratch()
    assert _state.scratch_bytes() == 0


def test_scratch_is_per_thread():
    _state.release_scratch()
    mine = _state.scratch("t", (10,), np.float64)
    theirs = []
    th = threading.Thread(target=lambda: theirs.append(_state.scratch("t", (10,), np.float64)))
    th.start()
    th.join()
    assert not np.shares_memory(mine, theirs[0])


def test_big_convolution_keeps_bounded_scratch():
    """Convolutions of any size leave at most the bound behind in the calling thread."""
    _state.release_scratch()
    x = ember.randn(8, 16, 96, 96)
    w = ember.randn(32, 16, 3, 3)
    ember.nn.functional.conv2d(x, w, padding=1)   # its batch-last output copy alone is 9 MiB
    assert 0 < _state.scratch_bytes() <= _state.SCRATCH_LIMIT_BYTES


def test_set_num_threads_is_the_process_wide_switch():
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1 and not _state.parallel_enabled()
        seen = []
        th = threading.Thread(target=lambda: seen.append(_state.parallel_enabled()))
        th.start()
        th.join()
        assert seen == [False]          # process-wide, as torch's
    finally:
        _state.set_parallel(True)
    with pytest.raises(RuntimeError, match="positive integer"):
        ember.set_num_threads(0)


def test_tensor_class_is_registered_with_autograd_explicitly():
    assert function.tensor_class() is ember.Tensor
    with pytest.raises(RuntimeError, match="already has the Tensor class"):
        function.register_tensor_class(type("Other", (), {}))
    function.register_tensor_class(ember.Tensor)   # the same class again is fine
