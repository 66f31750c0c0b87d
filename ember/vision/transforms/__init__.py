"""ember.vision.transforms: torchvision.transforms' image transforms (classes here, functions in
``ember.vision.transforms.functional``)."""
from . import functional  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__  # noqa: F401
