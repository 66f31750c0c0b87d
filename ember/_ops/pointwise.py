"""Elementwise math beyond arithmetic (issue 11, group G5): trigonometric and hyperbolic
functions, special functions (erf, lgamma, digamma, polygamma, i0 ...), two-operand math
(atan2, hypot, logaddexp, xlogy, fmod, remainder, copysign, lerp), clamp with tensor bounds,
and the predicates and integer ops that carry no gradient (isin, signbit, bitwise, gcd ...).

The Functions work on arrays (forward and backward side by side, gradients as torch's
derivatives.yaml). The functions at the bottom take Tensors: they apply torch's dtype rules and
error messages and call the Functions; ``Tensor`` methods and ``ember.<name>`` call them.
"""
from __future__ import annotations

import math

import numpy as np

from .._dtype import get_default_dtype, int64, scalar_type_name
from ..autograd.function import Function
from .elementwise import ZeroGrad, check_integer_divisor, trunc_divide
from .util import unbroadcast

_SQRT_PI = math.sqrt(math.pi)


def _in_float64(kernel_name):
    """Run a float64 special-function kernel on any float array, keeping the array's dtype. The
    kernels' module is imported on first use: creating its numba ufuncs costs ~10 ms."""
    def run(x, *params):
        from .._kernels import special
        kernel = getattr(special, kernel_name)
        return kernel(*params, x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)
    return run


# =========================================================================== one operand
def _unary(node, forward, grad):
    """A Function ``y = forward(x)`` whose backward is ``grad(g, x, y)``, named ``node``."""

    class Unary(Function):
        name = node

        @staticmethod
        def forward(ctx, x):
            with np.errstate(all="ignore"):
                y = np.asarray(forward(x)).astype(x.dtype, copy=False)
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            with np.errstate(all="ignore"):
                return np.asarray(grad(g, x, y)).astype(g.dtype, copy=False)

    Unary.__name__ = Unary.__qualname__ = node[:-len("Backward0")]
    return Unary


def _sinc(x):
    # sin(pi x) / (pi x) in the input's dtype, as torch (np.sinc would compute in float64)
    px = x * x.dtype.type(math.pi)
    return np.where(x == 0, x.dtype.type(1), np.sin(px) / px)


def _sinc_grad(g, x, y):
    px = x * x.dtype.type(math.pi)
    d = (px * np.cos(px) - np.sin(px)) / (px * x)
    return g * np.where(x == 0, 0, d)


def _exp2_grad(g, x, y):
    return g * y * y.dtype.type(math.log(2))


UNARY = {  # name: (forward, backward); the float functions of one tensor
    "tan": (np.tan, lambda g, x, y: g * (1 + y * y)),
    "asin": (np.arcsin, lambda g, x, y: g / np.sqrt(1 - x * x)),
    "acos": (np.arccos, lambda g, x, y: -g / np.sqrt(1 - x * x)),
    "atan": (np.arctan, lambda g, x, y: g / (1 + x * x)),
    "sinh": (np.sinh, lambda g, x, y: g * np.cosh(x)),
    "cosh": (np.cosh, lambda g, x, y: g * np.sinh(x)),
    "asinh": (np.arcsinh, lambda g, x, y: g / np.sqrt(x * x + 1)),
    "acosh": (np.arccosh, lambda g, x, y: g / np.sqrt(x * x - 1)),
    "atanh": (np.arctanh, lambda g, x, y: g / (1 - x * x)),
    "exp2": (np.exp2, _exp2_grad),
    "log2": (np.log2, lambda g, x, y: g / (x * x.dtype.type(math.log(2)))),
    "log10": (np.log10, lambda g, x, y: g / (x * x.dtype.type(math.log(10)))),
    "expm1": (np.expm1, lambda g, x, y: g * (y + 1)),
    "erf": (_in_float64("erf"), lambda g, x, y: g * (2 / _SQRT_PI) * np.exp(-x * x)),
    "erfc": (_in_float64("erfc"), lambda g, x, y: g * (-2 / _SQRT_PI) * np.exp(-x * x)),
    "erfinv": (_in_float64("erfinv"), lambda g, x, y: g * (_SQRT_PI / 2) * np.exp(y * y)),
    "lgamma": (_in_float64("lgamma"), lambda g, x, y: g * _in_float64("digamma")(x)),
    "digamma": (_in_float64("digamma"), lambda g, x, y: g * _in_float64("trigamma")(x)),
    "i0": (_in_float64("i0"), lambda g, x, y: g * _in_float64("i1")(x)),
    # I1' = I0 - I1 / x, which is 1/2 at 0 (torch's i1_backward)
    "i1": (_in_float64("i1"), lambda g, x, y: g * np.where(x == 0, 0.5, _in_float64("i0")(x) - y / x)),
    "sinc": (_sinc, _sinc_grad),
    "deg2rad": (lambda x: x * x.dtype.type(math.pi / 180), lambda g, x, y: g * g.dtype.type(math.pi / 180)),
    "rad2deg": (lambda x: x * x.dtype.type(180 / math.pi), lambda g, x, y: g * g.dtype.type(180 / math.pi)),
    "frac": (lambda x: x - np.trunc(x), lambda g, x, y: g),
}
_NODE_NAMES = {"i0": "I0Backward0", "i1": "SpecialI1Backward0", "deg2rad": "Deg2RadBackward0",
               "rad2deg": "Rad2DegBackward0"}
FUNCTIONS = {name: _unary(_NODE_NAMES.get(name, name.capitalize() + "Backward0"), f, df)
             for name, (f, df) in UNARY.items()}


class Polygamma(Function):
    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        with np.errstate(all="ignore"):
            return polygamma_array(n, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with np.errstate(all="ignore"):
            return g * polygamma_array(ctx.n + 1, x), None


def polygamma_array(n, x):
    if n == 0:
        return _in_float64("digamma")(x)
    if n == 1:
        return _in_float64("trigamma")(x)
    return _in_float64("polygamma_high")(x, n)


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.isfinite(x), None, None, None


class Round(Function):
    """round (to ``decimals`` places): piecewise constant, so the gradient is zero everywhere."""

    @staticmethod
    def forward(ctx, x, decimals):
        return np.rint(x) if decimals == 0 else _round_decimals(x, decimals)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


class RoundDecimals(Round):
    name = "RoundBackward1"


# =========================================================================== two operands
def _binary(node, forward, grad_a, grad_b):
    """A Function ``out = forward(a, b)`` (broadcasting) with ``grad_a(g, a, b, out)`` and
    ``grad_b(...)``. A Python number operand arrives as a 0-d array of the other's dtype."""

    class Binary(Function):
        name = node

        @staticmethod
        def forward(ctx, a, b):
            a, b = _as_arrays(a, b)
            with np.errstate(all="ignore"):
                out = np.asarray(forward(a, b)).astype(np.result_type(a, b), copy=False)
            ctx.save_for_backward(a, b, out)
            return out

        @staticmethod
        def backward(ctx, g):
            a, b, out = ctx.saved_tensors
            ga = gb = None
            with np.errstate(all="ignore"):
                if ctx.needs_input_grad[0]:
                    ga = unbroadcast(np.asarray(grad_a(g, a, b, out)).astype(g.dtype, copy=False), a.shape)
                if ctx.needs_input_grad[1]:
                    gb = unbroadcast(np.asarray(grad_b(g, a, b, out)).astype(g.dtype, copy=False), b.shape)
            return ga, gb

    Binary.__name__ = Binary.__qualname__ = node[:-len("Backward0")]
    return Binary


def _as_arrays(a, b):
    if not isinstance(a, np.ndarray):
        a = np.asarray(a, dtype=b.dtype)
    if not isinstance(b, np.ndarray):
        b = np.asarray(b, dtype=a.dtype)
    return a, b


def _torch_remainder(a, b):
    # torch: the remainder takes the divisor's sign (Python's %); NumPy's agrees
    return np.remainder(a, b)


def _logaddexp2_grad(g, a, b):
    return g / (1 + np.exp2(b - a))


def _xlogy(a, b):
    # torch: 0 where x == 0 (even for y == 0 or inf), nan wherever y is nan
    return np.where(np.isnan(b), np.nan, np.where(a == 0, 0, a * np.log(b)))


def _xlogy_grad_x(g, a, b, out):
    # torch: xlogy(grad, y), masked to 0 where x == 0 and y <= 0
    return np.where((a == 0) & (b <= 0), 0, _xlogy(g, b))


def _copysign_grad(g, a, b, out):
    # torch: grad * out / self, with 0 where self is 0
    return g * np.where(a == 0, 0, out / np.where(a == 0, 1, a))


BINARY = {  # name: (node, forward, grad of a, grad of b)
    "atan2": ("Atan2Backward0", np.arctan2,
              lambda g, a, b, o: g * b / (a * a + b * b), lambda g, a, b, o: g * -a / (a * a + b * b)),
    "hypot": ("HypotBackward0", np.hypot, lambda g, a, b, o: g * a / o, lambda g, a, b, o: g * b / o),
    "logaddexp": ("LogaddexpBackward0", np.logaddexp,
                  lambda g, a, b, o: g / (1 + np.exp(b - a)), lambda g, a, b, o: g / (1 + np.exp(a - b))),
    "logaddexp2": ("Logaddexp2Backward0", np.logaddexp2,
                   lambda g, a, b, o: _logaddexp2_grad(g, a, b), lambda g, a, b, o: _logaddexp2_grad(g, b, a)),
    "xlogy": ("XlogyBackward0", _xlogy, _xlogy_grad_x, lambda g, a, b, o: g * a / b),
    "fmod": ("FmodBackward0", np.fmod, lambda g, a, b, o: g, lambda g, a, b, o: -g * trunc_divide(a, b)),
    "remainder": ("RemainderBackward0", _torch_remainder,
                  lambda g, a, b, o: g, lambda g, a, b, o: -g * np.floor_divide(a, b)),
    "copysign": ("CopysignBackward0", np.copysign, _copysign_grad, lambda g, a, b, o: np.zeros_like(g)),
}
BINARY_FUNCTIONS = {name: _binary(*spec) for name, spec in BINARY.items()}


class ClampTensor(Function):
    """clamp with tensor bounds: min(max(x, lo), hi). The gradient goes to whichever of x, lo,
    hi is the result (torch's clamp_backward_min_max): x where lo <= x <= hi, lo where x < lo
    (and lo < hi), hi where x > hi or hi < lo."""
    name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(*(v for v in (x, lo, hi) if v is not None))
        ctx.has = (lo is not None, hi is not None)
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return np.array(out, dtype=x.dtype, copy=out is x)

    @staticmethod
    def backward(ctx, g):
        saved = list(ctx.saved_tensors)
        x = saved.pop(0)
        lo = saved.pop(0) if ctx.has[0] else None
        hi = saved.pop(0) if ctx.has[1] else None
        to_x, to_lo, to_hi = _clamp_routes(x, lo, hi)
        zero = np.zeros((), g.dtype)
        gx = unbroadcast(np.where(to_x, g, zero), x.shape) if ctx.needs_input_grad[0] else None
        glo = unbroadcast(np.where(to_lo, g, zero), lo.shape) if ctx.needs_input_grad[1] else None
        ghi = unbroadcast(np.where(to_hi, g, zero), hi.shape) if ctx.needs_input_grad[2] else None
        return gx, glo, ghi


def _clamp_routes(x, lo, hi):
    """Masks of where the gradient goes to x, lo and hi (torch's clamp_backward_min_max)."""
    if hi is None:
        return x >= lo, x < lo, None
    if lo is None:
        return x <= hi, None, x > hi
    return (x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo)


class Lerp(Function):
    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(*(v for v in (start, end, weight) if isinstance(v, np.ndarray)))
        ctx.shapes = (start.shape, end.shape, np.shape(weight))
        ctx.scalar_weight = None if isinstance(weight, np.ndarray) else weight
        return lerp_array(start, end, weight)

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        start, end = saved[0], saved[1]
        w = ctx.scalar_weight if ctx.scalar_weight is not None else saved[2]
        s_shape, e_shape, w_shape = ctx.shapes
        gs = unbroadcast((g * (1 - w)).astype(g.dtype, copy=False), s_shape) if ctx.needs_input_grad[0] else None
        ge = unbroadcast((g * w).astype(g.dtype, copy=False), e_shape) if ctx.needs_input_grad[1] else None
        gw = unbroadcast(g * (end - start), w_shape) if ctx.needs_input_grad[2] else None
        return gs, ge, gw


def lerp_array(start, end, weight):
    # torch's formula: exact at weight 0 and 1 (start + w * (end - start) is not at w == 1)
    diff = end - start
    w = np.asarray(weight, dtype=start.dtype)
    return np.where(np.abs(w) < 0.5, start + w * diff, end - diff * (1 - w)).astype(start.dtype, copy=False)


# =========================================================================== on tensors
def type_name(t) -> str:
    return scalar_type_name(t._data.dtype)


def _wrap_like(input, array):
    return type(input)._wrap(np.asarray(array))


def floating_only(input, kernel: str):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(input)}\'')


def to_float(input):
    """Integer and bool tensors compute these functions in the default float dtype, as torch."""
    return input if input._data.dtype.kind == "f" else input._cast(get_default_dtype())


def unary(name, input):
    if name == "frac":
        floating_only(input, "frac_cpu")
        return FUNCTIONS[name].apply(input)
    return FUNCTIONS[name].apply(to_float(input))


def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given (as torch)."""
    p = to_float(input)
    if eps is not None:
        p = p.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


def polygamma(n, input):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(to_float(input), int(n))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    if input._data.dtype.kind != "f":
        return input.clone()  # integers have no nan or inf
    return NanToNum.apply(input, nan, posinf, neginf)


def sign(input):
    if input._data.dtype == np.bool_:
        return input.clone()  # the sign of True is True, as torch (NumPy has no bool loop)
    return ZeroGrad.apply(input, np.sign)


def square(input):
    # torch: the square of a bool tensor is int64 (True * True would stay bool)
    x = input._cast(int64) if input._data.dtype == np.bool_ else input
    return x * x


def round_(input, decimals=0):
    """round half to even, to ``decimals`` places; integers are already whole (a copy, with their
    dtype, as torch), but round with decimals refuses them, as torch."""
    if input._data.dtype.kind != "f":
        if decimals:
            raise NotImplementedError(f'"round_cpu" not implemented for \'{type_name(input)}\'')
        return input.clone()
    return (RoundDecimals if decimals else Round).apply(input, int(decimals))


def _round_decimals(a, decimals):
    # torch's formula: nearbyint(a * 10^d) / 10^d, or nearbyint(a / 10^-d) * 10^-d for d < 0
    if decimals > 0:
        ten = a.dtype.type(10.0 ** decimals)
        return np.rint(a * ten) / ten
    ten = a.dtype.type(10.0 ** -decimals)
    return np.rint(a / ten) * ten


def require_tensor(fn_name, arg, position, value):
    if not hasattr(value, "_data"):
        raise TypeError(f"{fn_name}(): argument '{arg}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def binary(name, input, other, tensor_only=False, floating=None):
    """``name(input, other)`` with torch's promotion; integers compute in the default float
    dtype unless ``floating`` names the kernel that refuses them (hypot, logaddexp)."""
    if tensor_only:
        require_tensor(name, "other", 2, other)
    fn = BINARY_FUNCTIONS[name]
    if floating is not None:
        out_dtype = _promoted(input, other)
        if out_dtype.kind != "f":
            raise NotImplementedError(f'"{floating}" not implemented for \'{scalar_type_name(out_dtype)}\'')
        return input._binary(fn, other)
    return input._float_operands(other)._binary(fn, other)


def _promoted(input, other):
    from .._dtype import result_type
    return result_type(input, other).np


def divmod_like(name, input, other, reverse=False):
    """fmod and remainder: integers stay integers and refuse a zero divisor, as torch."""
    fn = BINARY_FUNCTIONS[name]
    out_dtype = _promoted(input, other)
    if out_dtype.kind in "iub":
        a, b = input._data, getattr(other, "_data", other)
        check_integer_divisor(a, b) if not reverse else check_integer_divisor(b, a)
    if out_dtype.kind == "b":
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    return input._binary(fn, other, reverse)


def clamp_tensor(input, min, max):
    """clamp where a bound is a tensor: all three promote to one dtype and broadcast."""
    _check_clamp_overload(min, max)
    operands = [v for v in (input, min, max) if v is not None]
    from .._dtype import result_type
    dt = result_type(*operands)
    from .._tensor import _check_broadcast  # torch's message for shapes that do not broadcast
    for v in operands[1:]:
        _check_broadcast(input._data.shape, np.shape(getattr(v, "_data", v)))
    x = input._cast(dt)
    lo = _bound(min, dt, input)
    hi = _bound(max, dt, input)
    return ClampTensor.apply(x, lo, hi)


def _check_clamp_overload(min, max):
    # torch's overloads: both bounds tensors, or both numbers (a 0-d tensor passes as a number)
    def kind(v):
        if v is None:
            return None
        if hasattr(v, "_data"):
            return "Tensor" if v._data.ndim else "Number"
        return "Number"
    kinds = {kind(min), kind(max)} - {None}
    if kinds == {"Tensor", "Number"}:
        given = ", ".join(["Tensor"] + [type(v).__name__ if not hasattr(v, "_data") else "Tensor"
                                        for v in (min, max) if v is not None])
        raise TypeError(f"clamp() received an invalid combination of arguments - got ({given}), but "
                        f"expected one of:\n * (Tensor input, Tensor min = None, Tensor max = None, *, "
                        f"Tensor out = None)\n * (Tensor input, Number min = None, Number max = None, "
                        f"*, Tensor out = None)")


def _bound(value, dt, like):
    if value is None:
        return None
    if hasattr(value, "_data"):
        return value._cast(dt)
    return type(like)._wrap(np.asarray(value, dtype=dt.np))


def lerp(input, end, weight):
    require_tensor("lerp", "end", 2, end)
    floating_only(input, "lerp_kernel_scalar" if not hasattr(weight, "_data") else "lerp_kernel_tensor")
    if end.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {_torch_name(input)} for `end` "
                           f"but got dtype {_torch_name(end)}")
    if hasattr(weight, "_data") and weight.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {_torch_name(input)} for `weight` but got dtype "
                           f"{_torch_name(weight)}")
    return Lerp.apply(input, end, weight if hasattr(weight, "_data") else float(weight))


def _torch_name(t):
    # torch's messages here print the C++ type name in lower case: float, double, long int
    from .._dtype import cpp_type_name
    return cpp_type_name(t._data.dtype)


def check_float_power_base(input):
    """float_power_ writes a float64 result, so its tensor must be float64 already (torch)."""
    if input._data.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {type_name(input)} but the "
                           f"operation's result requires dtype Double")


def float_power(input, exponent):
    """Always in float64, as torch (the gradient converts back to each input's dtype)."""
    from .._dtype import float64
    base = input._cast(float64) if hasattr(input, "_data") else input
    exp = exponent._cast(float64) if hasattr(exponent, "_data") else float(exponent)
    if not hasattr(base, "_data"):
        return exp.__rpow__(float(base))
    return base ** exp


# --------------------------------------------------------------------------- no gradient
def heaviside(input, values):
    require_tensor("heaviside", "values", 2, values)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"heaviside_cpu\" not implemented for 'Bool'")
    return Heaviside.apply(input, values)


class Heaviside(Function):
    """Its output follows requires_grad as torch's does, but torch has no derivative for it."""

    @staticmethod
    def forward(ctx, x, values):
        return np.asarray(np.where(x == 0, values, (x > 0).astype(x.dtype)), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def signbit(input):
    return _wrap_like(input, np.signbit(input._data) if input._data.dtype.kind != "b"
                      else np.zeros(input._data.shape, bool))


def isposinf(input):
    return _wrap_like(input, np.isposinf(input._data) if input._data.dtype.kind == "f"
                      else np.zeros(input._data.shape, bool))


def isneginf(input):
    return _wrap_like(input, np.isneginf(input._data) if input._data.dtype.kind == "f"
                      else np.zeros(input._data.shape, bool))


def isreal(input):
    return _wrap_like(input, np.ones(input._data.shape, bool))  # ember holds no complex dtypes


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Membership of each element of ``elements`` in ``test_elements`` (either may be a number)."""
    like = elements if hasattr(elements, "_data") else test_elements
    a = np.asarray(getattr(elements, "_data", elements))
    b = np.asarray(getattr(test_elements, "_data", test_elements))
    return _wrap_like(like, np.isin(a, b, assume_unique=assume_unique, invert=invert))


def bitwise(name, input, other=None):
    """bitwise_and/or/xor/not/left_shift/right_shift: integer and bool tensors only."""
    kernels = {"bitwise_and": "bitwise_and_cpu", "bitwise_or": "bitwise_or_cpu",
               "bitwise_xor": "bitwise_xor_cpu", "bitwise_left_shift": "lshift_cpu",
               "bitwise_right_shift": "rshift_cpu"}
    if other is None:
        if input._data.dtype.kind not in "iub":
            raise NotImplementedError(f'"bitwise_not_cpu" not implemented for \'{type_name(input)}\'')
        return _wrap_like(input, np.invert(input._data))
    ufuncs = {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
              "bitwise_xor": np.bitwise_xor, "bitwise_left_shift": np.left_shift,
              "bitwise_right_shift": np.right_shift}
    return input._bitwise(ufuncs[name], kernels[name], other)


def logical_xor(input, other):
    return _wrap_like(input, np.logical_xor(input._data, getattr(other, "_data", other)))


def gcd_lcm(name, input, other):
    require_tensor(name, "other", 2, other)
    dt = _promoted(input, other)
    if dt.kind not in "iu":
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{scalar_type_name(dt)}\'')
    ufunc = np.gcd if name == "gcd" else np.lcm
    out = ufunc(input._data.astype(dt, copy=False), other._data.astype(dt, copy=False))
    return _wrap_like(input, np.asarray(out, dtype=dt))


def check_close_arguments(input, other, rtol, atol, fn_name="isclose"):
    """isclose / allclose: two tensors of one dtype that broadcast, tolerances >= 0 (torch)."""
    require_tensor(fn_name, "other", 2, other)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{type_name(input)} did not match {type_name(other)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
    from .._tensor import _check_broadcast
    _check_broadcast(input._data.shape, other._data.shape)


# =========================================================================== double backward (issue 11, G7)
# Each backward above in Tensor ops on the saved x / y (or a, b, out), linked to their graph
# (autograd/higher_order.py), so create_graph=True records it; torch differentiates the same
# formulas. Special functions' derivatives are these Functions again (lgamma -> digamma ->
# polygamma(1) -> polygamma(2) ...), so every order is recorded.
def _f(name, x):
    return FUNCTIONS[name].apply(x)


def _const(array, like):
    from ..autograd.higher_order import constant
    return constant(array, like)


UNARY_GRAPHS = {  # name: dy/dx from the linked x and y
    "tan": lambda x, y: 1 + y * y,
    "asin": lambda x, y: 1 / (1 - x * x).sqrt(),
    "acos": lambda x, y: -1 / (1 - x * x).sqrt(),
    "atan": lambda x, y: 1 / (1 + x * x),
    "sinh": lambda x, y: _f("cosh", x),
    "cosh": lambda x, y: _f("sinh", x),
    "asinh": lambda x, y: 1 / (x * x + 1).sqrt(),
    "acosh": lambda x, y: 1 / (x * x - 1).sqrt(),
    "atanh": lambda x, y: 1 / (1 - x * x),
    "exp2": lambda x, y: y * math.log(2),
    "log2": lambda x, y: 1 / (x * math.log(2)),
    "log10": lambda x, y: 1 / (x * math.log(10)),
    "expm1": lambda x, y: y + 1,
    "erf": lambda x, y: (-x * x).exp() * (2 / _SQRT_PI),
    "erfc": lambda x, y: (-x * x).exp() * (-2 / _SQRT_PI),
    "erfinv": lambda x, y: (y * y).exp() * (_SQRT_PI / 2),
    "lgamma": lambda x, y: _f("digamma", x),
    "digamma": lambda x, y: Polygamma.apply(x, 1),
    "i0": lambda x, y: _f("i1", x),
    # I1' = I0 - I1 / x, 1/2 at 0 (x == 0 divides by 1 there, then the value is replaced)
    "i1": lambda x, y: _i1_derivative(x, y),
    "sinc": lambda x, y: _sinc_derivative(x),
    "deg2rad": lambda x, y: _const(np.full(x.shape, math.pi / 180), x),
    "rad2deg": lambda x, y: _const(np.full(x.shape, 180 / math.pi), x),
    "frac": lambda x, y: _const(np.ones(x.shape), x),
}


def _i1_derivative(x, y):
    from .index import MaskedFill
    zero = x._data == 0
    d = _f("i0", x) - y / (x + _const(zero, x))
    return MaskedFill.apply(d, zero, 0.5)


def _sinc_derivative(x):
    from .index import MaskedFill
    zero = x._data == 0
    px = (x + _const(zero, x)) * math.pi
    return MaskedFill.apply((px * px.cos() - px.sin()) / (px * (x + _const(zero, x))), zero, 0)


def _unary_graph(derivative):
    def backward_graph(ctx, g):
        from ..autograd.higher_order import saved
        x, y = saved(ctx)
        return g * derivative(x, y)
    return staticmethod(backward_graph)


for _name, _derivative in UNARY_GRAPHS.items():
    FUNCTIONS[_name].backward_graph = _unary_graph(_derivative)


def _polygamma_graph(ctx, g):
    from ..autograd.higher_order import saved
    (x,) = saved(ctx)
    return g * Polygamma.apply(x, ctx.n + 1), None


Polygamma.backward_graph = staticmethod(_polygamma_graph)


def _xlogy_graph_x(g, a, b, o):
    from .index import MaskedFill
    return MaskedFill.apply(BINARY_FUNCTIONS["xlogy"].apply(g, b), (a._data == 0) & (b._data <= 0), 0)


BINARY_GRAPHS = {  # name: (grad of a, grad of b) from the linked a, b, out and the Tensor g
    "atan2": (lambda g, a, b, o: g * b / (a * a + b * b), lambda g, a, b, o: g * -a / (a * a + b * b)),
    "hypot": (lambda g, a, b, o: g * a / o, lambda g, a, b, o: g * b / o),
    "logaddexp": (lambda g, a, b, o: g / (1 + (b - a).exp()), lambda g, a, b, o: g / (1 + (a - b).exp())),
    "logaddexp2": (lambda g, a, b, o: g / (1 + _f("exp2", b - a)),
                   lambda g, a, b, o: g / (1 + _f("exp2", a - b))),
    "xlogy": (_xlogy_graph_x, lambda g, a, b, o: g * a / b),
    "fmod": (lambda g, a, b, o: g, lambda g, a, b, o: -g * _const(trunc_divide(a._data, b._data), g)),
    "remainder": (lambda g, a, b, o: g, lambda g, a, b, o: -g * _const(np.floor_divide(a._data, b._data), g)),
    "copysign": (lambda g, a, b, o: g * _const(_copysign_grad(1, a._data, b._data, o._data), g),
                 lambda g, a, b, o: g * 0),
}


def _binary_graph(grad_a, grad_b):
    def backward_graph(ctx, g):
        from ..autograd.higher_order import saved, sum_to
        a, b, out = (t if hasattr(t, "_data") else _const(t, g) for t in saved(ctx))
        ga = sum_to(grad_a(g, a, b, out), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad_b(g, a, b, out), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb
    return staticmethod(backward_graph)


for _name, (_grad_a, _grad_b) in BINARY_GRAPHS.items():
    BINARY_FUNCTIONS[_name].backward_graph = _binary_graph(_grad_a, _grad_b)


def _round_graph(ctx, g):
    return g * 0, None  # piecewise constant: zero, with g's graph


def _nan_to_num_graph(ctx, g):
    (x,) = ctx.saved_tensors
    return g * _const(np.isfinite(x), g), None, None, None


def _clamp_tensor_graph(ctx, g):
    """g routed by the (constant) masks of torch's clamp_backward_min_max."""
    from ..autograd.higher_order import saved, sum_to
    values = list(saved(ctx))
    x = values.pop(0)
    lo = values.pop(0) if ctx.has[0] else None
    hi = values.pop(0) if ctx.has[1] else None
    routes = _clamp_routes(x._data, None if lo is None else lo._data, None if hi is None else hi._data)
    return tuple(sum_to(g * _const(route, g), v.shape) if v is not None and ctx.needs_input_grad[i]
                 else None for i, (v, route) in enumerate(zip((x, lo, hi), routes)))


def _lerp_graph(ctx, g):
    """d/dstart = 1 - w, d/dend = w, d/dweight = end - start."""
    from ..autograd.higher_order import saved, sum_to
    values = saved(ctx)
    start, end = values[0], values[1]
    w = ctx.scalar_weight if ctx.scalar_weight is not None else values[2]
    s_shape, e_shape, w_shape = ctx.shapes
    gs = sum_to(g * (1 - w), s_shape) if ctx.needs_input_grad[0] else None
    ge = sum_to(g * w, e_shape) if ctx.needs_input_grad[1] else None
    gw = sum_to(g * (end - start), w_shape) if ctx.needs_input_grad[2] else None
    return gs, ge, gw


Round.backward_graph = staticmethod(_round_graph)
NanToNum.backward_graph = staticmethod(_nan_to_num_graph)
ClampTensor.backward_graph = staticmethod(_clamp_tensor_graph)
Lerp.backward_graph = staticmethod(_lerp_graph)
