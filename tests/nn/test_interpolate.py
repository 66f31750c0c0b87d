"""F.interpolate, the deprecated F.upsample*, and nn.Upsample / UpsamplingNearest2d /
UpsamplingBilinear2d against torch: values and gradients (float64 and float32) over modes x
align_corners x size / scale_factor (integer and fractional, up and down, odd sizes, batch of
one, non-contiguous input), antialias, gradcheck, property-generated sizes, TRAPS.md 22,
errors, warnings and reprs."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
import ember.nn.functional as F
from ember import nn
from tests.helpers import assert_close, check_against_torch, same_error, to_numpy

DTYPES = ["float64", "float32"]
RNG = np.random.default_rng(12)

# (rank of the input, mode): every separable mode on every rank torch accepts it
MODES = [(3, "nearest"), (4, "nearest"), (5, "nearest"),
         (3, "nearest-exact"), (4, "nearest-exact"), (5, "nearest-exact"),
         (3, "linear"), (4, "bilinear"), (5, "trilinear"), (4, "bicubic"),
         (3, "area"), (4, "area"), (5, "area")]
ALIGNABLE = {"linear", "bilinear", "trilinear", "bicubic"}

# spatial input sizes and how the output is asked for: sizes (up, down, odd, to 1) or scale
# factors (integer, fractional, up and down, one per axis)
RESIZES = [
    ((5, 6, 4), dict(size=(9, 12, 7))),
    ((7, 8, 6), dict(size=(3, 5, 2))),
    ((3, 5, 3), dict(size=(1, 2, 5))),
    ((4, 5, 3), dict(scale_factor=2)),
    ((6, 7, 5), dict(scale_factor=0.5)),
    ((5, 4, 6), dict(scale_factor=(1.7, 2.5, 0.6))),
    ((7, 5, 4), dict(scale_factor=(0.35, 3.0, 1.5))),
]


def _resize_args(n, resize):
    spatial, kw = resize
    kw = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in kw.items()}
    return spatial[:n], kw


def _interp(**kw):
    return lambda lib, x: lib.nn.functional.interpolate(x, **kw)


def randn(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank,mode", MODES)
@pytest.mark.parametrize("resize", RESIZES)
def test_values_and_gradients_match_torch(rank, mode, resize, dtype):
    spatial, kw = _resize_args(rank - 2, resize)
    aligns = [None] if mode not in ALIGNABLE else [False, True]
    for align in aligns:
        x = randn(2, 3, *spatial)
        check_against_torch(_interp(mode=mode, align_corners=align, **kw), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("spatial,kw", [
    ((12, 10), dict(size=(5, 4))),
    ((9, 16), dict(scale_factor=(0.4, 0.3))),
    ((11, 13), dict(size=(17, 6))),           # up along one axis, down along the other
    ((8, 8), dict(scale_factor=0.5, recompute_scale_factor=True)),
    ((6, 9), dict(size=(6, 4))),              # an axis that keeps its size is left alone
    ((7, 5), dict(size=(3, 8))),
])
def test_antialias_matches_torch(mode, spatial, kw, dtype):
    for align in (False, True):
        check_against_torch(_interp(mode=mode, align_corners=align, antialias=True, **kw),
                            [randn(2, 3, *spatial)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lanczos_matches_torch(dtype):
    for spatial, kw in [((12, 10), dict(size=(5, 4))), ((7, 9), dict(size=(11, 3))),
                        ((9, 16), dict(scale_factor=(0.4, 0.3))), ((6, 9), dict(size=(6, 4)))]:
        check_against_torch(_interp(mode="lanczos", antialias=True, **kw),
                            [randn(2, 3, *spatial)], dtype)
    x = ember.randn(1, 1, 6, 6, requires_grad=True)
    out = F.interpolate(x, size=3, mode="lanczos", antialias=True)
    assert type(out.grad_fn).__name__ == "UpsampleLanczos2DAaBackward0"


def test_antialias_to_width_one_is_the_separable_filter():
    # torch 2.13 (CPU) repeats the first row when the width becomes 1 after its horizontal pass
    # (ember keeps the rows distinct); the filter is separable, so resizing the transpose and
    # transposing back is the same operation, which torch computes correctly
    x = randn(1, 2, 9, 4)
    got = F.interpolate(ember.tensor(x), size=(3, 1), mode="bilinear", antialias=True)
    want = torch.nn.functional.interpolate(torch.tensor(x).transpose(-1, -2), size=(1, 3),
                                           mode="bilinear", antialias=True).transpose(-1, -2)
    assert_close(got, want.contiguous())
    broken = torch.nn.functional.interpolate(torch.tensor(x), size=(3, 1), mode="bilinear",
                                             antialias=True)
    assert not np.allclose(to_numpy(got), to_numpy(broken))  # if torch fixes it, revisit


@pytest.mark.parametrize("rank,mode", [(3, "linear"), (4, "bilinear"), (4, "bicubic"),
                                       (5, "trilinear"), (4, "nearest"), (3, "nearest-exact")])
def test_batch_of_one_and_non_contiguous_input(rank, mode):
    n = rank - 2
    base = randn(*(7, 6, 5)[:n], 3, 1)  # a (spatial..., C, N) array, permuted to (N, C, ...)
    perm = (n + 1, n) + tuple(range(n))
    kw = dict(scale_factor=1.5) if mode != "nearest-exact" else dict(size=4)

    def fn(lib, x):
        view = x.permute(*perm)
        assert lib is torch or not view.is_contiguous()
        return lib.nn.functional.interpolate(view, mode=mode, **kw)
    check_against_torch(fn, [base], "float64")
    check_against_torch(fn, [base], "float32")


@pytest.mark.parametrize("rank,mode", [(3, "nearest"), (4, "nearest-exact"), (3, "linear"),
                                       (4, "bilinear"), (4, "bicubic"), (5, "trilinear"),
                                       (4, "area")])
def test_gradcheck(rank, mode):
    n = rank - 2
    x = ember.tensor(randn(2, 2, *(4, 3, 3)[:n]), requires_grad=True)
    align = True if mode in ALIGNABLE else None
    assert ember.autograd.gradcheck(
        lambda t: F.interpolate(t, size=(5, 2, 4)[:n], mode=mode, align_corners=align), (x,))
    assert ember.autograd.gradcheck(
        lambda t: F.interpolate(t, scale_factor=1.7, mode=mode), (x,))


def test_antialias_gradcheck_and_double_backward():
    x = ember.tensor(randn(1, 2, 7, 6), requires_grad=True)
    for mode in ("bilinear", "bicubic", "lanczos"):
        f = lambda t: F.interpolate(t, size=(3, 4), mode=mode, antialias=True)  # noqa: E731
        assert ember.autograd.gradcheck(f, (x,))
        assert ember.autograd.gradgradcheck(f, (x,))


def test_double_backward_of_bilinear():
    x = ember.tensor(randn(1, 2, 3, 4), requires_grad=True)
    assert ember.autograd.gradgradcheck(
        lambda t: F.interpolate(t, scale_factor=2, mode="bilinear") ** 2, (x,))


@st.composite
def resizes(draw):
    rank, mode = draw(st.sampled_from(MODES))
    n = rank - 2
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(n))
    if draw(st.booleans()):
        kw = dict(size=tuple(draw(st.integers(1, 9)) for _ in range(n)))
    else:
        scales = tuple(draw(st.sampled_from([0.5, 0.75, 1.25, 1.5, 2.0, 2.5, 3.0]))
                       for _ in range(n))
        if any(int(s * f) < 1 for s, f in zip(spatial, scales)):
            scales = tuple(max(f, 1.0) for f in scales)
        if any(int(s * f) == s and f != 1.0 for s, f in zip(spatial, scales)) or (
                mode == "nearest" and any(int(s * f) == 2 * s and f != 2.0
                                          for s, f in zip(spatial, scales))):
            # torch's backward ignores the scale on such an axis: see the test below
            kw = dict(scale_factor=scales, recompute_scale_factor=True)
        else:
            kw = dict(scale_factor=scales)
    align = draw(st.sampled_from([None, False, True])) if mode in ALIGNABLE else None
    return rank, mode, spatial, kw, align


@settings(max_examples=40, deadline=None)
@given(resizes(), st.sampled_from(DTYPES))
def test_property_sizes_match_torch(case, dtype):
    rank, mode, spatial, kw, align = case
    check_against_torch(_interp(mode=mode, align_corners=align, **kw), [randn(1, 2, *spatial)],
                        dtype)


# -- TRAPS.md 22 ----------------------------------------------------------------------------

def test_trap_half_pixel_centres_without_align_corners():
    x = ember.tensor([[[0.0, 10.0]]])
    # output centres 0.5, 1.5, 2.5, 3.5 map to input positions -0.25 (clamped), 0.25, 0.75, 1.25
    assert F.interpolate(x, size=4, mode="linear").tolist() == [[[0.0, 2.5, 7.5, 10.0]]]
    assert F.interpolate(x, size=4, mode="linear", align_corners=True).tolist()[0][0] == \
        pytest.approx([0.0, 10 / 3, 20 / 3, 10.0])


def test_trap_legacy_nearest_floors_while_nearest_exact_rounds():
    x = ember.arange(3.0).view(1, 1, 3)
    # 3 -> 5: legacy picks floor(j * 3/5) = 0 0 1 1 2; exact floor((j + 0.5) * 3/5) = 0 0 1 2 2
    assert F.interpolate(x, size=5, mode="nearest").tolist() == [[[0, 0, 1, 1, 2]]]
    assert F.interpolate(x, size=5, mode="nearest-exact").tolist() == [[[0, 0, 1, 2, 2]]]
    for mode in ("nearest", "nearest-exact"):
        check_against_torch(_interp(size=5, mode=mode), [np.arange(3.0).reshape(1, 1, 3)])


def test_trap_scale_factor_output_is_floor_and_given_scale_places_samples():
    x = np.arange(10.0).reshape(1, 1, 10)
    out = F.interpolate(ember.tensor(x), scale_factor=1.55, mode="linear")
    assert out.shape == (1, 1, 15)  # floor(15.5)
    # the given 1.55 (not 15/10) sets the step: the last sample is at (14.5 / 1.55) - 0.5
    assert out[0, 0, -1].item() == pytest.approx(14.5 / 1.55 - 0.5)
    recomputed = F.interpolate(ember.tensor(x), scale_factor=1.55, mode="linear",
                               recompute_scale_factor=True)
    assert recomputed[0, 0, -1].item() == pytest.approx(min(14.5 / 1.5 - 0.5, 9))
    for recompute in (None, False, True):
        check_against_torch(_interp(scale_factor=1.55, mode="linear",
                                    recompute_scale_factor=recompute), [x])


def test_nearest_same_size_with_a_scale_still_moves_samples_as_torch():
    x = np.arange(10.0).reshape(1, 1, 10)
    check_against_torch(_interp(scale_factor=1.05, mode="nearest"), [x], grad=False)
    assert F.interpolate(ember.tensor(x), scale_factor=1.05).tolist() == \
        [[[0, 0, 1, 2, 3, 4, 5, 6, 7, 8]]]


@pytest.mark.parametrize("mode,kw", [
    ("nearest", dict(scale_factor=1.05)),        # out == in, scale != 1
    ("nearest", dict(scale_factor=2.05)),        # out == 2 in, scale != 2
    ("bicubic", dict(scale_factor=(1.3, 1.2))),  # every size unchanged
])
def test_gradient_is_the_transpose_of_the_forward_where_torch_differs(mode, kw):
    # torch's backward for these takes a shortcut (identity / j >> 1 / copy) that its forward
    # does not: ember's gradient is the adjoint of the forward it computes (gradcheck), and the
    # forward is torch's
    shape = (1, 1, 10) if mode == "nearest" else (1, 1, 4, 5)
    x = randn(*shape)
    check_against_torch(_interp(mode=mode, **kw), [x], grad=False)
    t = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(lambda v: F.interpolate(v, mode=mode, **kw), (t,))


def test_area_is_adaptive_average_pooling():
    x = randn(2, 3, 7, 9)
    check_against_torch(_interp(size=(3, 4), mode="area"), [x])
    check_against_torch(_interp(scale_factor=0.45, mode="area"), [x])


def test_float16_and_uint8():
    x = randn(1, 2, 5, 4)
    for mode in ("nearest", "bilinear", "bicubic"):
        got = F.interpolate(ember.tensor(x).half(), size=(7, 3), mode=mode)
        want = torch.nn.functional.interpolate(torch.tensor(x).half(), size=(7, 3), mode=mode)
        assert_close(got, want, "float16")
    img = RNG.integers(0, 256, (1, 3, 5, 6)).astype(np.uint8)
    for mode in ("nearest", "nearest-exact"):
        got = F.interpolate(ember.tensor(img), size=(8, 4), mode=mode)
        want = torch.nn.functional.interpolate(torch.tensor(img), size=(8, 4), mode=mode)
        assert got.dtype == ember.uint8
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_grad_fn_names_are_torchs():
    for rank, mode in MODES:
        if mode == "area":
            continue
        x = torch.randn(1, 1, *([3] * (rank - 2)), requires_grad=True)
        want = type(torch.nn.functional.interpolate(x, scale_factor=2, mode=mode).grad_fn)
        e = ember.randn(1, 1, *([3] * (rank - 2)), requires_grad=True)
        got = type(F.interpolate(e, scale_factor=2, mode=mode).grad_fn)
        assert got.__name__ == want.__name__
    for mode in ("bilinear", "bicubic"):
        x = ember.randn(1, 1, 6, 6, requires_grad=True)
        got = F.interpolate(x, size=3, mode=mode, antialias=True).grad_fn
        want = torch.nn.functional.interpolate(torch.randn(1, 1, 6, 6, requires_grad=True),
                                               size=3, mode=mode, antialias=True).grad_fn
        assert type(got).__name__ == type(want).__name__


# -- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kw,match", [
    ((1, 1, 4), dict(size=3, mode="nearest", align_corners=True), "align_corners option"),
    ((1, 1, 4), dict(size=3, mode="area", align_corners=False), "align_corners option"),
    ((1, 1, 4), dict(size=3, scale_factor=2), "only one of size or scale_factor"),
    ((1, 1, 4), dict(), "either size or scale_factor"),
    ((1, 1, 4), dict(size=(3, 3)), "same number of spatial dimensions"),
    ((1, 1, 4), dict(scale_factor=(2, 2)), "same number of spatial dimensions"),
    ((1, 1, 4), dict(size=[3.0]), "expected size to be one of int"),
    ((1, 1, 4), dict(size=3, recompute_scale_factor=True), "not meaningful with an explicit"),
    ((1, 1, 4), dict(size=3, mode="linear", antialias=True), "Anti-alias option"),
    ((1, 1, 4, 4, 4), dict(size=3, mode="trilinear", antialias=True), "Anti-alias option"),
    ((1, 1, 4), dict(size=3, mode="bilinear"), "Got 3D input, but bilinear mode needs 4D"),
    ((1, 1, 4), dict(size=3, mode="trilinear"), "Got 3D input, but trilinear mode needs 5D"),
    ((1, 1, 4, 4), dict(size=3, mode="linear"), "Got 4D input, but linear mode needs 3D"),
    ((1, 1, 4, 4), dict(size=3, mode="trilinear"), "Got 4D input, but trilinear mode needs 5D"),
    ((1, 1, 4, 4, 4), dict(size=3, mode="linear"), "Got 5D input, but linear mode needs 3D"),
    ((1, 1, 4, 4, 4), dict(size=3, mode="bilinear"), "Got 5D input, but bilinear mode needs 4D"),
    ((1, 1, 4), dict(size=3, mode="bicubic"), r"Only 3D, 4D and 5D input .*got bicubic"),
    ((1, 1, 4), dict(size=3, mode="bogus"), r"\(got bogus\)"),
    ((4, 4), dict(size=3), r"\(got 2D\)"),
    ((1, 1, 1, 1, 1, 1), dict(size=3), r"\(got 6D\)"),
    ((1, 1, 4), dict(size=0), r"greater than 0, but got input \(W: 4\) and output \(W: 0\)"),
    ((1, 1, 4, 5), dict(scale_factor=0.1), r"input \(H: 4, W: 5\) output \(H: 0, W: 0\)"),
    ((1, 1, 4), dict(scale_factor=-1.0), r"output \(W: -4\)"),
    ((1, 1, 0), dict(size=3), r"input \(W: 0\)"),
    ((1, 0, 4), dict(size=3), r"Non-empty 3D data tensor expected .*\[1, 0, 4\]"),
    ((1, 1, 4, 4), dict(size=3, mode="lanczos"), "Lanczos mode requires antialias=True"),
    ((1, 1, 4, 4), dict(size=3, mode="lanczos", align_corners=True, antialias=True),
     "Lanczos mode does not support align_corners=True"),
])
def test_bad_arguments_raise_as_torch(shape, kw, match):
    same_error(lambda lib, a: lib.nn.functional.interpolate(lib.tensor(a), **kw),
               np.zeros(shape, np.float32), match=match)


def test_integer_input_raises_as_torch():
    x = np.zeros((1, 1, 4), np.int64)
    for mode in ("nearest", "linear"):
        same_error(lambda lib, a: lib.nn.functional.interpolate(lib.tensor(a), size=3, mode=mode),
                   x, match="not implemented for 'Long'")


def test_empty_batch_is_allowed():
    out = F.interpolate(ember.zeros(0, 2, 4), size=3, mode="linear")
    assert out.shape == (0, 2, 3)


# -- deprecated functions and modules ---------------------------------------------------------

@pytest.mark.parametrize("name,kw", [("upsample", dict(size=(5, 3), mode="bilinear")),
                                     ("upsample_nearest", dict(scale_factor=2)),
                                     ("upsample_bilinear", dict(size=(5, 3)))])
def test_deprecated_upsample_functions_warn_and_match(name, kw):
    x = randn(1, 2, 3, 4)
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        check_against_torch(lambda lib, t: getattr(lib.nn.functional, name)(t, **kw), [x])


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Upsample(scale_factor=2),
    lambda lib: lib.nn.Upsample(scale_factor=(2, 1.5), mode="bilinear", align_corners=True),
    lambda lib: lib.nn.Upsample(size=(5, 7), mode="bicubic"),
    lambda lib: lib.nn.Upsample(size=6, mode="nearest-exact"),
    lambda lib: lib.nn.Upsample(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True),
    lambda lib: lib.nn.UpsamplingNearest2d(scale_factor=3),
    lambda lib: lib.nn.UpsamplingNearest2d(size=(4, 5)),
    lambda lib: lib.nn.UpsamplingBilinear2d(scale_factor=2),
    lambda lib: lib.nn.UpsamplingBilinear2d(size=(3, 7)),
])
def test_modules_match_torch(make):
    e, t = make(ember), make(torch)
    assert repr(e) == repr(t)
    for attr in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "name"):
        assert getattr(e, attr) == getattr(t, attr)
    check_against_torch(lambda lib, x: (e if lib is ember else t)(x), [randn(2, 3, 4, 5)])


def test_upsample_module_without_a_scale_stores_none():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.Upsample(scale_factor=0).scale_factor is None
        assert repr(nn.Upsample(size=3)) == "Upsample(size=3, mode='nearest')"
