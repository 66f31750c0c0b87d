"""Process groups: the default one made by :func:`init_process_group`, and the sub-groups of
:func:`new_group`, with torch.distributed's names, arguments and errors.

A group is an MPI communicator whose ranks are in the group's order (communicator rank ==
group rank), plus the global ranks of its members and the timeout its collectives wait.
Ranks are global unless a name says ``group_``, as in torch.
"""
from __future__ import annotations

import datetime
import os
import warnings
from urllib.parse import parse_qsl, urlparse

from . import _engine
from . import _rendezvous

default_pg_timeout = datetime.timedelta(minutes=30)  # torch's default for gloo


class Backend(str):
    """A backend name, lower-cased (``Backend("GLOO") == "gloo"``). "gloo" and "mpi" both run
    on ember's engine, MPI; "nccl" needs CUDA, which ember does not have."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    UCC = "ucc"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {type(name)}")
        return super().__new__(cls, name.lower())


_RUNNABLE = (Backend.GLOO, Backend.MPI)
_NEW_GROUP_TAG = 19  # the MPI tag of new_group(use_local_synchronization=True)


class ProcessGroup:
    """A set of ranks that run collectives together. ``rank()`` and ``size()`` as torch's."""

    def __init__(self, comm, ranks, backend: str, timeout: datetime.timedelta, name: str):
        self._comm = comm
        self._ranks = list(ranks)          # global rank of each group rank
        self._backend = backend
        self._timeout = timeout
        self.group_name = name
        self._aborted = None               # the error that poisoned this group, if any
        # Compare each collective's descriptor across ranks first (see collectives._verify).
        self._checks = os.environ.get("EMBER_DISTRIBUTED_CHECKS", "1") != "0"

    def rank(self) -> int:
        return self._comm.Get_rank()

    def size(self) -> int:
        return len(self._ranks)

    def name(self) -> str:
        return self._backend

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup {self.group_name} ranks={self._ranks}>"


class GroupMember:
    """``GroupMember.WORLD``: the default group (None before init); ``NON_GROUP_MEMBER``: what
    :func:`new_group` returns on ranks outside the new group."""
    WORLD = None
    NON_GROUP_MEMBER = -100


class _WorldAlias(type):
    @property
    def WORLD(cls):
        return GroupMember.WORLD


class group(metaclass=_WorldAlias):
    """``group.WORLD``: torch's other name for ``GroupMember.WORLD``."""


_groups: list = []  # every live group, the default one first


def is_available() -> bool:
    """True when the collective engine (MPI through mpi4py) can be imported."""
    return _engine.is_available()


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def is_gloo_available() -> bool:
    return is_available()


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_backend_available(backend: str) -> bool:
    return Backend(backend) in _RUNNABLE and is_available()


def is_torchelastic_launched() -> bool:
    """True under ``ember run`` (torchrun's launcher sets TORCHELASTIC_RUN_ID too)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def _default_group() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return GroupMember.WORLD


def _resolve(group) -> ProcessGroup:
    """``group`` or the default one; a group that was destroyed is an error."""
    if group is None or group is GroupMember.WORLD:
        return _default_group()
    if group not in _groups:
        raise ValueError(f"Group {group} is not registered, please create group with "
                         f"torch.distributed.new_group API")
    return group


def _not_in_group(group) -> bool:
    return group is GroupMember.NON_GROUP_MEMBER


def _warn_not_in_group(op_name: str) -> None:
    global_rank = -1 if GroupMember.WORLD is None else GroupMember.WORLD.rank()
    warnings.warn(f"Running {op_name} on global rank {global_rank} which does not belong to the "
                  f"given group.", stacklevel=3)


# --------------------------------------------------------------------------- init / destroy

def _backend_or_raise(backend) -> str:
    if backend is None:
        return Backend.GLOO
    text = str(backend)
    if ":" in text:  # torch's "cpu:gloo,cuda:nccl": ember computes on the CPU
        pairs = dict(part.split(":", 1) for part in text.split(",") if ":" in part)
        if "cpu" not in pairs:
            raise ValueError(f"backend {text!r} names no backend for the cpu device, the only "
                             f"one ember has (e.g. 'cpu:gloo')")
        text = pairs["cpu"]
    name = Backend(text)
    if name == Backend.NCCL:
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if name not in _RUNNABLE:
        raise RuntimeError(f"Invalid backend: '{backend}'; ember.distributed runs 'gloo' and 'mpi' "
                           f"(both on its MPI engine)")
    return name


def _rendezvous_error(msg: str) -> ValueError:
    return ValueError("Error initializing torch.distributed using " + msg)


def _rank_and_size(init_method: str, rank: int, world_size: int):
    """(rank, world_size, rendezvous address or None) from the init_method and arguments, with
    torch's rules: env:// reads RANK/WORLD_SIZE (MASTER_ADDR/PORT when worlds must be joined),
    tcp:// and file:// need both as arguments. A process started by a bare ``mpiexec`` without
    RANK takes its rank and size from MPI."""
    url = urlparse(init_method)
    query = dict(parse_qsl(url.query))
    rank = int(query.get("rank", rank))
    world_size = int(query.get("world_size", world_size))
    if url.scheme == "env":
        def env_int(name, mpi_name):
            if os.environ.get(name):
                return int(os.environ[name])
            if _engine.launched_by_mpiexec():
                return int(os.environ[mpi_name])
            raise _launch_error(name)
        if rank < 0:
            rank = env_int("RANK", "PMI_RANK")
        if world_size < 0:
            world_size = env_int("WORLD_SIZE", "PMI_SIZE")
        address = None
        if os.environ.get("MASTER_ADDR") and os.environ.get("MASTER_PORT"):
            address = ("tcp", os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
        return rank, world_size, address
    if url.scheme in ("tcp", "file"):
        what = f"{url.scheme}:// rendezvous: "
        if url.scheme == "tcp" and not url.port:
            raise _rendezvous_error(what + "port number missing")
        if url.scheme == "file" and not url.path:
            raise _rendezvous_error(what + "path missing")
        if rank < 0:
            raise _rendezvous_error(what + "rank parameter missing")
        if world_size < 0:
            raise _rendezvous_error(what + "world size parameter missing")
        address = ("tcp", url.hostname, url.port) if url.scheme == "tcp" else ("file", url.path)
        return rank, world_size, address
    raise _rendezvous_error(f"No rendezvous handler for {url.scheme}://")


def _launch_error(var: str) -> ValueError:
    return _rendezvous_error(
        f"env:// rendezvous: environment variable {var} expected, but not set. ember.distributed "
        f"runs on MPI, so its processes must be started by a launcher: "
        f"`ember run --nproc-per-node=N script.py` (torchrun's flags), "
        f"ember.multiprocessing.spawn(fn, args, nprocs=N), or `mpiexec -n N python script.py`")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None) -> None:
    """Join this process to the default process group (as torch.distributed's).

    ``backend`` "gloo" or "mpi" (both run on MPI through mpi4py); ``init_method`` "env://"
    (default: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as ``ember run`` sets them),
    "tcp://host:port" or "file:///path" with ``rank`` and ``world_size`` given. The processes
    must have been started by ``ember run``, ``ember.multiprocessing.spawn`` or ``mpiexec``
    (MPI cannot join processes started as plain ``python``), except for ``world_size=1``.
    ``timeout`` (a timedelta, 30 minutes by default) bounds every collective: past it, the
    collective raises RuntimeError instead of waiting forever for a dead or mismatched peer.
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    if store is not None:
        raise NotImplementedError("ember.distributed: init_process_group(store=...) is not "
                                  "supported; use init_method (env://, tcp:// or file://)")
    if device_id is not None and str(device_id).split(":")[0] != "cpu":
        raise ValueError(f"device_id {device_id} does not match the current compilation's "
                         f"accelerator support: None.")
    backend = _backend_or_raise(backend)
    timeout = default_pg_timeout if timeout is None else timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout)}")
    rank, world_size, address = _rank_and_size(init_method or "env://", rank, world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"Invalid rank {rank} for world_size {world_size}: expected "
                         f"0 <= rank < world_size")
    comm = _rendezvous.world_communicator(rank, world_size, address, timeout)
    pg = ProcessGroup(comm, range(world_size), backend, timeout, group_name or "0")
    _groups[:] = [pg]
    GroupMember.WORLD = pg


def destroy_process_group(group=None) -> None:
    """Free ``group`` (all groups and the default one when None); a collective on it raises
    afterwards and init_process_group may be called again."""
    if group is None or group is GroupMember.WORLD:
        _default_group()  # raises when there is none, as torch
        for pg in _groups:
            _free(pg)
        _groups.clear()
        _rendezvous.close_liveness()
        GroupMember.WORLD = None
        return
    if _not_in_group(group):
        return
    pg = _resolve(group)
    _free(pg)
    _groups.remove(pg)


def _free(pg: ProcessGroup) -> None:
    MPI = _engine.mpi()
    # Async operations still in flight on it finish first (the communicator goes with it).
    for work in _engine.progress.pending(pg):
        work.wait()
    # A communicator that a timed-out operation may still use stays allocated (see _engine).
    if pg._aborted is None and pg._comm not in (MPI.COMM_WORLD, MPI.COMM_SELF):
        pg._comm.Free()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None, sort_ranks=True):
    """A group of the global ``ranks`` (all when None), sorted as torch does; every rank of the
    default group must call it, or only its members with ``use_local_synchronization=True``.
    Ranks outside it get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    size = world.size()
    ranks = list(range(size)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks must be distinct, got {ranks}")
    for r in ranks:
        if not 0 <= r < size:
            raise ValueError(f"Invalid rank {r}, expected 0 <= rank < world size {size}")
    if backend is not None:
        _backend_or_raise(backend)
    from .collectives import _run_blocking
    MPI = _engine.mpi()
    members = world._comm.Get_group().Incl(ranks)
    if use_local_synchronization:
        # Only the members call it (torch's rule): MPI_Comm_create_group is collective over
        # them alone.
        if world.rank() not in ranks:
            return GroupMember.NON_GROUP_MEMBER
        comm = world._comm.Create_group(members, tag=_NEW_GROUP_TAG)
    else:
        # Comm.Create is collective over the world and cannot time out: check first that
        # every rank is here, asking for the same group.
        _run_blocking(world, "new_group", f"new_group({ranks})")
        comm = world._comm.Create(members)
    members.Free()
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, Backend(backend or world._backend),
                      timeout or world._timeout, str(len(_groups)))
    _groups.append(pg)
    return pg


# --------------------------------------------------------------------------- queries

def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the default group when None); -1 outside it."""
    if _not_in_group(group):
        return -1
    return _resolve(group).rank()


def get_world_size(group=None) -> int:
    if _not_in_group(group):
        return -1
    return _resolve(group).size()


def get_node_local_rank(fallback_rank=None) -> int:
    """This process's rank on its node: LOCAL_RANK (ember run sets it), else ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to "
                       "allow `get_node_local_rank` to work, assuming you are not running in a "
                       "multi-device context and want the code to run locally instead.")


def get_backend(group=None) -> Backend:
    if _not_in_group(group):
        raise ValueError("Invalid process group specified")
    return Backend(_resolve(group)._backend)


def get_process_group_ranks(group) -> list:
    return list(_resolve(group)._ranks)


def get_global_rank(group, group_rank: int) -> int:
    pg = _resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    pg = _resolve(group)
    if global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg._ranks.index(global_rank)
