"""Tracing one forward pass: every differentiable op goes through ``Function.apply``.

While :func:`tracing` is active (ember.autograd.tracing's hook), after each op ran, the call
(its Function class, its arguments with each Tensor resolved to an ONNX value, its output
arrays) is handed to the op table, which emits ONNX nodes; the outputs are bound to the names
it returns. The autograd hot path is untouched outside an export.

Before the traced run, the model runs on the inputs' elements shuffled (:class:`ValueProbe`):
a constant an op reads that differs between the two runs was computed from the inputs outside
the traced ops, and export raises rather than freeze it. With dynamic axes, it also runs on
inputs one longer along each dynamic axis (:class:`ProbeRecord`): a dim of an op's output that
differs between the runs follows the inputs, so a Reshape target or an Expand shape read at
trace time can leave it open (``Call.varying``) instead of freezing the traced batch.

A Tensor argument resolves to, in this order: the value of the graph node that made it (its
``grad_fn`` and output slot, which survive in-place ops: ``_inplace`` rebinds the tensor to the
op's node), a tensor bound by identity (graph inputs, parameters, buffers, outputs made under
no_grad), a tensor sharing the array of a bound one (``detach()``), else a constant.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from .. import Tensor
from ..autograd.tracing import trace_calls
from ._graph import UnsupportedOperatorError


class Call:
    """One recorded op: ``fn`` (the Function class), ``inputs`` (per argument: an ONNX value name
    for a Tensor, else the Python value), ``arrays`` (per argument: the Tensor's array or None),
    ``outputs`` (the output arrays), ``ctx`` (the graph node, or None under no_grad) and
    ``lookup`` (array -> the ONNX value holding it, or None: for arrays nested in an argument,
    such as an index) and, with dynamic axes, ``varying`` / ``in_varying`` (per output / per
    argument: a bool per dim, True where the dim follows the inputs' dynamic axes; None when
    unknown or not a Tensor)."""

    __slots__ = ("fn", "inputs", "arrays", "outputs", "ctx", "lookup", "varying", "in_varying",
                 "index", "bind_array", "packed", "dynamic_shape")

    def __init__(self, fn, inputs, arrays, outputs, ctx, lookup, tracer=None):
        self.fn, self.inputs, self.arrays, self.outputs, self.ctx = fn, inputs, arrays, outputs, ctx
        self.lookup = lookup
        self.varying = self.in_varying = None
        self.packed = None  # a PackedSequence's data among the inputs: its layout (_packed.py)
        # an index array argument -> its ONNX value (``Tracer.index_value``); an array the op
        # returns to its caller (topk's indices) bound to a value
        self.index = tracer.index_value if tracer else None
        self.bind_array = tracer.bind_array if tracer else None
        self.dynamic_shape = tracer.dynamic_shape if tracer else None

    @property
    def name(self):
        return getattr(self.fn, "__name__", str(self.fn))


class Tracer:
    def __init__(self, graph, table, fold_constants: bool, untraced_table=None):
        self.graph = graph
        self.table = table
        self.untraced_table = untraced_table or {}  # (Tensor path, op) -> emitter
        self.fold = fold_constants
        self.by_node = {}    # (id(grad_fn), output slot) -> name
        self.by_id = {}      # id(tensor) -> name
        self.by_array = {}   # id(array) -> name
        self.static = set()  # names whose value does not depend on the graph inputs
        self.unusable = {}   # name -> why it cannot be used (e.g. pooling indices)
        self.versions = {}   # fixed value's name -> its tensor's version when bound
        self.traced_ints = []  # integer arrays of values that are not fixed (see ``constant``)
        self._keep = []      # everything keyed by id() stays alive while tracing
        self.paused = 0      # > 0: ops run unrecorded (inside a function _packed.py maps whole)
        self.layouts = {}    # value name -> the packed-sequence layout it is in (_packed.py)
        self.probe = None    # [(fn, argument shapes, output shapes)] of the probe run
        self.value_probe = None  # ValueProbe: the constants each op met on other input values
        self.param_names = set()
        self.dynamic_dims = []  # (graph input name, axis, traced size) of each dynamic axis
        self._calls = 0
        self.frozen = {}     # fixed value's name -> the op that made or read it, where its
        #                      shape follows the dynamic axes (it cannot: see check_frozen)
        self._probe_at = 0

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
        if self.paused:
            return
        outs = result if type(result) is tuple else (result,)
        at = self._calls
        self._calls += 1
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
        call = Call(fn, inputs, arrays, [o._data for o in outs], ctx, self.array_name, self)
        self.compare_with_probe(call)
        self.check_constants(call, at, args)
        self.follow_dynamic_axes(call)
        for name, v in zip(call.inputs, call.in_varying or ()):
            if v is not None and any(v) and name in self.static:
                self.frozen.setdefault(name, f"{fn._node_cls.name()} ({call.name})")
        inputs = call.inputs
        tensor_inputs = [i for i, a in zip(inputs, arrays) if a is not None]
        emit = self.table.get(fn)
        unfold = getattr(emit, "follows_dynamic_axes", False) and call.varying is not None and \
            any(self.dynamic_shape(o.shape, v) is not None
                for o, v in zip(call.outputs, call.varying) if any(v))
        if self.fold and tensor_inputs and all(i in self.static for i in tensor_inputs) and \
                not unfold:
            # every input is fixed: the op's value is too; keep the value, not the op
            for k, o in enumerate(outs):
                name = self.graph.const(o._data, hint=f"{call.name}_folded")
                self.bind(o, name, static=True)
                if call.varying is not None and any(call.varying[k]):
                    self.frozen[name] = f"{fn._node_cls.name()} ({call.name})"
            return
        if emit is None:
            raise UnsupportedOperatorError(
                f"Exporting the operator '{fn._node_cls.name()}' ({call.name}) to ONNX is not "
                "supported by ember.onnx")
        call.packed = next((self.layouts[i] for i in tensor_inputs if i in self.layouts), None)
        if call.packed is not None and not getattr(emit, "packed_rows", False):
            raise UnsupportedOperatorError(
                f"Exporting the operator '{fn._node_cls.name()}' ({call.name}) on a "
                "PackedSequence's data to ONNX is not supported by ember.onnx (only the "
                "recurrent layers and cat read packed data in the exported graph)")
        names = emit(self.graph, call)
        if not isinstance(names, (list, tuple)):
            names = [names]
        if len(names) != len(outs):
            raise AssertionError(f"the ONNX mapping of {call.name} gave {len(names)} outputs "
                                 f"for {len(outs)}")
        if call.packed is not None:  # the row-wise outputs stay in the packed layout
            self.layouts[names[0]] = call.packed
        for o, name in zip(outs, names):
            if isinstance(name, UnusableOutput):
                placeholder = self.graph.fresh("unusable")
                self.unusable[placeholder] = name.why
                name = placeholder
            self.bind(o, name)


    def dynamic_shape(self, shape, varying):
        """An ONNX shape value for ``shape`` whose ``varying`` dims are read at run time from
        the graph input's dynamic axis of that traced size, or None if a varying dim matches
        none."""
        parts = []
        for size, v in zip(shape, varying):
            if not v:
                parts.append(self.graph.ints([size]))
                continue
            source = next(((n, a) for n, a, s in self.dynamic_dims if s == size), None)
            if source is None:
                return None
            name, axis = source
            parts.append(self.graph.node("Slice", [self.graph.node("Shape", [name]),
                                                   self.graph.ints([axis]),
                                                   self.graph.ints([axis + 1])]))
        if not parts:
            return self.graph.ints([])
        return self.graph.node("Concat", parts, axis=0) if len(parts) > 1 else parts[0]

    def follow_dynamic_axes(self, call):
        """A fixed argument filled with one value (``ember.zeros(x.size(0), ...)``) whose
        shape followed the dynamic axes: that value expanded to the shape read at run time."""
        if call.in_varying is None:
            return
        for i, (name, v) in enumerate(zip(call.inputs, call.in_varying)):
            a = call.arrays[i]
            if v is None or not any(v) or name not in self.static or name in self.param_names \
                    or a is None or not a.size:
                continue
            first = a.reshape(-1)[:1]
            if not np.array_equal(a, np.broadcast_to(first, a.shape), equal_nan=True):
                continue
            shape = self.dynamic_shape(a.shape, v)
            if shape is not None:
                call.inputs[i] = self.graph.node("Expand", [
                    self.graph.const(first.reshape(())), shape])

    def array_name(self, array):
        """The traced value holding ``array``, or a view of it with the same shape and values
        (``idx.reshape(-1)`` of a 1-d index), or None."""
        base = array
        while isinstance(base, np.ndarray):
            name = self.by_array.get(id(base))
            if name is not None:
                same = base is array or (base.shape == array.shape
                                         and np.array_equal(base, array))
                return name if same else None
            base = base.base
        return None

    def bind_array(self, array, name):
        self._keep.append(array)
        self.by_array[id(array)] = name

    def index_value(self, array):
        """An integer index array an op received (not a Tensor): the traced value holding it
        (itself, a view of it, or a copy the op's checks made: the same values, negative ones
        possibly wrapped, which every ONNX index op wraps alike), else a constant. (An index
        passed as a Tensor arrives resolved: its name.)"""
        if isinstance(array, str):
            return array
        name = self.array_name(array)
        if name is not None:
            return name
        for name, v in reversed(list(self.traced_values())):
            if v.shape == array.shape and _same_or_wrapped(v, array):
                return name
        return self.graph.const(np.asarray(array, dtype=np.int64))

    def traced_values(self):
        """(name, array) of the integer values that follow the inputs."""
        for v in self.traced_ints:
            name = self.by_array.get(id(v))
            if name is not None and name not in self.static:
                yield name, v

    def compare_with_probe(self, call):
        """Set ``call.varying``/``in_varying`` from the probe run's op at the same place; a
        probe that ran other ops (control flow on the batch size) is dropped, with a warning."""
        if self.probe is None:
            return
        at = self._probe_at
        self._probe_at += 1
        if at >= len(self.probe) or self.probe[at][0] is not call.fn:
            warnings.warn("ember.onnx.export: the model ran other ops on inputs of another size "
                          "along the dynamic axes; shapes read at trace time stay as traced")
            self.probe = None
            return
        _, in_shapes, out_shapes = self.probe[at]
        call.varying = [_differs(o.shape, s) for o, s in zip(call.outputs, out_shapes)]
        call.in_varying = [None if a is None or s is None else _differs(a.shape, s)
                           for a, s in zip(call.arrays, in_shapes)]

    def check_constants(self, call, at, args):
        """A constant argument (made outside the traced ops) that held other values when the
        model ran on other inputs was computed from them outside ember's Functions (``.all()``,
        ``.any()``, ``isnan``, ``logical_not``, ``~``, ...): frozen, the graph would be silently
        wrong, so raise naming the op that reads it."""
        probe = self.value_probe
        if probe is None:
            return
        for i, (name, a) in enumerate(zip(call.inputs, args)):
            if not isinstance(a, Tensor) or name not in self.static or name in self.param_names:
                continue
            seen = probe.values.get((at, i))
            if seen is None or seen[0] is not call.fn:
                continue
            if seen[1].shape != a._data.shape or not np.array_equal(seen[1], a._data,
                                                                    equal_nan=True):
                raise UnsupportedOperatorError(
                    f"Exporting the operator '{call.fn._node_cls.name()}' ({call.name}) to ONNX "
                    "is not supported by ember.onnx: its argument "
                    f"{i} was computed from the model's inputs outside ember's traced ops "
                    "(e.g. .all(), .any(), isnan, logical_not, ~, .tolist()); exported, it "
                    "would be a constant of the traced values")

    def check_frozen(self, used):
        """A fixed value the graph reads whose shape followed the dynamic axes in the probe run
        (``ember.zeros(x.size(0), ...)`` in forward, or an op on such a value or on parameters
        sized by the batch) is frozen at the traced size: the model would fail, or broadcast
        wrongly, on another size. Raise, naming the op."""
        bad = sorted({op for name, op in self.frozen.items() if name in used})
        if bad:
            raise UnsupportedOperatorError(
                f"ember.onnx.export: the operator(s) {bad} read or made a constant whose shape "
                "follows the dynamic axes (a tensor sized from the input's shape inside forward, "
                "e.g. ember.zeros(x.size(0), ...)); ONNX would keep the traced size. Export "
                "without dynamic_axes, or compute it from the input (x.new_zeros is traced the "
                "same way: use zeros_like or arithmetic on x)")

    def untraced(self, path, op, tensor, args, kwargs, result):
        """Tensor's paths without a Function (comparisons, argmax/argmin, floor division,
        bitwise ops): on a traced value, mapped by ``table.untraced`` when it can, else refused
        (its result would be frozen into a constant, a silently wrong graph)."""
        if self.paused:
            return
        other = args[0] if args else None
        if not any(isinstance(t, Tensor) and self.depends_on_inputs(t) for t in (tensor, other)):
            return
        name = path if op is None else getattr(op, "__name__", str(op))
        emit = self.untraced_table.get((path, op))
        if emit is None:
            raise UnsupportedOperatorError(
                f"Exporting the operator '{name}' to ONNX is not supported by ember.onnx (a "
                "non-differentiable op on a value computed from the model's inputs)")
        operands = [self.value(a) if isinstance(a, Tensor) else a for a in (tensor, *args)]
        arrays = [a._data if isinstance(a, Tensor) else None for a in (tensor, *args)]
        call = Call(op, operands, arrays, [result._data], None,
                    self.array_name, self)
        self.bind(result, emit(self.graph, call, **kwargs))


def _same_or_wrapped(v, array):
    """``array`` is ``v`` with its negative entries wrapped by one size n (v + n)."""
    negative = v < 0
    if not np.array_equal(v[~negative], array[~negative]):
        return False
    wrapped = np.unique(array[negative] - v[negative])
    return wrapped.size == 0 or (wrapped.size == 1 and wrapped[0] > 0)


def _differs(shape, other):
    if len(shape) != len(other):
        return [True] * len(shape)
    return [a != b for a, b in zip(shape, other)]


def _shape_of(a):
    return tuple(a.shape) if isinstance(a, Tensor) else None


class ProbeRecord:
    """The probe run's ops: [(fn, argument shapes, output shapes)]; ``paused`` as the
    tracer's (the functions ``_packed`` maps whole run unrecorded in both runs alike)."""

    def __init__(self):
        self.seen = []
        self.paused = 0

    def on_call(self, fn, args, result):
        if self.paused:
            return
        outs = result if type(result) is tuple else (result,)
        self.seen.append((fn, [_shape_of(a) for a in args], [tuple(o.shape) for o in outs]))


class ValueProbe:
    """A run on other input values: the Tensor arguments each op received that no earlier op
    made and that are not parameters (the constants of the traced run), by (op index,
    argument position), to compare with the traced run's (``Tracer.check_constants``)."""

    def __init__(self, known_arrays, inputs):
        self.values = {}
        self.paused = 0
        self._known = known_arrays
        self._made = {id(t) for t in inputs}
        self._keep = list(inputs)  # ids stay unique while the run lasts
        self._calls = 0

    def on_call(self, fn, args, result):
        if self.paused:
            return
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and id(a) not in self._made and \
                    id(a._data) not in self._known:
                self.values[self._calls, i] = (fn, np.array(a._data))
        self._calls += 1
        self._made_by(result)

    def on_untraced(self, path, op, tensor, args, kwargs, result):
        if not self.paused:
            self._made_by(result)

    def _made_by(self, result):
        outs = result if type(result) is tuple else (result,)
        self._keep.extend(outs)
        self._made.update(id(o) for o in outs)


class UnusableOutput:
    """An op output the ONNX graph does not compute (e.g. max pooling's indices): using it
    later raises with ``why``."""

    def __init__(self, why: str):
        self.why = why


@contextlib.contextmanager
def tracing(tracer: Tracer):
    """Record every op of the block into ``tracer``; refuse ops without a Function on traced
    values."""
    with trace_calls(tracer.record, tracer.untraced):
        yield tracer
