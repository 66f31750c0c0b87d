"""ember.nn.parameter: where torch.nn.parameter's names live (the classes are defined in
ember/_parameter.py, below the layers, so that checkpoints can rebuild them)."""
from .._parameter import (Buffer, Parameter, UninitializedBuffer, UninitializedParameter,
                          UninitializedTensorMixin, is_lazy)

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]
