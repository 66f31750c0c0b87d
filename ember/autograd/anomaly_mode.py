"""Anomaly detection, as torch.autograd.detect_anomaly / set_detect_anomaly: with it on, a
backward that produces NaN raises, naming the node. Process-wide, as torch's flag (kept in
grad_mode, which the engine reads)."""
from __future__ import annotations

from .. import _state


def is_anomaly_enabled() -> bool:
    return _state.anomaly.enabled


def _set(mode: bool) -> None:
    _state.anomaly.enabled = bool(mode)


class set_detect_anomaly:  # noqa: N801  (torch's name)
    """Turn anomaly detection on or off; as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = _state.anomaly.enabled
        _set(bool(mode) and bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self.prev)
        return False


class detect_anomaly:  # noqa: N801  (torch's name)
    """Context manager (or decorator) that turns anomaly detection on inside it."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        import warnings
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)
        self.prev = _state.anomaly.enabled
        _set(self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(self.prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper
