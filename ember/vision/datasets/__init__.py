"""ember.vision.datasets: torchvision's CIFAR10/100, MNIST, FashionMNIST, ImageFolder and
DatasetFolder, reading the official formats (``synthetic`` writes small stand-ins)."""
from . import synthetic, utils  # noqa: F401
from .cifar import CIFAR10, CIFAR100
from .folder import DatasetFolder, ImageFolder
from .mnist import MNIST, FashionMNIST
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "FashionMNIST", "DatasetFolder", "ImageFolder",
           "VisionDataset"]
