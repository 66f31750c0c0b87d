"""The backward pass: order the graph once, then push gradients from the roots to the leaves.

Each node's output gradients are summed as they arrive (a tensor used twice gets both
contributions); a node runs when every node that feeds it has run (Kahn's algorithm on the
dependency counts). Leaves receive their gradient through their AccumulateGrad node.

Ownership of gradient arrays: a leaf's ``.grad`` is later updated in place, so it must be an
array nobody else sees. The engine knows which arrays it allocated itself (the sums of several
contributions, recorded per node in ``summed``) and which a Function declares it allocated
for one input (``Function.fresh_grads``); a leaf adopts only those. Anything else came from
user code (grad_tensors), a hook, or a Function's backward, which may hand its incoming
gradient or a saved array to several inputs, and is copied.
"""
from __future__ import annotations

import threading
from itertools import filterfalse

import numpy as np

from .. import _state
from .._kernels.elementwise import add, own_copy
from . import function, grad_mode
from .function import AccumulateGrad, _leaf_edge


def _dependencies(roots):
    """Number of graph edges pointing at each node reachable from ``roots``."""
    deps = {}
    stack = list(roots)
    roots = set(stack)
    while stack:
        for edge in stack.pop().next_edges:
            if edge is not None:
                nxt = edge[0]
                if nxt in deps:
                    deps[nxt] += 1
                else:  # first seen: walk on from it (roots are walked already)
                    deps[nxt] = 1
                    if nxt.next_edges and nxt not in roots:
                        stack.append(nxt)
    return deps


class _Tasks(threading.local):
    """This thread's running backward passes, innermost last: each one's final callbacks."""

    def __init__(self):
        self.callbacks = []


_tasks = _Tasks()


def queue_callback(callback):
    """Run ``callback()`` when the backward pass now running in this thread has finished (torch's
    ``Variable._execution_engine.queue_callback``; DDP waits for its all-reduces there)."""
    stack = _tasks.callbacks
    if not stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    stack[-1].append(callback)


class ImperativeEngine:
    """What torch exposes as ``Variable._execution_engine``."""

    queue_callback = staticmethod(queue_callback)


def graph_task(run, *args):
    """One backward pass, ``run(*args)``: callbacks queued while it runs are called after its
    last node, in order, including those queued by a callback (torch's exec_post_processing);
    a pass that raises runs none. (A plain call, not a context manager: it runs once per
    backward, and contextlib's machinery cost more than a one-op backward's engine.)"""
    callbacks = []
    stack = _tasks.callbacks
    stack.append(callbacks)
    try:
        run(*args)
        i = 0
        while i < len(callbacks):  # (not a for loop: a callback may queue another)
            callbacks[i]()
            i += 1
    finally:
        stack.pop()


def run_backward(tensors, grad_tensors, retain_graph=False, capture=None):
    """Backpropagate ``grad_tensors`` (arrays) from ``tensors``.

    ``capture`` maps (node, output index) to a list that receives the gradient instead of
    accumulating into ``.grad`` (autograd.grad); ``None`` accumulates into the leaves' ``.grad``.
    """
    graph_task(_run_graph, tensors, grad_tensors, retain_graph, capture)


def _run_graph(tensors, grad_tensors, retain_graph, capture):
    Tensor = function._Tensor
    pending = {}  # node -> list of output gradients summed so far
    summed = set()  # nodes whose pending gradient is a sum the engine allocated (see top)
    for t, g in zip(tensors, grad_tensors):
        node, idx = (t.grad_fn, t._out_idx) if t.grad_fn is not None else _leaf_edge(t)
        slot = pending.get(node)
        if slot is None:
            slot = pending[node] = [None] * len(node._out_meta)
        if slot[idx] is None:
            slot[idx] = g
        else:
            slot[idx] = add(slot[idx], g)  # (on every core when large)
            summed.add(node)
    grad_tensors = None

    roots = list(pending)
    deps = _dependencies(roots)
    ready = list(filterfalse(deps.__contains__, roots))  # the roots no other root feeds
    modes = grad_mode.modes  # this thread's modes: other threads keep recording meanwhile
    prev_mode = modes.grad_enabled
    modes.grad_enabled = False  # not recorded: create_graph=True runs higher_order's engine
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node, None)
            if grads is None:
                # no gradient reached this node (every consumer returned None for it): nothing
                # to compute, but the nodes it feeds must still count this edge as done
                _skip(node, deps, ready)
                continue
            if type(node) is AccumulateGrad:
                _finish_leaf(node, grads[0], node in summed, capture, Tensor)
                continue
            _distribute(node, grads, pending, deps, ready, summed, capture, Tensor)
            grads = None  # freed before the next node runs (peak memory)
            if not retain_graph:
                node._release()
    finally:
        modes.grad_enabled = prev_mode


def _skip(node, deps, ready):
    for edge in node.next_edges:
        if edge is not None:
            nxt = edge[0]
            d = deps[nxt] - 1
            deps[nxt] = d
            if d == 0:
                ready.append(nxt)


def _distribute(node, grads, pending, deps, ready, summed, capture, Tensor):
    """Run one node's backward and add its input gradients to the nodes that produced them."""
    if node.saved_tensors_ is None:
        node._check_not_released()
    grad_outputs = grads
    if node._materialize_grads:
        for g in grads:
            if g is None:
                grads = _complete(node, grads)
                break
    if node._hooks or node._retained:
        grads = _run_tensor_hooks(node, grads, Tensor)
    if capture is not None:
        for i, g in enumerate(grads):
            sink = capture.get((node, i))
            if sink is not None:
                sink.append(g)
    in_grads = node._backward(*grads)
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    fresh = node._fresh_grads
    if node._post_hooks:
        in_grads = _run_post_hooks(node, in_grads, grad_outputs, Tensor)
        fresh = False  # the hooks saw the gradients (and may keep them) or replaced them
    if _state.anomaly.enabled:
        grad_mode.check_anomaly(node, in_grads)
    edges = node.next_edges
    if len(in_grads) < len(edges):
        raise RuntimeError(f"function {type(node).__name__} returned an incorrect number "
                           f"of gradients (expected {len(edges)}, got {len(in_grads)})")
    for edge, g in zip(edges, in_grads):
        if edge is None:
            continue
        nxt, idx = edge
        if g is not None:
            slot = pending.get(nxt)
            if slot is None:
                slot = pending[nxt] = [None] * len(nxt._out_meta)
                slot[idx] = g
                if fresh:  # the Function allocated g for this input alone: a leaf may adopt it
                    summed.add(nxt)
            elif slot[idx] is None:
                slot[idx] = g
                if fresh:
                    summed.add(nxt)
            else:
                slot[idx] = add(slot[idx], g)
                summed.add(nxt)
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            ready.append(nxt)


def _complete(node, grads):
    """Outputs that received no gradient get zeros, as torch materialises them."""
    if any(g is None for g in grads):
        grads = [np.zeros(shape, dtype) if g is None else g
                 for g, (shape, dtype) in zip(grads, node._out_meta)]
    return grads


def _run_tensor_hooks(node, grads, Tensor):
    grads = list(grads)
    for i, hook in (node._hooks or ()):
        # (None: a node that does not materialise, and no gradient reached this output)
        res = hook(None if grads[i] is None else Tensor._wrap(grads[i]))
        if res is not None:
            grads[i] = res._data if isinstance(res, Tensor) else np.asarray(res)
    for i, tensor in (node._retained or ()):
        if grads[i] is None:
            continue
        g = Tensor._wrap(grads[i].copy())
        tensor.grad = g if tensor.grad is None else Tensor._wrap(tensor.grad._data + g._data)
    return grads


def _run_post_hooks(node, in_grads, grad_outputs, Tensor):
    """torch's Node post-hooks: ``hook(grad_inputs, grad_outputs)`` over the gradients of the
    forward's Tensor arguments (other arguments left out, as torch's grad_fn has no slot for
    them); a returned tuple replaces them."""
    slots = [i for i, a in enumerate(node._args)
             if isinstance(a, (function.TensorSlot, np.ndarray))]
    wrap = lambda g: None if g is None else Tensor._wrap(g)  # noqa: E731
    grad_outputs = tuple(wrap(g) for g in grad_outputs)
    for hook in list(node._post_hooks):
        res = hook(tuple(wrap(in_grads[i]) for i in slots), grad_outputs)
        if res is not None:
            if len(res) != len(slots):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', 'hook')}' has returned an "
                                   f"incorrect number of values (got {len(res)}, but expected "
                                   f"{len(slots)})")
            in_grads = list(in_grads)
            for i, g in zip(slots, res):
                in_grads[i] = None if g is None else (g._data if isinstance(g, Tensor) else np.asarray(g))
            in_grads = tuple(in_grads)
    return in_grads


def _finish_leaf(node, g, owned, capture, Tensor):
    """Add ``g`` to the leaf's ``.grad``; ``owned``: the engine allocated ``g`` and nobody else
    holds it, so the leaf may keep it instead of a copy."""
    if node._hooks:
        for hook in node._hooks:
            owned = False  # the hook saw ``g`` (and may keep it) or returned an array of its own
            res = hook(Tensor._wrap(g))
            if res is not None:
                g = res._data if isinstance(res, Tensor) else np.asarray(res)
    if capture is not None:
        sink = capture.get((node, 0))
        if sink is not None:
            sink.append(g)
        return
    var = node.variable
    data = var._data
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
        owned = True
    if g.shape != data.shape:
        raise RuntimeError(f"gradient of shape {list(g.shape)} does not match the leaf's shape "
                           f"{list(data.shape)}")
    if var.grad is None:
        if not owned or type(g) is not np.ndarray:
            # a copy of its own (on every core when large: a sum's broadcast gradient is
            # filled, not read); an ndarray even where a 0-d sum gave a scalar
            g = own_copy(g)
        var.grad = Tensor._wrap(g)
    else:
        var.grad._data += g
    if node._post_acc_hooks:
        node._run_post_acc_hooks()
