"""ember.save / ember.load (ember/serialization.py): safetensors checkpoints that restore models
and optimisers exactly, survive interrupted saves, never unpickle, and reject bad files clearly."""
from __future__ import annotations

import io
import math
import os
import pickle
import sys
from collections import Counter, OrderedDict

import numpy as np
import pytest
import torch

import ember
import ember.serialization as serialization
from ember import nn


class Net(nn.Module):
    """A small model of the layers this issue provides, with parameters and buffers."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(ember.randn(4, 6) * 0.5)
        self.bn = nn.BatchNorm1d(6)
        self.ln = nn.LayerNorm(6)
        self.w2 = nn.Parameter(ember.randn(6, 3) * 0.5)

    def forward(self, x):
        return self.ln(self.bn(x @ self.w1).relu()) @ self.w2


def _train(model, opt, sched, batches):
    for x, y in batches:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


def _batches(seed, n):
    rng = np.random.default_rng(seed)
    return [(ember.tensor(rng.standard_normal((8, 4)), dtype=ember.float32),
             ember.tensor(rng.integers(0, 3, 8))) for _ in range(n)]


def _make():
    model = Net()
    opt = ember.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    return model, opt, sched


def _state(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_restores_model_and_optimizer_exactly(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched = _make()
    _train(model, opt, sched, _batches(0, 3))
    ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 3}, path)

    ember.manual_seed(123)  # different initial weights
    model2, opt2, sched2 = _make()
    ckpt = ember.load(path)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert ckpt["epoch"] == 3
    for key, value in _state(model).items():
        np.testing.assert_array_equal(_state(model2)[key], value)
        assert model2.state_dict()[key].dtype == model.state_dict()[key].dtype

    more = _batches(1, 3)  # training on from both gives identical models
    _train(model, opt, sched, more)
    _train(model2, opt2, sched2, more)
    for key, value in _state(model).items():
        np.testing.assert_array_equal(_state(model2)[key], value)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_optimizer_state_dict_structure_survives(tmp_path):
    model, opt, sched = _make()
    _train(model, opt, sched, _batches(0, 2))
    sd = opt.state_dict()
    ember.save(sd, tmp_path / "opt.safetensors")
    back = ember.load(tmp_path / "opt.safetensors")
    assert back["param_groups"] == sd["param_groups"]  # tuples (betas), None, bools, ints
    assert isinstance(back["param_groups"][0]["betas"], tuple)
    assert list(back["state"]) == list(sd["state"])  # int keys stay ints
    for idx, state in sd["state"].items():
        for key, value in state.items():
            assert back["state"][idx][key].dtype == value.dtype
            assert back["state"][idx][key].shape == value.shape  # 'step' stays 0-d
            np.testing.assert_array_equal(back["state"][idx][key].numpy(), value.numpy())


def test_python_values_round_trip(tmp_path):
    shared = ember.arange(3)
    obj = OrderedDict([
        ("ints", [0, -1, 2**62]), ("floats", [0.1, -math.inf, math.inf, 1e-300]),
        ("nan", math.nan), ("flags", (True, False, None)), ("text", "héllo"),
        ("nested", {1: {"a": [(), ((1, 2), "x")]}, (2, "k"): "tuple key", None: 0}),
        ("counter", Counter([5, 5, 9])),
        ("tensors", {"f16": ember.tensor(np.arange(4, dtype=np.float16)),
                     "f64": ember.tensor(np.ones((2, 0))),
                     "i64": ember.tensor(np.array(7)), "u8": ember.tensor(np.array([1, 255], np.uint8)),
                     "bool": ember.tensor(np.array([True, False]))}),
        ("array", np.arange(6, dtype=np.int32).reshape(2, 3)),
        ("np_scalar", np.float32(1.5)),
        ("tied", [shared, shared]),
        ("strided", ember.tensor(np.arange(12.0).reshape(3, 4)).t()),
    ])
    ember.save(obj, tmp_path / "values.safetensors")
    back = ember.load(tmp_path / "values.safetensors")
    assert type(back) is OrderedDict and list(back) == list(obj)
    assert back["ints"] == obj["ints"] and back["floats"] == obj["floats"]
    assert math.isnan(back["nan"])
    assert back["flags"] == (True, False, None) and back["text"] == "héllo"
    assert back["nested"] == obj["nested"]
    assert type(back["counter"]) is Counter and back["counter"] == obj["counter"]
    for key, t in obj["tensors"].items():
        assert back["tensors"][key].dtype == t.dtype and back["tensors"][key].shape == t.shape
        np.testing.assert_array_equal(back["tensors"][key].numpy(), t.numpy())
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int32
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert type(back["np_scalar"]) is np.float32 and back["np_scalar"] == 1.5
    assert back["tied"][0] is back["tied"][1]  # one tensor, stored once
    np.testing.assert_array_equal(back["strided"].numpy(), obj["strided"].numpy())


def test_parameters_requires_grad_and_metadata(tmp_path):
    p = nn.Parameter(ember.ones(2))
    t = ember.zeros(3, requires_grad=True)
    model = nn.BatchNorm1d(2)
    ember.save({"p": p, "t": t, "sd": model.state_dict(keep_vars=True), "plain": model.state_dict()},
               tmp_path / "x.safetensors")
    back = ember.load(tmp_path / "x.safetensors")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["t"].requires_grad and not isinstance(back["t"], nn.Parameter)
    assert isinstance(back["sd"]["weight"], nn.Parameter)
    assert back["plain"]._metadata == model.state_dict()._metadata  # module versions kept


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    model = nn.LayerNorm(3)
    ember.save(model.state_dict(), tmp_path / "m.safetensors")
    sd = ember.load(tmp_path / "m.safetensors")
    sd["weight"]._data += 1  # writable memory of its own
    assert model.weight.detach().numpy().tolist() == [1.0, 1.0, 1.0]


def test_module_state_dict_file_is_plain_safetensors(tmp_path):
    """Tensors are named by their path: other safetensors readers see a state dict."""
    from safetensors.torch import load_file

    model = Net()
    ember.save(model.state_dict(), tmp_path / "m.safetensors")
    loaded = load_file(str(tmp_path / "m.safetensors"))
    assert sorted(loaded) == sorted(model.state_dict())
    np.testing.assert_array_equal(loaded["w1"].numpy(), model.w1.detach().numpy())


def test_plain_safetensors_file_loads_as_tensor_dict(tmp_path):
    from safetensors.numpy import save_file

    save_file({"b": np.ones(2, np.float32), "a": np.zeros((2, 2))}, str(tmp_path / "p.safetensors"))
    back = ember.load(tmp_path / "p.safetensors")
    assert isinstance(back, OrderedDict) and set(back) == {"a", "b"}
    assert isinstance(back["a"], ember.Tensor) and back["b"].dtype == ember.float32


def test_file_objects_and_torch_compatible_arguments(tmp_path):
    buffer = io.BytesIO()
    ember.save({"x": ember.ones(2)}, buffer)
    buffer.seek(0)
    back = ember.load(buffer, map_location="cpu", weights_only=True)
    np.testing.assert_array_equal(back["x"].numpy(), [1.0, 1.0])
    ember.save([1, 2], str(tmp_path / "s.safetensors"))  # str paths too
    assert ember.load(str(tmp_path / "s.safetensors"), map_location=None, weights_only=False) == [1, 2]


# ------------------------------------------------------------------ failure safety

def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"step": 1, "w": ember.ones(1000)}, path)
    before = path.read_bytes()

    def write_half_then_fail(fileobj, data):
        fileobj.write(data[: len(data) // 2])
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(serialization, "_write_all", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"step": 2, "w": ember.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert ember.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind


def test_unsaveable_object_raises_before_touching_the_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"ok": 1}, path)
    with pytest.raises(TypeError, match="cannot save an object of type object"):
        ember.save({"bad": object()}, path)
    with pytest.raises(TypeError, match="cannot save a dict key of type frozenset"):
        ember.save({frozenset(): 1}, path)
    with pytest.raises(TypeError, match="cannot save a defaultdict"):
        ember.save(__import__("collections").defaultdict(int), path)
    assert ember.load(path) == {"ok": 1}


def test_truncated_file_raises_clearly(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.ones(100)}, path)
    data = path.read_bytes()
    for cut in (len(data) - 10, 100, 20, 5, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(RuntimeError, match="not a valid ember checkpoint"):
            ember.load(path)


def test_foreign_files_raise_clearly(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "f"
    path.write_bytes(rng.bytes(4096))
    with pytest.raises(RuntimeError, match="not a valid ember checkpoint"):
        ember.load(path)
    path.write_bytes(b"{\"json\": true}" * 10)
    with pytest.raises(RuntimeError, match="not a valid ember checkpoint"):
        ember.load(path)
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(RuntimeError, match="zip archive"):
        ember.load(path)


class _Exploit:
    def __reduce__(self):
        return (os.mkdir, (os.path.join(os.environ["EMBER_TEST_DIR"], "pwned"),))


def test_pickles_are_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_TEST_DIR", str(tmp_path))
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Exploit(), protocol=4))
    with pytest.raises(RuntimeError, match="pickle"):
        ember.load(path)
    assert not (tmp_path / "pwned").exists()


def test_corrupt_structure_raises(tmp_path):
    from safetensors.numpy import save_file

    path = str(tmp_path / "c.safetensors")
    save_file({"a": np.ones(1)}, path, metadata={"format": "ember", "ember": "{not json"})
    with pytest.raises(RuntimeError, match="not valid JSON"):
        ember.load(path)
    save_file({"a": np.ones(1)}, path,
              metadata={"format": "ember", "ember": '{"__tensor__": "Tensor", "name": "b"}'})
    with pytest.raises(RuntimeError, match="names a tensor 'b' that the file does not hold"):
        ember.load(path)


def test_missing_safetensors_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install safetensors"):
        ember.save({}, tmp_path / "x.safetensors")
    with pytest.raises(ImportError, match=r"pip install safetensors"):
        ember.load(tmp_path / "x.safetensors")
