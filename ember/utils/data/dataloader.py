"""DataLoader, as torch.utils.data.dataloader: batches from a dataset, in the main process or
in worker processes.

How a batch is made: the *sampler* yields indices; the *batch sampler* groups them; a *fetcher*
turns a group into samples (``dataset[i]`` or ``next(iter(dataset))``) and the ``collate_fn``
stacks them. With ``num_workers > 0`` the groups are sent to worker processes round robin
through one index queue per worker, and results come back on one shared queue tagged with their
task number, so they are returned in sampler order whatever order the workers finish in.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import time
import warnings
import weakref

from . import _utils
from ._utils import collate as _collate
from ._utils import shared_memory as _shared
from ._utils import worker as _worker
from ._utils.fetch import create_fetcher
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _draw_seed

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

# seconds between checks that the workers are alive while the main process waits for a batch:
# a worker killed by a signal is reported within about this long (torch: ~0.1 s)
_LIVENESS_POLL_INTERVAL = 0.1
# seconds, for all workers together, that an orderly shutdown waits before terminating them
_SHUTDOWN_GRACE = 1.0

default_collate = _collate.default_collate
default_convert = _collate.default_convert
get_worker_info = _worker.get_worker_info


def _worker_death_message(failed) -> str:
    pids = ", ".join(str(w.pid) for w in failed)
    codes = ", ".join(str(w.exitcode) for w in failed)
    msg = f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})"
    if any(w.exitcode is not None and w.exitcode < 0 for w in failed):
        # a worker killed by a signal: most often memory, or numba's GNU OpenMP layer, which
        # kills a forked child that runs a parallel kernel ("fork() called from a process
        # already using GNU OpenMP")
        msg += (". A negative code is the signal that killed it. If the workers run parallel "
                "ember/numba kernels, start them with multiprocessing_context='forkserver' or "
                "'spawn' instead of fork.")
    return msg


def _worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
    """Check the worker options as torch does; the prefetch factor, 2 by default with workers."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; "
                         "use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _batching_options(batch_size, shuffle, sampler, batch_sampler, drop_last):
    """Check that sampler, batch_sampler, batch_size and drop_last go together, as torch does;
    ``(batch_size, drop_last)``, both off when a batch_sampler makes the batches."""
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")
        return None, False
    if batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually "
                         "exclusive with drop_last")
    return batch_size, drop_last


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches (torch.utils.data.DataLoader).

    Args:
        dataset: a map-style :class:`Dataset` or an :class:`IterableDataset`.
        batch_size: samples per batch (``None`` turns automatic batching off). Default 1.
        shuffle: reshuffle at every epoch (a :class:`RandomSampler` over ``generator``).
        sampler / batch_sampler: custom index order / custom index groups.
        num_workers: worker processes (0: load in the main process).
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for compatibility; ember has no device memory to pin (warns).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers before raising (0: no limit).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: start method name or ``multiprocessing`` context.
        generator: an :class:`ember.Generator` for shuffling and the workers' base seed.
        prefetch_factor: batches in flight per worker (default 2 when ``num_workers > 0``).
        persistent_workers: keep the workers (and their dataset copies) between epochs.
        in_order: return batches in sampler order (``False``: as soon as they arrive).

    Each worker seeds Python's ``random``, ember's and NumPy's global generators from
    ``base_seed + worker_id``, where ``base_seed`` is drawn from ``generator`` (or ember's
    global generator) once per epoch, so ``ember.manual_seed`` reproduces random transforms.
    """

    _initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        prefetch_factor = _worker_options(num_workers, timeout, prefetch_factor,
                                          persistent_workers)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context  # checked against num_workers
        self.in_order = in_order

        self._is_iterable = isinstance(dataset, IterableDataset)
        shuffle = self._shuffle_option(shuffle, sampler, batch_sampler)
        batch_size, drop_last = _batching_options(batch_size, shuffle, sampler, batch_sampler,
                                                  drop_last)
        if sampler is None:
            sampler = self._default_sampler(shuffle, generator)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._IterableDataset_len_called = None
        self._initialized = True
        self.check_worker_number_rationality()

    def _shuffle_option(self, shuffle, sampler, batch_sampler) -> bool | None:
        """``shuffle`` as a bool for a map-style dataset; an IterableDataset takes no shuffle,
        sampler or batch_sampler (its stream decides the order)."""
        if not self._is_iterable:
            return bool(shuffle)
        if shuffle not in {False, None}:
            raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                             f"option, but got shuffle={shuffle}")
        if sampler is not None:
            raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                             f"option, but got sampler={sampler}")
        if batch_sampler is not None:
            raise ValueError("DataLoader with IterableDataset: expected unspecified "
                             f"batch_sampler option, but got batch_sampler={batch_sampler}")
        return shuffle

    def _default_sampler(self, shuffle: bool, generator) -> Sampler:
        """The sampler when none is given: None forever for an IterableDataset, else a random
        or a sequential order over the dataset."""
        if self._is_iterable:
            return _InfiniteConstantSampler()
        if shuffle:
            return RandomSampler(self.dataset, generator=generator)
        return SequentialSampler(self.dataset)

    def check_worker_number_rationality(self) -> None:
        """Warn when more workers are asked for than CPUs are available (as torch)."""
        if not self.num_workers:
            return
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if cpus is not None and self.num_workers <= cpus:
            return
        suggestion = ("DataLoader is not able to compute a suggested max number of worker in current system."
                      if cpus is None else
                      f"Our suggested max number of worker in current system is {cpus}, which is "
                      "smaller than what this DataLoader is going to create.")
        warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. "
                      f"{suggestion} Please be aware that excessive worker creation might get "
                      "DataLoader running slow or even freeze, lower the worker number to avoid "
                      "potential slowness/freeze if necessary.", stacklevel=3)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(context, str):
                valid = multiprocessing.get_all_start_methods()
                if context not in valid:
                    raise ValueError("multiprocessing_context option should specify a valid start "
                                     f"method in {valid!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object "
                                "or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self._multiprocessing_context = context

    def __setattr__(self, attr, val) -> None:
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                          "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        # persistent workers: one iterator for the loader's life, reset at each epoch
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:  # first epoch, or after an error
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._is_iterable:
            # an estimate from len(dataset), as torch; the stream decides the true length
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # drawn at every epoch, as torch: iterating a loader advances the generator
        self._base_seed = _draw_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)  # may raise StopIteration

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if (self._is_iterable and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker.")
            warnings.warn(msg, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{self.__class__.__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader) -> None:
        super().__init__(loader)
        if self._timeout != 0:  # as torch: the timeout is for waiting on workers
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._dataset_fetcher = create_fetcher(self._is_iterable, self._dataset,
                                               self._auto_collation, self._collate_fn,
                                               self._drop_last)

    def _next_data(self):
        index = self._next_index()  # may raise StopIteration
        return self._dataset_fetcher.fetch(index)  # may raise StopIteration


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Batches from worker processes, in order.

    Bookkeeping (as torch): ``_send_idx`` numbers the next task sent, ``_rcvd_idx`` the next
    one to return; ``_task_info[i]`` is ``(worker_id,)`` while task ``i`` is outstanding and
    ``(worker_id, data)`` once it arrived early. At most ``prefetch_factor * num_workers``
    tasks are in flight. While waiting, worker liveness is checked every
    ``_LIVENESS_POLL_INTERVAL`` seconds so a dead worker raises at once instead of hanging, and
    ``timeout`` raises when it expires, whatever the workers are doing. Large batch buffers
    come through a /dev/shm folder this iterator owns and removes (see ``_utils.shared_memory``).
    """

    def __init__(self, loader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:
            raise ValueError("prefetch_factor must be greater than 0 for multi-process loading")
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._worker_init_fn = loader.worker_init_fn
        self._worker_result_queue = context.Queue()
        self._shutdown = False
        self._workers_done_event = context.Event()
        self._index_queues = []
        self._workers = []
        self._workers_status = [True] * self._num_workers
        self._batch_dir = _shared.make_batch_dir()
        # removes the folder even if this iterator is never shut down (collected, or at exit)
        self._batch_dir_finalizer = weakref.finalize(self, _shared.remove_batch_dir, self._batch_dir)
        for i in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # never block exit on undelivered indices
            w = context.Process(
                target=_worker._worker_loop,
                args=(self._is_iterable, self._dataset, index_queue, self._worker_result_queue,
                      self._workers_done_event, self._auto_collation, self._collate_fn,
                      self._drop_last, self._base_seed, self._worker_init_fn, i,
                      self._num_workers, self._batch_dir),
                daemon=True)  # workers die with the main process
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._data_queue = self._worker_result_queue
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # persistent workers: restart every worker's fetcher, then wait for each to confirm
            for idx in range(self._num_workers):
                self._index_queues[idx].put(_worker._ResumeIteration())
            pending = self._num_workers
            while pending > 0:
                return_idx, _ = self._get_data()
                if isinstance(return_idx, _worker._ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_get_data(self, timeout: float | None = None):
        timeout = _LIVENESS_POLL_INTERVAL if timeout is None else timeout
        try:
            return True, self._data_queue.get(timeout=timeout)
        except Exception as e:
            failed = [w for i, w in enumerate(self._workers)
                      if self._workers_status[i] and not w.is_alive()]
            if failed:
                for i, w in enumerate(self._workers):
                    if w in failed:
                        self._mark_worker_as_unavailable(i)
                self._shutdown_workers(grace=0)
                raise RuntimeError(_worker_death_message(failed)) from e
            if isinstance(e, queue.Empty):
                return False, None
            raise

    def _get_data(self):
        """The next ``(task_idx, data)`` from any worker, deserialized. Waits in short polls,
        checking the workers' liveness between them, until ``timeout`` (if any) expires."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _LIVENESS_POLL_INTERVAL
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    # a stuck worker will not stop by itself: terminate, do not wait for it
                    self._shutdown_workers(grace=0)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            success, item = self._try_get_data(wait)
            if success:
                break
        idx, payload = item
        if isinstance(idx, _worker._ResumeIteration):
            return idx, None
        return idx, _shared.loads(*payload)

    def _next_data(self):
        while True:
            # skip tasks of workers whose stream ended
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info:
                    worker_id = info[0]
                    if len(info) == 2 or self._workers_status[worker_id]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier, out of order
                _, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data)

            idx, data = self._get_data()
            if self._is_iterable and isinstance(data, _worker._IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                if not self._in_order:
                    del self._task_info[idx]
                    return self._process_data(data)
                self._task_info[idx] += (data,)  # keep it until its turn
            else:
                del self._task_info[idx]
                self._rcvd_idx += 1
                return self._process_data(data)

    def _try_put_index(self) -> None:
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next active worker, round robin
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                break
        else:
            return  # no active worker left
        self._index_queues[worker_queue_idx].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._send_idx += 1

    def _process_data(self, data):
        """Send the next task in the returned one's place, then return its batch (or raise
        what the worker raised)."""
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            self._shutdown_workers()
            data.reraise()
        return data

    def _mark_worker_as_unavailable(self, worker_id: int) -> None:
        # None tells the worker to exit once it has drained its queue
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self, grace: float = _SHUTDOWN_GRACE) -> None:
        """Ask the workers to exit, give them ``grace`` seconds in all, terminate the rest, and
        remove the shared-memory folder (with any batch never read)."""
        if _utils.python_exit_status is True or _utils.python_exit_status is None:
            return  # interpreter shutdown: daemon workers are killed with us, the finalizer runs
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id)
            deadline = time.monotonic() + grace
            for w in self._workers:
                w.join(timeout=max(deadline - time.monotonic(), 0))
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
            for w in self._workers:
                w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            self._batch_dir_finalizer()  # after the workers: none can write a file any more

    def __del__(self) -> None:
        if getattr(self, "_workers", None) is not None:
            self._shutdown_workers()
