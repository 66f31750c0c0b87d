"""Collectives and point-to-point operations, with torch.distributed's signatures.

Each operation posts nonblocking MPI requests and returns a :class:`Work`; with
``async_op=False`` it waits at once. Results are written in place into the tensors' data, as
torch does: no autograd goes through a collective, a tensor that requires grad is updated like
any other and its version counter is left alone (torch's c10d ops leave it too).

Before a collective, the ranks compare a small descriptor of it (operation, dtype, shapes,
root) in one 16-byte all-reduce: two ranks calling different collectives, or the same one on
tensors of different sizes, get a RuntimeError naming what each rank called, instead of wrong
numbers or a hang. Point-to-point operations check the received size instead.
"""
from __future__ import annotations

import enum
import pickle
import threading
import time
import zlib

import numpy as np

from .. import _tensor
from . import _engine
from .process_group import (GroupMember, _not_in_group, _resolve, _warn_not_in_group,
                            get_group_rank)

Tensor = _tensor.Tensor


class ReduceOp:
    """The reductions of :func:`all_reduce`, :func:`reduce` and :func:`reduce_scatter_tensor`:
    ``ReduceOp.SUM``, ``AVG`` (sum / group size; floating point only), ``PRODUCT``, ``MIN``,
    ``MAX``, and the bitwise ``BAND``, ``BOR``, ``BXOR`` (integers and bool)."""

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


def _op_name(op, dtype: np.dtype) -> str:
    name = _ANY_DTYPE_OPS.get(op) if isinstance(op, int) else None
    if name is not None:  # the common case, without the enum's conversion (a few us)
        return name
    try:
        op = ReduceOp.RedOpType(int(op))
    except (TypeError, ValueError):
        raise ValueError(f"Unknown reduce op {op!r}; expected a member of ReduceOp") from None
    if op == ReduceOp.PREMUL_SUM:  # torch's gloo rejects it as an argument type too
        raise TypeError("ReduceOp.PREMUL_SUM is not supported by the gloo backend (it needs "
                        "a factor: NCCL's _make_nccl_premul_sum)")
    if op == ReduceOp.AVG and dtype.kind != "f":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_torch_type_name(dtype)}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind == "f":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    return op.name


# The reductions valid on every dtype, by value (ReduceOp's members are ints).
_ANY_DTYPE_OPS = {int(op): op.name for op in (ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN,
                                              ReduceOp.MAX)}


def _torch_type_name(dtype: np.dtype) -> str:
    from .._dtype import from_numpy_dtype
    return {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
            "int64": "Long"}.get(from_numpy_dtype(dtype).name, str(dtype))


# --------------------------------------------------------------------------- Work

class Work:
    """An operation in flight (what ``async_op=True`` returns): ``wait()`` completes it (and
    raises RuntimeError past the group's timeout), ``is_completed()`` polls, ``result()`` gives
    its output tensors. An async operation also completes in the background, as torch's do
    (see _engine._Progress): one that is never waited for still delivers its result."""

    def __init__(self, pg, name: str, requests, finish=None, outputs=(), keep=(), statuses=None):
        self._pg = pg
        self._name = name
        self._requests = requests
        self._statuses = statuses      # MPI statuses the requests fill (receives)
        self._finish = finish          # called once after the requests complete
        self._outputs = list(outputs)
        self._keep = keep              # buffers MPI reads or writes until completion
        self._started = time.monotonic()
        self._done = False
        self._error = None
        self._held = False             # by the progress thread (async operations only)
        # The owner and the progress thread both poll: one at a time (MPI forbids two threads
        # completing one request).
        self._lock = threading.Lock()

    def wait(self, timeout=None) -> bool:
        if not self._done:
            # The group's timeout counts from the start of the operation, wait(timeout) from now.
            if timeout is None:
                seconds, deadline = _seconds(self._pg._timeout), self._started
            else:
                seconds, deadline = _seconds(timeout), time.monotonic()
            # A synchronous operation's requests are polled by its caller alone: no lock (a
            # Work handed to a caller is held whenever it has requests). MPI moves a large
            # message a piece per poll, so what a poll costs is bandwidth.
            poll = self.is_completed if self._held else self._poll
            try:
                _engine.wait_until(poll, deadline + seconds,
                                   lambda: _timeout_message(self, seconds))
            except RuntimeError as e:             # timed out: the group is aborted
                self._fail(e)
        if self._error is not None:
            raise self._error
        return True

    def is_completed(self) -> bool:
        with self._lock:
            return self._poll()

    def _poll(self) -> bool:
        """Test the requests once (the lock held, for an operation the progress thread
        holds); complete the operation when they are."""
        if self._done:
            return True
        try:
            complete = _engine.test_all(self._requests, self._statuses)
        except _engine.mpi().Exception as e:  # this operation failed; the group is fine
            self._end(RuntimeError(self._mpi_error(e)))
            return True
        if complete:
            finish, self._finish = self._finish, None
            try:
                if finish is not None:
                    finish()
            except Exception as e:  # a receive of the wrong size: this operation failed
                self._end(e)
                return True
            self._end(None)
        return self._done

    def _end(self, error) -> None:
        self._done, self._error = True, error
        self._requests = self._keep = self._finish = None
        if self._held:
            _engine.progress.forget(self)

    def _fail(self, error: RuntimeError) -> None:
        with self._lock:
            if self._done:  # completed in the background just now
                return
            self._done, self._error = True, error
            self._pg._aborted = error
            _engine.poison((self._requests, self._keep, self._outputs))
            _engine.progress.forget(self)
        raise error

    def _mpi_error(self, e) -> str:
        return f"ember.distributed: {self._name} failed in MPI: {e.Get_error_string()}"

    def is_success(self) -> bool:
        return self._done and self._error is None

    def exception(self):
        return self._error

    def result(self) -> list:
        self.wait()
        return self._outputs

    def source_rank(self) -> int:
        """The rank a receive got its message from."""
        self.wait()
        return self._source

    _source = -1

    def synchronize(self) -> None:
        self.wait()

    def __repr__(self):
        state = "failed" if self._error else "completed" if self._done else "pending"
        return f"<ember.distributed.Work {self._name} {state}>"


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


def _timeout_message(work: Work, seconds: float) -> str:
    pg = work._pg
    return (f"ember.distributed: {work._name} on rank {pg.rank()} (of {pg.size()} in group "
            f"{pg.group_name}) timed out: Timed out waiting {seconds * 1000:.0f}ms for "
            f"{work._name} to complete. A peer rank has failed, was killed or is calling a "
            f"different collective; the process group is aborted, and this process will exit "
            f"with status 1 without waiting for its peers")


def _group(group, name: str):
    """The ProcessGroup to run on, or None (with torch's warning) on a rank outside it."""
    if _not_in_group(group):
        _warn_not_in_group(name)
        return None
    pg = _resolve(group)
    if pg._aborted is not None:
        raise RuntimeError(f"ember.distributed: {name}: the process group was aborted by an "
                           f"earlier error ({pg._aborted}); no collective can run on it")
    return pg


def _done(work: Work, async_op: bool):
    if async_op:
        return _in_background(work)
    work.wait()
    return None


def _in_background(work: Work) -> Work:
    """An operation the caller will wait for later (or never): the progress thread drives it
    meanwhile and completes it if the caller does not (see _engine._Progress)."""
    if work._requests:
        work._held = True
        _engine.progress.hold(work)
    return work


# --------------------------------------------------------------------------- argument checks

def _check_tensor(t, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor but got {type(t)} instead.")


def _check_tensor_list(ts, name: str) -> None:
    if not isinstance(ts, list):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor] but got {type(ts)} instead.")
    if not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor] but got {type(ts)} with elements of type "
                        f"{[type(t) for t in ts]}.")


def _check_list_length(ts, pg, name: str) -> None:
    if len(ts) != pg.size():
        raise RuntimeError(f"{name}: invalid tensor list (expected length {pg.size()}, the "
                           f"group size, got {len(ts)})")


def _check_same(ref: np.ndarray, others, what: str) -> None:
    for o in others:
        if o.dtype != ref.dtype:
            raise RuntimeError(f"{what}: tensors must all have dtype {ref.dtype}, got {o.dtype}")
        if o.size != ref.size:
            raise RuntimeError(f"{what}: tensors must all have {ref.size} elements (the input's), "
                               f"got one of {o.size}")


def _group_root(pg, rank, group_rank, name: str, which: str) -> int:
    """The group rank of a root given as a global rank (``src``/``dst``) or as ``group_src``/
    ``group_dst``, as torch: exactly one of them."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {which} and group_{which}")
    if group_rank is None:
        rank = 0 if rank is None else int(rank)
        if pg is not GroupMember.WORLD:  # a global rank outside the group: ValueError
            return get_group_rank(pg, rank)
        group_rank = rank
    if not 0 <= group_rank < pg.size():
        raise RuntimeError(f"{name}: invalid root rank: {group_rank} (the group has ranks "
                           f"0..{pg.size() - 1})")
    return group_rank


# --------------------------------------------------------------------------- buffers

def _contiguous(t: Tensor) -> np.ndarray:
    """The tensor's memory when MPI can use it as is, else a contiguous copy."""
    a = t._data
    return a if a.flags.c_contiguous and a.flags.writeable else np.ascontiguousarray(a)


def _write_back(t: Tensor, buf: np.ndarray) -> None:
    """Copy ``buf`` into the tensor unless it is the tensor's own memory."""
    if buf is not t._data:
        np.copyto(t._data, buf.reshape(t._data.shape))


def _bytes(a: np.ndarray) -> memoryview:
    """A buffer MPI moves as raw bytes: data movement needs no datatype."""
    return memoryview(a.reshape(-1).view(np.uint8))


def _typed(a: np.ndarray):
    """[buffer, count, MPI datatype] for reductions."""
    return [a, a.size, _engine.mpi_datatype(a.dtype)]


def _reduce_dtype(dtype: np.dtype) -> np.dtype:
    # MPI has no float16 arithmetic: reduce a float32 copy and round once at the end.
    return np.dtype(np.float32) if dtype == np.float16 else dtype


# --------------------------------------------------------------------------- consistency

def _describe(name: str, *parts) -> str:
    return f"{name}(" + ", ".join(map(_part, parts)) + ")"


def _part(p) -> str:
    if isinstance(p, np.dtype):  # str(dtype) runs NumPy's Python code: several us a call
        return _DTYPE_NAMES.get(p) or str(p)
    return str(p)


_DTYPE_NAMES = {np.dtype(t): str(np.dtype(t)) for t in (
    np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_)}


def _verify(pg, name: str, descriptor: str) -> None:
    """All ranks of ``pg`` are calling the same collective on the same sizes: the max and min
    of a hash of the descriptor, in one all-reduce; on a difference, gather the descriptors
    and name what each rank called. Off (EMBER_DISTRIBUTED_CHECKS=0 at init) it saves one
    small all-reduce per collective."""
    if pg.size() == 1 or not pg._checks:
        return
    MPI = _engine.mpi()
    h = zlib.crc32(descriptor.encode())
    mine = np.array([h, -h], np.int64)
    agreed = np.empty(2, np.int64)
    _wait_now(pg, name, [pg._comm.Iallreduce(mine, agreed, op=MPI.MAX)], (mine, agreed))
    if agreed[0] == -agreed[1]:
        return
    width = 256
    text = np.zeros(width, np.uint8)
    raw = descriptor.encode()[:width]
    text[:len(raw)] = np.frombuffer(raw, np.uint8)
    everyone = np.empty((pg.size(), width), np.uint8)
    _wait_now(pg, name, [pg._comm.Iallgather(text, everyone)], (text, everyone))
    calls = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in everyone]
    listing = "; ".join(f"rank {pg._ranks[i]}: {c}" for i, c in enumerate(calls))
    raise RuntimeError(f"ember.distributed: mismatched collectives in group {pg.group_name}: the "
                       f"ranks must call the same collective on tensors of the same sizes, in "
                       f"the same order, but got {listing}")


def _wait_now(pg, name: str, requests, keep) -> None:
    Work(pg, name, requests, keep=keep).wait()


def _run_blocking(pg, name: str, descriptor) -> None:
    """An empty, checked step all ranks of ``pg`` must reach (a barrier with a timeout)."""
    _verify(pg, name, descriptor or name)
    if pg.size() > 1:
        _wait_now(pg, name, [pg._comm.Ibarrier()], ())


# --------------------------------------------------------------------------- collectives

def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank of ``group`` has reached the barrier (at most ``timeout``)."""
    pg = _group(group, "barrier")
    if pg is None:
        return None
    _verify(pg, "barrier", "barrier()")
    work = Work(pg, "barrier", [pg._comm.Ibarrier()] if pg.size() > 1 else [])
    if async_op:  # polled by the progress thread too, hence under the lock
        return _in_background(work)
    work.wait(timeout)
    return None


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises RuntimeError past ``timeout`` (every ember barrier does)."""
    return barrier(group, timeout=timeout)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the group with ``op``; every rank gets the result in place."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "all_reduce")
    if pg is None:
        return None
    name = _op_name(op, tensor._data.dtype)
    _verify(pg, "all_reduce", _describe("all_reduce", tensor._data.dtype, tensor._data.size, name))
    buf = _contiguous(tensor)
    if _reduce_dtype(buf.dtype) != buf.dtype:
        buf = buf.astype(_reduce_dtype(buf.dtype))
    MPI = _engine.mpi()
    requests = [] if pg.size() == 1 else [
        pg._comm.Iallreduce(MPI.IN_PLACE, _typed(buf), op=_engine.mpi_op(name, buf.dtype))]

    def finish():
        if name == "AVG":
            np.divide(buf, pg.size(), out=buf, casting="unsafe")
        _write_back(tensor, buf)
    return _done(Work(pg, "all_reduce", requests, finish, [tensor], buf), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the group into the tensor of rank ``dst``; the others' tensors
    are left as they were."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "reduce")
    if pg is None:
        return None
    root = _group_root(pg, dst, group_dst, "reduce", "dst")
    name = _op_name(op, tensor._data.dtype)
    _verify(pg, "reduce", _describe("reduce", tensor._data.dtype, tensor._data.size, name,
                                    f"dst={pg._ranks[root]}"))
    src = np.ascontiguousarray(tensor._data, _reduce_dtype(tensor._data.dtype))
    out = np.empty_like(src)
    if pg.size() == 1:
        out[...] = src
        requests = []
    else:
        requests = [pg._comm.Ireduce(_typed(src), _typed(out),
                                     op=_engine.mpi_op(name, src.dtype), root=root)]
    at_root = pg.rank() == root

    def finish():
        if at_root:
            if name == "AVG":
                np.divide(out, pg.size(), out=out, casting="unsafe")
            _write_back(tensor, out)
    return _done(Work(pg, "reduce", requests, finish, [tensor], (src, out)), async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank ``src``'s ``tensor`` into the tensor of every other rank."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "broadcast")
    if pg is None:
        return None
    root = _group_root(pg, src, group_src, "broadcast", "src")
    _verify(pg, "broadcast", _describe("broadcast", tensor._data.dtype, tensor._data.size,
                                       f"src={pg._ranks[root]}"))
    buf = _contiguous(tensor)
    requests = [] if pg.size() == 1 else [pg._comm.Ibcast(_bytes(buf), root=root)]
    return _done(Work(pg, "broadcast", requests, lambda: _write_back(tensor, buf), [tensor], buf),
                 async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[rank]`` on every rank; the list's tensors
    have the input's dtype and size (torch's gloo rejects uneven sizes as well)."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    pg = _group(group, "all_gather")
    if pg is None:
        return None
    _check_list_length(tensor_list, pg, "all_gather")
    inp = tensor._data
    for i, t in enumerate(tensor_list):
        if t._data.dtype != inp.dtype:
            raise ValueError(f"Invalid usage of tensors with different dtypes: found "
                             f"{t._data.dtype} and {inp.dtype}")
        if t._data.size != inp.size:
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected "
                               f"{_shape(inp)}, got {_shape(t._data)})")
    _verify(pg, "all_gather", _describe("all_gather", inp.dtype, inp.size))
    send = np.ascontiguousarray(inp)
    flat = np.empty((pg.size(), inp.size), inp.dtype)
    requests = [pg._comm.Iallgather(_bytes(send), _bytes(flat))]

    def finish():
        for t, row in zip(tensor_list, flat):
            np.copyto(t._data, row.reshape(t._data.shape))
    return _done(Work(pg, "all_gather", requests, finish, tensor_list, (send, flat)), async_op)


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(map(str, a.shape)) + ")"


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated (or stacked) in rank order into
    ``output_tensor``, whose size is group size x the input's."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _group(group, "all_gather_into_tensor")
    if pg is None:
        return None
    out, inp = output_tensor._data, input_tensor._data
    if out.dtype != inp.dtype:
        raise RuntimeError(f"all_gather_into_tensor: output tensor must have the same type as "
                           f"input tensor ({inp.dtype}), got {out.dtype}")
    if out.size != inp.size * pg.size():
        raise RuntimeError(f"all_gather_into_tensor: output tensor size must be equal to "
                         f"world_size times input tensor size: expected "
                         f"{pg.size()} x {inp.size} = {inp.size * pg.size()} elements, got "
                         f"{out.size}")
    _verify(pg, "all_gather_into_tensor", _describe("all_gather_into_tensor", inp.dtype, inp.size))
    send = np.ascontiguousarray(inp)
    buf = _contiguous(output_tensor)
    requests = [pg._comm.Iallgather(_bytes(send), _bytes(buf))]
    return _done(Work(pg, "all_gather_into_tensor", requests,
                      lambda: _write_back(output_tensor, buf), [output_tensor], (send, buf)),
                 async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (group size x the output's size) over the group with ``op``; rank r
    gets the r-th block of the result in ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _group(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    out, inp = output._data, input._data
    if out.dtype != inp.dtype:
        raise RuntimeError(f"reduce_scatter_tensor: input tensor must have the same type as "
                           f"output tensor ({out.dtype}), got {inp.dtype}")
    if inp.size != out.size * pg.size():
        raise RuntimeError(f"reduce_scatter_tensor: input tensor must be the same size as output "
                         f"size times world size: expected {pg.size()} x {out.size} = "
                         f"{out.size * pg.size()} elements, got {inp.size}")
    name = _op_name(op, inp.dtype)
    _verify(pg, "reduce_scatter_tensor", _describe("reduce_scatter_tensor", inp.dtype, out.size,
                                                   name))
    send = np.ascontiguousarray(inp, _reduce_dtype(inp.dtype))
    recv = np.empty(out.size, send.dtype)
    dt = _engine.mpi_datatype(send.dtype)
    requests = [pg._comm.Ireduce_scatter_block([send, dt], [recv, dt],
                                               op=_engine.mpi_op(name, send.dtype))]

    def finish():
        if name == "AVG":
            np.divide(recv, pg.size(), out=recv, casting="unsafe")
        _write_back(output, recv)
    return _done(Work(pg, "reduce_scatter_tensor", requests, finish, [output], (send, recv)),
                 async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce the group's ``input_list``s element-wise; rank r gets the reduction of every
    rank's ``input_list[r]`` in ``output``."""
    _check_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    pg = _group(group, "reduce_scatter")
    if pg is None:
        return None
    _check_list_length(input_list, pg, "reduce_scatter")
    sizes = [t._data.size for t in input_list]
    if sizes[pg.rank()] != output._data.size:
        raise RuntimeError(f"reduce_scatter: output has {output._data.size} elements but "
                           f"input_list[{pg.rank()}] has {sizes[pg.rank()]}")
    _check_same(output._data, [t._data for t in input_list if t._data.size == output._data.size],
                "reduce_scatter")
    name = _op_name(op, output._data.dtype)
    _verify(pg, "reduce_scatter", _describe("reduce_scatter", output._data.dtype, sizes, name))
    dtype = _reduce_dtype(output._data.dtype)
    send = np.concatenate([np.ravel(t._data).astype(dtype, copy=False) for t in input_list])
    recv = np.empty(output._data.size, dtype)
    requests = [pg._comm.Ireduce_scatter(_typed(send), _typed(recv), sizes,
                                         op=_engine.mpi_op(name, dtype))]

    def finish():
        if name == "AVG":
            np.divide(recv, pg.size(), out=recv, casting="unsafe")
        _write_back(output, recv)
    return _done(Work(pg, "reduce_scatter", requests, finish, [output], (send, recv)), async_op)


def _check_root_list(pg, at_root, tensor, tensors, op: str, side: str) -> None:
    """gather's and scatter's list: given on the root rank only (torch's words), one tensor per
    rank, each like ``tensor``."""
    name = f"{op}_list"
    if at_root:
        if tensors is None:
            raise ValueError(f"Argument ``{name}`` must be specified on {side} rank.")
        _check_tensor_list(tensors, name)
        _check_list_length(tensors, pg, op)
        _check_same(tensor._data, [t._data for t in tensors], op)
    elif tensors:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{side} ranks.")


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (None elsewhere)."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "gather")
    if pg is None:
        return None
    root = _group_root(pg, dst, group_dst, "gather", "dst")
    at_root = pg.rank() == root
    _check_root_list(pg, at_root, tensor, gather_list, "gather", "destination")
    _verify(pg, "gather", _describe("gather", tensor._data.dtype, tensor._data.size,
                                    f"dst={pg._ranks[root]}"))
    send = np.ascontiguousarray(tensor._data)
    flat = np.empty((pg.size(), send.size) if at_root else 0, send.dtype)
    requests = [pg._comm.Igather(_bytes(send), _bytes(flat) if at_root else None, root=root)]

    def finish():
        if at_root:
            for t, row in zip(gather_list, flat):
                np.copyto(t._data, row.reshape(t._data.shape))
    return _done(Work(pg, "gather", requests, finish, gather_list or [], (send, flat)), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """``scatter_list[r]`` of rank ``src`` into the ``tensor`` of rank r."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "scatter")
    if pg is None:
        return None
    root = _group_root(pg, src, group_src, "scatter", "src")
    at_root = pg.rank() == root
    _check_root_list(pg, at_root, tensor, scatter_list, "scatter", "source")
    _verify(pg, "scatter", _describe("scatter", tensor._data.dtype, tensor._data.size,
                                     f"src={pg._ranks[root]}"))
    send = (np.stack([np.ravel(t._data) for t in scatter_list]) if at_root
            else np.empty(0, tensor._data.dtype))
    buf = _contiguous(tensor)
    requests = [pg._comm.Iscatter(_bytes(send) if at_root else None, _bytes(buf), root=root)]
    return _done(Work(pg, "scatter", requests, lambda: _write_back(tensor, buf), [tensor],
                      (send, buf)), async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """Split ``input`` along dim 0 (evenly, or by ``input_split_sizes``) and send block r to
    rank r; ``output`` receives the blocks of every rank in rank order."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _group(group, "all_to_all_single")
    if pg is None:
        return None
    out, inp = output._data, input._data
    if out.dtype != inp.dtype:
        raise RuntimeError(f"all_to_all_single: output must have the input's dtype {inp.dtype}, "
                           f"got {out.dtype}")
    send_counts = _split_counts(inp, input_split_sizes, pg.size(), "input")
    recv_counts = _split_counts(out, output_split_sizes, pg.size(), "output")
    _verify(pg, "all_to_all_single", _describe("all_to_all_single", inp.dtype))
    send = np.ascontiguousarray(inp)
    buf = _contiguous(output)
    item = inp.itemsize
    requests = [pg._comm.Ialltoallv([_bytes(send), [c * item for c in send_counts]],
                                    [_bytes(buf), [c * item for c in recv_counts]])]
    return _done(Work(pg, "all_to_all_single", requests, lambda: _write_back(output, buf),
                      [output], (send, buf)), async_op)


def _split_counts(a: np.ndarray, split_sizes, n: int, what: str) -> list:
    """Elements per rank of ``a`` split along dim 0."""
    rows = a.shape[0] if a.ndim else 1
    per_row = a.size // rows if rows else 0
    if split_sizes is None or len(split_sizes) == 0:
        if rows % n:
            raise RuntimeError(f"all_to_all_single: the {what}'s dim 0 ({rows}) must be divisible "
                             f"by the group size {n} when no split sizes are given")
        return [rows // n * per_row] * n
    split_sizes = [int(s) for s in split_sizes]
    if len(split_sizes) != n or sum(split_sizes) != rows:
        raise ValueError(f"all_to_all_single: {what}_split_sizes must have {n} entries summing to "
                         f"the {what}'s dim 0 ({rows}), got {split_sizes}")
    return [s * per_row for s in split_sizes]


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """``input_tensor_list[r]`` to rank r; ``output_tensor_list[r]`` from rank r."""
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    pg = _group(group, "all_to_all")
    if pg is None:
        return None
    _check_list_length(output_tensor_list, pg, "all_to_all")
    _check_list_length(input_tensor_list, pg, "all_to_all")
    dtype = input_tensor_list[0]._data.dtype
    _check_same(input_tensor_list[0]._data,
                [t._data for t in input_tensor_list + output_tensor_list
                 if t._data.size == input_tensor_list[0]._data.size], "all_to_all")
    _verify(pg, "all_to_all", _describe("all_to_all", dtype))
    send = np.concatenate([np.ravel(t._data) for t in input_tensor_list])
    recv_sizes = [t._data.size for t in output_tensor_list]
    recv = np.empty(sum(recv_sizes), dtype)
    item = send.itemsize
    requests = [pg._comm.Ialltoallv(
        [_bytes(send), [t._data.size * item for t in input_tensor_list]],
        [_bytes(recv), [s * item for s in recv_sizes]])]

    def finish():
        for t, part in zip(output_tensor_list, np.split(recv, np.cumsum(recv_sizes)[:-1])):
            np.copyto(t._data, part.reshape(t._data.shape))
    return _done(Work(pg, "all_to_all", requests, finish, output_tensor_list, (send, recv)),
                 async_op)


# --------------------------------------------------------------------------- point to point

def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst``; returns a Work to wait on."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "isend")
    if pg is None:
        return None
    peer = _group_root(pg, dst, group_dst, "isend", "dst")
    _check_peer(pg, peer, "isend")
    send = np.ascontiguousarray(tensor._data)
    return _in_background(Work(pg, "isend", [pg._comm.Isend(_bytes(send), dest=peer, tag=tag)],
                               keep=send))


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns a Work.
    The message must have exactly the tensor's size."""
    _check_tensor(tensor, "tensor")
    pg = _group(group, "irecv")
    if pg is None:
        return None
    MPI = _engine.mpi()
    if src is None and group_src is None:
        peer = MPI.ANY_SOURCE
    else:
        peer = _group_root(pg, src, group_src, "irecv", "src")
        _check_peer(pg, peer, "irecv")
    buf = _contiguous(tensor)
    status = MPI.Status()
    request = pg._comm.Irecv(_bytes(buf), source=peer, tag=tag)

    def finish():
        work._source = pg._ranks[status.Get_source()]
        received = status.Get_count(MPI.BYTE)
        if received != buf.nbytes:
            raise RuntimeError(f"irecv: rank {work._source} sent {received} bytes but the "
                               f"receiving tensor ({tensor._data.dtype}, {tensor._data.size} "
                               f"elements) holds {buf.nbytes}; send and recv must use tensors "
                               f"of the same size and dtype")
        _write_back(tensor, buf)
    work = _RecvWork(pg, "irecv", [request], finish, [tensor], buf, statuses=[status])
    return _in_background(work)


class _RecvWork(Work):
    def _mpi_error(self, e) -> str:
        MPI = _engine.mpi()
        status = self._statuses[0]
        in_status = e.Get_error_class() == MPI.ERR_IN_STATUS
        code = status.Get_error() if in_status else e.Get_error_code()
        if MPI.Get_error_class(code) == MPI.ERR_TRUNCATE:
            return (f"irecv: the message from rank {self._pg._ranks[status.Get_source()]} "
                    f"is longer than the {self._keep.nbytes} bytes of the receiving tensor; "
                    f"send and recv must use tensors of the same size and dtype")
        return super()._mpi_error(e)


def _check_peer(pg, peer: int, name: str) -> None:
    if peer == pg.rank():
        raise ValueError(f"Invalid {'destination' if name.endswith('send') else 'source'} rank: "
                         f"should not be the same as the rank of the current process.")


def send(tensor, dst=None, group=None, tag=0, group_dst=None) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it has left."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source


class P2POp:
    """One send or receive for :func:`batch_isend_irecv`: ``P2POp(isend, tensor, peer)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed."
                             "isend`` or ``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list) -> list:
    """Post every send and receive of ``p2p_op_list``; returns their Works."""
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]


# --------------------------------------------------------------------------- Python objects

def _pickled(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _sizes_and_bytes(pg, name: str, mine: np.ndarray):
    """Every rank's pickled object, as (sizes, bytes) gathered on every rank."""
    sizes = np.empty(pg.size(), np.int64)
    _wait_now(pg, name, [pg._comm.Iallgather(np.array([mine.size], np.int64), sizes)], sizes)
    flat = np.empty(int(sizes.sum()), np.uint8)
    _wait_now(pg, name, [pg._comm.Iallgatherv(mine, [flat, sizes.tolist()])], (mine, flat))
    return sizes, flat


def all_gather_object(object_list, obj, group=None) -> None:
    """Every rank's picklable ``obj`` into ``object_list[rank]`` on every rank.

    Warning: this uses pickle, and unpickles what the other ranks send - which can run
    arbitrary code. Only call it with ranks (and data) you trust, as torch's warns too."""
    pg = _group(group, "all_gather_object")
    if pg is None:
        return None
    _verify(pg, "all_gather_object", "all_gather_object()")
    sizes, flat = _sizes_and_bytes(pg, "all_gather_object", _pickled(obj))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for i in range(pg.size()):
        object_list[i] = pickle.loads(flat[offsets[i]:offsets[i + 1]].tobytes())
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None) -> None:
    """Every rank's picklable ``obj`` into ``object_gather_list`` on rank ``dst``.

    Warning: unpickles what the other ranks send (see :func:`all_gather_object`)."""
    pg = _group(group, "gather_object")
    if pg is None:
        return None
    root = _group_root(pg, dst, group_dst, "gather_object", "dst")
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``object_gather_list`` must be specified on destination rank.")
    _verify(pg, "gather_object", _describe("gather_object", f"dst={pg._ranks[root]}"))
    sizes, flat = _sizes_and_bytes(pg, "gather_object", _pickled(obj))
    if pg.rank() == root:
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(pg.size()):
            object_gather_list[i] = pickle.loads(flat[offsets[i]:offsets[i + 1]].tobytes())
    return None


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None) -> None:
    """Rank ``src``'s picklable objects into ``object_list`` on every rank (the lists must
    have the same length).

    Warning: unpickles what rank ``src`` sends, which can run arbitrary code: only use it
    with ranks you trust, as torch's warns too."""
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_root(pg, src, group_src, "broadcast_object_list", "src")
    _verify(pg, "broadcast_object_list", _describe("broadcast_object_list", len(object_list),
                                                   f"src={pg._ranks[root]}"))
    at_root = pg.rank() == root
    payloads = [_pickled(o) for o in object_list] if at_root else []
    sizes = np.array([p.size for p in payloads] if at_root else [0] * len(object_list), np.int64)
    _wait_now(pg, "broadcast_object_list", [pg._comm.Ibcast(sizes, root=root)], sizes)
    flat = (np.concatenate(payloads) if at_root and payloads
            else np.empty(int(sizes.sum()), np.uint8))
    _wait_now(pg, "broadcast_object_list", [pg._comm.Ibcast(flat, root=root)], flat)
    if not at_root:
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(len(object_list)):
            object_list[i] = pickle.loads(flat[offsets[i]:offsets[i + 1]].tobytes())
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None) -> None:
    """``scatter_object_input_list[r]`` of rank ``src`` into ``scatter_object_output_list[0]``
    of rank r.

    Warning: unpickles what rank ``src`` sends (see :func:`broadcast_object_list`)."""
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return None
    root = _group_root(pg, src, group_src, "scatter_object_list", "src")
    at_root = pg.rank() == root
    _verify(pg, "scatter_object_list", _describe("scatter_object_list", f"src={pg._ranks[root]}"))
    payloads = [_pickled(o) for o in scatter_object_input_list] if at_root else []
    if at_root:
        _check_list_length(payloads, pg, "scatter_object_list")
    sizes = np.array([p.size for p in payloads] if at_root else [0] * pg.size(), np.int64)
    _wait_now(pg, "scatter_object_list", [pg._comm.Ibcast(sizes, root=root)], sizes)
    flat = np.concatenate(payloads) if at_root else np.empty(0, np.uint8)
    mine = np.empty(int(sizes[pg.rank()]), np.uint8)
    _wait_now(pg, "scatter_object_list",
              [pg._comm.Iscatterv([flat, sizes.tolist()] if at_root else None, mine, root=root)],
              (flat, mine))
    scatter_object_output_list[0] = pickle.loads(mine.tobytes())
    return None
