"""Every output-size formula and shape-argument check of ember's layers, in one place.

Convolution, transposed convolution, pooling (with ceil_mode), unpooling and adaptive pooling
all compute their output sizes here, so the layers, the explain tools and the tests agree.
The formulas follow PyTorch's ATen (aten/src/ATen/native/ConvUtils.h, Pool.h,
AdaptivePooling.h); each function says which one it mirrors.
"""
from __future__ import annotations

import collections.abc


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


__all__ = ["_ntuple", "_single", "_pair", "_triple", "conv_output_size", "pool_output_size",
           "adaptive_bins", "product"]


# -- pooling: argument checks and output sizes (torch's Pool.h, AdaptivePooling.h,
#    FractionalMaxPool2d.cpp and functional.py _unpool_output_size), with torch's messages ------

def _axis_names(n: int) -> str:
    return "THW"[3 - n:] if n <= 3 else "".join(str(i) for i in range(n))


def _per_axis(prefix: str, values) -> str:
    """``kH: 0 kW: 0``, the way ATen's pool checks print a per-axis argument."""
    return " ".join(f"{prefix}{a}: {v}" for a, v in zip(_axis_names(len(values)), values))


def check_pool_args(kernel_size, stride, padding, dilation=None) -> None:
    """Validate pooling hyper-parameters (n-tuples) as ATen's pool2d/3d_shape_check and
    pooling_output_shape do: positive kernel, stride and dilation; ``0 <= pad <= half the
    effective kernel`` (a wider pad would make windows of pure padding)."""
    dilation = dilation if dilation is not None else (1,) * len(kernel_size)
    if any(k <= 0 for k in kernel_size):
        raise RuntimeError(f"kernel size should be greater than zero, but got "
                           f"{_per_axis('k', kernel_size)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got {_per_axis('d', stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got "
                           f"{_per_axis('dilation', dilation)}")
    for k, p, d in zip(kernel_size, padding, dilation):
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")


def check_pool_input(name: str, shape, n: int) -> None:
    """A pooling input is ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` with n spatial
    dims; only the batch dim may be empty (ATen's shape checks)."""
    if len(shape) not in (n + 1, n + 2) or 0 in tuple(shape)[-(n + 1):]:
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got: {list(shape)}")


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


def adaptive_output_shape(name: str, output_size, shape, n: int) -> tuple:
    """Adaptive pooling's target size: an int or n entries, where ``None`` keeps the input's
    size (torch's _list_with_default); entries must be >= 0 (0 gives an empty output)."""
    spatial = tuple(shape)[-n:]
    if isinstance(output_size, collections.abc.Iterable) and not isinstance(output_size, str):
        sizes = tuple(output_size)
        if len(sizes) != n:
            raise RuntimeError(f"{name}: output_size must be {n}")
        sizes = tuple(i if v is None else _as_int(v, "output_size") for v, i in zip(sizes, spatial))
    else:
        if output_size is None:
            return spatial
        sizes = (_as_int(output_size, "output_size"),) * n
    if any(v < 0 for v in sizes):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(str(v) for v in sizes)}}}")
    return sizes


def unpool_output_shape(shape, kernel_size, stride, padding, output_size=None) -> tuple:
    """Spatial output size of max-unpooling (torch.nn.functional._unpool_output_size).

    Default: ``(in - 1)*stride - 2*padding + kernel``, the size MaxPool read. ``output_size``
    (n or n+2 entries) may pick any size strictly within one stride of it, which is how a
    MaxPool that dropped a remainder is inverted exactly (pytorch#580, #38640).
    """
    n = len(kernel_size)
    spatial = tuple(shape)[-n:]
    default = [(i - 1) * s + k - 2 * p for i, k, s, p in zip(spatial, kernel_size, stride, padding)]
    if output_size is None:
        sizes = default
    else:
        sizes = [_as_int(v, "output_size") for v in output_size]
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(sizes)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < sizes[d] < high:
                raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                                 f"between {low} and {high})")
    for d, v in enumerate(sizes):
        if v < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={v}")
    return tuple(sizes)


def fractional_output_shape(name: str, shape, kernel_size, output_size=None,
                            output_ratio=None) -> tuple:
    """Output size of fractional max pooling: ``output_size``, or ``int(in * output_ratio)``;
    each window (pool size k) must fit: ``out + k - 1 <= in`` (FractionalMaxPool2d.cpp)."""
    n = len(kernel_size)
    spatial = tuple(shape)[-n:]
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if any(k <= 0 for k in kernel_size):
        raise ValueError(f"kernel_size must be greater than 0, but got {tuple(kernel_size)}")
    if output_size is None:
        ratio = _ratio_tuple(output_ratio, n)
        sizes = tuple(int(i * r) for i, r in zip(spatial, ratio))
    else:
        sizes = _ntuple(n, "output_size")(output_size)
    axis = {1: ("width",), 2: ("height", "width"), 3: ("time", "height", "width")}[n]
    for a, i, o, k in zip(axis, spatial, sizes, kernel_size):
        if o < 0:
            raise RuntimeError(f"{name}(): output_size must be non-negative, but got {sizes}")
        if o + k - 1 > i:
            raise RuntimeError(f"{name}(): pool {a} {k} too large relative to input {a} {i}")
    return sizes


def _ratio_tuple(ratio, n: int) -> tuple:
    """An n-tuple of floats from a float or a sequence (output_ratio of fractional pooling)."""
    if isinstance(ratio, collections.abc.Iterable):
        values = tuple(float(r) for r in ratio)
        if len(values) == 1:
            values *= n
        if len(values) != n:
            raise ValueError(f"output_ratio must be a float or a sequence of {n} floats, "
                             f"but got {ratio!r}")
        return values
    return (float(ratio),) * n


__all__ += ["check_pool_args", "check_pool_input", "pool_output_shape", "adaptive_output_shape",
            "unpool_output_shape", "fractional_output_shape"]
