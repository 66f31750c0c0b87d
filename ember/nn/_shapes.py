"""Every output-size formula and shape-argument check of ember's layers, in one place.

Convolution, transposed convolution, pooling (with ceil_mode), unpooling and adaptive pooling
all compute their output sizes here, so the layers, the explain tools and the tests agree;
unfold/fold and F.pad check their arguments here too.
The formulas follow PyTorch's ATen (aten/src/ATen/native/ConvUtils.h, Pool.h,
AdaptivePooling.h); each function says which one it mirrors.
"""
from __future__ import annotations

import collections.abc

import numpy as np


def _ntuple(n: int, name: str = "argument"):
    """Return a parser that turns an int or an n-sequence into an n-tuple of ints (torch's _ntuple)."""

    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            t = tuple(x)
            if len(t) == 1 and n != 1:
                t = t * n
            if len(t) != n:
                raise ValueError(f"expected {name} to be a single integer or a sequence of {n} "
                                 f"integers, but got {x!r}")
            return tuple(_as_int(v, name) for v in t)
        return (_as_int(x, name),) * n

    return parse


def _as_int(v, name):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{name} must be an integer or a tuple of integers, but got {v!r}")
    return int(v.__index__())


def _ntuple_as_given(n: int):
    """torch.nn.modules.utils._ntuple as it is: a sequence is kept as given (any length, any
    values), anything else repeated n times. The layers' constructors store their options this
    way, as torch's do; the functionals validate them when they are used."""

    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return (x,) * n

    return parse


_single = _ntuple(1)
_pair = _ntuple(2)
_triple = _ntuple(3)


def conv_output_size(in_size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """One spatial dim of a convolution (ConvUtils.h conv_output_size):
    ``floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (in_size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(in_size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """One spatial dim of a pooling layer (Pool.h pooling_output_shape_pad_lr).

    With ceil_mode the division rounds up, but a last window that would *start* inside the
    right padding is dropped (pytorch#45357): it would contain no input element.
    """
    numerator = in_size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= in_size + padding:
        out -= 1
    return out


def adaptive_bins(in_size: int, out_size: int):
    """Start and end (exclusive) of each adaptive-pooling bin (AdaptivePooling.h):
    ``start = floor(i*in/out)``, ``end = ceil((i+1)*in/out)``."""
    return [((i * in_size) // out_size, -(-((i + 1) * in_size) // out_size)) for i in range(out_size)]


def product(xs) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


__all__ = ["_ntuple", "_ntuple_as_given", "_single", "_pair", "_triple", "conv_output_size", "pool_output_size",
           "adaptive_bins", "product"]


# -- convolution: argument checks and output sizes (ATen's ConvUtils.h check_shape_forward,
#    Convolution.cpp and the slow_conv*_shape_check messages; torch/nn/modules/conv.py), ------
#    with torch's messages so they can be searched for.

def conv_transpose_output_size(in_size: int, kernel: int, stride: int = 1, padding: int = 0,
                               dilation: int = 1, output_padding: int = 0) -> int:
    """One spatial dim of a transposed convolution (ConvUtils.h conv_input_size):
    ``(in - 1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``."""
    return (in_size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def same_padding(kernel_size, dilation):
    """(left, right) zero padding per spatial dim for ``padding='same'`` (stride 1): the total
    ``dilation*(kernel-1)`` is split with the extra element on the right/bottom, as torch's
    _ConvNd and Convolution.cpp do."""
    pairs = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


def conv_padding_pairs(padding, kernel_size, stride, dilation, name: str = "conv"):
    """Normalise a conv ``padding`` argument (int, tuple, 'valid' or 'same') to one
    (left, right) pair per spatial dim; 'same' with a stride other than 1 is an error."""
    n = len(kernel_size)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return same_padding(kernel_size, dilation)
        raise RuntimeError(f"Invalid padding string: {padding!r}")
    pads = conv_tuple(padding, n, "padding")
    return tuple((p, p) for p in pads)


def conv_tuple(value, n: int, name: str) -> tuple:
    """An n-tuple of ints from an int or a sequence, with ATen's message for a wrong length
    (expand_param_if_needed in Convolution.cpp)."""
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
        t = tuple(_as_int(v, name) for v in value)
        if len(t) == 1:
            t = t * n
        if len(t) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(t)}")
        return t
    return (_as_int(value, name),) * n


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _as_2d(values, fill):
    """ATen runs 1-d convolutions as 2-d ones of height 1; its messages show that height."""
    values = tuple(values)
    return (fill,) + values if len(values) == 1 else values


def _named(prefix: str, values) -> str:
    names = {2: ("height", "width"), 3: ("depth", "height", "width")}[len(values)]
    return " ".join(f"{prefix}_{a}: {v}" for a, v in zip(names, values))


def check_conv_shapes(input_shape, weight_shape, bias_shape, stride, padding, dilation, groups,
                      transposed: bool = False, output_padding=None) -> None:
    """Validate a (batched) convolution call like ATen's check_shape_forward and the backend
    shape checks; ``padding`` is one (left, right) pair per spatial dim. Raises RuntimeError with
    torch's messages, in torch's order: arguments, weight, then channels, bias and sizes."""
    _check_conv_args(stride, padding, dilation, groups, output_padding)
    _check_conv_weight(input_shape, weight_shape, groups)
    if transposed:
        _check_conv_transpose_operands(input_shape, weight_shape, bias_shape, stride, padding,
                                       dilation, groups, output_padding)
    else:
        _check_conv_operands(input_shape, weight_shape, bias_shape, padding, dilation, groups)


def _check_conv_args(stride, padding, dilation, groups, output_padding) -> None:
    """Non-negative padding (and output_padding), positive stride, dilation and groups."""
    if any(p < 0 for pair in padding for p in pair):
        raise RuntimeError("negative padding is not supported")
    if output_padding is not None and any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got "
                           f"{list(_as_2d(dilation, 1))}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_conv_weight(input_shape, weight_shape, groups) -> None:
    """The weight has the input's rank, a multiple of ``groups`` in dim 0 and a non-empty
    kernel."""
    if len(input_shape) != len(weight_shape):
        raise RuntimeError(f"Expected {len(weight_shape)}-dimensional input for "
                           f"{len(weight_shape)}-dimensional weight {_shape_str(weight_shape)}, but "
                           f"got {len(input_shape)}-dimensional input of size "
                           f"{_shape_str(input_shape)} instead")
    if weight_shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {_shape_str(weight_shape)} instead")
    if weight_shape[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{_shape_str(weight_shape)}] "
                           f"instead")
    kernel = tuple(weight_shape[2:])
    if any(k <= 0 for k in kernel):
        if len(kernel) == 3:
            raise RuntimeError("kernel size should be greater than zero, but got: "
                               + " x ".join(str(k) for k in kernel) + " (TxHxW)")
        raise RuntimeError("kernel size should be greater than zero, but got "
                           + _named("kernel", _as_2d(kernel, 1)))


def _check_conv_operands(input_shape, weight_shape, bias_shape, padding, dilation,
                         groups) -> None:
    """A convolution: input channels, bias length, and a kernel that fits the padded input."""
    channels = input_shape[1]
    if channels != weight_shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_str(weight_shape)}, "
                           f"expected input{_shape_str(input_shape)} to have "
                           f"{weight_shape[1] * groups} channels, but got {channels} channels "
                           f"instead")
    if bias_shape is not None and (len(bias_shape) != 1 or bias_shape[0] != weight_shape[0]):
        raise RuntimeError(f"Given weight of size {_shape_str(weight_shape)}, expected bias to "
                           f"be 1-dimensional with {weight_shape[0]} elements, but got bias of "
                           f"size {_shape_str(bias_shape)} instead")
    padded = [s + lo + hi for s, (lo, hi) in zip(input_shape[2:], padding)]
    dilated = [d * (k - 1) + 1 for k, d in zip(weight_shape[2:], dilation)]
    if any(p < k for p, k in zip(padded, dilated)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, dilated))}). Kernel size can't be greater "
                           f"than actual input size")


def _check_conv_transpose_operands(input_shape, weight_shape, bias_shape, stride, padding,
                                   dilation, groups, output_padding) -> None:
    """A transposed convolution: input channels, bias length, output_padding below stride or
    dilation, and a non-empty output."""
    channels = input_shape[1]
    if channels != weight_shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight_shape)}, "
                           f"expected input{_shape_str(input_shape)} to have {weight_shape[0]} "
                           f"channels, but got {channels} channels instead")
    out_channels = weight_shape[1] * groups
    if bias_shape is not None and (len(bias_shape) != 1 or bias_shape[0] != out_channels):
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight_shape)}, "
                           f"expected bias to be 1-dimensional with {out_channels} elements, "
                           f"but got bias of size {_shape_str(bias_shape)} instead")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + _named("output_padding", _as_2d(output_padding, 0))
                           + " " + _named("stride", _as_2d(stride, 1))
                           + " " + _named("dilation", _as_2d(dilation, 1)))
    out = [conv_transpose_output_size(s, k, st, lo, d, op) for s, k, st, (lo, _), d, op
           in zip(input_shape[2:], weight_shape[2:], stride, padding, dilation, output_padding)]
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: "
                           f"({' x '.join(str(s) for s in input_shape[2:])}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, out))}). Output size is "
                           f"too small")


def conv_transpose_output_padding(input_shape, output_size, stride, padding, kernel_size,
                                  dilation, name: str):
    """The output_padding that makes a transposed convolution produce ``output_size``
    (torch/nn/modules/conv.py _ConvTransposeNd._output_padding): output_size may hold the
    spatial sizes or the full shape, and must lie within [min, min + stride - 1] per dim."""
    n = len(kernel_size)
    non_spatial = 2 if len(input_shape) == n + 2 else 1
    output_size = [int(s) for s in output_size]
    if len(output_size) == non_spatial + n:
        output_size = output_size[non_spatial:]
    if len(output_size) != n:
        raise ValueError(f"{name}: for {len(input_shape)}D input, output_size must have {n} or "
                         f"{non_spatial + n} elements (got {len(output_size)})")
    min_sizes = [conv_transpose_output_size(input_shape[non_spatial + i], kernel_size[i],
                                            stride[i], padding[i], dilation[i])
                 for i in range(n)]
    max_sizes = [m + s - 1 for m, s in zip(min_sizes, stride)]
    for size, lo, hi in zip(output_size, min_sizes, max_sizes):
        if size < lo or size > hi:
            # torch prints input.size()[2:], also for an unbatched input (a quirk kept on purpose)
            raise ValueError(f"requested an output size of {tuple(output_size)}, but valid sizes "
                             f"range from {min_sizes} to {max_sizes} (for an input of "
                             f"ember.Size({list(input_shape[2:])}))")
    return tuple(s - m for s, m in zip(output_size, min_sizes))


__all__ += ["conv_transpose_output_size", "same_padding", "conv_padding_pairs", "conv_tuple",
            "check_conv_shapes", "conv_transpose_output_padding"]


# -- pooling: argument checks and output sizes (torch's Pool.h, AdaptivePooling.h,
#    FractionalMaxPool2d.cpp and functional.py _unpool_output_size), with torch's messages ------

def _axis_names(n: int) -> str:
    return "THW"[3 - n:] if n <= 3 else "".join(str(i) for i in range(n))


def _per_axis(prefix: str, values) -> str:
    """``kH: 0 kW: 0``, the way ATen's pool checks print a per-axis argument."""
    return " ".join(f"{prefix}{a}: {v}" for a, v in zip(_axis_names(len(values)), values))


def _c_div(a: int, b: int) -> int:
    """C's integer division, which truncates toward zero: ATen's checks compute in C, and
    ``(kernel - 1) * dilation + 1`` may be negative before the kernel is checked."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def check_pool_output_args(kernel: int, stride: int, pad: int, dilation: int) -> None:
    """One axis's checks in ATen's pooling_output_shape (Pool.h): a pool's first checks of its
    window, made axis by axis before pool2d/3d_shape_check's: a non-zero stride and
    ``0 <= pad <= half the effective kernel`` (a wider pad would make windows of pure padding)."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > _c_div((kernel - 1) * dilation + 1, 2):
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={pad}, kernel_size={kernel} and dilation={dilation}")


def check_pool_window(kernel_size, stride, dilation) -> None:
    """pool2d/3d_shape_check's first checks: positive kernel, stride and dilation, each message
    naming every axis."""
    if any(k <= 0 for k in kernel_size):
        raise RuntimeError(f"kernel size should be greater than zero, but got "
                           f"{_per_axis('k', kernel_size)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got {_per_axis('d', stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got "
                           f"{_per_axis('dilation', dilation)}")


def check_pool_pad_half_kernel(kernel_size, padding) -> None:
    """pool2d/3d_shape_check also bound the pad by half the *undilated* kernel."""
    if any(p > k // 2 for k, p in zip(kernel_size, padding)):
        raise RuntimeError("pad should be smaller than or equal to half of kernel size, but got "
                           + _half_kernel_numbers(kernel_size, padding))


def _half_kernel_numbers(kernel_size, padding) -> str:
    """The numbers of ATen's "pad should be smaller than or equal to half of kernel size" in
    its own order: W before H in 2-d, and a different layout in 3-d (Pool.h)."""
    if len(kernel_size) == 3:
        (kt, kh, kw), (pt, ph, pw) = kernel_size, padding
        return f"kT: {kt} kW: {kw} kH: {kh} padT: {pt} padW: {pw} padH: {ph}"
    (kh, kw), (ph, pw) = kernel_size, padding
    return f"padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}"


def check_pool_args(kernel_size, stride, padding, dilation=None) -> None:
    """The checks of a 2-d or 3-d pooling window that need no input, in ATen's order
    (pooling_output_shape axis by axis, then pool2d/3d_shape_check's); ``pool_shape_check``
    makes them with the input's between."""
    dilation = dilation if dilation is not None else (1,) * len(kernel_size)
    for args in zip(kernel_size, stride, padding, dilation):
        check_pool_output_args(*args)
    check_pool_window(kernel_size, stride, dilation)
    check_pool_pad_half_kernel(kernel_size, padding)


def pool_shape_check(fn_name: str, shape, kernel_size, stride, padding, dilation, ceil_mode,
                     check_input_size: bool = False) -> tuple:
    """A 2-d or 3-d max/avg pool's checks after its rank check, in ATen's order: each axis's
    pooling_output_shape, then pool2d/3d_shape_check (window, input, pad, output size).
    Returns the output's spatial size. A 1-d pool calls it as ATen does, as a 2-d pool over a
    unit H axis (its messages show that axis)."""
    for args in zip(kernel_size, stride, padding, dilation):
        check_pool_output_args(*args)
    check_pool_window(kernel_size, stride, dilation)
    check_pool_nonempty(fn_name, shape, len(kernel_size))
    if check_input_size:
        check_avg_pool3d_input_size(shape, kernel_size)
    check_pool_pad_half_kernel(kernel_size, padding)
    return pool_output_shape(shape, kernel_size, stride, padding, dilation, ceil_mode)


def check_pool_rank(shape, n: int) -> None:
    """The max pools' (and avg_pool3d's) first check of the input, in their meta functions."""
    if len(shape) not in (n + 1, n + 2):
        raise RuntimeError(f"non-empty {n + 1}D or {n + 2}D (batch mode) tensor expected for input")


def check_pool1d_rank(name: str, shape) -> None:
    """ATen's 1-d max (with indices) and avg pools: checkDimRange(self, 2, 4), then a 2-d pool."""
    if len(shape) not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {len(shape)}-dimensional tensor "
                           f"for argument #1 'self' (while checking arguments for {name})")


def check_pool_nonempty(fn_name: str, shape, n: int) -> None:
    """pool2d/3d_shape_check's input check: ``(N, C, *spatial)`` or ``(C, *spatial)``, only the
    batch dim may be empty; 3-d in its own words (its rank was checked before)."""
    shape = tuple(shape)
    if n == 3:
        batched = len(shape) == 5
        for i, size in enumerate(shape):
            if size == 0 and not (batched and i == 0):
                raise RuntimeError(f"{fn_name}: Expected input's non-batch dimensions to have "
                                   f"positive length, but input has a shape of {_shape_str(shape)}"
                                   f" and non-batch dimension {size} has length zero!")
    elif len(shape) not in (n + 1, n + 2) or 0 in shape[-(n + 1):]:
        raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{_shape_str(shape)}")


def check_max_pool1d_input(shape) -> None:
    """max_pool1d without indices checks its input first, with words of its own (MaxPooling.cpp)."""
    shape = tuple(shape)
    if len(shape) not in (2, 3) or 0 in shape[-2:]:
        raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{_shape_str(shape)}")


def check_window_lengths(fn: str, n: int, kernel, stride, padding, dilation=None) -> None:
    """The lengths of a 2-d/3-d pool's int lists, first in ATen's meta functions (avg_pool3d's
    words without "either"); an int counts as one value, a missing stride as none."""
    count, either = {2: "two", 3: "three"}[n], "" if fn == "avg_pool3d" else "either "
    if len(kernel) not in (1, n):
        raise RuntimeError(f"{fn}: kernel_size must {either}be a single int, or a tuple of "
                           f"{count} ints")
    if len(stride) not in (0, 1, n):
        raise RuntimeError(f"{fn}: stride must {either}be omitted, a single int, or a tuple of "
                           f"{count} ints")
    if len(padding) not in (1, n):
        raise RuntimeError(f"{fn}: padding must {either}be a single int, or a tuple of "
                           f"{count} ints")
    if dilation is not None and len(dilation) not in (1, n):
        raise RuntimeError(f"{fn}: dilation must be either a single int, or a tuple of {count} "
                           f"ints")


def check_max_pool1d_lengths(kernel, stride, padding, dilation) -> None:
    """check_max_pool1d's (MaxPooling.h) checks of its lists' lengths."""
    for name, values, what, empty_ok in (
            ("kernel_size", kernel, "an int, list of ints or tuple of ints", False),
            ("stride", stride, "None, an int, list of ints, or tuple of ints", True),
            ("padding", padding, "an int, list of ints, or tuple of ints", False),
            ("dilation", dilation, "an int, list of ints or tuple of ints", False)):
        if len(values) != 1 and not (empty_ok and not values):
            raise RuntimeError(f"max_pool1d() {name} must be {what} of size 1 but got size "
                               f"{len(values)}")


def check_max_pool1d_args(kernel_size, stride, padding, dilation) -> None:
    """max_pool1d without indices has checks of its own in ATen (MaxPooling.h's
    check_max_pool1d), in this order and with these words."""
    (k,), (s,), (p,), (d,) = kernel_size, stride, padding, dilation
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")


def check_max_pool1d_output(in_size: int, kernel, stride, padding, dilation, ceil_mode) -> int:
    out = pool_output_size(in_size, kernel, stride, padding, dilation, ceil_mode)
    if out <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")
    return out


def check_avg_pool3d_input_size(shape, kernel_size) -> None:
    """ATen's avg_pool3d (alone among the pools) refuses an input smaller than the kernel even
    where the padding would make room for a window (pool3d_shape_check's check_input_size)."""
    (t, h, w), (kt, kh, kw) = tuple(shape)[-3:], kernel_size
    if t < kt or h < kh or w < kw:
        raise RuntimeError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size "
                           f"(kT: {kt} kH: {kh} kW: {kw})")


def pool_output_shape(shape, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """Spatial output size of max/avg/LP pooling for an input of ``shape`` (its last
    ``len(kernel_size)`` dims are spatial); raises as torch if a size falls below 1."""
    n = len(kernel_size)
    spatial = tuple(shape)[-n:]
    out = tuple(pool_output_size(i, k, s, p, d, ceil_mode)
                for i, k, s, p, d in zip(spatial, kernel_size, stride, padding, dilation))
    if any(o < 1 for o in out):
        planes = tuple(shape)[-n - 1]
        given = "x".join(str(v) for v in (planes, *spatial))
        calc = "x".join(str(v) for v in (planes, *out))
        raise RuntimeError(f"Given input size: ({given}). Calculated output size: ({calc}). "
                           "Output size is too small")
    return out


def list_with_default(output_size, shape):
    """torch.nn.functional's _list_with_default: an int passes as it is; a sequence's ``None``
    entries take the input's sizes, and the input must have more dims than it has entries."""
    if hasattr(output_size, "__index__"):
        return output_size
    if not isinstance(output_size, collections.abc.Sized):
        raise TypeError(f"object of type '{type(output_size).__name__}' has no len()")
    sizes, shape = tuple(output_size), tuple(shape)
    if len(shape) <= len(sizes):
        raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
    return tuple(d if v is None else v for v, d in zip(sizes, shape[len(shape) - len(sizes):]))


def adaptive_sizes(output_size, n: int) -> tuple:
    """``output_size`` as ATen receives it: an int repeated n times, a sequence as it is."""
    if isinstance(output_size, collections.abc.Iterable) and not isinstance(output_size, str):
        return tuple(_as_int(v, "output_size") for v in output_size)
    return (_as_int(output_size, "output_size"),) * n


def check1d(name: str, argument: str, values) -> None:
    """ATen's check1d for its 1-d pools' int-list arguments."""
    if len(values) != 1:
        raise RuntimeError(f"{name}() argument '{argument}' should contain one int "
                           f"(got {len(values)})")


def check_adaptive_avg_sizes(name: str, sizes, n: int) -> None:
    """adaptive_avg_pool2d/3d's first checks (AdaptiveAveragePooling.cpp / 3d.cpp), 3-d's
    message with one space fewer."""
    if len(sizes) != n:
        raise RuntimeError(f"{name}: output_size must be {n}")
    if any(v < 0 for v in sizes):
        listed = ", ".join(map(str, sizes)) if n == 2 else f"{sizes[0]}, {sizes[1]},{sizes[2]}"
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{listed}}}")


def check_adaptive_input(name: str, shape, n: int, spatial_only: bool = False,
                         colon: bool = True) -> None:
    """The adaptive pools' input checks (AdaptiveMaxPooling2d/3d.cpp's meta functions,
    AdaptiveAveragePooling(3d).cpp's templates): rank n+1 or n+2, then no empty non-batch dim
    (adaptive_avg_pool2d looks at the spatial dims only)."""
    shape, ndim = tuple(shape), len(shape)
    if ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got"
                           f"{':' if colon else ''} {_shape_str(shape)}")
    first = ndim - n if spatial_only else ndim - n - 1
    for dim in range(first, ndim):
        if shape[dim] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {_shape_str(shape)} with "
                               f"dimension {dim} being empty")


def check_adaptive_max_sizes(name: str, sizes, n: int, shape) -> None:
    """adaptive_max_pool2d/3d check the length of output_size only; a negative size fails
    when the output is allocated."""
    if len(sizes) != n:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be {n}")
    full = (*tuple(shape)[:len(shape) - n], *sizes)
    negative = [v for v in full if v < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: "
                           f"{_shape_str(full)}")


def unpool_output_shape(shape, kernel_size, stride, padding, output_size=None) -> tuple:
    """Spatial output size of max-unpooling (torch.nn.functional._unpool_output_size, which
    runs in Python before ATen checks the input: its errors come first, in its words).

    Default: ``(in - 1)*stride - 2*padding + kernel``, the size MaxPool read. ``output_size``
    (n or n+2 entries) may pick any size strictly within one stride of it, which is how a
    MaxPool that dropped a remainder is inverted exactly (pytorch#580, #38640).
    """
    n, shape = len(kernel_size), tuple(shape)
    if len(shape) < n:
        raise IndexError("tuple index out of range")  # input.size()[-n + d]
    default = [(i - 1) * s + k - 2 * p
               for i, k, s, p in zip(shape[-n:], kernel_size, stride, padding)]
    if output_size is None:
        sizes = default
    else:
        if len(output_size) == n + 2:
            output_size = output_size[2:]
        if len(output_size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        sizes = [_as_int(v, "output_size") for v in output_size]
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < sizes[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be '
                                 f"between {low} and {high})")
    for d, v in enumerate(sizes):
        if v < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={v}")
    return tuple(sizes)


def check_max_unpool(n: int, shape, indices_shape, indices_dtype: str, stride) -> None:
    """ATen's max_unpooling2d_forward_out_cpu / max_unpooling3d_shape_check, in their order and
    words (2-d takes no stride; 3-d checks it last). Non-batch dims count from dim 1, also for
    an unbatched input (ATen's loop)."""
    shape, indices_shape = tuple(shape), tuple(indices_shape)
    if indices_dtype != "Long":
        raise RuntimeError("elements in indices should be type int64"
                           + (f" but got: {indices_dtype}" if n == 2 else ""))
    if len(shape) not in (n + 1, n + 2):
        raise RuntimeError(f"Input to max_unpooling{n}d should be a {n + 1}d or {n + 2}d Tensor, "
                           f"but got a tensor with {len(shape)} dimensions.")
    if shape != indices_shape:
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor "
                           f"({_shape_str(shape)}) but got indices tensor with shape: "
                           f"{_shape_str(indices_shape)}")
    for dim in range(1, len(shape)):
        if shape[dim] == 0:
            raise RuntimeError(f"max_unpooling{n}d_forward_out_cpu(): Expected input to have "
                               f"non-zero size for non-batch dimensions, but got "
                               f"{_shape_str(shape)} with dimension {dim} being empty.")
    if n == 3 and any(s <= 0 for s in stride):
        raise RuntimeError(f"strides should be greater than zero, but got stride: {list(stride)}")


def fractional_output_size(name: str, shape, n: int, output_size=None,
                           output_ratio=None) -> tuple:
    """The output size functional.py hands ATen's fractional max pool: ``output_size`` (an
    int: n times), or ``int(in * output_ratio)``, read with ``input.size`` (an IndexError
    where the input lacks the dim). Its 2-d version takes ``len(output_ratio)`` first, so a
    bare float fails there, as in torch (the modules pass tuples)."""
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        return adaptive_sizes(output_size, n)
    ratio = _ratio_tuple(name, output_ratio, n)
    for dim in range(-n, 0):
        check_has_dim(shape, dim)
    return tuple(int(i * r) for i, r in zip(tuple(shape)[-n:], ratio))


def _ratio_tuple(name: str, ratio, n: int) -> tuple:
    """output_ratio as functional.py reads it: through _pair/_triple, then index by index."""
    if n == 2:
        if not isinstance(ratio, collections.abc.Sized):
            raise TypeError(f"object of type '{type(ratio).__name__}' has no len()")
        if len(ratio) > 2:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple "
                             f"of Ints.")
    values = tuple(ratio) if isinstance(ratio, collections.abc.Iterable) else (ratio,) * n
    if len(values) < n:
        raise IndexError("tuple index out of range")
    return tuple(float(r) for r in values[:n])


def check_fractional_shape(name: str, shape, kernel_size, sizes) -> None:
    """ATen's fractional_max_pool2d meta / fractional_max_pool3d_out_cpu_template checks, in
    their order and words: the input, then each window: ``out + k - 1 <= in`` (3-d: ``<``);
    a negative size fails at the allocation."""
    n, shape = len(kernel_size), tuple(shape)
    fn = f"{name}()" if n == 2 else f"{name}_out()"
    if len(sizes) != n:
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of "
                           + ("Ints" if n == 2 else "three Ints"))
    if len(shape) not in (n + 1, n + 2):
        raise RuntimeError(f"{fn}: Expected {n + 1}D or {n + 2}D tensor, but got: "
                           f"{_shape_str(shape)}")
    for dim in range(1, len(shape)):
        if shape[dim] == 0:
            raise RuntimeError(f"{fn}: Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{_shape_str(shape)} with dimension {dim} "
                               f"being empty.")
    # 3-d checks time, width, height, strictly, and refuses a window wider than the input
    # whatever the (even negative) output size (seen in torch 2.13)
    names = ("height", "width") if n == 2 else ("time", "height", "width")
    for d in ((0, 1) if n == 2 else (0, 2, 1)):
        i, o, k = shape[d - n], sizes[d], kernel_size[d]
        if o + k - 1 > i or n == 3 and (o + k - 1 == i or k > i):
            raise RuntimeError(f"{fn}: pool {names[d]} {k} too large relative to input "
                               f"{names[d]} {i}")
    full = (*shape[:-n], *sizes)
    negative = [v for v in full if v < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: "
                           f"{_shape_str(full)}")


def check_has_dim(shape, dim: int) -> None:
    """``input.size(dim)`` in ATen: an IndexError, in its words, where the dim is missing."""
    ndim = len(shape)
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")


__all__ += ["check_pool_args", "pool_shape_check", "pool_output_shape", "check_window_lengths",
            "check_has_dim", "list_with_default", "adaptive_sizes", "check_adaptive_avg_sizes",
            "check_adaptive_input", "check_adaptive_max_sizes", "unpool_output_shape",
            "check_max_unpool", "fractional_output_size", "check_fractional_shape"]


# -- unfold / fold: argument checks and the grid of sliding blocks (ATen Im2Col.cpp /
#    Col2Im.cpp, im2col_shape_check / col2im_shape_check), 2-d only as in torch ---------------

def fold_pair(value, name: str) -> tuple:
    """An int or a 2-sequence as a pair of ints, with ATen's message for any other length."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
        return tuple(_as_int(v, name) for v in value)
    return (_as_int(value, name),) * 2


def fold_args(kernel_size, dilation, padding, stride) -> tuple:
    """The four arguments of unfold/fold as pairs, each checked as ATen's im2col/col2im do."""
    args = tuple(fold_pair(v, name) for v, name in zip(
        (kernel_size, dilation, padding, stride), ("kernel_size", "dilation", "padding", "stride")))
    _check_fold_args(*args)
    return args


def _check_fold_args(kernel_size, dilation, padding, stride) -> None:
    """Positive kernel, stride and dilation, non-negative padding; ATen's messages."""
    if any(k <= 0 for k in kernel_size):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kernel_size[0]} kernel_width: {kernel_size[1]}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{stride[0]} stride_width: {stride[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dilation[0]} dilation_width: {dilation[1]}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")


def _fold_blocks(spatial, kernel_size, dilation, padding, stride) -> tuple:
    """How many block positions fit along each of the two spatial dims."""
    return tuple(conv_output_size(*a) for a in zip(spatial, kernel_size, stride, padding,
                                                   dilation))


def check_unfold_input(shape, kernel_size, dilation, padding, stride) -> None:
    """An unfold input: 3-d or 4-d, only the batch may be empty, at least one block fits."""
    if len(shape) not in (3, 4) or any(s == 0 for s in shape[-3:]):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(shape)}")
    spatial = tuple(shape[-2:])
    blocks = _fold_blocks(spatial, kernel_size, dilation, padding, stride)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given input with spatial size {spatial}, kernel_size={kernel_size}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the array "
                           f"of sliding blocks as {blocks}, but its components must be at least "
                           f"one.")


def check_fold_input(shape, output_size, kernel_size, dilation, padding, stride) -> None:
    """A fold input: 2-d or 3-d, only the batch may be empty, ``C*kH*kW`` rows and one column
    per block position of ``output_size``."""
    if len(shape) not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                           f"size and non-zero dimensions for input, but got: {list(shape)}")
    channels_k, length = shape[-2], shape[-1]
    if channels_k % (kernel_size[0] * kernel_size[1]) != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={channels_k} and "
                           f"kernel_size={kernel_size}.")
    blocks = _fold_blocks(output_size, kernel_size, dilation, padding, stride)
    if blocks[0] * blocks[1] != length or any(b < 1 for b in blocks):
        blocks = tuple(max(b, 0) for b in blocks)
        raise RuntimeError(f"Given output_size={output_size}, kernel_size={kernel_size}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           f"size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, "
                           f"but got input.size(2)={length}.")


__all__ += ["fold_pair", "fold_args", "check_unfold_input", "check_fold_input"]


# -- F.pad: torch's argument rules (PadNd.cpp _pad_enum); the pads against the input's sizes
#    are checked by _kernels.pad.check_pad, which conv's padding_mode shares -----------------

def pad_ints(pad) -> tuple:
    """``pad`` as a tuple of Python ints; torch's TypeError names the first element that is
    not an int (bool included)."""
    pads = tuple(pad)
    for i, p in enumerate(pads):
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                            f"element of type {type(p).__name__} at pos {i}")
    return tuple(int(p) for p in pads)


def non_constant_pad_dims(shape, pads, mode: str, value) -> int:
    """How many trailing dims reflect/replicate/circular padding pads (1, 2 or 3), after
    checking that no fill value is given and that the input has that many dims plus an
    optional batch and channel."""
    ndim = len(shape)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(pads) // 2
    if n not in (1, 2, 3) or ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode in ("reflect", "replicate"):
        # ATen's reflection/replication kernels allow an empty batch, nothing else empty
        rest = shape[1:] if ndim == n + 2 else shape
        if any(s == 0 for s in rest):
            raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 "
                               "batch size and other non-zero dimensions for input, but got: "
                               f"{list(shape)}")
    return n


__all__ += ["pad_ints", "non_constant_pad_dims"]
