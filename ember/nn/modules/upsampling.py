"""Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, as torch.nn.modules.upsampling: options
only; the computing is ``F.interpolate`` (ember/nn/functional/vision.py)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize (N, C, W), (N, C, H, W) or (N, C, D, H, W) to ``size`` or by ``scale_factor``
    (output ``floor(in * scale_factor)`` per dim) with ``mode`` 'nearest', 'nearest-exact',
    'linear', 'bilinear', 'bicubic', 'trilinear' or 'area'; see ``F.interpolate``.

    >>> m = nn.Upsample(scale_factor=2, mode='nearest')
    >>> m(ember.arange(1., 5.).view(1, 1, 2, 2)).shape
    ember.Size([1, 1, 4, 4])
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name",
                     "recompute_scale_factor"]

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:  # torch's: a falsy factor (0, 0.0) is stored as None
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)


class UpsamplingNearest2d(Upsample):
    """Deprecated: ``Upsample(size, scale_factor, mode='nearest')`` for 4-d input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Deprecated: ``Upsample(size, scale_factor, mode='bilinear', align_corners=True)``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
