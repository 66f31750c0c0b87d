"""MNIST and Fashion-MNIST (torchvision.datasets.mnist), read from the official IDX files.

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header - two zero bytes, a type
code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
dimensions - then one big-endian int32 per dimension, then the values, row-major.

Layout under ``root``: ``<ClassName>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (the
downloaded ``.gz`` files are kept beside them). ``download=False`` accepts any well-formed IDX
files there; the official MD5s of the ``.gz`` files are checked on download and by
:meth:`MNIST.check_integrity`.
"""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

import ember

from .utils import DownloadError, check_integrity, download_and_extract_archive
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_sn3_pascalvincent", "read_image_file", "read_label_file"]

_IDX_TYPES = {8: np.uint8, 9: np.int8, 11: np.int16, 12: np.int32, 13: np.float32, 14: np.float64}


def read_sn3_pascalvincent(path: str) -> np.ndarray:
    """Read an IDX file into a native-endian NumPy array, checking its header against its size."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise RuntimeError(f"{path}: not an IDX file (its first two bytes should be zero)")
    type_code, nd = data[2], data[3]
    if type_code not in _IDX_TYPES or not 1 <= nd <= 3:
        raise RuntimeError(f"{path}: unsupported IDX header (type code {type_code:#04x}, {nd} dims)")
    header = 4 + 4 * nd
    if len(data) < header:
        raise RuntimeError(f"{path}: IDX header is truncated")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">i4", count=nd, offset=4))
    dtype = np.dtype(_IDX_TYPES[type_code]).newbyteorder(">")
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise RuntimeError(f"{path}: IDX header announces shape {shape} ({expected} bytes) but "
                           f"the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_label_file(path: str) -> np.ndarray:
    x = read_sn3_pascalvincent(path)
    if x.dtype != np.uint8 or x.ndim != 1:
        raise RuntimeError(f"{path}: a label file should hold a 1-d uint8 array, got {x.dtype} {x.shape}")
    return x.astype(np.int64)


def read_image_file(path: str) -> np.ndarray:
    x = read_sn3_pascalvincent(path)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise RuntimeError(f"{path}: an image file should hold a 3-d uint8 array, got {x.dtype} {x.shape}")
    return x


class MNIST(VisionDataset):
    """`MNIST <http://yann.lecun.com/exdb/mnist/>`_: 28 x 28 grayscale digits.

    Args:
        root: folder holding ``MNIST/raw`` (or where it will be downloaded).
        train: the 60,000 training images or the 10,000 test images.
        transform / target_transform: applied to the PIL image (mode "L") / the integer label.
        download: fetch the four ``resources`` from the first working ``mirrors`` entry (a
            class attribute, so it can point elsewhere), check their MD5 and decompress them.

    ``data`` is a uint8 tensor ``N x H x W`` and ``targets`` an int64 tensor, as torchvision.
    """

    # torchvision's mirrors and the official MD5s of the gzipped IDX files (torchvision/datasets/mnist.py)
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        self._check_exists()
        data, targets = self._load_data()
        self.data = ember.from_numpy(data)
        self.targets = ember.from_numpy(targets)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {_class: i for i, _class in enumerate(self.classes)}

    def _split_files(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _check_exists(self) -> None:
        missing = [f for f in self._split_files() if not os.path.isfile(os.path.join(self.raw_folder, f))]
        if missing:
            urls = ", ".join(self.mirrors[0] + f + ".gz" for f in missing)
            raise RuntimeError("Dataset not found. You can use download=True to download it. "
                               f"Missing from {self.raw_folder}: {', '.join(missing)} "
                               f"(decompressed from {urls}).")

    def _load_data(self):
        image_file, label_file = (os.path.join(self.raw_folder, f) for f in self._split_files())
        data = read_image_file(image_file)
        targets = read_label_file(label_file)
        if len(data) != len(targets):
            raise RuntimeError(f"{image_file} holds {len(data)} images but {label_file} holds "
                               f"{len(targets)} labels")
        if targets.size and targets.max() >= len(self.classes):
            raise RuntimeError(f"{label_file}: labels should lie in [0, {len(self.classes)}), "
                               f"found {targets.max()}")
        return data, targets

    def __getitem__(self, index: int):
        img, target = self.data._data[index], int(self.targets._data[index])
        img = Image.fromarray(img, mode="L")
        return self._apply_transforms(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def check_integrity(self) -> bool:
        """Whether the four official ``.gz`` files are in ``raw_folder`` with their MD5s."""
        return all(check_integrity(os.path.join(self.raw_folder, filename), md5)
                   for filename, md5 in self.resources)

    def _decompressed_exist(self) -> bool:
        return all(os.path.isfile(os.path.join(self.raw_folder, os.path.splitext(f)[0]))
                   for f, _ in self.resources)

    def download(self) -> None:
        """Download each resource from the first mirror that serves it with the right MD5."""
        if self._decompressed_exist():
            return  # as torchvision: files already in place are used as they are
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_and_extract_archive(url, download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                except DownloadError as error:
                    print(f"Failed to download (trying next):\n{error}")
                    errors.append(str(error))
                    continue
                break
            else:
                raise RuntimeError(f"Error downloading {filename} (MD5 {md5}) into "
                                   f"{self.raw_folder}; tried:\n" + "\n".join(errors))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """`Fashion-MNIST <https://github.com/zalandoresearch/fashion-mnist>`_: MNIST's format with
    28 x 28 grayscale pictures of clothes in 10 classes."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
