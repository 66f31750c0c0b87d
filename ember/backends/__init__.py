"""ember.backends: torch.backends' switches for GPU libraries ember does not use (it computes on
the CPU only); they exist so that code written for torch sets and reads them unchanged."""
from . import cudnn, mha, mps  # noqa: F401
