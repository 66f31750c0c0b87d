"""Every piece of state that outlives a call, in one place, with its thread semantics.

ember keeps very little state; all of it is listed here (and nowhere else holds any):

=====================  ==============  =======================================================
state                  scope           what sets it
=====================  ==============  =======================================================
grad mode              per thread      ``no_grad``/``enable_grad``/``set_grad_enabled``/
                                       ``inference_mode`` (ember/autograd/grad_mode.py); a new
                                       thread starts with grad enabled, as in torch
anomaly detection      process         ``autograd.set_detect_anomaly``/``detect_anomaly``
                                       (``anomaly.enabled``), process-wide as torch's flag
parallel kernels       process         ``ember.set_num_threads`` (1 = serial); DataLoader
                                       workers switch it off, as torch sets 1 thread per worker
threading layer        process         numba's own setting; ember never chooses it, it only
                                       makes the ``tbb`` package's library loadable so that
                                       numba's default can pick it (``make_tbb_loadable``)
heap (glibc malloc)    process         at import, ``tune_malloc``: freed memory is kept for
                                       reuse up to 128 MiB instead of being handed back to the
                                       OS after every op (``EMBER_MALLOC_TUNING=0`` or the
                                       user's own ``MALLOC_*`` settings leave glibc's defaults)
scratch memory         per thread      kernels' reusable work arrays (``scratch``), at most
                                       ``SCRATCH_LIMIT_BYTES`` kept per thread; freed with the
                                       thread or by ``release_scratch()``
attention fast path    process         ``ember.backends.mha.set_fastpath_enabled`` (whether
                                       MultiheadAttention/Transformer mimic torch's fused
                                       inference path, ``mha_fastpath.enabled``)
default generator      process         ``ember.manual_seed``/``ember.random.default_generator``
                                       (ember/random.py: a Generator is a Tensor-level object);
                                       shared by all threads, as torch's default CPU generator
=====================  ==============  =======================================================

This module sits at the bottom of the layering (it imports nothing from ember), so kernels,
the autograd graph and everything above can read it.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading

import numpy as np


# ---------------------------------------------------------------------------------------------
# grad mode: per thread
# ---------------------------------------------------------------------------------------------

class _ThreadModes(threading.local):
    """Each thread's modes. Class attributes are the values a thread starts with (threading.local
    gives every thread its own instance dict, which falls back to the class)."""

    grad_enabled = True


#: Read on the hot path as ``modes.grad_enabled`` (one thread-local attribute read, ~40 ns).
modes = _ThreadModes()


class _Anomaly:
    enabled = False


#: Read by the backward engine once per node (``anomaly.enabled``).
anomaly = _Anomaly()


# ---------------------------------------------------------------------------------------------
# parallel kernels: one process-wide switch
# ---------------------------------------------------------------------------------------------

class _Parallel:
    enabled = True


parallel = _Parallel()


def set_parallel(enabled: bool) -> None:
    """Run ember's parallel kernels on all cores (True) or on the calling thread only (False)."""
    parallel.enabled = bool(enabled)


def parallel_enabled() -> bool:
    return parallel.enabled


# ---------------------------------------------------------------------------------------------
# torch.backends.mha's switch: process-wide, as torch's module global
# ---------------------------------------------------------------------------------------------

class _MhaFastpath:
    enabled = True


mha_fastpath = _MhaFastpath()


# ---------------------------------------------------------------------------------------------
# the threading layer: numba's, never chosen by ember
# ---------------------------------------------------------------------------------------------
# numba's default tries tbb, then GNU OpenMP, then workqueue; an explicit NUMBA_THREADING_LAYER or
# numba.config setting always wins. Why ember wants tbb found (docs/benchmarks.md has the
# figures): it is thread- and fork-safe and its idle workers sleep. workqueue aborts the whole
# process when the user's own parallel numba code runs in another thread at the same time; GNU
# OpenMP's threads spin after a parallel loop while OpenBLAS's spin after a GEMM, which made the
# ResNet-block conv ~11x slower on 2 cores. pip puts libtbb in <prefix>/lib, which the dynamic
# loader does not search, so without help numba would report tbb missing.
_TBB_LIBRARY = {"linux": ("lib", "libtbb.so.12"), "darwin": ("lib", "libtbb.12.dylib"),
                "win32": ("Library/bin", "tbb12.dll")}


def make_tbb_loadable(numba_config) -> None:
    """Load the tbb package's library by its path, so that numba finds it already loaded;
    nothing when the user chose a layer."""
    if numba_config.THREADING_LAYER != "default" or "NUMBA_THREADING_LAYER" in os.environ:
        return
    folder, name = _TBB_LIBRARY.get(sys.platform, (None, None))
    if name is None:
        return
    path = os.path.join(sys.prefix, folder, name)
    if os.path.exists(path):
        try:
            ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
        except OSError:
            pass  # numba then falls back to its next layer, as without ember


# ---------------------------------------------------------------------------------------------
# the heap: glibc's malloc thresholds, process-wide
# ---------------------------------------------------------------------------------------------
# A training step frees arrays of the sizes it allocates next. glibc's defaults hand that memory
# back to the OS (mmap for blocks over its dynamic threshold, heap trimming past 2x it), so each
# step page-faults its arrays in again: measured on this project's 2-core VM, 718 faults per
# softmax (256, 1000) forward + backward, 1.8 ms of its 2.2 ms; a LeNet-5 step 17 ms -> 9 ms
# and ReLU on (32, 64, 56, 56) 21 ms -> 6 ms with the settings below (docs/benchmarks.md,
# "The heap"). torch's own allocator is not faulted this way. The values are glibc's
# documented tunables (mallopt(3)); the cost is that up to TRIM bytes of freed memory stay with
# the process instead of returning to the OS.
MALLOC_MMAP_THRESHOLD = 32 * 2 ** 20     # glibc's own ceiling for its dynamic threshold
MALLOC_TRIM_THRESHOLD = 128 * 2 ** 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3    # <malloc.h>
_GLIBC_MALLOC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "MALLOC_MMAP_MAX_")

#: What ``tune_malloc`` did: "tuned", "off" (EMBER_MALLOC_TUNING=0), "user" (the user set
#: glibc's malloc variables: theirs win), "unavailable" (not glibc), or "not yet".
malloc_tuning = "not yet"


def tune_malloc() -> str:
    """Keep freed memory for reuse (see above); once, at ``import ember``."""
    global malloc_tuning
    env = os.environ
    if env.get("EMBER_MALLOC_TUNING", "1") == "0":
        malloc_tuning = "off"
    elif any(k in env for k in _GLIBC_MALLOC_VARIABLES) or \
            "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        malloc_tuning = "user"
    else:
        malloc_tuning = "unavailable"
        try:
            libc = ctypes.CDLL(None)
            glibc = bool(getattr(libc, "gnu_get_libc_version", None)) and sys.platform == "linux"
        except (OSError, AttributeError):
            glibc = False
        if glibc and libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD) == 1 and \
                libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD) == 1:
            malloc_tuning = "tuned"
    return malloc_tuning


# ---------------------------------------------------------------------------------------------
# scratch memory: per thread, bounded
# ---------------------------------------------------------------------------------------------

#: Work arrays up to this size in all are kept per thread between calls; a request that would
#: take the thread's kept total past it gets fresh memory that is not kept. (The convolution
#: engine's chunks are 4 MiB; its batch-last output copies grow with the layer, and keeping a
#: huge one forever is what this bound prevents.)
SCRATCH_LIMIT_BYTES = 64 * 2 ** 20

_scratch_local = threading.local()


def scratch(slot: str, shape, dtype) -> np.ndarray:
    """A work array of ``shape`` in memory kept from call to call (per thread and slot).

    A fresh multi-megabyte array costs a page fault per 4 KiB page on first touch, on every
    call (measured: 3.6 ms of LeNet's 4.3 ms im2col); reused memory does not. The contents are
    whatever the last user of the slot left."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    bufs = _scratch_local.__dict__.setdefault("bufs", {})
    buf = bufs.get(slot)
    if buf is None or buf.nbytes < nbytes:
        kept = sum(b.nbytes for name, b in bufs.items() if name != slot)
        buf = np.empty(max(nbytes, 64), dtype=np.uint8)
        if kept + buf.nbytes <= SCRATCH_LIMIT_BYTES:
            bufs[slot] = buf
        else:
            bufs.pop(slot, None)  # too big to keep: this call's alone
    return buf[:nbytes].view(dtype).reshape(shape)


def scratch_bytes() -> int:
    """Bytes of scratch memory the calling thread keeps."""
    return sum(b.nbytes for b in getattr(_scratch_local, "bufs", {}).values())


def release_scratch() -> None:
    """Free the calling thread's scratch memory (it is reallocated on the next use)."""
    _scratch_local.__dict__.pop("bufs", None)
