"""DistributedDataParallel and SyncBatchNorm on 2 and 4 processes (under ``ember run``).

Each world is launched once (module fixture) and runs the checks of ddp_checks.py; each check
is one test here. Inside the ranks DDP is compared with one process on the whole batch; here
SyncBatchNorm's numbers are compared with torch's BatchNorm on the concatenated batch, and the
checkpoint rank 0 saved is loaded into torch's model and into torch's DDP-style state dict."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from tests.distributed import ddp_checks
from tests.distributed.launching import REPO, ember_run, needs_mpi

pytestmark = needs_mpi

CHECKS_SCRIPT = os.path.join(REPO, "tests", "distributed", "ddp_checks.py")
# four processes on a shared two-core machine: the checks that need more than two ranks
# (uneven SyncBatchNorm counts over four ranks, a branch used by one rank of four)
FOUR = ["lenet_float64", "lenet_sync_batchnorm_float32", "find_unused_parameters",
        "sync_batchnorm_layer_float64", "sync_batchnorm_layer_float32"]


def _launch(out, world, only=None):
    args = [f"--nproc-per-node={world}", CHECKS_SCRIPT, out] + ([",".join(only)] if only else [])
    proc = ember_run(*args, timeout=180)
    files = [os.path.join(out, f"ddp_rank{r}.json") for r in range(world)]
    missing = [f for f in files if not os.path.exists(f)]
    assert proc.returncode == 0 and not missing, (
        f"launch failed (status {proc.returncode}), no results from {missing}:\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    results = []
    for f in files:
        with open(f) as fh:
            results.append(json.load(fh))
    return out, results


@pytest.fixture(scope="module")
def world2(tmp_path_factory):
    return _launch(tmp_path_factory.mktemp("ddp2"), 2)


@pytest.fixture(scope="module")
def world4(tmp_path_factory):
    return _launch(tmp_path_factory.mktemp("ddp4"), 4, FOUR)


@pytest.mark.parametrize("name", list(ddp_checks.CHECKS))
def test_two_processes(world2, name):
    for rank, results in enumerate(world2[1]):
        assert results[name] == "ok", f"rank {rank}:\n{results[name]}"


@pytest.mark.parametrize("name", FOUR)
def test_four_processes(world4, name):
    for rank, results in enumerate(world4[1]):
        assert results[name] == "ok", f"rank {rank}:\n{results[name]}"


@pytest.mark.parametrize("world_name", ["world2", "world4"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sync_batchnorm_equals_torch_batchnorm_on_the_whole_batch(world_name, dtype, request):
    results = request.getfixturevalue(world_name)[1]
    world = len(results)
    data = [r[f"sync_batchnorm_layer_{dtype}:data"] for r in results]
    xs, gs = zip(*(ddp_checks.sync_bn_data(r, dtype) for r in range(world)))
    bn = torch.nn.BatchNorm2d(3, momentum=0.3).to(getattr(torch, dtype))
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(ddp_checks.SYNC_BN_WEIGHT))
        bn.bias.copy_(torch.tensor(ddp_checks.SYNC_BN_BIAS))
    x = torch.tensor(np.concatenate(xs), requires_grad=True)
    out = bn(x)
    out.backward(torch.tensor(np.concatenate(gs)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-11, atol=1e-12)

    def close(got, want):
        np.testing.assert_allclose(np.asarray(got), want.detach().numpy(), **tol)

    close(np.concatenate([d["output"] for d in data]), out)
    close(np.concatenate([d["grad_input"] for d in data]), x.grad)
    # weight and bias gradients are per rank (DDP averages them): their sum is the batch's
    close(np.sum([d["grad_weight"] for d in data], axis=0), bn.weight.grad)
    close(np.sum([d["grad_bias"] for d in data], axis=0), bn.bias.grad)
    for d in data:  # every rank's running statistics are the global batch's
        close(d["running_mean"], bn.running_mean)
        close(d["running_var"], bn.running_var)


def _torch_lenet():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 120),
                         nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def test_checkpoint_from_ember_ddp_loads_into_torch(world2):
    out_dir, results = world2
    path = os.path.join(out_dir, "ddp_lenet.pt")
    state = torch.load(path)  # weights_only: tensors and the module. keys, nothing pickled
    assert all(k.startswith("module.") for k in state)
    # as torch users do: strip the prefix for a plain model...
    plain = dict(state)
    torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(plain, "module.")
    model = _torch_lenet()
    model.load_state_dict(plain)
    x = torch.tensor(np.random.default_rng(9).standard_normal((2, 1, 28, 28)).astype("float32"))
    want = np.asarray(results[0]["checkpoint_saved_by_rank0_loads_everywhere:data"]["output"])
    np.testing.assert_allclose(model(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    # ...or unchanged into torch's DDP (a world of one, over a file rendezvous)
    import torch.distributed as tdist
    tdist.init_process_group("gloo", init_method=f"file://{out_dir}/torch_rendezvous", rank=0,
                             world_size=1)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(_torch_lenet())
        ddp.load_state_dict(state)
        np.testing.assert_allclose(ddp(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    finally:
        tdist.destroy_process_group()
