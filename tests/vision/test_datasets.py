"""ember.vision.datasets: official formats, validation of local folders, the restricted
unpickler, and downloads end to end against an HTTP server on 127.0.0.1 (never the network)."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import struct
import tarfile
import threading
import time

import numpy as np
import pytest
from PIL import Image

import ember
from ember.utils.data import DataLoader
from ember.vision import datasets, transforms
from ember.vision.datasets import synthetic
from ember.vision.datasets import utils as dutils
from ember.vision.datasets.cifar import load_pickle


# -- a loopback HTTP server ----------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, behaviour = route
        self.send_response(200)
        if behaviour == "endless":  # no length announced: the body runs until we hang up
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(OSError):
                while True:
                    self.wfile.write(body)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "drip":  # the whole file, one byte every 50 ms
            with contextlib.suppress(OSError):
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            return
        if behaviour == "cut":  # announce the whole file, send half, drop the connection
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """Serves ``server.routes[path] = (bytes, "ok" | "cut" | "drip" | "endless")`` on
    127.0.0.1 only."""
    monkeypatch.setattr(dutils, "DEFAULT_TIMEOUT", 5.0)  # a stuck request fails fast
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.requests = {}, []
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def cifar_archive():
    archive, md5s = synthetic.cifar_archive(train_per_batch=8, test_size=12)
    return archive, md5s


def point_cifar_at(monkeypatch, server, archive, md5s, behaviour="ok"):
    """CIFAR10's class attributes -> the loopback server and the generated files' MD5s."""
    server.routes["/cifar-10-python.tar.gz"] = (archive, behaviour)
    monkeypatch.setattr(datasets.CIFAR10, "url", server.base + "/cifar-10-python.tar.gz")
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", md5(archive))
    monkeypatch.setattr(datasets.CIFAR10, "tgz_size", len(archive))
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": md5s["batches.meta"]})


def leftovers(root) -> list[str]:
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


# -- CIFAR: download -----------------------------------------------------------------------------

def test_cifar10_download_end_to_end(tmp_path, monkeypatch, server, cifar_archive, capsys):
    archive, md5s = cifar_archive
    point_cifar_at(monkeypatch, server, archive, md5s)
    train = datasets.CIFAR10(tmp_path, train=True, download=True)
    test = datasets.CIFAR10(tmp_path, train=False, download=True)
    assert len(train) == 40 and len(test) == 12
    assert train.check_integrity() and server.requests == ["/cifar-10-python.tar.gz"]
    assert "Files already downloaded and verified" in capsys.readouterr().out
    assert leftovers(tmp_path) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]  # no temp files
    img, label = train[3]
    assert isinstance(img, Image.Image) and img.size == (32, 32) and 0 <= label < 10
    assert train.classes == synthetic.CIFAR10_CLASSES


def test_cifar10_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch, server, cifar_archive):
    archive, md5s = cifar_archive
    point_cifar_at(monkeypatch, server, archive, md5s)
    server.routes["/cifar-10-python.tar.gz"] = (archive[:-10] + b"0123456789", "ok")  # corrupt
    with pytest.raises(dutils.DownloadError, match=r"The MD5 of the file downloaded from http://127\.0\.0\.1:\d+/cifar-10-python\.tar\.gz is [0-9a-f]{32}, expected"):
        datasets.CIFAR10(tmp_path, download=True)
    assert leftovers(tmp_path) == []
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True to download it"):
        datasets.CIFAR10(tmp_path)


def test_cifar10_connection_cut_then_retry(tmp_path, monkeypatch, server, cifar_archive):
    archive, md5s = cifar_archive
    point_cifar_at(monkeypatch, server, archive, md5s, behaviour="cut")
    with pytest.raises(dutils.DownloadError, match=r"cifar-10-python\.tar\.gz"):
        datasets.CIFAR10(tmp_path, download=True)
    assert leftovers(tmp_path) == []  # no half file that could pass for the archive
    server.routes["/cifar-10-python.tar.gz"] = (archive, "ok")
    assert len(datasets.CIFAR10(tmp_path, train=False, download=True)) == 12


def test_download_slow_drip_hits_the_deadline(tmp_path, server):
    server.routes["/drip.bin"] = (b"x" * 1000, "drip")  # 50 s at the server's pace
    start = time.monotonic()
    with pytest.raises(dutils.DownloadError, match=r"drip\.bin did not finish within its deadline: got \d+ of 1000 bytes"):
        dutils.download_url(server.base + "/drip.bin", str(tmp_path), deadline=1.0)
    assert time.monotonic() - start < 2.0
    assert leftovers(tmp_path) == []


def test_download_endless_body_is_cut_at_the_expected_size(tmp_path, server):
    server.routes["/endless.bin"] = (b"y" * 4096, "endless")
    with pytest.raises(dutils.DownloadError, match=r"endless\.bin sent more than the expected 10000 bytes"):
        dutils.download_url(server.base + "/endless.bin", str(tmp_path), size=10_000)
    assert leftovers(tmp_path) == []


def test_download_without_any_length_is_capped(tmp_path, server, monkeypatch):
    monkeypatch.setattr(dutils, "MAX_UNSIZED_BYTES", 50_000)
    server.routes["/endless.bin"] = (b"y" * 4096, "endless")
    with pytest.raises(dutils.DownloadError, match=r"sent more than the expected 50000 bytes"):
        dutils.download_url(server.base + "/endless.bin", str(tmp_path))
    assert leftovers(tmp_path) == []


def test_download_oversize_announcement_is_refused(tmp_path, server):
    server.routes["/big.bin"] = (b"z" * 5000, "ok")
    with pytest.raises(dutils.DownloadError, match=r"The server announces 5000 bytes for .*big\.bin, expected 100"):
        dutils.download_url(server.base + "/big.bin", str(tmp_path), size=100)
    assert leftovers(tmp_path) == []


def test_download_without_checksum_checks_the_length(tmp_path, server):
    server.routes["/short.bin"] = (b"s" * 500, "ok")  # an honest Content-Length, but too short
    with pytest.raises(dutils.DownloadError, match=r"announces 500 bytes .*expected 1000"):
        dutils.download_url(server.base + "/short.bin", str(tmp_path), size=1000)
    assert leftovers(tmp_path) == []
    (tmp_path / "short.bin").write_bytes(b"s" * 500)  # a short file already there is not kept
    server.routes["/short.bin"] = (b"s" * 1000, "ok")
    path = dutils.download_url(server.base + "/short.bin", str(tmp_path), size=1000)
    assert os.path.getsize(path) == 1000 and len(server.requests) == 2


def test_download_replaces_a_corrupt_folder(tmp_path, monkeypatch, server, cifar_archive):
    archive, md5s = cifar_archive
    point_cifar_at(monkeypatch, server, archive, md5s)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"garbage")
    ds = datasets.CIFAR10(tmp_path, download=True)
    assert len(ds) == 40 and ds.check_integrity()
    assert not any(name.startswith(".") for name in leftovers(tmp_path))


def test_offline_error_names_url_and_files(tmp_path, monkeypatch):
    monkeypatch.setattr(dutils, "DEFAULT_TIMEOUT", 5.0)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"
    monkeypatch.setattr(datasets.CIFAR10, "url", url)
    with pytest.raises(dutils.DownloadError) as info:
        datasets.CIFAR10(tmp_path, download=True)
    message = str(info.value)
    assert url in message and str(tmp_path / "cifar-10-python.tar.gz") in message
    assert "c58f30108f718f92721af3b95e74349a" in message
    with pytest.raises(RuntimeError, match="Missing from .*cifar-10-batches-py: batches.meta, data_batch_1, data_batch_2"):
        datasets.CIFAR10(tmp_path)
    # a complete (regenerated) folder is kept, with a warning, when the download is impossible
    synthetic.make_cifar10(tmp_path, train_per_batch=2, test_size=3)
    with pytest.warns(UserWarning, match="Using the files already in .* which do not have the official checksums"):
        assert len(datasets.CIFAR10(tmp_path, train=False, download=True)) == 3


def test_official_constants():
    assert datasets.CIFAR10.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert datasets.CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"
    assert datasets.CIFAR100.tgz_md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert (datasets.CIFAR10.tgz_size, datasets.CIFAR100.tgz_size) == (170498071, 169001437)
    assert datasets.MNIST.resources[0] == ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873")


# -- CIFAR: local folders ------------------------------------------------------------------------

def test_cifar10_regenerated_folder_loads(tmp_path):
    synthetic.make_cifar10(tmp_path, train_per_batch=6, test_size=9, seed=3)
    train = datasets.CIFAR10(tmp_path, train=True, transform=transforms.ToTensor(),
                             target_transform=lambda y: y + 100)
    assert not train.check_integrity()  # not the official files, yet it loads
    assert train.data.shape == (30, 32, 32, 3) and train.data.dtype == np.uint8
    img, target = train[7]
    assert tuple(img.shape) == (3, 32, 32) and img.dtype == ember.float32
    np.testing.assert_array_equal(img.numpy(), train.data[7].transpose(2, 0, 1) / np.float32(255))
    assert target == train.targets[7] + 100
    assert repr(train).splitlines()[:4] == ["Dataset CIFAR10", "    Number of datapoints: 30",
                                            f"    Root location: {tmp_path}", "    Split: Train"]
    batches = list(DataLoader(datasets.CIFAR10(tmp_path, train=False, transform=transforms.ToTensor()),
                              batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 3, 32, 32)] * 2 + [(1, 3, 32, 32)]
    assert batches[0][1].dtype == ember.int64


def test_cifar100(tmp_path):
    synthetic.make_cifar100(tmp_path, train_size=15, test_size=5)
    ds = datasets.CIFAR100(tmp_path, train=True)
    assert len(ds) == 15 and len(ds.classes) == 100 and max(ds.targets) < 100
    assert len(datasets.CIFAR100(tmp_path, train=False)) == 5


@pytest.mark.parametrize("entry, match", [
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, r"'data' should be a uint8 array of shape \(N, 3072\), got uint8 array of shape \(2, 100\)"),
    ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "'data' should be a uint8 array"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "'labels' should hold 2 integers"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, r"labels should lie in \[0, 10\), found \[0, 10\]"),
    ({"data": np.zeros((2, 3072), np.uint8)}, "not a CIFAR batch: expected a dict with 'data' and 'labels'"),
    ([1, 2, 3], "not a CIFAR batch"),
])
def test_cifar_malformed_batches_are_rejected(tmp_path, entry, match):
    folder = synthetic.make_cifar10(tmp_path, train_per_batch=2, test_size=2)
    with open(os.path.join(folder, "test_batch"), "wb") as f:
        pickle.dump(entry, f, protocol=2)
    with pytest.raises(RuntimeError, match=match):
        datasets.CIFAR10(tmp_path, train=False)


def test_cifar_truncated_batch(tmp_path):
    folder = synthetic.make_cifar10(tmp_path, train_per_batch=2, test_size=2)
    path = os.path.join(folder, "test_batch")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="test_batch: not a valid pickle"):
        datasets.CIFAR10(tmp_path, train=False)


# -- the restricted unpickler --------------------------------------------------------------------

class _Exploit:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalExploit:
    def __reduce__(self):
        return (eval, ("__import__('os').getpid()",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_pickle_is_refused(tmp_path, protocol):
    marker = tmp_path / "pwned"
    folder = synthetic.make_cifar10(tmp_path, train_per_batch=2, test_size=2)
    for name, payload in (("test_batch", {"data": _Exploit(f"touch {marker}"), "labels": []}),
                          ("batches.meta", _EvalExploit())):
        path = os.path.join(folder, name)
        backup = open(path, "rb").read()
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=protocol)
        with pytest.raises(RuntimeError, match=r"refusing to load global '(posix\.system|(__builtin__|builtins)\.eval)'"):
            datasets.CIFAR10(tmp_path, train=False)
        with open(path, "wb") as f:
            f.write(backup)
    assert not marker.exists()


class _Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 ``str`` (BINSTRING), as the official batches are."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


@pytest.mark.parametrize("numpy_module", [b"numpy._core.multiarray", b"numpy.core.multiarray"])
def test_python2_style_batches_load(tmp_path, numpy_module):
    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump({"data": data, "labels": [1, 2, 3], "batch_label": "testing batch 1 of 1"})
    raw = buffer.getvalue().replace(b"numpy._core.multiarray", numpy_module)
    path = tmp_path / "batch"
    path.write_bytes(raw)
    entry = load_pickle(str(path))
    np.testing.assert_array_equal(entry["data"], data)
    assert entry["labels"] == [1, 2, 3] and entry["batch_label"] == "testing batch 1 of 1"


# -- MNIST ---------------------------------------------------------------------------------------

def test_mnist_regenerated_folder(tmp_path):
    synthetic.make_mnist(tmp_path, train_size=12, test_size=5)
    ds = datasets.MNIST(tmp_path, train=True, transform=transforms.ToTensor())
    assert len(ds) == 12 and ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (12, 28, 28)
    assert ds.targets.dtype == ember.int64
    img, target = ds[2]
    assert tuple(img.shape) == (1, 28, 28) and target == int(ds.targets[2].item())
    np.testing.assert_array_equal(img.numpy()[0], ds.data.numpy()[2] / np.float32(255))
    assert isinstance(datasets.MNIST(tmp_path, train=False)[0][0], Image.Image)
    assert not ds.check_integrity()
    with pytest.raises(RuntimeError, match=r"Dataset not found. You can use download=True to download it. Missing from .*FashionMNIST.raw: train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        datasets.FashionMNIST(tmp_path)


@pytest.mark.parametrize("corrupt, match", [
    (lambda b: b[:-5], r"IDX header announces shape \(12, 28, 28\)"),
    (lambda b: b"\x01" + b[1:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "unsupported IDX header"),
])
def test_mnist_malformed_idx(tmp_path, corrupt, match):
    raw = synthetic.make_mnist(tmp_path, train_size=12, test_size=5)
    path = os.path.join(raw, "train-images-idx3-ubyte")
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(corrupt(data))
    with pytest.raises(RuntimeError, match=match):
        datasets.MNIST(tmp_path)


def test_mnist_label_checks(tmp_path):
    raw = synthetic.make_mnist(tmp_path, train_size=12, test_size=5)
    synthetic.write_idx(os.path.join(raw, "t10k-labels-idx1-ubyte"), np.array([1, 2, 3], np.uint8))
    with pytest.raises(RuntimeError, match="holds 5 images but .* holds 3 labels"):
        datasets.MNIST(tmp_path, train=False)
    synthetic.write_idx(os.path.join(raw, "t10k-labels-idx1-ubyte"), np.array([1, 2, 3, 4, 11], np.uint8))
    with pytest.raises(RuntimeError, match=r"labels should lie in \[0, 10\), found 11"):
        datasets.MNIST(tmp_path, train=False)


def test_mnist_download_tries_mirrors(tmp_path, monkeypatch, server):
    rng = np.random.default_rng(0)
    resources, arrays = [], {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = rng.integers(0, 10, n).astype(np.uint8)
    for name, array in arrays.items():
        body = gzip.compress(synthetic.idx_bytes(array), mtime=0)
        server.routes[f"/good/{name}.gz"] = (body, "ok")
        resources.append((f"{name}.gz", md5(body)))
    monkeypatch.setattr(datasets.MNIST, "mirrors", [server.base + "/missing/", server.base + "/good/"])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    ds = datasets.MNIST(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.targets.numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert ds.check_integrity()
    assert sum(p.startswith("/missing/") for p in server.requests) == 4  # each tried there first
    n_requests = len(server.requests)
    datasets.MNIST(tmp_path, train=True, download=True)  # already there: no new request
    assert len(server.requests) == n_requests

    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [server.base + "/missing/"])
    with pytest.raises(RuntimeError, match=r"Error downloading train-images-idx3-ubyte.gz .*tried:\n.*HTTP Error 404"):
        datasets.FashionMNIST(tmp_path, download=True)


# -- extraction safety ---------------------------------------------------------------------------

def test_tar_with_path_traversal_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="Could not extract"):
        dutils.extract_archive(str(archive), str(out))
    assert not (tmp_path / "escaped.txt").exists() and leftovers(out) == []


def test_check_integrity_and_gz_extraction(tmp_path):
    path = tmp_path / "file.bin.gz"
    path.write_bytes(gzip.compress(b"hello", mtime=0))
    assert dutils.check_integrity(str(path)) and not dutils.check_integrity(str(tmp_path / "nope"))
    assert dutils.check_integrity(str(path), md5(path.read_bytes()))
    assert not dutils.check_integrity(str(path), "0" * 32)
    dutils.extract_archive(str(path))
    assert (tmp_path / "file.bin").read_bytes() == b"hello"


# -- ImageFolder / DatasetFolder -----------------------------------------------------------------

def test_image_folder(tmp_path):
    root = synthetic.make_image_folder(tmp_path / "imgs", classes=("dog", "cat"), per_class=3, size=(6, 5))
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "imgs" / "dog" / "sub").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "imgs" / "dog" / "sub" / "extra.JPG")
    ds = datasets.ImageFolder(root, transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert [os.path.relpath(p, root) for p, _ in ds.samples] == [
        "cat/000.png", "cat/001.png", "cat/002.png", "dog/000.png", "dog/001.png", "dog/002.png",
        "dog/sub/extra.JPG"]
    assert ds.targets == [0, 0, 0, 1, 1, 1, 1] and ds.imgs is ds.samples
    img, target = ds[6]
    assert tuple(img.shape) == (3, 4, 4) and target == 1  # grayscale read as RGB


def test_dataset_folder_options_and_errors(tmp_path):
    root = tmp_path / "data"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        (root / cls / "x.npy").write_bytes(b"")
    (root / "c").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes c. Supported extensions are: .npy"):
        datasets.DatasetFolder(root, loader=str, extensions=(".npy",))
    ds = datasets.DatasetFolder(root, loader=os.path.basename, extensions=(".npy",), allow_empty=True)
    assert ds.classes == ["a", "b", "c"] and [ds[i] for i in range(2)] == [("x.npy", 0), ("x.npy", 1)]
    ds = datasets.DatasetFolder(root, loader=str, is_valid_file=lambda p: p.endswith(".npy"), allow_empty=True)
    assert len(ds) == 2
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or not None at the same time"):
        datasets.DatasetFolder(root, loader=str)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        datasets.ImageFolder(root / "a")
