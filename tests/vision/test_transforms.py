"""ember.vision.transforms against torchvision's documented semantics. torchvision cannot be
installed beside this torch, so expected values come from Pillow and NumPy applied as
torchvision applies them, and from torch itself where torchvision calls torch (ToTensor's
division, Normalize, tensor resize = interpolate(antialias=True))."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F


@pytest.fixture
def rgb(rng):
    return Image.fromarray(rng.integers(0, 256, (7, 10, 3), dtype=np.uint8))


@pytest.fixture
def chw(rng):
    return rng.random((3, 7, 10)).astype(np.float32)


def torch_to_tensor(array_hwc: np.ndarray) -> np.ndarray:
    """torchvision's ToTensor on a uint8 HWC array: permute, then float().div(255) in torch."""
    return torch.from_numpy(array_hwc).permute(2, 0, 1).contiguous().to(torch.float32).div(255).numpy()


# -- conversions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "CMYK"])
def test_to_tensor_pil_modes(rng, mode):
    img = Image.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)).convert(mode)
    out = T.ToTensor()(img)
    array = np.array(img).reshape(5, 6, -1)
    assert out.dtype == ember.float32 and tuple(out.shape) == (array.shape[2], 5, 6)
    np.testing.assert_array_equal(out.numpy(), torch_to_tensor(array))


def test_to_tensor_special_modes(rng):
    bits = Image.fromarray(rng.integers(0, 2, (4, 5), dtype=np.uint8) * 255).convert("1")
    np.testing.assert_array_equal(T.ToTensor()(bits).numpy()[0], np.array(bits).astype(np.float32))
    ints = Image.fromarray(rng.integers(-5, 5, (4, 5)).astype(np.int32), mode="I")
    out = T.ToTensor()(ints)
    assert out.dtype == ember.int32  # not uint8: no scaling, as torchvision
    np.testing.assert_array_equal(out.numpy()[0], np.array(ints))
    floats = Image.fromarray(rng.random((4, 5)).astype(np.float32), mode="F")
    np.testing.assert_array_equal(T.ToTensor()(floats).numpy()[0], np.array(floats))


def test_to_tensor_ndarray(rng):
    hwc = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(hwc).numpy(), torch_to_tensor(hwc))
    hw = hwc[..., 0]
    assert tuple(T.ToTensor()(hw).shape) == (1, 4, 5)
    f64 = rng.random((4, 5, 2))
    out = T.ToTensor()(f64)
    assert out.dtype == ember.float64
    np.testing.assert_array_equal(out.numpy(), f64.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([1, 2])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_pil_to_tensor(rgb):
    out = T.PILToTensor()(rgb)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), np.array(rgb).transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        T.PILToTensor()(np.zeros((2, 2, 3), np.uint8))


def test_to_pil_image(rng, rgb, chw):
    # float tensors become uint8 by torchvision's pic.mul(255).byte() (truncation)
    img = T.ToPILImage()(ember.from_numpy(chw))
    assert img.mode == "RGB" and img.size == (10, 7)
    expected = torch.from_numpy(chw).mul(255).byte().permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(np.array(img), expected)
    assert np.array_equal(np.array(T.ToPILImage()(T.PILToTensor()(rgb))), np.array(rgb))
    modes = {1: "L", 2: "LA", 4: "RGBA"}
    for c, mode in modes.items():
        assert T.ToPILImage()(rng.integers(0, 256, (3, 4, c), dtype=np.uint8)).mode == mode
    assert T.ToPILImage()(ember.from_numpy(chw[:1])).mode == "L"
    assert T.ToPILImage(mode="F")(ember.from_numpy(chw[:1])).mode == "F"
    assert T.ToPILImage()(ember.from_numpy(chw[0])).mode == "L"  # a 2-d tensor
    with pytest.raises(ValueError, match="pic should not have > 4 channels. Got 5 channels."):
        T.ToPILImage()(ember.zeros(5, 2, 2))
    with pytest.raises(ValueError, match=r"Only modes \['LA'\] are supported for 2D inputs"):
        T.ToPILImage(mode="RGB")(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(TypeError, match="Input type float64 is not supported"):
        T.ToPILImage()(np.zeros((2, 2, 3)))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.sampled_from([1, 3, 4]), seed=st.integers(0, 2**16))
def test_to_tensor_to_pil_roundtrip(h, w, c, seed):
    array = np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)
    back = np.array(T.ToPILImage()(T.PILToTensor()(Image.fromarray(array.squeeze(-1) if c == 1 else array))))
    np.testing.assert_array_equal(back.reshape(h, w, c), array)


# -- Normalize -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_torch(chw, dtype):
    x = chw.astype(dtype)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
    expected = torch.from_numpy(x).sub(torch.tensor(mean, dtype=torch.from_numpy(x).dtype).view(-1, 1, 1)) \
        .div(torch.tensor(std, dtype=torch.from_numpy(x).dtype).view(-1, 1, 1)).numpy()
    t = ember.from_numpy(x.copy())
    out = T.Normalize(mean, std)(t)
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(t.numpy(), x)  # not in place by default
    batch = ember.from_numpy(np.stack([x, x]))
    np.testing.assert_array_equal(T.Normalize(mean, std)(batch).numpy()[1], expected)
    same = T.Normalize(mean, std, inplace=True)(t)
    assert same is t
    np.testing.assert_array_equal(t.numpy(), expected)


def test_normalize_errors(chw):
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        F.normalize(chw, [0.5], [0.5])
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got ember.uint8."):
        F.normalize(ember.zeros(3, 2, 2, dtype=ember.uint8), [0.5], [0.5])
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        F.normalize(ember.zeros(2, 2), [0.5], [0.5])
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to ember.float32"):
        F.normalize(ember.zeros(3, 2, 2), [0.5] * 3, [0.5, 0.0, 0.5])


# -- Resize --------------------------------------------------------------------------------------

@pytest.mark.parametrize("size, max_size, expected_hw", [
    (5, None, (5, 7)),          # smaller edge (h=7) -> 5, w = int(5 * 10 / 7) = 7
    ([5], None, (5, 7)),
    ((4, 9), None, (4, 9)),
    (14, None, (14, 20)),
    (5, 6, (4, 6)),             # capped: long edge 7 > max_size 6
])
def test_resize_output_size_and_values(rgb, size, max_size, expected_hw):
    out = T.Resize(size, max_size=max_size)(rgb)
    assert out.size == expected_hw[::-1]
    np.testing.assert_array_equal(np.array(out), np.array(rgb.resize(expected_hw[::-1], Image.BILINEAR)))


def test_resize_same_size_is_identity_and_filters(rgb):
    assert T.Resize(7)(rgb) is rgb
    out = T.Resize((3, 4), interpolation=T.InterpolationMode.NEAREST)(rgb)
    np.testing.assert_array_equal(np.array(out), np.array(rgb.resize((4, 3), Image.NEAREST)))
    out = T.Resize((3, 4), interpolation=Image.BICUBIC)(rgb)  # Pillow codes are accepted too
    np.testing.assert_array_equal(np.array(out), np.array(rgb.resize((4, 3), Image.BICUBIC)))
    assert repr(T.Resize(5)) == "Resize(size=5, interpolation=bilinear, max_size=None, antialias=True)"


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("out_hw", [(4, 6), (13, 17), (7, 3)])
def test_resize_tensor_matches_torch_antialias(chw, mode, out_hw):
    out = F.resize(ember.from_numpy(chw), list(out_hw), interpolation=T.InterpolationMode(mode))
    expected = torch.nn.functional.interpolate(torch.from_numpy(chw)[None], size=out_hw, mode=mode,
                                               antialias=True, align_corners=False)[0].numpy()
    np.testing.assert_allclose(out.numpy(), expected, atol=2e-6)


def test_resize_errors(rgb):
    with pytest.raises(TypeError, match="Size should be int or sequence. Got <class 'float'>"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="max_size = 5 must be strictly greater than the requested size"):
        T.Resize(5, max_size=5)(rgb)
    # tensor images honour antialias=False (torch's plain bilinear interpolation)
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6) ** 1.5
    expected = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=(3, 3), mode="bilinear",
                                               align_corners=False, antialias=False)[0].numpy()
    np.testing.assert_allclose(T.Resize(3, antialias=False)(ember.from_numpy(x)).numpy(), expected, rtol=1e-6)


# -- crops ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [4, (3, 5), [6], (7, 10), (9, 13)])
def test_center_crop(rgb, chw, size):
    h, w = (size, size) if isinstance(size, int) else (size * 2 if len(size) == 1 else size)
    array = np.array(rgb)
    # expected: zero padding (odd pixel right/bottom) if needed, then the round()ed centre
    ph, pw = max(h - 7, 0), max(w - 10, 0)
    padded = np.pad(array, ((ph // 2, (ph + 1) // 2), (pw // 2, (pw + 1) // 2), (0, 0)))
    top, left = int(round((padded.shape[0] - h) / 2)), int(round((padded.shape[1] - w) / 2))
    expected = padded[top:top + h, left:left + w]
    np.testing.assert_array_equal(np.array(T.CenterCrop(size)(rgb)), expected)
    tpadded = np.pad(chw, ((0, 0), (ph // 2, (ph + 1) // 2), (pw // 2, (pw + 1) // 2)))
    np.testing.assert_array_equal(T.CenterCrop(size)(ember.from_numpy(chw)).numpy(),
                                  tpadded[:, top:top + h, left:left + w])


def test_random_crop_is_a_reproducible_window(rgb):
    crop = T.RandomCrop(5, padding=2, fill=(9, 8, 7))
    padded = np.array(F.pad(rgb, 2, fill=(9, 8, 7)))
    ember.manual_seed(0)
    outs = [np.array(crop(rgb)) for _ in range(20)]
    for out in outs:
        windows = np.lib.stride_tricks.sliding_window_view(padded, (5, 5, 3)).reshape(-1, 5, 5, 3)
        assert any(np.array_equal(out, w) for w in windows)
    assert len({o.tobytes() for o in outs}) > 1
    ember.manual_seed(0)
    assert all(np.array_equal(np.array(crop(rgb)), o) for o in outs)


def test_random_crop_pad_if_needed_and_errors(rgb):
    out = T.RandomCrop((9, 12), pad_if_needed=True)(rgb)
    assert out.size == (12, 9)
    # torchvision pads *both* sides by the shortfall, so the crop is a window of a 11 x 14 image
    assert F.get_dimensions(F.pad(rgb, [2, 0]))[1:] == [7, 14]
    with pytest.raises(ValueError, match=r"Required crop size \(8, 8\) is larger than input image size \(7, 10\)"):
        T.RandomCrop(8)(rgb)
    assert T.RandomCrop(size=(7, 10))(rgb).size == (10, 7)
    t = ember.from_numpy(np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6))
    assert tuple(T.RandomCrop(4, padding=1, padding_mode="reflect")(t).shape) == (2, 4, 4)
    assert repr(T.RandomCrop(5, padding=2)) == "RandomCrop(size=(5, 5), padding=2)"


def test_crop_outside_is_zero(rgb, chw):
    out = np.array(F.crop(rgb, -1, 8, 3, 4))
    expected = np.zeros((3, 4, 3), np.uint8)
    expected[1:, :2] = np.array(rgb)[0:2, 8:10]
    np.testing.assert_array_equal(out, expected)
    tout = F.crop(ember.from_numpy(chw), -1, 8, 3, 4).numpy()
    texpected = np.zeros((3, 3, 4), np.float32)
    texpected[:, 1:, :2] = chw[:, 0:2, 8:10]
    np.testing.assert_array_equal(tout, texpected)


# -- flips ---------------------------------------------------------------------------------------

def test_flips(rgb, chw):
    array = np.array(rgb)
    np.testing.assert_array_equal(np.array(T.RandomHorizontalFlip(p=1.0)(rgb)), array[:, ::-1])
    np.testing.assert_array_equal(np.array(T.RandomVerticalFlip(p=1.0)(rgb)), array[::-1])
    assert T.RandomHorizontalFlip(p=0.0)(rgb) is rgb
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(ember.from_numpy(chw)).numpy(), chw[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(ember.from_numpy(chw)).numpy(), chw[:, ::-1])
    ember.manual_seed(5)
    flips = [T.RandomHorizontalFlip()(rgb) is not rgb for _ in range(400)]
    assert 150 < sum(flips) < 250
    ember.manual_seed(5)
    assert [T.RandomHorizontalFlip()(rgb) is not rgb for _ in range(400)] == flips
    assert repr(T.RandomVerticalFlip(0.3)) == "RandomVerticalFlip(p=0.3)"


# -- Grayscale -----------------------------------------------------------------------------------

def test_grayscale_pil_is_itu_r_601_2(rgb):
    out = T.Grayscale()(rgb)
    assert out.mode == "L"
    np.testing.assert_array_equal(np.array(out), np.array(rgb.convert("L")))
    r, g, b = np.moveaxis(np.array(rgb).astype(np.float64), -1, 0)
    luma = r * 299 / 1000 + g * 587 / 1000 + b * 114 / 1000
    assert np.abs(np.array(out) - luma).max() <= 1.0
    three = T.Grayscale(num_output_channels=3)(rgb)
    assert three.mode == "RGB"
    assert all(np.array_equal(np.array(three)[..., c], np.array(out)) for c in range(3))
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        T.Grayscale(2)(rgb)


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_grayscale_tensor_matches_torchvision_formula(rng, dtype):
    x = torch.from_numpy(rng.integers(0, 256, (2, 3, 4, 5)).astype(np.float32)).to(dtype)
    if dtype == torch.float32:
        x = x / 255
    r, g, b = x.unbind(dim=-3)
    expected = (0.2989 * r + 0.587 * g + 0.114 * b).to(x.dtype).unsqueeze(-3)
    out = T.Grayscale()(ember.from_numpy(x.numpy()))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    out3 = T.Grayscale(3)(ember.from_numpy(x.numpy()))
    np.testing.assert_array_equal(out3.numpy(), expected.expand(x.shape).numpy())
    with pytest.raises(TypeError, match=r"Input image tensor permitted channel values are \[1, 3\], but found 4"):
        T.Grayscale()(ember.zeros(4, 2, 2))


# -- Pad -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("padding, ltrb", [(2, (2, 2, 2, 2)), ([1], (1, 1, 1, 1)), ((1, 3), (1, 3, 1, 3)),
                                           ((1, 0, 2, 3), (1, 0, 2, 3))])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_pil_and_tensor(rgb, chw, padding, ltrb, mode):
    left, top, right, bottom = ltrb
    np_mode = {"constant": "constant"}.get(mode, mode)
    out = np.array(T.Pad(padding, fill=0, padding_mode=mode)(rgb))
    np.testing.assert_array_equal(out, np.pad(np.array(rgb), ((top, bottom), (left, right), (0, 0)), np_mode))
    tout = T.Pad(padding, padding_mode=mode)(ember.from_numpy(chw)).numpy()
    np.testing.assert_array_equal(tout, np.pad(chw, ((0, 0), (top, bottom), (left, right)), np_mode))


def test_pad_fill_negative_and_errors(rgb, chw):
    out = np.array(T.Pad(1, fill=(10, 20, 30))(rgb))
    assert out[0, 0].tolist() == [10, 20, 30] and np.array_equal(out[1:-1, 1:-1], np.array(rgb))
    tout = T.Pad(1, fill=(1.0, 2.0, 3.0))(ember.from_numpy(chw)).numpy()
    assert tout[:, 0, 0].tolist() == [1.0, 2.0, 3.0]
    cropped = np.array(T.Pad((-1, 0, 2, 0), padding_mode="edge")(rgb))
    np.testing.assert_array_equal(cropped, np.pad(np.array(rgb)[:, 1:], ((0, 0), (0, 2), (0, 0)), "edge"))
    gray = rgb.convert("L")
    assert np.array(T.Pad(1, fill=7)(gray))[0, 0] == 7
    pal = rgb.convert("P")
    padded = T.Pad(1, padding_mode="reflect")(pal)
    assert padded.mode == "P" and padded.getpalette() == pal.getpalette()
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        T.Pad("1")
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        T.Pad(1, fill="red")
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match=r"The number of elements in 'fill' does not match the number of channels of the image \(2 != 3\)"):
        T.Pad(1, fill=(1, 2))(rgb)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 8), w=st.integers(2, 8), p=st.integers(0, 3),
       mode=st.sampled_from(["constant", "edge", "reflect", "symmetric"]), seed=st.integers(0, 999))
def test_pad_then_center_crop_is_identity(h, w, p, mode, seed):
    if mode == "reflect" and p >= min(h, w):
        return
    array = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(array)
    np.testing.assert_array_equal(np.array(T.CenterCrop((h, w))(T.Pad(p, padding_mode=mode)(img))), array)


# -- Compose, Lambda, reprs ----------------------------------------------------------------------

def test_compose_pipeline_and_reprs(rgb):
    pipeline = T.Compose([T.Resize(5), T.CenterCrop(4), T.ToTensor(),
                          T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), T.Lambda(lambda t: t * 2)])
    out = pipeline(rgb)
    expected = (torch_to_tensor(np.array(T.CenterCrop(4)(rgb.resize((7, 5), Image.BILINEAR)))) - 0.5) / 0.5 * 2
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert repr(pipeline).splitlines() == [
        "Compose(",
        "    Resize(size=5, interpolation=bilinear, max_size=None, antialias=True)",
        "    CenterCrop(size=(4, 4))",
        "    ToTensor()",
        "    Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))",
        "    Lambda()",
        ")"]
    assert repr(T.Grayscale(3)) == "Grayscale(num_output_channels=3)"
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_non_image_inputs_raise(chw):
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor"):
        F.hflip(chw)
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor"):
        T.Resize(3)(chw)
