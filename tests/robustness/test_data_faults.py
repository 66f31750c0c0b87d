"""Faults in data loading and downloads (issue 14): hostile CIFAR pickles, stuck or killed
DataLoader workers, shared-memory batches that must not leak, and servers that drip, overflow
or stop short."""
from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from ember.vision.datasets.cifar import RestrictedUnpickler, load_pickle

# -- CIFAR pickles: no allocation sized by numbers in the file --------------------------------

HUGE = 985 * 2 ** 20  # the figure: 985 MiB from a file of about 100 bytes
PROTO2 = b"\x80\x02"


def _global(module: bytes, name: bytes) -> bytes:
    return b"c" + module + b"\n" + name + b"\n"


def _str(text: bytes) -> bytes:
    return b"X" + struct.pack("<I", len(text)) + text  # BINUNICODE


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)  # BININT


def _dtype(code: bytes) -> bytes:
    return _global(b"numpy", b"dtype") + _str(code) + b"\x89\x88\x87R"  # dtype(code, False, True)


def _reconstructed(shape: int, dtype: bytes, raw: bytes) -> bytes:
    """``_reconstruct(ndarray, (0,), 'b')`` then BUILD with state (1, (shape,), dtype, False, raw)."""
    return (PROTO2 + _global(b"numpy._core.multiarray", b"_reconstruct")
            + _global(b"numpy", b"ndarray") + _int(0) + b"\x85" + _str(b"b") + b"\x87R"
            + b"(" + _int(1) + _int(shape) + b"\x85" + _dtype(dtype) + b"\x89" + raw + b"tb.")


CRAFTED = {
    "ndarray(shape, dtype)": PROTO2 + _global(b"numpy", b"ndarray") + _int(HUGE) + b"\x85"
                             + _str(b"u1") + b"\x86R.",
    "_reconstruct(ndarray, (huge,), 'b')": PROTO2 + _global(b"numpy._core.multiarray", b"_reconstruct")
                                          + _global(b"numpy", b"ndarray") + _int(HUGE) + b"\x85"
                                          + _str(b"b") + b"\x87R.",
    "state with 3 bytes for a huge shape": _reconstructed(HUGE, b"u1", b"C\x03abc"),
    "_frombuffer with a huge shape": PROTO2 + _global(b"numpy._core.numeric", b"_frombuffer")
                                     + b"(C\x03abc" + _dtype(b"u1") + _int(HUGE) + b"\x85"
                                     + _str(b"C") + b"tR.",
    "bytes(huge)": PROTO2 + _global(b"__builtin__", b"bytes") + _int(HUGE) + b"\x85R.",
    "scalar of a huge void dtype": PROTO2 + _global(b"numpy._core.multiarray", b"scalar")
                                   + _dtype(b"V%d" % HUGE) + b"C\x03abc" + b"\x86R.",
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_cifar_pickle_cannot_allocate_from_numbers(tmp_path, name):
    path = tmp_path / "data_batch_1"
    path.write_bytes(CRAFTED[name])
    assert len(CRAFTED[name]) < 200
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=r"data_batch_1: refusing .*a dataset pickle may hold "
                                               r"only arrays rebuilt from the bytes it contains"):
            load_pickle(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{name}: peak {peak / 2 ** 20:.1f} MiB while refusing a tiny file"


def test_cifar_pickle_object_array_from_short_list_is_refused(tmp_path):
    """Before the fix NumPy's setstate crashed the interpreter (SIGSEGV) on this 108-byte
    file: an object array of 129M elements whose data is an empty list. Run in a subprocess."""
    path = tmp_path / "test_batch"
    path.write_bytes(_reconstructed(HUGE // 8, b"O", b"]"))
    code = ("import sys; from ember.vision.datasets.cifar import load_pickle\n"
            "try:\n    load_pickle(sys.argv[1])\nexcept RuntimeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refusing an array with shape (129105920,), dtype dtype('O')" in done.stdout


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_cifar_pickle_genuine_arrays_still_load(protocol):
    rng = np.random.default_rng(1)
    entry = {"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
             "fortran": np.asfortranarray(rng.random((4, 5))),
             "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
             "record": np.zeros(2, dtype=[("x", "<f4"), ("y", "u1", (3,))]),
             "empty": np.zeros((0, 7), np.float32),
             "scalars": [np.int64(7), np.float32(1.5)], "pair": (np.ones(2), np.zeros(1)),
             "labels": [1, 2, 3]}
    raw = pickle.dumps(entry, protocol=protocol)
    loaded = RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    expected = pickle.loads(raw, encoding="latin1")  # what NumPy itself rebuilds
    assert sorted(loaded) == sorted(entry)
    for key in ("data", "fortran", "big_endian", "record", "empty"):
        assert type(loaded[key]) is np.ndarray and loaded[key].dtype == expected[key].dtype
        assert loaded[key].flags.f_contiguous == expected[key].flags.f_contiguous
        np.testing.assert_array_equal(loaded[key], entry[key])
    assert loaded["scalars"] == entry["scalars"] and type(loaded["scalars"][0]) is np.int64
    assert type(loaded["pair"]) is tuple and type(loaded["pair"][0]) is np.ndarray
    assert loaded["labels"] == [1, 2, 3]


# -- DataLoader workers: timeouts, deaths, shared memory ---------------------------------------

import gc  # noqa: E402
import glob  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from ember.utils.data import DataLoader  # noqa: E402

needs_shm = pytest.mark.skipif(not os.access("/dev/shm", os.W_OK), reason="no writable /dev/shm")


class _StuckDataset:
    def __len__(self):
        return 4

    def __getitem__(self, index):
        time.sleep(30)
        return index


class _SelfKillingDataset:
    """Items are 2 MiB arrays (they travel through shared memory); item ``kill_at`` SIGKILLs the
    worker that loads it."""

    def __init__(self, kill_at=None, n=8):
        self.kill_at, self.n = kill_at, n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if index == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.full(512 * 1024, index, dtype=np.float32)


def _shm_dirs():
    return glob.glob(f"/dev/shm/ember-dataloader-{os.getpid()}-*")


def _backed_by_mmap(array) -> bool:
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def test_dataloader_timeout_raises_promptly_and_ends_the_stuck_worker():
    it = iter(DataLoader(_StuckDataset(), num_workers=1, timeout=1))
    workers = list(it._workers)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 1 seconds$"):
        next(it)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5, f"timeout=1 raised after {elapsed:.2f} s"
    assert not any(w.is_alive() for w in workers)


def test_dataloader_killed_worker_is_reported_within_a_second():
    it = iter(DataLoader(_SelfKillingDataset(kill_at=0), num_workers=1))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly "
                                           r"\(exit code\(s\) -9\)"):
        next(it)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, f"a SIGKILLed worker was noticed after {elapsed:.2f} s"


@needs_shm
def test_dataloader_large_batches_come_through_shared_memory():
    before = _shm_dirs()
    batches = list(DataLoader(_SelfKillingDataset(n=6), batch_size=2, num_workers=2))
    assert len(batches) == 3
    for i, batch in enumerate(batches):
        array = batch.numpy()
        assert _backed_by_mmap(array), "a 4 MiB batch should be a view of the shared file"
        np.testing.assert_array_equal(array[:, 0], [2 * i, 2 * i + 1])
        array[0, 0] = -1  # writable, as torch's batches
    assert _shm_dirs() == before  # the folder went with the iterator


@needs_shm
def test_dataloader_abandoned_iterator_leaves_nothing_in_dev_shm():
    before = _shm_dirs()
    it = iter(DataLoader(_SelfKillingDataset(n=8), batch_size=1, num_workers=2, prefetch_factor=4))
    first = next(it)
    time.sleep(0.3)  # let the workers write the batches in flight
    assert len(_shm_dirs()) == len(before) + 1
    del it
    gc.collect()
    assert _shm_dirs() == before
    assert float(first[0, 0]) == 0.0  # a batch already handed out survives its file's removal


@needs_shm
def test_dataloader_dead_worker_leaves_nothing_in_dev_shm():
    before = _shm_dirs()
    loader = DataLoader(_SelfKillingDataset(kill_at=5, n=8), batch_size=1, num_workers=2,
                        prefetch_factor=4)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in loader:
            time.sleep(0.05)
    assert _shm_dirs() == before
