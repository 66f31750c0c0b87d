"""The decorator for ember's parallel numba kernels.

``@parallel_kernel`` compiles a function twice, lazily and cached on disk: with
``parallel=True`` (``numba.prange`` loops spread over the cores) and as a serial twin. A call
runs the parallel version when its largest array argument is big enough to pay for waking the
threads, and a process-wide switch can turn parallelism off. DataLoader worker processes turn the switch off, as torch
sets one thread per worker: several workers each starting a thread pool on the same cores only
fight, and numba's GNU OpenMP layer kills a forked child that starts a parallel region after
its parent did ("fork() called from a process already using GNU OpenMP").
"""
from __future__ import annotations

import functools
import os
import threading
import types

import numba
import numpy as np

# The threading layer. numba's default (GNU OpenMP) keeps its threads spinning after each
# parallel loop while OpenBLAS's threads spin after each GEMM; with as many threads as cores,
# every hand-over between a numba kernel (im2col) and a GEMM then waits for a scheduler tick
# (measured here: ResNet-block conv 1.6-5 s instead of 0.2 s on 2 threads). The workqueue
# layer's threads sleep when idle. Only when the user has not chosen a layer, and effective
# only if numba has not started its threads yet (ember's import comes before any kernel).
if numba.config.THREADING_LAYER == "default" and "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_parallel = True
# workqueue allows one parallel region at a time in a process; a second Python thread calling a
# kernel meanwhile runs the serial twin instead of aborting the process.
_pool_lock = threading.Lock()

#: Below this many elements in the largest array argument a kernel runs serially: waking the
#: workqueue threads costs tens of microseconds, more than such a call's whole work (measured:
#: softmax fwd+bwd on (256, 1000) 0.68 ms with 2 threads, 0.32 ms serial; on a busy machine a
#: sleeping thread can take a scheduler tick, ~10 ms, to answer).
SERIAL_BELOW = 1 << 18


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
        if _parallel:
            for a in args:
                if type(a) is np.ndarray and a.size >= SERIAL_BELOW:
                    if _pool_lock.acquire(blocking=False):
                        try:
                            return parallel(*args)
                        finally:
                            _pool_lock.release()
                    break
        return serial(*args)

    dispatch.parallel = parallel
    dispatch.serial = serial
    return dispatch
