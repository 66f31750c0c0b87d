"""The DataLoader's worker processes (torch.utils.data._utils.worker).

Each worker owns a copy of the dataset, reads ``(task_idx, batch_indices)`` from its own index
queue, and puts ``(task_idx, (pickle, shared))`` on the shared result queue, where the pickle
holds the collated batch (its large buffers in shared memory, see :mod:`.shared_memory`) or an
:class:`ExceptionWrapper` carrying the worker's traceback to the main process.
``None`` on the index queue means "exit"; a :class:`_ResumeIteration` restarts the fetcher for a
new epoch (persistent workers).
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

# seconds between liveness checks while waiting on a queue (torch's MP_STATUS_CHECK_INTERVAL)
MP_STATUS_CHECK_INTERVAL = 5.0

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper"]


class KeyErrorMessage(str):
    """str subclass whose repr is the string itself: KeyError reprs its argument, which would
    mangle a multi-line traceback (https://bugs.python.org/issue2651)."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception and its formatted traceback, picklable across processes (torch._utils)."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        # keep only the text: a traceback object holds frames and cannot be pickled
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the wrapped exception type here, with the original traceback in its message:
        ``Caught ValueError in DataLoader worker process 0.\\nOriginal Traceback ...``."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # the exception class cannot be built from one message: fall back to RuntimeError
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its ``id``, ``num_workers``, ``seed`` and its copy of the
    ``dataset``. ``None`` in the main process. Use it in an IterableDataset's ``__iter__`` or in a
    ``worker_init_fn`` to give each worker its own share of the data."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's iterable dataset is exhausted."""
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Restart the fetcher: a new epoch with persistent workers."""
    seed: int | None = None


class ManagerWatchdog:
    """Notices when the main process died (the worker was re-parented)."""

    def __init__(self) -> None:
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self) -> bool:
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def _generate_state(base_seed: int, worker_id: int) -> list[int]:
    """A NumPy seed for worker ``worker_id``: torch's port of NumPy's SeedSequence mixing
    (torch/utils/data/_utils/worker.py), so that workers' legacy ``np.random`` streams differ
    even though NumPy's global seed would otherwise be inherited by fork."""
    INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
    INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
    MIX_MULT_L, MIX_MULT_R = 0xCA01F9DD, 0x4973F715
    XSHIFT, MASK32 = 16, 0xFFFFFFFF

    entropy = [worker_id, base_seed & MASK32, base_seed >> 32, 0]
    pool = [0] * 4
    hash_const_A = INIT_A

    def hash(value):
        nonlocal hash_const_A
        value = (value ^ hash_const_A) & MASK32
        hash_const_A = (hash_const_A * MULT_A) & MASK32
        value = (value * hash_const_A) & MASK32
        return (value ^ (value >> XSHIFT)) & MASK32

    def mix(x, y):
        result = ((MIX_MULT_L * x) & MASK32) - ((MIX_MULT_R * y) & MASK32)
        result &= MASK32
        return (result ^ (result >> XSHIFT)) & MASK32

    for i in range(4):
        pool[i] = hash(entropy[i])
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash(pool[i_src]))

    hash_const_B = INIT_B
    state = []
    for value in pool:
        value = (value ^ hash_const_B) & MASK32
        hash_const_B = (hash_const_B * MULT_B) & MASK32
        value = (value * hash_const_B) & MASK32
        state.append((value ^ (value >> XSHIFT)) & MASK32)
    return state


def _seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed Python's, ember's and NumPy's global generators in a worker, as torch does."""
    import numpy as np

    import ember

    seed = base_seed + worker_id
    random.seed(seed)
    ember.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    return seed


def _serialize(data, worker_id: int, batch_dir: str | None = None, name: str = ""):
    """``(pickle, shared)`` for the main process (see :mod:`.shared_memory`). Pickled here
    rather than in the queue's feeder thread: there a pickling error would only be printed and
    the batch lost, leaving the main process waiting for it."""
    from .shared_memory import dumps

    try:
        return dumps(data, batch_dir, name)
    except Exception:
        wrapped = ExceptionWrapper(where=f"in DataLoader worker process {worker_id} "
                                         "(pickling the batch for the main process)")
        return pickle.dumps(wrapped, protocol=pickle.HIGHEST_PROTOCOL), None


def _start_worker(dataset, base_seed, init_fn, worker_id, num_workers, make_fetcher):
    """Set this worker process up (one thread, seeds, get_worker_info, worker_init_fn, the
    fetcher): ``(fetcher, init_exception)``, the error, if any, to send with the first task."""
    global _worker_info
    # one thread per worker, as torch does: the workers already share the cores, and a
    # forked child must not start numba's OpenMP pool where the user chose that layer
    import ember
    ember.set_num_threads(1)
    seed = _seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    # an error in worker_init_fn or in iter(dataset) is reported with the first task
    try:
        if init_fn is not None:
            init_fn(worker_id)
        return make_fetcher(), None
    except Exception:
        return None, ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")


def _fetch(fetcher, index, is_iterable: bool, worker_id: int):
    """One task's result: the batch, the end of an iterable stream, or the error, wrapped."""
    try:
        return fetcher.fetch(index)
    except Exception as e:
        if isinstance(e, StopIteration) and is_iterable:
            return _IterableDatasetStopIteration(worker_id)
        return ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")


def _worker_loop(is_iterable, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 batch_dir=None) -> None:
    """The body of a worker process; see the module docstring for the protocol. Large batch
    buffers go through files in ``batch_dir``, a /dev/shm folder the main process owns."""
    from .fetch import create_fetcher

    def make_fetcher():
        return create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)

    try:
        fetcher, init_exception = _start_worker(dataset, base_seed, init_fn, worker_id,
                                                num_workers, make_fetcher)
        iteration_end = False
        batches_sent = 0  # names this worker's files in batch_dir
        watchdog = ManagerWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end, fetcher = False, make_fetcher()
                continue
            if r is None:
                break  # the main process asked us to exit
            if done_event.is_set() or iteration_end:
                continue  # draining: the main process is shutting down or the stream ended
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                data = _fetch(fetcher, index, is_iterable, worker_id)
                iteration_end = isinstance(data, _IterableDatasetStopIteration)
            batches_sent += 1
            data_queue.put((idx, _serialize(data, worker_id, batch_dir,
                                            f"{worker_id}-{batches_sent}")))
            del data, idx, index, r  # do not hold the last batch while waiting
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
