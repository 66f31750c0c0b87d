"""The vision datasets apply ``transform`` / ``target_transform`` through one helper
(VisionDataset._apply_transforms); as torchvision's, they read the attributes at each item, so a
transform set after construction is used (torchvision's __getitem__ reads self.transform)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ember.vision import datasets
from ember.vision.datasets import synthetic

MAKERS = {"CIFAR10": lambda root: datasets.CIFAR10(root, train=False),
          "MNIST": lambda root: datasets.MNIST(root, train=False),
          "ImageFolder": lambda root: datasets.ImageFolder(root / "imgs")}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    synthetic.make_cifar10(path, train_per_batch=2, test_size=3, seed=0)
    synthetic.make_mnist(path, train_size=2, test_size=3)
    synthetic.make_image_folder(path / "imgs", classes=("a", "b"), per_class=2, size=(4, 3))
    return path


@pytest.mark.parametrize("name", MAKERS)
def test_transforms_set_after_construction_are_applied(name, root):
    ds = MAKERS[name](root)
    img, target = ds[1]
    assert isinstance(img, Image.Image)
    ds.transform = lambda im: ("image", int(np.asarray(im, dtype=np.int64).sum()))
    ds.target_transform = lambda y: ("target", y)
    assert ds[1] == (("image", int(np.asarray(img, dtype=np.int64).sum())), ("target", target))
    ds.transform = None
    assert isinstance(ds[1][0], Image.Image) and ds[1][1] == ("target", target)
