"""Tracing one forward pass: every differentiable op goes through ``Function.apply``.

While :func:`tracing` is active (and only then), ``Function.apply`` is wrapped: after the op ran,
the call (its Function class, its arguments with each Tensor resolved to an ONNX value, its
output arrays) is handed to the op table, which emits ONNX nodes; the outputs are bound to the
names it returns. The autograd hot path is untouched outside an export.

A Tensor argument resolves to, in this order: the value of the graph node that made it (its
``grad_fn`` and output slot, which survive in-place ops: ``_inplace`` rebinds the tensor to the
op's node), a tensor bound by identity (graph inputs, parameters, buffers, outputs made under
no_grad), a tensor sharing the array of a bound one (``detach()``), else a constant.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import Tensor
from ..autograd.function import Function
from ._graph import UnsupportedOperatorError


class Call:
    """One recorded op: ``fn`` (the Function class), ``inputs`` (per argument: an ONNX value name
    for a Tensor, else the Python value), ``arrays`` (per argument: the Tensor's array or None),
    ``outputs`` (the output arrays), ``ctx`` (the graph node, or None under no_grad) and
    ``lookup`` (array -> the ONNX value holding it, or None: for arrays nested in an argument,
    such as an index)."""

    __slots__ = ("fn", "inputs", "arrays", "outputs", "ctx", "lookup")

    def __init__(self, fn, inputs, arrays, outputs, ctx, lookup):
        self.fn, self.inputs, self.arrays, self.outputs, self.ctx = fn, inputs, arrays, outputs, ctx
        self.lookup = lookup

    @property
    def name(self):
        return self.fn.__name__


class Tracer:
    def __init__(self, graph, table, fold_constants: bool):
        self.graph = graph
        self.table = table
        self.fold = fold_constants
        self.by_node = {}    # (id(grad_fn), output slot) -> name
        self.by_id = {}      # id(tensor) -> name
        self.by_array = {}   # id(array) -> name
        self.static = set()  # names whose value does not depend on the graph inputs
        self.unusable = {}   # name -> why it cannot be used (e.g. pooling indices)
        self.versions = {}   # fixed value's name -> its tensor's version when bound
        self.traced_ints = []  # integer arrays of values that are not fixed (see ``constant``)
        self._keep = []      # everything keyed by id() stays alive while tracing
        self._depth = 0

    # -- binding ----------------------------------------------------------------------------
    def bind(self, tensor, name, static=False):
        self._keep.append(tensor)
        self.by_id[id(tensor)] = name
        self.by_array[id(tensor._data)] = name
        if tensor.grad_fn is not None:
            self._keep.append(tensor.grad_fn)
            self.by_node[id(tensor.grad_fn), tensor._out_idx] = name
        if static:
            self.static.add(name)
            self.versions[name] = tensor._vbox[0]
        elif tensor._data.dtype.kind in "iu":
            self.traced_ints.append(tensor._data)

    def depends_on_inputs(self, t) -> bool:
        """Whether tensor ``t`` is a traced value that is not fixed (a graph input or an op on
        one)."""
        if t.grad_fn is not None:
            name = self.by_node.get((id(t.grad_fn), t._out_idx))
        else:
            name = self.by_id.get(id(t)) or self.by_array.get(id(t._data))
        return name is not None and name not in self.static

    def value(self, t) -> str:
        name = None
        if t.grad_fn is not None:
            name = self.by_node.get((id(t.grad_fn), t._out_idx))
            if name is None:
                raise UnsupportedOperatorError(
                    f"a tensor reaching the traced graph was computed by {t.grad_fn.name()} "
                    "outside the traced forward pass; create it inside the model's forward")
        if name is None:
            name = self.by_id.get(id(t)) or self.by_array.get(id(t._data))
            if name in self.versions and t._vbox[0] != self.versions[name]:
                name = None  # a fixed tensor written in place since: its value now, anew
        if name is None:  # a constant made outside the traced ops (ember.tensor(...), zeros)
            name = self.constant(t)
        if name in self.unusable:
            raise UnsupportedOperatorError(self.unusable[name])
        return name

    def constant(self, t) -> str:
        """Bind ``t``, met outside the traced ops, as a constant. Integers equal to a traced
        value are most likely that value converted with NumPy inside an op (int32 indices
        made int64): frozen, the graph would ignore its inputs, so that raises."""
        a = t._data
        if a.dtype.kind in "iu" and a.size and any(
                v.shape == a.shape and np.array_equal(v, a) for v in self.traced_ints):
            raise UnsupportedOperatorError(
                "an integer tensor equal to a value computed from the model's inputs reached "
                "an op from outside the traced ops: most likely that value converted or copied "
                "with NumPy inside the op (e.g. int32 indices of embedding_bag: pass int64), "
                "which would freeze it into a constant. If it is a genuine constant of the "
                "model, trace with other example inputs")
        name = self.graph.const(a, hint="Constant")
        self.bind(t, name, static=True)
        return name

    # -- recording --------------------------------------------------------------------------
    def record(self, fn, args, result):
        outs = result if type(result) is tuple else (result,)
        inputs, arrays = [], []
        for a in args:
            if isinstance(a, Tensor):
                inputs.append(self.value(a))
                arrays.append(a._data)
            elif type(a) is np.ndarray and id(a) in self.by_array:  # a buffer passed as its array
                inputs.append(self.by_array[id(a)])
                arrays.append(a)
            else:
                inputs.append(a)
                arrays.append(None)
        ctx = next((o.grad_fn for o in outs if o.grad_fn is not None), None)
        call = Call(fn, inputs, arrays, [o._data for o in outs], ctx,
                    lambda array: self.by_array.get(id(array)))
        tensor_inputs = [i for i, a in zip(inputs, arrays) if a is not None]
        if self.fold and tensor_inputs and all(i in self.static for i in tensor_inputs):
            # every input is fixed: the op's value is too; keep the value, not the op
            for o in outs:
                self.bind(o, self.graph.const(o._data, hint=f"{call.name}_folded"), static=True)
            return
        emit = self.table.get(fn)
        if emit is None:
            raise UnsupportedOperatorError(
                f"Exporting the operator '{fn._node_cls.name()}' ({call.name}) to ONNX is not "
                "supported by ember.onnx")
        names = emit(self.graph, call)
        if not isinstance(names, (list, tuple)):
            names = [names]
        if len(names) != len(outs):
            raise AssertionError(f"the ONNX mapping of {call.name} gave {len(names)} outputs "
                                 f"for {len(outs)}")
        for o, name in zip(outs, names):
            if isinstance(name, UnusableOutput):
                placeholder = self.graph.fresh("unusable")
                self.unusable[placeholder] = name.why
                name = placeholder
            self.bind(o, name)


class UnusableOutput:
    """An op output the ONNX graph does not compute (e.g. max pooling's indices): using it
    later raises with ``why``."""

    def __init__(self, why: str):
        self.why = why


@contextlib.contextmanager
def tracing(tracer: Tracer):
    """Wrap ``Function.apply`` (and Tensor's non-differentiable binary path) for the block."""
    apply = Function.__dict__["apply"]
    run = apply.__func__
    untraced = {name: Tensor.__dict__[name] for name in _UNTRACED}

    def traced_apply(cls, *args):
        if tracer._depth:  # an op applied inside another op's forward: part of that op
            return run(cls, *args)
        tracer._depth += 1
        try:
            result = run(cls, *args)
        finally:
            tracer._depth -= 1
        tracer.record(cls, args, result)
        return result

    Function.apply = classmethod(traced_apply)
    for name, method in untraced.items():
        setattr(Tensor, name, _refuse_traced(tracer, method))
    try:
        yield tracer
    finally:
        Function.apply = apply
        for name, method in untraced.items():
            setattr(Tensor, name, method)


# Tensor's paths that compute without a Function (comparisons, floor division, bitwise ops,
# argmax/argmin): on a traced value their result would be frozen into a constant, a silently
# wrong graph.
_UNTRACED = ("_nograd_binary", "_compare", "_arg")


def _refuse_traced(tracer, method):
    def refuse(self, ufunc, other, *rest, **kw):
        if any(isinstance(t, Tensor) and tracer.depends_on_inputs(t) for t in (self, other)):
            raise UnsupportedOperatorError(
                f"Exporting the operator '{getattr(ufunc, '__name__', ufunc)}' to ONNX is not "
                "supported by ember.onnx (a non-differentiable op on a value computed from the "
                "model's inputs)")
        return method(self, ufunc, other, *rest, **kw)
    return refuse
