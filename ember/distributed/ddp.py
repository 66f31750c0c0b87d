"""DistributedDataParallel, as torch.nn.parallel.DistributedDataParallel (torch's Python
wrapper in torch/nn/parallel/distributed.py, its C++ Reducer in torch/csrc/distributed/c10d/
reducer.cpp), on ember.distributed's collectives.

Each process holds a replica; the gradients are averaged while backward still runs:

* The parameters are grouped into **buckets** of about ``bucket_cap_mb`` (reverse definition
  order, the order backward produces gradients; one bucket per dtype at least). Each parameter
  has a post-accumulate-grad hook: when its ``.grad`` is final for this backward, the hook
  copies ``grad / world_size`` into the parameter's slot of its bucket's flat buffer; a bucket
  whose slots are all filled starts an asynchronous all-reduce (SUM), in bucket order on every
  rank so the collectives match.
* When the last bucket has started, a callback queued on the autograd engine runs at the end of
  backward: it waits for the all-reduces and copies each bucket back into the ``.grad``s.
* After the first synchronised iteration the buckets are rebuilt in the order the gradients
  actually arrived (rank 0's order, broadcast), with torch's 1 MiB first bucket.

``no_sync()`` turns the hooks off (gradients accumulate locally); the next synchronised
backward reduces the accumulated ``.grad``. ``find_unused_parameters`` searches the graph from
the forward's outputs for parameters it cannot reach and counts them as ready at once (their
``.grad`` - or zeros - go into the bucket; a parameter unused on every rank keeps its ``.grad``
untouched); without it an unused parameter leaves its bucket unreduced and the next forward
raises torch's "Expected to have finished reduction in the prior iteration" error.
"""
from __future__ import annotations

import sys
import time
import warnings
import weakref
from contextlib import contextmanager

import numpy as np

from .. import nn
from ..autograd import Variable
from ..autograd.function import AccumulateGrad
from . import collectives as _c
from . import process_group as _pg

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
DEFAULT_BUCKET_CAP_MB = 25
DEFAULT_FIRST_BUCKET_BYTES = 1 * _MB  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES
BROADCAST_BUCKET_BYTES = 250 * _MB  # coalesced broadcasts of parameters and buffers


# --------------------------------------------------------------------------- bucket assignment

def compute_bucket_assignment_by_size(tensors, bucket_size_limits, expect_sparse_gradient=(),
                                      tensor_indices=()):
    """torch's ``dist._compute_bucket_assignment_by_size``: group ``tensors`` (in the given
    order) into buckets of one dtype each; a bucket closes when its bytes reach the current
    limit, and each closed bucket of a dtype moves that dtype on to the next limit of
    ``bucket_size_limits`` (the last one then stays). Returns (lists of indices, the limit
    each bucket had). Without ``tensor_indices`` the indices are positions in ``tensors`` and
    the buckets are sorted by their smallest index; with them (the order gradients arrived
    in) they keep the order they were closed in, the partly filled ones last."""
    result = []
    open_buckets = {}  # dtype -> [indices, bytes, limit]
    limit_at = {}  # dtype -> position in bucket_size_limits
    for i, t in enumerate(tensors):
        index = tensor_indices[i] if len(tensor_indices) else i
        if len(expect_sparse_gradient) and expect_sparse_gradient[index]:
            result.append(([index], sys.maxsize))  # a sparse gradient gets a bucket of its own
            continue
        key = np.dtype(t._data.dtype) if hasattr(t, "_data") else np.dtype(t.dtype)
        bucket = open_buckets.setdefault(key, [[], 0, 0])
        bucket[0].append(index)
        bucket[1] += _nbytes(t)
        at = limit_at.setdefault(key, 0)
        bucket[2] = bucket_size_limits[at]
        if bucket[1] >= bucket[2]:
            result.append((bucket[0], bucket[2]))
            open_buckets[key] = [[], 0, 0]
            limit_at[key] = min(at + 1, len(bucket_size_limits) - 1)
    result += [(b[0], b[2]) for b in open_buckets.values() if b[0]]
    if not len(tensor_indices):
        result.sort(key=lambda r: min(r[0]))
    return [r[0] for r in result], [r[1] for r in result]


def _nbytes(t) -> int:
    return int(t._data.nbytes) if hasattr(t, "_data") else int(t.numel() * t.element_size())


class _Bucket:
    """One flat buffer per bucket; each parameter's gradient has a view of its own in it."""

    __slots__ = ("indices", "buffer", "tensor", "views", "pending", "work", "size_limit")

    def __init__(self, params, indices, size_limit):
        from .._tensor import Tensor
        self.indices = list(indices)
        self.size_limit = size_limit
        dtype = params[self.indices[0]]._data.dtype
        sizes = [params[i]._data.size for i in self.indices]
        self.buffer = np.zeros(sum(sizes), dtype)
        self.tensor = Tensor._wrap(self.buffer)  # what the all-reduce runs on, in place
        offsets = np.cumsum([0] + sizes)
        self.views = [self.buffer[o:o + n].reshape(params[i]._data.shape)
                      for i, o, n in zip(self.indices, offsets, sizes)]
        self.pending = len(self.indices)
        self.work = None


# --------------------------------------------------------------------------- the reducer

class Reducer:
    """The bucketed all-reduce behind DistributedDataParallel (torch's c10d::Reducer).

    ``params`` are the parameters that require grad, deduplicated, in the module's order;
    ``bucket_indices`` lists the buckets in the order they are reduced.
    """

    def __init__(self, params, bucket_indices, per_bucket_size_limits, process_group,
                 bucket_bytes_cap, find_unused_parameters, gradient_as_bucket_view,
                 first_bucket_bytes_cap, bucket_size_limits_for_rebuilding=()):
        self.params = list(params)
        self.process_group = process_group
        self.world_size = _pg.get_world_size(process_group)
        self.rank = _pg.get_rank(process_group)
        self.bucket_bytes_cap = bucket_bytes_cap
        self.first_bucket_bytes_cap = first_bucket_bytes_cap
        self.bucket_size_limits_for_rebuilding = list(bucket_size_limits_for_rebuilding)
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = False
        self.num_iterations = 0
        self.num_bwd_calls = 0
        self.first_hook_called = False
        self.expect_autograd_hooks = False
        self.require_finalize = False
        self.has_marked_unused_parameters = False
        self.unused_parameters = []
        self.ready = set()  # parameters marked ready in this iteration
        self.local_used = np.zeros(len(self.params), np.int32)
        self.local_used_work = None
        self.local_used_reduced = False
        self.has_rebuilt_bucket = False
        self.rebuilt_param_indices = []
        self.hook_counts = np.zeros(len(self.params), np.int64)  # static graph, first iteration
        self.expected_hook_counts = None  # static graph, after the first iteration
        self.hook_counts_left = None
        # the last backward's moments, time.perf_counter() seconds (_get_ddp_logging_data)
        self.times = {}
        self._initialize_buckets(bucket_indices, per_bucket_size_limits)
        self._hooks = self._register_hooks()

    # -- setup ----------------------------------------------------------------------------------
    def _initialize_buckets(self, bucket_indices, size_limits):
        self.buckets = [_Bucket(self.params, idx, lim)
                        for idx, lim in zip(bucket_indices, size_limits)]
        # parameter index -> (bucket, slot)
        self.locators = {}
        for b, bucket in enumerate(self.buckets):
            for slot, i in enumerate(bucket.indices):
                self.locators[i] = (b, slot)
        if self.gradient_as_bucket_view:
            for bucket in self.buckets:
                for i, view in zip(bucket.indices, bucket.views):
                    p = self.params[i]
                    if p.grad is not None:
                        view[...] = p.grad._data
                        p.grad = _wrap(view)
        self.next_bucket = 0

    def _register_hooks(self):
        me = weakref.ref(self)  # the parameters' hooks must not keep the reducer alive

        def hook_for(index):
            def hook(param):
                reducer = me()
                if reducer is not None:
                    reducer.autograd_hook(index)
            return hook

        handles = [p.register_post_accumulate_grad_hook(hook_for(i))
                   for i, p in enumerate(self.params)]
        weakref.finalize(self, _remove_all, handles)
        return handles

    # -- forward side ---------------------------------------------------------------------------
    def prepare_for_forward(self):
        self.num_iterations += 1

    def prepare_for_backward(self, outputs):
        self.times = {"backward_start": time.perf_counter()}
        self.expect_autograd_hooks = True
        self.ready.clear()
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        self.has_marked_unused_parameters = False
        if self._dynamic_graph_find_unused():
            self.unused_parameters = self._search_unused_parameters(outputs)

    def _dynamic_graph_find_unused(self):
        return not self.static_graph and self.find_unused_parameters

    def _static_graph_first_iteration(self):
        return self.static_graph and self.num_bwd_calls == 1

    def _static_graph_after_first_iteration(self):
        return self.static_graph and self.num_bwd_calls > 1

    def _search_unused_parameters(self, outputs):
        """The parameters whose AccumulateGrad no output's graph reaches."""
        seen = set()
        stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
        stack += [t._accumulator for t in outputs if t.grad_fn is None and t._accumulator]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if type(node) is not AccumulateGrad:
                stack.extend(e[0] for e in node.next_edges if e is not None)
        unused = [i for i, p in enumerate(self.params)
                  if p._accumulator is None or p._accumulator not in seen]
        if not unused:
            _warn_once("find_unused_parameters=True was specified in DDP constructor, but did not "
                       "find any unused parameters in the forward pass. This flag results in an "
                       "extra traversal of the autograd graph every iteration,  which can "
                       "adversely affect performance. If your model indeed never has any unused "
                       "parameters in the forward pass, consider turning this flag off. Note that "
                       "this warning may be a false positive if your model has flow control "
                       "causing later iterations to have unused parameters.")
        return unused

    # -- backward side --------------------------------------------------------------------------
    def autograd_hook(self, index):
        """A parameter's .grad is final for this backward (its post-accumulate-grad hook)."""
        if not self.first_hook_called:  # (reset by the next synchronised backward's end)
            self.first_hook_called = True
            self.num_bwd_calls += 1
        if not self.expect_autograd_hooks:
            return  # no_sync, or a backward outside DDP's forward: gradients stay local
        if self._dynamic_graph_find_unused() or self._static_graph_first_iteration():
            if self.params[index].grad is not None:
                self.local_used[index] = 1
        if self._static_graph_first_iteration():
            self.hook_counts[index] += 1  # reduced all at once at the end (delay_all_reduce)
            return
        if not self.has_marked_unused_parameters:
            self.has_marked_unused_parameters = True
            for unused in self.unused_parameters:
                self._mark_variable_ready(unused)
            if self._dynamic_graph_find_unused():
                # A parameter the graph reaches only through an output the loss ignores gets
                # no gradient, so no hook: torch routes the outputs through _DDPSink, whose
                # backward hands such parameters an undefined gradient. Here the end of
                # backward counts them as ready the same way.
                Variable._execution_engine.queue_callback(self._mark_unreached_ready)
        if self._static_graph_after_first_iteration():
            self.hook_counts_left[index] -= 1
            if self.hook_counts_left[index] == 0:
                self._mark_variable_ready(index)
            return
        if self._should_rebuild_buckets():
            self.rebuilt_param_indices.append(index)
        self._mark_variable_ready(index)
        self._progress()

    def _mark_unreached_ready(self):
        if self.expect_autograd_hooks and self.next_bucket < len(self.buckets):
            for i in range(len(self.params)):
                if i not in self.ready:
                    self._mark_variable_ready(i)

    def _mark_variable_ready(self, index):
        if index in self.ready:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of the "
                "following reasons: 1) Use of a module parameter outside the `forward` function. "
                "Please make sure model parameters are not shared across multiple concurrent "
                "forward-backward passes. or try to use _set_static_graph() as a workaround if "
                "this module graph does not change during training loop.2) Reused parameters in "
                "multiple reentrant backward passes. For example, if you use multiple "
                "`checkpoint` functions to wrap the same part of your model, it would result in "
                "the same set of parameters been used by different reentrant backward passes "
                "multiple times, and hence marking a variable ready multiple times. DDP does not "
                f"support such use cases in default. Parameter at index {index} has been marked "
                "as ready twice. This means that multiple autograd engine hooks have fired for "
                "this particular parameter during this iteration.")
        self.ready.add(index)
        self.require_finalize = True
        b, slot = self.locators[index]
        bucket = self.buckets[b]
        self._copy_grad_to_bucket(index, bucket.views[slot])
        bucket.pending -= 1
        if bucket.pending == 0:
            self._mark_bucket_ready(b)
        if self.next_bucket == len(self.buckets):
            if self._dynamic_graph_find_unused():
                self._all_reduce_local_used()
            Variable._execution_engine.queue_callback(self._finalize_backward)

    def _copy_grad_to_bucket(self, index, view):
        """grad / world_size into the bucket (torch divides while copying: one pass)."""
        param = self.params[index]
        grad = param.grad
        if grad is None:
            view[...] = 0
            return
        scale = view.dtype.type(1.0 / self.world_size)
        if grad._data is view:  # gradient_as_bucket_view, and the grad is still the view
            view *= scale
            return
        np.multiply(grad._data, scale, out=view)
        if self.gradient_as_bucket_view:
            param.grad = _wrap(view)

    def _mark_bucket_ready(self, b):
        # Buckets are reduced in order on every rank, so the collectives match across ranks:
        # a bucket that fills early waits for the ones before it.
        if b > self.next_bucket:
            return
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            self._all_reduce_bucket(self.buckets[self.next_bucket])
            self.next_bucket += 1

    def _all_reduce_bucket(self, bucket):
        self.times.setdefault("first_all_reduce", time.perf_counter())
        bucket.work = _c.all_reduce(bucket.tensor, group=self.process_group, async_op=True)

    def _progress(self):
        # MPI moves a nonblocking transfer on only inside a call into it: poll the buckets in
        # flight whenever backward hands control back, so they progress while it computes.
        for bucket in self.buckets[:self.next_bucket]:
            if bucket.work is not None:
                bucket.work.is_completed()

    def _all_reduce_local_used(self):
        from .._tensor import Tensor
        self.local_used_tensor = Tensor._wrap(self.local_used.copy())
        self.local_used_work = _c.all_reduce(self.local_used_tensor, group=self.process_group,
                                             async_op=True)
        self.local_used_reduced = False

    def _global_used(self):
        """Whether each parameter was used on some rank (waits for that all-reduce once)."""
        if not self.local_used_reduced:
            self.local_used_work.wait()
            self.local_used = self.local_used_tensor._data.copy()
            self.local_used_reduced = True
        return self.local_used

    def _finalize_backward(self):
        """End of backward: wait for every bucket and copy the averages into the .grads."""
        self.times["backward_end"] = time.perf_counter()
        self.expect_autograd_hooks = False
        self.first_hook_called = False
        self.require_finalize = False
        track_unused = self.static_graph or self.find_unused_parameters
        for bucket in self.buckets:
            bucket.work.wait()
            for i, view in zip(bucket.indices, bucket.views):
                if track_unused and self.local_used[i] == 0 and self._global_used()[i] == 0:
                    continue  # unused on every rank: its .grad stays as it was (None stays None)
                param = self.params[i]
                if self.gradient_as_bucket_view:
                    if param.grad is None or param.grad._data is not view:
                        param.grad = _wrap(view)
                elif param.grad is None:
                    param.grad = _wrap(view.copy())
                else:
                    param.grad._data[...] = view
        self.times["comm_end"] = time.perf_counter()
        if self._dynamic_graph_find_unused():
            self.local_used[:] = 0
            self.local_used_reduced = False
        # (static graph: the first iteration's map of used parameters stays, as the graph)
        if self.static_graph and self.expected_hook_counts is not None:
            self.hook_counts_left = self.expected_hook_counts.copy()
    def _delay_all_reduce(self):
        """Static graph, first iteration: every bucket reduced at the end of backward; the
        parameters no hook fired for are the graph's unused ones from now on."""
        self._all_reduce_local_used()
        self.unused_parameters = [i for i in range(len(self.params)) if self.hook_counts[i] == 0]
        self.expected_hook_counts = self.hook_counts.copy()
        self.require_finalize = True
        for i in range(len(self.params)):
            self.ready.add(i)
            b, slot = self.locators[i]
            self._copy_grad_to_bucket(i, self.buckets[b].views[slot])
        for bucket in self.buckets:
            self._all_reduce_bucket(bucket)
        self.next_bucket = len(self.buckets)
        self._finalize_backward()

    # -- between iterations ---------------------------------------------------------------------
    def ensure_prior_reduction_finished(self):
        if not self.require_finalize:
            return
        unmarked = " ".join(str(i) for i in range(len(self.params)) if i not in self.ready)
        if self.static_graph:
            msg = ("Expected to have finished reduction in the prior iteration before starting a "
                   "new one. This error indicates that your training graph has changed in this "
                   "iteration, e.g., one parameter is used in first iteration, but then got "
                   "unused in the second iteration. this is not compatible with static_graph set "
                   "to True.")
        else:
            msg = ("Expected to have finished reduction in the prior iteration before starting a "
                   "new one. This error indicates that your module has parameters that were not "
                   "used in producing loss. ")
            if not self.find_unused_parameters:
                msg += ("You can enable unused parameter detection by passing the keyword "
                        "argument `find_unused_parameters=True` to "
                        "`torch.nn.parallel.DistributedDataParallel`, and by \n")
            else:
                msg += ("Since `find_unused_parameters=True` is enabled, this likely  means that "
                        "not all `forward` outputs participate in computing loss. You can fix "
                        "this by ")
            msg += ("making sure all `forward` function outputs participate in calculating "
                    "loss. \nIf you already have done the above, then the distributed data "
                    "parallel module wasn't able to locate the output tensors in the return "
                    "value of your module's `forward` function. Please include the loss function "
                    "and the structure of the return value of `forward` of your module when "
                    "reporting this issue (e.g. list, dict, iterable).")
        msg += (f"\nParameter indices which did not receive grad for rank {self.rank}: "
                f"{unmarked}\n In addition, you can set the environment variable "
                "TORCH_DISTRIBUTED_DEBUG to either INFO or DETAIL to print out information about "
                "which particular parameters did not receive gradient on this rank as part of "
                "this error")
        raise RuntimeError(msg)

    def _should_rebuild_buckets(self):
        return (self.static_graph or not self.find_unused_parameters) and not self.has_rebuilt_bucket

    def rebuild_buckets(self):
        """Once, before the second synchronised forward: buckets in the order the gradients
        arrived on rank 0 (broadcast, so every rank reduces the same buckets)."""
        self.ensure_prior_reduction_finished()
        if not self._should_rebuild_buckets() or not self.rebuilt_param_indices:
            return False
        if len(self.rebuilt_param_indices) != len(self.params):
            # a parameter without a hook this iteration (static graph's unused ones): last
            seen = set(self.rebuilt_param_indices)
            self.rebuilt_param_indices += [i for i in range(len(self.params)) if i not in seen]
        limits = self.bucket_size_limits_for_rebuilding or [self.first_bucket_bytes_cap,
                                                            self.bucket_bytes_cap]
        order = self.rebuilt_param_indices
        indices, size_limits = compute_bucket_assignment_by_size(
            [self.params[i] for i in order], limits, tensor_indices=order)
        indices, size_limits = self._sync_bucket_indices(indices, size_limits)
        self._initialize_buckets(indices, size_limits)  # (moves bucket-view grads along)
        self.rebuilt_param_indices = []
        self.has_rebuilt_bucket = True
        return True

    def _sync_bucket_indices(self, indices, size_limits):
        """Rank 0's bucket assignment on every rank: [number of buckets, then per bucket its
        length and limit, then the indices] in one fixed-size int64 broadcast."""
        from .._tensor import Tensor
        n = len(self.params)
        flat = np.zeros(1 + 3 * n, np.int64)
        flat[0] = len(indices)
        for b, (idx, lim) in enumerate(zip(indices, size_limits)):
            flat[1 + 2 * b] = len(idx)
            flat[2 + 2 * b] = min(lim, np.iinfo(np.int64).max)
        flat[1 + 2 * n:] = [i for idx in indices for i in idx]
        t = Tensor._wrap(flat)
        _c.broadcast(t, src=_pg.get_global_rank(self.process_group, 0)
                     if self.process_group is not None else 0, group=self.process_group)
        flat = t._data
        out_indices, out_limits, at = [], [], 1 + 2 * n
        for b in range(int(flat[0])):
            length = int(flat[1 + 2 * b])
            out_indices.append([int(i) for i in flat[at:at + length]])
            out_limits.append(int(flat[2 + 2 * b]))
            at += length
        return out_indices, out_limits


def _wrap(array):
    from .._tensor import Tensor
    return Tensor._wrap(array)


def _remove_all(handles):
    for h in handles:
        h.remove()


_warned = set()


def _warn_once(msg):
    if msg not in _warned:
        _warned.add(msg)
        warnings.warn(msg, UserWarning, stacklevel=4)


# --------------------------------------------------------------------------- the module

def _find_tensors(obj):
    """The tensors in a forward's output (nested lists, tuples and dicts)."""
    from .._tensor import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    return []


def _broadcast_coalesced(tensors, src, group, bucket_bytes=BROADCAST_BUCKET_BYTES):
    """Copy rank ``src``'s values of ``tensors`` into every rank's, a few flat broadcasts per
    dtype instead of one per tensor (torch's _broadcast_coalesced)."""
    from .._tensor import Tensor
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for group_tensors in by_dtype.values():
        chunk, size = [], 0
        for t in group_tensors + [None]:
            if t is not None and (not chunk or size + t._data.nbytes <= bucket_bytes):
                chunk.append(t)
                size += t._data.nbytes
                continue
            flat = Tensor._wrap(np.concatenate([c._data.reshape(-1) for c in chunk]))
            _c.broadcast(flat, src=src, group=group)
            at = 0
            for c in chunk:
                n = c._data.size
                c._data[...] = flat._data[at:at + n].reshape(c._data.shape)
                at += n
            chunk, size = ([t], t._data.nbytes) if t is not None else ([], 0)


class DistributedDataParallel(nn.Module):
    r"""Data parallelism over processes: wrap the model once per process, after
    ``init_process_group``; each process feeds its own share of every batch (a
    :class:`~ember.utils.data.distributed.DistributedSampler`), and ``loss.backward()`` leaves
    every replica the gradients averaged over all processes, so the replicas stay equal.

    Parameters and buffers are broadcast from rank 0 here (``init_sync``) and buffers again
    before each forward (``broadcast_buffers``). The wrapper's ``state_dict`` keys carry
    torch's ``module.`` prefix; ``.module`` is the model itself. See the module docstring for
    buckets, ``no_sync`` and ``find_unused_parameters``; docs/distributed.md for launching.

    Example::

        >>> dist.init_process_group("gloo")
        >>> model = DistributedDataParallel(Net())
        >>> loss_fn(model(x), y).backward()  # gradients averaged across processes
        >>> optimizer.step()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=None,
                 init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        unsupported = {"delay_all_reduce_named_params": delay_all_reduce_named_params,
                       "param_to_hook_all_reduce": param_to_hook_all_reduce,
                       "mixed_precision": mixed_precision, "device_mesh": device_mesh}
        for name, value in unsupported.items():
            if value is not None:
                raise NotImplementedError(f"ember's DistributedDataParallel does not support "
                                          f"{name} (got {value!r})")
        if skip_all_reduce_unused_params:
            raise NotImplementedError("ember's DistributedDataParallel does not support "
                                      "skip_all_reduce_unused_params=True")
        self.process_group = _pg._default_group() if process_group is None else process_group
        self.parameters_to_ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self._module_parameters = [p for n, p in module.named_parameters()
                                   if n not in self.parameters_to_ignore]
        if not any(p.requires_grad for p in self._module_parameters):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        if device_ids or output_device:
            devices = {p.device for p in self._module_parameters}
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only "
                             "work with single-device/multiple-device GPU modules or CPU modules, "
                             f"but got device_ids {device_ids}, output_device {output_device}, "
                             f"and module parameters {devices}.")
        self.device_ids = None
        self.output_device = None
        self.static_graph = False
        self.dim = dim
        self.module = module
        self.device = next(iter(self._module_parameters)).device
        if broadcast_buffers is not None:
            # torch 2.13 deprecates broadcast_buffers for forward_sync_buffers (same warnings)
            if forward_sync_buffers is not None:
                warnings.warn("Both `broadcast_buffers` and `forward_sync_buffers` were "
                              "specified. `broadcast_buffers` is deprecated and its value is "
                              "ignored when `forward_sync_buffers` is provided.", FutureWarning,
                              stacklevel=2)
            else:
                warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                              "instead. IMPORTANT: unlike `broadcast_buffers=False`, "
                              "`forward_sync_buffers=False` still syncs buffers at init. If you "
                              "rely on buffers NOT being synced at init (e.g. rank-local "
                              "buffers), keep using `broadcast_buffers=False` until "
                              "`init_sync_buffers` is available.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = forward_sync_buffers
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = broadcast_buffers if broadcast_buffers is not None else True
            init_sync_buffers = self.forward_sync_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.mixed_precision = None
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is "
                          "deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        self.broadcast_bucket_size = BROADCAST_BUCKET_BYTES
        # torch's _BucketCapacityConfig: the default 25 MiB comes with a 1 MiB first bucket
        if bucket_cap_mb_list:
            caps = [int(mb * _MB) for mb in bucket_cap_mb_list]
            bucket_cap_mb = max(bucket_cap_mb_list)
        else:
            caps = []
        using_default = bucket_cap_mb is None and not caps
        self.bucket_bytes_cap = int((DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None
                                     else bucket_cap_mb) * _MB)
        self.bucket_bytes_cap_list = caps
        first_bucket_bytes_cap = DEFAULT_FIRST_BUCKET_BYTES if using_default else self.bucket_bytes_cap
        self.bucket_bytes_cap_default = first_bucket_bytes_cap < self.bucket_bytes_cap

        parameters = self._build_params_for_reducer()
        if init_sync:
            self._verify_param_shape_across_processes(parameters)
            _broadcast_coalesced(
                [p for n, p in module.named_parameters() if n not in self.parameters_to_ignore]
                + (self.modules_buffers if init_sync_buffers else []),
                src=self._global_rank_0(), group=self.process_group)
        # The first iteration's buckets: without find_unused_parameters (or with static_graph)
        # one bucket, since the definition order need not be the order gradients come in; the
        # real buckets are built after it, in the observed order (torch does the same).
        if caps:
            limits, limits_for_rebuilding = caps, caps
        elif static_graph or not find_unused_parameters:
            limits, limits_for_rebuilding = [sys.maxsize], []
        elif first_bucket_bytes_cap < self.bucket_bytes_cap:
            limits, limits_for_rebuilding = [first_bucket_bytes_cap, self.bucket_bytes_cap], []
        else:
            limits, limits_for_rebuilding = [self.bucket_bytes_cap], []
        indices, per_bucket_limits = compute_bucket_assignment_by_size(parameters, limits)
        # reversed: the last parameters' gradients are the first ready
        self.reducer = Reducer(parameters, list(reversed(indices)),
                               list(reversed(per_bucket_limits)), self.process_group,
                               self.bucket_bytes_cap, find_unused_parameters,
                               gradient_as_bucket_view, first_bucket_bytes_cap,
                               limits_for_rebuilding)
        self._static_graph_delay_allreduce_enqueued = False
        self._has_rebuilt_buckets = False
        if static_graph:
            self._set_static_graph()

    def _global_rank_0(self):
        return _pg.get_global_rank(self.process_group, 0)

    def _build_params_for_reducer(self):
        """The parameters that require grad, each once, in named_modules order."""
        params, memo = [], set()
        for module_name, module in self.module.named_modules():
            for name, p in module.named_parameters(recurse=False):
                full = f"{module_name}.{name}" if module_name else name
                if p.requires_grad and full not in self.parameters_to_ignore and id(p) not in memo:
                    memo.add(id(p))
                    params.append(p)
        self._assign_modules_buffers()
        return params

    def _assign_modules_buffers(self):
        self.modules_buffers = [b for n, b in self.module.named_buffers()
                                if n not in self.parameters_to_ignore]

    def _verify_param_shape_across_processes(self, parameters):
        """Every rank wraps the same model: the number of parameters, then their shapes."""
        from .._tensor import Tensor
        size = _pg.get_world_size(self.process_group)
        if size == 1:
            return
        mine = np.array([len(parameters)], np.int64)
        counts = [Tensor._wrap(np.zeros(1, np.int64)) for _ in range(size)]
        _c.all_gather(counts, Tensor._wrap(mine), group=self.process_group)
        rank = _pg.get_rank(self.process_group)
        for r, c in enumerate(counts):
            if int(c._data[0]) != len(parameters):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} "
                                   f"has {len(parameters)} params, while rank {r} has "
                                   f"inconsistent {int(c._data[0])} params.")
        shapes = np.array([d for p in parameters for d in (p.dim(),) + tuple(p.shape)], np.int64)
        theirs = [Tensor._wrap(np.zeros_like(shapes)) for _ in range(size)]
        _c.all_gather(theirs, Tensor._wrap(shapes), group=self.process_group)
        for r, t in enumerate(theirs):
            if not np.array_equal(t._data, shapes):
                at, i = 0, 0
                while i < len(parameters):
                    n = 1 + parameters[i].dim()
                    if not np.array_equal(t._data[at:at + n], shapes[at:at + n]):
                        break
                    at, i = at + n, i + 1
                other = list(t._data[at + 1:at + 1 + int(t._data[at])])
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} has "
                                   f"parameter {i} of shape {list(parameters[i].shape)}, while "
                                   f"rank {r} has shape {[int(d) for d in other]}.")

    # -- forward --------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        from .. import is_grad_enabled
        grad_enabled = is_grad_enabled()
        if grad_enabled and self.require_backward_grad_sync:
            self.reducer.prepare_for_forward()
        if grad_enabled and self.reducer.rebuild_buckets():
            self._has_rebuilt_buckets = True
        if self.will_sync_module_buffers():
            self._sync_buffers()
        output = self.module(*inputs, **kwargs)
        if grad_enabled and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            if self.find_unused_parameters and not self.static_graph:
                self.reducer.prepare_for_backward(_find_tensors(output))
            else:
                self.reducer.prepare_for_backward([])
            if self.static_graph and not self._static_graph_delay_allreduce_enqueued:
                output = self._delay_all_reduce_after_first_backward(output)
        else:
            self.require_forward_param_sync = False
        return output

    def _delay_all_reduce_after_first_backward(self, output):
        """Static graph, first iteration: queue the reducer's reduce-everything callback from
        inside backward (torch's _DDPSink), on whichever output tensor backward reaches."""
        outputs = [t for t in _find_tensors(output) if t.requires_grad]
        me = weakref.ref(self)

        def enqueue(grad):
            ddp = me()
            if ddp is not None and not ddp._static_graph_delay_allreduce_enqueued:
                ddp._static_graph_delay_allreduce_enqueued = True
                Variable._execution_engine.queue_callback(ddp.reducer._delay_all_reduce)
            return grad

        for t in outputs:
            t.register_hook(enqueue)
        return output

    def will_sync_module_buffers(self):
        return (self.require_forward_param_sync and self.forward_sync_buffers
                and len(self.modules_buffers) > 0)

    @property
    def broadcast_buffers(self) -> bool:
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = value

    def _sync_buffers(self):
        """Rank 0's buffers (running statistics ...) on every rank, before the forward."""
        self._assign_modules_buffers()  # a buffer may have been reassigned
        _broadcast_coalesced(self.modules_buffers, src=self._global_rank_0(),
                             group=self.process_group)

    @contextmanager
    def no_sync(self):
        """Gradients accumulate locally inside; the first synchronised backward after it
        reduces the accumulated ``.grad``. The forward must run inside the context too."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def train(self, mode=True):
        super().train(mode)
        return self

    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        """torch's uneven-inputs context manager: not in ember; give every rank the same number
        of batches (DistributedSampler does, by padding or drop_last)."""
        raise NotImplementedError("ember's DistributedDataParallel does not support join() "
                                  "(uneven inputs across ranks): give every rank the same number "
                                  "of batches, as DistributedSampler does")

    def register_comm_hook(self, state, hook):
        raise NotImplementedError("ember's DistributedDataParallel does not support communication "
                                  "hooks: gradients are averaged by all-reduce")

    def _set_static_graph(self):
        if self.static_graph:
            warnings.warn("You've set static_graph to be True, no need to set it again.",
                          stacklevel=2)
            return
        self.static_graph = True
        self._static_graph_delay_allreduce_enqueued = False
        self.reducer.static_graph = True

    def _get_ddp_logging_data(self):
        """Timing of the last synchronised backward, in seconds: from its start to the end of
        backward, the all-reduces' start to the gradients being written back, and how much of
        that communication window overlapped backward (what torch's logger reports in ns)."""
        t = self.reducer.times
        data = {"world_size": self.reducer.world_size, "rank": self.reducer.rank,
                "bucket_sizes": [b.buffer.nbytes for b in self.reducer.buckets],
                "num_buckets": len(self.reducer.buckets),
                "has_rebuilt_buckets": int(self.reducer.has_rebuilt_bucket),
                "find_unused_parameters": self.find_unused_parameters,
                "static_graph": self.static_graph,
                "gradient_as_bucket_view": self.gradient_as_bucket_view}
        if {"backward_start", "backward_end", "first_all_reduce", "comm_end"} <= t.keys():
            data["backward_compute_time"] = t["backward_end"] - t["backward_start"]
            data["backward_comm_time"] = t["comm_end"] - t["first_all_reduce"]
            data["backward_compute_comm_overlap_time"] = t["backward_end"] - t["first_all_reduce"]
            data["backward_comm_wait_time"] = t["comm_end"] - t["backward_end"]
        return data
