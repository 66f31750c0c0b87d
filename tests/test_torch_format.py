"""Checkpoints between torch and ember (issue 13): torch's zip and legacy formats read, torch's
zip format written, whole objects pickled only on request, safetensors both ways, and hostile
files refused without running or allocating anything."""
import io
import os
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import torch

import ember
from ember import _torch_format


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


class EmberNet(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ember.nn.Conv2d(3, 4, 3)
        self.bn = ember.nn.BatchNorm2d(4)
        self.fc = ember.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(ember.flatten(ember.relu(self.bn(self.conv(x))), 1))


X = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)


def _trained_torch_net():
    torch.manual_seed(0)
    net = TorchNet()
    net(torch.tensor(X))  # batch norm's running statistics move away from their defaults
    return net.eval()


def _outputs_match(tnet, enet):
    with torch.no_grad():
        want = tnet.eval()(torch.tensor(X)).numpy()
    with ember.no_grad():
        got = enet.eval()(ember.tensor(X)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("mmap", [False, True])
def test_torch_checkpoint_loads_into_ember(tmp_path, legacy, mmap):
    tnet = _trained_torch_net()
    path = tmp_path / "net.pth"
    torch.save(tnet.state_dict(), path, _use_new_zipfile_serialization=not legacy)
    enet = EmberNet()
    state = ember.load(path, mmap=mmap and not legacy)
    assert list(state) == list(tnet.state_dict())
    assert state["bn.num_batches_tracked"].dtype == ember.int64
    enet.load_state_dict(state)
    _outputs_match(tnet, enet)


@pytest.mark.parametrize("map_location", ["cpu", ember.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, location: storage])
def test_map_location_forms(tmp_path, map_location):
    path = tmp_path / "t.pt"
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, path)
    assert ember.load(path, map_location=map_location)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_cuda_checkpoint_needs_a_map_location_as_in_torch(tmp_path):
    data = _zip_with_pickle(_tensor_pickle(location="cuda:0"), {"0": b"\0" * 8})
    path = tmp_path / "gpu.pt"
    path.write_bytes(data)
    with pytest.raises(RuntimeError, match="map_location=torch.device\\('cpu'\\)"):
        ember.load(path)
    assert ember.load(path, map_location="cpu")["t"].shape == (2,)
    assert ember.load(path, map_location={"cuda:0": "cpu"})["t"].shape == (2,)


def test_views_keep_sharing_their_storage_both_ways(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    torch.save({"base": base, "row": base[1], "col": base[:, 2]}, tmp_path / "t.pt")
    back = ember.load(tmp_path / "t.pt")
    assert back["col"].tolist() == [2.0, 6.0, 10.0]
    back["row"][0] = -1.0
    assert back["base"][1, 0].item() == -1.0  # one storage, as in torch

    e = ember.arange(12.0).reshape(3, 4)
    ember.save({"base": e, "row": e[1], "col": e[:, 2]}, tmp_path / "e.pt")
    t = torch.load(tmp_path / "e.pt", weights_only=True)
    assert t["col"].tolist() == [2.0, 6.0, 10.0]
    t["row"][0] = -1.0
    assert t["base"][1, 0].item() == -1.0
    assert len([n for n in zipfile.ZipFile(tmp_path / "e.pt").namelist() if "/data/" in n]) == 1


def test_ember_checkpoint_loads_into_torch(tmp_path):
    tnet = _trained_torch_net()
    enet = EmberNet()
    enet.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    ember.save(enet.state_dict(), tmp_path / "net.pt")
    fresh = TorchNet()
    fresh.load_state_dict(torch.load(tmp_path / "net.pt", weights_only=True))
    _outputs_match(fresh, enet)


def test_dtypes_and_containers_round_trip_through_torch(tmp_path):
    obj = {"f16": ember.tensor([1.5, -2.0], dtype=ember.float16),
           "f64": ember.tensor([1e-300], dtype=ember.float64), "i64": ember.arange(3),
           "i32": ember.tensor([7], dtype=ember.int32), "u8": ember.tensor([255], dtype=ember.uint8),
           "b": ember.tensor([True, False]), "scalar": ember.tensor(3.0),
           "param": ember.nn.Parameter(ember.ones(2)), "size": ember.Size([2, 3]),
           "dtype": ember.float16, "device": ember.device("cpu"), "list": [1, 2.5, "x", None],
           "tuple": (1, (2, 3)), "set": {4, 5}, "empty": ember.zeros(0, 3)}
    ember.save(obj, tmp_path / "o.pt")
    t = torch.load(tmp_path / "o.pt", weights_only=True)
    assert t["f16"].dtype == torch.float16 and t["f16"].tolist() == [1.5, -2.0]
    assert t["i32"].dtype == torch.int32 and t["u8"].dtype == torch.uint8
    assert t["b"].dtype == torch.bool and t["scalar"].shape == ()
    assert isinstance(t["param"], torch.nn.Parameter) and t["param"].requires_grad
    assert t["size"] == torch.Size([2, 3]) and t["dtype"] is torch.float16
    assert t["list"] == [1, 2.5, "x", None] and t["tuple"] == (1, (2, 3)) and t["set"] == {4, 5}
    assert t["empty"].shape == (0, 3)
    torch.save(t, tmp_path / "t.pt")
    back = ember.load(tmp_path / "t.pt")
    assert back["f16"].dtype == ember.float16 and back["i64"].tolist() == [0, 1, 2]
    assert isinstance(back["param"], ember.nn.Parameter) and back["size"] == ember.Size([2, 3])
    assert back["dtype"] is ember.float16 and back["set"] == {4, 5}


def test_bfloat16_is_read_as_float32_with_a_note(tmp_path):
    torch.save({"w": torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16)}, tmp_path / "b.pt")
    with pytest.warns(UserWarning, match="bfloat16 tensors are loaded as float32"):
        w = ember.load(tmp_path / "b.pt")["w"]
    assert w.dtype == ember.float32
    np.testing.assert_array_equal(w.numpy(), torch.load(tmp_path / "b.pt")["w"].float().numpy())


def test_whole_objects_pickle_and_load_only_when_asked(tmp_path):
    net = EmberNet()
    opt = ember.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(ember.tensor(X)).sum().backward()
    opt.step()
    ember.save(net, tmp_path / "model.pt")
    ember.save(net, tmp_path / "model.bin")  # not safetensors-shaped: torch's format, pickled
    for name in ("model.pt", "model.bin"):
        with pytest.raises(pickle.UnpicklingError,
                           match="GLOBAL .*EmberNet was not an allowed global"):
            ember.load(tmp_path / name)
        back = ember.load(tmp_path / name, weights_only=False)
        assert type(back).__name__ == "EmberNet"
        with ember.no_grad():
            np.testing.assert_array_equal(back.eval()(ember.tensor(X)).numpy(),
                                          net.eval()(ember.tensor(X)).numpy())
    # an optimizer's state_dict is plain data: it round-trips with weights_only=True
    ember.save(opt.state_dict(), tmp_path / "opt.pt")
    state = ember.load(tmp_path / "opt.pt")
    assert state["param_groups"][0]["lr"] == 0.1
    np.testing.assert_array_equal(state["state"][0]["momentum_buffer"].numpy(),
                                  opt.state_dict()["state"][0]["momentum_buffer"].numpy())
    with pytest.raises(TypeError, match="cannot save"):
        ember.save(net, tmp_path / "model.safetensors")  # safetensors never pickles


def test_format_choice(tmp_path):
    sd = {"w": ember.ones(2)}
    ember.save(sd, tmp_path / "a.pth")
    ember.save(sd, tmp_path / "b.safetensors")
    ember.save(sd, tmp_path / "c.ckpt", format="safetensors")
    buf = io.BytesIO()
    ember.save(sd, buf, format="torch")
    assert (tmp_path / "a.pth").read_bytes()[:4] == b"PK\x03\x04"
    assert (tmp_path / "b.safetensors").read_bytes()[:4] != b"PK\x03\x04"
    assert (tmp_path / "c.ckpt").read_bytes()[:4] != b"PK\x03\x04"
    assert buf.getvalue()[:4] == b"PK\x03\x04"
    buf.seek(0)
    assert ember.load(buf)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="format must be"):
        ember.save(sd, buf, format="onnx")


def test_safetensors_both_ways_with_torch(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    tnet = _trained_torch_net()
    enet = EmberNet()
    st.save_file(tnet.state_dict(), str(tmp_path / "t.safetensors"))
    enet.load_state_dict(ember.load(tmp_path / "t.safetensors"))
    _outputs_match(tnet, enet)
    mixed = {"f16": ember.ones(2, dtype=ember.float16), "i64": ember.arange(3),
             "b": ember.tensor([True])}
    ember.save({**enet.state_dict(), **mixed}, tmp_path / "e.safetensors")
    loaded = st.load_file(str(tmp_path / "e.safetensors"))
    assert loaded["f16"].dtype == torch.float16 and loaded["i64"].dtype == torch.int64
    assert loaded["b"].dtype == torch.bool
    fresh = TorchNet()
    fresh.load_state_dict({k: v for k, v in loaded.items() if k not in mixed})
    _outputs_match(fresh, enet)


def test_torchvision_checkpoint_loads_into_the_zoo(tmp_path):
    from tests.torchvision_oracle import torchvision
    tv = torchvision()
    torch.manual_seed(0)
    t = tv.models.resnet18(weights=None).eval()
    torch.save(t.state_dict(), tmp_path / "resnet18-f37072fd.pth")
    e = ember.vision.models.resnet18().eval()
    e.load_state_dict(ember.load(tmp_path / "resnet18-f37072fd.pth"))
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.tensor(x)).numpy()
    with ember.no_grad():
        got = e(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


# ------------------------------------------------------------------------------ hostile files
def _tensor_pickle(location="cpu", numel=2, size=(2,), stride=(1,), offset=0, storage="FloatStorage"):
    """data.pkl for {"t": tensor} written opcode by opcode, so any field can lie."""
    out = io.BytesIO()
    p = pickle._Pickler(out, protocol=2)

    class G:  # a global by name
        def __init__(self, module, name):
            self.module, self.name = module, name

        def __call__(self, *a):
            pass

    def save_g(pickler, obj):
        pickler.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
    p.dispatch = dict(p.dispatch)
    p.dispatch[G] = save_g

    class PID:
        pass
    pid_obj = PID()
    p.persistent_id = lambda obj: (("storage", G("torch", storage), "0", location, numel)
                                   if obj is pid_obj else None)
    p.reducer_override = lambda obj: ((G("torch._utils", "_rebuild_tensor_v2"),
                                       (pid_obj, offset, size, stride, False, {}))
                                      if isinstance(obj, np.ndarray) else NotImplemented)
    p.dump({"t": np.zeros(1)})
    return out.getvalue()


def _zip_with_pickle(pkl, records, compress=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compress) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", b"little")
        for key, data in records.items():
            zf.writestr(f"archive/data/{key}", data)
    return out.getvalue()


def test_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    torch.save({"a": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL posix.system was not an allowed"):
        ember.load(tmp_path / "evil.pt")
    assert not marker.exists()
    evil_legacy = tmp_path / "evil_legacy.pt"
    torch.save({"a": Evil()}, evil_legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        ember.load(evil_legacy)
    assert not marker.exists()


@pytest.mark.parametrize("fields, match", [
    ({"numel": 10 ** 12}, "declares 4000000000000 bytes but its record holds 8"),
    ({"size": (3,)}, "reads past the end of its storage"),
    ({"offset": 2}, "reads past the end of its storage"),
    ({"size": (2, 10 ** 9), "stride": (1, 1)}, "reads past the end"),
    ({"stride": (-1,)}, "invalid tensor layout"),
    ({"storage": "os.system"}, "not an allowed global|unknown storage type"),
])
def test_lying_storage_fields_raise_before_allocating(fields, match):
    data = _zip_with_pickle(_tensor_pickle(**fields), {"0": b"\0" * 8})
    tracemalloc.start()
    try:
        with pytest.raises((pickle.UnpicklingError, RuntimeError), match=match):
            ember.load(io.BytesIO(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * len(data) + (1 << 20)


def test_truncated_and_compressed_archives_are_refused():
    good = _zip_with_pickle(_tensor_pickle(), {"0": b"\0" * 8})
    for cut in (10, len(good) // 2, len(good) - 5):
        with pytest.raises(RuntimeError, match="not a valid torch checkpoint|truncated|zip"):
            ember.load(io.BytesIO(good[:cut]))
    bomb = _zip_with_pickle(_tensor_pickle(numel=2), {"0": b"\0" * (50 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < (1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="compressed"):
            ember.load(io.BytesIO(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < (8 << 20)


def test_corrupted_bytes_only_ever_raise_clearly(tmp_path):
    """Flip bytes all over real checkpoints (zip and legacy): a clear error or a load, never a
    foreign exception."""
    tnet = _trained_torch_net()
    files = []
    for legacy in (False, True):
        buf = io.BytesIO()
        torch.save(tnet.state_dict(), buf, _use_new_zipfile_serialization=not legacy)
        files.append(buf.getvalue())
    rng = np.random.default_rng(0)
    for data in files:
        for _ in range(150):
            bad = bytearray(data)
            for i in rng.integers(0, len(bad), rng.integers(1, 4)):
                bad[i] = rng.integers(0, 256)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ember.load(io.BytesIO(bytes(bad)))
            except (RuntimeError, pickle.UnpicklingError):
                pass


def test_legacy_storage_counts_are_bounded_by_the_file(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(4)}, buf, _use_new_zipfile_serialization=False)
    data = bytearray(buf.getvalue())
    count_at = len(data) - 16 - 8  # the one storage: int64 count, then 4 float32
    assert struct.unpack_from("<q", data, count_at)[0] == 4
    struct.pack_into("<q", data, count_at, 10 ** 15)
    with pytest.raises(RuntimeError, match="past the end of the file"):
        ember.load(io.BytesIO(bytes(data)))


def test_writer_aligns_storages_for_memory_mapping(tmp_path):
    ember.save({"a": ember.ones(3), "b": ember.arange(5)}, tmp_path / "x.pt")
    raw = (tmp_path / "x.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "x.pt") as zf:
        for info in zf.infolist():
            if "/data/" in info.filename:
                name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
                assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
    assert torch.load(tmp_path / "x.pt", mmap=True, weights_only=True)["b"].tolist() == [0, 1, 2, 3, 4]
    assert _torch_format.is_zip(raw)
