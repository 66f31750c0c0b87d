"""The collective checks that tests/distributed/test_collectives.py runs inside a launch of
2 or 4 processes: each check calls ember.distributed on every rank and compares the result
with NumPy on the data of all ranks (every rank can rebuild every rank's inputs, they are
drawn from a generator seeded by the rank). Run as a script under a launcher it writes one
JSON file per rank, {check name: "ok" or the failure's traceback}."""
from __future__ import annotations

import datetime
import json
import os
import sys
import traceback

import numpy as np

DTYPES = ("float32", "float64", "int64")
SHAPES = ((), (7,), (3, 5), (100003,))  # 0-d, odd, 2-d, large and odd
CHECKS = {}


def check(name):
    def register(fn):
        CHECKS[name] = fn
        return fn
    return register


def data(rank: int, shape, dtype: str, positive=False) -> np.ndarray:
    rng = np.random.default_rng(100 + rank)
    if dtype == "int64":
        low = 1 if positive else -50
        return np.asarray(rng.integers(low, 50, size=shape), np.int64)
    a = np.asarray(rng.standard_normal(shape), dtype)
    return np.asarray(np.abs(a) + 0.5, dtype) if positive else a


def close(got, want, dtype: str):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    if dtype == "int64":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, **tol)


def _reduce_np(arrays, op):
    stack = np.stack(arrays)
    out = {"SUM": stack.sum(0), "AVG": stack.sum(0) / len(arrays), "MAX": stack.max(0),
            "MIN": stack.min(0), "PRODUCT": stack.prod(0)}[op]
    return np.asarray(out, arrays[0].dtype)


for _op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
    for _dtype in DTYPES:
        @check(f"all_reduce_{_op}_{_dtype}")
        def _all_reduce(ember, dist, rank, world, op=_op, dtype=_dtype):
            for shape in SHAPES:
                if op == "PRODUCT" and shape == SHAPES[-1]:
                    shape = (1001,)
                mine = data(rank, shape, dtype, positive=op == "PRODUCT")
                t = ember.from_numpy(mine.copy())
                if op == "AVG" and dtype == "int64":
                    try:
                        dist.all_reduce(t, op=dist.ReduceOp.AVG)
                    except RuntimeError as e:
                        assert "can't be cast" in str(e), e
                        continue
                    raise AssertionError("AVG on int64 did not raise")
                assert dist.all_reduce(t, op=getattr(dist.ReduceOp, op)) is None
                want = _reduce_np([data(r, shape, dtype, op == "PRODUCT") for r in range(world)],
                                  op)
                close(t.numpy(), want, dtype)


@check("all_reduce_async_work")
def _all_reduce_async(ember, dist, rank, world):
    t = ember.full((5,), float(rank + 1))
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed() and work.is_success()
    close(t.numpy(), np.full(5, world * (world + 1) / 2, np.float32), "float32")
    assert work.result()[0] is t and work.exception() is None


@check("async_work_completes_in_the_background")
def _background(ember, dist, rank, world):
    """As torch: an async all_reduce nobody waits for still delivers (AVG divided too)."""
    import gc
    import time
    t = ember.full((1000,), float(rank + 1))
    dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    gc.collect()
    want = (world + 1) / 2
    deadline = time.monotonic() + 10
    while t[999].item() != want and time.monotonic() < deadline:
        time.sleep(0.01)
    close(t.numpy(), np.full(1000, want, np.float32), "float32")
    dist.barrier()


@check("sync_collectives_bypass_the_progress_thread")
def _sync_alone(ember, dist, rank, world):
    """A synchronous collective is polled by its caller alone (without the lock the progress
    thread takes), also while an async one the thread drives is in flight; only the async one
    is handed to the thread."""
    from ember.distributed import _engine
    held = []
    hold = _engine.progress.hold
    _engine.progress.hold = lambda work: (held.append(work._name), hold(work))
    try:
        early = ember.full((300_000,), float(rank + 1))
        work = dist.all_reduce(early, async_op=True)
        t = ember.full((1000,), float(rank))
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        dist.broadcast(t, src=0)
        dist.barrier()
        work.wait()
    finally:
        _engine.progress.hold = hold
    assert held == ["all_reduce"], held
    close(t.numpy(), np.full(1000, world - 1, np.float32), "float32")
    close(early.numpy(), np.full(300_000, world * (world + 1) / 2, np.float32), "float32")


@check("all_reduce_in_place_view_and_requires_grad")
def _all_reduce_view(ember, dist, rank, world):
    base = ember.from_numpy(data(rank, (4, 6), "float64"))
    view = base.t()  # not contiguous: the result must still land in base
    dist.all_reduce(view)
    close(base.numpy(), _reduce_np([data(r, (4, 6), "float64") for r in range(world)], "SUM"),
          "float64")
    p = ember.ones(3, requires_grad=True)
    version = p._version
    dist.all_reduce(p)  # as torch: allowed on a leaf, no graph, version untouched
    close(p.detach().numpy(), np.full(3, world, np.float32), "float32")
    assert p.grad_fn is None and p.requires_grad and p._version == version


@check("all_reduce_float16_and_bool")
def _all_reduce_half_bool(ember, dist, rank, world):
    half = np.asarray(data(rank, (9,), "float32"), np.float16)
    t = ember.from_numpy(half.copy())
    dist.all_reduce(t)
    want = np.sum([np.asarray(data(r, (9,), "float32"), np.float16).astype(np.float32)
                   for r in range(world)], 0).astype(np.float16)
    assert t.dtype == ember.float16
    np.testing.assert_allclose(t.numpy().astype(np.float32), want.astype(np.float32), rtol=2e-3)
    flags = ember.from_numpy(np.array([rank == 0, False, True]))
    dist.all_reduce(flags)  # bool SUM is OR, as torch
    assert flags.tolist() == [True, False, True]
    flags = ember.from_numpy(np.array([rank == 0, True]))
    dist.all_reduce(flags, op=dist.ReduceOp.MIN)  # MIN is AND
    assert flags.tolist() == [False, True]


@check("empty_tensors")
def _empty(ember, dist, rank, world):
    t = ember.zeros(0)
    dist.all_reduce(t)
    dist.broadcast(t, src=0)
    outs = [ember.zeros(0, 3) for _ in range(world)]
    dist.all_gather(outs, ember.zeros(0, 3))
    assert t.shape == (0,) and all(o.shape == (0, 3) for o in outs)


@check("broadcast_every_src_every_dtype")
def _broadcast(ember, dist, rank, world):
    for dtype in DTYPES:
        for src in range(world):
            for shape in ((), (7,), (3, 5)):
                t = ember.from_numpy(data(rank, shape, dtype))
                dist.broadcast(t, src=src)
                close(t.numpy(), data(src, shape, dtype), dtype)
    t = ember.from_numpy(data(rank, (9,), "float32"))
    dist.broadcast(t, group_src=world - 1)
    close(t.numpy(), data(world - 1, (9,), "float32"), "float32")


@check("all_gather")
def _all_gather(ember, dist, rank, world):
    for dtype in DTYPES:
        for shape in ((), (7,), (2, 3)):
            outs = [ember.from_numpy(np.zeros(shape, dtype)) for _ in range(world)]
            dist.all_gather(outs, ember.from_numpy(data(rank, shape, dtype)))
            for r in range(world):
                close(outs[r].numpy(), data(r, shape, dtype), dtype)
    # uneven sizes: rejected before any communication, as torch's gloo
    outs = [ember.zeros(r + 1) for r in range(world)]
    try:
        dist.all_gather(outs, ember.zeros(1))
    except RuntimeError as e:
        assert "invalid tensor size at index 1 (expected (1), got (2))" in str(e), e
    else:
        raise AssertionError("uneven all_gather did not raise")


@check("all_gather_into_tensor")
def _all_gather_into_tensor(ember, dist, rank, world):
    for dtype in DTYPES:
        out = ember.from_numpy(np.zeros(world * 5, dtype))
        dist.all_gather_into_tensor(out, ember.from_numpy(data(rank, (5,), dtype)))
        close(out.numpy(), np.concatenate([data(r, (5,), dtype) for r in range(world)]), dtype)
        stacked = ember.from_numpy(np.zeros((world, 2, 3), dtype))
        dist.all_gather_into_tensor(stacked, ember.from_numpy(data(rank, (2, 3), dtype)))
        close(stacked.numpy(), np.stack([data(r, (2, 3), dtype) for r in range(world)]), dtype)
    try:
        dist.all_gather_into_tensor(ember.zeros(world * 5 + 1), ember.zeros(5))
    except RuntimeError as e:
        assert "world_size times input tensor size" in str(e), e
    else:
        raise AssertionError("a wrong output size did not raise")


@check("reduce_scatter_tensor")
def _reduce_scatter_tensor(ember, dist, rank, world):
    for dtype in DTYPES:
        for op in ("SUM", "MAX") + (("AVG",) if dtype != "int64" else ()):
            inp = data(rank, (world * 7,), dtype)
            out = ember.from_numpy(np.zeros(7, dtype))
            dist.reduce_scatter_tensor(out, ember.from_numpy(inp), op=getattr(dist.ReduceOp, op))
            full = _reduce_np([data(r, (world * 7,), dtype) for r in range(world)], op)
            close(out.numpy(), full[rank * 7:(rank + 1) * 7], dtype)


@check("reduce_scatter_list")
def _reduce_scatter(ember, dist, rank, world):
    for dtype in DTYPES:
        inputs = [ember.from_numpy(data(rank * 10 + r, (r + 2,), dtype)) for r in range(world)]
        out = ember.from_numpy(np.zeros(rank + 2, dtype))
        dist.reduce_scatter(out, inputs)
        want = _reduce_np([data(q * 10 + rank, (rank + 2,), dtype) for q in range(world)], "SUM")
        close(out.numpy(), want, dtype)


@check("reduce_to_each_dst")
def _reduce(ember, dist, rank, world):
    for dtype in DTYPES:
        for dst in range(world):
            mine = data(rank, (3, 5), dtype)
            t = ember.from_numpy(mine.copy())
            dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
            want = (_reduce_np([data(r, (3, 5), dtype) for r in range(world)], "MAX")
                    if rank == dst else mine)
            close(t.numpy(), want, dtype)


@check("gather_and_scatter")
def _gather_scatter(ember, dist, rank, world):
    for dtype in DTYPES:
        dst = world - 1
        outs = [ember.from_numpy(np.zeros(7, dtype)) for _ in range(world)] if rank == dst else None
        dist.gather(ember.from_numpy(data(rank, (7,), dtype)), outs, dst=dst)
        if rank == dst:
            for r in range(world):
                close(outs[r].numpy(), data(r, (7,), dtype), dtype)
        src = 0
        pieces = ([ember.from_numpy(data(50 + r, (2, 2), dtype)) for r in range(world)]
                  if rank == src else None)
        t = ember.from_numpy(np.zeros((2, 2), dtype))
        dist.scatter(t, pieces, src=src)
        close(t.numpy(), data(50 + rank, (2, 2), dtype), dtype)


@check("send_recv_isend_irecv")
def _p2p(ember, dist, rank, world):
    right, left = (rank + 1) % world, (rank - 1) % world
    for dtype in DTYPES:
        out = ember.from_numpy(data(rank, (11,), dtype))
        got = ember.from_numpy(np.zeros(11, dtype))
        works = [dist.isend(out, dst=right), dist.irecv(got, src=left)]
        for w in works:
            w.wait()
        close(got.numpy(), data(left, (11,), dtype), dtype)
    if rank == 0:
        for r in range(1, world):
            got = ember.zeros(3)
            sender = dist.recv(got, tag=1)  # from any rank: returns who sent it
            close(got.numpy(), np.full(3, sender, np.float32), "float32")
    else:
        dist.send(ember.full((3,), float(rank)), dst=0, tag=1)
    ops = [dist.P2POp(dist.isend, ember.full((2,), float(rank)), right),
           dist.P2POp(dist.irecv, got := ember.zeros(2), left)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    close(got.numpy(), np.full(2, left, np.float32), "float32")


@check("recv_of_the_wrong_size_raises")
def _recv_wrong_size(ember, dist, rank, world):
    if rank == 0:
        dist.send(ember.zeros(5), dst=1)
    elif rank == 1:
        try:
            dist.recv(ember.zeros(4), src=0)
        except RuntimeError as e:
            assert "longer than the 16 bytes" in str(e), e
        else:
            raise AssertionError("a longer message than the tensor did not raise")
    dist.barrier()


@check("all_to_all")
def _all_to_all(ember, dist, rank, world):
    for dtype in DTYPES:
        inp = data(rank, (world * 3, 2), dtype)
        out = ember.from_numpy(np.zeros((world * 3, 2), dtype))
        dist.all_to_all_single(out, ember.from_numpy(inp))
        want = np.concatenate([data(r, (world * 3, 2), dtype)[rank * 3:(rank + 1) * 3]
                               for r in range(world)])
        close(out.numpy(), want, dtype)
        # uneven splits: rank r sends r + 1 rows to every rank
        inp = data(rank, (world * (rank + 1),), dtype)
        out = ember.from_numpy(np.zeros(sum(r + 1 for r in range(world)), dtype))
        dist.all_to_all_single(out, ember.from_numpy(inp), [r + 1 for r in range(world)],
                               [rank + 1] * world)
        want = np.concatenate([data(r, (world * (r + 1),), dtype)[rank * (r + 1):
                                                                  (rank + 1) * (r + 1)]
                               for r in range(world)])
        close(out.numpy(), want, dtype)
        outs = [ember.from_numpy(np.zeros(4, dtype)) for _ in range(world)]
        dist.all_to_all(outs, [ember.from_numpy(data(rank * 10 + r, (4,), dtype))
                               for r in range(world)])
        for r in range(world):
            close(outs[r].numpy(), data(r * 10 + rank, (4,), dtype), dtype)


@check("objects")
def _objects(ember, dist, rank, world):
    got = [None] * world
    dist.all_gather_object(got, {"rank": rank, "text": "x" * rank})
    assert got == [{"rank": r, "text": "x" * r} for r in range(world)], got
    objs = [("from", rank), [1, 2, rank]] if rank == 1 else [None, None]
    dist.broadcast_object_list(objs, src=1)
    assert objs == [("from", 1), [1, 2, 1]], objs
    gathered = [None] * world if rank == 0 else None
    dist.gather_object(rank * 2, gathered, dst=0)
    if rank == 0:
        assert gathered == [r * 2 for r in range(world)], gathered
    out = [None]
    dist.scatter_object_list(out, [f"to {r}" for r in range(world)] if rank == 0 else None, src=0)
    assert out == [f"to {rank}"], out


@check("new_group")
def _new_group(ember, dist, rank, world):
    evens = list(range(0, world, 2))
    g = dist.new_group(evens)
    if rank in evens:
        assert dist.get_rank(g) == evens.index(rank) and dist.get_world_size(g) == len(evens)
        assert dist.get_process_group_ranks(g) == evens
        t = ember.full((3,), float(rank))
        dist.all_reduce(t, group=g)
        close(t.numpy(), np.full(3, sum(evens), np.float32), "float32")
        t = ember.full((2,), float(rank))
        dist.broadcast(t, src=evens[-1], group=g)  # src is a global rank, as torch
        close(t.numpy(), np.full(2, evens[-1], np.float32), "float32")
        assert dist.get_global_rank(g, len(evens) - 1) == evens[-1]
        dist.destroy_process_group(g)
    else:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    dist.barrier()
    # only the members call it
    odds = list(range(1, world, 2))
    if rank in odds:
        g = dist.new_group(odds, use_local_synchronization=True)
        t = ember.ones(2)
        dist.all_reduce(t, group=g)
        close(t.numpy(), np.full(2, len(odds), np.float32), "float32")
    dist.barrier()


@check("mismatched_collectives_raise_naming_each_rank")
def _mismatch(ember, dist, rank, world):
    try:
        if rank == 0:
            dist.all_reduce(ember.zeros(5))
        else:
            dist.all_reduce(ember.zeros(6))
    except RuntimeError as e:
        assert "mismatched collectives" in str(e) and "rank 1" in str(e), e
    else:
        raise AssertionError("different sizes on two ranks did not raise")
    try:
        if rank == 0:
            dist.broadcast(ember.zeros(5), src=0)
        else:
            dist.all_reduce(ember.zeros(5))
    except RuntimeError as e:
        assert "broadcast" in str(e) and "all_reduce" in str(e), e
    else:
        raise AssertionError("different collectives on two ranks did not raise")
    t = ember.ones(2)
    dist.all_reduce(t)  # the group still works after a caught mismatch
    close(t.numpy(), np.full(2, world, np.float32), "float32")


@check("argument_errors_as_torch")
def _arguments(ember, dist, rank, world):
    def raises(kind, text, fn, *args, **kw):
        try:
            fn(*args, **kw)
        except kind as e:
            assert text in str(e), (text, str(e))
        else:
            raise AssertionError(f"{fn.__name__} did not raise {kind.__name__}")
    raises(TypeError, "Expected parameter `tensor` of type torch.Tensor", dist.all_reduce,
           np.zeros(3))
    raises(ValueError, "twice", dist.init_process_group, "gloo")
    raises(ValueError, "Can not specify both src and group_src", dist.broadcast, ember.zeros(1),
           src=0, group_src=0)
    raises(RuntimeError, f"invalid root rank: {world}", dist.broadcast, ember.zeros(1), src=world)
    raises(TypeError, "PREMUL_SUM", dist.all_reduce, ember.zeros(1), op=dist.ReduceOp.PREMUL_SUM)
    raises(RuntimeError, "Cannot use ReduceOp.BAND with non-integral dtype", dist.all_reduce,
           ember.zeros(1), op=dist.ReduceOp.BAND)
    raises(RuntimeError, f"expected length {world}", dist.all_gather, [ember.zeros(1)],
           ember.zeros(1))
    raises(ValueError, "must be specified on source rank", dist.scatter, ember.zeros(1),
           None, src=rank)
    assert dist.get_backend() == "gloo" and dist.is_initialized() and dist.is_available()


@check("barrier")
def _barrier(ember, dist, rank, world):
    dist.barrier()
    work = dist.barrier(async_op=True)
    work.wait()
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=10))


def main(out_dir: str) -> None:
    """Run every check in this rank; record the results and this rank's view of the launch."""
    import ember
    import ember.distributed as dist
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {"environment": {k: os.environ.get(k) for k in (
        "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
        "OMP_NUM_THREADS")}, "argv": sys.argv, "rank": rank, "world": world, "name": __name__,
        "elastic": dist.is_torchelastic_launched(),
        "node_local_rank": dist.get_node_local_rank(fallback_rank=-1)}
    for name, fn in CHECKS.items():
        try:
            fn(ember, dist, rank, world)
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc()
    dist.destroy_process_group()
    tmp = os.path.join(out_dir, f".rank{rank}.json")
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, os.path.join(out_dir, f"rank{rank}.json"))


if __name__ == "__main__":
    main(sys.argv[1])
