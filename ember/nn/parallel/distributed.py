"""torch.nn.parallel.distributed's home: DistributedDataParallel lives in ember.distributed.ddp."""
from ...distributed.ddp import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
