"""linear and bilinear: torch.nn.functional's affine maps.

``linear`` is one Function per call: one GEMM forward, one GEMM per needed gradient backward,
however many leading dimensions the input has (they are folded into the GEMM's rows). Small
layers spend their time in Python, so the path from ``F.linear`` to BLAS is kept short.
"""
from __future__ import annotations

import numpy as np

from ..._dtype import scalar_type_name
from ..._kernels.blas import matmul
from ..._ops.util import unbroadcast
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["linear", "bilinear"]



class Linear(Function):
    """y = x W^T + b over any leading dims of x.

    forward:  Y = X W^T + b              (X: (rows, in), W: (out, in), Y: (rows, out))
    backward: dX = dY W,  dW = dY^T X,  db = sum over rows of dY
    """
    name = "AddmmBackward0"

    affine_in = (0, 1, 2)  # double backward: autograd/higher_order.py
    fresh_grads = True  # dX, dW are new products, db a new sum (never the incoming grad)

    @staticmethod
    def forward(ctx, x, weight, bias):
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = matmul(x2, weight.T)  # on ember's pool, not OpenBLAS's (ember/_kernels/blas.py)
        if bias is not None:
            y += bias
        ctx.save_for_backward(x, weight)
        ctx.bias_shape = None if bias is None else bias.shape
        return y.reshape(*x.shape[:-1], weight.shape[0]) if x.ndim != 2 else y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        g2 = grad.reshape(-1, weight.shape[0]) if grad.ndim != 2 else grad
        needs = ctx.needs_input_grad
        gx = matmul(g2, weight).reshape(x.shape) if needs[0] else None
        gw = matmul(g2.T, x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x) if needs[1] else None
        gb = None
        if ctx.bias_shape is not None and needs[2]:
            gb = unbroadcast(g2, ctx.bias_shape) if ctx.bias_shape != (g2.shape[1],) \
                else g2.sum(axis=0)
            if gb is g2:  # (a bias shaped like the single row of grad): keep fresh_grads true
                gb = gb.copy()
        return gx, gw, gb


# torch's linear is addmm for a matrix with bias and a reshape around mm / addmm otherwise;
# the grad_fn it shows names that last step. Same Function, torch's names.
class _LinearMm(Linear):
    name = "MmBackward0"


class _LinearView(Linear):
    name = "ViewBackward0"


class _LinearUnsafeView(Linear):
    name = "UnsafeViewBackward0"


class _LinearSqueeze(Linear):
    name = "SqueezeBackward4"


_LINEAR_BY = {(2, True): Linear, (2, False): _LinearMm, (1, True): _LinearView,
              (1, False): _LinearSqueeze}


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""y = x W^T + b.

    Shapes: input (*, in_features), weight (out_features, in_features), bias (out_features)
    or None -> output (*, out_features).

    >>> import ember, ember.nn.functional as F
    >>> F.linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4)).shape
    ember.Size([2, 4])
    """
    x, w = input._data, weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    if w.ndim != 2:         # a vector weight: torch's matmul semantics, composed from ops
        out = input.matmul(weight.t() if w.ndim == 2 else weight)
        return out if bias is None else out + bias
    if x.shape[-1] != w.shape[1]:
        rows = x.size // x.shape[-1] if x.shape[-1] else int(np.prod(x.shape[:-1]))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                           f"and {w.shape[1]}x{w.shape[0]})")
    if x.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{scalar_type_name(x.dtype)} and {scalar_type_name(w.dtype)}")
    if bias is not None:
        b = bias._data
        if b.dtype != x.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{scalar_type_name(b.dtype)} and "
                               f"{scalar_type_name(x.dtype)}")
        if b.ndim > 2 or (b.ndim >= 1 and b.shape[-1] not in (1, w.shape[0])):
            rows = x.size // max(x.shape[-1], 1) if x.ndim > 1 else 1
            raise RuntimeError(f"The expanded size of the tensor ({w.shape[0]}) must match the "
                               f"existing size ({b.shape[-1]}) at non-singleton dimension 1.  "
                               f"Target sizes: [{rows}, {w.shape[0]}].  Tensor sizes: "
                               f"[{', '.join(map(str, b.shape))}]")
    fn = _LINEAR_BY.get((x.ndim, bias is not None)) or \
        (_LinearView if bias is not None else _LinearUnsafeView)
    return fn.apply(input, weight, bias)


class Bilinear(Function):
    """y_o = x1^T A_o x2 + b_o, written as GEMMs over A reshaped to (in1, out * in2):

    T = X1 A~  (rows, out, in2);  Y = sum_j T * X2 + b
    dX1 = (dY (x) X2) A~^T;  dX2 = sum_o dY T;  dA = X1^T (dY (x) X2);  db = sum dY
    """
    name = "AddBackward0"

    @staticmethod
    def forward(ctx, x1, x2, weight, bias):
        out, in1, in2 = weight.shape
        lead = x1.shape[:-1]
        a = x1.reshape(-1, in1)
        b = x2.reshape(-1, in2)
        w2 = weight.transpose(1, 0, 2).reshape(in1, out * in2)
        t = (a @ w2).reshape(-1, out, in2)
        y = np.einsum("roj,rj->ro", t, b)
        if bias is not None:
            y += bias
        ctx.save_for_backward(a, b, weight, t)
        ctx.shapes = (x1.shape, x2.shape, None if bias is None else bias.shape)
        return y.reshape(*lead, out)

    @staticmethod
    def backward(ctx, grad):
        a, b, weight, t = ctx.saved_tensors
        out, in1, in2 = weight.shape
        s1, s2, sb = ctx.shapes
        g = grad.reshape(-1, out)
        needs = ctx.needs_input_grad
        u = (g[:, :, None] * b[:, None, :]).reshape(-1, out * in2)     # dY (x) X2
        w2 = weight.transpose(1, 0, 2).reshape(in1, out * in2)
        g1 = (u @ w2.T).reshape(s1) if needs[0] else None
        g2 = np.einsum("ro,roj->rj", g, t).reshape(s2) if needs[1] else None
        gw = (a.T @ u).reshape(in1, out, in2).transpose(1, 0, 2) if needs[2] else None
        gb = unbroadcast(g, sb) if sb is not None and needs[3] else None
        return g1, g2, gw, gb


class _BilinearNoBias(Bilinear):
    name = "ViewBackward0"


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""y = x1^T A x2 + b.

    Shapes: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out) -> (*, out).
    """
    s1, s2, sw = input1.shape, input2.shape, weight.shape
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for i in range(input1.ndim - 1):
        if s1[i] != s2[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got "
                               f"{s1[i]} and {s2[i]}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, but got {weight.ndim}D")
    if s1[-1] != sw[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {s1[-1]} "
                           f"but expected {sw[1]}")
    if s2[-1] != sw[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {s2[-1]} "
                           f"but expected {sw[2]}")
    if bias is not None and bias.shape[-1:] != (sw[0],) and bias.numel() != 1:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1]} but expected {sw[0]}")
    return (Bilinear if bias is not None else _BilinearNoBias).apply(input1, input2, weight, bias)
