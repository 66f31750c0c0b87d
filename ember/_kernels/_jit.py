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

import ctypes
import functools
import os
import sys
import threading
import types

import numba
import numpy as np

# The threading layer. ember leaves numba's choice alone (its default tries tbb, then GNU OpenMP,
# then workqueue; an explicit NUMBA_THREADING_LAYER or numba.config setting always wins) and only
# makes the `tbb` package, one of ember's dependencies, loadable: pip puts libtbb in
# <prefix>/lib, which the dynamic loader does not search, so numba would report tbb missing.
# Why tbb (docs/threading_design.md has the figures): it is thread- and fork-safe and its idle
# workers sleep. workqueue (ember's earlier forced choice) aborts the whole process when the
# user's own parallel numba code runs in another thread at the same time; GNU OpenMP's threads
# spin after a parallel loop while OpenBLAS's spin after a GEMM, which made the ResNet-block conv
# ~11x slower on 2 cores.
_TBB_LIBRARY = {"linux": ("lib", "libtbb.so.12"), "darwin": ("lib", "libtbb.12.dylib"),
                "win32": ("Library/bin", "tbb12.dll")}


def _make_tbb_loadable() -> None:
    """Load the tbb package's library by its path, so that numba finds it already loaded."""
    if numba.config.THREADING_LAYER != "default" or "NUMBA_THREADING_LAYER" in os.environ:
        return  # the user chose a layer
    folder, name = _TBB_LIBRARY.get(sys.platform, (None, None))
    if name is None:
        return
    path = os.path.join(sys.prefix, folder, name)
    if os.path.exists(path):
        try:
            ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
        except OSError:
            pass  # numba then falls back to its next layer, as without ember


_make_tbb_loadable()

_parallel = True
# One ember parallel region at a time: with 2 threads the pool is full anyway, and where the
# layer is workqueue (the user's choice, or numba's last fallback) a second concurrent region
# would abort the process; a second Python thread calling a kernel meanwhile runs the serial twin.
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
