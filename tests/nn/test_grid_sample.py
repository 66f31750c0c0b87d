"""F.grid_sample and F.affine_grid against torch: values and gradients w.r.t. input AND grid
(float64 and float32) over modes x padding modes x align_corners in 2-d and 3-d, gradcheck,
the spatial-transformer composition, warnings and errors."""
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from tests.helpers import assert_close, check_against_torch, same_error

DTYPES = ["float64", "float32"]
RNG = np.random.default_rng(7)


def randn(*shape):
    return RNG.standard_normal(shape)


def grid_points(*shape, spread=1.3):
    """Sampling points mostly inside [-1, 1], some outside (padding), kept away from the
    places where a coordinate lands on a pixel boundary (floor / rounding would be a coin toss
    between float formulas, and the derivative jumps there)."""
    g = RNG.uniform(-spread, spread, shape)
    return g


def _sample(mode, padding_mode, align_corners):
    return lambda lib, x, g: lib.nn.functional.grid_sample(
        x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)


PADDINGS = ["zeros", "border", "reflection"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_2d_matches_torch(mode, padding_mode, align_corners, dtype):
    x = randn(2, 3, 5, 7)
    g = grid_points(2, 4, 6, 2)
    check_against_torch(_sample(mode, padding_mode, align_corners), [x, g], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_3d_matches_torch(mode, padding_mode, align_corners, dtype):
    x = randn(2, 2, 4, 5, 3)
    g = grid_points(2, 3, 2, 4, 3)
    check_against_torch(_sample(mode, padding_mode, align_corners), [x, g], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,padding_mode", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                               ("nearest", "border"), ("bicubic", "zeros")])
def test_large_inputs_run_the_parallel_loops_as_torch(mode, padding_mode, dtype):
    # past ember/_kernels/_jit.SERIAL_BELOW elements the parallel loops run, and past
    # POINTS_PER_TASK points a sample's forward is split over several tasks
    x = randn(4, 4, 128, 128)
    g = grid_points(4, 40, 30, 2)
    # a bicubic grid gradient sums 64 float32 products per point that largely cancel: the
    # last bits of an order-1e-2 result depend on the summation order (ATen's differs)
    atol = 1e-4 if (mode, dtype) == ("bicubic", "float32") else None
    check_against_torch(_sample(mode, padding_mode, False), [x, g], dtype, atol=atol)


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_far_outside_points_reflect_many_times(padding_mode):
    # points several widths away: reflection folds them back repeatedly, border clamps
    x = randn(1, 2, 4, 6)
    g = RNG.uniform(-5.5, 5.5, (1, 5, 5, 2))
    for mode in ("bilinear", "nearest", "bicubic"):
        for align in (False, True):
            check_against_torch(_sample(mode, padding_mode, align), [x, g])


def test_batch_of_one_non_contiguous_and_single_pixel_inputs():
    x = randn(6, 5, 3, 1)  # (W, H, C, N) permuted to (N, C, H, W)
    g = grid_points(1, 4, 3, 2)

    def fn(lib, x, g):
        return lib.nn.functional.grid_sample(x.permute(3, 2, 1, 0), g, align_corners=False)
    check_against_torch(fn, [x, g])
    for align in (False, True):  # a 1x1 input: unnormalising with align_corners multiplies by 0
        check_against_torch(_sample("bilinear", "reflection", align),
                            [randn(1, 2, 1, 1), grid_points(1, 3, 3, 2)])
        check_against_torch(_sample("bicubic", "border", align),
                            [randn(1, 2, 1, 3), grid_points(1, 3, 3, 2)])


@pytest.mark.parametrize("mode,padding_mode", [("bilinear", "zeros"), ("bilinear", "border"),
                                               ("bilinear", "reflection"), ("bicubic", "zeros"),
                                               ("bicubic", "reflection"), ("nearest", "zeros")])
def test_gradcheck_2d(mode, padding_mode):
    x = ember.tensor(randn(1, 2, 4, 5), requires_grad=True)
    g = ember.tensor(grid_points(1, 3, 3, 2, spread=1.15), requires_grad=mode != "nearest")
    for align in (False, True):
        assert ember.autograd.gradcheck(
            lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=padding_mode,
                                       align_corners=align), (x, g))


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_gradcheck_3d(padding_mode):
    x = ember.tensor(randn(1, 2, 3, 4, 3), requires_grad=True)
    g = ember.tensor(grid_points(1, 2, 2, 3, 3, spread=1.15), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, b: F.grid_sample(a, b, padding_mode=padding_mode, align_corners=False), (x, g))


def test_identity_grid_reproduces_the_input():
    x = randn(2, 3, 5, 4)
    theta = np.tile(np.eye(2, 3), (2, 1, 1))
    for align in (False, True):
        grid = F.affine_grid(ember.tensor(theta), (2, 3, 5, 4), align_corners=align)
        out = F.grid_sample(ember.tensor(x), grid, align_corners=align)
        assert_close(out, torch.tensor(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 5, 7), (2, 1, 1, 4), (2, 2, 3, 4, 5)])
def test_affine_grid_matches_torch(size, align_corners, dtype):
    n = len(size) - 2
    theta = randn(2, n, n + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unit-size warning, checked below
        check_against_torch(lambda lib, t: lib.nn.functional.affine_grid(
            t, size, align_corners=align_corners), [theta], dtype)


def test_affine_grid_gradcheck_and_double_backward():
    theta = ember.tensor(randn(2, 2, 3), requires_grad=True)
    f = lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False) ** 2  # noqa: E731
    assert ember.autograd.gradcheck(f, (theta,))
    assert ember.autograd.gradgradcheck(f, (theta,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_spatial_transformer_composition_matches_torch(dtype):
    # the STN tutorial's transform: theta -> affine_grid -> grid_sample, gradients to theta
    x = randn(3, 1, 8, 8)
    theta = np.tile(np.eye(2, 3), (3, 1, 1)) + 0.1 * randn(3, 2, 3)

    def stn(lib, x, theta):
        grid = lib.nn.functional.affine_grid(theta, x.size(), align_corners=False)
        return lib.nn.functional.grid_sample(x, grid, align_corners=False)
    check_against_torch(stn, [x, theta], dtype)


def test_grad_fn_names_are_torchs():
    x = ember.randn(1, 1, 3, 3, requires_grad=True)
    assert type(F.grid_sample(x, ember.zeros(1, 2, 2, 2), align_corners=True).grad_fn).__name__ \
        == "GridSampler2DBackward0"
    x3 = ember.randn(1, 1, 2, 3, 3, requires_grad=True)
    assert type(F.grid_sample(x3, ember.zeros(1, 1, 2, 2, 3), align_corners=True).grad_fn) \
        .__name__ == "GridSampler3DBackward0"
    theta = ember.randn(1, 2, 3, requires_grad=True)
    assert type(F.affine_grid(theta, (1, 1, 2, 2), align_corners=False).grad_fn).__name__ == \
        "AffineGridGeneratorBackward0"


def test_missing_align_corners_warns_as_torch():
    x, g = ember.randn(1, 1, 3, 3), ember.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        F.affine_grid(ember.randn(1, 2, 3), (1, 1, 3, 3))
    with pytest.warns(UserWarning, match="unit-size grids when align_corners=True"):
        F.affine_grid(ember.randn(1, 2, 3), (1, 1, 1, 3), align_corners=True)


def test_empty_outputs():
    for shape, gshape in [((2, 0, 4, 5), (2, 3, 3, 2)), ((0, 3, 4, 5), (0, 3, 3, 2)),
                          ((2, 3, 4, 5), (2, 0, 3, 2))]:
        x = ember.zeros(*shape, requires_grad=True)
        out = F.grid_sample(x, ember.zeros(*gshape), align_corners=False)
        assert out.shape == torch.nn.functional.grid_sample(
            torch.zeros(*shape), torch.zeros(*gshape), align_corners=False).shape
        out.sum().backward()
        assert x.grad.shape == shape


@pytest.mark.parametrize("xshape,gshape,kw,match", [
    ((2, 3, 4, 5), (2, 6, 7, 2), dict(mode="foo"), "expected mode to be 'bilinear'"),
    ((2, 3, 4, 5), (2, 6, 7, 2), dict(padding_mode="foo"), "expected padding_mode to be 'zeros'"),
    ((2, 3, 4, 5), (1, 6, 7, 2), {}, r"same batch size, but got input with sizes \[2, 3, 4, 5\]"),
    ((2, 3, 4, 5), (2, 6, 7, 3), {}, "expected grid to have size 2 in last dimension"),
    ((2, 3, 0, 5), (2, 6, 7, 2), {}, "with dimension 2 being empty"),
    ((2, 3, 4, 5), (2, 6, 7, 2, 2), {}, "expected 4D input and grid with same number"),
    ((2, 3, 4), (2, 6, 1), {}, "expected 5D input and grid with same number"),
    ((2, 3, 4, 4, 4), (2, 6, 3), {}, "expected 5D input and grid with same number"),
    ((2, 3, 4, 5, 6), (2, 6, 7, 2, 3), dict(mode="bicubic"), "bicubic interpolation only"),
])
def test_grid_sample_bad_arguments_raise_as_torch(xshape, gshape, kw, match):
    same_error(lambda lib, x, g: lib.nn.functional.grid_sample(
        lib.tensor(x), lib.tensor(g), align_corners=False, **kw),
        np.zeros(xshape, np.float32), np.zeros(gshape, np.float32), match=match)


def test_grid_sample_dtypes_raise_as_torch():
    x, g = np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 2, 2, 2), np.float64)
    same_error(lambda lib, a, b: lib.nn.functional.grid_sample(lib.tensor(a), lib.tensor(b),
                                                               align_corners=False),
               x, g, match="expected scalar type Float but found Double")
    same_error(lambda lib, a, b: lib.nn.functional.grid_sample(lib.tensor(a), lib.tensor(b),
                                                               align_corners=False),
               x.astype(np.int64), g.astype(np.int64), match="not implemented for 'Long'")


@pytest.mark.parametrize("theta_shape,size,match", [
    ((2, 2, 3), (2, 3, 4, 5, 6), "Expected a batch of 3D affine matrices of shape Nx3x4"),
    ((2, 3, 4), (2, 3, 4, 5), "Expected a batch of 2D affine matrices of shape Nx2x3"),
    ((2, 2, 3), (2, 3, 4), "affine_grid only supports 4D and 5D sizes"),
    ((2, 2, 3), (2, 3, 0, 5), "Expected non-zero, positive output size"),
    ((2, 2, 3), (3, 3, 4, 5), "Expected size for first two dimensions of batch2 tensor"),
])
def test_affine_grid_bad_arguments_raise_as_torch(theta_shape, size, match):
    same_error(lambda lib, t: lib.nn.functional.affine_grid(lib.tensor(t), size,
                                                            align_corners=False),
               np.zeros(theta_shape, np.float32), match=match)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # align_corners not given: both warn first
        same_error(lambda lib, t: lib.nn.functional.affine_grid(lib.tensor(t), size),
                   np.zeros((2, 2, 3), np.int64), match="Expected theta to have floating point")


@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_nan_and_infinite_grid_values_as_torch(mode, padding_mode):
    # "NaN values in grid would be interpreted as -1" once padded (border, reflection); with
    # zeros padding a NaN weight still poisons the output (bilinear, bicubic), as in ATen
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    g = np.array([[[[np.nan, 0.0], [0.0, np.nan], [np.nan, np.nan], [-1, 0.0], [np.inf, 0.0],
                    [-np.inf, 0.3], [0.2, np.inf]]]])
    check_against_torch(_sample(mode, padding_mode, False), [x, g], grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_grid_is_bit_identical_to_torch(dtype):
    # sampling points on pixel centres (the identity) sit on the kink of bilinear sampling:
    # which neighbour the grid's gradient uses hangs on the last bit, so the base grid is
    # torch's linspace (fused multiply-adds) and the products are summed in bmm's order
    for size in [(4, 1, 28, 28), (2, 3, 5, 7), (2, 1, 3, 4, 5)]:
        n = len(size) - 2
        theta = (np.tile(np.eye(n, n + 1), (size[0], 1, 1))
                 + 0.05 * randn(size[0], n, n + 1)).astype(dtype)
        for align in (False, True):
            got = F.affine_grid(ember.tensor(theta), size, align_corners=align).numpy()
            want = torch.nn.functional.affine_grid(torch.tensor(theta), size,
                                                   align_corners=align).numpy()
            np.testing.assert_array_equal(got, want)


def test_identity_transform_gradient_takes_torchs_side_of_each_pixel():
    # the spatial-transformer tutorial starts at theta = identity: every point is on a pixel
    # centre, and torch's 2-d kernel rounds (coord + 1) * size / 2 - 0.5 with one FMA
    x = randn(2, 1, 28, 28)
    theta = np.tile(np.eye(2, 3), (2, 1, 1))

    def stn(lib, x, theta):
        grid = lib.nn.functional.affine_grid(theta, (2, 1, 28, 28), align_corners=False)
        return lib.nn.functional.grid_sample(x, grid, align_corners=False)
    check_against_torch(stn, [x, theta], "float64")
