"""ember.nn: layers, as in torch.nn."""
from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module, Parameter  # noqa: F401
from .parallel import DataParallel  # noqa: F401,E402


def __getattr__(name):
    # SyncBatchNorm gathers statistics over processes: it lives with ember.distributed, a layer
    # above nn, and loads on first use (a static import here would point upward).
    if name == "SyncBatchNorm":
        import importlib
        return importlib.import_module("ember.distributed.sync_batchnorm").SyncBatchNorm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
