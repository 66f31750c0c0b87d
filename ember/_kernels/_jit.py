"""The decorator for ember's parallel numba kernels.

``@parallel_kernel`` compiles a function twice, lazily and cached on disk: with
``parallel=True`` (``numba.prange`` loops spread over the cores) and as a serial twin, and
dispatches on a process-wide switch. DataLoader worker processes turn the switch off, as torch
sets one thread per worker: several workers each starting a thread pool on the same cores only
fight, and numba's GNU OpenMP layer kills a forked child that starts a parallel region after
its parent did ("fork() called from a process already using GNU OpenMP").
"""
from __future__ import annotations

import functools
import types

import numba

_parallel = True


def set_parallel(enabled: bool) -> None:
    """Run the parallel kernels on all cores (True) or on the calling thread only (False)."""
    global _parallel
    _parallel = bool(enabled)


def parallel_enabled() -> bool:
    return _parallel


def parallel_kernel(fn=None, **options):
    """``@parallel_kernel`` or ``@parallel_kernel(fastmath=True)``: see the module docstring."""
    if fn is None:
        return lambda f: parallel_kernel(f, **options)
    parallel = numba.njit(parallel=True, cache=True, **options)(fn)
    # a distinct function object (and qualname) for the serial twin, so that numba's on-disk
    # cache keeps the two compilations in separate files
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                              fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_serial"
    serial = numba.njit(parallel=False, cache=True, **options)(twin)

    @functools.wraps(fn)
    def dispatch(*args):
        return parallel(*args) if _parallel else serial(*args)

    dispatch.parallel = parallel
    dispatch.serial = serial
    return dispatch
