"""Activation functions: torch.nn.functional's relu ... softmax, on ember's fused kernels.

Each activation is a Function whose forward and backward call one kernel pair of
``ember/_kernels/activation.py`` (formulas, derivatives and the NaN/kink conventions are
documented there and in docs/activations.md); the functions below validate arguments with
torch's rules and messages and pick the Function. The grad_fn names are torch's
(``<ReluBackward0>``, ``<LeakyReluBackward1>`` for the in-place variant, ...).

In-place variants (``inplace=True``, ``relu_`` ...) write into the input's memory. While
autograd records, ``Tensor._inplace`` runs the Function on the old value and rebases the input
onto the new node, so gradients stay right; otherwise the kernel writes straight into the
input's array.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..._kernels import activation as K
from ..._ops.util import normalize_dim
from ..._tensor import Tensor
from ...autograd import grad_mode
from ...autograd.function import Function
from ...random import numpy_generator

__all__ = [
    "threshold", "threshold_", "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "elu", "elu_",
    "selu", "selu_", "celu", "celu_", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_",
    "glu", "gelu", "logsigmoid", "hardshrink", "softshrink", "tanhshrink", "softsign", "softplus",
    "softmin", "softmax", "log_softmax", "tanh", "sigmoid", "hardsigmoid", "silu", "mish",
    "hardswish",
]

# SELU's constants (Klambauer et al. 2017, as ATen's activation.cpp)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# =========================================================================== elementwise Functions
class _Elementwise(Function):
    """``y = f(x, *params)`` by the kernel pair ``kernels``; ``saves`` says whether the backward
    kernel reads the input or the output (when the derivative is a function of y)."""
    kernels = None
    saves = "input"

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

    @staticmethod
    def forward(ctx, x, lower, upper, training, generator):
        if training:
            draw = numpy_generator(generator).random(x.shape, dtype=np.float64)
            noise = np.where(x <= 0, lower + (upper - lower) * draw, 1.0).astype(x.dtype)
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

    @staticmethod
    def forward(ctx, x, dim):
        a, b = np.split(x, 2, axis=dim)
        s = K.elementwise(K.sigmoid_forward, (b,))
        ctx.save_for_backward(a, s)
        ctx.dim = dim
        return a * s

    @staticmethod
    def backward(ctx, grad):
        a, s = ctx.saved_tensors
        ga = grad * s
        gb = ga * a * (1 - s)
        return np.concatenate([ga, gb], axis=ctx.dim), None


class Softmax(Function):
    """y = exp(x - max) / sum exp(x - max) over ``dim``; dx = y (g - sum(g y))."""
    name = "SoftmaxBackward0"

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


# =========================================================================== helpers
_TORCH_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _type_name(t: Tensor) -> str:
    return _TORCH_TYPE.get(t._data.dtype.name, t._data.dtype.name)


def _floating(input: Tensor, kernel_name: str) -> None:
    """Most activations are defined for floating tensors only, as ATen's CPU kernels."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'{_type_name(input)}\'')


def _promote_to_float(input: Tensor) -> Tensor:
    """sigmoid, tanh, softsign ... of an integer tensor compute in the default float dtype."""
    if input._data.dtype.kind == "f":
        return input
    from ..._dtype import get_default_dtype
    return input.to(get_default_dtype())


def _half_safe(fn, input, params):
    """float16 runs in float32 (the kernels compile for float32/float64 only) and casts back."""
    if input._data.dtype == np.float16:
        return fn.apply(input.float(), *params).half()
    return fn.apply(input, *params)


def _apply(fn, input, params=(), inplace=False, inplace_fn=None):
    """Out of place: ``fn.apply``. In place: the result replaces ``input``'s values; ``inplace_fn``
    is the same Function under torch's in-place node name (``LeakyReluBackward1`` ...)."""
    if not inplace:
        return _half_safe(fn, input, params)
    fn = inplace_fn or fn
    if grad_mode.is_grad_enabled() and (input.requires_grad or input.grad_fn is not None):
        return input._inplace(lambda old: _half_safe(fn, old, params))
    data = input._data
    if getattr(fn, "kernels", None) and data.dtype in (np.float32, np.float64):
        K.elementwise(fn.kernels[0], (data,), params, out=data)    # straight into its memory
    else:
        with grad_mode.no_grad():
            np.copyto(data, _half_safe(fn, Tensor._wrap(data), params)._data, casting="unsafe")
    input._vbox[0] += 1        # the version counter, so saved copies of it notice the change
    return input


def _integer_clamp(input, lo, hi, inplace):
    """relu / hardtanh / threshold keep integer tensors integer (no autograd for them)."""
    out = np.clip(input._data, lo, hi)
    if inplace:
        np.copyto(input._data, out, casting="unsafe")
        input._vbox[0] += 1
        return input
    return Tensor._wrap(out.astype(input._data.dtype, copy=False))


# =========================================================================== piecewise linear
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""ReLU(x) = max(0, x). Derivative 1 for x > 0, 0 for x <= 0 (ReLU'(0) = 0). Range [0, inf)."""
    if input._data.dtype.kind != "f":
        return _integer_clamp(input, 0, None, inplace)
    return _apply(Relu, input, (), inplace)


def relu_(input: Tensor) -> Tensor:
    """In-place version of :func:`relu`."""
    return relu(input, inplace=True)


def _threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    r"""y = x if x > threshold else value. Derivative 1 above the threshold, 0 at and below it."""
    if input._data.dtype.kind != "f":
        out = np.where(input._data > threshold, input._data, value).astype(input._data.dtype)
        if inplace:
            input._data[...] = out
            input._vbox[0] += 1
            return input
        return Tensor._wrap(out)
    return _apply(Threshold, input, (threshold, value), inplace, ThresholdInplace)


# named _threshold because its argument ``threshold`` shadows it (as torch's functional.py)
threshold = _threshold


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place version of :func:`threshold`."""
    return _threshold(input, threshold, value, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    r"""Hardtanh(x) = clamp(x, min_val, max_val). Derivative 1 strictly inside, 0 at the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input._data.dtype.kind != "f":
        return _integer_clamp(input, min_val, max_val, inplace)
    return _apply(Hardtanh, input, (min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place version of :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    r"""ReLU6(x) = min(max(0, x), 6) = hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    r"""LeakyReLU(x) = x if x > 0 else negative_slope * x. Derivative at 0: negative_slope."""
    _floating(input, "leaky_relu_cpu")
    return _apply(LeakyRelu, input, (negative_slope,), inplace, LeakyReluInplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place version of :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    r"""PReLU(x) = max(0, x) + weight * min(0, x), ``weight`` one slope per channel (dim 1)
    or a single slope."""
    _floating(input, "prelu_cpu")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = {channels}.")
    if weight._data.dtype != input._data.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{_type_name(input)} and {_type_name(weight)}")
    return _half_safe(Prelu, input, (weight,))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, *, generator=None) -> Tensor:
    r"""Randomized leaky ReLU: in training the negative slope of each element is drawn from
    U(lower, upper) (from ember's generator); in eval it is (lower + upper) / 2."""
    _floating(input, "leaky_relu_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    params = (lower, upper, bool(training), generator)
    return _apply(RreluWithNoise, input, params, inplace, RreluWithNoiseInplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place version of :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r"""Hardshrink(x) = x if |x| > lambd else 0."""
    _floating(input, "hardshrink_cpu")
    return _apply(Hardshrink, input, (lambd,))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r"""Softshrink(x) = x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    _floating(input, "softshrink_check")
    if lambd < 0:
        top = np.finfo(input._data.dtype).max
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{_type_name(input)}, but found {lambd:g}")
    return _apply(Softshrink, input, (lambd,))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    r"""Hardsigmoid(x) = clamp(x / 6 + 1/2, 0, 1). Derivative 1/6 on (-3, 3), else 0."""
    _floating(input, "hardsigmoid_cpu")
    return _apply(Hardsigmoid, input, (), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    r"""Hardswish(x) = x * clamp(x + 3, 0, 6) / 6."""
    _floating(input, "hardswish_cpu")
    return _apply(Hardswish, input, (), inplace)


# =========================================================================== smooth
def sigmoid(input: Tensor) -> Tensor:
    r"""Sigmoid(x) = 1 / (1 + exp(-x)). Range (0, 1); derivative y (1 - y) in (0, 1/4]."""
    return _apply(Sigmoid, _promote_to_float(input))


def tanh(input: Tensor) -> Tensor:
    r"""Tanh(x). Range (-1, 1); derivative 1 - y^2 in (0, 1]."""
    return _apply(Tanh, _promote_to_float(input))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""ELU(x) = x if x > 0 else alpha * (exp(x) - 1)."""
    _floating(input, "elu_cpu")
    return _apply(Elu, input, (alpha, 1.0, 1.0), inplace, EluInplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place version of :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""SELU(x) = scale * (max(0, x) + min(0, alpha * (exp(x) - 1))), alpha ~ 1.6733,
    scale ~ 1.0507."""
    _floating(input, "elu_cpu")
    return _apply(Elu, input, (SELU_ALPHA, SELU_SCALE, 1.0), inplace, EluInplace)


def selu_(input: Tensor) -> Tensor:
    """In-place version of :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""CELU(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _floating(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply(Celu, input, (alpha, 1.0, 1.0 / alpha), inplace, CeluInplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place version of :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    r"""GELU(x) = x * Phi(x) (Phi the standard normal CDF), or with approximate='tanh'
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _floating(input, "GeluKernelImpl")
    return _apply(Gelu if approximate == "none" else GeluTanh, input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""SiLU(x) = x * sigmoid(x) (swish)."""
    _floating(input, "silu_cpu")
    return _apply(Silu, input, (), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    r"""Mish(x) = x * tanh(softplus(x))."""
    _floating(input, "mish_cpu")
    return _apply(Mish, input, (), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""Softplus(x) = log(1 + exp(beta x)) / beta; x itself where beta x > threshold."""
    _floating(input, "softplus_cpu")
    return _apply(Softplus, input, (beta, threshold))


def logsigmoid(input: Tensor) -> Tensor:
    r"""LogSigmoid(x) = log(1 / (1 + exp(-x))) = -softplus(-x). Range (-inf, 0)."""
    _floating(input, "log_sigmoid_cpu")
    return _apply(LogSigmoid, input)


def tanhshrink(input: Tensor) -> Tensor:
    r"""Tanhshrink(x) = x - tanh(x)."""
    return _apply(Tanhshrink, _promote_to_float(input))


def softsign(input: Tensor) -> Tensor:
    r"""SoftSign(x) = x / (1 + |x|). Range (-1, 1)."""
    return _apply(Softsign, _promote_to_float(input))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    r"""GLU(a, b) = a * sigmoid(b), where ``input`` is split in half along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = normalize_dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size "
                           f"{input.shape[axis]}")
    _floating(input, "glu_cpu")
    return _half_safe(Glu, input, (axis,))


# =========================================================================== softmax family
def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """torch.nn.functional._get_softmax_dim: the legacy choice when ``dim`` is None (with torch's
    deprecation warning): 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(fn, name, kernel_name, input, dim, stacklevel, dtype):
    if dim is None:
        dim = _get_softmax_dim(name, input.dim(), stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    axis = normalize_dim(dim, input.ndim)
    _floating(input, kernel_name)
    return _half_safe(fn, input, (axis,))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""Softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``dim``: outputs in [0, 1] summing to 1.
    Computed as exp(x - max) so large inputs cannot overflow."""
    return _softmax(Softmax, "softmax", "softmax_lastdim_kernel_impl", input, dim,
                    _stacklevel + 1, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""LogSoftmax(x)_i = x_i - log sum_j exp(x_j) along ``dim``, without forming exp(x)."""
    return _softmax(LogSoftmax, "log_softmax", "log_softmax_lastdim_kernel_impl", input, dim,
                    _stacklevel + 1, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""Softmin(x) = Softmax(-x) along ``dim``."""
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)

