"""Elementwise operations. Binary ops broadcast as NumPy does; backward sums the gradient back to
each input's shape (``unbroadcast``). Operands arrive already promoted to a common dtype (see
``Tensor._binary``); Python numbers pass through as scalars and get no gradient.

A Function whose backward computes a new array for each input declares ``fresh_grads``: a leaf
then keeps that array as its ``.grad`` instead of a copy (exp of 25M elements: 100 MB and a
pass less). Add, Sub and Clone hand ``g`` itself on, so they do not."""
from __future__ import annotations

import math

import numpy as np

from .. import _kernels
from ..autograd.function import Function
from ..autograd.higher_order import constant, saved, sum_to
from .util import unbroadcast


def _shape(x):
    return x.shape if isinstance(x, np.ndarray) else ()


class Add(Function):
    affine_in = (0, 1)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.alpha = alpha
        return _kernels.elementwise.add(a, b if alpha == 1 else b * alpha)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        gb = None
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(g if ctx.alpha == 1 else g * ctx.alpha, sb)
        return unbroadcast(g, sa) if ctx.needs_input_grad[0] else None, gb, None


class Sub(Function):
    affine_in = (0, 1)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.alpha = alpha
        return a - (b if alpha == 1 else b * alpha)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        gb = unbroadcast(-g if ctx.alpha == 1 else g * -ctx.alpha, sb) if ctx.needs_input_grad[1] else None
        return unbroadcast(g, sa) if ctx.needs_input_grad[0] else None, gb, None


class Mul(Function):
    affine_in = (0, 1)  # double backward: autograd/higher_order.py
    fresh_grads = True  # g * b and g * a are new arrays (or new sums of them), one per input

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _kernels.elementwise.mul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # (an input that needs a gradient was a Tensor: its saved value is an array, not a number)
        ga = unbroadcast(_kernels.elementwise.mul(g, b), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(_kernels.elementwise.mul(g, a), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = unbroadcast(g / b, _shape(a)) if ctx.needs_input_grad[0] else None
            gb = unbroadcast(-g * a / (b * b), _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_graph(ctx, g):
        a, b = saved(ctx)
        ga = sum_to(g / b, a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(-g * a / (b * b), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ctx.needs_input_grad[0]:
                # torch: grad * b * a^(b-1), with the b == 0 case giving 0 (not nan at a == 0)
                ga = np.where(np.asarray(b) == 0, 0, g * b * np.power(a, np.asarray(b) - 1))
                ga = unbroadcast(ga.astype(g.dtype, copy=False), _shape(a))
            if ctx.needs_input_grad[1]:
                # torch: grad * out * log(a), with the a == 0 case (and b >= 0) giving 0
                gb = np.where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0, g * out * np.log(a))
                gb = unbroadcast(gb.astype(g.dtype, copy=False), _shape(b))
        return ga, gb

    @staticmethod
    def backward_graph(ctx, g):
        # the array backward's formulas and its two zero cases, in Tensor ops
        a, b, out = saved(ctx)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if not hasattr(b, "_data"):  # a Python number
                ga = g * 0 if b == 0 else g * b * a ** (b - 1)
            else:
                ga = (g * b * a ** (b - 1)).masked_fill(b == 0, 0)
            ga = sum_to(ga, a.shape)
        if ctx.needs_input_grad[1]:
            if not hasattr(a, "_data"):  # a Python number: log(a) is a constant
                with np.errstate(divide="ignore", invalid="ignore"):
                    gb = g * out * float(np.log(a))
                gb = gb.masked_fill(b >= 0, 0) if a == 0 else gb
            else:
                gb = (g * out * a.log()).masked_fill((a == 0) & (b >= 0), 0)
            gb = sum_to(gb, b.shape)
        return ga, gb


class Maximum(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_ties(g, a, b, np.greater)

    @staticmethod
    def backward_graph(ctx, g):
        return _split_ties_graph(ctx, g, np.greater)


class Minimum(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_ties(g, a, b, np.less)

    @staticmethod
    def backward_graph(ctx, g):
        return _split_ties_graph(ctx, g, np.less)


def _split_ties(g, a, b, wins):
    # torch (derivatives.yaml, maximum/minimum): ties split the gradient in half between inputs
    half = g / 2
    ga = np.where(wins(a, b), g, np.where(a == b, half, 0)).astype(g.dtype, copy=False)
    gb = np.where(wins(b, a), g, np.where(a == b, half, 0)).astype(g.dtype, copy=False)
    return unbroadcast(ga, _shape(a)), unbroadcast(gb, _shape(b))


def _split_ties_graph(ctx, g, wins):
    """_split_ties recorded: g times constant shares (1, 1/2 or 0), so the second derivative
    towards a and b is zero, as torch's."""
    a, b = ctx.saved_tensors
    share_a = np.where(wins(a, b), 1, np.where(a == b, 0.5, 0))
    share_b = np.where(wins(b, a), 1, np.where(a == b, 0.5, 0))
    ga = sum_to(g * constant(share_a, g), _shape(a)) if ctx.needs_input_grad[0] else None
    gb = sum_to(g * constant(share_b, g), _shape(b)) if ctx.needs_input_grad[1] else None
    return ga, gb


# -- unary ------------------------------------------------------------------------------------


class Neg(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py
    fresh_grads = True

    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.sign(a)

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        return g * a.sign()


class Exp(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        out = _kernels.elementwise.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return _kernels.elementwise.mul(g, out)

    @staticmethod
    def backward_graph(ctx, g):
        (out,) = saved(ctx)
        return g * out


class Log(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / a

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        return g / a


class Log1p(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (a + 1)

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        return g / (a + 1)


class Sqrt(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (2 * out)

    @staticmethod
    def backward_graph(ctx, g):
        (out,) = saved(ctx)
        return g / (2 * out)


class Rsqrt(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1 / np.sqrt(a)
        ctx.save_for_backward(out)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (-0.5) * out * out * out

    @staticmethod
    def backward_graph(ctx, g):
        (out,) = saved(ctx)
        return g * -0.5 * out ** 3


class Sin(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.cos(a)

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        return g * a.cos()


class Cos(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * np.sin(a)

    @staticmethod
    def backward_graph(ctx, g):
        (a,) = saved(ctx)
        return -g * a.sin()


class Tanh(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)

    @staticmethod
    def backward_graph(ctx, g):
        (out,) = saved(ctx)
        return g * (1 - out * out)


def stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)) without overflow: exp is only ever taken of a non-positive number."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


class Sigmoid(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a):
        out = stable_sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)

    @staticmethod
    def backward_graph(ctx, g):
        (out,) = saved(ctx)
        return g * out * (1 - out)


class Clamp(Function):
    fresh_grads = True
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.bounds = (lo, hi)
        out = a
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out if out is not a else a.copy()

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        # torch: the gradient passes where lo <= a <= hi (bounds included), and through NaN
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= ~(a < lo)
        if hi is not None:
            mask &= ~(a > hi)
        return g * mask, None, None

    @staticmethod
    def backward_graph(ctx, g):
        # the array backward is g times a 0/1 mask of a: constant, so linear in g
        mask = Clamp.backward(ctx, np.ones(g.shape, g._data.dtype))[0]
        return g * constant(mask, g), None, None


class ZeroGrad(Function):
    """Piecewise-constant ops (sign, floor, ceil, round, trunc): gradient zero everywhere."""

    name = "SignBackward0"
    fresh_grads = True

    @staticmethod
    def forward(ctx, a, fn):
        ctx.shape = a.shape
        return fn(a)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


class Where(Function):
    affine_in = (1, 2)  # double backward: autograd/higher_order.py
    fresh_grads = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(cond, g, zero), sa) if ctx.needs_input_grad[1] else None
        gb = unbroadcast(np.where(cond, zero, g), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Cast(Function):
    """Conversion to another dtype; the gradient converts back."""

    name = "ToCopyBackward0"

    affine_in = (0,)  # double backward: autograd/higher_order.py
    fresh_grads = True

    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.dtype = a.dtype
        return a.astype(np_dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype), None


class Clone(Function):
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


# integer division: torch raises on a zero divisor and truncates exactly
def check_integer_divisor(a, b):
    """Integer //, % and div(rounding_mode=...) by zero raise as in torch (whose message is just
    'ZeroDivisionError'); NumPy would give 0 and a warning. An empty result divides nothing."""
    if math.prod(np.broadcast_shapes(np.shape(a), np.shape(b))) and np.any(np.asarray(b) == 0):
        raise RuntimeError("ZeroDivisionError")


def trunc_divide(a, b):
    """Division rounded toward zero; exact for integers (no trip through float64)."""
    if np.asarray(a).dtype.kind not in "iu":
        return np.trunc(np.true_divide(a, b))
    q = np.floor_divide(a, b)
    # floor and trunc differ where the division is inexact and the signs differ
    return q + ((np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0)))


INTEGER_DIVISIONS = (np.floor_divide, np.remainder, trunc_divide)


class Addcmul(Function):
    """input + value * t1 * t2 (the operands already of the result dtype, broadcast)."""
    name = "AddcmulBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.shapes, ctx.value = (x.shape, t1.shape, t2.shape), value
        return x + value * (t1 * t2)

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        sx, s1, s2 = ctx.shapes
        gv = g * ctx.value
        return (unbroadcast(g, sx) if ctx.needs_input_grad[0] else None,
                unbroadcast(gv * t2, s1) if ctx.needs_input_grad[1] else None,
                unbroadcast(gv * t1, s2) if ctx.needs_input_grad[2] else None, None)


class Addcdiv(Function):
    """input + value * t1 / t2."""
    name = "AddcdivBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.shapes, ctx.value = (x.shape, t1.shape, t2.shape), value
        return x + value * (t1 / t2)

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        sx, s1, s2 = ctx.shapes
        gv = g * ctx.value / t2
        return (unbroadcast(g, sx) if ctx.needs_input_grad[0] else None,
                unbroadcast(gv, s1) if ctx.needs_input_grad[1] else None,
                unbroadcast(-gv * t1 / t2, s2) if ctx.needs_input_grad[2] else None, None)
