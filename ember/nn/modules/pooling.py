"""Pooling layers, as torch.nn's: one N-d base per family holds the options and the repr; the
1d/2d/3d classes only pick the functional of their rank (``_pool``). All the computing is in
``ember.nn.functional.pooling``; constructor arguments, their order, defaults, stored values and
reprs are torch's (torch/nn/modules/pooling.py)."""
from __future__ import annotations

from .. import functional as F
from .._shapes import _pair, _single, _triple
from .module import Module

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "FractionalMaxPool2d", "FractionalMaxPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
]


class _MaxPoolNd(Module):
    """Max pooling: ``out = max over each window`` (see ``F.max_pool2d``). Note the argument
    order: ``return_indices`` before ``ceil_mode`` here, the reverse of ``F.max_pool2d``."""

    _pool = None  # F.max_pool{1,2,3}d, set by the subclass

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling over ``(N, C, L)`` or ``(C, L)``.

    ``L_out = floor((L + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1`` (ceil with
    ``ceil_mode``, dropping a last window that would start in the right padding).
    """

    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    ``H_out = floor((H + 2*padding[0] - dilation[0]*(kernel_size[0]-1) - 1) / stride[0]) + 1``,
    likewise W. ``return_indices=True`` also returns the argmax offsets for ``MaxUnpool2d``.

    >>> ember.nn.MaxPool2d(2)(ember.randn(1, 3, 512, 512)).shape
    ember.Size([1, 3, 256, 256])
    """

    _pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``. See ``MaxPool2d``."""

    _pool = staticmethod(F.max_pool3d)


class _MaxUnpoolNd(Module):
    """Partial inverse of max pooling: ``forward(input, indices, output_size=None)`` puts each
    value at its index in a zero output (see ``F.max_unpool2d``)."""

    _unpool = None
    _tuple = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        ntuple = type(self)._tuple
        self.kernel_size = ntuple(kernel_size)
        self.stride = ntuple(stride if stride is not None else kernel_size)
        self.padding = ntuple(padding)

    def forward(self, input, indices, output_size=None):
        return self._unpool(input, indices, self.kernel_size, self.stride, self.padding,
                                  output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Inverse of ``MaxPool1d``: ``L_out = (L_in - 1)*stride - 2*padding + kernel_size``."""

    _unpool = staticmethod(F.max_unpool1d)
    _tuple = staticmethod(_single)


class MaxUnpool2d(_MaxUnpoolNd):
    """Inverse of ``MaxPool2d``: ``H_out = (H_in - 1)*stride[0] - 2*padding[0] + kernel_size[0]``,
    likewise W, or ``output_size``.

    >>> pool, unpool = ember.nn.MaxPool2d(2, return_indices=True), ember.nn.MaxUnpool2d(2)
    >>> x = ember.tensor([[[[1., 2], [3, 4]]]])
    >>> unpool(*pool(x))
    tensor([[[[0., 0.],
              [0., 4.]]]])
    """

    _unpool = staticmethod(F.max_unpool2d)
    _tuple = staticmethod(_pair)


class MaxUnpool3d(_MaxUnpoolNd):
    """Inverse of ``MaxPool3d``. See ``MaxUnpool2d``."""

    _unpool = staticmethod(F.max_unpool3d)
    _tuple = staticmethod(_triple)


class _AvgPoolNd(Module):
    """Average pooling (see ``F.avg_pool2d`` for the divisor rules)."""

    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-d average pooling over ``(N, C, L)`` or ``(C, L)``; no ``divisor_override`` argument, as
    torch (which also stores its arguments as 1-tuples)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        stride = stride if stride is not None else kernel_size
        super().__init__(_single(kernel_size), _single(stride), _single(padding), ceil_mode,
                         count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-d average pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    >>> ember.nn.AvgPool2d((2, 2), stride=(2, 2), divisor_override=3)(ember.ones(1, 1, 4, 4))
    tensor([[[[1.3333, 1.3333],
              [1.3333, 1.3333]]]])
    """

    _pool = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-d average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    _pool = staticmethod(F.avg_pool3d)


class _FractionalMaxPoolNd(Module):
    """Fractional max pooling (see ``F.fractional_max_pool2d``); ``_random_samples`` is a buffer
    that, when given, fixes the pseudo-random windows."""

    _pool = None
    _tuple = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        ntuple, name = type(self)._tuple, type(self).__name__
        if any(k <= 0 for k in ((kernel_size,) if isinstance(kernel_size, int) else kernel_size)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = ntuple(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = ntuple(output_size) if output_size is not None else None
        self.output_ratio = _ratios(output_ratio, len(self.kernel_size))
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             "ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return self._pool(input, self.kernel_size, self.output_size, self.output_ratio,
                                self.return_indices, _random_samples=self._random_samples)


def _ratios(ratio, n):
    if ratio is None:
        return None
    ratio = tuple(ratio) if isinstance(ratio, (tuple, list)) else (ratio,)
    return ratio * n if len(ratio) == 1 else ratio


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-d fractional max pooling (Graham, arXiv:1412.6071) over ``(N, C, H, W)`` or
    ``(C, H, W)``: ``kernel_size`` windows at pseudo-random steps, drawn per (sample, channel)
    from ember's default generator, to reach ``output_size`` or ``output_ratio * input size``."""

    _pool = staticmethod(F.fractional_max_pool2d)
    _tuple = staticmethod(_pair)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-d fractional max pooling. See ``FractionalMaxPool2d``."""

    _pool = staticmethod(F.fractional_max_pool3d)
    _tuple = staticmethod(_triple)


class _LPPoolNd(Module):
    """Power-average pooling ``(sum over window of x^p)^(1/p)`` (see ``F.lp_pool2d``)."""

    _pool = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._pool(input, float(self.norm_type), self.kernel_size, self.stride,
                                self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-d power-average pooling over ``(N, C, L)`` or ``(C, L)``."""

    _pool = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-d power-average pooling over ``(N, C, H, W)`` or ``(C, H, W)``."""

    _pool = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-d power-average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    _pool = staticmethod(F.lp_pool3d)


class _AdaptiveMaxPoolNd(Module):
    """Adaptive max pooling to a fixed ``output_size`` (``None`` entries keep the input's)."""

    _pool = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return self._pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-d adaptive max pooling."""

    _pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-d adaptive max pooling: bin i covers ``[floor(i*in/out), ceil((i+1)*in/out))``."""

    _pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-d adaptive max pooling."""

    _pool = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    """Adaptive average pooling to a fixed ``output_size`` (``None`` entries keep the input's)."""

    _pool = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-d adaptive average pooling."""

    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-d adaptive average pooling; ``AdaptiveAvgPool2d(1)`` is global average pooling
    (``(N, C, H, W) -> (N, C, 1, 1)``), the head of ResNet-style networks."""

    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-d adaptive average pooling."""

    _pool = staticmethod(F.adaptive_avg_pool3d)
