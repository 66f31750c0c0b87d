"""Convolution layers, as torch.nn's (torch/nn/modules/conv.py): Conv1d/2d/3d and
ConvTranspose1d/2d/3d.

``_ConvNd`` holds the options and the parameters and draws their initial values; the six
classes only fix the number of spatial dims and pick the functional. The computing is in
``ember.nn.functional.conv``. Constructor arguments, their order (transposed: ``groups`` before
``dilation``), defaults, stored attributes and ``repr`` are torch's.
"""
from __future__ import annotations

import math

from ... import empty
from ...autograd.grad_mode import no_grad
from .. import functional as F
from .. import init
from .._shapes import _ntuple_as_given, conv_transpose_output_padding, same_padding
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _reversed_padding(padding, kernel_size, dilation):
    """F.pad's argument for the non-zero padding modes: (left, right) per spatial dim, last dim
    first; 'same' puts the odd element on the right, as F.conv's 'same' does."""
    if padding == "same":
        # one pair per kernel dim, as torch's zip(dilation, kernel_size, ...) leaves the dims
        # that a shorter dilation does not reach unpadded
        pairs = same_padding(kernel_size, dilation)
        pairs += ((0, 0),) * (len(kernel_size) - len(pairs))
    elif padding == "valid":
        pairs = ((0, 0),) * len(kernel_size)
    else:
        pairs = tuple((p, p) for p in padding)
    return [p for pair in reversed(pairs) for p in pair]


class _ConvNd(Module):
    """Options, parameters and initialisation shared by every convolution layer.

    ``weight``: (out_channels, in_channels/groups, *kernel_size), transposed
    (in_channels, out_channels/groups, *kernel_size); ``bias``: (out_channels,). Both start
    as torch's: ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), with
    fan_in = weight.size(1) * prod(kernel_size) (for a transposed layer that is
    out_channels/groups, as torch computes it from the weight's shape).
    """

    _n = 0  # number of spatial dims, set by the subclasses

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{valid_padding_strings}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(f"padding_mode must be one of {valid_padding_modes}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _reversed_padding(padding, kernel_size, dilation)
        factory_kwargs = {"device": device, "dtype": dtype}
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(empty(shape, **factory_kwargs))
        if bias:
            self.bias = Parameter(empty(out_channels, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with no_grad():
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class _Conv(_ConvNd):
    """Conv1d/2d/3d: the constructor of torch's ConvNd classes, and the forward."""

    _conv = None  # F.conv{1,2,3}d, set by the subclass

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        ntuple = _ntuple_as_given(self._n)
        super().__init__(in_channels, out_channels, ntuple(kernel_size), ntuple(stride),
                         padding if isinstance(padding, str) else ntuple(padding),
                         ntuple(dilation), False, ntuple(0), groups, bias, padding_mode,
                         device=device, dtype=dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return self._conv(F.pad(input, self._reversed_padding_repeated_twice,
                                    mode=self.padding_mode),
                              weight, bias, self.stride, (0,) * self._n, self.dilation, self.groups)
        return self._conv(input, weight, bias, self.stride, self.padding, self.dilation,
                          self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    r"""1-d convolution over ``(N, C_in, L)`` or ``(C_in, L)``:

    .. math:: \text{out}(N_i, C_{out_j}) = \text{bias}(C_{out_j}) +
              \sum_{k=0}^{C_{in}/g - 1} \text{weight}(C_{out_j}, k) \star \text{input}(N_i, k)

    (:math:`\star` the valid cross-correlation), ``L_out = floor((L + 2*padding -
    dilation*(kernel_size-1) - 1) / stride) + 1``. ``padding`` may be ``'valid'`` or ``'same'``;
    ``padding_mode`` ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    >>> import ember
    >>> ember.nn.Conv1d(64, 64, 3, padding=1)(ember.randn(32, 64, 1024)).shape
    ember.Size([32, 64, 1024])
    """

    _n = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    r"""2-d convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)``: see :class:`Conv1d`, per
    spatial dim. The tutorial's figure:

    >>> import ember
    >>> conv = ember.nn.Conv2d(3, 1, 3)
    >>> conv.weight.shape, conv(ember.randn(1, 3, 512, 512)).shape
    (ember.Size([1, 3, 3, 3]), ember.Size([1, 1, 510, 510]))
    >>> ember.nn.Conv2d(3, 16, 3, padding=1)
    Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    _n = 2
    _conv = staticmethod(F.conv2d)


class Conv3d(_Conv):
    r"""3-d convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``: see :class:`Conv1d`."""

    _n = 3
    _conv = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    r"""Transposed convolution: the gradient of the convolution with the same arguments with
    respect to its input (so a Conv and a ConvTranspose with the same arguments map shapes
    back and forth). Per spatial dim

    .. math:: \text{out} = (\text{in} - 1)\,\text{stride} - 2\,\text{padding}
              + \text{dilation}\,(\text{kernel\_size} - 1) + \text{output\_padding} + 1

    ``output_padding`` (< stride or < dilation) chooses among the sizes a strided convolution
    maps to the same input size; ``forward(input, output_size)`` picks it from the wanted size.
    """

    _conv_t = None  # F.conv_transpose{1,2,3}d, set by the subclass

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        ntuple = _ntuple_as_given(self._n)
        super().__init__(in_channels, out_channels, ntuple(kernel_size), ntuple(stride),
                         ntuple(padding), ntuple(dilation), True, ntuple(output_padding), groups,
                         bias, padding_mode, device=device, dtype=dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None):
        if output_size is None:
            return _ntuple_as_given(num_spatial_dims)(self.output_padding)
        return conv_transpose_output_padding(
            tuple(input.shape), output_size, stride, padding, kernel_size,
            dilation if dilation is not None else (1,) * num_spatial_dims,
            f"ConvTranspose{num_spatial_dims}D")

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":
            raise ValueError(f"Only `zeros` padding mode is supported for {type(self).__name__}")
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, self._n, self.dilation)
        return self._conv_t(input, self.weight, self.bias, self.stride, self.padding,
                            output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    r"""1-d transposed convolution over ``(N, C_in, L)`` or ``(C_in, L)``; see
    :class:`_ConvTransposeNd` for the size formula. ``weight``: (C_in, C_out/groups, k)."""

    _n = 1
    _conv_t = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    r"""2-d transposed convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)``. The
    tutorial's figure (stride 2 doubles the size, plus kernel_size - 1 ... minus 1):

    >>> import ember
    >>> up = ember.nn.ConvTranspose2d(3, 1, 3, stride=2)
    >>> up.weight.shape, up(ember.randn(1, 3, 512, 512)).shape
    (ember.Size([3, 1, 3, 3]), ember.Size([1, 1, 1025, 1025]))
    """

    _n = 2
    _conv_t = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    r"""3-d transposed convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``."""

    _n = 3
    _conv_t = staticmethod(F.conv_transpose3d)


# -- lazy variants (torch/nn/modules/conv.py) ----------------------------------------------------
from ..._parameter import UninitializedParameter  # noqa: E402
from .lazy import LazyModuleMixin  # noqa: E402


class _LazyConvXdMixin(LazyModuleMixin):
    """``in_channels`` inferred from the first input (dim 1, or 0 when unbatched); the weight and
    bias are then materialised and initialised as the eager layer's."""

    def _make_lazy(self, out_channels, bias, device, dtype):
        factory_kwargs = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter(**factory_kwargs)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(**factory_kwargs)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Infer ``in_channels`` from ``input`` and initialise the parameters."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input) -> int:
        num_dims_no_batch = self._n + 1  # channels and the spatial dims
        num_dims_batch = num_dims_no_batch + 1
        if input.dim() not in (num_dims_no_batch, num_dims_batch):
            raise RuntimeError(
                f"Expected {num_dims_no_batch}D (unbatched) or {num_dims_batch}D (batched) input "
                f"to {self.__class__.__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.dim() == num_dims_batch else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    """LazyConv1d/2d/3d: ConvNd's constructor without ``in_channels``."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    """LazyConvTranspose1d/2d/3d: ConvTransposeNd's constructor without ``in_channels``."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A :class:`Conv1d` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is inferred from the first input.

    >>> import ember
    >>> conv = ember.nn.LazyConv2d(6, 5, padding=2)
    >>> conv(ember.zeros(1, 1, 28, 28)).shape, conv
    (ember.Size([1, 6, 28, 28]), Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2)))
    """

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A :class:`Conv3d` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A :class:`ConvTranspose1d` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A :class:`ConvTranspose2d` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A :class:`ConvTranspose3d` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = ConvTranspose3d


__all__ += ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
            "LazyConvTranspose2d", "LazyConvTranspose3d"]
