"""A layer-by-layer summary of a model, like torchinfo's: output shape, parameters and
multiply-adds of every layer, found by running one forward pass with forward hooks.

>>> print(summary(lenet(), (1, 1, 32, 32)))   # doctest: +SKIP

With ``explain=True`` each convolution and pooling layer also shows its output-size formula
with the numbers filled in (:func:`ember.explain.sizes.explain_size`), checked against the
shape the layer really produced.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import re

import numpy as np

from ember.explain.limits import check_memory
from ember.explain.sizes import SizeError, explain_size

__all__ = ["summary", "Summary", "LayerInfo", "MODELS", "load_model", "explain_module", "eval_mode",
           "lenet", "mlp", "small_cnn", "dcgan_generator"]


@dataclasses.dataclass
class LayerInfo:
    name: str               # attribute path, e.g. "features.0"
    type: str               # class name, e.g. "Conv2d"
    depth: int              # 0 for the model itself
    index: int              # position among the layers of the same depth (torchinfo's "1-3")
    input_shape: tuple | None
    output_shape: tuple | None
    params: int             # the module's own parameters (not its children's)
    trainable: int
    mult_adds: int
    is_leaf: bool
    formula: list = dataclasses.field(default_factory=list)   # size formula lines (explain=True)


@dataclasses.dataclass
class Summary:
    model_name: str
    input_shape: tuple
    layers: list
    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    activation_bytes: int
    param_bytes: int

    def __str__(self) -> str:
        return _render(self)


def summary(model, input_size, *, explain=False, dtype=None, max_bytes=None) -> Summary:
    """Run ``model`` once on zeros of shape ``input_size`` (no gradients) and tabulate each
    layer: output shape, own parameters, multiply-adds (convolutions, transposed convolutions
    and linear layers; bias additions and element-wise layers are not counted, as in
    torchinfo).

    ``max_bytes``: refuse (:class:`~ember.explain.limits.MemoryLimitError`) an input, or a
    layer whose input and estimated output, above that many bytes - checked before each layer
    runs, so a huge ``input_size`` fails at once instead of after allocating.

    The model runs in eval mode (:func:`eval_mode`): the pass leaves batch norm's running
    statistics and the random streams (dropout) as they were."""
    import ember

    input_size = tuple(int(v) for v in input_size)
    itemsize = np.dtype(ember.zeros(1, dtype=dtype).numpy().dtype).itemsize
    check_memory("the input", int(np.prod(input_size)) * itemsize, max_bytes)
    names = {id(m): name for name, m in model.named_modules()}
    with eval_mode(model):
        records = _record_forward(model, ember.zeros(input_size, dtype=dtype), names, itemsize,
                                  max_bytes)
    layers, per_depth = [], {}
    for key, rec in records.items():
        name = names.get(key, "")
        depth = 0 if name == "" else name.count(".") + 1
        per_depth[depth] = per_depth.get(depth, 0) + 1
        layers.append(_layer_info(rec, name, depth, per_depth[depth], explain))

    all_params = list(model.parameters())
    total = sum(p.numel() for p in all_params)
    trainable = sum(p.numel() for p in all_params if p.requires_grad)
    activation = sum(int(np.prod(info.output_shape)) for info in layers
                     if info.is_leaf and info.output_shape is not None) * itemsize
    return Summary(type(model).__name__, input_size, layers, total, trainable,
                   sum(info.mult_adds for info in layers),
                   int(np.prod(input_size)) * itemsize, activation,
                   sum(p.numel() * p.element_size() for p in all_params))


@contextlib.contextmanager
def eval_mode(model):
    """``model.eval()`` for the block, then every module back in the mode it was in. A look at
    a model must not change it: in training mode a forward pass updates batch norm's running
    statistics and draws dropout masks from the global random stream."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def _record_forward(model, x, names, itemsize: int, max_bytes) -> dict:
    """Run ``model(x)`` without gradients under hooks: ``{id(module): {module, input, output}}``
    in the order the modules first ran, each leaf's memory checked before it runs."""
    records = {}

    def pre_hook(module, args):
        key = id(module)
        if max_bytes is not None and args and not any(True for _ in module.children()):
            estimate = _layer_bytes(module, _shape_of(args[0]), itemsize)
            check_memory(f"layer {names.get(key) or type(module).__name__} "
                         f"({type(module).__name__})", estimate, max_bytes)
        if key not in records:
            records[key] = dict(module=module, input=_shape_of(args[0]) if args else None, output=None)

    def hook(module, args, output):
        records[id(module)]["output"] = _shape_of(output)

    run_hooked(model, x, pre_hook, hook)
    return records


def run_hooked(model, x, pre_hook, hook) -> None:
    """``model(x)`` without gradients, with ``pre_hook`` and ``hook`` on every module; the
    hooks are removed afterwards, also when the forward raises."""
    import ember

    handles = []
    try:
        for _, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(hook))
        with ember.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()


def _layer_info(rec, name: str, depth: int, index: int, explain: bool) -> LayerInfo:
    """One row of the summary from a module's recorded input and output shapes."""
    module = rec["module"]
    own = list(module.parameters(recurse=False))
    params = sum(p.numel() for p in own)
    trainable = sum(p.numel() for p in own if p.requires_grad)
    is_leaf = not any(True for _ in module.children())
    info = LayerInfo(name, type(module).__name__, depth, index, rec["input"], rec["output"],
                     params, trainable, _mult_adds(module, rec["input"], rec["output"]), is_leaf)
    if explain and rec["input"] is not None:
        info.formula = _formula_lines(module, rec["input"], rec["output"])
    return info


def _shape_of(x):
    if hasattr(x, "shape"):
        return tuple(int(v) for v in x.shape)
    if isinstance(x, (tuple, list)) and x and hasattr(x[0], "shape"):
        return tuple(int(v) for v in x[0].shape)   # e.g. (values, indices) of max pooling
    return None


def _layer_bytes(module, input_shape, itemsize):
    """Memory one leaf layer needs: its input and its output (convolution and pooling outputs
    from their size formula; Linear's last dim; anything else as large as its input), twice
    over for the kernels' working copies (batch-last layouts, bounded im2col chunks)."""
    if input_shape is None:
        return 0
    n_in = int(np.prod(input_shape))
    kind = type(module).__name__
    n_out = n_in
    if kind == "Linear" and input_shape:
        n_out = n_in // max(input_shape[-1], 1) * module.out_features
    else:
        try:
            report = explain_module(module, input_shape)
        except (SizeError, ValueError, TypeError):
            report = None       # the layer itself will say what is wrong with its input
        if report is not None:
            n_out = int(np.prod(report.output_shape))
    return 2 * (n_in + n_out) * itemsize


def _mult_adds(module, input_shape, output_shape):
    """Multiplications of one forward pass of the layers that multiply by weights."""
    kind = type(module).__name__
    if input_shape is None or output_shape is None:
        return 0
    if re.fullmatch(r"Conv[123]d", kind):
        taps = (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
        return int(np.prod(output_shape)) * taps
    if re.fullmatch(r"ConvTranspose[123]d", kind):
        # every input element is multiplied by a (out_channels/groups, *kernel) slice
        taps = (module.out_channels // module.groups) * int(np.prod(module.kernel_size))
        return int(np.prod(input_shape)) * taps
    if kind == "Linear":
        return int(np.prod(output_shape)) * module.in_features
    if kind == "Bilinear":
        return int(np.prod(output_shape)) * module.in1_features * module.in2_features
    if kind in ("RNN", "LSTM", "GRU"):
        return _recurrent_mult_adds(module, input_shape)
    if kind in ("RNNCell", "LSTMCell", "GRUCell"):
        gates = {"RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}[kind]
        steps = int(np.prod(input_shape[:-1])) if len(input_shape) > 1 else 1
        return steps * gates * module.hidden_size * (module.input_size + module.hidden_size)
    if kind == "MultiheadAttention":
        return _attention_mult_adds(module, input_shape)
    return 0


def _recurrent_mult_adds(module, input_shape):
    """Per time step and sequence, each layer and direction multiplies its input and its
    previous (projected) state by the gate weights (gates x hidden rows), plus LSTM's
    projection; the steps are every leading element of the input (T*N, or a packed batch's
    total length)."""
    gates = {"LSTM": 4, "GRU": 3}.get(type(module).__name__, 1)
    hidden, proj = module.hidden_size, getattr(module, "proj_size", 0)
    state = proj or hidden
    directions = 2 if module.bidirectional else 1
    steps = int(np.prod(input_shape[:-1]))
    total, layer_input = 0, module.input_size
    for _ in range(module.num_layers):
        per_step = gates * hidden * (layer_input + state) + (hidden * proj if proj else 0)
        total += directions * per_step
        layer_input = state * directions
    return steps * total


def _attention_mult_adds(module, input_shape):
    """Self-attention on the recorded query (key and value of the same length): the q/k/v and
    output projections, Q K^T and the weighted sum of V."""
    if len(input_shape) == 2:
        length, batch = input_shape[0], 1
    else:
        length, batch = (input_shape[1], input_shape[0]) if module.batch_first else input_shape[:2]
    e = module.embed_dim
    projections = length * batch * e * (e + module.kdim + module.vdim + e)
    scores_and_mix = 2 * batch * length * length * e   # heads x head_dim = embed_dim
    return projections + scores_and_mix


def explain_module(module, input_shape):
    """The :class:`~ember.explain.sizes.SizeReport` of a convolution or pooling module on
    ``input_shape``, or None for other layers."""
    kind = type(module).__name__
    m = re.fullmatch(r"(Conv|ConvTranspose|MaxPool|AvgPool)([123])d", kind)
    if not m:
        return None
    family = {"Conv": "conv", "ConvTranspose": "conv_transpose", "MaxPool": "max_pool",
              "AvgPool": "avg_pool"}[m.group(1)]
    op = f"{family}{m.group(2)}d"
    if family in ("conv", "conv_transpose"):
        if getattr(module, "padding_mode", "zeros") != "zeros":
            return None  # non-zero padding modes pad explicitly; the formula is the same with p
        options = dict(out_channels=module.out_channels, kernel_size=module.kernel_size,
                       stride=module.stride, padding=module.padding, dilation=module.dilation,
                       groups=module.groups, bias=module.bias is not None)
        if family == "conv_transpose":
            options["output_padding"] = module.output_padding
    else:
        options = dict(kernel_size=module.kernel_size, stride=module.stride or module.kernel_size,
                       padding=module.padding, ceil_mode=module.ceil_mode)
        if family == "max_pool":
            options["dilation"] = module.dilation
    return explain_size(op, input_shape, **options)


def _formula_lines(module, input_shape, output_shape):
    report = explain_module(module, input_shape)
    if report is None:
        return []
    lines = [str(dim) + (f" -> {dim.final}" if dim.final != dim.value else "") for dim in report.dims]
    if tuple(report.output_shape) != tuple(output_shape or ()):
        lines.append(f"!! the formula gives {list(report.output_shape)} but the layer produced "
                     f"{list(output_shape)}")
    return lines


# ---------------------------------------------------------------------------------------------
# rendering

_WIDTHS = (42, 24, 12, 14)


def _render(s: Summary) -> str:
    width = sum(_WIDTHS)
    bar, thin = "=" * width, "-" * width
    head = ("Layer (type:depth-idx)".ljust(_WIDTHS[0]) + "Output Shape".ljust(_WIDTHS[1])
            + "Param #".rjust(_WIDTHS[2]) + "Mult-Adds".rjust(_WIDTHS[3]))
    lines = [bar, head, bar]
    for info in s.layers:
        if info.depth == 0:
            label = info.type
        else:
            label = "│   " * (info.depth - 1) + "├─" + f"{info.type}: {info.depth}-{info.index}"
        if info.name:
            label += f" ({info.name.rsplit('.', 1)[-1]})" if not info.name.split(".")[-1].isdigit() else ""
        params = f"{info.params:,}" if info.params else "--"
        mult_adds = f"{info.mult_adds:,}" if info.mult_adds else "--"
        shape = str(list(info.output_shape)) if info.output_shape is not None else "--"
        lines.append(label[:_WIDTHS[0] - 1].ljust(_WIDTHS[0]) + shape.ljust(_WIDTHS[1])
                     + params.rjust(_WIDTHS[2]) + mult_adds.rjust(_WIDTHS[3]))
        indent = "│   " * info.depth + "  "
        for formula in info.formula:
            lines.append(indent + formula)
    mb = 1024 ** 2
    lines += [bar,
              f"Total params: {s.total_params:,}",
              f"Trainable params: {s.trainable_params:,}",
              f"Non-trainable params: {s.total_params - s.trainable_params:,}",
              f"Total mult-adds: {s.total_mult_adds:,} ({s.total_mult_adds / 1e6:.2f} M)",
              thin,
              f"Input size (MB): {s.input_bytes / mb:.2f}",
              f"Layer outputs (MB): {s.activation_bytes / mb:.2f}  (forward pass; backward keeps "
              "about as much again)",
              f"Params size (MB): {s.param_bytes / mb:.2f}",
              bar]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# named models

def lenet():
    """LeNet-5 (LeCun et al. 1998) on 1x32x32 images: two conv + average-pool stages, three
    fully connected layers, tanh activations."""
    from ember import nn
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2)))
    model.add_module("classifier", nn.Sequential(
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10)))
    return model


def mlp():
    """A two-layer perceptron on 28x28 images (MNIST)."""
    from ember import nn
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 10))


def small_cnn():
    """A small VGG-style network on 3x32x32 images (CIFAR-10)."""
    from ember import nn
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)))
    model.add_module("classifier", nn.Sequential(nn.Flatten(), nn.Linear(64 * 8 * 8, 10)))
    return model


def dcgan_generator():
    """DCGAN's generator (Radford et al. 2016, without batch norm): a 100-d noise vector,
    as 100x1x1, up to a 3x32x32 image by transposed convolutions."""
    from ember import nn
    return nn.Sequential(
        nn.ConvTranspose2d(100, 256, 4, 1, 0), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(64, 3, 4, 2, 1), nn.Tanh())


# name -> (factory, default input size)
MODELS = {
    "lenet": (lenet, (1, 1, 32, 32)),
    "mlp": (mlp, (1, 1, 28, 28)),
    "small_cnn": (small_cnn, (1, 3, 32, 32)),
    "dcgan_generator": (dcgan_generator, (1, 100, 1, 1)),
}


def load_model(spec: str, checkpoint=None):
    """The model named by ``spec``, and its default input size (or None):

    * a named model (:data:`MODELS`: ``lenet``, ``small_cnn`` ...);
    * a model of the zoo (``resnet18``, ``vgg11``, ... as ``ember.vision.models`` builds it,
      randomly initialised; default input 1x3x224x224);
    * ``file.py:attr`` (a Python file, relative to the current directory) or
      ``package.module:attr``, where attr is a Module, a Module class or a function returning
      one.

    ``checkpoint``: a state dict saved by ``ember.save``/``torch.save`` (safetensors or torch's
    zip format), loaded with ``weights_only=True`` - nothing in it is unpickled - into the
    model (strict: every key must match).

    Every way this can fail is a ValueError in words (the module's own import error is named,
    not re-raised: it is the user's code, and one line says enough)."""
    model, size = _build_model(spec)
    if checkpoint is not None:
        _load_checkpoint(model, checkpoint)
    return model, size


def _build_model(spec):
    if spec in MODELS:
        factory, size = MODELS[spec]
        return factory(), size
    zoo = _zoo_builder(spec)
    if zoo is not None:
        return zoo(), (1, 3, 224, 224)
    module_name, colon, attr = spec.rpartition(":") if spec.count(":") else ("", "", "")
    if not colon or not module_name or not attr:
        raise ValueError(f"unknown model {spec!r}: use one of {', '.join(MODELS)}, a model of "
                         "ember.vision.models (e.g. resnet18), 'file.py:Class' or "
                         "'package.module:attribute'")
    obj = _import_file(module_name) if module_name.endswith(".py") else _import(module_name)
    owner = module_name
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{spec}: {owner} has no attribute {part!r}")
        obj = getattr(obj, part)
        owner = f"{owner}:{part}"
    from ember.nn import Module
    if not isinstance(obj, Module):
        if not callable(obj):
            raise ValueError(f"{spec} is of type {type(obj).__name__}, not an ember.nn.Module, "
                             "a Module class or a function returning one")
        try:
            obj = obj()
        except Exception as e:  # noqa: BLE001 - the user's constructor decides what it raises
            raise ValueError(f"{spec}() failed: {type(e).__name__}: {e}") from e
    if not isinstance(obj, Module):
        raise ValueError(f"{spec}() gave a {type(obj).__name__}, not an ember.nn.Module")
    return obj, getattr(obj, "example_input_size", None)


def _zoo_builder(name):
    """The builder of ``ember.vision.models`` registered under ``name``, or None."""
    from ember.vision.models import get_model_builder, list_models
    return get_model_builder(name) if name in list_models() else None


def _import_file(path):
    """A Python file as a module (its folder first on sys.path while it imports, so it can
    import its neighbours)."""
    import importlib.util
    import os
    import sys

    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise ValueError(f"no such file: {path}")
    name = "_ember_model_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(full))[0])
    spec = importlib.util.spec_from_file_location(name, full)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(full)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file decides what it raises
        raise ValueError(f"running {path} failed: {type(e).__name__}: {e}") from e
    finally:
        sys.path.remove(folder)
    return module


_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")   # common checkpoint layouts


def _load_checkpoint(model, path):
    """``model.load_state_dict(ember.load(path, weights_only=True))``, errors in words; a dict
    that wraps the state dict under one of the usual keys is unwrapped."""
    import ember

    try:
        state = ember.load(path, weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"no such checkpoint: {path}") from None
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file, or a refused global
        raise ValueError(f"cannot load the checkpoint {path}: {type(e).__name__}: {e}") from e
    if isinstance(state, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict):
        raise ValueError(f"the checkpoint {path} holds a {type(state).__name__}, not a state "
                         "dict (a dict of tensor names to tensors)")
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as e:
        raise ValueError(f"the checkpoint {path} does not fit {type(model).__name__}: {e}") from e


def _import(module_name):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise ValueError(f"no module named {e.name!r} (looked in the current directory and "
                             "on sys.path)") from e
        raise ValueError(f"importing {module_name!r} failed: ModuleNotFoundError: {e}") from e
    except Exception as e:  # noqa: BLE001 - the user's module decides what it raises
        raise ValueError(f"importing {module_name!r} failed: {type(e).__name__}: {e}") from e
