"""Image transforms as functions, as torchvision.transforms.functional.

Every function takes a PIL image or an ember Tensor image of shape ``(..., C, H, W)`` (a batch
of images is a tensor with leading dims). PIL images are processed by Pillow itself, exactly as
torchvision does; tensor images are processed on their NumPy arrays (resizing goes through
Pillow's ``"F"`` mode, whose antialiased filters torchvision's ``antialias=True`` reproduces).
Tensor results carry no autograd history.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum

import numpy as np
from PIL import Image, ImageOps

import ember
from ember._tensor import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "pad", "crop",
           "center_crop", "hflip", "vflip", "rgb_to_grayscale", "to_grayscale"]


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


def _resize_tensor(img: Tensor, size, filter_code) -> Tensor:
    """Resize every ``H x W`` plane through Pillow's float ("F") images."""
    data = img._data
    planes = data.reshape(-1, *data.shape[-2:]).astype(np.float32)
    out = np.stack([np.asarray(Image.fromarray(p, mode="F").resize((size[1], size[0]), filter_code))
                    for p in planes])
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        out = np.clip(np.round(out), info.min, info.max)
    return _wrap(out.astype(data.dtype).reshape(*data.shape[:-2], *size))


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: an int (or 1-sequence) matches the smaller edge, keeping the aspect
    ratio; ``(h, w)`` gives the exact size. An image already of that size is returned as is.

    PIL images are resized by Pillow (always antialiased, as in torchvision); tensor images by
    the same filters on float planes, which equals torch's ``interpolate(..., antialias=True)``
    to float32 rounding (NEAREST follows Pillow's pixel-centre rule, torchvision's
    "nearest-exact").
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
    if antialias is False and interpolation in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError("antialias=False is not supported for tensor images: ember resizes them "
                         "with Pillow's antialiased filters (torchvision's default antialias=True)")
    return _resize_tensor(img, output_size, _PIL_FILTERS[interpolation])


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
    return tuple(size)


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
