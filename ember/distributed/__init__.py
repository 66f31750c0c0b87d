"""ember.distributed: torch.distributed's API on MPI (mpi4py + the MPICH wheel).

Install the engine with ``pip install 'ember[distributed]'``; ``import ember.distributed``
works without it, ``is_available()`` says whether it is there. Backends "gloo" and "mpi" both
run on MPI (no gloo binding exists on the package index for this Python); "nccl" raises.

Launch (MPI cannot connect processes started as plain ``python``, except world_size=1):
  - ``ember run --nproc-per-node=N train.py --args`` (torchrun's flags and environment:
    RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; several machines
    with --nnodes/--node-rank/--master-addr/--master-port), then ``init_process_group("gloo")``;
  - ``ember.multiprocessing.spawn(fn, args=(...), nprocs=N)`` calling ``fn(rank, *args)``, with
    ``init_process_group("gloo", rank=rank, world_size=N)`` inside ``fn``;
  - ``mpiexec -n N python train.py`` (rank and size from MPI when RANK is not set).

What exists:
  process groups  init_process_group, destroy_process_group, new_group, is_available,
                  is_initialized, get_rank, get_world_size, get_backend,
                  get_process_group_ranks, get_global_rank, get_group_rank,
                  get_node_local_rank, Backend,
                  ProcessGroup, GroupMember, group (group.WORLD), is_torchelastic_launched
  collectives     barrier, monitored_barrier, all_reduce, reduce, broadcast, all_gather,
                  all_gather_into_tensor, reduce_scatter, reduce_scatter_tensor, gather,
                  scatter, all_to_all, all_to_all_single; ReduceOp (SUM, AVG, PRODUCT, MIN,
                  MAX, BAND, BOR, BXOR)
  point to point  send, recv, isend, irecv, P2POp, batch_isend_irecv
  objects         all_gather_object, gather_object, broadcast_object_list,
                  scatter_object_list (these pickle, and unpickle what peers send, as torch's)
  Work            what async_op=True returns: wait(), is_completed(), result(), exception()

Collectives write their results in place into the tensors' data (no autograd through them,
as torch). Every wait is bounded by the group's ``timeout``: a dead or mismatched peer gives
a RuntimeError naming the operation and rank, never a hang; before each collective the ranks
check that they call the same one on the same sizes (mismatches raise, naming each rank's
call; EMBER_DISTRIBUTED_CHECKS=0 at init turns the check off). An async_op=True operation
(and isend/irecv) progresses in the background, driven by a helper thread while any is
pending, and completes even if nobody waits for it, as torch's do; with
EMBER_DISTRIBUTED_PROGRESS=0 only wait()/is_completed() move it.
"""
from .process_group import (Backend, GroupMember, ProcessGroup, default_pg_timeout,
                            destroy_process_group, get_backend, get_global_rank,
                            get_group_rank, get_node_local_rank, get_process_group_ranks,
                            get_rank, get_world_size, group, init_process_group, is_available,
                            is_backend_available, is_gloo_available, is_initialized,
                            is_mpi_available, is_nccl_available, is_torchelastic_launched,
                            new_group)
from .collectives import (P2POp, ReduceOp, Work, all_gather, all_gather_into_tensor,
                          all_gather_object, all_reduce, all_to_all, all_to_all_single,
                          barrier, batch_isend_irecv, broadcast, broadcast_object_list, gather,
                          gather_object, irecv, isend, monitored_barrier, recv, reduce,
                          reduce_scatter, reduce_scatter_tensor, scatter, scatter_object_list,
                          send)

__all__ = [
    # process groups
    "Backend", "GroupMember", "ProcessGroup", "default_pg_timeout", "destroy_process_group",
    "get_backend", "get_global_rank", "get_group_rank", "get_node_local_rank",
    "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "is_available", "is_backend_available",
    "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "new_group",
    # collectives, point to point, objects
    "P2POp", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object",
    "all_reduce", "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast",
    "broadcast_object_list", "gather", "gather_object", "irecv", "isend", "monitored_barrier",
    "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "scatter_object_list", "send",
]


def __getattr__(name):
    # DDP and SyncBatchNorm import ember.nn: loaded on first use, so that the launcher
    # (`ember run`) and plain collectives start without it. Their torch homes are
    # ember.nn.parallel.DistributedDataParallel and ember.nn.SyncBatchNorm.
    if name == "DistributedDataParallel":
        from .ddp import DistributedDataParallel
        return DistributedDataParallel
    if name == "SyncBatchNorm":
        from .sync_batchnorm import SyncBatchNorm
        return SyncBatchNorm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
