"""Activation Functions on ember's fused kernels: forward and backward side by side.

Each Function's forward and backward call one kernel pair of ``ember/_kernels/activation.py``
(formulas, derivatives and the NaN/kink conventions are documented there and in
docs/activations.md). ``torch.nn.functional``'s argument checks live in
``ember/nn/functional/activation.py``; ``Tensor.relu``/``softmax``/``log_softmax`` and F's
functions both call the ops below, so a Tensor method never reaches up into ``nn``.
The grad_fn names are torch's (``<ReluBackward0>``, ``<LeakyReluBackward1>`` for the in-place
variant, ...).
"""
from __future__ import annotations

import numpy as np

from .._dtype import get_default_dtype, scalar_type_name
from .._kernels import activation as K
from ..autograd.function import Function
from .. import random as _random
from . import random as _draw
from .util import normalize_dim


# =========================================================================== elementwise Functions
class _Elementwise(Function):
    """``y = f(x, *params)`` by the kernel pair ``kernels``; ``saves`` says whether the backward
    kernel reads the input or the output (when the derivative is a function of y)."""
    kernels = None
    saves = "input"
    fresh_grads = True  # the backward kernel writes a new array: a leaf adopts it, no copy

    @staticmethod
    def forward(ctx, x, *params):
        fn = ctx._function
        y = K.elementwise(fn.kernels[0], (x,), params)
        ctx.save_for_backward(y if fn.saves == "output" else x)
        ctx.params = params
        return y

    @staticmethod
    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        gx = K.elementwise(ctx._function.kernels[1], (grad, saved), ctx.params)
        return (gx,) + (None,) * len(ctx.params)


def _elementwise(class_name, node_name, kernels, saves="input"):
    """A Function class over the kernel pair ``kernels``, shown as ``<node_name>``."""
    return type(class_name, (_Elementwise,), {"name": node_name, "kernels": kernels,
                                              "saves": saves})


Relu = _elementwise("Relu", "ReluBackward0", (K.relu_forward, K.relu_backward), "output")
LeakyRelu = _elementwise("LeakyRelu", "LeakyReluBackward0",
                         (K.leaky_relu_forward, K.leaky_relu_backward))
LeakyReluInplace = _elementwise("LeakyReluInplace", "LeakyReluBackward1",
                                (K.leaky_relu_forward, K.leaky_relu_backward))
Threshold = _elementwise("Threshold", "ThresholdBackward0",
                         (K.threshold_forward, K.threshold_backward))
ThresholdInplace = _elementwise("ThresholdInplace", "ThresholdBackward1",
                                (K.threshold_forward, K.threshold_backward))
Hardtanh = _elementwise("Hardtanh", "HardtanhBackward0",
                        (K.hardtanh_forward, K.hardtanh_backward), "output")
Sigmoid = _elementwise("Sigmoid", "SigmoidBackward0",
                       (K.sigmoid_forward, K.sigmoid_backward), "output")
Tanh = _elementwise("Tanh", "TanhBackward0", (K.tanh_forward, K.tanh_backward), "output")
Silu = _elementwise("Silu", "SiluBackward0", (K.silu_forward, K.silu_backward))
Mish = _elementwise("Mish", "MishBackward0", (K.mish_forward, K.mish_backward))
Gelu = _elementwise("Gelu", "GeluBackward0", (K.gelu_forward, K.gelu_backward))
GeluTanh = _elementwise("GeluTanh", "GeluBackward0", (K.gelu_tanh_forward, K.gelu_tanh_backward))
Softplus = _elementwise("Softplus", "SoftplusBackward0",
                        (K.softplus_forward, K.softplus_backward))
LogSigmoid = _elementwise("LogSigmoid", "LogSigmoidBackward0",
                          (K.log_sigmoid_forward, K.log_sigmoid_backward))
Hardsigmoid = _elementwise("Hardsigmoid", "HardsigmoidBackward0",
                           (K.hardsigmoid_forward, K.hardsigmoid_backward))
Hardswish = _elementwise("Hardswish", "HardswishBackward0",
                         (K.hardswish_forward, K.hardswish_backward))
Hardshrink = _elementwise("Hardshrink", "HardshrinkBackward0",
                          (K.hardshrink_forward, K.shrink_backward))
Softshrink = _elementwise("Softshrink", "SoftshrinkBackward0",
                          (K.softshrink_forward, K.shrink_backward))
# torch composes these two (x - tanh(x), x / (1 + |x|)), so its last node is a Sub / a Div;
# ember fuses them and shows the same names.
Tanhshrink = _elementwise("Tanhshrink", "SubBackward0",
                          (K.tanhshrink_forward, K.tanhshrink_backward))
Softsign = _elementwise("Softsign", "DivBackward0", (K.softsign_forward, K.softsign_backward))


class Elu(Function):
    """ELU, SELU and CELU: ATen's ``elu(x, alpha, scale, input_scale)``.

    The backward reads the output when alpha >= 0 (then y <= 0 exactly where x <= 0, and the
    derivative input_scale * (y + alpha * scale) needs no exp), the input otherwise."""
    name = "EluBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        params = (alpha, scale, input_scale)
        y = K.elementwise(K.elu_forward, (x,), params)
        ctx.from_result = alpha >= 0
        ctx.save_for_backward(y if ctx.from_result else x)
        ctx.params = params
        return y

    @staticmethod
    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        gx = K.elementwise(K.elu_backward, (grad, saved), (*ctx.params, ctx.from_result))
        return gx, None, None, None


class EluInplace(Elu):
    name = "EluBackward1"


class Celu(Elu):
    name = "CeluBackward0"


class CeluInplace(Elu):
    name = "CeluBackward1"


class Prelu(Function):
    """PReLU: y = x if x > 0 else w[c] x, one learnable slope per channel of dim 1."""
    name = "PreluKernelBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return K.prelu(x, weight)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx, gw = K.prelu_grad(grad, x, weight)
        return (gx if ctx.needs_input_grad[0] else None), (gw if ctx.needs_input_grad[1] else None)


class RreluWithNoise(Function):
    """RReLU. Training: y = x * noise with noise ~ U(lower, upper) where x <= 0, else 1
    (ATen rrelu_with_noise), and dy/dx = noise. Eval: leaky ReLU with slope (lower + upper) / 2."""
    name = "RreluWithNoiseBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, lower, upper, training, generator):
        if training:
            # ATen's _rrelu_with_noise_train: one float64 uniform on [lower, upper) (the bounds
            # first rounded to the opmath type) per element x <= 0, in order; the rest keep 1
            opmath = np.float64 if x.dtype == np.float64 else np.float32
            negative = x <= 0
            draw = _draw.uniform(_random.resolve(generator), (int(negative.sum()),), np.float64,
                                 float(opmath(lower)), float(opmath(upper)), fused=False)
            noise = np.ones_like(x)
            noise[negative] = draw.astype(opmath)
            ctx.save_for_backward(noise)
            ctx.slope = None
            return x * noise
        ctx.slope = (lower + upper) / 2
        ctx.save_for_backward(x)
        return K.elementwise(K.leaky_relu_forward, (x,), (ctx.slope,))

    @staticmethod
    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        if ctx.slope is None:
            gx = grad * saved
        else:
            gx = K.elementwise(K.leaky_relu_backward, (grad, saved), (ctx.slope,))
        return gx, None, None, None, None


class RreluWithNoiseInplace(RreluWithNoise):
    name = "RreluWithNoiseBackward1"


class Glu(Function):
    """GLU(a, b) = a * sigmoid(b), the input split in halves along ``dim``.
    d/da = sigmoid(b); d/db = a * sigmoid(b) * (1 - sigmoid(b))."""
    name = "GluBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, dim):
        a, b = np.split(x, 2, axis=dim)
        s = K.elementwise(K.sigmoid_forward, (b,))
        ctx.save_for_backward(a, s, x)  # x (no copy) for the recorded backward
        ctx.dim = dim
        return a * s

    @staticmethod
    def backward(ctx, grad):
        a, s, _ = ctx.saved_tensors
        ga = grad * s
        gb = ga * a * (1 - s)
        return np.concatenate([ga, gb], axis=ctx.dim), None


class Softmax(Function):
    """y = exp(x - max) / sum exp(x - max) over ``dim``; dx = y (g - sum(g y))."""
    name = "SoftmaxBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, dim):
        y = K.softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return K.softmax_grad(grad, y, ctx.dim), None


class LogSoftmax(Function):
    """y = x - max - log sum exp(x - max) over ``dim``; dx = g - exp(y) sum(g), with exp(y)
    kept from the forward where the kernel returns it."""
    name = "LogSoftmaxBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, x, dim):
        y, probs = K.softmax(x, dim, log=True)
        ctx.save_for_backward(y)        # for the in-place check; the backward reads probs
        ctx.probs, ctx.dim = probs, dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return K.softmax_grad(grad, y, ctx.dim, log=True, probs=ctx.probs), None


# =========================================================================== on tensors
def type_name(t) -> str:
    return scalar_type_name(t._data.dtype)


def floating_only(input, kernel_name: str) -> None:
    """Most activations are defined for floating tensors only, as ATen's CPU kernels."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'{type_name(input)}\'')


def promote_to_float(input):
    """sigmoid, tanh, softsign ... of an integer tensor compute in the default float dtype."""
    if input._data.dtype.kind == "f":
        return input
    return input.to(get_default_dtype())


def half_safe(fn, input, params):
    """float16 runs in float32 (the kernels compile for float32/float64 only) and casts back."""
    if input._data.dtype == np.float16:
        return fn.apply(input.float(), *params).half()
    return fn.apply(input, *params)


def relu(input):
    """``Tensor.relu``: integer tensors stay integer (no autograd for them), as torch."""
    if input._data.dtype.kind != "f":
        return input.clamp(min=0)
    return half_safe(Relu, input, ())


def softmax(input, dim: int, dtype=None, log: bool = False):
    """``Tensor.softmax``/``log_softmax`` (and F's, after its legacy ``dim=None`` choice)."""
    if dtype is not None:
        input = input.to(dtype)
    axis = normalize_dim(dim, input.ndim)
    floating_only(input, "log_softmax_lastdim_kernel_impl" if log else "softmax_lastdim_kernel_impl")
    return half_safe(LogSoftmax if log else Softmax, input, (axis,))


# =========================================================================== double backward (issue 11)
# backward_graph: each backward above in Tensor ops on the saved input or output (linked to its
# graph, ember/autograd/higher_order.py), so create_graph=True records it. Masks are constants
# (their derivative is zero almost everywhere); a mask on the output equals the one on the input.
def _graph(derivative):
    """``grad * derivative(saved, *params)``, ``saved`` being what forward saved (x or y)."""
    def backward_graph(ctx, grad):
        from ..autograd.higher_order import saved
        (s,) = saved(ctx)
        return (grad * derivative(s, *ctx.params),) + (None,) * len(ctx.params)
    return staticmethod(backward_graph)


def _mask(cond, like):
    from ..autograd.higher_order import constant
    return constant(cond._data, like)


class _GeluDerivative(Function):
    """d gelu / dx = Φ(x) + x φ(x) (the backward kernel at grad 1); its derivative φ(x)(2 - x²)."""
    name = "GeluBackwardBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.elementwise(K.gelu_backward, (np.ones_like(x), x), ())

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi) * (2 - x * x)


def _softplus_derivative(x, beta, threshold):
    return (x * beta).sigmoid().masked_fill(x * beta > threshold, 1)


def _gelu_tanh_derivative(x):
    c = float(np.sqrt(2 / np.pi))
    t = ((x + 0.044715 * x ** 3) * c).tanh()
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)


Relu.backward_graph = _graph(lambda y: _mask(y > 0, y))
LeakyRelu.backward_graph = _graph(lambda x, slope: _mask(x > 0, x) * (1 - slope) + slope)
Threshold.backward_graph = _graph(lambda x, threshold, value: _mask(x > threshold, x))
Hardtanh.backward_graph = _graph(lambda y, lo, hi: _mask((y > lo) & (y < hi), y))
Sigmoid.backward_graph = _graph(lambda y: y * (1 - y))
Tanh.backward_graph = _graph(lambda y: 1 - y * y)
Silu.backward_graph = _graph(lambda x: x.sigmoid() * (1 + x * (1 - x.sigmoid())))
Softplus.backward_graph = _graph(_softplus_derivative)
Gelu.backward_graph = _graph(lambda x: _GeluDerivative.apply(x))
GeluTanh.backward_graph = _graph(_gelu_tanh_derivative)


def _elu_graph(ctx, grad):
    from ..autograd.higher_order import saved
    (s,) = saved(ctx)
    alpha, scale, input_scale = ctx.params
    if ctx.from_result:  # s = y: y > 0 where x > 0, and the slope is input_scale (y + alpha scale)
        slope = (s + alpha * scale) * input_scale
    else:
        slope = (s * input_scale).exp() * (scale * alpha * input_scale)
    return grad * slope.masked_fill(s > 0, scale), None, None, None


def _softmax_graph(ctx, grad):
    from ..autograd.higher_order import saved
    (y,) = saved(ctx)
    return y * (grad - (grad * y).sum(ctx.dim, keepdim=True)), None


def _log_softmax_graph(ctx, grad):
    from ..autograd.higher_order import saved
    (y,) = saved(ctx)
    return grad - y.exp() * grad.sum(ctx.dim, keepdim=True), None


Elu.backward_graph = staticmethod(_elu_graph)
Softmax.backward_graph = staticmethod(_softmax_graph)
LogSoftmax.backward_graph = staticmethod(_log_softmax_graph)


# --- more double backward (issue 11, G7)
def _mish_derivative(x):
    """torch's mish_backward formula (its double backward differentiates it):
    tanh(softplus(x)) + x σ(x) (1 - tanh²(softplus(x))), softplus with threshold 20."""
    tsp = Softplus.apply(x, 1.0, 20.0).tanh()
    return tsp + x * x.sigmoid() * (1 - tsp * tsp)


def _piecewise_linear_derivative(x, first, slope, lo, hi):
    """A derivative ``first(x)`` (the kernel's values, constant) whose own derivative is
    ``slope`` strictly inside (lo, hi) and 0 elsewhere (torch's hardswish double backward)."""
    from ..autograd.higher_order import constant
    v = x._data
    inside = constant((v > lo) & (v < hi), x)
    return constant(first(v), x) + (x - constant(v, x)) * inside * slope


def _hardswish_first(v):
    return np.where(v <= -3, 0, np.where(v >= 3, 1, v / 3 + 0.5))


Mish.backward_graph = _graph(_mish_derivative)


class _HardsigmoidBackward(Function):
    """hardsigmoid's backward as a node that torch cannot differentiate (it has no formula
    for aten::hardsigmoid_backward): create_graph=True works, going further raises as torch."""
    name = "HardsigmoidBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, x):
        return K.elementwise(K.hardsigmoid_backward, (grad, x), ())

    @staticmethod
    def backward(ctx, _):
        raise RuntimeError("derivative for aten::hardsigmoid_backward is not implemented")


def _hardsigmoid_graph(ctx, grad):
    from ..autograd.higher_order import saved
    (x,) = saved(ctx)
    return (_HardsigmoidBackward.apply(grad, x),)


Hardsigmoid.backward_graph = staticmethod(_hardsigmoid_graph)
Hardswish.backward_graph = _graph(
    lambda x: _piecewise_linear_derivative(x, _hardswish_first, 1 / 3, -3, 3))


def _glu_graph(ctx, grad):
    from ..autograd.higher_order import saved
    from .shape import Cat
    _, _, x = saved(ctx)
    a, b = x.chunk(2, ctx.dim)
    s = b.sigmoid()
    ga = grad * s
    return Cat.apply(ctx.dim, ga, ga * a * (1 - s)), None


def _prelu_graph(ctx, grad):
    """dy/dx = 1 where x > 0 else w[c]; dy/dw[c] = x where x <= 0 (summed over the rest)."""
    from ..autograd.higher_order import constant, saved, sum_to
    x, w = saved(ctx)
    positive = constant(x._data > 0, x)
    wb = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 and w.numel() > 1 else w
    gx = gw = None
    if ctx.needs_input_grad[0]:
        gx = grad * (positive + (1 - positive) * wb)
    if ctx.needs_input_grad[1]:
        gw = sum_to(grad * x * (1 - positive), tuple(wb.shape)).reshape(tuple(w.shape))
    return gx, gw


Glu.backward_graph = staticmethod(_glu_graph)
Prelu.backward_graph = staticmethod(_prelu_graph)
LogSigmoid.backward_graph = _graph(lambda x: (-x).sigmoid())
Tanhshrink.backward_graph = _graph(lambda x: x.tanh() ** 2)
Softsign.backward_graph = _graph(lambda x: 1 / (1 + x.abs()) ** 2)
Hardshrink.backward_graph = _graph(lambda x, lambd: _mask((x < -lambd) | (x > lambd), x))
Softshrink.backward_graph = _graph(lambda x, lambd: _mask((x < -lambd) | (x > lambd), x))


def _rrelu_graph(ctx, grad):
    """training: dy/dx is the drawn noise (a constant); eval: leaky ReLU's constant slopes."""
    from ..autograd.higher_order import constant, saved
    (s,) = saved(ctx)
    if ctx.slope is None:
        return grad * constant(s._data, grad), None, None, None, None
    positive = constant(s._data > 0, s)
    return grad * (positive + (1 - positive) * ctx.slope), None, None, None, None


RreluWithNoise.backward_graph = staticmethod(_rrelu_graph)
