"""CIFAR-10 and CIFAR-100 (torchvision.datasets.cifar), read from the official "python version"
archives: a folder of pickled batches, each a dict with ``data`` (``N x 3072`` uint8, the
channel planes R, G, B of 32 x 32 images, row-major) and ``labels`` (``fine_labels`` and
``coarse_labels`` for CIFAR-100), plus a meta pickle with the class names.

The batches are pickles, and unpickling can run arbitrary code, so they are read with
:class:`RestrictedUnpickler`, which admits only the few NumPy functions that rebuild arrays.

``download=False`` accepts any well-formed folder in this layout - the official files, a subset
or a regenerated copy - and checks its structure, shapes and label ranges; the official MD5s are
checked on download and by :meth:`CIFAR10.check_integrity`.
"""
from __future__ import annotations

import codecs
import io
import os
import pickle
import warnings

import numpy as np
from PIL import Image

from .utils import DownloadError, check_integrity, download_and_extract_archive
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "RestrictedUnpickler", "RefusedGlobal", "load_pickle"]


def _latin1_encode(obj, encoding="latin1"):
    # a Python 3 pickle (protocol < 3) stores bytes as _codecs.encode(str, "latin1")
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(obj, encoding)


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allowed set, or called an allowed one in a way that
    would allocate memory from numbers in the file rather than from the bytes it holds."""


# -- arrays, rebuilt only from the bytes in the file ----------------------------------------------
#
# NumPy pickles an array either as ``_reconstruct(ndarray, (0,), b'b')`` followed by a BUILD whose
# state ``(version, shape, dtype, is_fortran, raw)`` carries the data (protocols 0-4), or as
# ``_frombuffer(bytes, dtype, shape, order)`` (protocol 5), and a scalar as ``scalar(dtype, raw)``.
# Called with other arguments those functions (and ``ndarray(shape, dtype)`` itself) allocate as
# much memory as the file asks for - 985 MiB from a 33-byte file - or, for object arrays built
# from a short list, crash the interpreter. So every array here is checked to be exactly the
# bytes present in the file (``prod(shape) * itemsize == len(raw)``) before NumPy sees it.

def _refuse(what: str):
    raise RefusedGlobal(f"refusing {what}: a dataset pickle may hold only arrays rebuilt from "
                        "the bytes it contains (no allocation sized by numbers in the file, no "
                        "object arrays)")


def _raw_bytes(raw):
    if isinstance(raw, str):  # a Python 2 str read with encoding="latin1"
        return raw.encode("latin1")
    if isinstance(raw, (bytes, bytearray, pickle.PickleBuffer)):
        return raw
    return None


def _checked_layout(shape, dtype, raw, what: str):
    """``raw`` as bytes, once ``shape`` and ``dtype`` are seen to describe exactly its length."""
    data = _raw_bytes(raw)
    if not (isinstance(dtype, np.dtype) and not dtype.hasobject and data is not None
            and isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        _refuse(f"{what} with shape {shape!r}, dtype {dtype!r} and {type(raw).__name__} data")
    count = 1
    for n in shape:  # Python ints: no overflow
        count *= n
    nbytes = memoryview(data).nbytes
    if count * dtype.itemsize != nbytes:
        _refuse(f"{what} of shape {shape} and dtype {dtype} ({count * dtype.itemsize} bytes) "
                f"from {nbytes} bytes of data")
    return data


class _NdarrayName:
    """Stands for ``numpy.ndarray`` in a pickle, where it is only the first argument of
    ``_reconstruct``; called itself (``ndarray(shape, dtype)``) it would allocate unchecked."""

    def __call__(self, *args, **kwargs):
        _refuse("numpy.ndarray(...)")


_NDARRAY = _NdarrayName()


class _ArrayState:
    """What ``_reconstruct`` returns while unpickling: a placeholder that becomes an array when
    the BUILD opcode hands it the array's state, after :func:`_checked_layout`. ``load_pickle``
    swaps the placeholders for their arrays once the whole pickle is read."""

    __slots__ = ("array",)
    __hash__ = None  # like an ndarray: not a dict key

    def __setstate__(self, state) -> None:
        if not (isinstance(state, tuple) and len(state) in (4, 5)):
            _refuse(f"an array state of type {type(state).__name__}")
        shape, dtype, fortran, raw = state[-4:]
        data = _checked_layout(shape, dtype, raw, "an array")
        array = np.ndarray((0,), np.int8)  # constant size: numpy's own placeholder
        array.__setstate__((1, shape, dtype, bool(fortran), bytes(data)))
        self.array = array


def _reconstruct(subtype, shape, typecode):
    if not (subtype is _NDARRAY and shape == (0,) and _raw_bytes(typecode) == b"b"):
        _refuse(f"_reconstruct({type(subtype).__name__}, {shape!r}, {typecode!r})")
    return _ArrayState()


def _frombuffer(buffer, dtype, shape, order):
    data = _checked_layout(shape, dtype, buffer, "_frombuffer")
    if order not in ("C", "F", "A", "K"):
        _refuse(f"_frombuffer with order {order!r}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)


def _scalar(dtype, raw=None):
    data = _checked_layout((), dtype, raw, "scalar")
    return _multiarray().scalar(dtype, bytes(data))


def _empty_bytes(*args):
    # protocols < 3 write b"" as bytes(); bytes(n) would allocate n bytes from the file's number
    if args:
        _refuse(f"bytes{args!r}")
    return b""


def _multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    return multiarray


def _allowed_globals() -> dict:
    """The only globals a CIFAR pickle may name: NumPy's array and scalar reconstructors (the
    checked versions above), by their NumPy 1 (``numpy.core``) and NumPy 2 (``numpy._core``)
    module names."""
    allowed = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): np.dtype,
               ("_codecs", "encode"): _latin1_encode,
               ("builtins", "bytes"): _empty_bytes, ("__builtin__", "bytes"): _empty_bytes}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = _reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = _scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = _frombuffer
    return allowed


def _with_arrays(obj, seen: dict):
    """``obj`` with every :class:`_ArrayState` replaced by its array, in dicts, lists and
    tuples (shared and cyclic containers are visited once)."""
    if isinstance(obj, _ArrayState):
        if not hasattr(obj, "array"):
            _refuse("an array without data")
        return obj.array
    if not isinstance(obj, (dict, list, tuple)) or id(obj) in seen:
        return seen.get(id(obj), obj)
    seen[id(obj)] = obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _with_arrays(value, seen)
    elif isinstance(obj, list):
        obj[:] = [_with_arrays(item, seen) for item in obj]
    else:
        seen[id(obj)] = tuple(_with_arrays(item, seen) for item in obj)
    return seen[id(obj)]


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only builtin containers, strings, numbers and NumPy arrays.

    Any other global (``os.system``, ``builtins.eval``, a class) raises
    :class:`RefusedGlobal` (a ``pickle.UnpicklingError``) instead of being imported, so a crafted
    batch file cannot run code; NumPy's reconstructors are replaced by checked versions, so it
    cannot make the reader allocate more than the file holds either.
    """

    _allowed = None

    def find_class(self, module: str, name: str):
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _allowed_globals()
        try:
            return RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refusing to load global '{module}.{name}': a dataset pickle may contain only "
                "dicts, lists, strings, numbers and NumPy arrays") from None

    def load(self):
        return _with_arrays(super().load(), {})


def load_pickle(path: str):
    """Unpickle a (Python 2 or 3) dataset pickle with :class:`RestrictedUnpickler`."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        # latin1 reads Python 2 str (the official files) as str and NumPy's buffers as bytes
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except RefusedGlobal as error:
        raise RuntimeError(f"{path}: {error}") from None
    except Exception as error:
        raise RuntimeError(f"{path}: not a valid pickle ({type(error).__name__}: {error})") from None


class CIFAR10(VisionDataset):
    """`CIFAR-10 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 32 x 32 RGB images in 10 classes.

    Args:
        root: folder holding ``cifar-10-batches-py`` (or where it will be downloaded).
        train: the 50,000 training images (``data_batch_1..5``) or the 10,000 test images
            (``test_batch``).
        transform: applied to the PIL image, e.g. ``transforms.ToTensor()``.
        target_transform: applied to the integer label.
        download: fetch ``url`` (checked against ``tgz_md5``) and extract it under ``root``
            unless the official files are already there. ``url`` is a class attribute, so a
            mirror can be used with ``CIFAR10.url = ...``. If the download fails but a complete
            folder is there, that folder is used with a warning.

    ``dataset[i]`` is ``(image, label)``; ``data`` is the ``N x 32 x 32 x 3`` uint8 array and
    ``targets`` the list of labels, as torchvision.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    tgz_size = 170498071  # bytes: caps the download before its MD5 can be checked
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [
        ["test_batch", "40351d587109b95175f43aff81a1287e"],
    ]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    labels_key = "labels"

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self._download_or_keep()
        self._check_exists()
        self._load_meta()
        data, targets = [], []
        for file_name, _ in (self.train_list if self.train else self.test_list):
            batch_data, batch_labels = self._load_batch(os.path.join(self._folder, file_name))
            data.append(batch_data)
            targets.extend(batch_labels)
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self.targets = targets

    @property
    def _folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    def _expected_files(self) -> list[str]:
        split = self.train_list if self.train else self.test_list
        return [self.meta["filename"]] + [name for name, _ in split]

    def _check_exists(self) -> None:
        missing = [f for f in self._expected_files()
                   if not os.path.isfile(os.path.join(self._folder, f))]
        if missing:
            raise RuntimeError(
                "Dataset not found or corrupted. You can use download=True to download it. "
                f"Missing from {self._folder}: {', '.join(missing)} (the layout of {self.url}: "
                f"{', '.join(self._expected_files())}).")

    def _load_batch(self, path: str):
        entry = load_pickle(path)
        if not isinstance(entry, dict) or "data" not in entry or self.labels_key not in entry:
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise RuntimeError(f"{path}: not a CIFAR batch: expected a dict with 'data' and "
                               f"'{self.labels_key}', got {keys}")
        data = entry["data"]
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
                and data.shape[1] == 3 * 32 * 32):
            desc = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                    else type(data).__name__)
            raise RuntimeError(f"{path}: 'data' should be a uint8 array of shape (N, 3072), got {desc}")
        labels = np.asarray(entry[self.labels_key])
        if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise RuntimeError(f"{path}: '{self.labels_key}' should hold {data.shape[0]} integers, "
                               f"got {labels.dtype} array of shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise RuntimeError(f"{path}: labels should lie in [0, {len(self.classes)}), found "
                               f"[{labels.min()}, {labels.max()}]")
        return data, labels.tolist()

    def _load_meta(self) -> None:
        path = os.path.join(self._folder, self.meta["filename"])
        meta = load_pickle(path)
        names = meta.get(self.meta["key"]) if isinstance(meta, dict) else None
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            raise RuntimeError(f"{path}: expected a dict with '{self.meta['key']}', a list of "
                               "class names")
        self.classes = names
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __getitem__(self, index: int):
        img, target = self.data[index], self.targets[index]
        img = Image.fromarray(img)  # a PIL image, as every torchvision dataset returns
        return self._apply_transforms(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def check_integrity(self) -> bool:
        """Whether every official file is present with its official MD5 (False for regenerated
        or partial copies, which still load)."""
        for filename, md5 in self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]:
            if not check_integrity(os.path.join(self._folder, filename), md5):
                return False
        return True

    _check_integrity = check_integrity  # torchvision's private name

    def _download_or_keep(self) -> None:
        """``download=True``: fetch the official files unless they are there; if that fails but
        a complete folder is already there (a regenerated copy, say, on a machine without
        network), keep it with a warning instead of failing."""
        try:
            self.download()
        except DownloadError as error:
            if not all(os.path.isfile(os.path.join(self._folder, f)) for f in self._expected_files()):
                raise
            warnings.warn(f"{error}\nUsing the files already in {self._folder}, which do not "
                          "have the official checksums.", stacklevel=3)

    def download(self) -> None:
        if self.check_integrity():
            print("Files already downloaded and verified")
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5,
                                     size=self.tgz_size)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """`CIFAR-100 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: like :class:`CIFAR10` with
    100 fine classes (``targets`` are the fine labels, as torchvision)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    tgz_size = 169001437
    train_list = [
        ["train", "16019d7e3df5f24257cddd939b257f8d"],
    ]
    test_list = [
        ["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"],
    ]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
    labels_key = "fine_labels"
