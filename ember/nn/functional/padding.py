"""F.pad: constant, reflect, replicate and circular padding (torch.nn.functional.pad).

The arithmetic lives in ``ember/_kernels/pad.py`` (shared with convolution's padding_mode);
torch's argument rules (PadNd.cpp ``_pad_enum``) are in ``ember/nn/_shapes.py``; here is the
autograd Function.
"""
from __future__ import annotations

from ..._kernels import pad as K
from ..._tensor import Tensor
from ...autograd.function import Function
from .. import _shapes

__all__ = ["pad"]


class ConstantPadNd(Function):
    """y = x placed inside a ``value``-filled array (negative pads crop); dx = the same window
    of dy."""
    name = "ConstantPadNdBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py (every mode is linear)

    @staticmethod
    def forward(ctx, x, pads, mode, value):
        ctx.shape, ctx.pads, ctx.mode = x.shape, pads, mode
        return K.pad(x, pads, mode, value)

    @staticmethod
    def backward(ctx, grad):
        return K.pad_backward(grad, ctx.shape, ctx.pads, ctx.mode), None, None, None


def _node_class(name):
    return type(name, (ConstantPadNd,), {"name": name, "__doc__": "Reflect / replicate / circular"
                " padding: a gather along each padded axis; dx = the matching scatter-add."})


# grad_fn names as torch's: ReflectionPad2DBackward0 ...; torch composes circular padding from
# slice copies, so its node is CopySlices.
_FUNCTIONS = {("constant", n): ConstantPadNd for n in range(1, 4)}
for _n in (1, 2, 3):
    _FUNCTIONS["reflect", _n] = _node_class(f"ReflectionPad{_n}DBackward0")
    _FUNCTIONS["replicate", _n] = _node_class(f"ReplicationPad{_n}DBackward0")
    _FUNCTIONS["circular", _n] = _node_class("CopySlices")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    r"""Pad ``input``: ``pad`` gives (left, right) pairs starting from the LAST dimension,
    ``(w_left, w_right, h_left, h_right, ...)``.

    constant - fill with ``value`` (default 0); negative pads crop. Any number of dims.
    reflect   - mirror without repeating the edge (pads < the dim's size).
    replicate - repeat the edge value.
    circular  - wrap around (pads <= the dim's size).
    The last three pad the last 1, 2 or 3 dims of a (batched or unbatched) input.

    >>> import ember, ember.nn.functional as F
    >>> F.pad(ember.arange(4.).reshape(1, 1, 4), (2, 1), mode="reflect")
    tensor([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    pads = _shapes.pad_ints(pad)
    if mode not in K.MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    shape = tuple(input.shape)
    K.check_pad_length(len(shape), pads)
    if mode == "constant":
        K.check_pad(shape, pads, mode)
        return ConstantPadNd.apply(input, pads, mode, 0.0 if value is None else value)
    n = _shapes.non_constant_pad_dims(shape, pads, mode, value)
    K.check_pad(shape, pads, mode)
    return _FUNCTIONS[mode, n].apply(input, pads, mode, 0.0)
