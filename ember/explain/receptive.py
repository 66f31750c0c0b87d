"""Receptive fields: which input pixels one output element of a layer can see.

Per spatial axis, three numbers describe the field of every element of a layer's output
(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019; Dumoulin & Visin 2016):

* ``size`` r - how many input pixels, end to end, one output element depends on;
* ``jump`` j - how far apart in the input the fields of two neighbouring outputs are (the
  product of the strides so far);
* ``start`` - the input index where the field of output 0 begins (negative: it begins in the
  padding); output ``o``'s field is ``[start + o*j, start + o*j + r - 1]``.

A convolution or pooling layer with kernel k, stride s, padding p and dilation d maps them as::

    r_out = r_in + d*(k - 1) * j_in      j_out = j_in * s      start_out = start_in - p * j_in

``ceil_mode`` only adds an output at the end and changes none of the three. Layers that act
element by element (activations, batch norm, dropout, additions of two branches) keep the
field; where branches meet, the field is the union of theirs. Where the arithmetic has no
answer the field is *not defined* and the reason is given instead of numbers: transposed
convolution and upsampling (an output's field depends on its position, the jump would be a
fraction), adaptive pooling with unequal bins, Flatten/Linear (no spatial axes left), a value
computed from the whole map broadcast back (squeeze-and-excitation), or an operation this
module does not know.

The fields are found in one forward pass with gradients on (the autograd graph tells which
layer's output fed which), so branching models (ResNet's shortcuts, DenseNet's concatenations)
are handled as well as chains.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from ember.explain.summary import eval_mode
from ember.nn import _shapes

__all__ = ["Field", "LayerField", "receptive_field", "conv_field", "identity_field"]


@dataclasses.dataclass(frozen=True)
class Field:
    """The receptive field of every element of one feature map, per spatial axis."""

    size: tuple     # r: extent in input pixels
    jump: tuple     # j: input distance between the fields of neighbouring outputs
    start: tuple    # input index where output 0's field begins (negative: in the padding)

    def extent(self, index):
        """The input interval ``(first, last)`` per axis seen by the output at ``index``."""
        return tuple((s + o * j, s + o * j + r - 1)
                     for s, o, j, r in zip(self.start, index, self.jump, self.size))

    @property
    def center(self):
        """Where output 0's field is centred (half-pixels when r is even)."""
        return tuple(s + (r - 1) / 2 for s, r in zip(self.start, self.size))


def identity_field(n: int) -> Field:
    """The input itself: each pixel sees itself."""
    return Field((1,) * n, (1,) * n, (0,) * n)


@dataclasses.dataclass
class LayerField:
    """The field of one module's output, or why it has none (``field`` None, ``note`` says)."""

    name: str
    type: str
    output_shape: tuple | None
    field: Field | None
    note: str = ""

    @property
    def defined(self) -> bool:
        return self.field is not None


class _Undefined:
    """Why a tensor has no receptive field (propagates to everything computed from it)."""

    def __init__(self, reason: str):
        self.reason = reason


_CONSTANT = object()   # depends on no input pixel (parameters, buffers, constants)


def conv_field(field: Field, kernel_size, stride=1, padding=0, dilation=1) -> Field:
    """The field after a convolution or pooling window (Araujo et al., eq. 2 and 3, with the
    effective kernel ``d*(k-1)+1`` of a dilated kernel). ``padding`` is the left padding per
    axis (an int or a tuple); the right padding only adds outputs at the end."""
    n = len(field.size)
    k, s, p, d = (_shapes._ntuple(n, name)(v) for name, v in (
        ("kernel_size", kernel_size), ("stride", stride), ("padding", padding), ("dilation", dilation)))
    return Field(tuple(r + dd * (kk - 1) * j for r, j, kk, dd in zip(field.size, field.jump, k, d)),
                 tuple(j * ss for j, ss in zip(field.jump, s)),
                 tuple(st - pp * j for st, j, pp in zip(field.start, field.jump, p)))


def receptive_field(model, input_shape, dtype=None) -> list:
    """The receptive field of every module's output in ``model`` on an input of shape
    ``input_shape`` = (N, C, *spatial): a list of :class:`LayerField` in the order the modules
    first ran (the model itself first, as in :func:`~ember.explain.summary.summary`). The
    model runs once, in eval mode, and is left as it was.

    >>> from ember import nn
    >>> fields = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2)), (1, 1, 8, 8))
    >>> fields[-1].field
    Field(size=(4, 4), jump=(2, 2), start=(0, 0))
    """
    import ember

    input_shape = tuple(int(v) for v in input_shape)
    n = len(input_shape) - 2
    names = {id(m): name for name, m in model.named_modules()}
    x = ember.zeros(input_shape, dtype=dtype, requires_grad=True)
    graph = _Graph(x, n)
    order, handles = {}, []   # id(module) -> [module, output shape, field], in calling order

    def pre_hook(module, args):
        order.setdefault(id(module), [module, None, _Undefined("did not return a tensor")])

    def hook(module, args, output):
        out = output[0] if isinstance(output, (tuple, list)) and output else output
        if not hasattr(out, "grad_fn"):
            return
        if len(out.shape) < n + 2:
            field = _Undefined(f"not defined: the output {list(out.shape)} has no spatial axes")
        else:
            field = _module_rule(module, args[0] if args else None, graph, n)
        if field is None:        # no rule for this module: follow the graph inside it
            field = graph.field_of(out, type(module).__name__)
        graph.register(out, field)
        record = order[id(module)]
        if record[1] is None:    # a module called twice is shown at its first call
            record[1:] = [tuple(out.shape), field]

    try:
        for _, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(hook))
        with ember.enable_grad(), eval_mode(model):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return [_layer_field(names.get(key, ""), m, shape, field, n)
            for key, (m, shape, field) in order.items()]


def _layer_field(name, module, shape, field, n):
    kind = type(module).__name__
    if n < 1:
        return LayerField(name, kind, shape, None, "the input has no spatial axes")
    if isinstance(field, Field):
        return LayerField(name, kind, shape, field)
    if field is _CONSTANT:
        return LayerField(name, kind, shape, None, "does not depend on the input")
    return LayerField(name, kind, shape, None, field.reason)


# ---------------------------------------------------------------------------------------------
# module rules: layers whose window the arithmetic knows

_WINDOW = re.compile(r"(Conv|MaxPool|AvgPool|LPPool)([123])d")
_ADAPTIVE = re.compile(r"Adaptive(Max|Avg)Pool([123])d")
_PAD = re.compile(r"(Zero|Constant|Reflection|Replication|Circular)Pad([123])d")
_NOT_DEFINED = {
    "ConvTranspose": "transposed convolution: how many inputs an output sees depends on its "
                     "position, and the jump would be a fraction (1/stride)",
    "Upsample": "upsampling: neighbouring outputs share inputs, the jump would be a fraction",
    "UpsamplingNearest2d": "upsampling: neighbouring outputs share inputs, the jump would be a fraction",
    "UpsamplingBilinear2d": "upsampling: neighbouring outputs share inputs, the jump would be a fraction",
    "PixelShuffle": "PixelShuffle moves channels into space: outputs of one 2x2 block come "
                    "from different channels of one input pixel, the jump would be a fraction",
    "FractionalMaxPool2d": "fractional max pooling: random window positions",
    "FractionalMaxPool3d": "fractional max pooling: random window positions",
}


def _module_rule(module, arg, graph, n):
    """The field of ``module``'s output from its input's, for the layers with a window rule;
    None for every other module (its output is then followed through the autograd graph)."""
    kind = type(module).__name__
    base = re.sub(r"[123]d$", "", kind)
    if base in _NOT_DEFINED or kind in _NOT_DEFINED:
        return _Undefined(f"not defined after {kind}: {_NOT_DEFINED.get(base) or _NOT_DEFINED[kind]}")
    window, adaptive, pad = _WINDOW.fullmatch(kind), _ADAPTIVE.fullmatch(kind), _PAD.fullmatch(kind)
    if not (window or adaptive or pad) or not hasattr(arg, "shape"):
        return None
    field_in = graph.field_of(arg)
    if not isinstance(field_in, Field):
        return field_in
    dims = int((window or adaptive or pad).group(2))
    if dims != n:
        return _Undefined(f"{kind} has {dims} spatial axes, the input {n}")
    if window:
        return _window_field(module, window.group(1), field_in, n)
    if adaptive:
        return _adaptive_field(module, kind, field_in, tuple(arg.shape[-n:]))
    # F.pad order: (left, right) of the last axis first; r and j stay, the start moves left
    # (reflect/replicate/circular padding copies inputs there: their indices fold back)
    lefts = tuple(module.padding[0::2])[:n][::-1]
    return Field(field_in.size, field_in.jump,
                 tuple(s - p * j for s, p, j in zip(field_in.start, lefts, field_in.jump)))


def _window_field(module, family, field_in, n):
    k = _shapes._ntuple(n, "kernel_size")(module.kernel_size)
    stride = getattr(module, "stride", None) or k    # pooling: stride None means kernel_size
    dilation = getattr(module, "dilation", 1)         # AvgPool and LPPool have none
    padding = getattr(module, "padding", 0)           # LPPool has none
    if family == "Conv":
        pairs = _shapes.conv_padding_pairs(padding, k, _shapes._ntuple(n)(stride),
                                           _shapes._ntuple(n)(dilation))
        padding = tuple(left for left, _ in pairs)
    return conv_field(field_in, k, stride, padding, dilation)


def _adaptive_field(module, kind, field_in, spatial):
    """Adaptive pooling is an ordinary window when every bin has the same size: in % out == 0
    gives kernel = stride = in/out (global pooling: out = 1)."""
    n = len(spatial)
    out = module.output_size
    out = tuple(out) if isinstance(out, (tuple, list)) else (out,) * n
    out = tuple(i if o is None else int(o) for i, o in zip(spatial, out))
    if any(i % o for i, o in zip(spatial, out)):
        return _Undefined(f"not defined after {kind}: input {list(spatial)} into {list(out)} "
                          "bins of unequal sizes (start = floor(i*in/out), end = "
                          "ceil((i+1)*in/out))")
    k = tuple(i // o for i, o in zip(spatial, out))
    return conv_field(field_in, k, k, 0, 1)


# ---------------------------------------------------------------------------------------------
# the autograd graph between modules

# operations that act element by element (broadcasting aside), named as their grad_fn nodes
_ELEMENTWISE = re.compile(
    r"(Add|Sub|Mul|Div|Neg|Clone|ToCopy|Relu|Sigmoid|Tanh|Gelu|Silu|Mish|Elu|Celu|LeakyRelu|"
    r"Hardtanh|Hardsigmoid|Hardswish|Hardshrink|Softshrink|Softplus|Threshold|Clamp|ClampMin|"
    r"ClampMax|Pow|Exp|Log|Abs|Sqrt|Rsqrt|LogSigmoid|PreluKernel|RreluWithNoise|Addcmul|"
    r"Addcdiv|NativeBatchNorm|Maximum|Minimum|Where|Sign)Backward\d")


class _Graph:
    """Fields of the tensors met so far, by the autograd node that made them."""

    def __init__(self, x, n):
        self.x, self.n = x, n
        self.fields = {}     # id(node) -> Field | _Undefined | _CONSTANT
        self.keep = []       # the nodes, so that their ids stay theirs

    def register(self, tensor, field):
        node = tensor.grad_fn
        if node is not None:
            self.fields[id(node)] = field
            self.keep.append(node)

    def field_of(self, tensor, where="the model"):
        """``where``: the module whose forward made ``tensor``, named in the reasons."""
        if tensor is self.x:
            return identity_field(self.n)
        if tensor.grad_fn is None:
            return _CONSTANT
        return self._resolve(tensor.grad_fn, where)

    def _resolve(self, node, where):
        """The field of ``node``'s output, its inputs' first - depth first without recursion:
        a forward may chain thousands of element-wise operations."""
        stack = [node]
        while stack:
            top = stack[-1]
            if id(top) in self.fields:
                stack.pop()
                continue
            _, inputs = self._rule(top, where)
            pending = [child for child in inputs if id(child) not in self.fields]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            self.fields[id(top)] = self._apply(top, where)
            self.keep.append(top)
        return self.fields[id(node)]

    def _rule(self, node, where):
        """How ``node``'s field is made: ``("done", field)``, ``("crop", [input])`` or
        ``("union", inputs)``."""
        name = type(node).__name__
        if name == "AccumulateGrad":
            return ("done", identity_field(self.n) if node.variable is self.x else _CONSTANT), []
        op = name.rsplit("Backward", 1)[0]
        out_shape = node._out_meta[0][0]
        inputs = [child for child, _ in node.next_functions if child is not None]
        if op == "Slice":
            return ("crop", None), inputs[:1]
        if name == "CatBackward0":
            if out_shape is not None and node.axis >= len(out_shape) - self.n:
                return ("done", _Undefined(f"not defined after a cat along a spatial axis (dim "
                                           f"{node.axis}) in {where}")), []
        elif not (_ELEMENTWISE.fullmatch(name) or _keeps_space(node, op, out_shape, self.n)):
            return ("done", _Undefined(f"not defined after {op} in {where}'s forward: how it "
                                       "moves pixels is not known here (only layers with a "
                                       "window rule and element-wise operations are)")), []
        return ("union", op), inputs

    def _apply(self, node, where):
        """``node``'s field from its inputs' (already resolved)."""
        (kind, payload), _ = self._rule(node, where)
        if kind == "done":
            return payload
        if kind == "crop":
            return self._crop(node, where)
        out_shape = node._out_meta[0][0]
        fields = []
        for child, slot in node.next_functions:
            if child is None:
                continue
            field = self.fields[id(child)]
            if field is _CONSTANT:
                continue
            child_shape = child._out_meta[slot][0] if slot < len(child._out_meta) else None
            if (isinstance(field, Field) and child_shape is not None and out_shape is not None
                    and _broadcast_over_space(child_shape, out_shape, self.n)):
                return _Undefined(f"not defined after {payload} in {where}: a value computed "
                                  "from the whole map is broadcast back over it (as in "
                                  "squeeze-and-excitation: every output sees every input)")
            fields.append(field)
        return _union(fields, payload)

    def _crop(self, node, where):
        """``y = x[..., a:b:c]`` on a spatial axis: output o is input a + o*c, so the start
        moves by a*j and the jump grows c times; slices of other axes change nothing."""
        unknown = _Undefined(f"not defined after an indexing in {where}'s forward that is not "
                             "a plain slice of the spatial axes")
        try:
            shape, index = node.meta
        except (AttributeError, TypeError, ValueError):
            return unknown
        index = index if isinstance(index, tuple) else (index,)
        if Ellipsis in index:
            at = index.index(Ellipsis)
            index = index[:at] + (slice(None),) * (len(shape) - len(index) + 1) + index[at + 1:]
        index = index + (slice(None),) * (len(shape) - len(index))
        spatial = index[len(shape) - self.n:]
        if len(index) != len(shape) or not all(isinstance(i, slice) for i in spatial) or not all(
                isinstance(i, (int, slice)) for i in index):
            return unknown
        source = node.next_functions[0][0]
        field = _CONSTANT if source is None else self.fields[id(source)]
        if not isinstance(field, Field):
            return field
        cuts = [i.indices(size)[::2] for i, size in zip(spatial, shape[-self.n:])]
        return Field(field.size, tuple(j * c for j, (_, c) in zip(field.jump, cuts)),
                     tuple(st + a * j for st, j, (a, _) in zip(field.start, field.jump, cuts)))


def _keeps_space(node, op, out_shape, n):
    """Reshapes, permutations and splits that leave the spatial axes last and untouched (as
    ShuffleNet's channel shuffle and chunk do): pixel (..., h, w) stays (..., h, w). Read from
    the nodes' recorded arguments; anything not recognised keeps nothing."""
    try:
        if op in ("View", "UnsafeView", "Expand"):
            return tuple(node.in_shape[-n:]) == tuple(out_shape[-n:]) and len(out_shape) >= n + 2
        if op in ("Permute", "Transpose"):
            perm = [int(v) for v in node.inverse]
            return perm[-n:] == list(range(len(perm) - n, len(perm)))
        if op == "SplitWithSizes":
            shape, dim = node.meta
            return dim % len(shape) < len(shape) - n
    except (AttributeError, TypeError, ValueError):
        return False
    return False


def _broadcast_over_space(shape, out_shape, n):
    spatial, out_spatial = tuple(shape[-n:]), tuple(out_shape[-n:])
    return len(shape) >= n and spatial != out_spatial and all(v == 1 for v in spatial)


def _union(fields, op):
    """Branches meeting in an element-wise op: output o sees what each branch's output o sees.
    With equal jumps that is again a field (from the leftmost start to the rightmost end)."""
    if not fields:
        return _CONSTANT
    for field in fields:
        if isinstance(field, _Undefined):
            return field
    if len({f.jump for f in fields}) > 1:
        return _Undefined(f"not defined after {op}: branches with different jumps "
                          f"{' and '.join(str(list(f.jump)) for f in fields)} meet")
    starts = np.min([f.start for f in fields], axis=0)
    ends = np.max([np.add(f.start, f.size) for f in fields], axis=0)
    return Field(tuple(int(e - s) for s, e in zip(starts, ends)), fields[0].jump,
                 tuple(int(s) for s in starts))
