"""Convolutions, as torch.nn.functional: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold, fold.

Every public function validates its arguments with torch's rules and messages (shape checks
in ``ember.nn._shapes``), then calls one of three Functions whose forward and backward sit
side by side on the N-d kernels of ``ember._kernels.conv``:

* ``Convolution`` (grad_fn ``ConvolutionBackward0``, as torch's) serves both directions:

      conv:            y = conv(x, w)             gx = conv_T(gy, w)     gw = corr(x, gy)
      conv_transpose:  y = conv_T(x, w)           gx = conv(gy, w)       gw = corr(gy, x)

  where conv_T is the input-gradient of conv: a transposed convolution *is* that gradient.
* ``Im2Col`` / ``Col2Im`` (``F.unfold`` / ``F.fold``), adjoint to each other.

Unbatched inputs get a batch dim of 1 and lose it again (``SqueezeBackward1`` as in torch).
"""
from __future__ import annotations

import numpy as np

from ..._dtype import scalar_type_name
from ..._kernels import conv as _k
from ...autograd.function import Function
from .. import _shapes

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

class Convolution(Function):
    """N-d (transposed) convolution with bias.

    ``padding``: one (left, right) pair per spatial dim (asymmetric for ``padding='same'``).
    Saves x and w; the bias gradient is ``gy`` summed over every dim but the channels.
    """

    name = "ConvolutionBackward0"

    affine_in = (0, 1, 2)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups, transposed, output_padding):
        ctx.dtype = x.dtype
        compute = _compute_dtype(x.dtype)
        if compute != x.dtype:  # integer / half inputs: compute in float, cast the result back
            x, w = x.astype(compute), w.astype(compute)
            b = None if b is None else b.astype(compute)
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        ctx.transposed = transposed
        if transposed:
            out_spatial = [_shapes.conv_transpose_output_size(s, k, st, lo, d, op)
                           for s, k, st, (lo, _), d, op in
                           zip(x.shape[2:], w.shape[2:], stride, padding, dilation, output_padding)]
            y = _k.conv_input_grad(x, w, (x.shape[0], w.shape[1] * groups, *out_spatial),
                                   stride, padding, dilation, groups, bias=b)
        else:
            y = _k.conv_forward(x, w, stride, padding, dilation, groups, bias=b)
        return y if y.dtype == ctx.dtype else y.astype(ctx.dtype)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gy = gy.astype(x.dtype, copy=False)
        gx = gw = gb = None
        if ctx.transposed:
            # y = conv_T(x, w): its x-gradient is the plain convolution of gy (the output size
            # is x's own, which output_padding makes the size formula miss), w's gradient the
            # correlation with the roles of input and output swapped.
            if need_x:
                gx = _k.conv_forward(gy, w, stride, padding, dilation, groups,
                                     out_spatial=x.shape[2:])
            if need_w:
                gw = _k.conv_weight_grad(gy, x, w.shape, stride, padding, dilation, groups)
        else:
            if need_x:
                gx = _k.conv_input_grad(gy, w, x.shape, stride, padding, dilation, groups)
            if need_w:
                gw = _k.conv_weight_grad(x, gy, w.shape, stride, padding, dilation, groups)
        if need_b:
            gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
        gx, gw, gb = (g if g is None or g.dtype == ctx.dtype else g.astype(ctx.dtype)
                      for g in (gx, gw, gb))
        return gx, gw, gb, None, None, None, None, None, None


class Im2Col(Function):
    """``F.unfold``: (N, C, H, W) -> (N, C*kh*kw, L); backward is col2im (fold)."""

    name = "Im2ColBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, x, kernel_size, dilation, padding, stride):
        ctx.conf = (x.shape[2:], kernel_size, dilation, padding, stride)
        return _k.unfold(x, kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, g):
        spatial, kernel_size, dilation, padding, stride = ctx.conf
        return _k.fold(g, spatial, kernel_size, stride, padding, dilation), None, None, None, None


class Col2Im(Function):
    """``F.fold``: (N, C*kh*kw, L) -> (N, C, *output_size), overlaps summed; backward is im2col."""

    name = "Col2ImBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, cols, output_size, kernel_size, dilation, padding, stride):
        ctx.conf = (kernel_size, dilation, padding, stride)
        return _k.fold(cols, output_size, kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, g):
        kernel_size, dilation, padding, stride = ctx.conf
        return _k.unfold(g, kernel_size, stride, padding, dilation), None, None, None, None, None


def _compute_dtype(dtype):
    """The float type the kernels run in: float32/float64 as given; half -> float32;
    integers -> float64 (exact for the sums torch's integer convolutions can hold)."""
    if dtype == np.float32 or dtype == np.float64:
        return dtype
    return np.dtype(np.float32) if dtype.kind == "f" else np.dtype(np.float64)


# ---------------------------------------------------------------------------------------------
# argument handling shared by the six convolutions
# ---------------------------------------------------------------------------------------------

def _check_dtypes(input, weight, bias):
    """ATen's checks: the weight must have the input's scalar type, and so must the bias."""
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(input.dtype)} but found "
                           f"{scalar_type_name(weight.dtype)}")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({scalar_type_name(input.dtype).lower()}) and bias type "
                           f"({scalar_type_name(bias.dtype).lower()}) should be the same")


def _convolution(name, n, input, weight, bias, stride, padding, dilation, groups,
                 transposed=False, output_padding=0):
    """Validate, add the batch dim of an unbatched input, apply ``Convolution``."""
    dim = input.dim()
    if dim not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    k = weight.dim() - 2
    stride = _shapes.conv_tuple(stride, k, "stride")
    dilation = _shapes.conv_tuple(dilation, k, "dilation")
    if transposed:
        pairs = tuple((p, p) for p in _shapes.conv_tuple(padding, k, "padding"))
        output_padding = _shapes.conv_tuple(output_padding, k, "output_padding")
    else:
        pairs = _shapes.conv_padding_pairs(padding, tuple(weight.shape[2:]), stride, dilation)
        output_padding = None
    batched = dim == n + 2
    x = input if batched else input.unsqueeze(0)
    _shapes.check_conv_shapes(tuple(x.shape), tuple(weight.shape),
                              None if bias is None else tuple(bias.shape),
                              stride, pairs, dilation, int(groups), transposed, output_padding)
    _check_dtypes(x, weight, bias)
    y = Convolution.apply(x, weight, bias, stride, pairs, dilation, int(groups), transposed,
                          output_padding)
    return y if batched else y.squeeze(0)


# ---------------------------------------------------------------------------------------------
# public API (torch.nn.functional signatures and defaults)
# ---------------------------------------------------------------------------------------------

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""1-d convolution (cross-correlation) of ``input`` (N, C_in, L) or (C_in, L) with
    ``weight`` (C_out, C_in/groups, kL):

    .. math:: \text{out}(n, o, l) = \text{bias}(o) + \sum_{c, k} \text{weight}(o, c, k)\,
              \text{input}(n, c, l\cdot s - p + k\cdot d)

    ``padding`` is an int, a tuple, ``'valid'`` (0) or ``'same'`` (output as long as the input,
    stride 1; an odd total puts the extra zero on the right). L_out = floor((L + 2p - d(kL-1) - 1)
    / s) + 1.

    >>> import ember, ember.nn.functional as F
    >>> F.conv1d(ember.ones(1, 1, 5), ember.ones(1, 1, 3)).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""2-d convolution of ``input`` (N, C_in, H, W) or (C_in, H, W) with ``weight``
    (C_out, C_in/groups, kH, kW); see :func:`conv1d` for the formula, applied per spatial dim:
    H_out = floor((H + 2p - d(kH-1) - 1) / s) + 1.

    >>> import ember, ember.nn.functional as F
    >>> F.conv2d(ember.ones(1, 3, 512, 512), ember.ones(1, 3, 3, 3)).shape
    ember.Size([1, 1, 510, 510])
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""3-d convolution of ``input`` (N, C_in, D, H, W) or (C_in, D, H, W) with ``weight``
    (C_out, C_in/groups, kD, kH, kW); see :func:`conv1d`."""
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""1-d transposed convolution: the gradient of :func:`conv1d` with respect to its input.
    ``weight`` is (C_in, C_out/groups, kL) and L_out = (L - 1)s - 2p + d(kL-1) + output_padding
    + 1; ``output_padding`` (< stride or < dilation) adds computed positions at the end.
    Note the argument order: groups comes before dilation, as in torch.
    """
    return _convolution("conv_transpose1d", 1, input, weight, bias, stride, padding, dilation,
                        groups, True, output_padding)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""2-d transposed convolution; see :func:`conv_transpose1d`.

    >>> import ember, ember.nn.functional as F
    >>> F.conv_transpose2d(ember.ones(1, 3, 512, 512), ember.ones(3, 1, 3, 3), stride=2).shape
    ember.Size([1, 1, 1025, 1025])
    """
    return _convolution("conv_transpose2d", 2, input, weight, bias, stride, padding, dilation,
                        groups, True, output_padding)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""3-d transposed convolution; see :func:`conv_transpose1d`."""
    return _convolution("conv_transpose3d", 3, input, weight, bias, stride, padding, dilation,
                        groups, True, output_padding)


# ---------------------------------------------------------------------------------------------
# unfold / fold (torch's im2col / col2im, 2-d only as in torch)
# ---------------------------------------------------------------------------------------------

def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C*kH*kW, L), L the number
    of block positions; column l is the flattened block at position l (channel-major).

    >>> import ember, ember.nn.functional as F
    >>> F.unfold(ember.ones(2, 3, 5, 6), (2, 3)).shape
    ember.Size([2, 18, 16])
    """
    kernel_size, dilation, padding, stride = _shapes.fold_args(kernel_size, dilation, padding,
                                                               stride)
    _shapes.check_unfold_input(tuple(input.shape), kernel_size, dilation, padding, stride)
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    y = Im2Col.apply(x, kernel_size, dilation, padding, stride)
    return y if batched else y.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Combine sliding local blocks into a tensor (col2im), summing overlapping values:
    (N, C*kH*kW, L) -> (N, C, *output_size). The adjoint of :func:`unfold`; ``fold(unfold(x))``
    multiplies each element by the number of blocks that contain it.
    """
    output_size = _shapes.fold_pair(output_size, "output_size")
    kernel_size, dilation, padding, stride = _shapes.fold_args(kernel_size, dilation, padding,
                                                               stride)
    _shapes.check_fold_input(tuple(input.shape), output_size, kernel_size, dilation, padding,
                             stride)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    y = Col2Im.apply(x, output_size, kernel_size, dilation, padding, stride)
    return y if batched else y.squeeze(0)
