"""ember.multiprocessing: ``spawn(fn, args=(...), nprocs=N)`` as torch.multiprocessing's, for
distributed training::

    def train(rank, world_size):
        dist.init_process_group("gloo", rank=rank, world_size=world_size)
        ...

    if __name__ == "__main__":
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "localhost", "12355"
        ember.multiprocessing.spawn(train, args=(2,), nprocs=2, join=True)

The N processes are one ``mpiexec -n N`` world (so init_process_group can connect them), each
a fresh interpreter that imports the caller's main module as ``__mp_main__`` (as the "spawn"
start method does: keep the launch under ``if __name__ == "__main__"``) and calls
``fn(i, *args)``. ``fn`` and ``args`` go to the children pickled, through a private temporary
file: they are the parent's own objects. If a process raises, ``spawn`` raises
:class:`ProcessRaisedException` with its traceback; if it exits non-zero or is killed,
:class:`ProcessExitedException`; the other processes are ended.
"""
from __future__ import annotations

import multiprocessing.spawn as _mp_spawn
import os
import pickle
import signal
import tempfile
import threading

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "start_processes"]


class ProcessException(Exception):
    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A process failed with an exception raised by the code (its traceback is the message)."""


class ProcessExitedException(ProcessException):
    """A process exited with a non-zero status or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return (type(self), (self.msg, self.error_index, self.error_pid, self.exit_code,
                             self.signal_name))


class ProcessContext:
    """The running processes of ``spawn(..., join=False)``: ``join(timeout)`` returns True
    once all have exited, False while some run, and raises as ``spawn`` does on a failure."""

    def __init__(self, payload_dir, nprocs: int):
        self._dir = payload_dir
        self._outcome = None
        self._error = None
        self._mpiexec = None
        self.nprocs = nprocs
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        from ..distributed.launch import run_workers
        try:
            env = dict(os.environ)
            self._outcome = run_workers(["spawn", os.path.join(self._dir.name, "payload")],
                                        self.nprocs, env, started=self._started)
        except BaseException as e:  # surfaced by join()
            self._error = e
        finally:
            self._dir.cleanup()

    def _started(self, mpiexec) -> None:
        self._mpiexec = mpiexec

    def join(self, timeout=None, grace_period=None) -> bool:
        try:
            self._thread.join(timeout)
        except KeyboardInterrupt:  # Ctrl-C: the processes end with the call, as torch's
            if self._mpiexec is not None:
                from ..distributed.launch import terminate
                terminate(self._mpiexec)
            raise
        if self._thread.is_alive():
            return False
        if self._error is not None:
            raise self._error
        _raise_failure(self._outcome[1])
        return True


def _raise_failure(failure) -> None:
    if failure is None:
        return
    if failure.traceback:
        msg = f"\n\n-- Process {failure.rank:d} terminated with the following error:\n"
        raise ProcessRaisedException(msg + failure.traceback, failure.rank, failure.pid)
    code = failure.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"<Unknown signal {-code}>"
        raise ProcessExitedException(f"process {failure.rank:d} terminated with signal {name}",
                                     failure.rank, failure.pid, code, name)
    if failure.rank < 0:
        raise ProcessExitedException(f"the processes' launcher (mpiexec) exited with status "
                                     f"{code} before any process started", -1, -1, code)
    raise ProcessExitedException(f"process {failure.rank:d} terminated with exit code {code:d}",
                                 failure.rank, failure.pid, code)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for i in 0..nprocs-1 in processes of one MPI world."""
    if start_method not in ("spawn", "fork", "forkserver"):
        raise ValueError(f"cannot find context for {start_method!r}")
    if int(nprocs) < 1:
        raise ValueError(f"nprocs must be at least 1, got {nprocs}")
    payload_dir = tempfile.TemporaryDirectory(prefix="ember-spawn-")  # private: mode 0700
    path = os.path.join(payload_dir.name, "payload")
    try:
        with open(path, "wb") as f:
            # The main module must be importable in the child before fn can be unpickled.
            # The parent's multiprocessing authkey is not shared (nor picklable).
            preparation = _mp_spawn.get_preparation_data("ember-spawn")
            preparation.pop("authkey", None)
            pickle.dump(preparation, f)
            pickle.dump((fn, tuple(args)), f)
    except BaseException:
        payload_dir.cleanup()
        raise
    context = ProcessContext(payload_dir, int(nprocs))
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Start ``nprocs`` processes running ``fn(i, *args)`` and (``join=True``) wait for them;
    see the module's docstring. Returns None, or a :class:`ProcessContext` when
    ``join=False``. ``daemon`` and ``start_method`` are accepted for torch's signature: the
    processes are always fresh interpreters (as "spawn") and end with the call."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)


def _run_spawned(payload: str, rank: int) -> None:
    """In a child (called by ember.distributed._worker): import the parent's main module as
    ``__mp_main__``, then call ``fn(rank, *args)``."""
    with open(payload, "rb") as f:
        _mp_spawn.prepare(pickle.load(f))
        fn, args = pickle.load(f)
    fn(rank, *args)
