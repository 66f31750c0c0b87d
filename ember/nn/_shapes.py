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
