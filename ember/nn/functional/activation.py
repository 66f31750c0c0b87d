"""Activation functions: torch.nn.functional's relu ... softmax, on ember's fused kernels.

Each activation is a Function of ``ember/_ops/activation.py`` whose forward and backward call
one kernel pair of ``ember/_kernels/activation.py``; the functions below validate arguments
with torch's rules and messages and pick the Function.

In-place variants (``inplace=True``, ``relu_`` ...) write into the input's memory. While
autograd records, ``Tensor._inplace`` runs the Function on the old value and rebases the input
onto the new node, so gradients stay right; otherwise the kernel writes straight into the
input's array.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..._kernels import activation as K
from ..._ops.activation import (Relu, LeakyRelu, LeakyReluInplace, Threshold, ThresholdInplace,
                               Hardtanh, Sigmoid, Tanh, Silu, Mish, Gelu, GeluTanh, Softplus,
                               LogSigmoid, Hardsigmoid, Hardswish, Hardshrink, Softshrink,
                               Tanhshrink, Softsign, Elu, EluInplace, Celu, CeluInplace, Prelu,
                               RreluWithNoise, RreluWithNoiseInplace, Glu, Softmax, LogSoftmax,
                               floating_only as _floating, half_safe as _half_safe,
                               promote_to_float as _promote_to_float, softmax as _softmax_op,
                               type_name as _type_name)
from ..._ops.util import normalize_dim
from ..._tensor import Tensor
from ...autograd import grad_mode

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


def _softmax(name, input, dim, stacklevel, dtype, log=False):
    if dim is None:
        dim = _get_softmax_dim(name, input.dim(), stacklevel)
    return _softmax_op(input, dim, dtype, log=log)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""Softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``dim``: outputs in [0, 1] summing to 1.
    Computed as exp(x - max) so large inputs cannot overflow."""
    return _softmax("softmax", input, dim, _stacklevel + 1, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""LogSoftmax(x)_i = x_i - log sum_j exp(x_j) along ``dim``, without forming exp(x)."""
    return _softmax("log_softmax", input, dim, _stacklevel + 1, dtype, log=True)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""Softmin(x) = Softmax(-x) along ``dim``."""
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)

