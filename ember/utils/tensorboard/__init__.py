"""ember.utils.tensorboard: torch.utils.tensorboard's SummaryWriter, over tensorboardX."""
from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
