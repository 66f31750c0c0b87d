"""Function: one differentiable operation, its forward and backward side by side.

A Function subclass implements two static methods on NumPy arrays::

    forward(ctx, *args) -> array or tuple of arrays
    backward(ctx, *grads) -> one gradient (array or None) per forward argument

``Function.apply(*args)`` unwraps Tensors, runs forward, wraps the outputs and, when grad mode is
on and an input requires grad, records the graph node. The ``ctx`` object *is* that node (its
class is named like torch's, e.g. ``MulBackward0``), so ``y.grad_fn`` prints as in torch.
"""
from __future__ import annotations

from operator import itemgetter

import numpy as np

from .grad_mode import modes as _modes  # this thread's grad mode, read once per op


class Node:
    """A node of the backward graph (``tensor.grad_fn``)."""

    # The graph's structure lives in slots (set by Function.apply when it records, kept after
    # backward frees the node); everything else defaults on the class, so creating a node (once
    # per op) sets nothing, and what forward stores on ctx goes to __dict__, freed by _release.
    __slots__ = ("needs_input_grad", "next_edges", "_out_meta", "__dict__", "__weakref__")
    saved_tensors_ = ()
    _saved_versions = None
    _saved_from = None  # per saved array: ("in", i), ("out", i) or None (see _versions_of)
    _non_diff = None
    _hooks = None
    _retained = None
    _post_hooks = None
    _fresh_grads = False  # see Function.fresh_grads
    _materialize_grads = True  # backward gets zeros for outputs no gradient reached (torch's default)

    # -- for forward ---------------------------------------------------------------------------
    def save_for_backward(self, *arrays):
        self.saved_tensors_ = arrays

    def mark_non_differentiable(self, *arrays):
        self._non_diff = {id(a) for a in arrays}

    @property
    def saved_tensors(self):
        if self.saved_tensors_ is None:
            self._check_not_released()
        if self._saved_versions:
            for box, version, pos in self._saved_versions:
                if box[0] != version:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: saved tensor {pos} of {self.name()} is at "
                        f"version {box[0]}; expected version {version} instead.")
        return self.saved_tensors_

    def _check_not_released(self):
        if self.saved_tensors_ is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or if "
                "you need to access saved tensors after calling backward.")

    # -- introspection, as torch ---------------------------------------------------------------
    @classmethod
    def name(cls):
        return cls.__name__

    @property
    def next_functions(self):
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self.next_edges)

    def register_hook(self, fn):
        """torch's Node post-hook: ``fn(grad_inputs, grad_outputs)`` runs after this node's
        backward (first-order passes); a returned tuple replaces ``grad_inputs``. The tuples hold
        one entry per Tensor argument of the forward (None where no gradient flows)."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _NodeHookHandle(self._post_hooks, fn)

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def _release(self):
        self.__dict__.clear()  # drops saved arrays and whatever forward stored on ctx
        self.saved_tensors_ = None


class _NodeHookHandle:
    """What ``Node.register_hook`` returns: ``remove()`` takes the hook off the node."""

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


class AccumulateGrad(Node):
    """The graph's sink for a leaf tensor: adds the incoming gradient to ``variable.grad``."""

    _out_meta = ((None, None),)  # one input slot, like every node's output list
    next_edges = ()
    # Tensor.register_post_accumulate_grad_hook: ``hook(variable)`` once ``.grad`` holds this
    # backward's sum (what DDP's reducer waits for before copying the gradient into a bucket)
    _post_acc_hooks = None

    def __init__(self, variable):
        self.variable = variable

    def _run_post_acc_hooks(self):
        for hook in list(self._post_acc_hooks or ()):
            hook(self.variable)


class _FunctionMeta(type):
    """Gives each Function subclass its own node class, named like torch's grad_fn classes."""

    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        node_name = attrs.get("name") or f"{name}Backward0"
        cls._node_cls = type(node_name, (Node,), {"_function": cls, "_backward": cls.backward,
                                                  "_fresh_grads": getattr(cls, "fresh_grads",
                                                                          False)})


class Function(metaclass=_FunctionMeta):
    is_view = False  # outputs share memory and the version counter with the first input
    # True when backward returns gradients it allocated itself, each to one input only and
    # kept nowhere: a leaf may then adopt its gradient instead of copying it (a copy of a
    # (10000, 300) embedding table's gradient per step was most of the embedding's time).
    fresh_grads = False
    # Higher-order gradients (create_graph=True, see higher_order.py): a Function gives either
    # ``backward_graph(ctx, *grad_tensors)`` (its backward in Tensor ops, reading the inputs as
    # Tensors with ``higher_order.inputs(ctx)``) or ``affine_in``: the argument positions in
    # which its forward is affine (add, mul, matmul, conv ...), which derives the recorded
    # backward from forward and backward themselves. Neither: double backward raises.
    backward_graph = None
    affine_in = None

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        Tensor = _Tensor
        arrays = []
        requires = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a._requires_grad:
                    requires = True
            else:
                arrays.append(a)
        ctx = cls._node_cls()
        out = cls.forward(ctx, *arrays)
        multi = type(out) is tuple
        if multi:
            results = tuple(map(_wrap_output, out))
        else:
            results = (_wrap_output(out),)
        if cls.is_view:
            src = args[0]
            base = src if src._base is None else src._base
            for t in results:
                t._vbox = src._vbox
                t._base = base
        if requires and _modes.grad_enabled:
            _record(ctx, args, arrays, results)
        return results if multi else results[0]


def _wrap_output(array):
    """A forward output as a Tensor (Tensor._wrap written out: this runs once per op)."""
    if type(array) is not np.ndarray:
        array = np.asarray(array)
    t = _new(_Tensor)
    t._data = array
    t._requires_grad = False
    t._vbox = [0]
    return t


_new = object.__new__


def _record(ctx, args, arrays, results):
    """Make ``ctx`` the grad_fn of ``results`` and link it to the graph of its arguments."""
    non_diff = ctx._non_diff
    out_meta = []
    for i, t in enumerate(results):
        o = t._data
        out_meta.append((o.shape, o.dtype))
        # integer and bool outputs never require grad (torch: only floating point can),
        # so x.int() or x.round().long() cut the graph instead of passing gradients on
        if o.dtype.kind in "fc" and (non_diff is None or id(o) not in non_diff):
            t._requires_grad = True
            t.grad_fn = ctx
            t._out_idx = i
    needs = []
    edges = []
    # for a recorded (create_graph) backward: the arguments, floating Tensors reduced to
    # their shape and dtype (their values live on only where forward saved them, as
    # torch's SavedVariable: keeping every input would double a network's memory)
    slots = []
    for a, x in zip(args, arrays):
        if x is a:  # not a Tensor (a Tensor's entry in ``arrays`` is its array)
            needs.append(False)
            edges.append(None)
            slots.append(x)
            continue
        slots.append(TensorSlot((x.shape, x.dtype)) if x.dtype.kind in "fc" else x)
        if a._requires_grad:
            needs.append(True)
            fn = a.grad_fn
            edges.append((fn, a._out_idx) if fn is not None else _leaf_edge(a))
        else:
            needs.append(False)
            edges.append(None)
    ctx.needs_input_grad = tuple(needs)
    ctx.next_edges = tuple(edges)
    ctx._args = tuple(slots)
    ctx._out_meta = tuple(out_meta)
    if ctx.saved_tensors_:
        ctx._saved_versions, ctx._saved_from = _versions_of(ctx.saved_tensors_, args, arrays,
                                                             results)


def _leaf_edge(t):
    """The edge into leaf ``t``'s AccumulateGrad, made on first use and kept on the leaf."""
    acc = t._accumulator
    if acc is None:
        acc = t._accumulator = AccumulateGrad(t)
    return (acc, 0)


def _edge(t):
    """Where a gradient for tensor ``t`` goes: its grad_fn's output slot, or its AccumulateGrad."""
    if t.grad_fn is not None:
        return (t.grad_fn, t._out_idx)
    return _leaf_edge(t)


def _versions_of(saved, args, arrays, results):
    """Version-counter snapshots of the saved arrays that are an input's or output's storage,
    and where each saved array came from: ("in", argument position), ("out", output index) or
    None (an array forward derived), for a recorded backward to link it to its graph."""
    versions = []
    origins = []
    aligned = len(saved) <= len(arrays)  # saved[pos] is argument pos's array, so far
    for pos, arr in enumerate(saved):
        origin = None
        if aligned and arrays[pos] is arr and arr is not args[pos]:
            origin, t = ("in", pos), args[pos]  # the usual case: forward saved its inputs
        elif arr is not None:  # (save_for_backward(x, None) for an absent optional input)
            aligned = False
            for i, x in enumerate(arrays):
                # a Tensor argument's array (x * x saves x twice: each copy names its own)
                if x is arr and x is not args[i] and ("in", i) not in origins:
                    origin, t = ("in", i), args[i]
                    break
            else:
                for i, t in enumerate(results):
                    if t._data is arr:
                        origin = ("out", i)
                        break
        else:
            aligned = False
        if origin is not None:
            versions.append((t._vbox, t._vbox[0], pos))
        origins.append(origin)
    return versions or None, tuple(origins)


class TensorSlot(tuple):
    """A floating Tensor argument as a recorded backward sees it when forward did not save it:
    ``TensorSlot((shape, dtype))`` (see autograd.higher_order.input_links). A tuple, so that
    making one (once per Tensor argument of every op) runs no Python code."""
    __slots__ = ()
    shape = property(itemgetter(0))
    dtype = property(itemgetter(1))



class _Unregistered:
    """Stands for the Tensor class until ``register_tensor_class`` runs: a Function applied
    before that sees no Tensor among its arguments and cannot wrap its outputs, so it says why."""

    @staticmethod
    def _wrap(array):
        raise RuntimeError("ember.autograd has no Tensor class: ember._tensor registers it with "
                           "autograd.function.register_tensor_class when it is imported")


# The graph layer sits below Tensor (docs/internals.md), so it cannot import the class; Tensor
# hands itself down once, in ember/_tensor.py, right after it is defined.
_Tensor = _Unregistered


def register_tensor_class(cls) -> None:
    """Tell the graph layer which class wraps its arrays (``ember._tensor`` calls this once)."""
    global _Tensor
    if _Tensor is not _Unregistered and _Tensor is not cls:
        raise RuntimeError(f"autograd already has the Tensor class {_Tensor!r}, not {cls!r}")
    _Tensor = cls


def tensor_class():
    """The registered Tensor class (for the engine, which wraps gradients for hooks)."""
    return _Tensor


class once_differentiable:  # noqa: N801  (torch's decorator name; ember's backward is always first order)
    def __new__(cls, fn):
        return fn
