"""Image grids and image files from tensors (torchvision.utils.make_grid / save_image)."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ember._tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor) -> np.ndarray:
    """A Tensor or a list of Tensors -> an ``N x C x H x W`` array, 1 channel repeated to 3."""
    if isinstance(tensor, list):
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        array = np.stack([t._data for t in tensor])
    elif isinstance(tensor, Tensor):
        array = tensor._data
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if array.ndim == 2:  # a single-channel image
        array = array[None]
    if array.ndim == 3:  # a single image
        if array.shape[0] == 1:
            array = np.concatenate([array] * 3, 0)
        array = array[None]
    if array.ndim == 4 and array.shape[1] == 1:  # single-channel images
        array = np.concatenate([array] * 3, 1)
    return array


def _normalize_to_unit(images: np.ndarray, value_range, scale_each: bool) -> np.ndarray:
    """Clamp to ``value_range`` (default: the min and max) and map it to ``[0, 1]``."""
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")

    def norm(img):
        low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
        return (np.clip(img, low, high) - low) / max(high - low, 1e-5)

    out = np.stack([norm(img) for img in images]) if scale_each else norm(images)
    return out.astype(images.dtype, copy=False)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images ``N x C x H x W`` (or a list of ``C x H x W`` images) into one
    ``C x H' x W'`` image with ``nrow`` images per row and ``padding`` pixels of ``pad_value``
    around each.

    ``normalize`` maps ``value_range`` (default: the batch's min..max, or each image's own with
    ``scale_each``) to ``[0, 1]``. One-channel images become three-channel, as torchvision.
    """
    images = _as_batch(tensor)
    if normalize is True:
        images = _normalize_to_unit(images.copy(), value_range, scale_each)
    if images.shape[0] == 1:
        return Tensor._wrap(np.ascontiguousarray(images[0]))
    nmaps, num_channels, h, w = images.shape
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((num_channels, height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=images.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = images[k]
    return Tensor._wrap(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save a tensor (or a batch, tiled by :func:`make_grid` with ``kwargs``) as an image file.
    Values in ``[0, 1]`` map to ``0..255`` rounded half up."""
    grid = make_grid(tensor, **kwargs)._data
    ndarr = np.clip(grid * 255 + 0.5, 0, 255).transpose(1, 2, 0).astype(np.uint8)
    Image.fromarray(ndarr).save(fp, format=format)
