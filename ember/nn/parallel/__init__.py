"""ember.nn.parallel: DataParallel, for scripts written for torch's multi-GPU wrapper.

ember computes on the CPU only, so there is nothing to replicate: DataParallel wraps the module
(as ``.module``, so state_dict keys carry torch's ``module.`` prefix) and forward calls it.
"""
from __future__ import annotations

from ..modules.module import Module


class DataParallel(Module):
    """torch.nn.DataParallel on the CPU: ``DataParallel(model)(x)`` is ``model(x)``."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        # torch without a GPU ignores device_ids and wraps the module as it is; so does ember
        self.module = module
        self.device_ids = []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def __getattr__(name):
    # DistributedDataParallel needs ember.distributed (layer 5), above nn: the torch-named
    # module ember.nn.parallel.distributed is loaded on first use, never at import time.
    if name in ("distributed", "DistributedDataParallel"):
        import importlib
        module = importlib.import_module(f"{__name__}.distributed")
        return module if name == "distributed" else module.DistributedDataParallel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
