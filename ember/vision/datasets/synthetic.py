"""Small synthetic datasets written in the official on-disk formats, for examples and tests on
machines without the real data (or without network).

The images are not noise: each class has its own colour scheme and gradient direction and
each image a disc at a random place, so a network can learn them and TensorBoard shows
something recognisable.

    >>> from ember.vision.datasets.synthetic import make_cifar10
    >>> make_cifar10("data", train_per_batch=100, test_size=100)   # data/cifar-10-batches-py
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import tempfile

import numpy as np
from PIL import Image

__all__ = ["synthetic_images", "write_cifar_batch", "make_cifar10", "make_cifar100",
           "cifar_archive", "write_idx", "idx_bytes", "make_mnist", "make_image_folder",
           "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def synthetic_images(labels: np.ndarray, height: int, width: int, channels: int,
                     num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 images ``N x H x W x C``: a class-coloured gradient plus a disc and a little noise."""
    n = len(labels)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / max(height - 1, 1), xx / max(width - 1, 1)
    angle = (2 * np.pi * labels / num_classes + rng.normal(0, 0.2, n)).astype(np.float32)
    ramp = np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy  # N x H x W
    palette = np.random.default_rng(1234).uniform(0.15, 0.9, size=(num_classes, 2, channels))
    base, accent = palette[labels, 0], palette[labels, 1]  # N x C each
    img = base[:, None, None, :] * (0.6 + 0.4 * ramp[..., None])
    cy, cx = rng.uniform(0.25, 0.75, (2, n)).astype(np.float32)
    radius = rng.uniform(0.12, 0.3, n).astype(np.float32)
    disc = ((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) < radius[:, None, None] ** 2
    img = np.where(disc[..., None], accent[:, None, None, :], img)
    img = img + rng.normal(0, 0.03, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _write_pickle(path: str, obj) -> None:
    # protocol 2, as the official files (written by Python 2's cPickle)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar_batch(path: str, images: np.ndarray, labels, labels_key: str = "labels",
                      batch_label: str = "synthetic batch", extra: dict | None = None) -> None:
    """Write ``N x 32 x 32 x 3`` uint8 ``images`` as a CIFAR python batch."""
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))
    entry = {"batch_label": batch_label, labels_key: [int(x) for x in labels], "data": data,
             "filenames": [f"synthetic_{i:06d}.png" for i in range(len(images))]}
    entry.update(extra or {})
    _write_pickle(path, entry)


def make_cifar10(root: str, train_per_batch: int = 100, test_size: int = 100, seed: int = 0) -> str:
    """Write ``root/cifar-10-batches-py`` (data_batch_1..5, test_batch, batches.meta) in the
    official format; return that folder."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(os.path.expanduser(root), "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    splits = [(f"data_batch_{i}", train_per_batch) for i in range(1, 6)] + [("test_batch", test_size)]
    for name, n in splits:
        labels = rng.integers(0, 10, n)
        write_cifar_batch(os.path.join(folder, name), synthetic_images(labels, 32, 32, 3, 10, rng),
                          labels, batch_label=f"synthetic {name}")
    _write_pickle(os.path.join(folder, "batches.meta"),
                  {"num_cases_per_batch": train_per_batch, "label_names": CIFAR10_CLASSES,
                   "num_vis": 3072})
    return folder


def make_cifar100(root: str, train_size: int = 200, test_size: int = 100, seed: int = 0) -> str:
    """Write ``root/cifar-100-python`` (train, test, meta) in the official format."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(os.path.expanduser(root), "cifar-100-python")
    os.makedirs(folder, exist_ok=True)
    for name, n in (("train", train_size), ("test", test_size)):
        fine = rng.integers(0, 100, n)
        write_cifar_batch(os.path.join(folder, name), synthetic_images(fine, 32, 32, 3, 100, rng),
                          fine, labels_key="fine_labels", batch_label=name,
                          extra={"coarse_labels": [int(x) // 5 for x in fine]})
    _write_pickle(os.path.join(folder, "meta"),
                  {"fine_label_names": [f"fine_{i:02d}" for i in range(100)],
                   "coarse_label_names": [f"coarse_{i:02d}" for i in range(20)]})
    return folder


def cifar_archive(make=make_cifar10, **kwargs) -> tuple[bytes, dict[str, str]]:
    """A ``.tar.gz`` of a synthetic CIFAR folder (as the official archive) and the MD5 of each
    file in it: ``(archive_bytes, {filename: md5})``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = make(tmp, **kwargs)
        md5s = {}
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as f:
                md5s[name] = hashlib.md5(f.read()).hexdigest()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(folder, arcname=os.path.basename(folder))
        return buffer.getvalue(), md5s


def idx_bytes(array: np.ndarray) -> bytes:
    """An array in IDX format (see :mod:`ember.vision.datasets.mnist`)."""
    codes = {np.dtype(np.uint8): 8, np.dtype(np.int8): 9, np.dtype(np.int16): 11,
             np.dtype(np.int32): 12, np.dtype(np.float32): 13, np.dtype(np.float64): 14}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: str, array: np.ndarray, compress: bool = False) -> None:
    data = idx_bytes(array)
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as f:
        f.write(data)


def make_mnist(root: str, name: str = "MNIST", train_size: int = 100, test_size: int = 50,
               seed: int = 0, compressed: bool = False) -> str:
    """Write ``root/<name>/raw`` with the four IDX files (also gzipped with ``compressed``)."""
    rng = np.random.default_rng(seed)
    raw = os.path.join(os.path.expanduser(root), name, "raw")
    os.makedirs(raw, exist_ok=True)
    for prefix, n in (("train", train_size), ("t10k", test_size)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = synthetic_images(labels, 28, 28, 1, 10, rng)[..., 0]
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            path = os.path.join(raw, f"{prefix}-{kind}-ubyte")
            write_idx(path, array)
            if compressed:
                write_idx(path + ".gz", array, compress=True)
    return raw


def make_image_folder(root: str, classes=("cat", "dog"), per_class: int = 3, size=(16, 16),
                      ext: str = ".png", seed: int = 0) -> str:
    """Write ``root/<class>/<i><ext>`` RGB images (an ImageFolder layout); return ``root``."""
    rng = np.random.default_rng(seed)
    root = os.path.expanduser(root)
    for k, cls in enumerate(classes):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        labels = np.full(per_class, k)
        for i, img in enumerate(synthetic_images(labels, size[0], size[1], 3, len(classes), rng)):
            Image.fromarray(img).save(os.path.join(root, cls, f"{i:03d}{ext}"))
    return root
