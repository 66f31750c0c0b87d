"""Dropout: torch.nn.functional's dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout.

As ATen's ``_dropout_impl`` (aten/src/ATen/native/Dropout.cpp), drawing torch's numbers: a noise
tensor in the input's dtype, per element (dropout) or per (sample, channel) and broadcast over
the rest (feature dropout), filled by ``bernoulli_(1 - p)`` (one float64 uniform per element,
``u < 1 - p``: the portable kernel torch runs on AMD and other non-Intel CPUs; on Intel CPUs
torch's MKL build draws the mask from MKL's own stream, see docs/reproducibility.md), then
scaled in the input's dtype as torch does.

* dropout:        y = x * m / (1 - p)                                  (grad_fn MulBackward0)
* alpha dropout:  y = a (x * m + alpha' p) - alpha' a (1 - m), where alpha' = -SELU's saturation
                  and a = 1 / sqrt((alpha'^2 p + 1)(1 - p)) keep zero mean, unit variance.
In eval mode, for p = 0 or an empty input the input itself is returned; p = 1 gives zeros.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766     # -SELU's negative saturation: scale * alpha


def _check_p(p) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_impl(input: Tensor, p: float, train: bool, inplace: bool, *, feature: bool,
                  alpha: bool, generator=None) -> Tensor:
    if p == 0 or not train or input.numel() == 0:
        return input
    if feature and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    dtype = input._data.dtype
    if p == 1:
        zero = Tensor._wrap(np.zeros((), dtype=dtype))
        return input.mul_(zero) if inplace else input * zero
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    noise = Tensor._wrap(np.empty(shape, dtype=dtype)).bernoulli_(1 - p, generator=generator)._data
    one = dtype.type(1)
    if not alpha:
        noise /= dtype.type(1 - p)                                       # noise.div_(1 - p)
        noise = Tensor._wrap(noise)
        return input.mul_(noise) if inplace else input * noise
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    # b = noise.add(-1).mul_(alpha * a).add_(alpha * a * p); noise.mul_(a): one rounding each
    shift = Tensor._wrap((noise - one) * dtype.type(_ALPHA * a) + dtype.type(_ALPHA * a * p))
    noise = Tensor._wrap(noise * dtype.type(a))
    if inplace:
        return input.mul_(noise).add_(shift)
    return input * noise + shift


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p)."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=False)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements take SELU's saturation value and the result
    is rescaled to keep the input's mean and variance."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1)."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def _feature_dropout(input, p, training, inplace, batched: bool) -> Tensor:
    """Channel dropout; an unbatched input gets a batch dim of 1 for the duration (as torch)."""
    if batched:
        return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)
    input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    result = _dropout_impl(input, p, training, inplace, feature=True, alpha=False)
    return result.squeeze_(0) if inplace else result.squeeze(0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead. Note that "
                      "dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        # torch keeps the historical reading of a 3-d input as (N, C, L) (pytorch#77081)
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", stacklevel=2)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead. Note that "
                      "dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D "
                      "or 5D inputs).", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 5)
