"""The model graph for ``SummaryWriter.add_graph``, from one forward pass.

torch traces the model with the JIT; ember has no JIT, so the graph is read back from what one
forward pass records: the autograd graph (each output's ``grad_fn``, each node's ``next_edges``)
holds every differentiable op and which op fed it; forward hooks on every module tell which
module's ``forward`` ran each op. The result is the GraphDef torch writes: IO nodes
``input/<arg>`` and ``output/output.<i>``, parameters as nodes under their module, ops named
``<Root>/<Class>[<attr>]/.../<Op>_<k>`` (``Op`` the grad_fn's name without ``Backward0``), each
with its ``_output_shapes``.

What a backward graph cannot show: ops on tensors that need no gradient (integer indices,
masks, constants) and ops whose outputs need none (argmax, comparisons) leave no node, so a
model's integer inputs appear without edges. A module's ops are found between its inputs and
its outputs: an op of an outer module reached by a submodule through an attribute rather
than an argument is named under the submodule.
"""
from __future__ import annotations

import contextlib
import inspect

import ember
from ember.autograd.function import AccumulateGrad

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
    for name, p in model.named_parameters():
        module_path, _, attr = name.rpartition(".")
        leaf_names.setdefault(id(p), scopes[module_path] + "/" + attr)
    with _eval_mode(model), ember.enable_grad(), _ScopeRecorder(model, scopes) as recorder:
        output = model(*args)
    outputs = _tensors_in(output)
    nodes = _forward_order([t.grad_fn for t in outputs if t.grad_fn is not None])
    g = _Graph(scopes[""], recorder.scope_of, leaf_names)
    g.add_inputs(args, names)
    g.add_ops(nodes)
    g.add_outputs(outputs)
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


class _ScopeRecorder:
    """Forward hooks on every module; when a module's forward returns, the ops it ran are those
    reached walking back from its outputs to its inputs. Modules finish innermost first, so the
    first module to reach an op is the deepest one that ran it."""

    def __init__(self, model, scopes: dict[str, str]) -> None:
        self.scope_of: dict = {}  # grad_fn node -> scope name
        self._model, self._scopes = model, scopes
        self._handles: list = []
        self._boundaries: list[set] = []

    def __enter__(self) -> "_ScopeRecorder":
        seen = set()
        for path, module in self._model.named_modules():
            if id(module) in seen:
                continue
            seen.add(id(module))
            scope = self._scopes[path]
            self._handles.append(module.register_forward_pre_hook(self._enter, with_kwargs=True))
            self._handles.append(module.register_forward_hook(
                lambda m, a, kw, out, scope=scope: self._leave(scope, out), with_kwargs=True,
                always_call=True))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def _enter(self, module, args, kwargs) -> None:
        inputs = _tensors_in(args) + _tensors_in(kwargs)
        self._boundaries.append({id(t.grad_fn) for t in inputs if t.grad_fn is not None})

    def _leave(self, scope: str, output) -> None:
        boundary = self._boundaries.pop()
        stack = [t.grad_fn for t in _tensors_in(output) if t.grad_fn is not None]
        visited = set()
        while stack:
            node = stack.pop()
            if id(node) in visited or id(node) in boundary or isinstance(node, AccumulateGrad):
                continue
            visited.add(id(node))
            self.scope_of.setdefault(node, scope)
            # walk on through ops a submodule claimed: this module's own ops may lie before them
            stack.extend(edge[0] for edge in node.next_edges if edge is not None)


def _forward_order(roots: list) -> list:
    """Every op node reachable from ``roots``, producers before consumers (a post-order of the
    backward graph), without recursion: models can be deep."""
    order, done = [], set()
    stack = [(node, False) for node in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in done or isinstance(node, AccumulateGrad):
            continue
        done.add(id(node))
        stack.append((node, True))
        for edge in reversed(node.next_edges):
            if edge is not None and id(edge[0]) not in done:
                stack.append((edge[0], False))
    return order


# -- the GraphDef ----------------------------------------------------------------------------


def _op_type(node) -> str:
    name = type(node).__name__
    for suffix in ("Backward0", "Backward1", "Backward"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


class _Graph:
    """The nodes of the GraphDef in torch's order: inputs, parameters, ops, outputs."""

    def __init__(self, root: str, scope_of: dict, leaf_names: dict[int, str]) -> None:
        self.root, self.scope_of, self.leaf_names = root, scope_of, leaf_names
        self.nodes: list[tuple[str, str, list[str], list]] = []  # name, op, inputs, shapes
        self._op_names: dict[int, str] = {}
        self._multi: set[int] = set()
        self._leaves_added: set[str] = set()
        self._counts: dict[str, int] = {}

    def add_inputs(self, args, names) -> None:
        for arg, name in zip(args, names):
            for i, t in enumerate(_tensors_in(arg)):
                self.nodes.append((self.leaf_names.get(id(t), f"input/{name}.{i}"), "IO Node", [],
                                   [tuple(t.shape)]))
                self._leaves_added.add(self.nodes[-1][0])

    def _leaf(self, variable) -> str:
        """The name of a leaf tensor's node (a parameter, an input, or another leaf that needs
        a gradient), adding its node the first time."""
        name = self.leaf_names.get(id(variable))
        if name is None:
            name = self.leaf_names[id(variable)] = f"{self.root}/leaf.{len(self.leaf_names)}"
        if name not in self._leaves_added:
            self._leaves_added.add(name)
            self.nodes.append((name, "Parameter", [], [tuple(variable.shape)]))
        return name

    def _source(self, edge) -> str:
        node, index = edge
        if isinstance(node, AccumulateGrad):
            return self._leaf(node.variable)
        name = self._op_names[id(node)]
        return f"{name}:{index}" if index and id(node) in self._multi else name

    def add_ops(self, nodes) -> None:
        ops = []
        for node in nodes:
            op = _op_type(node)
            k = self._counts.get(op, 0)
            self._counts[op] = k + 1
            name = f"{self.scope_of.get(node, self.root)}/{op}_{k}"
            self._op_names[id(node)] = name
            shapes = [tuple(shape) for shape, _ in node._out_meta if shape is not None]
            if len(shapes) > 1:
                self._multi.add(id(node))
            inputs = [self._source(edge) for edge in node.next_edges if edge is not None]
            ops.append((name, op, inputs, shapes))
        self.nodes.extend(ops)  # after the parameter nodes _source added

    def add_outputs(self, outputs) -> None:
        for i, t in enumerate(outputs):
            if t.grad_fn is not None:
                inputs = [self._source((t.grad_fn, t._out_idx))]
            elif id(t) in self.leaf_names:
                inputs = [self._leaf(t)]
            else:
                inputs = []  # an output no gradient reaches (a constant, an integer result)
            self.nodes.append((f"output/output.{i + 1}", "IO Node", inputs, [tuple(t.shape)]))

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
