"""The process ``mpiexec`` starts for ``ember run`` and ``ember.multiprocessing.spawn``.

``python -m ember.distributed._worker script PATH ARGS...`` runs a script as ``__main__``
(``module NAME ARGS...`` a module, as ``python -m``), ``spawn PAYLOAD`` calls a pickled
``fn(rank, *args)`` written by :func:`ember.multiprocessing.spawn`. Before that it sets the
environment torchrun gives its workers (RANK, LOCAL_RANK, ... from the MPI rank) and connects
to the launcher's socket, where it reports how it ended: ``exit CODE``, or ``error`` with the
traceback (see :class:`Report`). A rank that dies without a word (a signal) is seen by the
launcher as the socket closing. After an exception the process ends at once, without
MPI_Finalize: finalizing waits for the other ranks, which may be waiting for this one.
"""
from __future__ import annotations

import os
import runpy
import socket
import sys
import traceback

from . import _engine

ENV_SOCKET = "EMBER_RUN_SOCKET"
ENV_NODE_RANK = "EMBER_RUN_NODE_RANK"


def set_rank_environment() -> int:
    """torchrun's per-worker variables from the MPI rank in this node's launch; the ones
    common to the node were set by the launcher. Returns the global rank."""
    local_rank = int(os.environ["PMI_RANK"])
    local_world = int(os.environ["LOCAL_WORLD_SIZE"])
    rank = int(os.environ.get(ENV_NODE_RANK, "0")) * local_world + local_rank
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(local_rank), ROLE_RANK=str(rank))
    return rank


class Report:
    """The line to the launcher: ``hello RANK PID``, then one ending, ``exit CODE`` or
    ``error`` + the traceback. ``os._exit`` reports its status too (wrapped in this process
    only): a rank that leaves that way without finalizing MPI makes hydra end the others, and
    the launcher must tell that apart from a rank killed by a signal."""

    def __init__(self, path: str, rank: int):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.ended = False
        self._send(f"hello {rank} {os.getpid()}\n")
        # A forked child (a DataLoader worker) must not keep the line open after this
        # process dies: the launcher reads the closing as this rank's death.
        os.register_at_fork(after_in_child=self.sock.close)
        real_exit = os._exit

        def reporting_exit(code):
            self.end(f"exit {code}\n")
            real_exit(code)
        os._exit = reporting_exit

    def end(self, text: str) -> None:
        if not self.ended:
            self.ended = True
            self._send(text)

    def _send(self, text: str) -> None:
        try:
            self.sock.sendall(text.encode(errors="replace"))
        except OSError:  # the launcher is gone; nothing to tell
            pass


def _user_traceback(e: BaseException) -> str:
    """The traceback from the user's code on: the frames of this trampoline, runpy and
    spawn's caller are noise in a rank's error report."""
    ours = (os.path.abspath(__file__), runpy.__file__,
            os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "multiprocessing", "__init__.py"))
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None and (
            os.path.abspath(tb.tb_frame.f_code.co_filename) in ours
            or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def main(argv) -> None:
    kind, target, *args = argv
    # spawn's children get no torchrun variables (torch's do not either): fn gets its rank.
    rank = int(os.environ["PMI_RANK"]) if kind == "spawn" else set_rank_environment()
    report = Report(os.environ[ENV_SOCKET], rank)
    try:
        if kind == "spawn":
            from ember.multiprocessing import _run_spawned
            _run_spawned(target, rank)
        elif kind == "module":
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        report.end(f"exit {code}\n")
        if code:
            _engine.abort(code)
        raise SystemExit(code) from None
    except BaseException as e:
        text = _user_traceback(e)
        if kind != "spawn":  # spawn's parent raises it: torch's children do not print it
            sys.stderr.write(text)
        report.end(f"error\n{text}")
        _engine.abort(1)
    report.end("exit 0\n")


if __name__ == "__main__":
    main(sys.argv[1:])
