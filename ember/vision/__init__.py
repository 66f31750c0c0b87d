"""ember.vision: torchvision's datasets, transforms and image utilities for ember
(``import ember.vision as torchvision`` is the intended spelling for ported scripts)."""
try:
    import PIL  # noqa: F401 - every part of ember.vision reads or writes images with Pillow
except ImportError as e:
    raise ImportError("ember.vision needs Pillow: pip install 'ember[vision]'", name="PIL") from e

from . import datasets, models, ops, transforms, utils  # noqa: E402,F401
from .utils import make_grid, save_image  # noqa: E402,F401

__all__ = ["datasets", "models", "ops", "transforms", "utils", "make_grid", "save_image"]
