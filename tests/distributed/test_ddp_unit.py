"""DDP's pieces in one process: the bucket assignment against torch's, the hook wiring,
no_sync and the errors with a world of one (torch's DDP beside it, over gloo), and
SyncBatchNorm without a process group."""
from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as tdist
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.distributed.ddp import compute_bucket_assignment_by_size
from tests.distributed.launching import needs_mpi


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.tuples(st.integers(1, 300), st.sampled_from(["float32", "float64"])),
                      min_size=1, max_size=12),
       limits=st.lists(st.integers(1, 4000), min_size=1, max_size=3))
def test_bucket_assignment_equals_torch(sizes, limits):
    ours = [ember.zeros(n, dtype=getattr(ember, d)) for n, d in sizes]
    theirs = [torch.zeros(n, dtype=getattr(torch, d)) for n, d in sizes]
    want = tdist._compute_bucket_assignment_by_size(theirs, limits)
    assert compute_bucket_assignment_by_size(ours, limits) == (want[0], list(want[1]))


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=12),
       limits=st.lists(st.integers(1, 4000), min_size=1, max_size=3), data=st.data())
def test_bucket_assignment_in_arrival_order_equals_torch(sizes, limits, data):
    """The rebuild after the first iteration: tensors in the order their gradients came."""
    order = data.draw(st.permutations(range(len(sizes))))
    ours = [ember.zeros(sizes[i]) for i in order]
    theirs = [torch.zeros(sizes[i]) for i in order]
    want = tdist._compute_bucket_assignment_by_size(theirs, limits, [False] * len(sizes), order)
    assert compute_bucket_assignment_by_size(ours, limits, tensor_indices=order) == \
        (want[0], list(want[1]))


@pytest.fixture(scope="module")
def world_of_one(tmp_path_factory):
    """ember's and torch's default process groups, one rank each, for this module's tests."""
    if not ember.distributed.is_available():
        pytest.skip("ember.distributed's engine is not installed")
    d = tmp_path_factory.mktemp("rendezvous")
    ember.distributed.init_process_group("gloo", init_method=f"file://{d}/ember", rank=0,
                                         world_size=1)
    tdist.init_process_group("gloo", init_method=f"file://{d}/torch", rank=0, world_size=1)
    yield
    tdist.destroy_process_group()
    ember.distributed.destroy_process_group()


class _TwoBranches:
    """The same two-branch model in torch and ember (b unused by forward(x))."""

    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(3, 3)
                self.b = lib.nn.Linear(3, 3)

            def forward(self, x, use_b=False):
                return self.a(x) + self.b(x) if use_b else self.a(x)
        return M()


def _ddp(lib, module, **kw):
    return lib.nn.parallel.DistributedDataParallel(module, **kw)


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
@pytest.mark.usefixtures("world_of_one")
@needs_mpi
def test_state_dict_keys_and_module(lib):
    net = _TwoBranches.make(lib)
    model = _ddp(lib, net)
    assert model.module is net
    assert list(model.state_dict()) == ["module.a.weight", "module.a.bias", "module.b.weight",
                                        "module.b.bias"]


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_unused_parameter_error_is_torchs():
    def message(lib):
        model = _ddp(lib, _TwoBranches.make(lib))
        model(lib.ones(1, 3)).sum().backward()
        with pytest.raises(RuntimeError) as e:
            model(lib.ones(1, 3))
        return str(e.value)

    assert message(ember) == message(torch)


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
@pytest.mark.parametrize("kwargs, error", [
    (dict(device_ids=[0]), ValueError), (dict(device_ids=[0, 1]), ValueError),
    (dict(output_device=1), ValueError)])
def test_device_arguments_raise_as_torch(kwargs, error):
    with pytest.raises(error) as theirs:
        _ddp(torch, torch.nn.Linear(2, 2), **kwargs)
    with pytest.raises(error) as ours:
        _ddp(ember, ember.nn.Linear(2, 2), **kwargs)
    assert str(ours.value) == str(theirs.value)


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_no_parameter_requiring_grad_raises_as_torch():
    with pytest.raises(RuntimeError) as theirs:
        _ddp(torch, torch.nn.ReLU())
    with pytest.raises(RuntimeError) as ours:
        _ddp(ember, ember.nn.ReLU())
    assert str(ours.value) == str(theirs.value)


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_broadcast_buffers_is_deprecated_as_in_torch():
    for lib in (torch, ember):
        with pytest.warns(FutureWarning, match="`broadcast_buffers` is deprecated"):
            model = _ddp(lib, lib.nn.Linear(2, 2), broadcast_buffers=False)
        assert model.broadcast_buffers is False


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
# (not static_graph: torch 2.13 fails an internal assert when its first backward is in no_sync)
@pytest.mark.parametrize("kwargs", [{}, dict(find_unused_parameters=True),
                                    dict(gradient_as_bucket_view=True)])
def test_no_sync_accumulates_then_the_next_backward_reduces(kwargs):
    """Gradients as torch's DDP leaves them, step by step: two backwards inside no_sync, one
    outside (with a world of one the average is the sum itself)."""
    def grads(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "did not find any unused parameters"
            return _accumulate(lib)

    def _accumulate(lib):
        lib.manual_seed(0)
        net = _TwoBranches.make(lib).double()
        model = _ddp(lib, net, **kwargs)
        out = []
        for step in range(2):
            model.zero_grad()
            for micro in range(3):
                x = lib.tensor(np.arange(6.0).reshape(2, 3) + micro + step)
                if micro < 2:
                    with model.no_sync():
                        model(x, True).pow(2).sum().backward()
                else:
                    model(x, True).pow(2).sum().backward()
                out.append([p.grad.numpy().copy() for p in net.parameters()])
        return out

    for a, b in zip(grads(ember), grads(torch)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-12)


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_find_unused_parameters_leaves_an_unused_grad_untouched_as_torch():
    def grads(lib):
        lib.manual_seed(0)
        net = _TwoBranches.make(lib).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _ddp(lib, net, find_unused_parameters=True)
        seen = []
        # b's gradient from the first step stays; then b used only inside no_sync
        for use_b, sync in ((True, True), (False, True), (False, True), (True, False),
                            (False, True)):
            with contextlib.nullcontext() if sync else model.no_sync():
                model(lib.ones(2, 3, dtype=lib.float64), use_b).sum().backward()
            seen.append([None if p.grad is None else p.grad.numpy().copy()
                         for p in net.parameters()])
        return seen

    for a, b in zip(grads(ember), grads(torch)):
        for x, y in zip(a, b):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12)


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_hooks_go_with_the_wrapper():
    net = ember.nn.Linear(2, 2)
    model = _ddp(ember, net)
    assert len(net.weight._accumulator._post_acc_hooks) == 1
    del model
    gc.collect()
    assert net.weight._accumulator._post_acc_hooks == []
    net(ember.ones(1, 2)).sum().backward()  # a plain backward afterwards is untouched
    assert net.weight.grad is not None


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_buckets_reverse_parameter_order_and_rebuild_in_arrival_order():
    lib = ember
    net = lib.nn.Sequential(*[lib.nn.Linear(64, 64) for _ in range(4)])
    model = _ddp(lib, net, bucket_cap_mb=0.02, find_unused_parameters=False)
    # first iteration: a single bucket (the definition order need not be backward's)
    assert [b.indices for b in model.reducer.buckets] == [list(range(8))]
    model(lib.ones(2, 64)).sum().backward()
    model(lib.ones(2, 64)).sum().backward()
    indices = [b.indices for b in model.reducer.buckets]
    assert indices[0][:2] == [7, 6] and sorted(i for b in indices for i in b) == list(range(8))
    assert all(b.buffer.nbytes >= 0.02 * 2**20 for b in model.reducer.buckets[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _ddp(lib, net, bucket_cap_mb=0.02, find_unused_parameters=True)
    # with find_unused_parameters the buckets are sized at once, last parameters first
    assert model.reducer.buckets[0].indices[-1] == 7


def test_sync_batchnorm_without_a_process_group_is_batchnorm():
    """torch: not initialised (or eval, or a world of one) means plain batch_norm."""
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    for train in (True, False):
        sync, plain = ember.nn.SyncBatchNorm(3).double(), ember.nn.BatchNorm2d(3).double()
        sync.train(train)
        plain.train(train)
        np.testing.assert_array_equal(sync(ember.tensor(x)).detach().numpy(),
                                      plain(ember.tensor(x)).detach().numpy())
        np.testing.assert_array_equal(sync.running_var.numpy(), plain.running_var.numpy())


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_sync_batchnorm_input_checks(lib):
    layer = lib.nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        layer(lib.ones(3))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        lib.nn.SyncBatchNorm(0)(lib.ones(2, 0))


def test_convert_sync_batchnorm_as_torch():
    def convert(lib):
        net = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 1), lib.nn.BatchNorm2d(2, momentum=0.2),
                                lib.nn.Sequential(lib.nn.BatchNorm1d(3, affine=False)))
        net[1].eval()
        weight = net[1].weight
        out = lib.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        assert out[1].weight is weight  # the very parameters, not copies
        return [(type(m).__name__, getattr(m, "momentum", None), getattr(m, "affine", None),
                 m.training) for m in out.modules()], repr(out)

    ours, theirs = convert(ember), convert(torch)
    assert ours[0] == theirs[0]
    bn = ember.nn.BatchNorm1d(4)
    assert type(ember.nn.SyncBatchNorm.convert_sync_batchnorm(bn)).__name__ == "SyncBatchNorm"


@needs_mpi
@pytest.mark.usefixtures("world_of_one")
def test_static_graph_as_torch():
    """static_graph: the first iteration reduces everything at the end of backward and learns
    the unused parameters (b here); later iterations, no_sync included, as torch's."""
    def grads(lib):
        lib.manual_seed(0)
        net = _TwoBranches.make(lib).double()
        model = _ddp(lib, net, static_graph=True)
        seen = []
        for sync in (True, True, False, True):
            with contextlib.nullcontext() if sync else model.no_sync():
                model(lib.ones(2, 3, dtype=lib.float64) * (len(seen) + 1)).pow(2).sum().backward()
            seen.append([None if p.grad is None else p.grad.numpy().copy()
                         for p in net.parameters()])
        return seen

    for a, b in zip(grads(ember), grads(torch)):
        for x, y in zip(a, b):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12)
