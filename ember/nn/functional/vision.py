"""Resampling as torch.nn.functional's: interpolate (and the deprecated upsample*), grid_sample,
affine_grid, pixel_shuffle/unshuffle and channel_shuffle.

The functions check their arguments with torch's rules, in torch's order and with its messages
(torch/nn/functional.py, then ATen's UpSample.h / GridSampler.cpp / PixelShuffle.cpp checks),
and call a Function from ember/_ops/resample.py.

interpolate: every mode but ``area`` is separable, so one Function resizes any number of
spatial axes from per-axis taps (ember/_kernels/interpolate.py); ``area`` is adaptive average
pooling, as in torch. Traps (TRAPS.md 22): without align_corners pixel centres are
half-integers; legacy ``nearest`` picks ``floor(j * in/out)`` where ``nearest-exact`` rounds
the centre; with ``scale_factor`` the output size is ``floor(in * scale)`` and the *given*
scale (not ``out/in``) places the samples unless ``recompute_scale_factor=True``.

Where torch's backward disagrees with its own forward (a ``scale_factor`` given for an axis
whose size does not change, or nearest with out = 2 * in and a scale other than 2; and the
antialiased backward on an axis whose size does not change) ember's gradient is the exact
transpose of the forward it computed, not torch's.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..._dtype import scalar_type_name
from ..._kernels import interpolate as K
from ..._ops import resample as R
from ..._tensor import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample",
           "affine_grid", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
           "native_channel_shuffle"]

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
# the mode each input rank accepts among the interpolating ones (torch's dispatch table)
_RANK_OF_MODE = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _is_integer(x) -> bool:
    """torch.nn.functional._is_integer: Python ints (bools included), NumPy integers and
    non-floating Tensors."""
    if isinstance(x, (int, np.integer)):
        return True
    return isinstance(x, Tensor) and not x.is_floating_point()


def _spatial(input):
    return list(input.shape[2:])


def _output_size_and_scales(input, size, scale_factor, dim):
    """torch's size/scale_factor block: exactly one given; a sequence must have ``dim``
    entries; a scalar is repeated. Returns (output_size or None, scale_factors or None)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {_spatial(input)} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(x) for x in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(x) for x in size]}")
            return [_as_int(s) for s in size], None
        if not _is_integer(size):
            raise TypeError(f"upsample(): argument 'output_size' must be tuple of ints, "
                            f"but found element of type {type(size).__name__}")
        return [_as_int(size)] * dim, None
    if scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {_spatial(input)} and "
                    f"scale_factor of shape {scale_factor}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "scale_factor in (s1, s2, ...,sK) format.")
            scales = list(scale_factor)
        else:
            scales = [scale_factor] * dim
        return None, [_as_float(s) for s in scales]
    raise ValueError("either size or scale_factor should be defined")


def _as_int(v):
    return int(v.item()) if isinstance(v, Tensor) else int(v)


def _as_float(v):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, str) or not isinstance(v, numbers.Real):
        raise TypeError(f"upsample(): argument 'scale_factors' must be tuple of floats, "
                        f"but found element of type {type(v).__name__}")
    return float(v)


def _check_sizes(input, output_size):
    """ATen's upsample_{1,2,3}d_shape_check: positive sizes, then a non-empty input (a batch of
    zero samples is allowed)."""
    names = "DHW"[3 - len(output_size):]
    in_sizes = input.shape[2:]
    if min(in_sizes) <= 0 or min(output_size) <= 0:
        given = lambda sizes: ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))  # noqa: E731
        sep = " and output" if len(output_size) == 1 else " output"
        raise RuntimeError("Input and output sizes should be greater than 0, but got input "
                           f"({given(in_sizes)}){sep} ({given(output_size)})")
    if input.shape[1] == 0:
        raise RuntimeError(f"Non-empty {input.dim()}D data tensor expected but got a tensor with "
                           f"sizes {list(input.shape)}")


def _check_dtype(input, kernel):
    dtype = input._data.dtype
    if dtype.kind != "f" and not (kernel == "nearest" and dtype == np.uint8):
        raise NotImplementedError(f'"compute_indices_weights_{kernel}" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``input`` (N, C, *spatial) with 1 to 3 spatial dims.

    Output size: ``size``, or ``floor(in * scale_factor)`` per dim. Modes: 'nearest' (source
    ``floor(j * scale)``), 'nearest-exact' (``floor((j + 0.5) * scale)``), 'linear' /
    'bilinear' / 'trilinear' (3/4/5-d input), 'bicubic' (4-d, Keys A = -0.75, may overshoot),
    'lanczos' (4-d, Lanczos-3, antialias=True only) and 'area' (adaptive average pooling).
    ``align_corners=True`` maps the corner pixel centres onto each other; otherwise pixels
    are areas with half-pixel centres. The given ``scale_factor`` places the samples unless
    ``recompute_scale_factor=True`` (then ``in / out`` does). ``antialias=True``
    (bilinear/bicubic/lanczos, 4-d) low-pass filters when down-sampling, as PIL.

    >>> x = ember.arange(1., 5.).view(1, 1, 2, 2)
    >>> F.interpolate(x, scale_factor=2, mode='bilinear')[0, 0, 0]
    tensor([1.0000, 1.2500, 1.7500, 2.0000])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    output_size, scale_factors = _output_size_and_scales(input, size, scale_factor, dim)
    if recompute_scale_factor is not None and recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor is not None and recompute_scale_factor:
        output_size = [math.floor(float(input.shape[i + 2]) * scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    if input.dim() in (3, 4, 5):
        if mode == "area":
            pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1]
            return pool(input, output_size)
        if mode in ("nearest", "nearest-exact") or _RANK_OF_MODE.get(mode) == input.dim():
            return _resample(input, output_size, scale_factors, mode, bool(align_corners),
                             antialias)
        if mode == "lanczos" and input.dim() == 4:
            if align_corners:
                raise ValueError("Lanczos mode does not support align_corners=True")
            if not antialias:
                raise ValueError("Lanczos mode requires antialias=True")
            return _resample(input, output_size, scale_factors, mode, False, True)
        if mode in _RANK_OF_MODE and mode != "bicubic":
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                      f"{_RANK_OF_MODE[mode]}D input")
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the "
        f"modes: {_MODES} (got {mode})")


# interpolate's mode -> the 1-d taps of each axis (ember/_kernels/interpolate.py)
_TAPS_MODE = {"nearest": "nearest", "nearest-exact": "nearest-exact", "linear": "linear",
              "bilinear": "linear", "trilinear": "linear", "bicubic": "cubic",
              "lanczos": "lanczos"}


def _resample(input, output_size, scale_factors, mode, align_corners, antialias):
    """The separable modes: output sizes (C++'s compute_output_size truncates in * scale),
    ATen's checks, per-axis taps, then one Function."""
    dim = input.dim() - 2
    in_sizes = input.shape[2:]
    if output_size is None:
        output_size = [int(in_sizes[i] * scale_factors[i]) for i in range(dim)]
        scales = scale_factors
    else:
        scales = [None] * dim
    taps_mode = _TAPS_MODE[mode]
    _check_sizes(input, output_size)
    _check_dtype(input, "nearest" if taps_mode.startswith("nearest") else taps_mode)
    dtype = input._data.dtype
    opmath = np.dtype(np.float32) if dtype.itemsize < 4 or dtype.kind != "f" else dtype
    taps = [K.axis_taps(taps_mode, i, o, align_corners, s, opmath, antialias)
            for i, o, s in zip(in_sizes, output_size, scales)]
    if antialias:
        # ATen's separable AA pass leaves an axis whose size does not change untouched
        taps = [t if i != o else None for t, i, o in zip(taps, in_sizes, output_size)]
    function = R.resample_function(mode, dim, antialias)
    if dtype.kind != "f":  # uint8 nearest: a gather, exact through float64
        out = function.apply(Tensor._wrap(input._data.astype(np.float64)), taps)
        return Tensor._wrap(out._data.astype(dtype))
    return function.apply(input, taps)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode, align_corners)``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear',
    align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


_ALIGN_CORNERS_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                          "align_corners=False since 1.3.0. Please specify align_corners=True if "
                          "the old behavior is desired. See the documentation of grid_sample for "
                          "details.")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at the normalised locations ``grid``
    (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), last axis x, y(, z) in [-1, 1].

    ``mode``: 'bilinear' (trilinear on 5-d input), 'nearest' (round half to even) or
    'bicubic' (4-d only, A = -0.75). ``padding_mode`` for samples outside: 'zeros',
    'border' (clamp) or 'reflection'. ``align_corners=True``: -1 and 1 are the corner pixels'
    centres, else their outer edges (the default, with a warning when not given).
    Differentiable w.r.t. input and grid.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' "
                         f"or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sampler(input, grid, mode)
    function = R.GridSampler2D if input.dim() == 4 else R.GridSampler3D
    return function.apply(input, grid, mode, padding_mode, bool(align_corners))


def _check_grid_sampler(input, grid, mode):
    """ATen's check_grid_sampler_common, then the 2-d / 3-d checks, then the dtypes."""
    shapes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if grid.dim() == 0 or input.dim() == 0 or input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, "
                           f"but got {shapes}")
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.dim() - 2} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for i in range(2, input.dim()):
        if input.shape[i] <= 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    rank = 4 if input.dim() == 4 else 5
    if input.dim() != rank or grid.dim() != rank:
        raise RuntimeError(f"grid_sampler(): expected {rank}D input and grid with same number of "
                           f"dimensions, but got {shapes}")
    if rank == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input._data.dtype.kind != "f":
        kernel = "grid_sampler_2d_cpu_kernel_impl" if rank == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")
    if grid._data.dtype != input._data.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(input.dtype)} but found "
                           f"{scalar_type_name(grid.dtype)}")


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps ``theta`` (N, 2, 3) or (N, 3, 4) for an output
    of ``size`` (N, C, H, W) or (N, C, D, H, W): ``grid[n, ..., :] = theta[n] @ (x, y(, z), 1)``
    over the output's pixel centres in [-1, 1]. Use with ``grid_sample`` and the same
    ``align_corners``. Differentiable w.r.t. theta.
    """
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{given}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{given}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {given}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    if size[0] != theta.shape[0]:  # ATen's bmm of the expanded base grid with theta^T
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {len(spatial) + 1}] but got: "
                           f"[{theta.shape[0]}, {theta.shape[2]}].")
    return R.AffineGridGenerator.apply(theta, spatial, bool(align_corners))


# torch.pixel_shuffle & co exist at the top level too: their checks and Functions live in
# ember/_ops/resample.py, below both ember and ember.nn.functional
from ..._ops.resample import (channel_shuffle, native_channel_shuffle,  # noqa: E402,F401
                              pixel_shuffle, pixel_unshuffle)
