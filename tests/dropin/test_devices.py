"""Devices, CPU-only and honest: torch's answers on a machine without a GPU."""
from __future__ import annotations

import pytest
import torch

import ember

assert not torch.cuda.is_available(), "these tests compare with torch on a CPU-only machine"

QUERIES = ["cuda.is_available()", "cuda.device_count()", "cuda.is_initialized()",
           "cuda.manual_seed(0)", "cuda.manual_seed_all(0)", "cuda.empty_cache()",
           "cuda.memory_allocated()", "accelerator.is_available()", "accelerator.device_count()",
           "backends.cudnn.is_available()", "backends.cudnn.enabled", "backends.mps.is_available()",
           "backends.mps.is_built()", "mps.is_available()", "mps.manual_seed(0)"]


@pytest.mark.parametrize("query", QUERIES)
def test_queries_answer_as_torch_without_gpu(query):
    assert eval("ember." + query) == eval("torch." + query)


@pytest.mark.parametrize("call", ["cuda.current_device()", "cuda.synchronize()",
                                  "cuda.get_device_name()", "zeros(1).cuda()", "zeros(1).to('cuda')",
                                  "zeros(1).to('cuda:0')", "zeros(1, device='cuda')",
                                  "zeros(1).to({lib}.device('cuda'))", "ones(2, 2, device='cuda:1')",
                                  "tensor([1.0], device='cuda')"])
def test_using_a_gpu_raises_as_a_cpu_only_torch(call):
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="not compiled with CUDA enabled"):
            eval(f"lib.{call.format(lib='lib')}", {"lib": lib})


def test_mps_tensor_raises():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="not linked with support for mps devices"):
            lib.zeros(1).to("mps")


@pytest.mark.parametrize("spec", [("cuda",), ("cuda:1",), ("cuda", 0), ("cpu",), ("cpu", 0), ("mps",)])
def test_device_objects_name_devices_as_torch(spec):
    got, expected = ember.device(*spec), torch.device(*spec)
    assert (got.type, got.index) == (expected.type, expected.index)
    assert repr(got) == repr(expected) and str(got) == str(expected)


def test_unknown_device_type():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
            lib.device("foo")


def test_device_selection_idiom_runs_on_cpu():
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    model = ember.nn.Linear(2, 1).to(device)
    x = ember.ones(3, 2).to(device)
    assert model(x).device == device == ember.device("cpu")


def test_cudnn_flags_are_settable():
    cudnn = ember.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    assert saved == (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        cudnn.deterministic, cudnn.benchmark = True, False
        assert ember.backends.cudnn.deterministic is True
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


def test_num_threads():
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
    finally:
        ember.set_num_threads(before)
    assert ember.get_num_threads() == before
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
            lib.set_num_threads(0)


def test_data_parallel_wraps_the_module():
    for lib in (ember, torch):
        inner = lib.nn.Linear(2, 3)
        model = lib.nn.DataParallel(inner, device_ids=[0])
        assert model.module is inner and isinstance(model, lib.nn.parallel.DataParallel)
        assert list(model.state_dict()) == ["module.weight", "module.bias"]
        x = lib.ones(4, 2)
        assert lib.equal(model(x), inner(x))


def test_default_dtype_as_torch():
    for lib in (ember, torch):
        assert lib.get_default_dtype() is lib.float32
        with pytest.raises(TypeError):
            lib.set_default_dtype(lib.int64)
        lib.set_default_dtype(lib.float64)
        try:
            assert lib.tensor([1.5]).dtype is lib.float64 and lib.zeros(1).dtype is lib.float64
        finally:
            lib.set_default_dtype(lib.float32)
