"""ember.save / ember.load (ember/serialization.py): safetensors checkpoints that restore models
and optimisers exactly, survive interrupted saves, never unpickle, and reject bad files clearly."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
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
    # torch's own formats are not foreign any more (issue 13: tests/test_torch_format.py)
    torch.save({"w": torch.ones(2)}, path)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]
    path.write_bytes(b"PK\x03\x04" + rng.bytes(200))  # zip magic, then garbage
    with pytest.raises(RuntimeError, match="not a valid torch checkpoint"):
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


# ------------------------------------------------------------------ issue 14: file-type sniffing

def _safetensors_bytes(header, body=b"", header_length=None) -> bytes:
    """A safetensors file made by hand: the JSON header padded with spaces to header_length."""
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    text += b" " * ((header_length or len(text)) - len(text))
    return struct.pack("<Q", len(text)) + text + body


def _ember_header(structure: str, tensors=None) -> dict:
    tensors = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}} if tensors is None \
        else tensors
    return {"__metadata__": {"format": "ember", "ember_format_version": "1", "ember": structure},
            **tensors}


def test_header_length_that_starts_like_a_pickle_or_zip_loads(tmp_path):
    """Issue 14.1: a header length of 128 mod 256 begins with 0x80, 19280 with 'PK'."""
    path = tmp_path / "c.safetensors"
    obj = {"layer" + "x" * 39 + ".weight": ember.ones(3), "epoch": 1}
    ember.save(obj, path)
    assert path.read_bytes()[:1] == b"\x80"
    back = ember.load(path)
    assert back["epoch"] == 1 and back["layer" + "x" * 39 + ".weight"].tolist() == [1.0] * 3
    seen = set()
    for key_length in range(1, 300):  # the header grows one byte a character: every residue
        buffer = io.BytesIO()
        ember.save({"k" * key_length: ember.ones(1), "n": key_length}, buffer)
        seen.add(struct.unpack("<Q", buffer.getvalue()[:8])[0] % 256)
        buffer.seek(0)
        assert ember.load(buffer)["n"] == key_length
    assert seen == set(range(0, 256, 8))  # safetensors pads headers to multiples of 8
    for key_length in range(6_300, 6_420):  # a header of 19280 bytes starts with 'PK'
        buffer = io.BytesIO()  # (the key is in the header 3 times: tensor, dict key, name)
        ember.save({"k" * key_length: ember.ones(1)}, buffer)
        if buffer.getvalue()[:2] == b"PK":
            break
    else:
        raise AssertionError("no key length gave a 19280-byte header")
    ember.save({"k" * key_length: ember.ones(1)}, path)
    assert list(ember.load(path)) == ["k" * key_length]


def test_header_of_every_length_loads(tmp_path):
    """Header lengths across all residues mod 256, and 19280 ('PK'), written by hand."""
    path = tmp_path / "c.safetensors"
    header = _ember_header('{"__tensor__":"Tensor","name":"a"}')
    body = np.float32(2.5).tobytes()
    base = len(json.dumps(header))
    for length in [base + r for r in range(256)] + [19280]:
        data = _safetensors_bytes(header, body, header_length=length)
        path.write_bytes(data)
        assert ember.load(path).tolist() == [2.5], length
    assert data[:2] == b"PK"


# ------------------------------------------------------------------ issue 14: hostile headers

_TENSOR_A = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
_HOSTILE_STRUCTURES = [
    '{"__npscalar__": "V1", "value": 1000000000}',  # np.void(10**9): a 1 GB allocation
    '{"__npscalar__": "V20000000000", "value": 1}',
    '{"__npscalar__": "<f16", "value": 1}', '{"__npscalar__": ">i4", "value": 1}',
    '{"__npscalar__": "O", "value": 1}', '{"__npscalar__": "<U9", "value": 1}',
    '{"__npscalar__": 5, "value": 1}', '{"__npscalar__": "<i4"}',
    '{"__npscalar__": "<i4", "value": "x"}', '{"__npscalar__": "|u1", "value": -1}',
    '{"__npscalar__": "<i4", "value": [1]}', '{"__npscalar__": "|i1", "value": 1000}',
    '{"__float__": null}', '{"__float__": "x"}', '{"__float__": "1e5"}', '{"__float__": [1]}',
    '{"__npscalar__": [1], "value": 1}', '{"__npscalar__": {}, "value": 1}',
    '{"__tuple__": 5}', '{"__tuple__": {"a": 1}}',
    '{"__dict__": "dict"}', '{"__dict__": "dict", "items": 5}',
    '{"__dict__": "dict", "items": [[1]]}', '{"__dict__": "dict", "items": [5]}',
    '{"__dict__": "dict", "items": [[[1], 2]]}', '{"__dict__": ["x"], "items": []}',
    '{"__dict__": "set", "items": []}', '{"__dict__": "dict", "items": [], "_metadata": 1}',
    '{"__tensor__": "Tensor", "name": ["a"]}', '{"__tensor__": "Tensor"}',
    '{"__tensor__": "Bogus", "name": "a"}',
    '{"__tensor__": "Tensor", "name": "a", "requires_grad": "yes"}',
    '{"__unknown__": 1}', '"' + "x" * 10 + '"]',
    "[" * 100_000 + "]" * 100_000, "[" * 600 + "]" * 600, "1" * 5000,
]


@pytest.mark.parametrize("structure", _HOSTILE_STRUCTURES, ids=lambda s: s[:40])
def test_hostile_structure_raises_runtime_error(tmp_path, structure):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(_safetensors_bytes(_ember_header(structure), b"\0" * 4))
    with pytest.raises(RuntimeError, match=r"not a valid ember checkpoint: .*hostile\.safetensors"):
        ember.load(path)


def test_integer_tensor_that_requires_grad_raises_runtime_error(tmp_path):
    path = tmp_path / "hostile.safetensors"
    tensors = {"a": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}
    path.write_bytes(_safetensors_bytes(_ember_header(
        '{"__tensor__": "Parameter", "name": "a", "requires_grad": true}', tensors), b"\0" * 4))
    with pytest.raises(RuntimeError, match="not a valid ember checkpoint: .*require"):
        ember.load(path)


_HOSTILE_HEADERS = [
    "[]", '{"a": 5}', '{"__metadata__": 5}', '{"__metadata__": ["x"]}',
    '{"__metadata__": {"format": "ember", "ember": 5}}', '{"__metadata__": {"format": 1}}',
    '{"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "C64", "shape": [], "data_offsets": [0, 8]}}',
    '{"a": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [1000000000000000000000000000000], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 100000000000000000000]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": "x"}}',
    '{"a": {"dtype": "F32", "shape": [1]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
    ' "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',  # overlapping
    '{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}',  # 4 stray bytes
    '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"x": ' + "1" * 5000 + "}",
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__":'
    ' {"format": "ember", "ember": "{\\"__tensor__\\": \\"Tensor\\", \\"name\\": \\"b\\"}"}}',
    '{"\\ud800": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
]


@pytest.mark.parametrize("header", _HOSTILE_HEADERS, ids=lambda s: s[:50])
def test_hostile_header_raises_runtime_error(tmp_path, header):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(_safetensors_bytes(header, b"\0" * 4))
    with pytest.raises(RuntimeError, match=r"not a valid ember checkpoint: .*hostile\.safetensors"):
        ember.load(path)


def test_tiny_file_cannot_ask_for_a_big_allocation(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.safetensors"
    path.write_bytes(_safetensors_bytes(_ember_header(
        '{"__npscalar__": "V1", "value": 1000000000}'), b"\0" * 4))
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError):
            ember.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak


def test_saving_what_load_would_refuse_raises(tmp_path):
    path = tmp_path / "c.safetensors"
    ember.save({"ok": 1}, path)
    with pytest.raises(TypeError, match="cannot save"):
        ember.save({"x": np.longdouble(1.5)}, path)  # 16-byte scalars are not read back
    with pytest.raises(TypeError, match="cannot save an array of dtype float128"):
        ember.save({"x": np.zeros(2, np.longdouble)}, path)
    deep = 0
    for _ in range(300):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        ember.save(deep, path)
    assert ember.load(path) == {"ok": 1}


# ------------------------------------------------------------------ issue 14: the saved file

def test_save_keeps_the_mode_of_an_existing_file(tmp_path):
    path = tmp_path / "c.safetensors"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    ember.save({"x": 1}, path)
    assert os.stat(path).st_mode & 0o7777 == 0o644
    os.chmod(path, 0o640)
    ember.save({"x": 2}, path)
    assert os.stat(path).st_mode & 0o7777 == 0o640


def test_save_of_a_new_file_honours_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        ember.save({"x": 1}, tmp_path / "new.safetensors")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "new.safetensors").st_mode & 0o7777 == 0o640
    assert os.stat(tmp_path / "plain").st_mode & 0o7777 == 0o640  # as open() does


def test_save_writes_through_a_symlink(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "epoch3.safetensors"
    ember.save({"epoch": 3}, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    ember.save({"epoch": 4}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert ember.load(target) == {"epoch": 4}
    assert sorted(os.listdir(tmp_path / "runs")) == ["epoch3.safetensors"]


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_save_removes_temporary_files_of_dead_saves(tmp_path):
    import socket

    path = tmp_path / "c.safetensors"
    host = socket.gethostname()
    stale = tmp_path / f".c.safetensors.{host}.{_dead_pid()}.0a1b2c3d.ember-tmp"
    live = tmp_path / f".c.safetensors.{host}.{os.getppid()}.0a1b2c3d.ember-tmp"
    other_host = tmp_path / f".c.safetensors.not-{host}.{_dead_pid()}.0a1b2c3d.ember-tmp"
    for p in (stale, live, other_host):
        p.write_bytes(b"half a checkpoint")
    ember.save({"x": 1}, path)
    assert not stale.exists()
    assert live.exists() and other_host.exists()  # possibly still being written


def test_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    import signal
    import subprocess
    import time

    path = tmp_path / "c.safetensors"
    ember.save({"step": 1}, path)
    script = (
        "import sys, time, ember, ember.serialization as s\n"
        "def slow(f, data):\n"
        "    f.write(data[:10]); f.flush(); print('writing', flush=True); time.sleep(60)\n"
        "s._write_all = slow\n"
        "ember.save({'step': 2, 'w': ember.ones(100)}, sys.argv[1])\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    left = [p for p in os.listdir(tmp_path) if p != "c.safetensors"]
    assert len(left) == 1 and left[0].endswith(".ember-tmp")
    assert ember.load(path) == {"step": 1}  # the kill left the checkpoint intact
    ember.save({"step": 3}, path)
    assert os.listdir(tmp_path) == ["c.safetensors"]
    assert ember.load(path) == {"step": 3}
