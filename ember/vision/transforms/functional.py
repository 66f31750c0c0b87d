"""Image transforms as functions, as torchvision.transforms.functional.

Every function takes a PIL image or an ember Tensor image of shape ``(..., C, H, W)`` (a batch
of images is a tensor with leading dims). PIL images are processed by Pillow itself, exactly as
torchvision does; tensor images are processed on their NumPy arrays (resizing goes through
Pillow's ``"F"`` mode, whose antialiased filters torchvision's ``antialias=True`` reproduces).
Tensor results carry no autograd history.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from enum import Enum

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

import ember
from ember._tensor import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "pad", "crop",
           "center_crop", "hflip", "vflip", "rgb_to_grayscale", "to_grayscale",
           "convert_image_dtype", "adjust_brightness", "adjust_contrast", "adjust_saturation",
           "adjust_hue", "adjust_gamma", "adjust_sharpness", "invert", "posterize", "solarize",
           "autocontrast", "equalize", "resized_crop", "five_crop", "ten_crop", "erase",
           "gaussian_blur", "rotate", "affine", "perspective", "elastic_transform"]


class InterpolationMode(Enum):
    """Interpolation filters, by torchvision's names (values are the strings torchvision uses)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}
_FROM_PIL_CODE = {int(code): mode for mode, code in _PIL_FILTERS.items()
                  if mode is not InterpolationMode.NEAREST_EXACT}


def _interpolation_mode(interpolation) -> InterpolationMode:
    """Accept an InterpolationMode, its string value, or a Pillow filter code (as torchvision)."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, str):
        return InterpolationMode(interpolation)
    if isinstance(interpolation, int) and interpolation in _FROM_PIL_CODE:
        return _FROM_PIL_CODE[interpolation]
    raise TypeError("Argument interpolation should be of type InterpolationMode instead of "
                    f"{type(interpolation).__name__}")


# -- helpers -------------------------------------------------------------------------------------

def _is_pil_image(img) -> bool:
    return isinstance(img, Image.Image)


def _is_tensor(img) -> bool:
    return isinstance(img, Tensor)


def _check_image(img) -> None:
    if not (_is_pil_image(img) or _is_tensor(img)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _check_tensor_image(img) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def _wrap(array: np.ndarray) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(array))


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of an image."""
    if _is_tensor(img):
        _check_tensor_image(img)
        channels = 1 if img.ndim == 2 else img.shape[-3]
        return [channels, img.shape[-2], img.shape[-1]]
    if _is_pil_image(img):
        width, height = img.size
        return [get_image_num_channels(img), height, width]
    raise TypeError(f"Unexpected type {type(img)}")


def get_image_size(img) -> list[int]:
    """``[width, height]`` of an image."""
    _, height, width = get_dimensions(img)
    return [width, height]


def get_image_num_channels(img) -> int:
    if _is_pil_image(img):
        return len(img.getbands())
    return get_dimensions(img)[0]


# -- conversions ---------------------------------------------------------------------------------

# PIL modes whose pixels are not uint8 (torchvision's mode_to_nptype)
_PIL_MODE_DTYPES = {"I": np.int32, "I;16": np.int16, "F": np.float32}


def to_tensor(pic) -> Tensor:
    """A PIL image or an ``H x W x C`` ndarray -> a ``C x H x W`` tensor.

    uint8 data (PIL modes L, LA, P, RGB, RGBA, CMYK, YCbCr, 1 and uint8 arrays) is scaled to
    ``[0, 1]`` in the default float dtype; other data keeps its values and dtype.
    """
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in {2, 3}:
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = pic.transpose((2, 0, 1))
    else:
        img = np.array(pic, _PIL_MODE_DTYPES.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            img = 255 * img
        img = img.reshape(pic.size[1], pic.size[0], get_image_num_channels(pic)).transpose(2, 0, 1)
    if img.dtype == np.uint8:
        dtype = ember.get_default_dtype().np
        return _wrap(img.astype(dtype) / dtype.type(255))
    return ember.from_numpy(np.ascontiguousarray(img))


def pil_to_tensor(pic) -> Tensor:
    """A PIL image -> a ``C x H x W`` tensor of the image's own dtype (no scaling)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    img = np.array(pic, copy=True)
    img = img.reshape(pic.size[1], pic.size[0], get_image_num_channels(pic)).transpose(2, 0, 1)
    return ember.from_numpy(np.ascontiguousarray(img))


def to_pil_image(pic, mode: str | None = None) -> Image.Image:
    """A ``C x H x W`` tensor or an ``H x W x C`` ndarray -> a PIL image.

    Float tensors are taken as ``[0, 1]`` and become uint8 by ``(x * 255)`` truncated, as
    torchvision's ``pic.mul(255).byte()``; the mode defaults from channels and dtype
    (1: L / I;16 / I / F, 2: LA, 3: RGB, 4: RGBA).
    """
    if _is_tensor(pic):
        if pic.ndim not in {2, 3}:
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        npimg = pic._data[None] if pic.ndim == 2 else pic._data
        if npimg.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {npimg.shape[-3]} channels.")
        if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
            npimg = (npimg * 255).astype(np.uint8)
        npimg = np.transpose(npimg, (1, 2, 0))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in {2, 3}:
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        npimg = pic[:, :, None] if pic.ndim == 2 else pic
        if npimg.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {npimg.shape[-1]} channels.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")

    channels = npimg.shape[2]
    if channels == 1:
        npimg = npimg[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(npimg.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {np.dtype}. "
                             f"Should be {expected}")
        mode = expected
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {channels}D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    return Image.fromarray(np.ascontiguousarray(npimg), mode=mode)


# -- tensor-only ---------------------------------------------------------------------------------

def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(x - mean[c]) / std[c]`` for each channel ``c`` of a float tensor image."""
    if not _is_tensor(tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(tensor.shape)}")
    data = tensor._data
    mean = np.asarray(getattr(mean, "_data", mean), dtype=data.dtype)
    std = np.asarray(getattr(std, "_data", std), dtype=data.dtype)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         "division by zero.")
    mean = mean.reshape(-1, 1, 1) if mean.ndim == 1 else mean
    std = std.reshape(-1, 1, 1) if std.ndim == 1 else std
    if not inplace:
        return _wrap((data - mean) / std)
    # through the Tensor's own in-place ops, so version counters and autograd see the change
    return tensor.sub_(Tensor._wrap(mean)).div_(Tensor._wrap(std))


# -- geometry ------------------------------------------------------------------------------------

def _compute_resized_output_size(image_size, size, max_size=None) -> list[int]:
    """torchvision's rule: one number resizes the smaller edge to it (the larger edge keeps
    the aspect ratio, truncated; capped by ``max_size``); two numbers are ``(h, w)``."""
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if len(size) == 1:
        requested_new_short = size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                                 f"size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return [new_h, new_w]
    return [size[0], size[1]]


def _resize_tensor(img: Tensor, size, interpolation: InterpolationMode, antialias) -> Tensor:
    """torchvision's tensor resize: ``interpolate`` on float32 (integer images are cast, then
    rounded back; bicubic uint8 is clamped first), antialiasing only bilinear and bicubic."""
    from ember.nn import functional as nnf

    mode = interpolation.value
    antialias = bool(antialias) and mode in ("bilinear", "bicubic")
    data = img._data
    squeeze = data.ndim < 4
    work = data[None] if squeeze else data
    if work.dtype not in (np.float32, np.float64):
        work = work.astype(np.float32)
    align_corners = False if mode in ("bilinear", "bicubic") else None
    out = nnf.interpolate(Tensor._wrap(np.ascontiguousarray(work)), size=list(size), mode=mode,
                          align_corners=align_corners, antialias=antialias)._data
    if mode == "bicubic" and data.dtype == np.uint8:
        out = np.clip(out, 0, 255)
    if squeeze:
        out = out[0]
    return _wrap(_round_to(out, data.dtype) if out.dtype != data.dtype else out)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: an int (or 1-sequence) matches the smaller edge, keeping the aspect
    ratio; ``(h, w)`` gives the exact size. An image already of that size is returned as is.

    PIL images are resized by Pillow (always antialiased, as in torchvision); tensor images by
    ``interpolate`` as torchvision's tensor path (NEAREST is torch's legacy ``floor`` rule,
    NEAREST_EXACT the pixel-centre one).
    """
    _check_image(img)
    interpolation = _interpolation_mode(interpolation)
    if isinstance(size, numbers.Number):
        size = [int(size)]
    elif isinstance(size, Sequence):
        size = list(size)
    else:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    if len(size) not in (1, 2):
        raise ValueError("If size is a sequence, it should have 1 or 2 values")
    if max_size is not None and len(size) != 1:
        raise ValueError("max_size should only be passed if size specifies the length of the "
                         "smaller edge, i.e. size should be an int or a sequence of length 1 in "
                         "torchscript mode.")
    _, height, width = get_dimensions(img)
    output_size = _compute_resized_output_size((height, width), size, max_size)
    if [height, width] == output_size:
        return img
    if _is_pil_image(img):
        return img.resize(tuple(output_size[::-1]), _PIL_FILTERS[interpolation])
    return _resize_tensor(img, output_size, interpolation, antialias)


def _parse_padding(padding) -> list[int]:
    """``[left, top, right, bottom]`` from an int or a 1, 2 (``[lr, tb]``) or 4-sequence."""
    if isinstance(padding, numbers.Number):
        padding = [int(padding)]
    padding = list(padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return padding


def _parse_fill(fill, num_channels: int, mode: str | None):
    """Pillow's fill colour for an image: a number or a tuple with one value per channel."""
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * num_channels
        elif len(fill) != num_channels:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {num_channels})")
        fill = tuple(fill)
    if mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return fill


# torchvision's padding modes are NumPy's names
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _pad_array(data: np.ndarray, ltrb, padding_mode: str, fill=0, hwc: bool = False):
    """np.pad of the two image axes (the last two, or the first two of an ``H x W x C``
    array); negative padding crops, as torchvision. A sequence ``fill`` gives one value per
    channel (dim -3) of a channels-first array."""
    left, top, right, bottom = ltrb
    h_axis, w_axis = (0, 1) if hwc else (data.ndim - 2, data.ndim - 1)
    crop = [slice(None)] * data.ndim
    crop[h_axis] = slice(max(-top, 0), data.shape[h_axis] - max(-bottom, 0))
    crop[w_axis] = slice(max(-left, 0), data.shape[w_axis] - max(-right, 0))
    data = data[tuple(crop)]
    widths = [(0, 0)] * data.ndim
    widths[h_axis] = (max(top, 0), max(bottom, 0))
    widths[w_axis] = (max(left, 0), max(right, 0))
    if padding_mode != "constant":
        return np.pad(data, widths, mode=padding_mode)
    fill = np.asarray(fill, dtype=np.float64)
    if fill.ndim == 0 or data.ndim < 3:
        return np.pad(data, widths, mode="constant", constant_values=fill.reshape(-1)[0])
    # one fill value per channel: pad each channel plane on its own
    channels = np.moveaxis(data, -3, 0)
    fill = np.broadcast_to(fill, (channels.shape[0],))
    plane_widths = widths[:-3] + widths[-2:]
    padded = [np.pad(ch, plane_widths, mode="constant", constant_values=f) for ch, f in zip(channels, fill)]
    return np.moveaxis(np.stack(padded), 0, -3)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders by ``padding`` (int, ``[lr, tb]`` or ``[left, top, right, bottom]``)
    with ``fill`` (constant) or by ``edge`` / ``reflect`` / ``symmetric`` extension."""
    _check_image(img)
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    ltrb = _parse_padding(padding)

    if _is_tensor(img):
        _check_tensor_image(img)
        fill = 0 if fill is None else fill
        return _wrap(_pad_array(img._data, ltrb, padding_mode, fill).astype(img._data.dtype))

    if padding_mode == "constant":
        fill = _parse_fill(fill, get_image_num_channels(img), img.mode)
        out = ImageOps.expand(img, border=tuple(ltrb), fill=fill)
        if img.mode == "P":
            out.putpalette(img.getpalette())
        return out
    array = np.asarray(img)
    out = Image.fromarray(_pad_array(array, ltrb, padding_mode, hwc=array.ndim == 3))
    if img.mode == "P":
        out.putpalette(img.getpalette())  # turns the "L" array image back into "P"
    return out


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region at ``(top, left)``; outside the image is zero."""
    _check_image(img)
    if _is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    _check_tensor_image(img)
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    data = img._data[..., max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        data = _pad_array(data, ltrb, "constant")
    return _wrap(data)


def _setup_size(size, error_msg: str):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size


def center_crop(img, output_size):
    """The central ``output_size`` region; an image smaller than that is first zero-padded
    (the odd pixel goes right/bottom)."""
    crop_height, crop_width = _setup_size(output_size, "Please provide only two dimensions (h, w) for size.")
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def hflip(img):
    """Mirror left-right."""
    _check_image(img)
    if _is_pil_image(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    _check_tensor_image(img)
    return _wrap(img._data[..., ::-1])


def vflip(img):
    """Mirror top-bottom."""
    _check_image(img)
    if _is_pil_image(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    _check_tensor_image(img)
    return _wrap(img._data[..., ::-1, :])


# -- colour --------------------------------------------------------------------------------------

def to_grayscale(img, num_output_channels: int = 1):
    """A PIL image in grayscale: Pillow's ``convert("L")``, the ITU-R 601-2 luma
    ``L = R * 299/1000 + G * 587/1000 + B * 114/1000``; ``num_output_channels=3`` repeats it."""
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    img = img.convert("L")
    if num_output_channels == 3:
        np_img = np.array(img, dtype=np.uint8)
        img = Image.fromarray(np.dstack([np_img, np_img, np_img]), "RGB")
    return img


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Grayscale of a PIL image (Pillow's luma) or an RGB tensor image
    (``0.2989 R + 0.587 G + 0.114 B`` in float, cast back to the input dtype, as torchvision)."""
    if _is_pil_image(img):
        return to_grayscale(img, num_output_channels)
    _check_image(img)
    _check_tensor_image(img)
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    channels = get_dimensions(img)[0]
    if channels not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found {channels}")
    data = img._data if img.ndim > 2 else img._data[None]
    if channels == 3:
        work = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float32)
        r, g, b = work[..., 0, :, :], work[..., 1, :, :], work[..., 2, :, :]
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).astype(data.dtype)[..., None, :, :]
    else:
        gray = data.copy()
    if num_output_channels == 3:
        gray = np.broadcast_to(gray, (*gray.shape[:-3], 3, *gray.shape[-2:]))
    return _wrap(gray)


# -- dtype conversion ----------------------------------------------------------------------------

def _max_value(np_dtype) -> float:
    """The value of "full intensity" for an image dtype (torchvision's _max_value)."""
    np_dtype = np.dtype(np_dtype)
    if np.issubdtype(np_dtype, np.integer):
        return int(np.iinfo(np_dtype).max)
    return 1


def _work_dtype(data: np.ndarray):
    """torchvision computes on float images in their dtype and on integer ones in float32."""
    return data.dtype if np.issubdtype(data.dtype, np.floating) else np.dtype(np.float32)


def _convert_array_dtype(data: np.ndarray, np_dtype) -> np.ndarray:
    np_dtype = np.dtype(np_dtype)
    if data.dtype == np_dtype:
        return data
    if np.issubdtype(data.dtype, np.floating):
        if np.issubdtype(np_dtype, np.floating):
            return data.astype(np_dtype)
        if (data.dtype == np.float32 and np_dtype in (np.int32, np.int64)) or (
                data.dtype == np.float64 and np_dtype == np.int64):
            raise RuntimeError(f"The cast from {_ember_dtype(data.dtype)} to {_ember_dtype(np_dtype)} "
                               "cannot be performed safely.")
        # mul(max + 1 - eps) then a truncating cast: [0, 1] maps evenly onto the integer range
        scaled = data * data.dtype.type(float(_max_value(np_dtype)) + 1.0 - 1e-3)
        return scaled.astype(np_dtype)
    input_max = float(_max_value(data.dtype))
    if np.issubdtype(np_dtype, np.floating):
        return data.astype(np_dtype) / np_dtype.type(input_max)
    output_max = float(_max_value(np_dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return (data // factor).astype(np_dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return data.astype(np_dtype) * np_dtype.type(factor)


def _ember_dtype(np_dtype):
    return Tensor._wrap(np.zeros(0, np_dtype)).dtype


def convert_image_dtype(image: Tensor, dtype=None) -> Tensor:
    """Convert a tensor image to ``dtype`` (default ``ember.float``), rescaling the values to
    the new dtype's range ([0, 1] for floats, [0, max] for integers) as torchvision."""
    if not _is_tensor(image):
        raise TypeError("Input img should be Tensor Image")
    dtype = ember.float32 if dtype is None else dtype
    if image.dtype == dtype:
        return image
    return _wrap(_convert_array_dtype(image._data, dtype.np))


# -- colour adjustments --------------------------------------------------------------------------

def _assert_channels(img: Tensor, permitted) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found {c}")


def _assert_min_ndim3(img: Tensor) -> None:
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")


def _blend_arrays(img1: np.ndarray, img2: np.ndarray, ratio: float) -> np.ndarray:
    """``(ratio * img1 + (1 - ratio) * img2).clamp(0, bound).to(img1.dtype)`` in torch's
    float arithmetic (the Python scalars become the working float type)."""
    work = _work_dtype(img1)
    ratio = float(ratio)
    out = work.type(ratio) * img1.astype(work) + work.type(1.0 - ratio) * img2.astype(work)
    return np.clip(out, 0, _max_value(img1.dtype)).astype(img1.dtype)


def _gray_array(data: np.ndarray) -> np.ndarray:
    """rgb_to_grayscale of a (..., 3, H, W) array, keeping the channel dim (as torchvision)."""
    work = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float32)
    r, g, b = work[..., 0, :, :], work[..., 1, :, :], work[..., 2, :, :]
    return (work.dtype.type(0.2989) * r + work.dtype.type(0.587) * g
            + work.dtype.type(0.114) * b).astype(data.dtype)[..., None, :, :]


def _check_factor(value: float, name: str) -> None:
    if value < 0:
        raise ValueError(f"{name} ({value}) is not non-negative.")


def _tensor_colour_input(img) -> Tensor:
    _check_tensor_image(img)
    _assert_channels(img, [1, 3])
    return img


def adjust_brightness(img, brightness_factor: float):
    """Multiply the intensities by ``brightness_factor`` (0 gives black, 1 the original)."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    _check_factor(brightness_factor, "brightness_factor")
    data = _tensor_colour_input(img)._data
    return _wrap(_blend_arrays(data, np.zeros_like(data), brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0 gives a solid grey image, 1 the original)."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    _check_factor(contrast_factor, "contrast_factor")
    data = _tensor_colour_input(img)._data
    work = _work_dtype(data)
    gray = _gray_array(data) if get_dimensions(img)[0] == 3 else data
    gray = gray.astype(work)
    n = gray.shape[-1] * gray.shape[-2] * gray.shape[-3]
    mean = (gray.sum(axis=(-3, -2, -1), keepdims=True, dtype=work) / work.type(n)).astype(work)
    return _wrap(_blend_arrays(data, mean, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grayscale image (0 gives grey, 1 the original, 2 doubles saturation)."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageEnhance.Color(img).enhance(saturation_factor)
    _check_factor(saturation_factor, "saturation_factor")
    img = _tensor_colour_input(img)
    if get_dimensions(img)[0] == 1:  # as Pillow: nothing to desaturate
        return img
    return _wrap(_blend_arrays(img._data, _gray_array(img._data), saturation_factor))


def _rgb2hsv(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    one = rgb.dtype.type(1)
    s = cr / np.where(eqc, one, maxc)
    cr_divisor = np.where(eqc, one, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (rgb.dtype.type(2.0) + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (rgb.dtype.type(4.0) + gc - rc)
    h = hr + hg + hb
    h = np.fmod(h / rgb.dtype.type(6.0) + one, one)
    return np.stack((h, s, maxc), axis=-3)


def _hsv2rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    f32 = hsv.dtype.type
    i = np.floor(h * f32(6.0))
    f = h * f32(6.0) - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (f32(1.0) - s), 0.0, 1.0)
    q = np.clip(v * (f32(1.0) - s * f), 0.0, 1.0)
    t = np.clip(v * (f32(1.0) - s * (f32(1.0) - f)), 0.0, 1.0)
    # torchvision selects with a one-hot einsum; picking the same entries is the same value
    r = np.choose(i, (v, q, p, p, t, v))
    g = np.choose(i, (t, v, v, q, p, p))
    b = np.choose(i, (p, p, t, v, v, q))
    return np.stack((r, g, b), axis=-3)


def adjust_hue(img, hue_factor: float):
    """Shift the hue by ``hue_factor`` (in [-0.5, 0.5], a fraction of the hue circle)."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not _is_tensor(img):
        _check_pil(img)
        if img.mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        np_h += np.int32(hue_factor * 255).astype(np.uint8)  # wraps around, as torchvision
        return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(img.mode)
    img = _tensor_colour_input(img)
    if get_dimensions(img)[0] == 1:
        return img
    data = _convert_array_dtype(img._data, np.float32)
    hsv = _rgb2hsv(data)
    hsv[..., 0, :, :] = (hsv[..., 0, :, :] + np.float32(hue_factor)) % np.float32(1.0)
    return _wrap(_convert_array_dtype(_hsv2rgb(hsv), img._data.dtype))


def adjust_gamma(img, gamma: float, gain: float = 1):
    """``gain * I ** gamma`` on intensities scaled to [0, 1]."""
    if not _is_tensor(img):
        _check_pil(img)
        if gamma < 0:
            raise ValueError("Gamma should be a non-negative real number")
        input_mode = img.mode
        gamma_map = [int((255 + 1 - 1e-3) * gain * pow(ele / 255.0, gamma)) for ele in range(256)] * 3
        return img.convert("RGB").point(gamma_map).convert(input_mode)
    _assert_channels(img, [1, 3])
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    data = img._data
    work = _convert_array_dtype(data, np.float32) if not np.issubdtype(data.dtype, np.floating) else data
    out = np.clip(work.dtype.type(gain) * _pow(work, gamma), 0, 1)
    return _wrap(_convert_array_dtype(out, data.dtype))


def _exp(x: np.ndarray) -> np.ndarray:
    """exp of a float32 array as torch's CPU kernel rounds it (nearly always the correctly
    rounded value, which the float64 exp gives; NumPy's float32 exp is often 1 ulp off)."""
    if x.dtype == np.float32:
        return np.exp(x.astype(np.float64)).astype(np.float32)
    return np.exp(x)


def _pow(x: np.ndarray, exponent: float) -> np.ndarray:
    """``x.pow(exponent)`` as torch: exponents 0.5, 2, 3, -0.5, -1 and -2 are special-cased
    (sqrt, squares, reciprocals); others through the wider pow, rounded once."""
    dtype = x.dtype.type
    special = {0.5: np.sqrt, 2.0: lambda v: v * v, 3.0: lambda v: v * v * v,
               -0.5: lambda v: dtype(1) / np.sqrt(v), -1.0: lambda v: dtype(1) / v,
               -2.0: lambda v: dtype(1) / (v * v)}
    if float(exponent) in special:
        return special[float(exponent)](x)
    if x.dtype == np.float32:
        return np.power(x.astype(np.float64), np.float64(np.float32(exponent))).astype(np.float32)
    return np.power(x, dtype(exponent))


def _round_to(out: np.ndarray, np_dtype) -> np.ndarray:
    """torchvision's _cast_squeeze_out: integer results are rounded (half to even) first."""
    if np.issubdtype(np_dtype, np.integer):
        out = np.round(out)
    return out.astype(np_dtype)


def _depthwise_conv(data: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of every (H, W) plane with one 2-d kernel."""
    kh, kw = kernel.shape
    oh, ow = data.shape[-2] - kh + 1, data.shape[-1] - kw + 1
    out = np.zeros((*data.shape[:-2], oh, ow), dtype=data.dtype)
    for y in range(kh):
        for x in range(kw):
            out += kernel[y, x] * data[..., y:y + oh, x:x + ow]
    return out


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed image (0 blurs, 1 is the original, 2 sharpens)."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageEnhance.Sharpness(img).enhance(sharpness_factor)
    _check_factor(sharpness_factor, "sharpness_factor")
    img = _tensor_colour_input(img)
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    data = img._data
    work = _work_dtype(data)
    kernel = np.ones((3, 3), dtype=work)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    blurred = data.copy()
    blurred[..., 1:-1, 1:-1] = _round_to(_depthwise_conv(data.astype(work), kernel), data.dtype)
    return _wrap(_blend_arrays(data, blurred, sharpness_factor))


def invert(img):
    """``max - img``: the negative of the image."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageOps.invert(img)
    _check_tensor_image(img)
    _assert_min_ndim3(img)
    _assert_channels(img, [1, 3])
    data = img._data
    return _wrap((data.dtype.type(_max_value(data.dtype)) - data).astype(data.dtype))


def posterize(img, bits: int):
    """Keep the ``bits`` most significant bits of each uint8 channel value."""
    if not (0 <= bits <= 8):
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    if not _is_tensor(img):
        _check_pil(img)
        return ImageOps.posterize(img, bits)
    _check_tensor_image(img)
    _assert_min_ndim3(img)
    if img.dtype != ember.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    mask = np.uint8((-int(2 ** (8 - bits))) & 0xFF)
    return _wrap(img._data & mask)


def solarize(img, threshold: float):
    """Invert the values at or above ``threshold``."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageOps.solarize(img, threshold)
    _check_tensor_image(img)
    _assert_min_ndim3(img)
    _assert_channels(img, [1, 3])
    data = img._data
    if threshold > _max_value(data.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    inverted = (data.dtype.type(_max_value(data.dtype)) - data).astype(data.dtype)
    return _wrap(np.where(data >= threshold, inverted, data))


def autocontrast(img):
    """Stretch each channel linearly so its minimum becomes 0 and its maximum the top value."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageOps.autocontrast(img)
    _check_tensor_image(img)
    _assert_min_ndim3(img)
    _assert_channels(img, [1, 3])
    data = img._data
    bound = _max_value(data.dtype)
    work = _work_dtype(data)
    minimum = data.min(axis=(-2, -1), keepdims=True).astype(work)
    maximum = data.max(axis=(-2, -1), keepdims=True).astype(work)
    with np.errstate(divide="ignore", invalid="ignore"):
        # torch evaluates ``bound / t`` as ``t.reciprocal() * bound``
        scale = (work.type(1) / (maximum - minimum)) * work.type(bound)
    flat = ~np.isfinite(scale)  # a constant channel stays as it is
    minimum[flat] = 0
    scale[flat] = 1
    out = (data.astype(work) - minimum) * scale
    return _wrap(np.clip(out, 0, bound).astype(data.dtype))


def _equalize_channel(chan: np.ndarray) -> np.ndarray:
    hist = np.bincount(chan.reshape(-1), minlength=256).astype(np.int64)
    nonzero = hist[hist != 0]
    step = nonzero[:-1].sum() // 255
    if step == 0:
        return chan
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255)
    return lut[chan.astype(np.int64)].astype(np.uint8)


def equalize(img):
    """Histogram-equalise each channel (PIL's ImageOps.equalize rule for uint8 tensors)."""
    if not _is_tensor(img):
        _check_pil(img)
        return ImageOps.equalize(img)
    _check_tensor_image(img)
    if not (3 <= img.ndim <= 4):
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim}")
    if img.dtype != ember.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    planes = img._data.reshape(-1, *img._data.shape[-2:])
    return _wrap(np.stack([_equalize_channel(p) for p in planes]).reshape(img._data.shape))


def _check_pil(img) -> None:
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


# -- crops and erasing ---------------------------------------------------------------------------

def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """Crop, then resize to ``size``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def _crop_size(size):
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return size


def five_crop(img, size):
    """The four corner crops and the central crop of ``size``."""
    size = _crop_size(size)
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        raise ValueError(f"Requested crop size {size} is bigger than input size "
                         f"{(image_height, image_width)}")
    tl = crop(img, 0, 0, crop_height, crop_width)
    tr = crop(img, 0, image_width - crop_width, crop_height, crop_width)
    bl = crop(img, image_height - crop_height, 0, crop_height, crop_width)
    br = crop(img, image_height - crop_height, image_width - crop_width, crop_height, crop_width)
    center = center_crop(img, [crop_height, crop_width])
    return tl, tr, bl, br, center


def ten_crop(img, size, vertical_flip: bool = False):
    """five_crop of the image and of its mirror (horizontal unless ``vertical_flip``)."""
    size = _crop_size(size)
    first_five = five_crop(img, size)
    img = vflip(img) if vertical_flip else hflip(img)
    return first_five + five_crop(img, size)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the ``h x w`` region at ``(i, j)`` of a tensor image to ``v``."""
    if not _is_tensor(img):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    _check_tensor_image(img)
    value = v._data if _is_tensor(v) else np.asarray(v)
    if inplace:
        # through the Tensor's own indexing, so its version counter sees the change
        img[..., i:i + h, j:j + w] = v if _is_tensor(v) else Tensor._wrap(value)
        return img
    data = img._data.copy()
    data[..., i:i + h, j:j + w] = value
    return _wrap(data)


# -- Gaussian blur -------------------------------------------------------------------------------

def _linspace(start: float, end: float, steps: int, dtype) -> np.ndarray:
    """torch.linspace's values as an array (ember.linspace computes them as torch does)."""
    from ember._creation import linspace_array
    return linspace_array(start, end, steps, dtype)


def _gaussian_kernel1d(kernel_size: int, sigma: float, dtype) -> np.ndarray:
    ksize_half = (kernel_size - 1) * 0.5
    x = _linspace(-ksize_half, ksize_half, kernel_size, dtype)
    scaled = x / dtype.type(sigma)
    pdf = _exp(dtype.type(-0.5) * (scaled * scaled))
    return pdf / pdf.sum(dtype=dtype)


def _gaussian_blur_array(data: np.ndarray, kernel_size, sigma) -> np.ndarray:
    work = _work_dtype(data)
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], work)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], work)
    kernel = ky[:, None] * kx[None, :]
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    widths = [(0, 0)] * (data.ndim - 2) + [(py, py), (px, px)]
    padded = np.pad(data.astype(work), widths, mode="reflect")
    return _round_to(_depthwise_conv(padded, kernel), data.dtype)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a separable Gaussian kernel (reflect padding); PIL images go through their
    uint8 tensor as in torchvision."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if _is_tensor(img):
        _check_tensor_image(img)
        return _wrap(_gaussian_blur_array(img._data, kernel_size, sigma))
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    out = _gaussian_blur_array(pil_to_tensor(img)._data, kernel_size, sigma)
    return to_pil_image(_wrap(out), mode=img.mode)


# -- geometric warps -----------------------------------------------------------------------------

def _warp_interpolation(interpolation) -> InterpolationMode:
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        return _interpolation_mode(interpolation)
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    return interpolation


def _get_inverse_affine_matrix(center, angle: float, translate, scale: float, shear,
                               inverted: bool = True) -> list[float]:
    """torchvision's affine matrix: rotation about ``center`` with shear, scale and
    translation, inverted (output -> input coordinates) unless ``inverted=False``."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    if inverted:
        matrix = [x / scale for x in [d, -b, 0.0, -c, a, 0.0]]
        matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
        matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
        matrix[2] += cx
        matrix[5] += cy
    else:
        matrix = [x * scale for x in [a, b, 0.0, c, d, 0.0]]
        matrix[2] += matrix[0] * (-cx) + matrix[1] * (-cy)
        matrix[5] += matrix[3] * (-cx) + matrix[4] * (-cy)
        matrix[2] += cx + tx
        matrix[5] += cy + ty
    return matrix


def _parse_pil_fill(fill, img):
    return _parse_fill(fill, get_image_num_channels(img), img.mode)


def _check_grid_inputs(img: Tensor, interpolation: InterpolationMode, fill) -> None:
    _check_tensor_image(img)
    if fill is not None and not isinstance(fill, (int, float, tuple, list)):
        warnings.warn("Argument fill should be either int, float, tuple or list")
    num_channels = get_dimensions(img)[0]
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != num_channels:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number of "
                         f"channels of the image ({len(fill)} != {num_channels})")
    if interpolation.value not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with Tensor input")


def _base_grid(ow: int, oh: int, x0: float, y0: float, dtype) -> np.ndarray:
    """``(oh, ow, 3)`` pixel-centre coordinates ``(x, y, 1)`` starting at ``(x0, y0)``."""
    grid = np.empty((oh, ow, 3), dtype=dtype)
    grid[..., 0] = _linspace(x0, x0 + ow - 1.0, ow, np.dtype(np.float32))
    grid[..., 1] = _linspace(y0, y0 + oh - 1.0, oh, np.dtype(np.float32))[:, None]
    grid[..., 2] = 1
    return grid


def _project(grid: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``grid @ theta`` for a (..., 3) grid and a (3, k) matrix, summed term by term."""
    return grid[..., 0:1] * theta[0] + grid[..., 1:2] * theta[1] + grid[..., 2:3] * theta[2]


def _affine_grid(matrix, w: int, h: int, ow: int, oh: int, dtype) -> np.ndarray:
    theta = np.array(matrix, dtype=dtype).reshape(2, 3)
    rescaled = theta.T / np.array([0.5 * w, 0.5 * h], dtype=dtype)
    base = _base_grid(ow, oh, -ow * 0.5 + 0.5, -oh * 0.5 + 0.5, dtype)
    return _project(base, rescaled)[None]


def _apply_grid_transform(img: Tensor, grid: np.ndarray, mode: str, fill) -> Tensor:
    """grid_sample (zeros padding, align_corners=False) with torchvision's fill: an extra
    all-ones channel is warped along and blends (bilinear) or selects (nearest) ``fill``."""
    from ember.nn import functional as nnf

    data = img._data
    squeeze = data.ndim < 4
    work = data[None] if squeeze else data
    work = work.astype(grid.dtype)
    if fill is not None:
        work = np.concatenate([work, np.ones((work.shape[0], 1, *work.shape[2:]), work.dtype)], axis=1)
    grid = np.broadcast_to(grid, (work.shape[0], *grid.shape[1:]))
    out = nnf.grid_sample(Tensor._wrap(np.ascontiguousarray(work)), Tensor._wrap(np.ascontiguousarray(grid)),
                          mode=mode, padding_mode="zeros", align_corners=False)._data
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        mask = np.broadcast_to(mask, out.shape)
        fill_list = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = np.broadcast_to(np.array(fill_list, dtype=out.dtype).reshape(1, -1, 1, 1), out.shape)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (out.dtype.type(1.0) - mask) * fill_img
    if squeeze:
        out = out[0]
    return _wrap(_round_to(out, data.dtype) if out.dtype != data.dtype else out)


def _compute_affine_output_size(matrix, w: int, h: int) -> tuple[int, int]:
    """The ``(w, h)`` bounding box of the rotated image, in torchvision's float32 steps."""
    f32 = np.float32
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=f32)
    theta = np.array(matrix, dtype=f32).reshape(2, 3)
    new_pts = _project(pts, theta.T)
    min_vals = new_pts.min(axis=0) + np.array((w * 0.5, h * 0.5), dtype=f32)
    max_vals = new_pts.max(axis=0) + np.array((w * 0.5, h * 0.5), dtype=f32)
    tol = f32(1e-4)  # trims float noise so that an exact 90 degrees keeps the size
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (the image centre by
    default); ``expand`` grows the output to hold the whole rotated image."""
    interpolation = _warp_interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not _is_tensor(img):
        _check_pil(img)
        return img.rotate(angle, _PIL_FILTERS[interpolation], expand, center,
                          fillcolor=_parse_pil_fill(fill, img))
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = _get_inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    _check_grid_inputs(img, interpolation, fill)
    w, h = img.shape[-1], img.shape[-2]
    ow, oh = _compute_affine_output_size(matrix, w, h) if expand else (w, h)
    grid = _affine_grid(matrix, w, h, ow, oh, _work_dtype(img._data))
    return _apply_grid_transform(img, grid, interpolation.value, fill)


def affine(img, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotate by ``angle``, shear by ``shear`` degrees, scale and translate, keeping the
    image centre (or ``center``) fixed."""
    interpolation = _warp_interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, (list, tuple))):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    angle = float(angle)
    translate = list(translate)
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _, height, width = get_dimensions(img)
    if not _is_tensor(img):
        if center is None:
            center = [width * 0.5, height * 0.5]
        matrix = _get_inverse_affine_matrix(center, angle, translate, scale, shear)
        return img.transform(img.size, Image.Transform.AFFINE, matrix, _PIL_FILTERS[interpolation],
                             fillcolor=_parse_pil_fill(fill, img))
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = _get_inverse_affine_matrix(center_f, angle, [1.0 * t for t in translate], scale, shear)
    _check_grid_inputs(img, interpolation, fill)
    grid = _affine_grid(matrix, width, height, width, height, _work_dtype(img._data))
    return _apply_grid_transform(img, grid, interpolation.value, fill)


def _get_perspective_coeffs(startpoints, endpoints) -> list[float]:
    """The 8 coefficients of the homography taking ``endpoints`` to ``startpoints`` (solved in
    float64, rounded to float32, as torchvision)."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} startpoints "
                         f"and {len(endpoints)} endpoints.")
    a_matrix = np.zeros((8, 8), dtype=np.float64)
    for i, (p1, p2) in enumerate(zip(endpoints, startpoints)):
        a_matrix[2 * i] = [p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]]
        a_matrix[2 * i + 1] = [0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]]
    b_matrix = np.array(startpoints, dtype=np.float64).reshape(8)
    res = np.linalg.lstsq(a_matrix, b_matrix, rcond=None)[0]
    return res.astype(np.float32).tolist()


def _perspective_grid(coeffs, ow: int, oh: int, dtype) -> np.ndarray:
    theta1 = np.array([[coeffs[0], coeffs[1], coeffs[2]], [coeffs[3], coeffs[4], coeffs[5]]], dtype=dtype)
    theta2 = np.array([[coeffs[6], coeffs[7], 1.0], [coeffs[6], coeffs[7], 1.0]], dtype=dtype)
    base = _base_grid(ow, oh, 0.5, 0.5, dtype)
    rescaled = theta1.T / np.array([0.5 * ow, 0.5 * oh], dtype=dtype)
    grid = _project(base, rescaled) / _project(base, theta2.T) - dtype.type(1.0)
    return grid[None]


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Warp so that the four ``startpoints`` (corners, ``[x, y]``) land on ``endpoints``."""
    coeffs = _get_perspective_coeffs(startpoints, endpoints)
    interpolation = _warp_interpolation(interpolation)
    if not _is_tensor(img):
        _check_pil(img)
        return img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs,
                             _PIL_FILTERS[interpolation], fillcolor=_parse_pil_fill(fill, img))
    _check_grid_inputs(img, interpolation, fill)
    grid = _perspective_grid(coeffs, img.shape[-1], img.shape[-2], _work_dtype(img._data))
    return _apply_grid_transform(img, grid, interpolation.value, fill)


def elastic_transform(img, displacement: Tensor, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Displace every pixel by ``displacement`` (``1 x H x W x 2``, in grid_sample's
    normalised units) from the identity grid."""
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        warnings.warn("Argument interpolation should be of type InterpolationMode instead of int. "
                      "Please, use InterpolationMode enum.")
    interpolation = _interpolation_mode(interpolation)
    if not _is_tensor(displacement):
        raise TypeError("Argument displacement should be a Tensor")
    t_img = img
    if not _is_tensor(img):
        if not _is_pil_image(img):
            raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
        t_img = pil_to_tensor(img)
    shape = (1,) + tuple(t_img.shape[-2:]) + (2,)
    if shape != tuple(displacement.shape):
        raise ValueError(f"Argument displacement shape should be {shape}, but given "
                         f"{tuple(displacement.shape)}")
    h, w = t_img.shape[-2:]
    ys = _linspace((-h + 1) / h, (h - 1) / h, h, np.dtype(np.float32))
    xs = _linspace((-w + 1) / w, (w - 1) / w, w, np.dtype(np.float32))
    identity = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), -1)[None]
    grid = identity + displacement._data
    out = _apply_grid_transform(t_img, grid, interpolation.value, fill)
    if not _is_tensor(img):
        out = to_pil_image(out, mode=img.mode)
    return out
