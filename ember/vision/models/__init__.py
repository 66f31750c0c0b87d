"""ember.vision.models: torchvision's classification architectures with its names, arguments
and state_dict keys (``import ember.vision as torchvision; torchvision.models.resnet18()``).

``weights=None`` (the default) builds a randomly initialised model exactly as torchvision
initialises it; ember never downloads, so ``weights=...`` / ``pretrained=True`` raise an
error that says how to load a torchvision checkpoint from a local file."""
from ._api import *  # noqa: F401,F403
from ._api import WEIGHTS
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403

globals().update({cls.__name__: cls for cls in WEIGHTS.values()})
