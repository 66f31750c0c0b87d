"""ember.utils: data loading (``ember.utils.data``), TensorBoard logging
(``ember.utils.tensorboard``, which needs tensorboardX) and hook handles (``ember.utils.hooks``).

The subpackages load on first use: ``ember.nn`` imports ``ember.utils.hooks``, and that must
not pull the data-loading layer, which sits above ``nn``, in with it.
"""
import importlib as _importlib

_LAZY = ("data", "tensorboard", "hooks")


def __getattr__(name):
    if name in _LAZY:
        module = _importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
