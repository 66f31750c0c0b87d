"""Grad mode: whether operations record the graph. Usable as context managers and decorators.

The mode is per thread, as torch's: ``no_grad()`` in an evaluation thread must not stop a
training loop in another thread from recording, and every new thread starts with grad enabled.
"""
from __future__ import annotations

import functools

from .._state import anomaly, modes  # per thread; ember/_state.py lists all of ember's state


def is_grad_enabled() -> bool:
    return modes.grad_enabled


def _set(mode: bool) -> None:
    modes.grad_enabled = bool(mode)


class _GradModeContext:
    """Base for no_grad / enable_grad / set_grad_enabled: a context manager that restores the
    previous mode on exit, and a decorator that runs the function under the mode."""

    _mode: bool

    def __enter__(self):
        self._prev = modes.grad_enabled
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = modes.grad_enabled
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)
        return wrapper


class no_grad(_GradModeContext):
    _mode = False


class enable_grad(_GradModeContext):
    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` takes effect immediately (as in torch) and also works in ``with``."""

    def __init__(self, mode: bool):
        self._prev = modes.grad_enabled
        self._mode = bool(mode)
        _set(self._mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set(self._prev)  # as a decorator it must not change the mode where it is written
        return super().__call__(fn)


class inference_mode(no_grad):
    def __init__(self, mode: bool = True):
        self._mode = not mode


# ---- anomaly detection (torch.autograd.detect_anomaly): its flag is process-wide, as torch's
# (ember/_state.py); the engine reads it once per node, the user API lives in anomaly_mode.py


def check_anomaly(node, in_grads) -> None:
    """Raise torch's error if anomaly mode is on and ``node``'s backward gave NaN."""
    if not anomaly.enabled:
        return
    import numpy as np
    for i, g in enumerate(in_grads):
        if g is None:
            continue
        a = np.asarray(getattr(g, "_data", g))
        if a.dtype.kind in "fc" and np.isnan(a).any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
