"""ember.nn: layers, as in torch.nn."""
from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module, Parameter  # noqa: F401
from .parallel import DataParallel  # noqa: F401,E402
