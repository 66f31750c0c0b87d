"""Batches across processes through shared memory: the NumPy counterpart of torch moving tensor
storages to shared memory before a worker sends them.

A worker pickles its batch with protocol 5; every array buffer of at least
:data:`MIN_SHARED_BYTES` goes out of band, into one file per batch in a folder on ``/dev/shm``
that the *main process* created and owns, and only the small pickle, the file's name and the
buffers' offsets cross the queue. The main process maps the file and unlinks it at once (the
mapping lives until the last array on it is freed), and removes the whole folder when its
iterator shuts down or is collected - so a worker that dies, or a batch that is never read,
leaves nothing behind in ``/dev/shm``. Without a writable ``/dev/shm`` everything goes through
the pipe as before.
"""
from __future__ import annotations

import mmap
import os
import pickle
import shutil
import tempfile

# smaller buffers travel inside the pickle: a file costs a few system calls
MIN_SHARED_BYTES = 1 << 20
SHM_ROOT = "/dev/shm"
_ALIGN = 64  # each buffer starts on a cache line, as NumPy's own allocations do


def make_batch_dir() -> str | None:
    """A fresh folder for one iterator's batches, or None where there is no usable /dev/shm."""
    if not (os.path.isdir(SHM_ROOT) and os.access(SHM_ROOT, os.W_OK)):
        return None
    try:
        return tempfile.mkdtemp(prefix=f"ember-dataloader-{os.getpid()}-", dir=SHM_ROOT)
    except OSError:
        return None


def remove_batch_dir(path: str | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def dumps(data, batch_dir: str | None, name: str):
    """``(pickle, shared)``: the pickled ``data`` and, when its large buffers went to a file in
    ``batch_dir``, ``(path, [(offset, nbytes), ...])`` (else None)."""
    large = []

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        if batch_dir is None or buffer.raw().nbytes < MIN_SHARED_BYTES:
            return True
        large.append(buffer)
        return False

    payload = pickle.dumps(data, protocol=5, buffer_callback=in_band)
    if not large:
        return payload, None
    path = os.path.join(batch_dir, name)
    try:
        spans = _write_buffers(path, [b.raw() for b in large])
    except OSError:  # /dev/shm full, or the folder removed at shutdown: use the pipe
        _silent_unlink(path)
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), None
    return payload, (path, spans)


def _write_buffers(path: str, views) -> list[tuple[int, int]]:
    spans, end = [], 0
    for view in views:
        end = -(-end // _ALIGN) * _ALIGN
        spans.append((end, view.nbytes))
        end += view.nbytes
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, end)
        for (offset, nbytes), view in zip(spans, views):
            written = 0
            while written < nbytes:
                written += os.pwrite(fd, view[written:], offset + written)
    finally:
        os.close(fd)
    return spans


def loads(payload: bytes, shared):
    """The batch :func:`dumps` made; its arrays view the mapped file, which is unlinked here."""
    if shared is None:
        return pickle.loads(payload)
    path, spans = shared
    try:
        fd = os.open(path, os.O_RDWR)
        try:
            mapped = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    finally:
        _silent_unlink(path)  # the mapping keeps the memory; the name goes now
    view = memoryview(mapped)
    return pickle.loads(payload, buffers=[view[offset:offset + n] for offset, n in spans])


def _silent_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
