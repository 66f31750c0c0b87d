"""The collective engine under ember.distributed: MPI, through mpi4py (imported lazily).

Why MPI and not gloo: no gloo binding exists on the package index for this Python, while
mpi4py + the MPICH wheel install with pip and bring their own launcher (``mpiexec``). The
backend names torch users write ("gloo", "mpi") both map to this engine.

What this module knows: how to import the engine with a clear error, which MPI datatype and
reduction serve a NumPy dtype, and how to wait for a request without ever hanging: MPI's
blocking calls wait forever when a peer died or called a different collective, so every
operation is nonblocking and :func:`wait_until` polls it against the group's deadline (and
a peer-failure flag the rendezvous' liveness lines set). A timed-out group is poisoned: its
pending buffers are kept alive (MPI may still write into them) and the process exits with
status 1 at exit instead of finalizing, so that no peer waits on it forever. Async
operations are driven in the background by :class:`_Progress`. Forming the world
communicator is _rendezvous' job.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import sys
import threading
import time

import numpy as np

INSTALL_HINT = "pip install 'ember[distributed]'  (mpi4py and the MPICH wheel)"

_MPI = None


def is_available() -> bool:
    """Whether the engine can be imported. Only looks for it (importing mpi4py.MPI would
    initialise MPI in this process, a side effect a query must not have)."""
    if _MPI is not None:
        return True
    try:
        return (importlib.util.find_spec("mpi4py") is not None
                and importlib.util.find_spec("mpi4py.MPI") is not None)
    except (ImportError, ValueError):  # a broken or blocked install
        return False


def mpi():
    """The ``mpi4py.MPI`` module, imported on first use; a RuntimeError naming the extra to
    install when it is missing."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(f"ember.distributed needs its collective engine, MPI through "
                               f"mpi4py, which could not be imported ({e}); install it with "
                               f"{INSTALL_HINT}") from e
        _MPI = MPI
    return _MPI


def launched_by_mpiexec() -> bool:
    """True in a process started by ``mpiexec`` (hydra sets PMI_RANK/PMI_SIZE), whose MPI world
    is the processes started with it; a plain ``python`` process is an MPI singleton, which
    MPICH cannot join with other singletons."""
    return "PMI_RANK" in os.environ and "PMI_SIZE" in os.environ


# --------------------------------------------------------------------------- types and ops

def mpi_datatype(dtype: np.dtype):
    """The MPI datatype of a NumPy dtype, for reductions (data movement uses bytes)."""
    global _DATATYPES
    if _DATATYPES is None:  # built once: a collective's call path should not rebuild tables
        MPI = mpi()
        _DATATYPES = {np.dtype(k): v for k, v in (
            ("f4", MPI.FLOAT), ("f8", MPI.DOUBLE), ("i8", MPI.INT64_T), ("i4", MPI.INT32_T),
            ("i2", MPI.INT16_T), ("i1", MPI.INT8_T), ("u1", MPI.UINT8_T), ("b1", MPI.C_BOOL))}
    return _DATATYPES.get(dtype) or _DATATYPES[dtype.newbyteorder("=")]


def mpi_op(name: str, dtype: np.dtype):
    """The MPI reduction for ReduceOp ``name`` on ``dtype``. Booleans: SUM and MAX are OR,
    PRODUCT and MIN are AND (what torch computes on bool tensors)."""
    global _OPS
    if _OPS is None:
        MPI = mpi()
        _OPS = {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN,
                "MAX": MPI.MAX, "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}
    if dtype == np.bool_:
        name = {"SUM": "BOR", "MAX": "BOR", "PRODUCT": "BAND", "MIN": "BAND"}.get(name, name)
        MPI = mpi()
        return {"BOR": MPI.LOR, "BAND": MPI.LAND, "BXOR": MPI.LXOR}[name]
    return _OPS[name]


_DATATYPES = None
_OPS = None


# --------------------------------------------------------------------------- waiting

# MPI progresses a transfer only inside Test(), so we poll; how was measured on 2 processes
# of this 2-core machine under load. Never yielding is ruinous when the peer needs our core
# (load 8, min of 30: 16-byte all-reduce 4.3 ms against 0.055 ms for MPICH's blocking call,
# which yields now and then; 1 MB 15.9 ms against 1.0 ms). So we yield once per SPIN_S of
# polling, as MPICH's own busy wait does per so many polls (MPIR_CVAR_POLLS_BEFORE_YIELD).
SPIN_S = 5e-4        # poll this long between yields,
YIELD_S = 1.0        # for this long in all,
MAX_SLEEP_S = 1e-3   # then sleep between polls, doubling up to this: a straggler costs no CPU


def _local_ranks() -> int:
    """How many ranks share this machine, as the launcher says (ember run: LOCAL_WORLD_SIZE,
    MPICH's mpiexec: MPI_LOCALNRANKS); 1 when none does."""
    for name in ("LOCAL_WORLD_SIZE", "MPI_LOCALNRANKS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pick_yield():
    """How a polling rank lets others run. A core per rank: sched_yield, as MPICH, since
    time.sleep(0) is no yield but a sleep of the timer slack (35-70 us measured here), which a
    transfer waited out every SPIN_S (10 MB all-reduce: 1.49x raw MPI). More ranks than cores:
    that sleep, since CFS hands a sched_yield-ing spinner its core straight back while the
    peer it waits for is queued (4 ranks on 2 cores, 1 MB: ~2x slower with sched_yield)."""
    if hasattr(os, "sched_yield") and _local_ranks() <= _cpus():
        return os.sched_yield
    return lambda: time.sleep(0)


_yield = _pick_yield()

_poisoned: list = []

# Set (by the rendezvous' liveness line, from its thread) when a rank of another MPI world
# has died: MPI itself would only notice at the timeout. Every wait then fails at once.
peer_failure = None


def report_peer_failure(text: str) -> None:
    global peer_failure
    peer_failure = text  # (requests, buffers) of timed-out operations: MPI may still write there


def wait(requests, deadline: float, describe, statuses=None) -> None:
    """Complete every MPI request in ``requests`` before ``deadline`` (time.monotonic()), or
    raise RuntimeError(describe()) (what torch raises); ``statuses`` (one per request)
    receive their statuses. See wait_until."""
    wait_until(lambda: test_all(requests, statuses), deadline, describe)


def wait_until(done, deadline: float, describe) -> None:
    """Poll ``done()`` until it is true; RuntimeError(describe()) past ``deadline``, or at
    once when a rank of another world is known dead. The caller poisons what the requests
    use. Polling (see SPIN_S above) is what lets us give up where a blocking call would wait
    forever. An error MPI reports (a message longer than its buffer) comes out of done() as
    mpi4py's MPI.Exception."""
    start = time.monotonic()
    next_yield = start + SPIN_S
    sleep = 1e-5
    while not done():
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(describe())
        if peer_failure is not None:
            raise RuntimeError(f"ember.distributed: {peer_failure}; the process group is "
                               f"aborted, and this process will exit with status 1 without "
                               f"waiting for its peers")
        if now - start > YIELD_S:
            time.sleep(sleep)
            sleep = min(2 * sleep, MAX_SLEEP_S)
        elif now > next_yield:
            _yield()  # the peer on this core gets to run
            next_yield = time.monotonic() + SPIN_S


def test_all(requests, statuses=None) -> bool:
    """Whether every request has completed, testing each one still pending: Request.Test,
    one at a time, because MPICH's Testall polls far more slowly (measured: ~500 us against
    ~2 us for a 16-byte Iallreduce between two processes). A completed request becomes
    REQUEST_NULL and is not tested again (that would overwrite its status)."""
    null = mpi().REQUEST_NULL
    if len(requests) == 1:  # most operations: the loop's cost saved on every poll
        request = requests[0]
        return request == null or request.Test(None if statuses is None else statuses[0])
    done = True
    for i, request in enumerate(requests):
        if request != null and not request.Test(None if statuses is None else statuses[i]):
            done = False
    return done


class _Progress:
    """Completes async operations in the background, as torch's backends do.

    MPI advances a nonblocking operation only inside MPI calls: without this, an
    ``async_op=True`` all-reduce posted during backward would not move until ``wait()``. While
    any async operation is pending, a daemon thread polls each one (under the operation's
    lock, so never together with its owner) every PERIOD_S, and completes it - result written,
    AVG divided - if its owner has not; it holds the operations it polls, so one that nobody
    waits for still has its buffers. Measured (2 processes, a 10 MB all-reduce posted before
    20 ms of matmuls, load ~10): 48.2 ms without it, 27.1 ms with it, the all-reduce alone
    3.4 ms. Needs MPI_THREAD_MULTIPLE (mpi4py's default); EMBER_DISTRIBUTED_PROGRESS=0 turns
    it off (then only wait()/is_completed() advance them)."""

    PERIOD_S = 2e-4

    def __init__(self):
        self._cond = threading.Condition()
        self._works: dict = {}   # id -> pending Work (insertion-ordered: oldest first)
        self._thread = None
        self._stopped = False

    def hold(self, work) -> None:
        if not self._usable():
            return
        with self._cond:
            self._works[id(work)] = work
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="ember-mpi-progress")
                self._thread.start()
                atexit.register(self.stop)  # runs before MPI_Finalize (registered earlier)
            self._cond.notify()

    def forget(self, work) -> None:
        with self._cond:
            self._works.pop(id(work), None)

    def pending(self, group) -> list:
        """The async operations of ``group`` still in flight."""
        with self._cond:
            return [w for w in self._works.values() if w._pg is group]

    def _usable(self) -> bool:
        MPI = mpi()
        return (not self._stopped and os.environ.get("EMBER_DISTRIBUTED_PROGRESS", "1") != "0"
                and MPI.Query_thread() == MPI.THREAD_MULTIPLE)

    def _run(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._works or self._stopped)
                if self._stopped:
                    return
                works = list(self._works.values())
            for work in works:
                if work._lock.acquire(blocking=False):  # its owner is polling it: skip
                    try:
                        work._poll()
                    finally:
                        work._lock.release()
            time.sleep(self.PERIOD_S)

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()


progress = _Progress()


def poison(keep_alive) -> None:
    """After a failed wait: keep the operation's objects alive and abort MPI at exit."""
    if not _poisoned:
        atexit.register(_abort_at_exit)
    _poisoned.append(keep_alive)


def _abort_at_exit() -> None:
    # MPI_Finalize waits for peers that may never arrive: end without it. Under mpiexec a
    # rank that exits non-zero makes hydra end the rest of its world.
    abort(1)


def abort(code: int = 1) -> None:
    """End this process now, without MPI_Finalize (which would wait for the other ranks)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
