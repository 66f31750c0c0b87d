"""The op table: one small function per family of ember Functions, emitting ONNX nodes.

``TABLE[FunctionClass](graph, call) -> output name(s)``. ``call.inputs[i]`` is the ONNX value
of a Tensor argument (else the Python argument itself), ``call.arrays[i]`` its array (shapes and
dtypes as traced), ``call.outputs`` the output arrays. Lookup is by exact class: a subclass with
other semantics never inherits a mapping by accident.
"""
from __future__ import annotations

import math

import numpy as np

from .._ops import activation as A
from .._ops import attention as ATT
from .._ops import elementwise as E
from .._ops import index as I
from .._ops import inplace as IP
from .._ops import linalg as LA
from .._ops import pointwise as P
from .._ops import products as PR
from .._ops import reduce as R
from .._ops import resample as Rs
from .._ops.rnn import RNNLayer
from .._ops import shape as S
from .._ops import stats as ST
from ..nn.functional.conv import Convolution
from ..nn.functional.linear import (Bilinear, Linear, _BilinearNoBias, _LinearMm, _LinearSqueeze,
                                    _LinearUnsafeView, _LinearView)
from ..nn.functional.normalization import _BatchNorm, _GroupNorm, _InstanceNorm, _LayerNorm
from ..nn.functional.padding import _FUNCTIONS as _PAD_FUNCTIONS
from ..nn.functional import pooling as _pool
from ..nn.functional.sparse import _Embedding, _EmbeddingBag, _EmbeddingBagMax
from ..nn.modules.module import _BackwardHookFunction as BackwardHookFunction
from ._graph import UnsupportedOperatorError

TABLE = {}
INT64_MIN = int(np.iinfo(np.int64).min)  # a Slice end "through index 0" when stepping back


def maps(*functions):
    """Register the decorated emitter for each Function class in ``functions``."""
    def register(emit):
        for fn in functions:
            TABLE[fn] = emit
        return emit
    return register


def unsupported(call, why):
    return UnsupportedOperatorError(
        f"Exporting the operator '{call.fn._node_cls.name()}' ({call.name}) to ONNX is not "
        f"supported by ember.onnx: {why}")


def operand(g, call, i):
    """Argument ``i`` as an ONNX value: a Tensor's value, or a Python number as a scalar
    constant of the output's dtype (torch's rule for a number beside a tensor)."""
    if call.arrays[i] is not None:
        return call.inputs[i]
    return g.const(np.asarray(call.inputs[i], dtype=call.outputs[0].dtype))


def scalar(g, value, like):
    return g.const(np.asarray(value, dtype=like.dtype))


# ============================================================================ elementwise
def _binary(op):
    def emit(g, call):
        return g.node(op, [operand(g, call, 0), operand(g, call, 1)])
    return emit


for _fn, _op in ((E.Mul, "Mul"), (E.Div, "Div"), (E.Pow, "Pow"), (E.Maximum, "Max"),
                 (E.Minimum, "Min")):
    TABLE[_fn] = _binary(_op)


@maps(E.Add, E.Sub)
def add_sub(g, call):
    a, b = operand(g, call, 0), operand(g, call, 1)
    alpha = call.inputs[2] if len(call.inputs) > 2 else 1
    if alpha != 1:
        b = g.node("Mul", [b, scalar(g, alpha, call.outputs[0])])
    return g.node("Add" if call.fn is E.Add else "Sub", [a, b])


def _unary(op, **attrs):
    def emit(g, call):
        return g.node(op, [call.inputs[0]], **attrs)
    return emit


for _fn, _op in ((E.Neg, "Neg"), (E.Abs, "Abs"), (E.Exp, "Exp"), (E.Log, "Log"),
                 (E.Sqrt, "Sqrt"), (E.Sin, "Sin"), (E.Cos, "Cos"), (E.Tanh, "Tanh"),
                 (E.Sigmoid, "Sigmoid"), (E.Clone, "Identity"), (S.Contiguous, "Identity"),
                 (A.Relu, "Relu"), (A.Sigmoid, "Sigmoid"), (A.Tanh, "Tanh"),
                 (A.Softsign, "Softsign")):
    TABLE[_fn] = _unary(_op)


@maps(E.Log1p)
def log1p(g, call):
    one = scalar(g, 1, call.outputs[0])
    return g.node("Log", [g.node("Add", [call.inputs[0], one])])


@maps(E.Rsqrt)
def rsqrt(g, call):
    return g.node("Reciprocal", [g.node("Sqrt", [call.inputs[0]])])


def clip(g, x, lo, hi, like):
    return g.node("Clip", [x, None if lo is None else scalar(g, lo, like),
                           None if hi is None else scalar(g, hi, like)])


@maps(E.Clamp)
def clamp(g, call):
    return clip(g, call.inputs[0], call.inputs[1], call.inputs[2], call.outputs[0])


@maps(E.Where)
def where(g, call):
    cond = call.inputs[0] if call.arrays[0] is not None else g.const(
        np.asarray(call.inputs[0], dtype=bool))
    return g.node("Where", [cond, operand(g, call, 1), operand(g, call, 2)])


@maps(E.Cast)
def cast(g, call):
    from onnx import helper
    return g.node("Cast", [call.inputs[0]],
                  to=helper.np_dtype_to_tensor_dtype(np.dtype(call.outputs[0].dtype)))


# ============================================================================ activations
@maps(A.LeakyRelu, A.LeakyReluInplace)
def leaky_relu(g, call):
    return g.node("LeakyRelu", [call.inputs[0]], alpha=float(call.inputs[1]))


@maps(A.Hardtanh)
def hardtanh(g, call):  # relu6 too
    return clip(g, call.inputs[0], call.inputs[1], call.inputs[2], call.outputs[0])


@maps(A.Hardswish)
def hardswish(g, call):  # x * relu6(x + 3) / 6; HardSwish itself from opset 14
    x = call.inputs[0]
    if g.opset >= 14:
        return g.node("HardSwish", [x])
    return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])


@maps(A.Hardsigmoid)
def hardsigmoid(g, call):  # torch: relu6(x + 3) / 6
    return g.node("HardSigmoid", [call.inputs[0]], alpha=1.0 / 6, beta=0.5)


@maps(A.Silu)
def silu(g, call):
    x = call.inputs[0]
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@maps(A.Mish)
def mish(g, call):
    x = call.inputs[0]
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


@maps(A.Gelu)
def gelu(g, call):  # 0.5 x (1 + erf(x / sqrt 2))
    x, like = call.inputs[0], call.outputs[0]
    erf = g.node("Erf", [g.node("Div", [x, scalar(g, math.sqrt(2.0), like)])])
    half_x = g.node("Mul", [x, scalar(g, 0.5, like)])
    return g.node("Mul", [half_x, g.node("Add", [erf, scalar(g, 1.0, like)])])


@maps(A.GeluTanh)
def gelu_tanh(g, call):  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x, like = call.inputs[0], call.outputs[0]
    cube = g.node("Mul", [g.node("Mul", [x, x]), x])
    inner = g.node("Add", [x, g.node("Mul", [cube, scalar(g, 0.044715, like)])])
    t = g.node("Tanh", [g.node("Mul", [inner, scalar(g, math.sqrt(2.0 / math.pi), like)])])
    half_x = g.node("Mul", [x, scalar(g, 0.5, like)])
    return g.node("Mul", [half_x, g.node("Add", [t, scalar(g, 1.0, like)])])


@maps(A.Softplus)
def softplus(g, call):
    x, beta, threshold = call.inputs
    like = call.outputs[0]
    if beta == 1:
        soft = g.node("Softplus", [x])
    else:
        bx = g.node("Mul", [x, scalar(g, beta, like)])
        soft = g.node("Div", [g.node("Softplus", [bx]), scalar(g, beta, like)])
    # torch's softplus is the identity where beta * x > threshold
    above = g.node("Greater", [g.node("Mul", [x, scalar(g, beta, like)]),
                               scalar(g, threshold, like)])
    return g.node("Where", [above, x, soft])


@maps(A.LogSigmoid)
def log_sigmoid(g, call):  # -softplus(-x)
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [call.inputs[0]])])])


@maps(A.Elu, A.EluInplace, A.Celu, A.CeluInplace)
def elu(g, call):  # ATen's elu(x, alpha, scale, input_scale): ELU, SELU and CELU
    x, alpha, scale, input_scale = call.inputs
    if scale == 1 and input_scale == 1:
        return g.node("Elu", [x], alpha=float(alpha))
    if input_scale == 1:
        return g.node("Selu", [x], alpha=float(alpha), gamma=float(scale))
    if scale == 1 and math.isclose(input_scale, 1.0 / alpha, rel_tol=1e-12):
        return g.node("Celu", [x], alpha=float(alpha))
    raise unsupported(call, f"elu with scale {scale} and input_scale {input_scale}")


@maps(A.Prelu)
def prelu(g, call):
    x, w = call.inputs
    xs, ws = call.arrays[0].shape, call.arrays[1].shape
    if len(ws) == 1 and ws[0] > 1 and len(xs) > 2:  # one slope per channel (dim 1)
        w = g.node("Reshape", [w, g.ints([ws[0]] + [1] * (len(xs) - 2))])
    return g.node("PRelu", [x, w])


@maps(A.Softmax)
def softmax(g, call):
    return g.node("Softmax", [call.inputs[0]], axis=int(call.inputs[1]))


@maps(A.LogSoftmax)
def log_softmax(g, call):
    return g.node("LogSoftmax", [call.inputs[0]], axis=int(call.inputs[1]))


@maps(A.Tanhshrink)
def tanhshrink(g, call):
    x = call.inputs[0]
    return g.node("Sub", [x, g.node("Tanh", [x])])


@maps(A.Hardshrink)
def hardshrink(g, call):
    return g.node("Shrink", [call.inputs[0]], lambd=float(call.inputs[1]), bias=0.0)


@maps(A.Softshrink)
def softshrink(g, call):
    lambd = float(call.inputs[1])
    return g.node("Shrink", [call.inputs[0]], lambd=lambd, bias=lambd)


# ============================================================================ linear algebra
@maps(LA.MatMul)
def matmul(g, call):
    return g.node("MatMul", [call.inputs[0], call.inputs[1]])


@maps(Linear)
def linear(g, call):
    x, w, b = call.inputs
    if call.arrays[0].ndim == 2:
        return g.node("Gemm", [x, w, b], transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return y if b is None else g.node("Add", [y, b])


# ============================================================================ convolution
@maps(Convolution)
def convolution(g, call):
    x, w, b, stride, padding, dilation, groups, transposed, output_padding = call.inputs
    pads = [lo for lo, _ in padding] + [hi for _, hi in padding]
    attrs = dict(strides=list(stride), pads=pads, dilations=list(dilation), group=int(groups),
                 kernel_shape=list(call.arrays[1].shape[2:]))
    if transposed:
        return g.node("ConvTranspose", [x, w, b], output_padding=list(output_padding), **attrs)
    return g.node("Conv", [x, w, b], **attrs)


# ============================================================================ pooling
def closure(fn):
    """The variables a pooling lambda closes over (kernel, stride, ... out_spatial): the
    pooling Functions take their configuration as a kernel call."""
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))


def batched(g, call, n, emit):
    """Run ``emit(x)`` on an (N, C, *spatial) value; an unbatched (C, *spatial) input is
    unsqueezed for it and squeezed back."""
    x = call.inputs[0]
    if call.arrays[0].ndim == n + 2:
        return emit(x)
    axis = g.ints([0])
    return g.node("Squeeze", [emit(g.node("Unsqueeze", [x, axis])), axis])


def ceil_mode_of(in_spatial, kernel, stride, padding, dilation, out_spatial):
    floor = [(i + 2 * p - d * (k - 1) - 1) // s + 1
             for i, k, s, p, d in zip(in_spatial, kernel, stride, padding, dilation)]
    return int(list(out_spatial) != floor)


def max_pool(g, call):
    n = call.inputs[1]
    c = closure(call.inputs[2])
    kernel, stride, padding, dilation = c["kernel"], c["stride"], c["padding"], c["dilation"]
    in_spatial = call.arrays[0].shape[-n:]
    ceil = ceil_mode_of(in_spatial, kernel, stride, padding, dilation, c["out_spatial"])
    attrs = dict(kernel_shape=list(kernel), strides=list(stride), pads=list(padding) * 2,
                 dilations=list(dilation), ceil_mode=ceil)
    return batched_pair(g, call, n, lambda x: max_pool_with_indices(g, x, n, **attrs))


def max_pool_with_indices(g, x, n, **attrs):
    """ONNX MaxPool's values and indices on (N, C, *spatial) ``x``. ONNX's indices are flat
    over the whole (N, C, *spatial) tensor, torch's over one plane: subtract each plane's
    first flat index (read off a 1-wide MaxPool's indices, which number every element)."""
    y, flat = g.node("MaxPool", [x], n_out=2, **attrs)
    _, every = g.node("MaxPool", [x], n_out=2, kernel_shape=[1] * n, strides=[1] * n)
    first = g.node("Slice", [every, g.ints([0] * n), g.ints([1] * n),
                             g.ints(range(2, 2 + n))])
    return y, g.node("Sub", [flat, first])


def batched_pair(g, call, n, emit):
    """``batched`` for an emitter returning two values (a pool's values and indices)."""
    if call.arrays[0].ndim == n + 2:
        return list(emit(call.inputs[0]))
    axis = g.ints([0])
    outs = emit(g.node("Unsqueeze", [call.inputs[0], axis]))
    return [g.node("Squeeze", [o, axis]) for o in outs]


def max_unpool(g, call):
    """Per plane, ``y = zeros(out); y[indices] = x``: ScatterElements along the flattened
    planes (torch's indices are per plane already; Reshape's 0 keeps N and C dynamic)."""
    _, indices, n, out_spatial = call.inputs
    if call.arrays[1] is None:
        raise unsupported(call, "indices that are not a tensor")

    def emit(x, idx):
        planes = g.node("Reshape", [x, g.ints([0, 0, -1])])
        lead = g.node("Slice", [g.node("Shape", [x]), g.ints([0]), g.ints([2])])
        zeros = g.node("ConstantOfShape", [g.node("Concat", [lead, g.ints(
            [int(np.prod(out_spatial))])], axis=0)], value=g.onnx.numpy_helper.from_array(
                np.zeros(1, dtype=call.outputs[0].dtype)))
        flat = g.node("ScatterElements", [zeros, g.node("Reshape", [idx, g.ints([0, 0, -1])]),
                                          planes], axis=2)
        return g.node("Reshape", [flat, g.ints([0, 0, *out_spatial])])

    x = call.inputs[0]
    if call.arrays[0].ndim == n + 2:
        return emit(x, indices)
    axis = g.ints([0])
    return g.node("Squeeze", [emit(g.node("Unsqueeze", [x, axis]),
                                   g.node("Unsqueeze", [indices, axis])), axis])


def avg_pool(g, call):
    n = call.inputs[1]
    c = closure(call.inputs[2])
    kernel, stride, padding = c["args"]
    options = c["options"]
    in_spatial = call.arrays[0].shape[-n:]
    if options["divisor_override"] is not None:
        return batched(g, call, n, lambda x: window_sum(
            g, x, call, kernel, stride, padding, in_spatial, c["out_spatial"],
            1.0 / options["divisor_override"]))
    ceil = ceil_mode_of(in_spatial, kernel, stride, padding, (1,) * n, c["out_spatial"])
    return batched(g, call, n, lambda x: g.node(
        "AveragePool", [x], kernel_shape=list(kernel), strides=list(stride),
        pads=list(padding) * 2, ceil_mode=ceil,
        count_include_pad=int(options["count_include_pad"])))


def window_sum(g, x, call, kernel, stride, padding, in_spatial, out_spatial, scale):
    """``scale`` times each window's sum (avg_pool's divisor_override): a depthwise Conv with a
    kernel of ``scale``; the zero padding adds nothing, and ceil mode's last windows are
    reached by padding the end further."""
    channels = call.arrays[0].shape[-len(kernel) - 1]
    extra = [max(0, (o - 1) * s + k - (i + 2 * p))
             for i, o, k, s, p in zip(in_spatial, out_spatial, kernel, stride, padding)]
    w = g.const(np.full((channels, 1, *kernel), scale, dtype=call.outputs[0].dtype))
    return g.node("Conv", [x, w], kernel_shape=list(kernel), strides=list(stride),
                  group=int(channels),
                  pads=list(padding) + [p + e for p, e in zip(padding, extra)])


def adaptive_bins(size, out, dtype):
    """The (out, size) matrix averaging adaptive pooling's bins: bin i covers
    [floor(i size / out), ceil((i + 1) size / out))."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        lo, hi = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_pool(op, global_op):
    def emit(g, call):
        n = call.inputs[1]
        out_spatial = tuple(closure(call.inputs[2])["out_spatial"])
        in_spatial = call.arrays[0].shape[-n:]
        if all(i % o == 0 for i, o in zip(in_spatial, out_spatial)):
            kernel = [i // o for i, o in zip(in_spatial, out_spatial)]
            if op == "MaxPool":  # equal windows: MaxPool, indices and all
                return batched_pair(g, call, n, lambda x: max_pool_with_indices(
                    g, x, n, kernel_shape=kernel, strides=kernel))
            if all(o == 1 for o in out_spatial):
                return batched(g, call, n, lambda x: g.node(global_op, [x]))
            return batched(g, call, n, lambda x: g.node(op, [x], kernel_shape=kernel,
                                                        strides=kernel))
        if op == "AveragePool":
            return batched(g, call, n, lambda x: adaptive_mean(g, x, in_spatial, out_spatial,
                                                              call.outputs[0].dtype))
        return batched_pair(g, call, n, lambda x: (
            adaptive_max(g, x, in_spatial, out_spatial),
            adaptive_argmax(g, x, in_spatial, out_spatial)))
    return emit


def adaptive_mean(g, x, in_spatial, out_spatial, dtype):
    """Unequal (overlapping) bins on (N, C, *spatial): the mean is separable, one averaging
    matrix per spatial axis, last axis first; the axis being averaged is brought last by a
    Reshape to (N, C, size, rest) (Reshape's 0 keeps N and C dynamic)."""
    n = len(in_spatial)
    y = g.node("MatMul", [x, g.const(adaptive_bins(in_spatial[-1], out_spatial[-1], dtype).T)])
    for axis in range(n - 2, -1, -1):  # y: (N, C, in[:axis + 1], out[axis + 1:])
        rest = int(np.prod(out_spatial[axis + 1:]))
        y = g.node("Reshape", [y, g.ints([0, 0, *in_spatial[:axis + 1], rest])])
        y = g.node("MatMul", [g.const(adaptive_bins(in_spatial[axis], out_spatial[axis], dtype)),
                              y])
        y = g.node("Reshape", [y, g.ints([0, 0, *in_spatial[:axis], *out_spatial[axis:]])])
    return y


def adaptive_argmax(g, x, in_spatial, out_spatial):
    """Unequal bins' indices, one output cell at a time: the window flattened, ArgMax (the
    first of ties, as ember), and the window position mapped to its index in the plane by a
    Gather on the window's plane indices. (Only used when the graph reads the indices.)"""
    n = len(in_spatial)
    plane = np.arange(int(np.prod(in_spatial)), dtype=np.int64).reshape(in_spatial)
    cells = []
    for cell in np.ndindex(*out_spatial):
        bounds = [((i * size) // out, -(-((i + 1) * size) // out))
                  for i, size, out in zip(cell, in_spatial, out_spatial)]
        window = g.node("Slice", [x, g.ints([lo for lo, _ in bounds]),
                                  g.ints([hi for _, hi in bounds]), g.ints(range(2, 2 + n))])
        local = g.node("ArgMax", [g.node("Reshape", [window, g.ints([0, 0, -1])])], axis=2,
                       keepdims=1)
        where = plane[tuple(slice(lo, hi) for lo, hi in bounds)].reshape(-1)
        cells.append(g.node("Gather", [g.const(where), local], axis=0))
    return g.node("Reshape", [g.node("Concat", cells, axis=2), g.ints([0, 0, *out_spatial])])


def adaptive_max(g, x, in_spatial, out_spatial):
    """Unequal bins: the max over a box is separable, so per spatial axis, one Slice and
    ReduceMax per output index, concatenated (sum(out_spatial) reductions in all)."""
    for k, (size, out) in enumerate(zip(in_spatial, out_spatial)):
        axis = 2 + k
        parts = []
        for i in range(out):
            lo, hi = (i * size) // out, -(-((i + 1) * size) // out)
            window = g.node("Slice", [x, g.ints([lo]), g.ints([hi]), g.ints([axis])])
            parts.append(reduce(g, "ReduceMax", window, [axis], 1))
        x = g.node("Concat", parts, axis=axis)
    return x


for _n in (1, 2, 3):
    TABLE[_pool._MAX_POOL[_n]] = max_pool
    TABLE[_pool._MAX_UNPOOL[_n]] = max_unpool
    TABLE[_pool._AVG_POOL[_n]] = avg_pool
    TABLE[_pool._ADAPTIVE_AVG_POOL[_n]] = adaptive_pool("AveragePool", "GlobalAveragePool")
    TABLE[_pool._ADAPTIVE_MAX_POOL[_n]] = adaptive_pool("MaxPool", "GlobalMaxPool")


def fractional_max_pool(g, call):
    raise unsupported(call, "fractional max pooling draws its windows at random on each call "
                            "(torch.onnx does not export it either); export a model with "
                            "MaxPool or AdaptiveMaxPool in its place")


for _n in (2, 3):
    TABLE[_pool._FRACTIONAL_MAX_POOL[_n]] = fractional_max_pool


# ============================================================================ normalisation
def ones_or(g, value, n, like, fill):
    return value if value is not None else g.const(np.full(n, fill, dtype=like.dtype))


@maps(_BatchNorm)
def batch_norm(g, call):
    x, w, b, mean, var, training, _momentum, eps = call.inputs
    like, c = call.outputs[0], call.arrays[0].shape[1]
    w, b = ones_or(g, w, c, like, 1), ones_or(g, b, c, like, 0)
    if not training and mean is not None:
        if call.varying is not None and call.varying[0][1]:
            raise unsupported(call, "running statistics repeated per sample at trace time "
                                    "(instance norm with track_running_stats) under a dynamic "
                                    "batch axis; export with a fixed batch")
        mean, var = (v if isinstance(v, str) else g.const(v) for v in (mean, var))
        return g.node("BatchNormalization", [x, w, b, mean, var], epsilon=float(eps))
    # batch statistics (training, or no running stats): normalise over every axis but dim 1
    return standardize_affine(g, call, [0] + list(range(2, call.arrays[0].ndim)))


@maps(_InstanceNorm)
def instance_norm(g, call):
    """Per (sample, channel) plane over the spatial axes; with running statistics, as
    batch_norm in evaluation (they are per channel, so the batch axis stays open)."""
    if call.inputs[5]:
        return standardize_affine(g, call, list(range(2, call.arrays[0].ndim)))
    return batch_norm(g, call)


def standardize_affine(g, call, axes):
    """(x - mean) / sqrt(var + eps) over ``axes``, times weight, plus bias (absent ones add no
    nodes; the channel count is left open, -1, in the parameters' Reshape)."""
    x, eps, like = call.inputs[0], call.inputs[7], call.outputs[0]
    mu = reduce(g, "ReduceMean", x, axes, keepdims=1)
    centred = g.node("Sub", [x, mu])
    variance = reduce(g, "ReduceMean", g.node("Mul", [centred, centred]), axes, keepdims=1)
    std = g.node("Sqrt", [g.node("Add", [variance, scalar(g, eps, like)])])
    shape = g.ints([-1] + [1] * (call.arrays[0].ndim - 2))
    y = g.node("Div", [centred, std])
    if call.inputs[1] is not None:
        y = g.node("Mul", [y, g.node("Reshape", [call.inputs[1], shape])])
    if call.inputs[2] is not None:
        y = g.node("Add", [y, g.node("Reshape", [call.inputs[2], shape])])
    return y


@maps(_LayerNorm)
def layer_norm(g, call):
    x, w, b, k, eps = call.inputs
    like = call.outputs[0]
    shape = call.arrays[0].shape[-k:]
    w = w if w is not None else g.const(np.ones(shape, dtype=like.dtype))
    if g.opset >= 17:
        return g.node("LayerNormalization", [x, w, b], axis=-int(k), epsilon=float(eps))
    axes = list(range(-int(k), 0))  # LayerNormalization is opset 17's: compose it before
    centred = g.node("Sub", [x, reduce(g, "ReduceMean", x, axes, 1)])
    variance = reduce(g, "ReduceMean", g.node("Mul", [centred, centred]), axes, 1)
    std = g.node("Sqrt", [g.node("Add", [variance, scalar(g, eps, like)])])
    y = g.node("Mul", [g.node("Div", [centred, std]), w])
    return y if b is None else g.node("Add", [y, b])


@maps(_GroupNorm)
def group_norm(g, call):
    x, w, b, groups, eps = call.inputs
    like = call.outputs[0]
    shape = call.arrays[0].shape
    # (N, G, rest) normalised over its last axis, then the per-channel affine
    grouped = g.node("Reshape", [x, g.ints([0, groups, -1])])
    mu = reduce(g, "ReduceMean", grouped, [2], keepdims=1)
    centred = g.node("Sub", [grouped, mu])
    variance = reduce(g, "ReduceMean", g.node("Mul", [centred, centred]), [2], keepdims=1)
    std = g.node("Sqrt", [g.node("Add", [variance, scalar(g, eps, like)])])
    y = g.node("Reshape", [g.node("Div", [centred, std]), g.node("Shape", [x])])
    channel = g.ints([shape[1]] + [1] * (len(shape) - 2))
    if w is not None:
        y = g.node("Mul", [y, g.node("Reshape", [w, channel])])
    if b is not None:
        y = g.node("Add", [y, g.node("Reshape", [b, channel])])
    return y


# ============================================================================ reductions
def reduce(g, op, x, axes, keepdims):
    """``op`` over ``axes`` (None: all): ReduceSum takes axes as an input from opset 13, the
    other reductions from opset 18."""
    if axes is None:
        return g.node(op, [x], keepdims=int(keepdims))
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.ints(axes)], keepdims=int(keepdims))
    return g.node(op, [x], axes=list(axes), keepdims=int(keepdims))


@maps(R.Mean)
def mean(g, call):
    x, axes, keepdim = call.inputs
    return reduce(g, "ReduceMean", x, list(axes), keepdim)


@maps(R.Sum)
def sum_(g, call):
    x, axes, keepdim = call.inputs[:3]
    y = reduce(g, "ReduceSum", x, list(axes), keepdim)
    if call.outputs[0].dtype != call.arrays[0].dtype:
        from onnx import helper
        y = g.node("Cast", [y], to=helper.np_dtype_to_tensor_dtype(call.outputs[0].dtype))
    return y


# ============================================================================ shapes
@maps(S.View, S.Reshape)
def reshape(g, call):
    """A shape read at trace time (see ``shape_for``: ``x.view(x.size(0), -1)`` keeps a
    dynamic batch)."""
    return g.node("Reshape", [call.inputs[0], shape_for(
        g, call.arrays[0].shape, call.outputs[0].shape, *varying_of(call))])


@maps(S.Permute)
def permute(g, call):
    return g.node("Transpose", [call.inputs[0]], perm=[int(a) for a in call.inputs[1]])


@maps(S.Expand)
def expand(g, call):
    """A dim that follows the dynamic axes in the input and the output is 1 in Expand's shape
    (Expand keeps the input's dim there)."""
    shape = list(call.outputs[0].shape)
    varying, in_varying = varying_of(call)
    if varying is not None and in_varying is not None:
        lead = len(shape) - len(in_varying)
        from_input = [v and i >= lead and in_varying[i - lead] for i, v in enumerate(varying)]
        if any(v and not f for v, f in zip(varying, from_input)):
            # a dim the input does not have (e.g. a parameter expanded to the batch): its size
            # from the graph input's dynamic axis
            dynamic = call.dynamic_shape(shape, varying)
            if dynamic is not None:
                return g.node("Expand", [call.inputs[0], dynamic])
        for i, f in enumerate(from_input):
            if f:
                shape[i] = 1
    return g.node("Expand", [call.inputs[0], g.ints(shape)])


expand.follows_dynamic_axes = True  # not folded when its output follows the dynamic axes


@maps(S.Cat)
def cat(g, call):
    parts = [v for v, a in zip(call.inputs[1:], call.arrays[1:]) if a is not None]
    if call.packed is not None and int(call.inputs[0]) % call.outputs[0].ndim == 0:
        raise unsupported(call, "cat of packed sequence data along the rows")
    return g.node("Concat", parts, axis=int(call.inputs[0]))


cat.packed_rows = True  # along the features, packed rows stay packed


@maps(S.Stack)
def stack(g, call):
    axis = int(call.inputs[0])
    axes = g.ints([axis])
    parts = [g.node("Unsqueeze", [v, axes]) for v in call.inputs[1:]]
    return g.node("Concat", parts, axis=axis)


@maps(S.Split)
def split(g, call):
    x, sizes, axis = call.inputs
    if len(sizes) == 1:
        return [g.node("Identity", [x])]
    return g.node("Split", [x, g.ints(sizes)], n_out=len(sizes), axis=int(axis))


@maps(S.Flip)
def flip(g, call):  # a Slice with step -1 from the last element through the first
    x, axes = call.inputs
    axes = [int(a) for a in axes]
    if any(call.arrays[0].shape[a] == 0 for a in axes):
        return g.node("Identity", [x])
    n = len(axes)
    return g.node("Slice", [x, g.ints([-1] * n), g.ints([INT64_MIN] * n), g.ints(axes),
                            g.ints([-1] * n)])


# ============================================================================ padding, lookup
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


@maps(*set(_PAD_FUNCTIONS.values()))
def pad(g, call):
    x, pads, mode, value = call.inputs
    ndim = call.arrays[0].ndim
    begins, ends = [0] * ndim, [0] * ndim
    for j in range(len(pads) // 2):  # F.pad order: the last dim first, (left, right) pairs
        begins[ndim - 1 - j], ends[ndim - 1 - j] = int(pads[2 * j]), int(pads[2 * j + 1])
    if mode == "circular" and g.opset < 19:
        raise unsupported(call, "circular padding needs opset_version >= 19 (Pad mode 'wrap')")
    inputs = [x, g.ints(begins + ends)]
    if mode == "constant":
        inputs.append(scalar(g, value, call.outputs[0]))
    return g.node("Pad", inputs, mode=_PAD_MODES[mode])


@maps(_Embedding)
def embedding(g, call):
    weight, indices = call.inputs[0], call.inputs[1]
    return g.node("Gather", [weight, indices], axis=0)


@maps(_EmbeddingBag, _EmbeddingBagMax)
def embedding_bag(g, call):
    """Gather the rows, then reduce each bag over a (bags, length, D) view with a membership
    mask (bag and not padding_idx). Equal contiguous bags (the 2-D input) are a Reshape, dynamic
    in the number of bags; other bags (1-D input with offsets) are a fixed (bags, length) mask:
    the bag layout read at trace time."""
    if call.fn is _EmbeddingBagMax:
        (weight, indices, bags, pad), psw, mode = call.inputs, None, "max"
    else:
        weight, indices, psw, bags, mode, pad, _ = call.inputs
    like = call.outputs[0]
    starts, ends = (np.asarray(b, dtype=np.int64) for b in bags)
    size, dim = call.arrays[1].shape[0], call.arrays[0].shape[1]
    rows = g.node("Gather", [weight, indices], axis=0)
    if psw is not None:
        rows = g.node("Mul", [rows, g.node("Unsqueeze", [psw, g.ints([1])])])
    keep = g.node("Not", [g.node("Equal", [indices, g.const(np.int64(pad))])])
    width = int(ends[0] - starts[0]) if starts.size else 0
    if starts.size and width > 0 and (np.diff(starts) == width).all() and \
            (ends - starts == width).all() and ends[-1] == size:
        rows = g.node("Reshape", [rows, g.ints([-1, width, dim])])
        member = g.node("Reshape", [keep, g.ints([-1, width, 1])])
    else:
        positions = np.arange(size)
        in_bag = (positions >= starts[:, None]) & (positions < ends[:, None])
        rows = g.node("Unsqueeze", [rows, g.ints([0])])
        member = g.node("And", [g.const(in_bag[:, :, None]),
                                g.node("Unsqueeze", [keep, g.ints([0, 2])])])
    count = reduce(g, "ReduceSum", g.node("Cast", [member], to=_elem_type(like)), [1], 0)
    if mode == "max":
        lowest = scalar(g, -np.inf, like)
        top = reduce(g, "ReduceMax", g.node("Where", [member, rows, lowest]), [1], 0)
        return g.node("Where", [g.node("Greater", [count, scalar(g, 0, like)]), top,
                                scalar(g, 0, like)])
    total = reduce(g, "ReduceSum", g.node("Where", [member, rows, scalar(g, 0, like)]), [1], 0)
    if mode == "sum":
        return total
    return g.node("Div", [total, g.node("Max", [count, scalar(g, 1, like)])])


def _elem_type(array):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(array.dtype))


# ============================================================================ same ops, other names
# (subclasses that only give torch's grad_fn name to a shape of the call)
for _fn in (_LinearMm, _LinearView, _LinearUnsafeView, _LinearSqueeze):
    TABLE[_fn] = linear
for _fn in (LA.Mv, LA.Dot, LA.Bmm, LA.BatchedMatMul):
    TABLE[_fn] = matmul
TABLE[S.ReshapeView] = reshape
TABLE[S.Transpose] = permute


@maps(A.Threshold, A.ThresholdInplace)
def threshold(g, call):  # y = x if x > threshold else value
    x, th, value = call.inputs
    like = call.outputs[0]
    return g.node("Where", [g.node("Greater", [x, scalar(g, th, like)]), x,
                            scalar(g, value, like)])


for _name in ("erf", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh"):
    TABLE[P.FUNCTIONS[_name]] = _unary(_name.capitalize())


# ============================================================================ basic indexing


def expand_index(idx, ndim):
    """A basic index as a tuple over every input dim: ints, slices and None (Ellipsis and
    missing trailing dims become full slices)."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    out = []
    for i in idx:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
            used = ndim
        else:
            out.append(i)
    n_dims = sum(1 for i in out if i is not None)
    return out + [slice(None)] * (ndim - n_dims)


@maps(I.Select)
def select(g, call):
    """``x[ints, slices, None, ...]``: one Slice over the narrowed dims (ints as 1-wide
    slices), then Squeeze the int dims and Unsqueeze the None ones. Full slices are left out,
    so a dynamic axis stays dynamic."""
    x, idx = call.inputs
    shape = call.arrays[0].shape
    starts, ends, axes, steps, squeeze, insert = [], [], [], [], [], []
    dim = out_pos = 0
    for i in expand_index(idx, len(shape)):
        if i is None:
            insert.append(out_pos)
            out_pos += 1
            continue
        if isinstance(i, slice):
            start, stop, step = i.indices(shape[dim])
            if (start, stop, step) != (0, shape[dim], 1):
                if step < 0 and stop < 0:
                    stop = INT64_MIN  # "through index 0": ONNX reads -1 as the last element
                starts.append(start), ends.append(stop), axes.append(dim), steps.append(step)
            out_pos += 1
        else:
            k = int(i) % shape[dim]
            starts.append(k), ends.append(k + 1), axes.append(dim), steps.append(1)
            squeeze.append(dim)
        dim += 1
    y = x
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        y = g.node("Squeeze", [y, g.ints(squeeze)])
    if insert:
        y = g.node("Unsqueeze", [y, g.ints(insert)])
    return y if y != x else g.node("Identity", [x])


# ============================================================================ more reductions
def axes_list(axes, ndim):
    if axes is None:
        return list(range(ndim))
    if isinstance(axes, (int, np.integer)):
        return [int(axes)]
    return [int(a) for a in axes]


@maps(R.AmaxAmin)
def amax_amin(g, call):
    x, axes, keepdim, is_max = call.inputs[:4]
    axes = axes_list(axes, call.arrays[0].ndim)
    return reduce(g, "ReduceMax" if is_max else "ReduceMin", x, axes, keepdim)


@maps(R.MaxMinDim)
def max_min_dim(g, call):  # (values, indices): the first extreme, as torch's
    x, axis, keepdim, is_max = call.inputs
    values = reduce(g, "ReduceMax" if is_max else "ReduceMin", x, [int(axis)], keepdim)
    indices = g.node("ArgMax" if is_max else "ArgMin", [x], axis=int(axis),
                     keepdims=int(keepdim))
    return [values, indices]


@maps(R.LogSumExp)
def logsumexp(g, call):
    x, axes, keepdim = call.inputs
    return reduce(g, "ReduceLogSumExp", x, axes_list(axes, call.arrays[0].ndim), keepdim)


@maps(R.Prod)
def prod(g, call):
    x, axis, keepdim = call.inputs
    return reduce(g, "ReduceProd", x, axes_list(axis, call.arrays[0].ndim), keepdim)


@maps(R.Var)
def var(g, call):  # sum (x - mean)^2 / (n - correction)
    x, axes, correction, keepdim = call.inputs
    shape = call.arrays[0].shape
    axes = axes_list(axes, len(shape))
    n = int(np.prod([shape[a] for a in axes]))
    centred = g.node("Sub", [x, reduce(g, "ReduceMean", x, axes, 1)])
    total = reduce(g, "ReduceSum", g.node("Mul", [centred, centred]), axes, keepdim)
    return g.node("Div", [total, scalar(g, max(n - correction, 0), call.outputs[0])])


def p_norm(g, call, x, p, axes, keepdim):
    axes = axes_list(axes, call.arrays[0].ndim)
    if p == 2:
        return reduce(g, "ReduceL2", x, axes, keepdim)
    if p == 1:
        return reduce(g, "ReduceL1", x, axes, keepdim)
    if p in (np.inf, -np.inf):
        return reduce(g, "ReduceMax" if p > 0 else "ReduceMin", g.node("Abs", [x]), axes,
                      keepdim)
    like = call.outputs[0]
    if p == 0:  # the count of nonzero entries
        nonzero = g.node("Cast", [g.node("Not", [g.node("Equal", [x, scalar(g, 0, like)])])],
                         to=_elem_type(like))
        return reduce(g, "ReduceSum", nonzero, axes, keepdim)
    # (sum |x|^p)^(1/p)
    total = reduce(g, "ReduceSum", g.node("Pow", [g.node("Abs", [x]), scalar(g, p, like)]),
                   axes, keepdim)
    return g.node("Pow", [total, scalar(g, 1.0 / p, like)])


@maps(R.Norm)
def norm(g, call):
    x, p, axes, keepdim = call.inputs
    return p_norm(g, call, x, p, axes, keepdim)


@maps(LA.VectorNorm)
def vector_norm(g, call):
    x, ord, axes, keepdim = call.inputs
    return p_norm(g, call, x, ord, axes, keepdim)


@maps(R.CumSum)
def cumsum(g, call):
    x, axis = call.inputs
    return g.node("CumSum", [x, g.const(np.asarray(int(axis), dtype=np.int64))])


def prefixes(g, x, axis, shape, fill, like):
    """(..., n_i, n_j, ...) from ``x`` (..., n, ...): entry (i, j) is x_j for j <= i, else
    ``fill``; reducing over the j axis (``axis + 1``) gives a cumulative reduction along
    ``axis`` (quadratic in n, exact, no loop). The length n is read at trace time."""
    n = shape[axis]
    lower = np.tril(np.ones((n, n), dtype=bool)).reshape((n, n) + (1,) * (len(shape) - axis - 1))
    wide = g.node("Unsqueeze", [x, g.ints([axis])])
    return g.node("Where", [g.const(lower), wide, scalar(g, fill, like)])


def cumulative(op, fill):
    def emit(g, call):
        x, axis = call.inputs
        axis = int(axis) % max(call.arrays[0].ndim, 1)
        like = call.outputs[0]
        return reduce(g, op, prefixes(g, x, axis, call.arrays[0].shape, fill, like),
                      [axis + 1], 0)
    return emit


TABLE[ST.CumProd] = cumulative("ReduceProd", 1)
TABLE[ST.LogCumSumExp] = cumulative("ReduceLogSumExp", -np.inf)


@maps(ST.CumMaxMin, ST.CumMin)
def cummax_cummin(g, call):
    """Values: the max (min) over each prefix, NaN once a NaN was met. Indices, as ember's:
    the latest j <= i where x_j equals the value at i, or is NaN."""
    x, axis, is_max = call.inputs
    shape, like = call.arrays[0].shape, call.outputs[0]
    axis = int(axis) % max(len(shape), 1)
    if not shape or call.arrays[0].size == 0:
        raise unsupported(call, "cummax/cummin of a 0-d or empty tensor")
    floating = like.dtype.kind == "f"
    extreme = (-np.inf if is_max else np.inf) if floating else \
        (np.iinfo(like.dtype).min if is_max else np.iinfo(like.dtype).max)
    values = reduce(g, "ReduceMax" if is_max else "ReduceMin",
                    prefixes(g, x, axis, shape, extreme, like), [axis + 1], 0)
    if floating:
        nan = g.node("IsNaN", [x])
        seen = g.node("CumSum", [g.node("Cast", [nan], to=_elem_type(like)),
                                 g.const(np.int64(axis))])
        values = g.node("Where", [g.node("Greater", [seen, scalar(g, 0, like)]),
                                  scalar(g, np.nan, like), values])
    hit = g.node("Equal", [g.node("Unsqueeze", [x, g.ints([axis])]),
                           g.node("Unsqueeze", [values, g.ints([axis + 1])])])
    if floating:
        hit = g.node("Or", [hit, g.node("Unsqueeze", [nan, g.ints([axis])])])
    n = shape[axis]
    position = g.const(np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (len(shape) - axis - 1)))
    lower = g.const(np.tril(np.ones((n, n), dtype=bool)).reshape(
        (n, n) + (1,) * (len(shape) - axis - 1)))
    candidates = g.node("Where", [g.node("And", [hit, lower]), position, g.const(np.int64(-1))])
    return [values, reduce(g, "ReduceMax", candidates, [axis + 1], 0)]


# ============================================================================ more elementwise
@maps(E.Addcmul, E.Addcdiv)
def addcmul_addcdiv(g, call):  # x + value * t1 (* or /) t2
    x, t1, t2, value = call.inputs
    prod = g.node("Mul" if call.fn is E.Addcmul else "Div", [t1, t2])
    if value != 1:
        prod = g.node("Mul", [prod, scalar(g, value, call.outputs[0])])
    return g.node("Add", [x, prod])


@maps(P.ClampTensor)
def clamp_tensor(g, call):
    y = operand(g, call, 0)
    if call.inputs[1] is not None:
        y = g.node("Max", [y, operand(g, call, 1)])
    if call.inputs[2] is not None:
        y = g.node("Min", [y, operand(g, call, 2)])
    return y


@maps(P.Lerp)
def lerp(g, call):  # start + weight (end - start)
    start, end, weight = (operand(g, call, i) for i in range(3))
    return g.node("Add", [start, g.node("Mul", [weight, g.node("Sub", [end, start])])])


@maps(I.MaskedFill)
def masked_fill(g, call):
    a, mask, value = call.inputs
    mask = mask if call.arrays[1] is not None else g.const(np.asarray(mask, dtype=bool))
    return g.node("Where", [mask, operand(g, call, 2), a])


@maps(I.Gather, I.TakeAlong)
def gather(g, call):
    a, axis, index = call.inputs
    if call.arrays[2] is None:
        index = g.const(np.asarray(index, dtype=np.int64))
    return g.node("GatherElements", [a, index], axis=int(axis))


@maps(A.Glu)
def glu(g, call):  # a * sigmoid(b), a and b the halves along dim
    x, dim = call.inputs
    half = call.arrays[0].shape[dim] // 2
    a, b = g.node("Split", [x, g.ints([half, half])], n_out=2, axis=int(dim))
    return g.node("Mul", [a, g.node("Sigmoid", [b])])


# ============================================================================ more shapes
@maps(S.Repeat)
def repeat(g, call):
    x, reps = call.inputs
    ndim = call.arrays[0].ndim
    if len(reps) > ndim:
        x = g.node("Reshape", [x, g.ints((1,) * (len(reps) - ndim) + call.arrays[0].shape)])
    return g.node("Tile", [x, g.ints(reps)])


@maps(S.Roll)
def roll(g, call):
    x, shifts, axes = call.inputs
    shape = call.arrays[0].shape
    if axes is None or (isinstance(axes, (tuple, list)) and len(axes) == 0):
        flat = g.node("Reshape", [x, g.ints([-1])])
        rolled = roll_axis(g, flat, int(np.ravel(shifts)[0]), 0, int(np.prod(shape)))
        return g.node("Reshape", [rolled, g.ints(shape)])
    shifts = np.ravel(shifts).tolist()
    axes = np.ravel(axes).tolist()
    y = x
    for shift, axis in zip(shifts, axes):
        y = roll_axis(g, y, int(shift), int(axis), shape[axis])
    return y


def roll_axis(g, x, shift, axis, size):
    shift %= size if size else 1
    if not shift:
        return x
    axes = g.ints([axis])
    tail = g.node("Slice", [x, g.ints([size - shift]), g.ints([size]), axes])
    head = g.node("Slice", [x, g.ints([0]), g.ints([size - shift]), axes])
    return g.node("Concat", [tail, head], axis=axis)


def shape_for(g, in_shape, shape, varying=None, in_varying=None):
    """A target shape read at trace time. With the probe's ``varying`` (dims that follow the
    dynamic axes, see ``_trace``): one such dim is -1; several: those equal to the input's
    varying dim at the same place are 0 (Reshape copies it), and one more may be -1. Without
    it, or when that cannot say it: with dynamic axes, a dim 0 equal to the input's (the batch)
    becomes 0; a flattening to 1-d is -1 (every element, whatever the batch)."""
    shape = [int(d) for d in shape]
    if len(shape) == 1:
        return g.ints([-1])
    if varying is not None and any(varying):
        open_dims = [i for i, v in enumerate(varying) if v]
        copied = [i for i in open_dims if in_varying is not None and i < len(in_varying)
                  and in_varying[i] and in_shape[i] == shape[i]]
        rest = [i for i in open_dims if i not in copied]
        if len(open_dims) == 1 or len(rest) <= 1:
            for i in copied:
                shape[i] = 0
            if len(open_dims) == 1:
                shape[open_dims[0]] = -1
            elif rest:
                shape[rest[0]] = -1
            return g.ints(shape)
    if g.dynamic and shape and in_shape and shape[0] == in_shape[0]:
        shape[0] = 0
    return g.ints(shape)


def varying_of(call, out=0, arg=0):
    """(output ``out``'s, argument ``arg``'s) varying dims, or (None, None)."""
    if call.varying is None:
        return None, None
    return call.varying[out], call.in_varying[arg]


@maps(Rs.PixelShuffle, Rs.PixelUnshuffle, Rs.ChannelShuffle, Rs.NativeChannelShuffle)
def permutation(g, call):  # reshape, transpose, reshape
    x, split, perm, out_shape = call.inputs
    in_shape = call.arrays[0].shape
    y = g.node("Reshape", [x, shape_for(g, in_shape, split)])
    y = g.node("Transpose", [y], perm=[int(p) for p in perm])
    return g.node("Reshape", [y, shape_for(g, in_shape, out_shape)])


@maps(*Rs._FUNCTIONS.values())
def resample(g, call):
    """Interpolation as ember computes it: one resampling matrix per spatial axis (built from
    the taps), applied by MatMul; every mode (nearest, linear, cubic, antialiased) alike."""
    x, taps_per_axis = call.inputs
    in_shape = call.arrays[0].shape
    ndim, n = len(in_shape), len(taps_per_axis)
    dtype = call.outputs[0].dtype
    y = x
    for k in reversed(range(n)):
        taps = taps_per_axis[k]
        if taps is None:
            continue
        axis = ndim - n + k
        index, weight, count = taps
        m = np.zeros((index.shape[0], in_shape[axis]), dtype=np.float64)
        counts = np.full(index.shape[0], index.shape[1]) if count is None else count
        for j in range(index.shape[0]):
            for t in range(int(counts[j])):
                m[j, index[j, t]] += weight[j, t]
        y = apply_on_axis(g, y, m.astype(dtype), axis, ndim)
    return y


def apply_on_axis(g, x, m, axis, ndim):
    """``m`` (out, in) applied along ``axis``: x @ m^T on the last axis, m @ x on the one
    before, and through a transpose elsewhere."""
    if axis == ndim - 1:
        return g.node("MatMul", [x, g.const(np.ascontiguousarray(m.T))])
    if axis == ndim - 2:
        return g.node("MatMul", [g.const(m), x])
    perm = list(range(ndim))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    y = g.node("MatMul", [g.node("Transpose", [x], perm=perm),
                          g.const(np.ascontiguousarray(m.T))])
    return g.node("Transpose", [y], perm=perm)


@maps(BackwardHookFunction)
def backward_hook(g, call):  # the identity on the tensors (a module's backward hooks)
    return [g.node("Identity", [v]) if a is not None else g.const(out)
            for v, a, out in zip(call.inputs[3:], call.arrays[3:], call.outputs)]


@maps(A.RreluWithNoise, A.RreluWithNoiseInplace)
def rrelu(g, call):  # in eval: leaky relu with the mean slope
    x, lower, upper, training = call.inputs[:4]
    if training:
        raise unsupported(call, "rrelu in training mode (random slopes)")
    return g.node("LeakyRelu", [x], alpha=(float(lower) + float(upper)) / 2)


# ============================================================================ attention
def tensor_or_const(g, call, i):
    """Argument ``i``: a traced value, None, or an array/number made a constant."""
    if call.arrays[i] is not None or call.inputs[i] is None:
        return call.inputs[i]
    return g.const(np.asarray(call.inputs[i]))


@maps(ATT.ScaledDotProductAttention, ATT.AttentionWithWeights, ATT._SdpaFlashCpu,
      ATT._SdpaView, ATT._SdpaMm)
def attention(g, call):
    """O = softmax(scale Q K^T + bias) V (and the weights with ``weights_out``); rows whose
    scores are all -inf give zeros when ``safe``, as ember's kernel."""
    q, k, v = call.inputs[:3]
    bias = tensor_or_const(g, call, 3)
    scale, keep, safe = call.inputs[4:7]
    weights_out = len(call.inputs) > 7 and call.inputs[7]
    if keep is not None:
        raise unsupported(call, "attention dropout (export in eval mode, or dropout_p=0)")
    like = call.outputs[0]
    nk = call.arrays[1].ndim
    kt = g.node("Transpose", [k], perm=list(range(nk - 2)) + [nk - 1, nk - 2])
    scores = g.node("MatMul", [g.node("Mul", [q, scalar(g, scale, like)]), kt])
    if bias is not None:
        scores = g.node("Add", [scores, bias])
    p = g.node("Softmax", [scores], axis=-1)
    if safe:
        from onnx import TensorProto
        minus_inf = g.node("Cast", [g.node("IsInf", [scores], detect_positive=0)],
                           to=TensorProto.FLOAT)
        dead = g.node("Cast", [reduce(g, "ReduceMin", minus_inf, [-1], 1)], to=TensorProto.BOOL)
        p = g.node("Where", [dead, scalar(g, 0, like), p])
    out = g.node("MatMul", [p, v])
    return [out, p] if weights_out else out


# ============================================================================ products, triangles
@maps(PR.Einsum)
def einsum(g, call):
    subs, out, sizes = call.inputs[:3]
    for sub, array in zip(subs, call.arrays[3:]):
        if array is None or any(array.shape[i] != sizes[c] for i, c in enumerate(sub)):
            raise unsupported(call, "einsum with broadcast (size-1) operand dims")
    return g.node("Einsum", list(call.inputs[3:]), equation=",".join(subs) + "->" + out)


@maps(Bilinear, _BilinearNoBias)
def bilinear(g, call):  # y = x1 A x2 + b, A: (out, in1, in2)
    x1, x2, w, b = call.inputs
    y = g.node("Einsum", [x1, w, x2], equation="...i,oij,...j->...o")
    return y if b is None else g.node("Add", [y, b])


@maps(ST.StdFromVar)
def std_from_var(g, call):
    return g.node("Sqrt", [call.inputs[0]])


@maps(PR.Triangle, PR.Triu, PR.Tril)
def triangle(g, call):  # the kept triangle of the last two dims, as a fixed mask
    a, diagonal, upper = call.inputs
    rows, cols = call.arrays[0].shape[-2:]
    mask = (np.triu if upper else np.tril)(np.ones((rows, cols), dtype=bool), int(diagonal))
    return g.node("Where", [g.const(mask), a, scalar(g, 0, call.outputs[0])])


# ============================================================================ recurrent layers
# torch's gate blocks, in the order ONNX wants them: LSTM i f g o -> i o f c(g); GRU r z n ->
# z r h(n). RNN has one block.
_GATES = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


def gate_order(g, w, mode, hidden):
    """Weight or bias rows regrouped from torch's gate order to ONNX's, with ONNX's leading
    direction axis."""
    order = _GATES[mode]
    if len(order) > 1:
        blocks = g.node("Split", [w, g.ints([hidden] * len(order))], n_out=len(order), axis=0)
        w = g.node("Concat", [blocks[i] for i in order], axis=0)
    return g.node("Unsqueeze", [w, g.ints([0])])


@maps(RNNLayer)
def rnn_layer(g, call):
    """One layer and direction: ONNX's RNN/LSTM/GRU on (T, B, I) with one direction. The packed
    rows (T*B, I) are time-major; packed data of unequal lengths arrives padded (see
    ``_packed``) and runs with ``sequence_lens``."""
    x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, mode, _layer, batch_sizes, reverse = call.inputs
    sizes = np.asarray(batch_sizes)
    lengths = None
    if call.packed is not None:
        steps, lengths = call.packed.steps, call.packed.lengths
        lengths = g.node("Cast", [lengths], to=6)  # INT32: ONNX's sequence_lens
    elif sizes.size and (sizes != sizes[0]).any():
        raise unsupported(call, "packed sequences of different lengths not made by "
                                "nn.utils.rnn.pack_padded_sequence in the exported forward")
    else:
        steps = int(sizes.size)
    if w_hr is not None:
        if lengths is not None:
            raise unsupported(call, "LSTM with proj_size on packed sequences")
        return projected_lstm(g, call)
    hidden = call.arrays[2].shape[1]
    # the batch is left open (-1): the (T*B, I) rows are time-major and T is fixed
    seq = g.node("Reshape", [x, g.ints([steps, -1, call.arrays[0].shape[1]])])
    w = gate_order(g, w_ih, mode, hidden)
    r = gate_order(g, w_hh, mode, hidden)
    if b_ih is None:
        b = None
    else:
        b = g.node("Concat", [gate_order(g, b_ih, mode, hidden),
                              gate_order(g, b_hh, mode, hidden)], axis=1)
    h = initial_state(g, h0)
    attrs = dict(hidden_size=hidden, direction="reverse" if reverse else "forward")
    if mode == "LSTM":
        c = initial_state(g, c0)
        y, h_n, c_n = g.node("LSTM", [seq, w, r, b, lengths, h, c], n_out=3, **attrs)
    elif mode == "GRU":  # torch applies r after the hidden matmul: linear_before_reset
        y, h_n = g.node("GRU", [seq, w, r, b, lengths, h], n_out=2, linear_before_reset=1,
                        **attrs)
    else:
        y, h_n = g.node("RNN", [seq, w, r, b, lengths, h], n_out=2,
                        activations=["Tanh" if mode == "RNN_TANH" else "Relu"], **attrs)
    squeeze0 = g.ints([0])
    outs = [g.node("Reshape", [y, g.ints([-1, hidden])]),
            g.node("Squeeze", [h_n, squeeze0])]
    if mode == "LSTM":
        outs.append(g.node("Squeeze", [c_n, squeeze0]))
    return outs


rnn_layer.packed_rows = True  # its output stays in the input's packed layout


def initial_state(g, state):
    """A recurrent node's initial state with ONNX's direction axis; a constant of zeros (the
    module's default, made at the traced batch size) is left out: ONNX's default is zeros, and
    the batch stays dynamic."""
    fixed = g.initializers.get(state)
    if fixed is not None and not fixed.any():
        return None
    return g.node("Unsqueeze", [state, g.ints([0])])


def projected_lstm(g, call):
    """LSTM with proj_size (ONNX's LSTM has no projection): the time loop unrolled over the
    traced number of steps, torch's gate order (i, f, g, o), h = (o * tanh(c)) W_hr^T. The
    input projection is one MatMul over the whole sequence; the batch stays dynamic."""
    x, w_ih, w_hh, b_ih, b_hh, w_hr, h, c, _mode, _layer, batch_sizes, reverse = call.inputs
    steps, hidden = len(batch_sizes), call.arrays[1].shape[0] // 4
    seq = g.node("Reshape", [x, g.ints([steps, -1, call.arrays[0].shape[1]])])
    xw = g.node("MatMul", [seq, g.node("Transpose", [w_ih], perm=[1, 0])])
    if b_ih is not None:
        xw = g.node("Add", [xw, g.node("Add", [b_ih, b_hh])])
    r = g.node("Transpose", [w_hh], perm=[1, 0])
    p = g.node("Transpose", [w_hr], perm=[1, 0])
    gate = [(g.ints([k * hidden]), g.ints([(k + 1) * hidden])) for k in range(4)]
    axis = g.ints([1])
    ys = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        z = g.node("Add", [g.node("Gather", [xw, g.const(np.int64(t))], axis=0),
                           g.node("MatMul", [h, r])])
        i, f, cell, o = (g.node("Slice", [z, lo, hi, axis]) for lo, hi in gate)
        c = g.node("Add", [g.node("Mul", [g.node("Sigmoid", [f]), c]),
                           g.node("Mul", [g.node("Sigmoid", [i]), g.node("Tanh", [cell])])])
        h = g.node("MatMul", [g.node("Mul", [g.node("Sigmoid", [o]), g.node("Tanh", [c])]), p])
        ys[t] = g.node("Unsqueeze", [h, g.ints([0])])
    y = g.node("Concat", ys, axis=0) if steps else g.node("Unsqueeze", [h, g.ints([0])])
    return [g.node("Reshape", [y, g.ints([-1, call.arrays[5].shape[0]])]), h, c]


# ============================================================================ integer-array indexing
@maps(I.Index)
def index(g, call):
    """``x[..., arrays, ...]``: partial slices are taken by a Slice first and None by an
    Unsqueeze (each then a full slice of the result), a fixed 1-d mask is its integer
    positions; then one integer array is a Gather, several (or ints beside one) a GatherND.
    A mask computed from the inputs, or of several dims, is not exported."""
    x, idx = call.inputs
    items = expand_index(idx, call.arrays[0].ndim)
    for k, i in enumerate(items):
        if isinstance(i, np.ndarray) and i.dtype == np.bool_:
            if call.lookup(i) is not None or i.ndim != 1:
                raise unsupported(call, "a boolean mask computed in the model (its result's "
                                        "size depends on the values) or of more than one dim")
            items[k] = np.flatnonzero(i).astype(np.int64)
    if not all(i is None or isinstance(i, (slice, np.ndarray, int, np.integer)) for i in items):
        raise unsupported(call, f"indexing with {idx!r}")
    x, shape, items = full_slices(g, x, call.arrays[0].shape, items)
    picked = [(d, i) for d, i in enumerate(items) if not isinstance(i, slice)]
    if not picked:
        raise unsupported(call, f"indexing with {idx!r}")
    if len(picked) > 1 or not isinstance(picked[0][1], np.ndarray):
        return gather_nd(g, call, x, shape, items)
    axis, array = picked[0]
    name = call.lookup(array)
    if name is None:
        name = g.const(array.astype(np.int64))
    return g.node("Gather", [x, name], axis=axis)


def full_slices(g, x, shape, items):
    """(x', shape', items') with every slice of ``items`` full: partial slices applied by one
    Slice, None dims added by one Unsqueeze (items' then names one dim of x' each)."""
    starts, ends, axes, steps, out = [], [], [], [], []
    dim = 0
    for i in items:
        if isinstance(i, slice) and i != slice(None):
            start, stop, step = i.indices(shape[dim])
            if step < 0 and stop < 0:
                stop = INT64_MIN  # "through index 0": ONNX reads -1 as the last element
            starts.append(start), ends.append(stop), axes.append(dim), steps.append(step)
        out.append(slice(None) if isinstance(i, slice) else i)
        dim += i is not None
    new_shape = [len(range(*s.indices(n))) if isinstance(s, slice) else n
                 for n, s in zip(shape, [i for i in items if i is not None])]
    if axes:
        x = g.node("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    inserted = [k for k, i in enumerate(out) if i is None]
    if inserted:
        x = g.node("Unsqueeze", [x, g.ints(inserted)])
        for k in inserted:
            new_shape.insert(k, 1)
    return x, tuple(new_shape), [slice(None) if i is None else i for i in out]


def gather_nd(g, call, x, shape, items):
    """``x[a, :, b]`` with several integer arrays (ints count as 0-d arrays, as in NumPy): the
    indexed dims brought first, the arrays broadcast and stacked, one GatherND; the broadcast
    dims then stand where NumPy puts them (in place of adjacent indexed dims, else first)."""
    picked = [d for d, i in enumerate(items) if not isinstance(i, slice)]
    kept = [d for d, i in enumerate(items) if isinstance(i, slice)]
    arrays = [np.asarray(items[d]) for d in picked]
    batch = np.broadcast_shapes(*(a.shape for a in arrays))
    columns = []
    for d, a in zip(picked, arrays):
        name = call.lookup(items[d]) if isinstance(items[d], np.ndarray) else None
        v = g.const(a.astype(np.int64)) if name is None else name
        if name is not None and a.dtype != np.int64:
            v = g.node("Cast", [v], to=_elem_type(np.empty(0, np.int64)))
        size = g.const(np.int64(shape[d]))
        v = g.node("Where", [g.node("Less", [v, g.const(np.int64(0))]),
                             g.node("Add", [v, size]), v])  # negative indices count back
        v = g.node("Expand", [v, g.ints(batch)])
        columns.append(g.node("Unsqueeze", [v, g.ints([len(batch)])]))
    moved = g.node("Transpose", [x], perm=picked + kept)
    y = g.node("GatherND", [moved, g.node("Concat", columns, axis=-1)])
    if picked == list(range(picked[0], picked[-1] + 1)) and picked[0] > 0:
        b, lead = len(batch), picked[0]  # adjacent: the broadcast dims go after the lead dims
        y = g.node("Transpose", [y], perm=[*range(b, b + lead), *range(b),
                                           *range(b + lead, b + len(kept))])
    return y


_ROUNDING = {np.floor: "Floor", np.ceil: "Ceil", np.sign: "Sign"}


@maps(E.ZeroGrad)
def piecewise_constant(g, call):  # floor, ceil, sign, trunc
    x, fn = call.inputs
    if fn is np.trunc:  # sign(x) floor(|x|)
        return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])
    if fn not in _ROUNDING:
        raise unsupported(call, f"the piecewise-constant op {getattr(fn, '__name__', fn)}")
    return g.node(_ROUNDING[fn], [x])


@maps(P.Round)
def round_(g, call):  # to even, as NumPy's rint and ONNX's Round
    return g.node("Round", [call.inputs[0]])


# ============================================================================ spatial transformers
@maps(Rs.AffineGridGenerator)
def affine_grid(g, call):  # grid = base @ theta^T: the base grid is fixed by the output size
    theta, spatial, align_corners = call.inputs
    n = len(spatial)
    base = Rs.base_grid(spatial, align_corners, call.outputs[0].dtype).reshape(-1, n + 1)
    grid = g.node("MatMul", [g.const(base), g.node("Transpose", [theta], perm=[0, 2, 1])])
    return g.node("Reshape", [grid, shape_for(g, call.arrays[0].shape, call.outputs[0].shape)])


_GRID_MODES = {16: {"bilinear": "bilinear", "nearest": "nearest", "bicubic": "bicubic"},
               20: {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic"}}


@maps(Rs.GridSampler2D, Rs.GridSampler3D)
def grid_sample(g, call):
    x, grid, mode, padding_mode, align_corners = call.inputs
    spatial = call.arrays[0].ndim - 2
    if g.opset < 16 or (spatial == 3 and g.opset < 20):
        raise unsupported(call, f"grid_sample on {spatial}-d inputs needs opset_version >= "
                                f"{16 if spatial == 2 else 20}")
    modes = _GRID_MODES[20 if g.opset >= 20 else 16]
    return g.node("GridSample", [x, grid], mode=modes[mode], padding_mode=padding_mode,
                  align_corners=int(bool(align_corners)))


def _scaled_unary(op, pre=None, post=None):
    """``post * op(pre * x)`` (a missing factor is 1): log2, log10, exp2, deg2rad, ..."""
    def emit(g, call):
        x, like = call.inputs[0], call.outputs[0]
        if pre is not None:
            x = g.node("Mul", [x, scalar(g, pre, like)])
        y = g.node(op, [x]) if op else x
        return y if post is None else g.node("Mul", [y, scalar(g, post, like)])
    return emit


for _name, _emit in (("log2", _scaled_unary("Log", post=1 / math.log(2))),
                     ("log10", _scaled_unary("Log", post=1 / math.log(10))),
                     ("exp2", _scaled_unary("Exp", pre=math.log(2))),
                     ("deg2rad", _scaled_unary(None, post=math.pi / 180)),
                     ("rad2deg", _scaled_unary(None, post=180 / math.pi))):
    TABLE[P.FUNCTIONS[_name]] = _emit


@maps(P.FUNCTIONS["expm1"])
def expm1(g, call):
    return g.node("Sub", [g.node("Exp", [call.inputs[0]]), scalar(g, 1, call.outputs[0])])


@maps(P.FUNCTIONS["erfc"])
def erfc(g, call):
    return g.node("Sub", [scalar(g, 1, call.outputs[0]), g.node("Erf", [call.inputs[0]])])


# ============================================================================ writes into a tensor
# x[idx] = v and in-place ops on views: the written positions are fixed by the traced shapes,
# so they are computed here on an arange and the write is one ScatterElements on the flat data.
def scatter_flat(g, base, shape, positions, updates):
    flat = g.node("Reshape", [base, g.ints([-1])])
    written = g.node("ScatterElements", [flat, g.const(positions.reshape(-1).astype(np.int64)),
                                         g.node("Reshape", [updates, g.ints([-1])])], axis=0)
    return g.node("Reshape", [written, g.ints(shape)])


def region_positions(geometry):
    base_shape = geometry[0]
    return IP.view_region(np.arange(int(np.prod(base_shape)), dtype=np.int64), geometry).copy()


@maps(I.IndexPut)
def index_put(g, call):  # out = a.clone(); out[idx] = v
    a, idx, v = call.inputs
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(isinstance(i, np.ndarray) and call.lookup(i) is not None for i in items):
        raise unsupported(call, "writing at indices computed in the model")
    shape = call.arrays[0].shape
    positions = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[idx]
    values = operand(g, call, 2) if call.arrays[2] is not None or np.ndim(v) == 0 else g.const(
        np.asarray(v, dtype=call.outputs[0].dtype))
    values = g.node("Expand", [values, g.ints(np.shape(positions))])
    return scatter_flat(g, a, shape, positions, values)


@maps(IP.CopySlices)
def copy_slices(g, call):  # the base with the view's region replaced by the op's result
    base, result, geometry = call.inputs
    return scatter_flat(g, base, geometry[0], region_positions(geometry), result)


@maps(IP.AsStrided)
def as_strided(g, call):  # the view, read back from its (rewritten) base
    base, geometry = call.inputs
    flat = g.node("Reshape", [base, g.ints([-1])])
    return g.node("Gather", [flat, g.const(region_positions(geometry))], axis=0)


# ============================================================================ ops without a Function
# Tensor's comparisons, argmax/argmin and integer-style divisions compute without a Function;
# the tracer hands them here as (Tensor path, NumPy op) -> emitter when they touch a traced value.
UNTRACED = {}


def cast_to(g, value, dtype, want):
    return value if np.dtype(dtype) == np.dtype(want) else g.node(
        "Cast", [value], to=_elem_type(np.empty(0, want)))


def promoted(g, call, reverse=False):
    """The two operands of a binary Tensor path in one dtype (torch's promotion: a Python
    number keeps a tensor's kind unless it is a float beside integers)."""
    a, b = call.inputs[0], call.inputs[1]
    a_dtype = call.arrays[0].dtype
    if call.arrays[1] is not None:
        want = np.result_type(a_dtype, call.arrays[1].dtype)
        a, b = cast_to(g, a, a_dtype, want), cast_to(g, b, call.arrays[1].dtype, want)
    else:
        number = np.asarray(b)
        want = a_dtype if a_dtype.kind == "f" or number.dtype.kind in "biu" else np.float32
        if a_dtype.kind == "b" and number.dtype.kind != "b":
            want = number.dtype if number.dtype.kind == "f" else np.int64
        a, b = cast_to(g, a, a_dtype, want), g.const(number.astype(want))
    return (b, a) if reverse else (a, b)


def comparison(op, negate=False):
    def emit(g, call):
        y = g.node(op, list(promoted(g, call)))
        return g.node("Not", [y]) if negate else y
    return emit


for _ufunc, _op in ((np.equal, "Equal"), (np.less, "Less"), (np.greater, "Greater"),
                    (np.less_equal, "LessOrEqual"), (np.greater_equal, "GreaterOrEqual")):
    UNTRACED["_compare", _ufunc] = comparison(_op)
UNTRACED["_compare", np.not_equal] = comparison("Equal", negate=True)


def arg_extreme(op):
    def emit(g, call):  # the first extreme, as ember's (ONNX's select_last_index=0)
        x, dim, keepdim = call.inputs
        ndim = call.arrays[0].ndim
        if ndim == 0:
            return g.const(np.int64(0))
        if dim is None:
            flat = g.node(op, [g.node("Reshape", [x, g.ints([-1])])], axis=0, keepdims=0)
            return g.node("Reshape", [flat, g.ints([1] * ndim)]) if keepdim else flat
        return g.node(op, [x], axis=int(dim) % ndim, keepdims=int(bool(keepdim)))
    return emit


UNTRACED["_arg", np.argmax] = arg_extreme("ArgMax")
UNTRACED["_arg", np.argmin] = arg_extreme("ArgMin")


def floor_divide(g, call, reverse=False):
    a, b = promoted(g, call, reverse)
    if call.outputs[0].dtype.kind == "f":
        return g.node("Floor", [g.node("Div", [a, b])])
    # integers: (a - a mod b) / b is exact, with Python's (floor) remainder
    return g.node("Div", [g.node("Sub", [a, g.node("Mod", [a, b], fmod=0)]), b])


def trunc_divide(g, call, reverse=False):
    a, b = promoted(g, call, reverse)
    if call.outputs[0].dtype.kind == "f":
        q = g.node("Div", [a, b])
        return g.node("Mul", [g.node("Sign", [q]), g.node("Floor", [g.node("Abs", [q])])])
    return g.node("Div", [g.node("Sub", [a, g.node("Mod", [a, b], fmod=1)]), b])


UNTRACED["_nograd_binary", np.floor_divide] = floor_divide
UNTRACED["_nograd_binary", E.trunc_divide] = trunc_divide


def bitwise(logical, op):
    """``&``, ``|``, ``^``: on bools ONNX's And/Or/Xor; on integers BitwiseAnd/Or/Xor (opset
    18)."""
    def emit(g, call, reverse=False):
        a, b = promoted(g, call, reverse)
        if call.outputs[0].dtype.kind == "b":
            return g.node(logical, [a, b])
        if g.opset < 18:
            raise UnsupportedOperatorError(f"Exporting the operator '{op}' on integers to ONNX "
                                           "needs opset_version >= 18")
        return g.node(op, [a, b])
    return emit


for _ufunc, _logical, _op in ((np.bitwise_and, "And", "BitwiseAnd"),
                              (np.bitwise_or, "Or", "BitwiseOr"),
                              (np.bitwise_xor, "Xor", "BitwiseXor")):
    UNTRACED["_nograd_binary", _ufunc] = bitwise(_logical, _op)


def as_bool(g, value, dtype):
    """A value as bool (nonzero is True), as NumPy's logical ops read it."""
    if np.dtype(dtype).kind == "b":
        return value
    return g.node("Not", [g.node("Equal", [value, g.const(np.zeros((), dtype))])])


def as_float(g, value, dtype):
    return value if np.dtype(dtype).kind == "f" else g.node("Cast", [value], to=1)


UNTRACED["isnan", None] = lambda g, call: g.node("IsNaN", [
    as_float(g, call.inputs[0], call.arrays[0].dtype)])
UNTRACED["isinf", None] = lambda g, call: g.node("IsInf", [
    as_float(g, call.inputs[0], call.arrays[0].dtype)])


def isfinite(g, call):
    x = as_float(g, call.inputs[0], call.arrays[0].dtype)
    return g.node("Not", [g.node("Or", [g.node("IsNaN", [x]), g.node("IsInf", [x])])])


def logical(op):
    def emit(g, call):
        a = as_bool(g, call.inputs[0], call.arrays[0].dtype)
        if op == "Not":
            return g.node("Not", [a])
        if call.arrays[1] is not None:
            b = as_bool(g, call.inputs[1], call.arrays[1].dtype)
        else:
            b = g.const(np.asarray(call.inputs[1]).astype(bool))
        return g.node(op, [a, b])
    return emit


def invert(g, call):  # ~: logical on bools, bitwise on integers (BitwiseNot: opset 18)
    x = call.inputs[0]
    if call.arrays[0].dtype.kind == "b":
        return g.node("Not", [x])
    if g.opset < 18:
        raise UnsupportedOperatorError("Exporting the operator '__invert__' on integers to ONNX "
                                       "needs opset_version >= 18")
    return g.node("BitwiseNot", [x])


def any_all(op):
    def emit(g, call, dim=None, keepdim=False):
        x, args = call.inputs[0], call.inputs[1:]
        dim = args[0] if args else dim
        keepdim = args[1] if len(args) > 1 else keepdim
        ndim = call.arrays[0].ndim
        flags = g.node("Cast", [as_bool(g, x, call.arrays[0].dtype)], to=6)  # INT32
        axes = axes_list(dim, ndim) if ndim else None
        y = reduce(g, op, flags, axes, int(bool(keepdim)) if dim is not None else 0)
        if dim is None and keepdim:
            y = g.node("Reshape", [y, g.ints([1] * ndim)])
        return g.node("Cast", [y], to=9)  # BOOL
    return emit


UNTRACED["isfinite", None] = isfinite
UNTRACED["logical_not", None] = logical("Not")
UNTRACED["logical_and", None] = logical("And")
UNTRACED["logical_or", None] = logical("Or")
UNTRACED["__invert__", None] = invert
UNTRACED["any", None] = any_all("ReduceMax")
UNTRACED["all", None] = any_all("ReduceMin")


# ============================================================================ losses
from ..nn.functional import loss as L  # noqa: E402  (beside the emitters that use it)


def reduce_loss(g, loss, reduction):
    """torch's reduction of per-element losses: 'none', 'sum', or 'mean' over every element."""
    if reduction == "none":
        return loss
    return g.node("ReduceSum" if reduction == "sum" else "ReduceMean", [loss], keepdims=0)


def array_operand(g, call, i):
    """An array argument a loss's functional derived from a Tensor (its weight, broadcast with
    NumPy): the traced value it views if there is one (so it is not frozen), else a constant."""
    a = call.arrays[i] if call.arrays[i] is not None else call.inputs[i]
    if a is None:
        return None
    if isinstance(call.inputs[i], str):
        return call.inputs[i]
    base = a
    while isinstance(base, np.ndarray):
        name = call.lookup(base)
        if name is not None:
            return name
        base = base.base
    return g.const(np.asarray(a, dtype=call.outputs[0].dtype))


def loss_difference(g, call):
    return g.node("Sub", [operand(g, call, 0), operand(g, call, 1)])


@maps(L._MSELoss, L._L1Loss, L._SmoothL1Loss, L._HuberLoss)
def pointwise_loss(g, call):
    reduction, param = call.inputs[2], call.inputs[3] if len(call.inputs) > 3 else None
    like = call.outputs[0]
    d = loss_difference(g, call)
    if call.fn is L._MSELoss:
        loss = g.node("Mul", [d, d])
    elif call.fn is L._L1Loss:
        loss = g.node("Abs", [d])
    else:  # smooth L1 (beta) / Huber (delta): quadratic inside |d| < param
        a = g.node("Abs", [d])
        half_square = g.node("Mul", [g.node("Mul", [d, d]), scalar(g, 0.5, like)])
        linear = g.node("Sub", [a, scalar(g, 0.5 * param, like)])
        if call.fn is L._SmoothL1Loss:
            inside = g.node("Div", [half_square, scalar(g, param, like)])
        else:
            inside, linear = half_square, g.node("Mul", [linear, scalar(g, param, like)])
        loss = g.node("Where", [g.node("Less", [a, scalar(g, param, like)]), inside, linear])
    return reduce_loss(g, loss, reduction)


@maps(L._BinaryCrossEntropy)
def binary_cross_entropy(g, call):  # -w (y log x + (1 - y) log(1 - x)), logs clamped at -100
    x, y = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    one, floor = scalar(g, 1, like), scalar(g, -100, like)
    log_x = g.node("Max", [g.node("Log", [x]), floor])
    log_1mx = g.node("Max", [g.node("Log", [g.node("Sub", [one, x])]), floor])
    loss = g.node("Neg", [g.node("Add", [g.node("Mul", [y, log_x]), g.node(
        "Mul", [g.node("Sub", [one, y]), log_1mx])])])
    w = array_operand(g, call, 2)
    if w is not None:
        loss = g.node("Mul", [loss, w])
    return reduce_loss(g, loss, call.inputs[3])


@maps(L._BinaryCrossEntropyWithLogits)
def binary_cross_entropy_with_logits(g, call):  # (1 - y) x - (1 + (p - 1) y) log sigmoid(x)
    x, y = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    one = scalar(g, 1, like)
    log_sig = g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])
    pos_weight = array_operand(g, call, 3)
    if pos_weight is not None:
        log_sig = g.node("Mul", [log_sig, g.node("Add", [one, g.node(
            "Mul", [g.node("Sub", [pos_weight, one]), y])])])
    loss = g.node("Sub", [g.node("Mul", [g.node("Sub", [one, y]), x]), log_sig])
    w = array_operand(g, call, 2)
    if w is not None:
        loss = g.node("Mul", [loss, w])
    return reduce_loss(g, loss, call.inputs[4])


@maps(L._KLDiv)
def kl_div(g, call):
    x, y = operand(g, call, 0), operand(g, call, 1)
    reduction, log_target = call.inputs[2], call.inputs[3]
    like = call.outputs[0]
    if log_target:
        loss = g.node("Mul", [g.node("Exp", [y]), g.node("Sub", [y, x])])
    else:  # xlogy(y, y) - y x, with 0 log 0 = 0
        zero = g.node("Equal", [y, scalar(g, 0, like)])
        safe = g.node("Where", [zero, scalar(g, 1, like), y])
        xlogy = g.node("Where", [zero, scalar(g, 0, like), g.node("Mul", [y, g.node("Log",
                                                                                    [safe])])])
        loss = g.node("Sub", [xlogy, g.node("Mul", [y, x])])
    if reduction != "batchmean":
        return reduce_loss(g, loss, reduction)
    total = g.node("ReduceSum", [loss], keepdims=0)
    if call.arrays[0].ndim == 0:
        return total
    batch = g.node("Gather", [g.node("Shape", [x]), g.const(np.int64(0))], axis=0)
    return g.node("Div", [total, g.node("Cast", [batch], to=_elem_type(like))])


def class_targets(g, call, x, target, weight, ignore_index):
    """(log-probability input batched, targets batched, per-target weight w_t: the class
    weight, 0 where the target is ignored). ONNX's NegativeLogLikelihoodLoss wants (N, C, ...)
    and (N, ...)."""
    if call.arrays[0].ndim == 1:
        x = g.node("Unsqueeze", [x, g.ints([0])])
        target = g.node("Reshape", [target, g.ints([1])])
    target = cast_to(g, target, call.arrays[1].dtype, np.int64)
    kept = g.node("Not", [g.node("Equal", [target, g.const(np.int64(ignore_index))])])
    like = call.outputs[0]
    if weight is None:
        w_t = g.node("Cast", [kept], to=_elem_type(like))
    else:
        safe = g.node("Where", [kept, target, g.const(np.int64(0))])
        w_t = g.node("Where", [kept, g.node("Gather", [weight, safe], axis=0),
                               scalar(g, 0, like)])
    return x, target, w_t


def unbatched_loss(g, call, loss, reduction):
    if call.arrays[0].ndim == 1 and reduction == "none":
        return g.node("Reshape", [loss, g.ints([])])
    return loss


@maps(L._NLLLoss)
def nll_loss(g, call):
    x, target, _, ignore_index, reduction = call.inputs
    weight = array_operand(g, call, 2)
    x, target, _ = class_targets(g, call, x, target, weight, ignore_index)
    loss = g.node("NegativeLogLikelihoodLoss", [x, target, weight], reduction=reduction,
                  ignore_index=int(ignore_index))
    return unbatched_loss(g, call, loss, reduction)


@maps(L._CrossEntropy)
def cross_entropy(g, call):
    """Class indices: ONNX's SoftmaxCrossEntropyLoss; with label smoothing ε, torch's
    (1 - ε) nll + ε/C sum_c w_c (-log p_c) over the kept targets, 'mean' dividing by the kept
    targets' weights. Probabilities: -sum_c w_c q'_c log p_c, 'mean' over the samples."""
    x, target, _, ignore_index, reduction, eps, probs = call.inputs
    weight = array_operand(g, call, 2)
    like = call.outputs[0]
    n_classes = call.arrays[0].shape[0 if call.arrays[0].ndim == 1 else 1]
    if probs:
        if call.arrays[0].ndim == 1:
            x = g.node("Unsqueeze", [x, g.ints([0])])
            target = g.node("Unsqueeze", [target, g.ints([0])])
        logp = g.node("LogSoftmax", [x], axis=1)
        q = target
        if eps:
            q = g.node("Add", [g.node("Mul", [q, scalar(g, 1 - eps, like)]),
                               scalar(g, eps / n_classes, like)])
        if weight is not None:
            q = g.node("Mul", [q, class_axis(g, weight, call.arrays[0].ndim)])
        loss = g.node("Neg", [g.node("ReduceSum", [g.node("Mul", [logp, q]), g.ints([1])],
                                     keepdims=0)])
        return unbatched_loss(g, call, reduce_loss(g, loss, reduction), reduction)
    x, target, w_t = class_targets(g, call, x, target, weight, ignore_index)
    if not eps:
        loss = g.node("SoftmaxCrossEntropyLoss", [x, target, weight], reduction=reduction,
                      ignore_index=int(ignore_index))
        return unbatched_loss(g, call, loss, reduction)
    logp = g.node("LogSoftmax", [x], axis=1)
    nll = g.node("NegativeLogLikelihoodLoss", [logp, target, weight], reduction="none",
                 ignore_index=int(ignore_index))
    weighted = logp if weight is None else g.node("Mul", [logp, class_axis(
        g, weight, max(call.arrays[0].ndim, 2))])
    smooth = g.node("Neg", [g.node("ReduceSum", [weighted, g.ints([1])], keepdims=0)])
    smooth = g.node("Where", [g.node("Greater", [w_t, scalar(g, 0, like)]) if weight is None
                              else g.node("Not", [g.node("Equal", [target, g.const(
                                  np.int64(ignore_index))])]), smooth, scalar(g, 0, like)])
    loss = g.node("Add", [g.node("Mul", [nll, scalar(g, 1 - eps, like)]),
                          g.node("Mul", [smooth, scalar(g, eps / n_classes, like)])])
    if reduction == "mean":
        total = g.node("ReduceSum", [loss], keepdims=0)
        return g.node("Div", [total, g.node("ReduceSum", [w_t], keepdims=0)])
    return unbatched_loss(g, call, reduce_loss(g, loss, reduction), reduction)


def class_axis(g, weight, ndim):
    """A (C,) weight shaped to broadcast along the class axis (dim 1) of an ``ndim`` input."""
    return g.node("Reshape", [weight, g.ints([-1] + [1] * (ndim - 2))]) if ndim > 2 else weight


@maps(*L._EUCLIDEAN_TRIPLET.values())
def euclidean_triplet(g, call):  # max(0, m + d(a, p) - d(a, n)), d = ||x - y + eps||_2
    a, p, n, margin, eps, swap, reduction = call.inputs
    like = call.outputs[0]

    def distance(x, y):
        shifted = g.node("Add", [g.node("Sub", [x, y]), scalar(g, eps, like)])
        return reduce(g, "ReduceL2", shifted, [-1], 0)
    dist_neg = distance(a, n)
    if swap:
        dist_neg = g.node("Min", [dist_neg, distance(p, n)])
    hinge = g.node("Add", [scalar(g, margin, like), g.node("Sub", [distance(a, p), dist_neg])])
    return reduce_loss(g, g.node("Max", [hinge, scalar(g, 0, like)]), reduction)


# ============================================================================ im2col, col2im
from ..nn.functional.conv import Col2Im, Im2Col  # noqa: E402
from ..nn.functional.normalization import _CrossMapLRN2d  # noqa: E402


@maps(Im2Col)
def unfold(g, call):
    """(N, C, H, W) -> (N, C*kh*kw, L): zero padding, then one Gather of fixed positions over
    the flattened padded plane (exact for every value, inf and nan included, unlike a Conv
    with one-hot kernels)."""
    x, kernel, dilation, padding, stride = call.inputs
    height, width = call.arrays[0].shape[2:]
    ph, pw = padding
    rows, cols = height + 2 * ph, width + 2 * pw
    out = [(size - d * (k - 1) - 1) // s + 1
           for size, k, d, s in zip((rows, cols), kernel, dilation, stride)]
    ki, kj = np.meshgrid(np.arange(kernel[0]), np.arange(kernel[1]), indexing="ij")
    oy, ox = np.meshgrid(np.arange(out[0]), np.arange(out[1]), indexing="ij")
    positions = ((oy.reshape(1, -1) * stride[0] + ki.reshape(-1, 1) * dilation[0]) * cols
                 + ox.reshape(1, -1) * stride[1] + kj.reshape(-1, 1) * dilation[1])
    if ph or pw:
        x = g.node("Pad", [x, g.ints([0, 0, ph, pw, 0, 0, ph, pw]),
                           scalar(g, 0, call.outputs[0])], mode="constant")
    planes = g.node("Reshape", [x, g.ints([0, 0, -1])])
    picked = g.node("Gather", [planes, g.const(positions.astype(np.int64))], axis=2)
    return g.node("Reshape", [picked, g.ints([0, -1, positions.shape[1]])])


@maps(Col2Im)
def fold(g, call):  # ONNX's Col2Im (opset 18) sums the overlaps as torch's fold
    cols, output_size, kernel, dilation, padding, stride = call.inputs
    if g.opset < 18:
        raise unsupported(call, f"fold (col2im) needs opset_version >= 18 (ONNX's Col2Im), "
                                f"got {g.opset}")
    return g.node("Col2Im", [cols, g.ints(output_size), g.ints(kernel)],
                  dilations=list(dilation), pads=list(padding) * 2, strides=list(stride))


@maps(_CrossMapLRN2d)
def cross_map_lrn2d(g, call):
    """torch's CrossMapLRN2d, quirks included: its running window over channels is a fixed
    linear map of the squares (built here by running the Function's recurrence on the
    identity), so scale = k + alpha/size * M x^2 along the channel axis; y = x scale^-beta."""
    x, size, alpha, beta, k = call.inputs
    channels = call.arrays[0].shape[1]
    pre_pad = int((size - 1) / 2 + 1)
    eye = np.eye(channels)
    delta = np.zeros((channels, channels))
    delta[0] = eye[:min(pre_pad, channels)].sum(axis=0)
    c = np.arange(1, channels)
    added = c[c < channels - pre_pad + 1]
    delta[added] += eye[added + pre_pad - 1]
    removed = c[c > pre_pad]
    delta[removed] -= eye[removed - pre_pad]
    window = np.cumsum(delta, axis=0) * (alpha / size)
    like = call.outputs[0]
    summed = g.node("Einsum", [g.const(window.astype(like.dtype)), g.node("Mul", [x, x])],
                    equation="dc,nc...->nd...")
    scale = g.node("Add", [summed, scalar(g, k, like)])
    return g.node("Mul", [g.node("Pow", [scale, scalar(g, -beta, like)]), x])


# ============================================================================ more pointwise
B = P.BINARY_FUNCTIONS


@maps(B["atan2"])
def atan2(g, call):
    """atan(a / b) moved to the right quadrant; b = 0 gives +-pi/2 or 0 (np.arctan2's values,
    apart from signed zeros)."""
    a, b = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    zero = scalar(g, 0, like)
    base = g.node("Atan", [g.node("Div", [a, b])])
    a_neg = g.node("Less", [a, zero])
    b_neg = g.node("Less", [b, zero])
    half_pi = g.node("Where", [a_neg, scalar(g, -math.pi / 2, like), g.node(
        "Where", [g.node("Greater", [a, zero]), scalar(g, math.pi / 2, like), zero])])
    shifted = g.node("Add", [base, g.node("Where", [a_neg, scalar(g, -math.pi, like),
                                                     scalar(g, math.pi, like)])])
    y = g.node("Where", [b_neg, shifted, base])
    return g.node("Where", [g.node("Equal", [b, zero]), half_pi, y])


@maps(B["fmod"])
def fmod(g, call):  # C's fmod: the dividend's sign
    a, b = operand(g, call, 0), operand(g, call, 1)
    return g.node("Mod", [a, b], fmod=1)


@maps(B["remainder"])
def remainder(g, call):
    """Python's %: the divisor's sign. Integers: ONNX's Mod (fmod=0) is that; floats: fmod,
    plus the divisor where the signs differ and the remainder is not 0."""
    a, b = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    if like.dtype.kind != "f":
        return g.node("Mod", [a, b], fmod=0)
    r = g.node("Mod", [a, b], fmod=1)
    zero = scalar(g, 0, like)
    differ = g.node("Xor", [g.node("Less", [r, zero]), g.node("Less", [b, zero])])
    fix = g.node("And", [differ, g.node("Not", [g.node("Equal", [r, zero])])])
    return g.node("Where", [fix, g.node("Add", [r, b]), r])


@maps(B["hypot"])
def hypot(g, call):
    a, b = operand(g, call, 0), operand(g, call, 1)
    return g.node("Sqrt", [g.node("Add", [g.node("Mul", [a, a]), g.node("Mul", [b, b])])])


@maps(B["copysign"])
def copysign(g, call):  # |a| with b's sign bit (-0.0 counts as negative: 1 / -0.0 < 0)
    a, b = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    zero = scalar(g, 0, like)
    negative = g.node("Or", [g.node("Less", [b, zero]), g.node(
        "Less", [g.node("Div", [scalar(g, 1, like), b]), zero])])
    magnitude = g.node("Abs", [a])
    return g.node("Where", [negative, g.node("Neg", [magnitude]), magnitude])


def log_add_exp(base):
    def emit(g, call):  # m + log_base(base^(a - m) + base^(b - m)), m = max(a, b)
        a, b = operand(g, call, 0), operand(g, call, 1)
        like = call.outputs[0]
        m = g.node("Max", [a, b])
        ln = math.log(base)

        def power(x):
            d = g.node("Sub", [x, m])
            return g.node("Exp", [d if base == math.e else g.node("Mul", [d, scalar(g, ln, like)])])
        total = g.node("Log", [g.node("Add", [power(a), power(b)])])
        if base != math.e:
            total = g.node("Div", [total, scalar(g, ln, like)])
        # both -inf (or an inf) : m itself (inf - inf would be nan)
        return g.node("Where", [g.node("IsInf", [m]), m, g.node("Add", [m, total])])
    return emit


TABLE[B["logaddexp"]] = log_add_exp(math.e)
TABLE[B["logaddexp2"]] = log_add_exp(2.0)


@maps(B["xlogy"])
def xlogy(g, call):  # 0 where a = 0 (unless b is nan), a log b elsewhere
    a, b = operand(g, call, 0), operand(g, call, 1)
    like = call.outputs[0]
    y = g.node("Where", [g.node("Equal", [a, scalar(g, 0, like)]), scalar(g, 0, like),
                         g.node("Mul", [a, g.node("Log", [b])])])
    return g.node("Where", [g.node("IsNaN", [b]), scalar(g, np.nan, like), y])


@maps(P.FUNCTIONS["sinc"])
def sinc(g, call):  # sin(pi x) / (pi x), 1 at 0
    x, like = call.inputs[0], call.outputs[0]
    px = g.node("Mul", [x, scalar(g, math.pi, like)])
    return g.node("Where", [g.node("Equal", [x, scalar(g, 0, like)]), scalar(g, 1, like),
                            g.node("Div", [g.node("Sin", [px]), px])])


@maps(P.FUNCTIONS["frac"])
def frac(g, call):  # x - trunc(x)
    x = call.inputs[0]
    trunc = g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])
    return g.node("Sub", [x, trunc])


@maps(P.NanToNum)
def nan_to_num(g, call):
    x, nan, posinf, neginf = call.inputs
    like = call.outputs[0]
    info = np.finfo(like.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    y = g.node("Where", [g.node("IsInf", [x], detect_negative=0), scalar(g, posinf, like), x])
    y = g.node("Where", [g.node("IsInf", [x], detect_positive=0), scalar(g, neginf, like), y])
    return g.node("Where", [g.node("IsNaN", [x]), scalar(g, nan, like), y])


@maps(P.Heaviside)
def heaviside(g, call):
    x, like = call.inputs[0], call.outputs[0]
    step = g.node("Cast", [g.node("Greater", [x, scalar(g, 0, like)])], to=_elem_type(like))
    return g.node("Where", [g.node("Equal", [x, scalar(g, 0, like)]), operand(g, call, 1), step])


def no_onnx_form(g, call):
    raise unsupported(call, "ONNX has no such operator, and no exact composition of its "
                            "operators computes it")


for _name in ("lgamma", "digamma", "erfinv", "i0", "i1"):
    TABLE[P.FUNCTIONS[_name]] = no_onnx_form
TABLE[P.Polygamma] = no_onnx_form


# ============================================================================ sort, topk
def sorted_direction(call):
    """1 (largest first) or 0 (smallest first) when the values the op picked are the first k
    of the input sorted along the axis, else None (the indices are something else: a median,
    a kth value, an unsorted topk)."""
    x, axis, idx = call.arrays[0], call.inputs[1], call.inputs[2]
    picked = np.take_along_axis(x, idx, axis)
    k = idx.shape[axis]
    ascending = np.take(np.sort(x, axis=axis), range(k), axis=axis)
    descending = np.take(-np.sort(-x, axis=axis), range(k), axis=axis)
    up, down = (np.array_equal(picked, v, equal_nan=True) for v in (ascending, descending))
    if up and down:  # every row tied: the direction cannot be told from these values
        return "tied"
    return 1 if down else 0 if up else None


@maps(I.TakeAlong, I.TopKValues)
def sort_topk(g, call):
    """sort and topk (values at indices ember computed from the input with NumPy): ONNX's TopK
    (ties: the lower index first), its indices bound to the array the caller returns. Other
    users of precomputed indices (median, kthvalue, mode, quantile) are refused: their
    indices would be frozen."""
    x, axis, idx = call.inputs
    axis = int(axis)
    k = idx.shape[axis]
    full = k == call.arrays[0].shape[axis]
    if full and k == 1:  # one element along the axis: sorted as it is, at index 0
        call.bind_array(idx, g.node("ConstantOfShape", [g.node("Shape", [x])], value=(
            g.onnx.numpy_helper.from_array(np.zeros(1, dtype=np.int64)))))
        return g.node("Identity", [x])
    largest = sorted_direction(call)
    if largest == "tied":
        raise unsupported(call, "sort/topk traced on inputs whose values are all tied along "
                                "the axis; trace with other example inputs")
    if largest is None or (call.fn is I.TakeAlong and not full):
        raise unsupported(call, "values at indices computed from the input with NumPy "
                                "(median, kthvalue, mode, quantile or an unsorted topk): they "
                                "would be frozen at the traced values")
    values, indices = g.node("TopK", [x, g.ints([k])], n_out=2, axis=axis, largest=largest,
                             sorted=1)
    call.bind_array(idx, indices)
    return values


# ============================================================================ diagonals, cross
@maps(PR.Diagonal)
def diagonal(g, call):
    """The two axes brought last and flattened; one Gather of the diagonal's positions."""
    x, offset, axis1, axis2 = call.inputs
    shape = call.arrays[0].shape
    ndim = len(shape)
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    rest = [d for d in range(ndim) if d not in (axis1, axis2)]
    rows, cols = shape[axis1], shape[axis2]
    i = np.arange(max(0, min(rows + min(offset, 0), cols - max(offset, 0))))
    positions = (i - min(offset, 0)) * cols + i + max(offset, 0)
    moved = g.node("Transpose", [x], perm=rest + [axis1, axis2])
    flat = g.node("Reshape", [moved, g.ints([0] * len(rest) + [-1])])
    return g.node("Gather", [flat, g.const(positions.astype(np.int64))], axis=len(rest))


@maps(PR.DiagEmbed)
def diag_embed(g, call):
    """The last axis spread on a diagonal of the two new last axes: Gather the entry each cell
    would hold, then keep it on the diagonal only (a Where: exact, inf and nan included)."""
    a, offset, axis1, axis2 = call.inputs
    out_ndim = call.outputs[0].ndim
    if sorted((axis1 % out_ndim, axis2 % out_ndim)) != [out_ndim - 2, out_ndim - 1]:
        raise unsupported(call, "diag_embed into other axes than the last two")
    n = call.outputs[0].shape[-1]
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if axis1 % out_ndim > axis2 % out_ndim:
        r, c = c, r
    on = (c - r) == offset
    source = np.clip(np.where(offset >= 0, r, c), 0, max(call.arrays[0].shape[-1] - 1, 0))
    picked = g.node("Gather", [a, g.const(source.astype(np.int64))], axis=-1)
    return g.node("Where", [g.const(on), picked, scalar(g, 0, call.outputs[0])])


@maps(PR.Cross)
def cross(g, call):  # (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0) along the axis
    a, b, axis = call.inputs
    axis = int(axis)
    parts_a = g.node("Split", [a, g.ints([1, 1, 1])], n_out=3, axis=axis)
    parts_b = g.node("Split", [b, g.ints([1, 1, 1])], n_out=3, axis=axis)

    def term(i, j):
        return g.node("Sub", [g.node("Mul", [parts_a[i], parts_b[j]]),
                              g.node("Mul", [parts_a[j], parts_b[i]])])
    return g.node("Concat", [term(1, 2), term(2, 0), term(0, 1)], axis=axis)


# ============================================================================ scatters, takes
from .._ops import scatter as SC  # noqa: E402


def along_axis(g, call, index, axis, like_value):
    """A 1-d index (index_add, index_copy, index_fill) spread to the shape of ``like_value``
    (the input gathered at it), for ScatterElements along ``axis``."""
    ndim = call.arrays[0].ndim
    shaped = g.node("Reshape", [index, g.ints([-1 if d == axis else 1 for d in range(ndim)])])
    return g.node("Expand", [shaped, g.node("Shape", [like_value])])


def scatter_elements(g, call, data, index, updates, axis, reduction=None):
    if reduction is not None and (g.opset < 16 or reduction in ("max", "min") and g.opset < 18):
        raise unsupported(call, f"a scatter with reduction '{reduction}' needs opset_version "
                                f">= {18 if reduction in ('max', 'min') else 16}")
    return g.node("ScatterElements", [data, index, updates], axis=axis, reduction=reduction)


@maps(SC.IndexAdd, SC.IndexCopy)
def index_add_copy(g, call):
    a, axis, index = call.inputs[:3]
    axis = int(axis)
    src = operand(g, call, 3)
    if call.fn is SC.IndexAdd and call.inputs[4] != 1:
        src = g.node("Mul", [src, scalar(g, call.inputs[4], call.outputs[0])])
    index = call.index(index)
    spread = along_axis(g, call, index, axis, g.node("Gather", [a, index], axis=axis))
    return scatter_elements(g, call, a, spread, src, axis,
                            "add" if call.fn is SC.IndexAdd else None)


@maps(SC.IndexFill)
def index_fill(g, call):
    a, axis, index, value = call.inputs
    axis = int(axis)
    index = call.index(index)
    at = g.node("Gather", [a, index], axis=axis)
    spread = along_axis(g, call, index, axis, at)
    fill = g.node("Expand", [operand(g, call, 3), g.node("Shape", [at])])
    return scatter_elements(g, call, a, spread, fill, axis)


def cut_to(g, src, index):
    """``src[:index.shape]`` (scatter reads only the leading part of a larger src)."""
    shape = g.node("Shape", [index])
    rank = g.node("Shape", [shape])
    zeros = g.node("ConstantOfShape", [rank], value=g.onnx.numpy_helper.from_array(
        np.zeros(1, dtype=np.int64)))
    return g.node("Slice", [src, zeros, shape])


@maps(I.Scatter)
def scatter(g, call):
    a, axis, index, src, accumulate = call.inputs
    index = call.index(index)
    if call.arrays[3] is None:
        updates = g.node("Expand", [operand(g, call, 3), g.node("Shape", [index])])
    else:
        updates = cut_to(g, src, index)
    return scatter_elements(g, call, a, index, updates, int(axis), "add" if accumulate else None)


_SCATTER_REDUCTIONS = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min", "mean": "add"}


@maps(SC.ScatterReduce, SC.ScatterReduceLinear)
def scatter_reduce(g, call):
    """ScatterElements with reduction; include_self=False first writes the reduction's identity
    at the scattered positions; 'mean' divides the sum by each position's count."""
    a, axis, index, src, reduce_, include_self = call.inputs
    axis, like = int(axis), call.outputs[0]
    if reduce_ == "mean" and like.dtype.kind != "f":
        raise unsupported(call, "scatter_reduce 'mean' on integers (a floor division)")
    index = call.index(index)
    updates = cut_to(g, src, index)
    data = a
    if not include_self:
        identity = SC._reduce_identity(reduce_, like.dtype)
        data = scatter_elements(g, call, a, index, g.node("Expand", [
            scalar(g, identity, like), g.node("Shape", [index])]), axis)
    out = scatter_elements(g, call, data, index, updates, axis, _SCATTER_REDUCTIONS[reduce_])
    if reduce_ != "mean":
        return out
    ones = g.node("Expand", [scalar(g, 1, like), g.node("Shape", [index])])
    start = g.node("Expand", [scalar(g, 1 if include_self else 0, like), g.node("Shape", [a])])
    count = scatter_elements(g, call, start, index, ones, axis, "add")
    return g.node("Div", [out, g.node("Max", [count, scalar(g, 1, like)])])


@maps(SC.Take)
def take(g, call):
    a, index = call.inputs
    flat = g.node("Reshape", [a, g.ints([-1])])
    return g.node("Gather", [flat, call.index(index)], axis=0)


@maps(SC.Put)
def put(g, call):
    a, index, source, accumulate = call.inputs
    flat = g.node("Reshape", [a, g.ints([-1])])
    positions = g.node("Reshape", [call.index(index), g.ints([-1])])
    values = g.node("Reshape", [operand(g, call, 2), g.ints([-1])])
    written = scatter_elements(g, call, flat, positions, values, 0,
                               "add" if accumulate else None)
    return g.node("Reshape", [written, g.node("Shape", [a])])
