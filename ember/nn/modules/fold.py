"""Unfold and Fold, as torch.nn's (torch/nn/modules/fold.py): im2col / col2im as layers.
The computing is ``F.unfold`` / ``F.fold``; arguments are stored as given, as in torch."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Unfold", "Fold"]


class Fold(Module):
    r"""Combine an array of sliding local blocks into a tensor, summing overlaps (col2im):
    ``(N, C*prod(kernel_size), L) -> (N, C, *output_size)``. The adjoint of :class:`Unfold`.

    >>> import ember
    >>> ember.nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(ember.ones(1, 12, 12)).shape
    ember.Size([1, 3, 4, 5])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return ("output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, "
                "padding={padding}, stride={stride}".format(**self.__dict__))


class Unfold(Module):
    r"""Extract sliding local blocks (im2col): ``(N, C, H, W) -> (N, C*prod(kernel_size), L)``
    with L = prod over dims of ``floor((size + 2*padding - dilation*(kernel_size-1) - 1) /
    stride) + 1``. A convolution is ``weight.view(O, -1) @ Unfold(k)(x)``.

    >>> import ember
    >>> ember.nn.Unfold(kernel_size=(2, 3))(ember.ones(2, 5, 3, 4)).shape
    ember.Size([2, 30, 4])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return ("kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
                "stride={stride}".format(**self.__dict__))
