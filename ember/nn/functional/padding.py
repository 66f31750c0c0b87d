"""F.pad: constant, reflect, replicate and circular padding (torch.nn.functional.pad).

The arithmetic lives in ``ember/_kernels/pad.py`` (shared with convolution's padding_mode);
here are torch's argument rules (PadNd.cpp ``_pad_enum``) and the autograd Function.
"""
from __future__ import annotations

import numpy as np

from ..._kernels import pad as K
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["pad"]


class ConstantPadNd(Function):
    """y = x placed inside a ``value``-filled array (negative pads crop); dx = the same window
    of dy."""
    name = "ConstantPadNdBackward0"

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


def _int_pads(pad) -> tuple:
    pads = tuple(pad)
    for i, p in enumerate(pads):
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                            f"element of type {type(p).__name__} at pos {i}")
    return tuple(int(p) for p in pads)


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
    pads = _int_pads(pad)
    if mode not in K.MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    ndim, shape = input.ndim, tuple(input.shape)
    K.check_pad_length(ndim, pads)
    if mode == "constant":
        K.check_pad(shape, pads, mode)
        return ConstantPadNd.apply(input, pads, mode, 0.0 if value is None else value)
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
    K.check_pad(shape, pads, mode)
    return _FUNCTIONS[mode, n].apply(input, pads, mode, 0.0)
