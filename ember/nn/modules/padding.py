"""Padding layers (torch.nn.modules.padding): ZeroPad, ConstantPad, ReflectionPad, ReplicationPad
and CircularPad in 1, 2 and 3 dims. Each holds its padding in F.pad order (left, right, top,
bottom, front, back) and calls F.pad; the N-d classes differ only in N."""
from __future__ import annotations

from .. import functional as F
from .._shapes import _ntuple
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
    "ZeroPad3d",
]


class _PadNd(Module):
    """``padding``: an int (every side) or 2*N ints. Subclasses set ``n`` (spatial dims) and
    ``mode``."""
    n: int = 1
    mode: str = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(2 * self.n, "padding")(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):
        if input.dim() not in (self.n + 1, self.n + 2):
            raise ValueError(f"expected {self.n + 1}D or {self.n + 2}D input (got {input.dim()}D "
                             "input)")
        return F.pad(input, self.padding, "circular")


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ReflectionPadNd(_PadNd):
    mode = "reflect"


class _ReplicationPadNd(_PadNd):
    mode = "replicate"


class CircularPad1d(_CircularPadNd):
    r"""Pads (C, W) / (N, C, W) inputs by wrapping around: the end pads the start and vice versa.
    Pads must be <= the input size."""
    n = 1


class CircularPad2d(_CircularPadNd):
    r"""Circular padding of (C, H, W) / (N, C, H, W) inputs; padding (left, right, top, bottom)."""
    n = 2


class CircularPad3d(_CircularPadNd):
    r"""Circular padding of (C, D, H, W) / (N, C, D, H, W) inputs."""
    n = 3


class ConstantPad1d(_ConstantPadNd):
    r"""Pads the last dim with ``value``: W_out = W_in + left + right."""
    n = 1


class ConstantPad2d(_ConstantPadNd):
    r"""Pads the last two dims with ``value``; padding (left, right, top, bottom)."""
    n = 2


class ConstantPad3d(_ConstantPadNd):
    r"""Pads the last three dims with ``value``."""
    n = 3


class ZeroPad1d(_ZeroPadNd):
    r"""Pads the last dim with zeros."""
    n = 1


class ZeroPad2d(_ZeroPadNd):
    r"""Pads the last two dims with zeros; padding (left, right, top, bottom).

    >>> import ember
    >>> ember.nn.ZeroPad2d((1, 0, 0, 1))(ember.ones(1, 1, 1, 1))
    tensor([[[[0., 1.],
              [0., 0.]]]])
    """
    n = 2


class ZeroPad3d(_ZeroPadNd):
    r"""Pads the last three dims with zeros."""
    n = 3


class ReflectionPad1d(_ReflectionPadNd):
    r"""Mirrors the input at its edges without repeating the edge: [0 1 2 3] with (2, 1) gives
    [2 1 0 1 2 3 2]. Each pad must be smaller than the input size."""
    n = 1


class ReflectionPad2d(_ReflectionPadNd):
    r"""Reflection padding of the last two dims; padding (left, right, top, bottom)."""
    n = 2


class ReflectionPad3d(_ReflectionPadNd):
    r"""Reflection padding of the last three dims."""
    n = 3


class ReplicationPad1d(_ReplicationPadNd):
    r"""Repeats the edge value: [0 1 2 3] with (2, 1) gives [0 0 0 1 2 3 3]."""
    n = 1


class ReplicationPad2d(_ReplicationPadNd):
    r"""Replication padding of the last two dims; padding (left, right, top, bottom)."""
    n = 2


class ReplicationPad3d(_ReplicationPadNd):
    r"""Replication padding of the last three dims."""
    n = 3
