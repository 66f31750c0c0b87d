"""The preprocessing that comes with a model's weights (torchvision.transforms._presets):
``weights.transforms()`` returns one of these."""
from __future__ import annotations

import numpy as np

from . import functional as F

__all__ = ["ImageClassification"]


class ImageClassification:
    """Resize the smaller edge to ``resize_size``, centre-crop ``crop_size``, scale to [0, 1]
    and normalise with ImageNet's mean and std. Accepts a PIL image or a (..., C, H, W)
    tensor (uint8 images are divided by 255, float ones kept)."""

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 interpolation="bilinear", antialias=True) -> None:
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean, self.std = list(mean), list(std)
        self.interpolation = F._interpolation_mode(interpolation)
        self.antialias = antialias

    def __call__(self, img):
        img = F.resize(img, self.resize_size, interpolation=self.interpolation,
                       antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if F._is_pil_image(img):
            img = F.pil_to_tensor(img)
        if not img.dtype.is_floating_point:  # convert_image_dtype(uint8 -> float): / max value
            img = img.float() / float(np.iinfo(img.numpy().dtype).max)
        return F.normalize(img, mean=self.mean, std=self.std)

    forward = __call__

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n"
                f"    resize_size={self.resize_size}\n    mean={self.mean}\n    std={self.std}\n"
                f"    interpolation={self.interpolation}\n)")
