"""ember.vision.ops: torchvision.ops' building blocks that the model zoo uses."""
from .misc import (Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d,  # noqa: F401
                   SqueezeExcitation)

__all__ = ["Conv2dNormActivation", "Conv3dNormActivation", "FrozenBatchNorm2d",
           "SqueezeExcitation"]
