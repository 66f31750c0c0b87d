"""Differentiable resampling: interpolate's separable resize, grid_sample, affine_grid, and the
pixel/channel shuffles. Arrays in, arrays out; the arguments were checked by
ember/nn/functional/vision.py, the loops are in ember/_kernels/interpolate.py and
ember/_kernels/grid_sample.py.

grad_fn names are torch's (UpsampleBilinear2DBackward0, GridSampler2DBackward0, ...): each
name is a thin subclass of the one Function that computes it.
"""
from __future__ import annotations

import numpy as np

from .._kernels import grid_sample as G
from .._kernels import interpolate as K
from ..autograd.function import Function

__all__ = ["resample_function", "GridSampler2D", "GridSampler3D", "AffineGridGenerator",
           "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
           "NativeChannelShuffle"]


def _compute_dtype(dtype):
    """float16 (and bfloat16-less NumPy's other small floats) run in float32, as ATen's opmath."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


class _Resample(Function):
    """``y = A_1 (A_2 (... A_n x))``: one 1-d resampling matrix per spatial axis, given as taps
    (see ember/_kernels/interpolate.py); ``dx = A_n^T (... A_1^T dy)``, the same taps
    scattered. Linear in x (so double backward comes from ``affine_in``).

    ``forward(x, taps_per_axis)``: ``taps_per_axis`` holds ``(index, weight, count)`` or None
    (axis left as it is) per trailing spatial axis. Saves nothing but the input's shape.
    """

    affine_in = (0,)
    fresh_grads = True  # resample_adjoint returns a new array: the leaf keeps it, no copy

    @staticmethod
    def forward(ctx, x, taps_per_axis):
        ctx.input_shape, ctx.taps_per_axis = x.shape, taps_per_axis
        work = _compute_dtype(x.dtype)
        return K.resample(x.astype(work, copy=False), taps_per_axis).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        work = _compute_dtype(grad.dtype)
        grad_in = K.resample_adjoint(grad.astype(work, copy=False), ctx.taps_per_axis,
                                     ctx.input_shape)
        return grad_in.astype(grad.dtype, copy=False), None


_NAMES = {
    ("nearest", 1): "UpsampleNearest1D", ("nearest", 2): "UpsampleNearest2D",
    ("nearest", 3): "UpsampleNearest3D",
    ("nearest-exact", 1): "UpsampleNearestExact1D", ("nearest-exact", 2): "UpsampleNearestExact2D",
    ("nearest-exact", 3): "UpsampleNearestExact3D",
    ("linear", 1): "UpsampleLinear1D", ("bilinear", 2): "UpsampleBilinear2D",
    ("trilinear", 3): "UpsampleTrilinear3D", ("bicubic", 2): "UpsampleBicubic2D",
    ("bilinear-aa", 2): "UpsampleBilinear2DAa", ("bicubic-aa", 2): "UpsampleBicubic2DAa",
    ("lanczos-aa", 2): "UpsampleLanczos2DAa",
}
_FUNCTIONS = {key: type(name, (_Resample,), {"name": name + "Backward0"})
              for key, name in _NAMES.items()}


def resample_function(mode, n, antialias=False):
    """The Function (with torch's grad_fn name) for interpolate's ``mode`` on n spatial dims."""
    return _FUNCTIONS[(mode + ("-aa" if antialias else ""), n)]


class _GridSampler(Function):
    """``out[n, c, p] = sum over taps of w(grid[n, p]) * x[n, c, taps]`` (see
    ember/_kernels/grid_sample.py). Linear in x, not in grid: the grid's gradient uses the
    weights' derivatives. Saves x and grid (backward recomputes the taps in its loop).

    ``forward(x, grid, mode, padding_mode, align_corners)``; x is (N, C, *spatial) with 2 or 3
    spatial dims, grid (N, *out_spatial, n) with its last axis in x, y(, z) order.
    """
    fresh_grads = True  # new input and grid gradient arrays, one per input

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        ctx.save_for_backward(x, grid)
        ctx.options = (mode, padding_mode, align_corners)
        x5, points = _as_kernel_arrays(x, grid)
        out = G.grid_sample_forward(x5, points, mode, padding_mode, align_corners)
        return out.reshape(x.shape[:2] + grid.shape[1:-1]).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        want_x, want_grid = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        x5, points = _as_kernel_arrays(x, grid)
        g = grad.astype(x5.dtype, copy=False).reshape(x5.shape[:2] + (points.shape[1],))
        gx, gpoints = G.grid_sample_backward(g, x5, points, *ctx.options, want_x, want_grid)
        grad_x = gx.reshape(x.shape).astype(x.dtype, copy=False) if want_x else None
        grad_grid = gpoints.reshape(grid.shape).astype(grid.dtype, copy=False) \
            if want_grid else None
        return grad_x, grad_grid, None, None, None


def _as_kernel_arrays(x, grid):
    """x as (N, C, D, H, W) (D = 1 for 2-d) and grid as (N, P, n), in the compute dtype."""
    work = _compute_dtype(x.dtype)
    spatial = x.shape[2:]
    x5 = x.astype(work, copy=False).reshape(x.shape[:2] + (1,) * (3 - len(spatial)) + spatial)
    points = int(np.prod(grid.shape[1:-1], dtype=np.int64))
    return x5, grid.astype(work, copy=False).reshape(grid.shape[0], points, grid.shape[-1])


class GridSampler2D(_GridSampler):
    name = "GridSampler2DBackward0"


class GridSampler3D(_GridSampler):
    name = "GridSampler3DBackward0"


def base_grid(spatial, align_corners, dtype):
    """affine_grid's base grid: (*spatial, n + 1) homogeneous pixel-centre coordinates in
    [-1, 1], x (the last spatial axis) first, then y(, z), then 1 (ATen's make_base_grid)."""
    axes = [_linspace_from_neg_one(s, align_corners, dtype) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack(list(mesh[::-1]) + [np.ones(tuple(spatial), dtype)], axis=-1)


def _linspace_from_neg_one(steps, align_corners, dtype):
    """linspace(-1, 1, steps), scaled by (steps - 1) / steps without align_corners; one step
    is 0. As ATen's linspace kernel: ``start + step * i`` for the first half and
    ``end - step * (steps - 1 - i)`` for the rest, each one fused multiply-add (the kernel is
    compiled with FMA), so the pixel centres carry torch's last bits."""
    f = np.dtype(dtype).type
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype)
    step = (f(1) - f(-1)) / f(steps - 1)
    i = np.arange(steps)
    first = G.fused_multiply_add(i.astype(dtype), step, -1.0)
    second = G.fused_multiply_add(-(steps - 1 - i).astype(dtype), step, 1.0)
    values = np.where(i < steps // 2, first, second).astype(dtype)
    if not align_corners:
        values = (values * f(steps - 1) / f(steps)).astype(dtype)
    return values


def _apply_affine(base, theta):
    """base (P, n + 1) times theta (N, n, n + 1) transposed -> (N, P, n), each entry summed
    left to right with a rounding per step, as torch's bmm computes these K = 3 or 4 sums
    (sampling points on a pixel centre must land on the same side of it as torch's)."""
    out = np.empty((theta.shape[0], base.shape[0], theta.shape[1]), theta.dtype)
    for k in range(theta.shape[1]):
        acc = base[None, :, 0] * theta[:, k, 0:1]
        for j in range(1, base.shape[1]):
            acc = acc + base[None, :, j] * theta[:, k, j:j + 1]
        out[:, :, k] = acc
    return out


class AffineGridGenerator(Function):
    """``grid[n] = base @ theta[n]^T``: affine in theta (double backward via ``affine_in``);
    ``dtheta[n] = grad[n]^T @ base``. Saves nothing (the base grid is rebuilt from the sizes)."""

    affine_in = (0,)

    @staticmethod
    def forward(ctx, theta, spatial, align_corners):
        ctx.spatial, ctx.align_corners = spatial, align_corners
        base = base_grid(spatial, align_corners, theta.dtype).reshape(-1, len(spatial) + 1)
        grid = _apply_affine(base, theta)
        return grid.reshape((theta.shape[0],) + tuple(spatial) + (len(spatial),))

    @staticmethod
    def backward(ctx, grad):
        n = len(ctx.spatial)
        base = base_grid(ctx.spatial, ctx.align_corners, grad.dtype).reshape(-1, n + 1)
        g = grad.reshape(grad.shape[0], -1, n)
        return np.matmul(np.swapaxes(g, 1, 2), base[None]), None, None


class _Permutation(Function):
    """A fixed rearrangement of x's elements (reshape, transpose, reshape): the gradient is the
    inverse rearrangement of the output gradient. ``forward(x, split, perm, out_shape)``."""

    affine_in = (0,)

    @staticmethod
    def forward(ctx, x, split, perm, out_shape):
        ctx.split_shape = tuple(split[i] for i in perm)
        ctx.inverse = tuple(np.argsort(perm))
        ctx.input_shape = x.shape
        return np.ascontiguousarray(x.reshape(split).transpose(perm)).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape(ctx.split_shape).transpose(ctx.inverse)
        return np.ascontiguousarray(g).reshape(ctx.input_shape), None, None, None


class PixelShuffle(_Permutation):
    name = "PixelShuffleBackward0"

    @classmethod
    def apply_to(cls, x, r):
        """(*, C r^2, H, W) -> (*, C, H r, W r)."""
        *lead, c, h, w = x.shape
        oc = c // (r * r)
        nl = len(lead)
        split = (*lead, oc, r, r, h, w)
        perm = tuple(range(nl)) + tuple(nl + i for i in (0, 3, 1, 4, 2))
        return cls.apply(x, split, perm, (*lead, oc, h * r, w * r))


class PixelUnshuffle(_Permutation):
    name = "PixelUnshuffleBackward0"

    @classmethod
    def apply_to(cls, x, r):
        """(*, C, H r, W r) -> (*, C r^2, H, W)."""
        *lead, c, h, w = x.shape
        nl = len(lead)
        split = (*lead, c, h // r, r, w // r, r)
        perm = tuple(range(nl)) + tuple(nl + i for i in (0, 2, 4, 1, 3))
        return cls.apply(x, split, perm, (*lead, c * r * r, h // r, w // r))


class ChannelShuffle(_Permutation):
    name = "ChannelShuffleBackward0"

    @classmethod
    def apply_to(cls, x, groups):
        """(N, C, *) -> channels regrouped: (N, g, C/g, *) transposed to (N, C/g, g, *)."""
        n, c, *rest = x.shape
        split = (n, groups, c // groups, *rest)
        perm = (0, 2, 1) + tuple(range(3, 3 + len(rest)))
        return cls.apply(x, split, perm, x.shape)


class NativeChannelShuffle(ChannelShuffle):
    """torch.native_channel_shuffle: the same values, but torch defines no derivative."""

    name = "NotImplemented"
    affine_in = None

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::native_channel_shuffle is not implemented")


# ---------------------------------------------------------------------------------------------
# the shuffles' argument checks (torch.pixel_shuffle and F.pixel_shuffle are the same function)
# ---------------------------------------------------------------------------------------------
def _check_int_argument(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}(): argument '{name}' (position 2) must be int, not "
                        f"{type(value).__name__}")
    return int(value)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block
    (sub-pixel convolution, Shi et al. 2016)."""
    r = _check_int_argument("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c = input.shape[-3]
    if c % (r * r) != 0:
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    return PixelShuffle.apply_to(input, r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of ``pixel_shuffle``."""
    r = _check_int_argument("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    h, w = input.shape[-2], input.shape[-1]
    if h % r != 0:
        raise RuntimeError("pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r != 0:
        raise RuntimeError("pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    return PixelUnshuffle.apply_to(input, r)


def channel_shuffle(input, groups):
    """(N, C, *) with C = g k: channel ``i k + j`` moves to ``j g + i`` (ShuffleNet)."""
    return ChannelShuffle.apply_to(input, _check_channel_shuffle(input, groups))


def native_channel_shuffle(input, groups):
    """``channel_shuffle``'s values; as in torch, it has no derivative (backward raises)."""
    return NativeChannelShuffle.apply_to(input, _check_channel_shuffle(input, groups))


def _check_channel_shuffle(input, groups):
    g = _check_int_argument("channel_shuffle", "groups", groups)
    if input.dim() <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if g <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. "
                           f"Value of groups:{g}")
    c = input.shape[1]
    if c % g != 0:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    return g
