"""Forming the world communicator of :func:`init_process_group`.

One MPI world (the processes of one ``mpiexec``: ``ember run`` on one node, ``spawn``, a bare
``mpiexec -n N``) is the whole group: its ranks are put in the order of the ranks the processes
were given. Several worlds (``ember run --nnodes=K``: one ``mpiexec`` per node) are joined over
TCP: the process of global rank 0 serves a small key-value store at MASTER_ADDR:MASTER_PORT
(what torch's TCPStore is), opens an MPI port and publishes its name there; each other world
connects in turn and the worlds merge into one communicator. Nothing received through the
store is unpickled: keys and values are bytes.
"""
from __future__ import annotations

import datetime
import time

import numpy as np

from . import _engine


def world_communicator(rank: int, world_size: int, address, timeout: datetime.timedelta):
    """A communicator of ``world_size`` processes in which this one has rank ``rank``."""
    MPI = _engine.mpi()
    if _engine.launched_by_mpiexec():
        base = MPI.COMM_WORLD
    elif world_size == 1:
        base = MPI.COMM_SELF
    else:
        raise RuntimeError(
            f"init_process_group(world_size={world_size}): this process was started as plain "
            f"`python`, and ember.distributed's engine (MPI) can only connect processes started "
            f"by a launcher. Start them with `ember run --nproc-per-node={world_size} script.py` "
            f"(torchrun's flags), ember.multiprocessing.spawn(fn, args, nprocs={world_size}), or "
            f"`mpiexec -n {world_size} python script.py`")
    deadline = time.monotonic() + timeout.total_seconds()
    if base.Get_size() == world_size:
        return _ordered(base, rank, world_size, deadline, timeout)
    if base.Get_size() > world_size:
        raise RuntimeError(f"init_process_group(world_size={world_size}) in a launch of "
                           f"{base.Get_size()} processes: world_size must be the number of "
                           f"processes started")
    from ._join import join_worlds
    return join_worlds(base, rank, world_size, address, deadline, timeout)


def _ordered(comm, rank: int, world_size: int, deadline: float, timeout):
    """A private copy of ``comm`` whose ranks are the ranks the processes were given."""
    mine = np.array([rank], np.int64)
    given = np.empty(comm.Get_size(), np.int64)
    request = comm.Iallgather(mine, given)
    _engine.wait([request], deadline, lambda: (
        f"init_process_group: timed out after {timeout.total_seconds():g}s waiting for the other "
        f"ranks of the world to call init_process_group (rank {rank} of {world_size})"))
    check_ranks(given.tolist(), world_size)
    # Split is collective but cannot hang now: every process has arrived (the gather above).
    return comm.Split(0, rank)


def check_ranks(given, world_size: int) -> None:
    """Every rank 0..world_size-1 given to exactly one process."""
    if sorted(given) != list(range(world_size)):
        dupes = sorted({r for r in given if given.count(r) > 1})
        raise RuntimeError(f"init_process_group: the processes were given ranks {sorted(given)}; "
                           f"expected each of 0..{world_size - 1} exactly once"
                           + (f" (rank {dupes[0]} was given twice)" if dupes else ""))
