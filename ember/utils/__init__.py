"""ember.utils: data loading (``ember.utils.data``) and TensorBoard logging
(``ember.utils.tensorboard``, imported on demand as in torch since it needs tensorboardX)."""
from . import data  # noqa: F401
