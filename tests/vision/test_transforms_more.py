"""ember.vision.transforms' colour, geometric, crop and auto-augmentation transforms against
torchvision 0.28: functional ops on PIL images and tensor images (uint8/float32, single and
batched), transforms with the same seed in ember and torch (parameters and outputs), reprs,
module behaviour and torchvision's errors."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F
from tests.torchvision_oracle import torchvision

tv = torchvision()
TT, TF = tv.transforms, tv.transforms.functional
IM, TIM = T.InterpolationMode, TT.InterpolationMode

RNG = np.random.default_rng(1234)
U8 = RNG.integers(0, 256, (2, 3, 9, 11), dtype=np.uint8)
F32 = RNG.random((2, 3, 9, 11), dtype=np.float32)
GRAY = RNG.integers(0, 256, (1, 9, 11), dtype=np.uint8)
ARRAYS = {"u8": U8[0], "u8_batch": U8, "f32": F32[0], "f32_batch": F32, "gray": GRAY}
PIL_RGB = Image.fromarray(U8[0].transpose(1, 2, 0))
PIL_L = Image.fromarray(GRAY[0])


def streams_exact() -> bool:
    ember.manual_seed(0)
    torch.manual_seed(0)
    return np.array_equal(ember.rand(3).numpy(), torch.rand(3).numpy())


seeded = pytest.mark.skipif(not streams_exact(), reason="ember's generator is not torch's stream yet")


def assert_same(ours, theirs, float_tol=2.5e-7):
    """PIL and integer images must be identical; float images equal up to the last bits (the
    order torch sums a convolution or a pow in is not NumPy's)."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, float_tol)
        return
    if isinstance(theirs, Image.Image):
        assert isinstance(ours, Image.Image) and ours.mode == theirs.mode and ours.size == theirs.size
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        return
    a, b = ours.numpy(), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    if np.issubdtype(b.dtype, np.floating):
        np.testing.assert_allclose(a, b, rtol=float_tol, atol=float_tol)
    else:
        np.testing.assert_array_equal(a, b)


def both(array):
    return ember.tensor(array), torch.from_numpy(array.copy())


def tv_interp(mode):
    return TIM[mode.name] if isinstance(mode, IM) else mode


def run_both(name, img_np, *args, **kwargs):
    e_img, t_img = both(img_np)
    t_kwargs = {k: tv_interp(v) for k, v in kwargs.items()}
    t_args = [tv_interp(a) for a in args]
    return getattr(F, name)(e_img, *args, **kwargs), getattr(TF, name)(t_img, *t_args, **t_kwargs)


COLOUR_CASES = [
    ("adjust_brightness", (0.0,)), ("adjust_brightness", (1.7,)),
    ("adjust_contrast", (0.0,)), ("adjust_contrast", (0.6,)), ("adjust_contrast", (2.5,)),
    ("adjust_saturation", (0.0,)), ("adjust_saturation", (1.9,)),
    ("adjust_hue", (0.0,)), ("adjust_hue", (0.27,)), ("adjust_hue", (-0.5,)),
    ("adjust_gamma", (0.7,)), ("adjust_gamma", (2.2, 0.8)),
    ("adjust_sharpness", (0.0,)), ("adjust_sharpness", (2.3,)),
    ("invert", ()), ("autocontrast", ()),
]


@pytest.mark.parametrize("name,args", COLOUR_CASES)
@pytest.mark.parametrize("key", list(ARRAYS))
def test_colour_ops_tensor(name, args, key):
    assert_same(*run_both(name, ARRAYS[key], *args))


@pytest.mark.parametrize("name,args", COLOUR_CASES + [
    ("posterize", (3,)), ("posterize", (1,)), ("posterize", (8,)), ("solarize", (128,)),
    ("equalize", ())])
@pytest.mark.parametrize("pil", [PIL_RGB, PIL_L], ids=["RGB", "L"])
def test_colour_ops_pil(name, args, pil):
    assert_same(getattr(F, name)(pil, *args), getattr(TF, name)(pil, *args))


@pytest.mark.parametrize("key", ["u8", "u8_batch", "gray"])
@pytest.mark.parametrize("name,args", [("posterize", (1,)), ("posterize", (6,)), ("solarize", (100,)),
                                       ("equalize", ())])
def test_uint8_only_ops(key, name, args):
    assert_same(*run_both(name, ARRAYS[key], *args))


def test_solarize_float_and_equalize_edge_cases():
    assert_same(*run_both("solarize", F32, 0.4))
    flat = np.full((3, 5, 6), 7, np.uint8)  # a single grey level: step 0, returned as is
    assert_same(*run_both("equalize", flat))
    const = np.full((2, 3, 4, 5), 0.25, np.float32)  # autocontrast leaves a constant channel alone
    assert_same(*run_both("autocontrast", const))


@pytest.mark.parametrize("src", ["u8", "f32"])
@pytest.mark.parametrize("dst", ["float32", "float64", "uint8", "int16", "int32", "int64"])
def test_convert_image_dtype(src, dst):
    e_img, t_img = both(ARRAYS[src])
    try:
        expected = TF.convert_image_dtype(t_img, getattr(torch, dst))
    except RuntimeError as err:
        with pytest.raises(RuntimeError, match=str(err).replace("torch.", "ember.")):
            F.convert_image_dtype(e_img, getattr(ember, dst))
        return
    assert_same(F.convert_image_dtype(e_img, getattr(ember, dst)), expected)
    assert_same(T.ConvertImageDtype(getattr(ember, dst))(e_img), expected)


@pytest.mark.parametrize("key", ["u8", "f32_batch", "gray"])
def test_crops(key):
    img = ARRAYS[key]
    assert_same(*run_both("five_crop", img, 4))
    assert_same(*run_both("five_crop", img, [5, 3]))
    assert_same(*run_both("ten_crop", img, [4, 6]))
    assert_same(*run_both("ten_crop", img, 3, vertical_flip=True))
    assert_same(*run_both("resized_crop", img, 1, 2, 6, 7, [5, 4]))
    assert_same(*run_both("resized_crop", img, 0, 0, 9, 11, [12], IM.NEAREST))
    for size in (4, [5, 3]):
        assert_same(F.five_crop(PIL_RGB, size), TF.five_crop(PIL_RGB, size))
    assert_same(F.ten_crop(PIL_RGB, 4, True), TF.ten_crop(PIL_RGB, 4, True))
    assert_same(F.resized_crop(PIL_RGB, 1, 2, 6, 7, [5, 4], IM.BICUBIC),
                TF.resized_crop(PIL_RGB, 1, 2, 6, 7, [5, 4], TIM.BICUBIC))


@pytest.mark.parametrize("key", ["u8", "f32_batch", "gray"])
@pytest.mark.parametrize("kernel,sigma", [(3, None), ([3, 5], [0.8, 1.4]), (5, 2.0), ([1, 3], 0.5)])
def test_gaussian_blur(key, kernel, sigma):
    assert_same(*run_both("gaussian_blur", ARRAYS[key], kernel, sigma), float_tol=5e-7)
    assert_same(F.gaussian_blur(PIL_RGB, kernel, sigma), TF.gaussian_blur(PIL_RGB, kernel, sigma))


def test_erase():
    for key in ("u8", "f32_batch"):
        e_img, t_img = both(ARRAYS[key])
        v = np.float32(0.5) * np.ones((3, 1, 1), np.float32)
        assert_same(F.erase(e_img, 1, 2, 4, 5, ember.tensor(v)), TF.erase(t_img, 1, 2, 4, 5, torch.from_numpy(v)))
    e_img, t_img = both(F32)
    out = F.erase(e_img, 0, 0, 2, 2, ember.tensor(0.0), inplace=True)
    TF.erase(t_img, 0, 0, 2, 2, torch.tensor(0.0), inplace=True)
    assert out is e_img
    assert_same(e_img, t_img)


WARP_INTERP = [IM.NEAREST, IM.BILINEAR]


@pytest.mark.parametrize("interp", WARP_INTERP)
@pytest.mark.parametrize("key", ["u8", "u8_batch", "f32", "f32_batch", "gray"])
@pytest.mark.parametrize("kwargs", [{}, {"expand": True}, {"center": [2, 3]}, {"fill": 7.0},
                                    {"expand": True, "fill": [10.0]}])
@pytest.mark.parametrize("angle", [33.0, 90, -145.5])
def test_rotate(interp, key, kwargs, angle):
    assert_same(*run_both("rotate", ARRAYS[key], angle, interp, **kwargs))


@pytest.mark.parametrize("interp", WARP_INTERP)
@pytest.mark.parametrize("kwargs", [{}, {"expand": True}, {"center": [2, 3]}, {"fill": 7},
                                    {"fill": (10, 20, 30)}])
def test_rotate_pil(interp, kwargs):
    assert_same(F.rotate(PIL_RGB, 37.0, interp, **kwargs), TF.rotate(PIL_RGB, 37.0, tv_interp(interp), **kwargs))


AFFINE_CASES = [
    (20.0, [1, -2], 1.2, [10.0, 5.0], {}),
    (0.0, [0, 0], 1.0, 15.0, {"center": [0, 0]}),
    (-70, [3, 1], 0.7, [0.0, -20.0], {"fill": 3.0}),
    (45.0, [0, 0], 1.0, [12.0], {"center": [4, 2], "fill": [1.0, 2.0, 3.0]}),
]


@pytest.mark.parametrize("interp", WARP_INTERP)
@pytest.mark.parametrize("case", AFFINE_CASES)
def test_affine(interp, case):
    angle, translate, scale, shear, kwargs = case
    for key in ("u8", "u8_batch", "f32_batch"):
        assert_same(*run_both("affine", ARRAYS[key], angle, translate, scale, shear, interp, **kwargs))
    kwargs = {k: ([int(x) for x in v] if k == "fill" and isinstance(v, list) else v) for k, v in kwargs.items()}
    assert_same(F.affine(PIL_RGB, angle, translate, scale, shear, interp, **kwargs),
                TF.affine(PIL_RGB, angle, translate, scale, shear, tv_interp(interp), **kwargs))


PERSPECTIVE_POINTS = [
    ([[0, 0], [10, 0], [10, 8], [0, 8]], [[1, 2], [9, 0], [10, 7], [2, 8]]),
    ([[0, 0], [10, 0], [10, 8], [0, 8]], [[3, 3], [7, 1], [8, 6], [0, 7]]),
]


@pytest.mark.parametrize("interp", WARP_INTERP)
@pytest.mark.parametrize("points", PERSPECTIVE_POINTS)
@pytest.mark.parametrize("fill", [None, 5.0, [0.5, 0.25, 1.0]])
def test_perspective(interp, points, fill):
    for key in ("u8", "f32_batch"):
        assert_same(*run_both("perspective", ARRAYS[key], *points, interp, fill=fill))
    pil_fill = None if fill is None else (int(fill) if isinstance(fill, float) else [1, 2, 3])
    assert_same(F.perspective(PIL_RGB, *points, interp, fill=pil_fill),
                TF.perspective(PIL_RGB, *points, tv_interp(interp), fill=pil_fill))


def test_elastic_transform_fixed_displacement():
    disp = (RNG.random((1, 9, 11, 2), dtype=np.float32) - 0.5) * 0.3
    for key in ("u8", "f32_batch"):
        e_img, t_img = both(ARRAYS[key])
        assert_same(F.elastic_transform(e_img, ember.tensor(disp), IM.BILINEAR, fill=[2.0]),
                    TF.elastic_transform(t_img, torch.from_numpy(disp), TIM.BILINEAR, fill=[2.0]))
    assert_same(F.elastic_transform(PIL_RGB, ember.tensor(disp), IM.NEAREST),
                TF.elastic_transform(PIL_RGB, torch.from_numpy(disp), TIM.NEAREST))


def test_linspace_is_torchs():
    """The grids, blur kernels and magnitude bins are built on torch.linspace's float32
    arithmetic (fma per element); NumPy's linspace differs in the last bit."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b, n = float(rng.normal() * 5), float(rng.normal() * 5), int(rng.integers(1, 120))
        for e_dt, t_dt in ((np.float32, torch.float32), (np.float64, torch.float64)):
            np.testing.assert_array_equal(F._linspace(a, b, n, e_dt), torch.linspace(a, b, n, dtype=t_dt).numpy())


# -- transforms with the same seed ---------------------------------------------------------------

def pair(name, *args, **kwargs):
    t_kwargs = {k: tv_interp(v) for k, v in kwargs.items()}
    return getattr(T, name)(*args, **kwargs), getattr(TT, name)(*args, **t_kwargs)


RANDOM_TRANSFORMS = [
    ("RandomGrayscale", (0.5,), {}),
    ("RandomResizedCrop", (6,), {}),
    ("RandomResizedCrop", ([5, 7],), {"scale": (0.5, 0.9), "ratio": (0.5, 2.0), "interpolation": IM.BICUBIC}),
    ("RandomResizedCrop", (4,), {"scale": (0.95, 1.0), "ratio": (3.0, 4.0)}),  # falls back to the centre
    ("ColorJitter", (0.4, 0.4, 0.4, 0.1), {}),
    ("ColorJitter", (), {"brightness": (0.5, 1.5), "hue": (-0.3, 0.2)}),
    ("RandomRotation", (30,), {}),
    ("RandomRotation", ([-90, 45],), {"interpolation": IM.BILINEAR, "expand": True, "fill": 9}),
    ("RandomAffine", (25,), {"translate": (0.2, 0.3), "scale": (0.8, 1.2), "shear": 10}),
    ("RandomAffine", (0,), {"shear": (-5, 5, -10, 10), "interpolation": IM.BILINEAR, "center": (1, 2)}),
    ("RandomPerspective", (0.6, 0.7), {}),
    ("RandomPerspective", (0.3, 1.0), {"interpolation": IM.NEAREST, "fill": 4}),
    ("GaussianBlur", (3,), {}),
    ("GaussianBlur", ((3, 5), 1.5), {}),
    ("RandomInvert", (), {}),
    ("RandomPosterize", (3,), {}),
    ("RandomSolarize", (120,), {}),
    ("RandomAdjustSharpness", (2.0,), {}),
    ("RandomAutocontrast", (), {}),
    ("RandomEqualize", (), {}),
    ("RandomHorizontalFlip", (), {}),
    ("RandomVerticalFlip", (0.3,), {}),
    ("RandomCrop", (5,), {"padding": 2}),
]
UINT8_ONLY = {"RandomPosterize", "RandomEqualize", "RandomSolarize"}  # torchvision raises on float


@seeded
@pytest.mark.parametrize("name,args,kwargs", RANDOM_TRANSFORMS, ids=lambda x: str(x)[:40])
def test_random_transform_seeded(name, args, kwargs):
    ours, theirs = pair(name, *args, **kwargs)
    inputs = [PIL_RGB, "u8", "u8_batch"] + ([] if name in UINT8_ONLY else ["f32", "f32_batch"])
    for seed in range(6):
        for img in inputs:
            ember.manual_seed(seed)
            torch.manual_seed(seed)
            if isinstance(img, str):
                e_img, t_img = both(ARRAYS[img])
                assert_same(ours(e_img), theirs(t_img), float_tol=2e-6)  # hue: rgb->hsv->rgb divides
            else:
                assert_same(ours(img), theirs(img))
            assert np.array_equal(ember.rand(2).numpy(), torch.rand(2).numpy())  # same draws used


@seeded
def test_get_params_seeded():
    img_e, img_t = both(U8[0])
    for seed in range(20):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        assert T.RandomResizedCrop.get_params(img_e, (0.08, 1.0), (3 / 4, 4 / 3)) == \
            TT.RandomResizedCrop.get_params(img_t, (0.08, 1.0), (3 / 4, 4 / 3))
        e = T.ColorJitter.get_params((0.5, 1.5), None, (0.0, 2.0), (-0.1, 0.1))
        t = TT.ColorJitter.get_params((0.5, 1.5), None, (0.0, 2.0), (-0.1, 0.1))
        assert e[0].tolist() == t[0].tolist() and e[1:] == t[1:]
        assert T.RandomRotation.get_params([-30.0, 30.0]) == TT.RandomRotation.get_params([-30.0, 30.0])
        assert T.RandomAffine.get_params([-10.0, 10.0], [0.1, 0.2], [0.9, 1.1], [-5.0, 5.0, -3.0, 3.0], [11, 9]) == \
            TT.RandomAffine.get_params([-10.0, 10.0], [0.1, 0.2], [0.9, 1.1], [-5.0, 5.0, -3.0, 3.0], [11, 9])
        assert T.RandomPerspective.get_params(11, 9, 0.5) == TT.RandomPerspective.get_params(11, 9, 0.5)
        assert T.GaussianBlur.get_params(0.1, 2.0) == TT.GaussianBlur.get_params(0.1, 2.0)
        assert T.AutoAugment.get_params(25)[0] == TT.AutoAugment.get_params(25)[0]
        e = T.RandomErasing.get_params(img_e, (0.02, 0.33), (0.3, 3.3), value=None)
        t = TT.RandomErasing.get_params(img_t, (0.02, 0.33), (0.3, 3.3), value=None)
        assert e[:4] == t[:4]
        np.testing.assert_array_equal(e[4].numpy(), t[4].numpy())


@seeded
@pytest.mark.parametrize("kwargs", [{}, {"value": "random"}, {"value": (1, 2, 3), "scale": (0.1, 0.5)},
                                    {"p": 1.0, "scale": (0.9, 1.0), "ratio": (3.0, 3.3)}])
def test_random_erasing_seeded(kwargs):
    ours, theirs = T.RandomErasing(**kwargs), TT.RandomErasing(**kwargs)
    for seed in range(8):
        for key in ("f32", "f32_batch", "u8"):
            e_img, t_img = both(ARRAYS[key])
            ember.manual_seed(seed)
            torch.manual_seed(seed)
            assert_same(ours(e_img), theirs(t_img))


@seeded
@pytest.mark.parametrize("policy", ["IMAGENET", "CIFAR10", "SVHN"])
def test_autoaugment_seeded(policy):
    ours = T.AutoAugment(T.AutoAugmentPolicy[policy])
    theirs = TT.AutoAugment(TT.AutoAugmentPolicy[policy])
    for seed in range(12):
        for img in (PIL_RGB, "u8", "u8_batch"):
            ember.manual_seed(seed)
            torch.manual_seed(seed)
            if isinstance(img, str):
                e_img, t_img = both(ARRAYS[img])
                assert_same(ours(e_img), theirs(t_img))
            else:
                assert_same(ours(img), theirs(img))


@seeded
@pytest.mark.parametrize("name,kwargs", [("RandAugment", {}), ("RandAugment", {"num_ops": 3, "magnitude": 20}),
                                         ("TrivialAugmentWide", {}),
                                         ("TrivialAugmentWide", {"interpolation": IM.BILINEAR, "fill": 3})])
def test_rand_and_trivial_augment_seeded(name, kwargs):
    ours, theirs = pair(name, **kwargs)
    for seed in range(15):
        for img in (PIL_RGB, "u8", "u8_batch"):
            ember.manual_seed(seed)
            torch.manual_seed(seed)
            if isinstance(img, str):
                e_img, t_img = both(ARRAYS[img])
                assert_same(ours(e_img), theirs(t_img))
            else:
                fill = kwargs.get("fill")
                if fill is not None:
                    continue  # torchvision passes a scalar fill to Pillow unchanged as well
                assert_same(ours(img), theirs(img))


@seeded
def test_elastic_transform_seeded():
    ours, theirs = T.ElasticTransform(alpha=20.0, sigma=2.0), TT.ElasticTransform(alpha=20.0, sigma=2.0)
    for seed in range(3):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        e_img, t_img = both(U8[0])
        assert_same(ours(e_img), theirs(t_img))


@seeded
def test_random_apply_choice_order_seeded():
    ours = T.RandomApply([T.ColorJitter(0.5), T.RandomInvert(1.0)], p=0.6)
    theirs = TT.RandomApply([TT.ColorJitter(0.5), TT.RandomInvert(1.0)], p=0.6)
    for seed in range(8):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        assert_same(ours(PIL_RGB), theirs(PIL_RGB))
    ours = T.RandomChoice([T.RandomInvert(1.0), T.Grayscale(3), T.RandomSolarize(50, 1.0)], p=[0.2, 0.3, 0.5])
    theirs = TT.RandomChoice([TT.RandomInvert(1.0), TT.Grayscale(3), TT.RandomSolarize(50, 1.0)], p=[0.2, 0.3, 0.5])
    order_e = T.RandomOrder([T.RandomInvert(1.0), T.RandomPosterize(2, 1.0), T.RandomSolarize(90, 1.0)])
    order_t = TT.RandomOrder([TT.RandomInvert(1.0), TT.RandomPosterize(2, 1.0), TT.RandomSolarize(90, 1.0)])
    for seed in range(8):
        random.seed(seed)
        ember.manual_seed(seed)
        a, c = ours(PIL_RGB), order_e(PIL_RGB)
        random.seed(seed)
        torch.manual_seed(seed)
        b, d = theirs(PIL_RGB), order_t(PIL_RGB)
        assert_same(a, b)
        assert_same(c, d)


def test_linear_transformation():
    rng = np.random.default_rng(5)
    n = 3 * 2 * 2
    matrix, mean = rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    img = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    ours = T.LinearTransformation(ember.tensor(matrix), ember.tensor(mean))
    theirs = TT.LinearTransformation(torch.from_numpy(matrix), torch.from_numpy(mean))
    np.testing.assert_allclose(ours(ember.tensor(img)).numpy(), theirs(torch.from_numpy(img)).numpy(),
                               rtol=1e-5, atol=1e-5)
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="transformation_matrix should be square"):
        T.LinearTransformation(ember.zeros(3, 4), ember.zeros(3))
    with pytest.raises(ValueError, match=r"mean_vector should have the same length 2"):
        T.LinearTransformation(ember.zeros(3, 3), ember.zeros(2))
    with pytest.raises(ValueError, match="incompatible shape"):
        ours(ember.zeros(3, 3, 3))


# -- modules and reprs ---------------------------------------------------------------------------

REPR_CASES = RANDOM_TRANSFORMS + [
    ("FiveCrop", (4,), {}), ("TenCrop", ((3, 4), True), {}),
    ("RandomErasing", (), {"value": "random"}), ("ElasticTransform", (), {}),
    ("AutoAugment", (), {}), ("RandAugment", (), {}), ("TrivialAugmentWide", (), {}),
    ("Normalize", ((0.5,), (0.2,)), {}), ("Resize", (5,), {}), ("CenterCrop", (4,), {}), ("Pad", (2,), {}),
    ("Grayscale", (3,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", REPR_CASES, ids=lambda x: str(x)[:40])
def test_module_and_repr(name, args, kwargs):
    ours, theirs = pair(name, *args, **kwargs)
    assert isinstance(ours, ember.nn.Module)
    assert repr(ours) == repr(theirs)


def test_repr_composites_and_sequential():
    ours = T.RandomApply([T.RandomInvert(), T.GaussianBlur(3)], p=0.3)
    theirs = TT.RandomApply([TT.RandomInvert(), TT.GaussianBlur(3)], p=0.3)
    assert repr(ours) == repr(theirs)
    assert repr(T.RandomChoice([T.RandomInvert()], p=[1.0])) == repr(TT.RandomChoice([TT.RandomInvert()], p=[1.0]))
    assert repr(T.RandomOrder([T.RandomInvert()])) == repr(TT.RandomOrder([TT.RandomInvert()]))
    assert repr(T.ConvertImageDtype(ember.float32)) == "ConvertImageDtype()"
    seq = ember.nn.Sequential(T.CenterCrop(6), T.RandomHorizontalFlip(1.0), T.ConvertImageDtype(ember.float32),
                              T.Normalize((0.5,) * 3, (0.25,) * 3))
    tseq = torch.nn.Sequential(TT.CenterCrop(6), TT.RandomHorizontalFlip(1.0), TT.ConvertImageDtype(torch.float32),
                               TT.Normalize((0.5,) * 3, (0.25,) * 3))
    e_img, t_img = both(U8)
    assert_same(seq(e_img), tseq(t_img))
    assert repr(seq) == repr(tseq)
    calls = []
    ours.register_forward_hook(lambda module, inp, out: calls.append(module))
    ours(PIL_RGB)
    assert calls == [ours]


# -- errors --------------------------------------------------------------------------------------

def same_error(make_ours, make_theirs):
    with pytest.raises(Exception) as expected:
        make_theirs()
    with pytest.raises(type(expected.value)) as got:
        make_ours()
    assert str(got.value).replace("ember.", "torch.") == str(expected.value)


ERROR_CASES = [
    ("adjust_brightness", (-1.0,)), ("adjust_contrast", (-0.5,)), ("adjust_saturation", (-2,)),
    ("adjust_hue", (0.6,)), ("adjust_gamma", (-1.0,)), ("adjust_sharpness", (-1.0,)),
    ("posterize", (9,)), ("solarize", (300,)), ("five_crop", (20,)), ("five_crop", ([1, 2, 3],)),
    ("gaussian_blur", (4,)), ("gaussian_blur", ([3, 3, 3],)), ("gaussian_blur", (3, -1.0)),
    ("gaussian_blur", (3, [1.0, 2.0, 3.0])), ("gaussian_blur", ("3",)),
    ("rotate", ("30",)), ("rotate", (30.0, "nearest")), ("rotate", (30.0, IM.BICUBIC)),
    ("rotate", (30.0, IM.NEAREST, False, None, [1.0, 2.0])),
    ("affine", (0.0, [1], 1.0, 0.0)), ("affine", (0.0, [0, 0], 0.0, 0.0)),
    ("affine", (0.0, [0, 0], 1.0, [1.0, 2.0, 3.0])), ("affine", (0.0, 5, 1.0, 0.0)),
    ("perspective", ([[0, 0]], [[0, 0]])),
]


@pytest.mark.parametrize("name,args", ERROR_CASES, ids=lambda x: str(x)[:30])
def test_functional_errors(name, args):
    e_img, t_img = both(U8[0])
    t_args = [tv_interp(a) for a in args]
    same_error(lambda: getattr(F, name)(e_img, *args), lambda: getattr(TF, name)(t_img, *t_args))


def test_tensor_only_errors():
    for name in ("posterize", "equalize"):
        same_error(lambda: getattr(F, name)(*both(F32[0])[:1], *((2,) if name == "posterize" else ())),
                   lambda: getattr(TF, name)(both(F32[0])[1], *((2,) if name == "posterize" else ())))
    same_error(lambda: F.invert(ember.zeros(4, 4)), lambda: TF.invert(torch.zeros(4, 4)))
    same_error(lambda: F.adjust_brightness(ember.zeros(2, 4, 4), 1.0), lambda: TF.adjust_brightness(torch.zeros(2, 4, 4), 1.0))
    same_error(lambda: F.erase(PIL_RGB, 0, 0, 1, 1, ember.tensor(0.0)), lambda: TF.erase(PIL_RGB, 0, 0, 1, 1, torch.tensor(0.0)))
    same_error(lambda: F.convert_image_dtype(U8, ember.float32), lambda: TF.convert_image_dtype(U8, torch.float32))


TRANSFORM_ERROR_CASES = [
    ("ColorJitter", (-0.1,), {}), ("ColorJitter", ((1.5, 0.5),), {}), ("ColorJitter", ([1, 2, 3],), {}),
    ("ColorJitter", (0, 0, 0, 0.7), {}), ("RandomRotation", (-5,), {}), ("RandomRotation", ([1, 2, 3],), {}),
    ("RandomRotation", (5,), {"center": [1]}), ("RandomRotation", (5,), {"fill": object()}),
    ("RandomAffine", (5,), {"translate": (0.5, 1.5)}), ("RandomAffine", (5,), {"scale": (0, 1)}),
    ("RandomAffine", (5,), {"shear": (1, 2, 3)}), ("RandomAffine", (5,), {"translate": 0.5}),
    ("GaussianBlur", (4,), {}), ("GaussianBlur", (3, -1), {}), ("GaussianBlur", (3, (2.0, 1.0)), {}),
    ("GaussianBlur", (3, (1, 2, 3)), {}), ("GaussianBlur", ((3, 3, 3),), {}),
    ("RandomErasing", (), {"value": "abc"}), ("RandomErasing", (), {"value": None}),
    ("RandomErasing", (), {"scale": (0.1, 1.5)}), ("RandomErasing", (1.5,), {}),
    ("RandomErasing", (), {"scale": 0.5}), ("RandomResizedCrop", (4,), {"scale": 0.5}),
    ("RandomResizedCrop", (4,), {"ratio": 1.0}), ("RandomResizedCrop", ((1, 2, 3),), {}),
    ("ElasticTransform", (5,), {}), ("ElasticTransform", ((1.0, 2.0, 3.0),), {}),
    ("ElasticTransform", (1.0, [1, 2]), {}), ("RandomChoice", (T.RandomInvert(),), {}),
    ("RandomApply", ([],), {"p": "x"}), ("FiveCrop", ((1, 2, 3),), {}),
]


@pytest.mark.parametrize("name,args,kwargs", TRANSFORM_ERROR_CASES, ids=lambda x: str(x)[:30])
def test_transform_errors(name, args, kwargs):
    if name == "RandomApply":
        same_error(lambda: T.RandomApply([], p="x")(ember.zeros(3, 4, 4)),
                   lambda: TT.RandomApply([], p="x")(torch.zeros(3, 4, 4)))
        return
    same_error(lambda: getattr(T, name)(*args, **kwargs), lambda: getattr(TT, name)(*args, **kwargs))


def test_random_erasing_value_length_error():
    same_error(lambda: T.RandomErasing(p=1.0, value=[1, 2])(ember.zeros(3, 5, 5)),
               lambda: TT.RandomErasing(p=1.0, value=[1, 2])(torch.zeros(3, 5, 5)))


def test_resized_crop_warns_on_reversed_ranges():
    with pytest.warns(UserWarning, match=r"Scale and ratio should be of kind \(min, max\)"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))


# -- property tests over random images and parameters --------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 12), w=st.integers(3, 12), batch=st.booleans(), seed=st.integers(0, 2**16),
       op=st.sampled_from(["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
                           "adjust_sharpness", "adjust_gamma"]),
       factor=st.floats(0.0, 2.5), as_float=st.booleans())
def test_colour_ops_property(h, w, batch, seed, op, factor, as_float):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, ((2,) if batch else ()) + (3, h, w), dtype=np.uint8)
    if as_float:
        img = (img / 255).astype(np.float32)
    if op == "adjust_hue":
        factor = factor / 5 - 0.25
    assert_same(*run_both(op, img, factor), float_tol=1e-6)
    pil = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    assert_same(getattr(F, op)(pil, factor), getattr(TF, op)(pil, factor))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 12), w=st.integers(2, 12), seed=st.integers(0, 2**16),
       angle=st.floats(-180, 180), tx=st.integers(-3, 3), ty=st.integers(-3, 3),
       scale=st.floats(0.5, 2.0), shear=st.floats(-30, 30), bilinear=st.booleans(), as_float=st.booleans())
def test_affine_property(h, w, seed, angle, tx, ty, scale, shear, bilinear, as_float):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (3, h, w), dtype=np.uint8)
    if as_float:
        img = (img / 255).astype(np.float32)
    interp = IM.BILINEAR if bilinear else IM.NEAREST
    assert_same(*run_both("affine", img, angle, [tx, ty], scale, [shear, 0.0], interp, fill=[1.0]), float_tol=1e-6)
    pil = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    assert_same(F.affine(pil, angle, [tx, ty], scale, shear, interp),
                TF.affine(pil, angle, [tx, ty], scale, shear, tv_interp(interp)))
