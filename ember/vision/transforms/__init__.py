"""ember.vision.transforms: torchvision.transforms' image transforms (classes here, functions in
``ember.vision.transforms.functional``)."""
from . import functional  # noqa: F401
from .autoaugment import *  # noqa: F401,F403
from .autoaugment import __all__ as _autoaugment_all
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = _transforms_all + _autoaugment_all
