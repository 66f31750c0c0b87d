"""The model graph for ``SummaryWriter.add_graph``, from one traced forward pass.

torch traces the model with the JIT; ember traces with the hook ``ember.onnx.export`` uses
(``ember.autograd.tracing``): every op of the forward pass, whether or not it records a gradient
(integer indices, masks, comparisons, argmax, ops under no_grad), is seen with its arguments
and results. Forward hooks on every module keep a stack of the modules running, so each op is
named under the innermost one, as torch's scopes. The result is the GraphDef torch writes: IO
nodes ``input/<arg>`` and ``output/output.<i>``, parameters and buffers as nodes under their
module, tensors made inside forward as ``Constant`` nodes, ops named
``<Root>/<Class>[<attr>]/.../<Op>_<k>`` (``Op`` the grad_fn's name without ``Backward0``, or the
NumPy name of an op without one, e.g. ``greater``), each with its ``_output_shapes``. Only the
ops some output depends on are kept, as the JIT's dead-code pass does.

A tensor written in place outside autograd (under no_grad) keeps the node of the value it had
before: such writes leave no op to draw.
"""
from __future__ import annotations

import contextlib
import inspect

import ember
from ember.autograd.tracing import trace_calls

__all__ = ["graph"]


def graph(model, input_to_model=None, verbose: bool = False):
    """(GraphDef, RunMetadata bytes) for ``model`` run on ``input_to_model``, read as
    torch.jit.trace reads it: a Tensor or a dict is the one argument, a tuple or list holds
    the positional arguments (None: no argument)."""
    if input_to_model is None:
        args = ()
    elif isinstance(input_to_model, (ember.Tensor, dict)):
        args = (input_to_model,)
    else:
        args = tuple(input_to_model)
    names = _input_names(model, len(args))
    leaf_names: dict[int, str] = {}
    args = tuple(_trace_input(a, name, leaf_names) for a, name in zip(args, names))
    scopes = _module_scopes(model)
    g = _Graph(scopes[""], leaf_names)
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        module_path, _, attr = name.rpartition(".")
        leaf_names.setdefault(id(t), scopes[module_path] + "/" + attr)
        g.leaf_arrays.setdefault(id(t._data), t)  # buffers reach ops as arrays, too
    g.add_inputs(args, names)
    with _eval_mode(model), ember.enable_grad(), _ScopeStack(model, scopes, g.root) as stack:
        g.scope = stack.current
        with trace_calls(g.add_op, g.add_untraced_op):
            output = model(*args)
    g.add_outputs(_tensors_in(output))
    if verbose:
        print(g.describe())
    return g.to_proto(), _run_metadata_cpu()


# -- tracing ---------------------------------------------------------------------------------


def _input_names(model, count: int) -> list[str]:
    """The forward's parameter names for the positional arguments (``input.<i>`` past them)."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [named[i] if i < len(named) else f"input.{i}" for i in range(count)]


def _trace_input(value, name: str, leaf_names: dict):
    """A detached copy of an input, marked requires_grad where floating so that the ops using it
    are recorded; containers are copied through, each tensor named ``<name>.<index>``."""
    if isinstance(value, ember.Tensor):
        copy = value.detach()
        if copy.is_floating_point() or copy.is_complex():
            copy.requires_grad_()
        leaf_names[id(copy)] = "input/" + name
        return copy
    if isinstance(value, (list, tuple)):
        return type(value)(_trace_input(v, f"{name}.{i}", leaf_names) for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: _trace_input(v, f"{name}.{k}", leaf_names) for k, v in value.items()}
    return value


def _tensors_in(value) -> list:
    """The tensors of a (nested) output, in order."""
    if isinstance(value, ember.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


@contextlib.contextmanager
def _eval_mode(model):
    """torch traces in eval mode (dropout off, batch norm on running statistics)."""
    training = model.training
    model.train(False)
    try:
        yield
    finally:
        model.train(training)


def _module_scopes(model) -> dict[str, str]:
    """Module path (``"b.0"``) -> torch's scope name (``"Net/Sequential[b]/Linear[0]"``)."""
    scopes = {"": type(model).__name__}
    for path, module in model.named_modules():
        if path:
            parent, _, attr = path.rpartition(".")
            scopes[path] = f"{scopes[parent]}/{type(module).__name__}[{attr}]"
    return scopes


class _ScopeStack:
    """Forward pre-hooks and hooks on every module: the scope of the innermost module whose
    forward is running (a module called twice is scoped alike both times)."""

    def __init__(self, model, scopes: dict[str, str], root: str) -> None:
        self._model, self._scopes = model, scopes
        self._stack = [root]
        self._handles: list = []

    def current(self) -> str:
        return self._stack[-1]

    def __enter__(self) -> "_ScopeStack":
        seen = set()
        for path, module in self._model.named_modules():
            if id(module) in seen or not path:
                continue
            seen.add(id(module))
            scope = self._scopes[path]
            self._handles.append(module.register_forward_pre_hook(
                lambda m, a, scope=scope: self._enter(scope)))
            self._handles.append(module.register_forward_hook(
                lambda m, a, out: self._leave(), always_call=True))
        return self

    # (the hooks return None: a value would replace the module's input or output)
    def _enter(self, scope: str) -> None:
        self._stack.append(scope)

    def _leave(self) -> None:
        self._stack.pop()

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()


# -- the GraphDef ----------------------------------------------------------------------------


def _op_type(fn) -> str:
    """A Function's op name: its grad_fn's name without ``Backward0`` (``Addmm``)."""
    name = fn._node_cls.__name__
    for suffix in ("Backward0", "Backward1", "Backward"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


class _Graph:
    """The nodes of the GraphDef in torch's order: inputs, parameters and constants, ops,
    outputs. Each traced tensor is known by the node that made it: by its grad_fn and output
    slot (which an in-place op moves onto the tensor), by identity, or by sharing its array
    (``detach()``)."""

    def __init__(self, root: str, leaf_names: dict[int, str]) -> None:
        self.root, self.leaf_names = root, leaf_names
        self.scope = lambda: root
        self.inputs: list = []   # (name, op, inputs, shapes) each
        self.leaves: list = []
        self.ops: list = []
        self.outputs: list = []
        self._leaves_added: set[str] = set()
        self._counts: dict[str, int] = {}
        self._keep: list = []  # the tensors keyed by id() below stay alive
        self._by_node: dict = {}
        self._by_id: dict[int, str] = {}
        self._by_array: dict[int, str] = {}
        self.leaf_arrays: dict[int, object] = {}  # id(array) -> parameter or buffer

    def add_inputs(self, args, names) -> None:
        for arg, name in zip(args, names):
            for i, t in enumerate(_tensors_in(arg)):
                node = self.leaf_names.get(id(t), f"input/{name}.{i}")
                self.inputs.append((node, "IO Node", [], [tuple(t.shape)]))
                self._leaves_added.add(node)
                self._bind(t, node)

    def _bind(self, t, name: str) -> None:
        self._keep.append(t)
        self._by_id[id(t)] = name
        self._by_array[id(t._data)] = name
        if t.grad_fn is not None:
            self._keep.append(t.grad_fn)
            self._by_node[id(t.grad_fn), t._out_idx] = name

    def _source(self, t) -> str:
        name = None
        if t.grad_fn is not None:
            name = self._by_node.get((id(t.grad_fn), t._out_idx))
        name = name or self._by_id.get(id(t)) or self._by_array.get(id(t._data))
        if name is None:
            name = self._leaf(t)
            self._bind(t, name)
        return name

    def _leaf(self, t) -> str:
        """A tensor no traced op made: a parameter or buffer (named), another leaf that needs
        a gradient, or a constant made in forward; its node is added the first time."""
        name = self.leaf_names.get(id(t))
        op = "Parameter"
        if name is None:
            kind = "leaf" if t.requires_grad else "Constant"
            op = "Parameter" if t.requires_grad else "prim::Constant"
            name = self.leaf_names[id(t)] = f"{self.root}/{kind}.{len(self.leaf_names)}"
        if name not in self._leaves_added:
            self._leaves_added.add(name)
            self.leaves.append((name, op, [], [tuple(t.shape)]))
        return name

    def _sources(self, args) -> list[str]:
        """The nodes of an op's arguments: Tensors, and arrays of known tensors (a buffer
        passed as its array, index arrays inside an index tuple)."""
        found = []
        for a in args:
            if isinstance(a, ember.Tensor):
                found.append(self._source(a))
            elif isinstance(a, (tuple, list)):
                found.extend(self._sources(a))
            elif type(a).__name__ == "ndarray":
                if id(a) in self._by_array:
                    found.append(self._by_array[id(a)])
                elif id(a) in self.leaf_arrays:
                    found.append(self._source(self.leaf_arrays[id(a)]))
        return found

    def _op(self, op: str, args, results) -> None:
        k = self._counts.get(op, 0)
        self._counts[op] = k + 1
        name = f"{self.scope()}/{op}_{k}"
        inputs = self._sources(args)
        self.ops.append((name, op, inputs, [tuple(r.shape) for r in results]))
        for i, r in enumerate(results):
            self._bind(r, f"{name}:{i}" if i else name)

    def add_op(self, fn, args, result) -> None:
        results = result if type(result) is tuple else (result,)
        self._op(_op_type(fn), args, results)

    def add_untraced_op(self, path, op, tensor, args, kwargs, result) -> None:
        """Comparisons, argmax/argmin, floor division, bitwise ops, predicates (isnan, any,
        ~ ...): no Function, still an op."""
        name = path.strip("_") if op is None else getattr(op, "__name__", str(op))
        self._op(name, (tensor, *args), (result,))

    def add_outputs(self, outputs) -> None:
        for i, t in enumerate(outputs):
            self.outputs.append((f"output/output.{i + 1}", "IO Node", [self._source(t)],
                                 [tuple(t.shape)]))

    @property
    def nodes(self) -> list:
        """Every node some output depends on (inputs always), in order."""
        wanted = {i.split(":")[0] for n in self.outputs for i in n[2]}
        kept = []
        for node in reversed(self.ops):
            if node[0] in wanted:
                kept.append(node)
                wanted.update(i.split(":")[0] for i in node[2])
        leaves = [n for n in self.leaves if n[0] in wanted]
        return self.inputs + leaves + kept[::-1] + self.outputs

    def describe(self) -> str:
        """The graph as text, one node a line (what ``verbose=True`` prints)."""
        lines = [f"graph({self.root}):"]
        for name, op, inputs, shapes in self.nodes:
            shape = ", ".join(str(list(s)) for s in shapes)
            lines.append(f"  {name} = {op}({', '.join(inputs)}) : {shape}")
        return "\n".join(lines)

    def to_proto(self):
        from tensorboardX.proto.attr_value_pb2 import AttrValue
        from tensorboardX.proto.graph_pb2 import GraphDef
        from tensorboardX.proto.node_def_pb2 import NodeDef
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboardX.proto.versions_pb2 import VersionDef

        def node_def(name, op, inputs, shapes):
            shape_protos = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in s])
                            for s in shapes]
            attr = {"attr": AttrValue(s=b""),
                    "_output_shapes": AttrValue(list=AttrValue.ListValue(shape=shape_protos))}
            return NodeDef(name=name, op=op, input=inputs, attr=attr)

        # producer 22: the version torch writes (reverse engineered by torch from TensorBoard)
        return GraphDef(node=[node_def(*n) for n in self.nodes], versions=VersionDef(producer=22))


def _run_metadata_cpu() -> bytes:
    """torch's RunMetadata(step_stats=StepStats(dev_stats=[DeviceStepStats(device=
    "/device:CPU:0")])), serialised (tensorboardX has no RunMetadata message; each level is
    field 1, length-delimited)."""
    def field1(payload: bytes) -> bytes:
        return b"\x0a" + bytes([len(payload)]) + payload
    return field1(field1(field1(b"/device:CPU:0")))
