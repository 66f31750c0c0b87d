"""``ember run``: torchrun's command line on ember's engine, and the supervisor it shares with
:func:`ember.multiprocessing.spawn`.

One node: ``ember run --nproc-per-node=N train.py ARGS`` starts one ``mpiexec -n N`` whose
processes run ``train.py`` as ``__main__`` with torchrun's environment (RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, GROUP_RANK, ...). Several nodes: the
same command on each machine with ``--nnodes=K --node-rank=i --master-addr=HOST
--master-port=PORT``; ``init_process_group`` joins the K worlds over TCP at HOST:PORT.

The supervisor keeps a Unix socket to every rank (see ``_worker``): the first rank that
raises, exits non-zero or dies is the root cause it reports, by rank, as torchrun does; the
others are ended with it (hydra, MPICH's launcher, ends a world when one process fails), and
``ember run`` exits with status 1.
"""
from __future__ import annotations

import dataclasses
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import _engine
from ._worker import ENV_NODE_RANK, ENV_SOCKET

DEFAULT_MASTER_PORT = 29500  # torchrun's, for several nodes


@dataclasses.dataclass
class Failure:
    """How the first failed rank ended: ``exitcode`` (negative: the signal that killed it, as
    torch reports it) and its traceback when it raised. rank -1: none reported (mpiexec failed
    before any rank started)."""
    rank: int
    pid: int
    exitcode: int | None
    traceback: str = ""
    note: str = ""  # what ended it, when the launcher knows better than the status

    def describe(self) -> str:
        if self.traceback:
            return self.traceback.rstrip().splitlines()[-1]
        if self.note:
            return self.note
        if self.exitcode is not None and self.exitcode < 0:
            return f"killed by signal {_signal_name(-self.exitcode)}"
        return f"exited with status {self.exitcode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def mpiexec_path() -> str:
    """The MPICH wheel's ``mpiexec`` beside this Python, else one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")
    if not found or not _engine.is_available():
        raise RuntimeError(f"ember.distributed needs MPI's launcher (mpiexec) and mpi4py, which "
                           f"were not found; install them with {_engine.INSTALL_HINT}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(worker_args, nprocs: int, env: dict, node_rank: int = 0, started=None):
    """Start ``nprocs`` ranks of ``python -m ember.distributed._worker WORKER_ARGS`` under one
    ``mpiexec`` and wait for them. Returns (mpiexec's exit status, the first Failure or None).
    ``started(process)`` is told the mpiexec process (spawn's context ends it on Ctrl-C)."""
    with tempfile.TemporaryDirectory(prefix="ember-run-") as tmp:  # private: mode 0700
        path = os.path.join(tmp, "report")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(nprocs)
        env = dict(env, **{ENV_SOCKET: path, ENV_NODE_RANK: str(node_rank)})
        cmd = [mpiexec_path(), "-n", str(nprocs), sys.executable, "-m",
               "ember.distributed._worker", *worker_args]
        proc = subprocess.Popen(cmd, env=env)
        if started is not None:
            started(proc)
        try:
            return _supervise(proc, listener)
        except BaseException:       # Ctrl-C or an error here: take the ranks down with us
            terminate(proc)
            raise
        finally:
            listener.close()


class _Rank:
    """What one rank has sent so far on its line."""

    def __init__(self):
        self.data = b""

    def ending(self):
        """The Failure this rank's report describes; None for a clean exit."""
        text = self.data.decode(errors="replace")
        head, _, text = text.partition("\n")
        words = head.split()
        rank, pid = (int(words[1]), int(words[2])) if _is_hello(words) else (-1, -1)
        if text.startswith("error\n"):
            return Failure(rank, pid, 1, text[len("error\n"):])
        words = text.split()
        if len(words) == 2 and words[0] == "exit" and words[1].lstrip("-").isdigit():
            code = int(words[1])
            return None if code == 0 else Failure(rank, pid, code)
        return Failure(rank, pid, None)  # no word: killed (the status comes from mpiexec)


def _is_hello(words) -> bool:
    return len(words) == 3 and words[0] == "hello" and all(w.isdigit() for w in words[1:])


def _supervise(proc, listener):
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    endings = []  # (Failure or None) per rank, in the order the ranks ended
    reported_at = None
    while proc.poll() is None:
        for key, _ in sel.select(timeout=0.05):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ, _Rank())
            elif not _read(key, sel):
                endings.append(key.data.ending())
        if reported_at is None and _reported(endings):
            reported_at = time.monotonic()
        # hydra ends the world when a rank exits non-zero, which a rank that reported a
        # failure does; should the others still run after a grace period, end them.
        if reported_at is not None and time.monotonic() - reported_at > 5.0:
            terminate(proc)
    # What the ranks that hydra ended (or that ended together with mpiexec) sent last.
    for key in [k for k in sel.get_map().values() if k.fileobj is not listener]:
        key.fileobj.setblocking(False)
        try:
            while _read(key, sel):
                pass
        except BlockingIOError:  # nothing more, yet no end of file: count it as ended
            sel.unregister(key.fileobj)
            key.fileobj.close()
        endings.append(key.data.ending())
    sel.close()
    return proc.returncode, _root_cause(endings, proc.returncode)


def _reported(endings):
    """The first rank that reported a failure (an exception or a non-zero status)."""
    return next((f for f in endings if f is not None and f.exitcode is not None), None)


def _root_cause(endings, rc: int):
    """The failure to report: a rank that reported one ended first (the ranks that died
    without a word were then ended by hydra); else the first rank that died without a word:
    killed by a signal (hydra exits with its number), or - mpiexec succeeding - ended by
    hydra because another rank left through os._exit(0) without finalizing MPI."""
    failure = _reported(endings)
    silent = next((f for f in endings if f is not None), None)
    if failure is None and rc:
        failure = silent or Failure(-1, -1, rc)
        if failure.exitcode is None:
            failure.exitcode = -rc if 0 < rc < 65 else rc
    elif failure is None and silent is not None:
        failure = silent
        failure.note = ("ended by mpiexec: another rank left through os._exit() without "
                        "finalizing MPI, which makes mpiexec end the other ranks")
        failure.exitcode = -signal.SIGKILL
    return failure


def _read(key, sel) -> bool:
    """Read what a rank sent; False (and its line closed) at its end of file."""
    try:
        chunk = key.fileobj.recv(65536)
    except ConnectionError:
        chunk = b""
    if chunk:
        key.data.data += chunk
        return True
    sel.unregister(key.fileobj)
    key.fileobj.close()
    return False


def terminate(proc) -> None:
    """End mpiexec (which ends its ranks): SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- ember run

DESCRIPTION = ("Start --nproc-per-node processes of a training script on this node with "
               "torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, "
               "MASTER_ADDR, MASTER_PORT); for several nodes run it on each with --nnodes, "
               "--node-rank, --master-addr and --master-port.")


def add_subcommand(subparsers) -> None:
    p = subparsers.add_parser("run", help="launch a distributed training script (torchrun's "
                              "flags)", description=DESCRIPTION)
    add_arguments(p)
    p.set_defaults(func=cli_run)


def add_arguments(p) -> None:
    """torchrun's flags that ember run understands (both spellings, as torchrun)."""
    p.add_argument("--nnodes", default="1", help="number of nodes, or MIN:MAX with MIN == MAX (1)")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes on this node: a number, or 'cpu'/'auto' for one per core (1)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0,
                   help="this node's rank, 0..nnodes-1 (0)")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1",
                   help="address of node 0, where rank 0 serves the rendezvous (127.0.0.1)")
    p.add_argument("--master-port", "--master_port", type=int, default=None,
                   help="port of the rendezvous on node 0 (a free one on a single node, else "
                        f"{DEFAULT_MASTER_PORT})")
    p.add_argument("--standalone", action="store_true",
                   help="a single node with a rendezvous on a free local port")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0,
                   help="only 0: ember run does not restart failed workers")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script as a module, as python -m")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="not supported: the workers are Python processes")
    p.add_argument("training_script", help="the script (or module with -m) to run")
    p.add_argument("training_script_args", nargs="...", help="its arguments")


def _nnodes(text: str) -> int:
    from ..cli import CommandError
    parts = text.split(":")
    try:
        low, high = int(parts[0]), int(parts[-1])
    except ValueError:
        raise CommandError(f"--nnodes must be a number or MIN:MAX, got {text!r}") from None
    if len(parts) > 2 or low != high or low < 1:
        raise CommandError(f"--nnodes must be a positive number (elastic MIN:MAX ranges are not "
                           f"supported), got {text!r}")
    return low


def _nproc(text: str) -> int:
    from ..cli import CommandError
    if text in ("cpu", "auto"):
        return os.cpu_count() or 1
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise CommandError(f"--nproc-per-node must be a positive number, 'cpu' or 'auto', got "
                           f"{text!r}")
    return n


def cli_run(args) -> int:
    """Launch as the parsed ``args`` say; the exit status (1: a rank failed, reported)."""
    from ..cli import CommandError
    nnodes, nproc = _nnodes(args.nnodes), _nproc(args.nproc_per_node)
    if args.standalone:
        nnodes, args.node_rank, args.master_addr = 1, 0, "127.0.0.1"
    if not 0 <= args.node_rank < nnodes:
        raise CommandError(f"--node-rank must be in 0..{nnodes - 1} for --nnodes={nnodes}, got "
                           f"{args.node_rank}")
    if args.max_restarts:
        raise CommandError(f"--max-restarts={args.max_restarts}: ember run does not restart "
                           f"failed workers; only 0 is supported")
    if args.no_python:
        raise CommandError("--no-python is not supported: ember run's workers are Python")
    try:
        mpiexec_path()
    except RuntimeError as e:
        raise CommandError(str(e)) from None
    if not args.module and not os.path.isfile(args.training_script):
        raise CommandError(f"the training script {args.training_script} does not exist")
    port = args.master_port
    if port is None:
        port = free_port() if nnodes == 1 else DEFAULT_MASTER_PORT
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env and nproc > 1:
        print("ember run: setting OMP_NUM_THREADS=1 for each process (as torchrun), to avoid "
              "overloading the machine; set it yourself to tune", file=sys.stderr)
        env["OMP_NUM_THREADS"] = "1"
    env.update(WORLD_SIZE=str(nnodes * nproc), LOCAL_WORLD_SIZE=str(nproc),
               MASTER_ADDR=args.master_addr, MASTER_PORT=str(port),
               GROUP_RANK=str(args.node_rank), GROUP_WORLD_SIZE=str(nnodes), ROLE_NAME="default",
               ROLE_WORLD_SIZE=str(nnodes * nproc), TORCHELASTIC_RESTART_COUNT="0",
               TORCHELASTIC_MAX_RESTARTS="0", TORCHELASTIC_RUN_ID=env.get("TORCHELASTIC_RUN_ID",
                                                                          "none"))
    kind = "module" if args.module else "script"
    # A scheduler's SIGTERM must end the ranks too, not orphan them: turn it into an exit,
    # which run_workers answers by terminating mpiexec (and so the ranks).
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        rc, failure = run_workers([kind, args.training_script, *args.training_script_args],
                                  nproc, env, args.node_rank)
    except RuntimeError as e:
        raise CommandError(str(e)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failure is None:
        return 0
    print(_failure_report(args.training_script, failure, args.node_rank * nproc), file=sys.stderr)
    return 1


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _failure_report(script: str, f: Failure, first_rank: int) -> str:
    line = "=" * 60
    if f.rank < 0:
        cause = f"  mpiexec exited with status {f.exitcode} before any rank reported\n"
    else:
        cause = (f"  rank      : {f.rank} (local_rank: {f.rank - first_rank})\n"
                 f"  exitcode  : {f.exitcode} (pid: {f.pid})\n"
                 f"  error     : {f.describe()}\n")
    return (f"ember run: {script} FAILED\n{line}\nRoot Cause (first observed failure):\n{cause}"
            f"{line}")
