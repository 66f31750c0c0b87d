"""``ember.onnx.export``: torch's legacy exporter's signature over ember's tracer."""
from __future__ import annotations

import os

import numpy as np

from .. import Tensor
from ..autograd import grad_mode
from ..autograd.tracing import trace_calls
from ._graph import Graph, OnnxExporterError
from ._symbolic import TABLE, UNTRACED
from ._packed import packed_sequences
from ._trace import ProbeRecord, Tracer, ValueProbe, tracing

DEFAULT_OPSET = 17  # torch 2.x's legacy exporter default
MIN_OPSET, MAX_OPSET = 13, 20  # the range the op table is written for


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, operator_export_type=None, opset_version=None,
           do_constant_folding=True, dynamic_axes=None, keep_initializers_as_inputs=None,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining=True):
    """Export ``model`` to ONNX by tracing one forward pass on ``args`` (torch.onnx.export's
    legacy signature). ``f``: a path or a binary file object. Returns None.

    ``args``: a Tensor, or a tuple of positional arguments whose last element may be a dict of
    keyword arguments. The model runs in eval mode while it is traced (torch's default
    ``TrainingMode.EVAL``); its parameters and buffers become initializers named as in
    ``named_parameters()``/``named_buffers()`` (graph inputs instead with
    ``export_params=False``). ``dynamic_axes``: ``{name: [axis, ...]}`` or
    ``{name: {axis: "dim_name"}}`` for inputs and outputs. An op with no ONNX mapping raises
    :class:`UnsupportedOperatorError` naming it.
    """
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"Unsupported ONNX opset version: {opset}; ember.onnx exports opsets "
                         f"{MIN_OPSET} to {MAX_OPSET}")
    _check_options(training, operator_export_type, export_modules_as_functions)
    positional, keywords = _split_args(args)
    graph = Graph(opset, dynamic=bool(dynamic_axes))
    tracer = Tracer(graph, TABLE, fold_constants=do_constant_folding, untraced_table=UNTRACED)
    params = _bind_parameters(model, tracer, export_params)
    tracer.param_names = {name for name, _ in params}
    call_args, inputs = _bind_inputs(positional, input_names, tracer)
    tracer.dynamic_dims = [(name, axis, t.shape[axis]) for name, t in inputs
                           for axis in _axes((dynamic_axes or {}).get(name))]
    with _eval_mode(model), grad_mode.enable_grad():
        tracer.value_probe = _value_probe(model, call_args, keywords, params)
        if dynamic_axes:
            grown = _grown_inputs(call_args, inputs, dynamic_axes)
            probe = ProbeRecord()
            with trace_calls(probe.on_call), packed_sequences(probe):
                model(*grown, **keywords)
            tracer.probe = probe.seen
        with tracing(tracer), packed_sequences(tracer):
            result = model(*call_args, **keywords)
    outputs = _flatten_outputs(result)
    proto = _build_model(graph, tracer, inputs, params, outputs, output_names, dynamic_axes,
                         export_params, bool(keep_initializers_as_inputs))
    onnx = graph.onnx
    onnx.checker.check_model(proto)
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    if isinstance(f, (str, os.PathLike)):
        onnx.save_model(proto, os.fspath(f))
    else:
        f.write(proto.SerializeToString())


def _check_options(training, operator_export_type, export_modules_as_functions):
    """torch's enum options: only the values ember exports (eval mode, plain ONNX ops)."""
    if training is True or training not in (None, False) and \
            getattr(training, "name", None) != "EVAL":
        raise OnnxExporterError(f"ember.onnx exports models in eval mode only "
                                f"(training=TrainingMode.EVAL), got training={training!r}")
    if operator_export_type is not None and \
            getattr(operator_export_type, "name", operator_export_type) != "ONNX":
        raise OnnxExporterError(f"ember.onnx exports standard ONNX operators only "
                                f"(operator_export_type=ONNX), got {operator_export_type!r}")
    if export_modules_as_functions:
        raise OnnxExporterError("ember.onnx does not export modules as ONNX functions "
                                "(export_modules_as_functions=False)")


def _split_args(args):
    if isinstance(args, Tensor):
        return (args,), {}
    args = tuple(args)
    if args and isinstance(args[-1], dict):
        return args[:-1], args[-1]
    return args, {}


class _eval_mode:
    """model.eval() for the block, each submodule's training flag restored after."""

    def __init__(self, model):
        self.modules = list(model.modules()) if hasattr(model, "modules") else []

    def __enter__(self):
        self.flags = [m.training for m in self.modules]
        for m in self.modules:
            m.training = False

    def __exit__(self, *exc):
        for m, flag in zip(self.modules, self.flags):
            m.training = flag


def _bind_parameters(model, tracer, export_params):
    """Parameters and buffers, by their state_dict names: [(name, tensor)]."""
    found = []
    seen = set()
    named = []
    if hasattr(model, "named_parameters"):
        named = list(model.named_parameters()) + list(model.named_buffers())
    for name, t in named:
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        tracer.bind(t, name, static=export_params)
        tracer.graph.initializers[name] = t._data  # dropped at the end if unused
        found.append((name, t))
    return found


def _bind_inputs(positional, input_names, tracer):
    """The arguments the model is called with, and the graph inputs: each Tensor argument as a
    fresh leaf (floating ones requiring grad, so every op on it goes through a Function),
    named from ``input_names`` or ``input.<i>``. Other arguments (numbers, None) are passed as
    they are and fixed in the graph, as torch's tracer does."""
    names = list(input_names or [])
    call_args, inputs = [], []
    for a in positional:
        if not isinstance(a, Tensor):
            call_args.append(a)
            continue
        leaf = Tensor._wrap(a._data.copy())
        if leaf._data.dtype.kind in "fc":
            leaf.requires_grad_(True)
        name = names[len(inputs)] if len(inputs) < len(names) else f"input.{len(inputs)}"
        tracer.bind(leaf, name)
        inputs.append((name, leaf))
        call_args.append(leaf)
    return call_args, inputs


def _value_probe(model, call_args, keywords, params):
    """The model run on other values of the same shapes (each floating input's elements
    shuffled: values in its own range), recording the constants its ops meet; None when that
    run fails (the model rejects the shuffled values). The random stream is restored so that
    the traced run draws what this one drew."""
    rng = np.random.default_rng(0)
    shuffled = []
    for a in call_args:
        if isinstance(a, Tensor) and a._data.dtype.kind in "fc" and a._data.size > 1:
            a = Tensor._wrap(rng.permutation(a._data.reshape(-1)).reshape(a._data.shape))
            a.requires_grad_(True)
        shuffled.append(a)
    probe = ValueProbe({id(t._data) for _, t in params},
                       [a for a in shuffled if isinstance(a, Tensor)])
    from .. import get_rng_state, set_rng_state
    state = get_rng_state()
    try:
        with trace_calls(probe.on_call, probe.on_untraced), packed_sequences(probe):
            model(*shuffled, **keywords)
    except Exception:  # noqa: BLE001  (the check is skipped, the export goes on)
        return None
    finally:
        set_rng_state(state)
    return probe


def _grown_inputs(call_args, inputs, dynamic_axes):
    """The arguments with each dynamic axis of each input one longer (its first slice repeated
    at the end: indices stay valid), for the probe run that tells which shapes follow it."""
    axes_of = {id(t): _axes(dynamic_axes.get(name)) for name, t in inputs}
    grown = []
    for a in call_args:
        if isinstance(a, Tensor) and axes_of.get(id(a)):
            array = a._data
            for axis in axes_of[id(a)]:
                array = np.concatenate([array, array.take([0], axis=axis)], axis=axis)
            a = Tensor._wrap(array)
            if array.dtype.kind in "fc":
                a.requires_grad_(True)
        grown.append(a)
    return grown


def _axes(spec):
    if spec is None:
        return []
    return [int(a) for a in (spec.keys() if isinstance(spec, dict) else spec)]


def _flatten_outputs(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _flatten_outputs(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _flatten_outputs(r)]
    raise OnnxExporterError(f"ember.onnx.export: the model returned a {type(result).__name__}; "
                            "expected Tensors (or lists, tuples, dicts of them)")


def _dims(name, shape, dynamic_axes):
    """The declared shape: dynamic axes get a symbolic name."""
    spec = (dynamic_axes or {}).get(name)
    if spec is None:
        return list(shape)
    if not isinstance(spec, dict):
        spec = {int(a): f"{name}_dynamic_axes_{j + 1}" for j, a in enumerate(spec)}
    dims = list(shape)
    for axis, label in spec.items():
        dims[int(axis)] = label
    return dims


def _build_model(graph, tracer, inputs, params, outputs, output_names, dynamic_axes,
                 export_params, initializers_as_inputs):
    onnx = graph.onnx
    helper = onnx.helper
    known = {n for n, _ in inputs} | set(output_names or [])
    unknown = set(dynamic_axes or {}) - known
    if unknown:
        raise ValueError(f"dynamic_axes names {sorted(unknown)} that are neither an input nor "
                         f"an output name (inputs {[n for n, _ in inputs]}, outputs "
                         f"{list(output_names or [])})")
    out_names = list(output_names or [])
    out_infos = []
    taken = {n for n, _ in inputs} | set(graph.initializers)
    for i, t in enumerate(outputs):
        value = tracer.value(t)
        name = out_names[i] if i < len(out_names) else value
        if name in taken:  # an input, a weight or an earlier output returned as is
            name = f"output.{i}" if i >= len(out_names) else name
        if name != value:
            graph.nodes.append(helper.make_node("Identity", [value], [name],
                                                name=graph.fresh("Identity")))
        taken.add(name)
        dims = _dims(name, t.shape, dynamic_axes)
        if (dynamic_axes or tracer.layouts) and name not in (dynamic_axes or {}):
            # shapes that may follow a dynamic input, or the lengths of packed sequences
            dims = [None] * t.ndim
        out_infos.append(helper.make_tensor_value_info(name, _elem(t._data.dtype), dims))
    graph.nodes = _reaching(graph.nodes, {o.name for o in out_infos})
    used = {i for n in graph.nodes for i in n.input} | {o.name for o in out_infos}
    tracer.check_frozen(used)
    _check_inputs_reach_graph(inputs, used)
    in_infos = [helper.make_tensor_value_info(n, _elem(t._data.dtype),
                                              _dims(n, t.shape, dynamic_axes))
                for n, t in inputs]
    param_names = {n for n, _ in params}
    initializers = []
    for name, array in graph.initializers.items():
        if name not in used:
            continue
        if name in param_names and not export_params:
            in_infos.append(helper.make_tensor_value_info(name, _elem(array.dtype), array.shape))
            continue
        # (ascontiguousarray makes a 0-d array 1-d: keep scalars scalars)
        initializers.append(onnx.numpy_helper.from_array(
            np.ascontiguousarray(array).reshape(array.shape), name))
        if initializers_as_inputs and name in param_names:  # IR < 4 readers want them listed
            in_infos.append(helper.make_tensor_value_info(name, _elem(array.dtype),
                                                          array.shape))
    g = helper.make_graph(graph.nodes, "main_graph", in_infos, out_infos,
                          initializer=initializers)
    model = helper.make_model(g, producer_name="ember",
                              opset_imports=[helper.make_opsetid("", graph.opset)])
    model.ir_version = 8  # opsets 13-20 all load in IR 8 readers (onnxruntime >= 1.10)
    if graph.opset >= 19:
        model.ir_version = 9
    from .. import __version__
    model.producer_version = __version__
    return model


def _reaching(nodes, wanted):
    """The nodes some output depends on, in order (outputs nobody reads, such as pooling
    indices computed alongside the values, leave no work in the model)."""
    wanted, kept = set(wanted), []
    for node in reversed(nodes):
        if any(o in wanted for o in node.output):
            kept.append(node)
            wanted.update(i for i in node.input if i)
    return kept[::-1]


def _check_inputs_reach_graph(inputs, used):
    """A tensor input no node reads had its values read at trace time (embedding_bag's offsets,
    a .tolist()): the exported model would ignore what it is fed, a silently wrong result."""
    unread = [n for n, _ in inputs if n not in used]
    if unread:
        raise OnnxExporterError(
            f"ember.onnx.export: the input(s) {unread} do not reach the exported graph: their "
            "values were read at trace time (e.g. embedding_bag's offsets, which fix the bag "
            "layout), so the exported model would ignore what it is fed. Make them constants of "
            "the model, or leave them out of the inputs")


def _elem(dtype):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
