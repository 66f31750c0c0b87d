"""ember.vision: torchvision's datasets, transforms and image utilities for ember
(``import ember.vision as torchvision`` is the intended spelling for ported scripts)."""
from . import datasets, transforms, utils  # noqa: F401
from .utils import make_grid, save_image  # noqa: F401

__all__ = ["datasets", "transforms", "utils", "make_grid", "save_image"]
