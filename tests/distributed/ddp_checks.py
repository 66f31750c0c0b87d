"""The DDP and SyncBatchNorm checks that tests/distributed/test_ddp.py runs inside a launch of 2
or 4 processes. Every rank rebuilds the whole global batch (the data come from a fixed seed)
and trains a one-process reference on it beside its DDP replica, so each check compares DDP
with one process on batch B inside the rank itself. Run as a script under a launcher it writes
one JSON file per rank: {check name: "ok" or the failure's traceback, plus what the pytest
side compares with torch}."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import traceback

import numpy as np

CHECKS = {}
B = 8  # global batch: 4 per rank on 2 processes, 2 on 4
STEPS = 3
TOL = {"float64": 1e-10, "float32": 1e-5}


def check(name):
    def register(fn):
        CHECKS[name] = fn
        return fn
    return register


def lenet(ember, bn=False):
    nn = ember.nn
    norm = (lambda c: [nn.BatchNorm2d(c)]) if bn else (lambda c: [])
    return nn.Sequential(nn.Conv2d(1, 6, 5), *norm(6), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), *norm(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def batches(dtype, accumulate=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEPS, accumulate, B, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, (STEPS, accumulate, B))
    return x, y


def assert_states_equal(got, want, tol):
    assert list(got) == list(want), (list(got), list(want))
    for k in want:
        a, b = got[k].numpy(), want[k].numpy()
        assert a.dtype == b.dtype, (k, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=k)


def train_lenet_against_one_process(ember, dist, rank, world, dtype, bn=False, accumulate=1,
                                    **ddp_kwargs):
    """DDP on B/world per rank vs one process on B: same weights (and running statistics)."""
    F = ember.nn.functional
    DDP = ember.nn.parallel.DistributedDataParallel
    ember.manual_seed(1)
    ref = lenet(ember, bn).to(getattr(ember, dtype))
    ember.manual_seed(1 + rank)  # different on every rank: DDP must broadcast rank 0's
    mine = lenet(ember, bn).to(getattr(ember, dtype))
    if bn:
        mine = ember.nn.SyncBatchNorm.convert_sync_batchnorm(mine)
    model = DDP(mine, **ddp_kwargs)
    assert_states_equal(model.module.state_dict(), ref.state_dict(), 0)
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    opt_ref = ember.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    x, y = batches(dtype, accumulate)
    share = slice(rank * B // world, (rank + 1) * B // world)
    for step in range(STEPS):
        opt.zero_grad()
        opt_ref.zero_grad()
        for micro in range(accumulate):
            xs, ys = ember.tensor(x[step, micro]), ember.tensor(y[step, micro])
            sync = micro == accumulate - 1
            with contextlib.nullcontext() if sync else model.no_sync():
                F.cross_entropy(model(xs[share]), ys[share]).backward()
            F.cross_entropy(ref(xs), ys).backward()
            if not sync and micro == 0:  # no_sync: the gradient is this rank's own
                assert not np.allclose(model.module[-1].bias.grad.numpy(),
                                       ref[-1].bias.grad.numpy(), rtol=1e-3, atol=0)
        opt.step()
        opt_ref.step()
    assert_states_equal(model.module.state_dict(), ref.state_dict(), TOL[dtype])
    return model


for _dtype in ("float64", "float32"):
    @check(f"lenet_{_dtype}")
    def _lenet(ember, dist, rank, world, dtype=_dtype):
        train_lenet_against_one_process(ember, dist, rank, world, dtype)

    @check(f"lenet_no_sync_{_dtype}")
    def _no_sync(ember, dist, rank, world, dtype=_dtype):
        train_lenet_against_one_process(ember, dist, rank, world, dtype, accumulate=3)

    @check(f"lenet_sync_batchnorm_{_dtype}")
    def _sync_bn(ember, dist, rank, world, dtype=_dtype):
        train_lenet_against_one_process(ember, dist, rank, world, dtype, bn=True)


@check("lenet_small_buckets_rebuilt")
def _small_buckets(ember, dist, rank, world):
    model = train_lenet_against_one_process(ember, dist, rank, world, "float64",
                                            bucket_cap_mb=0.05)
    data = model._get_ddp_logging_data()
    # 0.05 MiB buckets, rebuilt after the first iteration in the order gradients came
    assert data["has_rebuilt_buckets"] == 1 and data["num_buckets"] > 2, data
    first = model.reducer.buckets[0].indices
    n = len(model.reducer.params)
    assert first[0] == n - 1, first  # the last layer's gradient is the first ready
    # the first bucket's all-reduce started while backward still ran
    assert 0 < data["backward_compute_comm_overlap_time"] <= data["backward_comm_time"], data


@check("lenet_gradient_as_bucket_view")
def _bucket_view(ember, dist, rank, world):
    model = train_lenet_against_one_process(ember, dist, rank, world, "float64",
                                            gradient_as_bucket_view=True, bucket_cap_mb=0.05)
    for p in model.parameters():
        assert any(np.shares_memory(p.grad._data, b.buffer) for b in model.reducer.buckets)


@check("lenet_static_graph")
def _static(ember, dist, rank, world):
    train_lenet_against_one_process(ember, dist, rank, world, "float64", static_graph=True)


@check("lenet_find_unused_all_used")
def _find_unused_all_used(ember, dist, rank, world):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "did not find any unused parameters"
        train_lenet_against_one_process(ember, dist, rank, world, "float64",
                                        find_unused_parameters=True)


def branchy(ember):
    nn = ember.nn

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.never = nn.Linear(4, 4)

        def forward(self, x, use_b):
            h = self.a(x)
            return h + self.b(x) if use_b else h

    return Branchy().double()


@check("find_unused_parameters")
def _find_unused(ember, dist, rank, world):
    """b is used on rank 0 only, ``never`` nowhere: b's gradient is rank 0's / world on every
    rank (zeros from the others), ``never`` keeps no gradient - torch's semantics."""
    ember.manual_seed(0)
    ref = branchy(ember)
    ember.manual_seed(0)
    model = ember.nn.parallel.DistributedDataParallel(branchy(ember), find_unused_parameters=True)
    rng = np.random.default_rng(5)
    for step in range(2):
        xs = [ember.tensor(rng.standard_normal((3, 4))) for _ in range(world)]
        model.zero_grad()
        ref.zero_grad()
        (model(xs[rank], rank == 0) ** 2).mean().backward()
        sum((ref(xs[r], r == 0) ** 2).mean() for r in range(world)).div(world).backward()
        for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
            if name.startswith("never"):
                assert p.grad is None and q.grad is None, name
            else:
                np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12,
                                           atol=1e-14, err_msg=name)


@check("unused_parameter_without_the_flag_raises")
def _unused_raises(ember, dist, rank, world):
    model = ember.nn.parallel.DistributedDataParallel(branchy(ember))
    (model(ember.ones(2, 4, dtype=ember.float64), True) ** 2).sum().backward()
    try:
        model(ember.ones(2, 4, dtype=ember.float64), True)
    except RuntimeError as e:
        msg = str(e)
        assert msg.startswith("Expected to have finished reduction in the prior iteration"), msg
        assert f"did not receive grad for rank {rank}: 4 5" in msg, msg
    else:
        raise AssertionError("no error")


@check("different_models_raise")
def _different_models(ember, dist, rank, world):
    """torch's check at wrap time: every rank must wrap the same parameters."""
    for make, expected in ((lambda: ember.nn.Linear(2, 2 + (rank == 1)), "has parameter 0 of shape"),
                           (lambda: ember.nn.Linear(2, 2, bias=rank != 1), "inconsistent")):
        try:
            ember.nn.parallel.DistributedDataParallel(make())
        except RuntimeError as e:
            assert str(e).startswith("DDP expects same model across all ranks"), str(e)
            assert expected in str(e), str(e)
        else:
            raise AssertionError("no error")


@check("broadcast_buffers")
def _broadcast_buffers(ember, dist, rank, world):
    """Buffers follow rank 0's before each forward; with broadcast_buffers=False they stay
    each rank's own."""
    import warnings
    nn = ember.nn
    for flag in (True, False):
        ember.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # broadcast_buffers is deprecated
            model = nn.parallel.DistributedDataParallel(net, broadcast_buffers=flag)
        x = ember.tensor(np.random.default_rng(rank).standard_normal((4, 3)))
        model(x).sum().backward()  # local statistics: different on every rank
        mine = net[1].running_mean.clone()
        model.eval()
        with ember.no_grad():
            model(x)  # (eval: buffers unchanged by the forward itself)
        got = net[1].running_mean
        everyone = [ember.zeros(3, dtype=ember.float64) for _ in range(world)]
        dist.all_gather(everyone, mine)
        want = everyone[0] if flag else mine
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@check("checkpoint_saved_by_rank0_loads_everywhere")
def _checkpoint(ember, dist, rank, world, out_dir=None):
    model = train_lenet_against_one_process(ember, dist, rank, world, "float32")
    path = os.path.join(out_dir, "ddp_lenet.pt")
    if rank == 0:
        ember.save(model.state_dict(), path)
    dist.barrier()
    state = ember.load(path)
    assert all(k.startswith("module.") for k in state)
    ember.manual_seed(123)
    fresh = ember.nn.parallel.DistributedDataParallel(lenet(ember))
    fresh.load_state_dict(state)
    assert_states_equal(fresh.state_dict(), model.state_dict(), 0)
    x = ember.tensor(np.random.default_rng(9).standard_normal((2, 1, 28, 28)).astype("float32"))
    return {"output": fresh.module(x).tolist()}


def sync_bn_data(rank, dtype):
    """Rank r holds r + 1 samples (uneven counts), 3 channels."""
    rng = np.random.default_rng(40 + rank)
    x = rng.standard_normal((rank + 1, 3, 4, 5)).astype(dtype) * 2 + 1
    g = rng.standard_normal((rank + 1, 3, 4, 5)).astype(dtype)
    return x, g


SYNC_BN_WEIGHT = np.array([0.5, 1.5, -2.0])
SYNC_BN_BIAS = np.array([0.1, -0.2, 0.3])


for _dtype in ("float64", "float32"):
    @check(f"sync_batchnorm_layer_{_dtype}")
    def _sync_bn_layer(ember, dist, rank, world, dtype=_dtype):
        """Forward and backward of one SyncBatchNorm2d, for the pytest side to compare with
        torch's BatchNorm2d on the concatenated batch."""
        layer = ember.nn.SyncBatchNorm(3, momentum=0.3).to(getattr(ember, dtype))
        layer.weight.data.copy_(ember.tensor(SYNC_BN_WEIGHT))
        layer.bias.data.copy_(ember.tensor(SYNC_BN_BIAS))
        x, g = sync_bn_data(rank, dtype)
        xt = ember.tensor(x, requires_grad=True)
        out = layer(xt)
        assert out.grad_fn.name() == "SyncBatchNormBackward", out.grad_fn.name()
        out.backward(ember.tensor(g))
        return {"output": out.tolist(), "grad_input": xt.grad.tolist(),
                "grad_weight": layer.weight.grad.tolist(), "grad_bias": layer.bias.grad.tolist(),
                "running_mean": layer.running_mean.tolist(),
                "running_var": layer.running_var.tolist()}


def main(out_dir: str, only=None) -> None:
    import ember
    import ember.distributed as dist
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {"rank": rank, "world": world}
    for name, fn in CHECKS.items():
        if only and name not in only:
            continue
        try:
            kw = {"out_dir": out_dir} if name.startswith("checkpoint") else {}
            extra = fn(ember, dist, rank, world, **kw)
            results[name] = "ok"
            if extra:
                results[name + ":data"] = extra
        except Exception:
            results[name] = traceback.format_exc()
    dist.destroy_process_group()
    tmp = os.path.join(out_dir, f".ddp_rank{rank}.json")
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, os.path.join(out_dir, f"ddp_rank{rank}.json"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else None)
