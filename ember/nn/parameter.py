"""ember.nn.parameter: where torch.nn.parameter's names live (the classes are defined in
ember/nn/modules/module.py next to the Module that registers them)."""
from .modules.module import Buffer, Parameter

__all__ = ["Parameter", "Buffer"]
