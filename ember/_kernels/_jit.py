"""The decorator for ember's parallel numba kernels.

ember's parallel work runs on this one pool, numba's: the convolutions' and F.linear's matrix
products too, as tiles of single-threaded OpenBLAS calls inside a ``prange``
(ember/_kernels/blas.py), because OpenBLAS's own threads spin after each product and fought
numba's for the cores. (Tensor.matmul, attention and the RNNs still call NumPy's matmul.)

``@parallel_kernel`` compiles a function twice, lazily and cached on disk: with
``parallel=True`` (``numba.prange`` loops spread over the cores) and as a serial twin. A call
runs the parallel version when its largest array argument is big enough to pay for waking the
threads, and the process-wide switch of ember/_state.py (``ember.set_num_threads(1)``) can turn
parallelism off. DataLoader worker processes turn it off, as torch sets one thread per worker:
several workers each starting a thread pool on the same cores only fight, and numba's GNU
OpenMP layer (where the user chose it) kills a forked child that starts a parallel region
after its parent did ("fork() called from a process already using GNU OpenMP").
"""
from __future__ import annotations

import functools
import threading
import types

import numba
import numpy as np

from .. import _state

_parallel = _state.parallel

# The threading layer is numba's choice, not ember's: ember only makes the tbb package's library
# loadable so numba's default can pick it (why, and the figures: ember/_state.py, docs/benchmarks.md).
_state.make_tbb_loadable(numba.config)

# One ember parallel region at a time: with 2 threads the pool is full anyway, and where the
# layer is workqueue (the user's choice, or numba's last fallback) a second concurrent region
# would abort the process; a second Python thread calling a kernel meanwhile runs the serial twin.
_pool_lock = threading.Lock()

#: Below this many elements in the largest array argument a kernel runs serially: waking the
#: workqueue threads costs tens of microseconds, more than such a call's whole work (measured:
#: softmax fwd+bwd on (256, 1000) 0.68 ms with 2 threads, 0.32 ms serial; on a busy machine a
#: sleeping thread can take a scheduler tick, ~10 ms, to answer).
SERIAL_BELOW = 1 << 18


set_parallel = _state.set_parallel       # the process-wide switch lives in ember/_state.py
parallel_enabled = _state.parallel_enabled


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
    def dispatch(*args, work=None):
        """``work``: a size standing for the call's work (compared with SERIAL_BELOW instead
        of the largest array's), for kernels whose work is not their arrays' size (a GEMM)."""
        if _parallel.enabled:
            if work is None:
                work = max([a.size for a in args if type(a) is np.ndarray], default=0)
            if work >= SERIAL_BELOW and _pool_lock.acquire(blocking=False):
                try:
                    return parallel(*args)
                finally:
                    _pool_lock.release()
        return serial(*args)

    dispatch.parallel = parallel
    dispatch.serial = serial
    return dispatch
