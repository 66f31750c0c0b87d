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

import atexit
import datetime
import os
import sys
import threading
import time

import numpy as np

from . import _engine, _store


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
    return _join_worlds(base, rank, world_size, address, deadline, timeout)


def _ordered(comm, rank: int, world_size: int, deadline: float, timeout):
    """A private copy of ``comm`` whose ranks are the ranks the processes were given."""
    given = _allgather_int(comm, rank, deadline, lambda: (
        f"init_process_group: timed out after {timeout.total_seconds():g}s waiting for the other "
        f"ranks of the world to call init_process_group (rank {rank} of {world_size})"))
    check_ranks(given, world_size)
    # Split is collective but cannot hang now: every process has arrived (the gather above).
    return comm.Split(0, rank)


def check_ranks(given, world_size: int) -> None:
    """Every rank 0..world_size-1 given to exactly one process."""
    if sorted(given) != list(range(world_size)):
        dupes = sorted({r for r in given if given.count(r) > 1})
        raise RuntimeError(f"init_process_group: the processes were given ranks {sorted(given)}; "
                           f"expected each of 0..{world_size - 1} exactly once"
                           + (f" (rank {dupes[0]} was given twice)" if dupes else ""))


def _join_worlds(base, rank: int, world_size: int, address, deadline: float, timeout):
    """Merge this MPI world with the others of the launch into one communicator.

    The world holding rank 0 (the hub) opens an MPI port and publishes its name in the store;
    each other world takes a ticket and, when the hub calls it, connects to the port; the
    merged communicator then accepts the next world together. Every step that waits on
    another node is bounded by ``deadline``, and every member learns whether to go on before
    entering MPI's (unbounded) Accept/Connect; a watchdog ends the process if a peer vanishes
    inside one."""
    MPI = _engine.mpi()
    if address is None:
        raise ValueError("Error initializing torch.distributed using env:// rendezvous: "
                         "environment variable MASTER_ADDR expected, but not set (needed to "
                         "join the processes of several launches, e.g. ember run --nnodes)")
    local_ranks = _allgather_int(base, rank, deadline, lambda: (
        f"init_process_group: timed out after {timeout.total_seconds():g}s waiting for the "
        f"other processes of this launch"))
    is_root = base.Get_rank() == 0
    server = store = None
    if rank == 0 and address[0] == "tcp":
        server = _store.TCPStoreServer(address[1], address[2])
    watchdog = threading.Timer(max(1.0, deadline - time.monotonic()) + 5.0, _watchdog_expired,
                               args=(rank, timeout))
    watchdog.daemon = True
    watchdog.start()
    try:
        if is_root:
            store = (_store.TCPStore(address[1], address[2], deadline) if address[0] == "tcp"
                     else _store.FileStore(address[1], deadline))
        port_name = ""
        if 0 in local_ranks:
            if is_root:
                port_name = MPI.Open_port()
                store.set("ember/port", port_name.encode())
            merged, ticket = base, 0
        else:
            # Wait for the hub to call this world's ticket; the members learn the ticket (or
            # that the wait timed out: 0) from the root before entering MPI's Connect.
            called = 0
            if is_root:
                ticket = store.add("ember/tickets", 1)
                store.set(f"ember/ticket/{ticket}", b"1")
                port_name = store.get("ember/port").decode()
                called = ticket if _got(store, f"ember/go/{ticket}") else 0
            ticket = _root_says(base, called, deadline, timeout)
            if not ticket:
                raise RuntimeError(_join_timeout(rank, timeout))
            merged = base.Connect(port_name, root=0).Merge(high=True)
        while merged.Get_size() < world_size:
            ticket += 1
            at_hub = merged.Get_rank() == 0
            ready = at_hub and _got(store, f"ember/ticket/{ticket}")
            if ready:
                store.set(f"ember/go/{ticket}", b"1")
            if not _root_says(merged, int(ready), deadline, timeout):
                raise RuntimeError(_join_timeout(rank, timeout))
            merged = merged.Accept(port_name, root=0).Merge(high=False)
        if port_name and 0 in local_ranks:
            MPI.Close_port(port_name)
        world = _ordered(merged, rank, world_size, deadline, timeout)
        if address[0] == "file" and is_root and 0 in local_ranks:
            # Everyone has joined (the ordering above is collective): the file has served,
            # and a stale one would mislead the next launch (torch's FileStore removes it too).
            os.remove(address[1])
        if server is not None:
            server.watch(lambda r: _engine.report_peer_failure(
                f"rank {r} disconnected without finalizing (it failed or was killed)"))
        elif address[0] == "tcp":
            _liveness.append(_store.LivenessLine(address[1], address[2], rank, deadline,
                                                 _engine.report_peer_failure))
    except BaseException:
        if server is not None:
            server.close()
        raise
    finally:
        watchdog.cancel()
        if store is not None:
            store.close()
    if server is not None:
        _liveness.append(server)  # rank 0 serves the others' liveness lines until the end
    if _liveness:
        atexit.register(close_liveness)  # a normal exit is a clean end; os._exit is not
    return world


_liveness: list = []  # this process's liveness line, or (rank 0) the server of all of them


def close_liveness() -> None:
    """A clean end (destroy_process_group, or exit): say goodbye on the lines."""
    while _liveness:
        _liveness.pop().close()


def _got(store, key: str) -> bool:
    """Whether ``key`` appeared in the store before the deadline."""
    try:
        store.get(key)
        return True
    except RuntimeError:
        return False


def _root_says(comm, value: int, deadline: float, timeout) -> int:
    """Rank 0 of ``comm``'s ``value``, on every rank (bounded by the deadline)."""
    box = np.array([value], np.int64)
    request = comm.Ibcast(box, root=0)
    _engine.wait([request], deadline, lambda: _join_timeout(comm.Get_rank(), timeout))
    return int(box[0])


def _allgather_int(comm, value: int, deadline: float, timeout_message) -> list:
    """Every process's ``value``, in ``comm``'s rank order; by the deadline, else
    ``timeout_message()``."""
    mine = np.array([value], np.int64)
    out = np.empty(comm.Get_size(), np.int64)
    request = comm.Iallgather(mine, out)
    _engine.wait([request], deadline, timeout_message)
    return out.tolist()


def _join_timeout(rank: int, timeout) -> str:
    return (f"init_process_group: rank {rank} timed out after {timeout.total_seconds():g}s "
            f"waiting for the other nodes to join at the rendezvous (MASTER_ADDR:MASTER_PORT); "
            f"did every node start, with the same --nnodes, --master-addr and --master-port?")


def _watchdog_expired(rank: int, timeout) -> None:
    # A peer vanished inside MPI's Accept/Connect, which cannot be interrupted: end the process
    # rather than hang.
    sys.stderr.write(_join_timeout(rank, timeout) + " (a node vanished while connecting)\n")
    sys.stderr.flush()
    os._exit(1)
