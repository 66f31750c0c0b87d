"""torch.save's file formats, read and written without torch (issue 13).

**The zip format** (torch >= 1.6): an uncompressed zip whose records are
``<archive>/data.pkl`` (the object, pickled with protocol 2), ``<archive>/data/<key>`` (one
record per storage, raw little-endian bytes), ``<archive>/byteorder``, ``<archive>/version``
and ``<archive>/.data/serialization_id``. A tensor in data.pkl is
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``
whose storage is a persistent id ``('storage', torch.FloatStorage, key, location, numel)``;
tensors that share a storage (views) keep sharing it here too.

**The legacy format** (``_use_new_zipfile_serialization=False``): a magic-number pickle, a
protocol pickle, a sys-info pickle, the object pickle, the pickled list of storage keys, then
each storage as an int64 element count followed by its bytes.

**Safety.** ``weights_only=True`` (the default, as torch 2.6+) unpickles with
:class:`WeightsUnpickler`: only the globals torch's own weights-only unpickler allows resolve
(tensor rebuild functions, storage types, dtypes, Size, device, OrderedDict, Counter, set,
bytearray, complex, _codecs.encode), each to ember's equivalent; anything else raises
``pickle.UnpicklingError`` with torch's wording and names the global - no code from the file
runs. Every storage is checked against its record's size and every tensor against its storage
before a view is made; records must be stored (a compressed record - a zip bomb - is refused).
``weights_only=False`` is ordinary pickle, for files the caller trusts (whole ember objects).
"""
from __future__ import annotations

import io
import mmap as _mmap
import os
import pickle
import struct
import uuid
import warnings
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype
from ._device import device as _device
from ._parameter import Parameter
from ._size import Size
from ._tensor import Tensor

__all__ = ["is_zip", "is_legacy", "load_zip", "load_legacy", "save", "WeightsUnpickler"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# torch's storage classes <-> NumPy dtypes (little endian, as every file torch writes here)
STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
                  "BFloat16Storage": "bfloat16", "LongStorage": "<i8", "IntStorage": "<i4",
                  "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
                  "BoolStorage": "?"}
_STORAGE_OF = {np.dtype(v): k for k, v in STORAGE_DTYPES.items() if v != "bfloat16"}

UNSAFE_MESSAGE = (
    "Re-running `ember.load` with `weights_only` set to `False` will likely succeed, but it can "
    "result in arbitrary code execution. Do it only if you got the file from a trusted source.")


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def is_legacy(data: bytes) -> bool:
    return data[:2] == b"\x80\x02" and data[2:3] == b"\x8a"  # protocol 2, then LONG1 (magic)


class _FileError(RuntimeError):
    pass


# what zipfile raises on a damaged archive (names, headers, sizes that lie)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               UnicodeDecodeError, NotImplementedError, struct.error, KeyError, OverflowError)


def _bad(source, what):
    return _FileError(f"not a valid torch checkpoint: {source}: {what}")


# ------------------------------------------------------------------------------------- reading
class _StorageType:
    """What a ``torch.FloatStorage`` global resolves to: its element dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


class _Storage:
    """A storage read from the file: a flat NumPy array (bfloat16 already widened)."""

    def __init__(self, array, location):
        self.array, self.location = array, location


def _widen_bfloat16(raw_u2: np.ndarray) -> np.ndarray:
    # bfloat16 is the top half of a float32: shifting the bits up is exact
    warnings.warn("ember has no bfloat16: the checkpoint's bfloat16 tensors are loaded as "
                  "float32 (exactly: every bfloat16 value is a float32 value)", UserWarning,
                  stacklevel=4)
    return (raw_u2.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor's storage is not a storage record")
    size, stride = tuple(size), tuple(stride)
    values = (storage_offset, *size, *stride)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in values):
        raise pickle.UnpicklingError(f"invalid tensor layout: offset {storage_offset}, size "
                                     f"{size}, stride {stride}")
    flat = storage.array
    if 0 not in size:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise pickle.UnpicklingError(
                f"a tensor of size {size} and stride {stride} at offset {storage_offset} reads "
                f"past the end of its storage of {flat.size} elements")
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(flat[storage_offset:] if flat.size else flat,
                                           shape=size, strides=[s * item for s in stride])
    t = Tensor._wrap(view)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    return Parameter(data, requires_grad=requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = Parameter(data, requires_grad=requires_grad)
    for name, value in (state or {}).items():
        setattr(param, name, value)
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    ret = func(*args)
    if new_type is Parameter and not isinstance(ret, Parameter):
        ret = Parameter(ret, requires_grad=ret.requires_grad)
    for name, value in (state or {}).items():
        setattr(ret, name, value)
    return ret


def _get_layout(name):
    if name != "torch.strided":
        raise pickle.UnpicklingError(f"ember has only strided tensors, the file has {name}")
    return name


def _dtype_global(name):
    if name == "bfloat16":
        return _dtype.float32
    dt = getattr(_dtype, {"bool": "bool_"}.get(name, name), None)
    if not isinstance(dt, _dtype.dtype):
        raise pickle.UnpicklingError(f"ember has no dtype torch.{name}")
    return dt


def _allowed_globals():
    """torch's weights-only allowlist (torch/_weights_only_unpickler.py), mapped to ember."""
    rc = {
        "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter, "torch.Tensor": Tensor,
        "torch.Size": Size, "torch.device": _device,
        "torch.serialization._get_layout": _get_layout,
        "_codecs.encode": __import__("codecs").encode, "builtins.bytearray": bytearray,
        "builtins.set": set, "builtins.complex": complex,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    }
    for name in STORAGE_DTYPES:
        rc[f"torch.{name}"] = _StorageType(name)
    for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                 "uint8", "bool"):
        rc[f"torch.{name}"] = name  # resolved lazily: bfloat16 warns only when it is used
    return rc


_ALLOWED = None


class _Reader:
    """Storages of one file, read on demand and checked against their records."""

    def __init__(self, source, records, map_location):
        self.source, self.records, self.map_location = source, records, map_location
        self.cache = {}

    def storage(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unsupported persistent id encountered")
        _, storage_type, key, location, numel = pid[:5]
        if isinstance(storage_type, str):  # a dtype global (torch >= 2 writes UntypedStorage)
            storage_type = _StorageType(_storage_name_of_dtype(storage_type))
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unknown storage type {storage_type!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"invalid storage record {key!r} of {numel!r} elements")
        location = _map_location(str(location), self.map_location)
        cached = self.cache.get(key)
        if cached is None:
            width = 2 if storage_type.dtype == "bfloat16" else np.dtype(storage_type.dtype).itemsize
            raw = self.records(key, numel * width)
            if storage_type.dtype == "bfloat16":
                array = _widen_bfloat16(raw.view("<u2"))
            else:
                array = raw.view(storage_type.dtype)
            cached = self.cache[key] = _Storage(array.reshape(-1), location)
        return cached


def _storage_name_of_dtype(name):
    """The storage class of a dtype named as torch writes it (``float32`` -> FloatStorage)."""
    return "BFloat16Storage" if name == "bfloat16" else _STORAGE_OF[np.dtype(name)]


def _map_location(location, map_location):
    if callable(map_location) and not isinstance(map_location, (str, _device)):
        return location  # torch's fn(storage, location) picks a device: ember has only the CPU
    if isinstance(map_location, dict):
        location = str(map_location.get(location, location))
    elif map_location is not None:
        location = str(map_location)
    if not location.startswith("cpu"):
        if map_location is None and location.startswith(("cuda", "mps", "xpu")):
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU."
                if location.startswith("cuda") else
                f"Attempting to deserialize object on device {location!r}: ember runs on the CPU "
                f"only; pass map_location='cpu'.")
        raise RuntimeError(f"ember runs on the CPU: cannot map a storage to {location!r}")
    return location


def _python3_names(module, name):
    """Protocol-2 pickles name Python 2's modules (``__builtin__.set``): pickle's own
    find_class translates them, and so must an override."""
    import _compat_pickle
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _allowed(module, name):
    """What an allowlisted global resolves to in ember, or None."""
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _allowed_globals()
    value = _ALLOWED.get(f"{module}.{name}")
    return _dtype_global(value) if isinstance(value, str) else value


class WeightsUnpickler(pickle.Unpickler):
    """Unpickles only what torch's ``weights_only=True`` allows; see the module docstring."""

    def __init__(self, file, reader):
        super().__init__(file, encoding="utf-8")
        self.reader = reader

    def find_class(self, module, name):
        module, name = _python3_names(module, name)
        value = _allowed(module, name)
        if value is None:
            raise pickle.UnpicklingError(
                f"Weights only load failed. This file can still be loaded, to do so you have two "
                f"options, do those steps only if you trust the source of the checkpoint. \n\t(1) "
                f"{UNSAFE_MESSAGE}\n\t(2) Alternatively, ember cannot extend the weights-only "
                f"allowlist.\n\tWeightsUnpickler error: Unsupported global: GLOBAL "
                f"{module}.{name} was not an allowed global by default.")
        return value

    def persistent_load(self, pid):
        return self.reader.storage(pid)


class _FullUnpickler(WeightsUnpickler):
    """``weights_only=False``: ordinary pickle (trusted files), with torch's tensor globals
    answered by ember's so that checkpoints written by torch or ember both load."""

    def find_class(self, module, name):
        module, name = _python3_names(module, name)
        value = _allowed(module, name)
        if value is not None:
            return value
        if module == "torch" or module.startswith("torch."):
            raise pickle.UnpicklingError(
                f"the file holds a torch object ({module}.{name}) that ember cannot rebuild; "
                f"save its state_dict() with torch instead")
        return pickle.Unpickler.find_class(self, module, name)


def _unpickle(data_pkl, reader, weights_only):
    cls = WeightsUnpickler if weights_only else _FullUnpickler
    try:
        return cls(io.BytesIO(data_pkl), reader).load()
    except (pickle.UnpicklingError, _FileError, RuntimeError):
        raise
    except RecursionError:
        raise pickle.UnpicklingError("the pickle nests too deeply") from None
    except Exception as e:  # noqa: BLE001 - a malformed pickle: say so, whatever broke
        if not weights_only:
            raise
        raise pickle.UnpicklingError(f"Weights only load failed: malformed pickle in "
                                     f"{reader.source}: {type(e).__name__}: {e}") from None


def load_zip(fileobj, source, weights_only, map_location, mmap_file):
    """Load torch's zip format from ``fileobj`` (seekable); ``mmap_file``: the same file
    memory-mapped, whose storages are then views instead of copies."""
    try:
        zf = zipfile.ZipFile(fileobj)
        infos = {info.filename: info for info in zf.infolist()}
        pkl = [name for name in infos if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pkl) != 1:
            raise _bad(source, "no <archive>/data.pkl record")
        prefix = pkl[0][:-len("data.pkl")]
        for info in infos.values():
            if info.compress_type != zipfile.ZIP_STORED:
                raise _bad(source, f"record {info.filename!r} is compressed; torch writes stored "
                                   f"records only (a compressed one could expand without bound)")
        byteorder = infos.get(prefix + "byteorder")
        if byteorder is not None and zf.read(byteorder) not in (b"little", b"little\n"):
            raise _bad(source, "big-endian checkpoints are not supported")
        data_pkl = zf.read(infos[pkl[0]])
    except _ZIP_ERRORS as e:
        raise _bad(source, f"a broken zip archive ({type(e).__name__}: {e})") from None

    def records(key, nbytes):
        info = infos.get(f"{prefix}data/{key}")
        if info is None:
            raise pickle.UnpicklingError(f"storage record data/{key} is missing from {source}")
        if info.file_size < nbytes:
            raise pickle.UnpicklingError(
                f"storage data/{key} declares {nbytes} bytes but its record holds "
                f"{info.file_size}")
        if mmap_file is not None:
            return _mapped_record(mmap_file, info, nbytes, source)
        out = np.empty(nbytes, np.uint8)
        with zf.open(info) as fh:
            if fh.readinto(memoryview(out)) != nbytes:
                raise _bad(source, f"record data/{key} is truncated")
        return out

    reader = _Reader(source, records, map_location)
    return _unpickle(data_pkl, reader, weights_only)


def _mapped_record(mapped, info, nbytes, source):
    """The record's bytes as a copy-on-write view of the mapped file (no copy is made)."""
    header = info.header_offset
    if header + 30 > len(mapped) or mapped[header:header + 4] != b"PK\x03\x04":
        raise _bad(source, f"record {info.filename!r} has no local header")
    name_len, extra_len = struct.unpack_from("<HH", mapped, header + 26)
    start = header + 30 + name_len + extra_len
    if start + nbytes > len(mapped):
        raise _bad(source, f"record {info.filename!r} runs past the end of the file")
    return np.frombuffer(mapped, np.uint8, nbytes, start)


def load_legacy(data, source, weights_only, map_location):
    f = io.BytesIO(data)
    try:
        magic = pickle.load(f)
        protocol = pickle.load(f)
        WeightsUnpickler(f, None).load()  # sys_info: a dict of numbers
    except Exception:  # noqa: BLE001
        raise _bad(source, "not a torch checkpoint (neither zip nor legacy format)") from None
    if magic != LEGACY_MAGIC or protocol != _LEGACY_PROTOCOL:
        raise _bad(source, "invalid magic number / protocol of a legacy torch file")
    # The storages follow the object here: walk the object's pickle once without running
    # anything (every global is an inert stand-in) to learn each storage's type, find the
    # storage records behind it, then unpickle for real.
    object_start = f.tell()
    types = {}
    try:
        _Recorder(f, types).load()
        keys = WeightsUnpickler(f, None).load()
    except Exception as e:  # noqa: BLE001
        raise _bad(source, f"malformed legacy pickle ({type(e).__name__}: {e})") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _bad(source, "invalid storage key list")
    records = {}
    for key in keys:  # each: an int64 element count, then the elements
        head = f.read(8)
        if len(head) != 8 or key not in types:
            raise _bad(source, f"storage {key} is truncated or undeclared")
        (count,) = struct.unpack("<q", head)
        width = 2 if types[key].dtype == "bfloat16" else np.dtype(types[key].dtype).itemsize
        if count < 0 or f.tell() + count * width > len(data):
            raise _bad(source, f"storage {key} declares {count} elements past the end of the file")
        records[key] = (f.tell(), count * width)
        f.seek(f.tell() + count * width)

    def record(key, nbytes):
        if key not in records or records[key][1] < nbytes:
            raise pickle.UnpicklingError(f"storage {key} is missing or shorter than declared")
        return np.frombuffer(data, np.uint8, nbytes, records[key][0]).copy()

    f.seek(object_start)
    reader = _Reader(source, record, map_location)
    cls = WeightsUnpickler if weights_only else _FullUnpickler
    try:
        return cls(f, reader).load()
    except (pickle.UnpicklingError, _FileError, RuntimeError):
        raise
    except Exception as e:  # noqa: BLE001
        if not weights_only:
            raise
        raise pickle.UnpicklingError(f"Weights only load failed: malformed pickle in {source}: "
                                     f"{type(e).__name__}: {e}") from None


class _Inert:
    """Stands in for every object while the legacy pickle is only being walked."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Recorder(pickle.Unpickler):
    def __init__(self, file, types):
        super().__init__(file, encoding="utf-8")
        self.types = types

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        return _Inert

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) >= 5 and isinstance(pid[1], _StorageType):
            self.types[pid[2]] = pid[1]
        return _Inert()


# ------------------------------------------------------------------------------------- writing
class _Global:
    """A global written as ``GLOBAL module\\nname`` without importing it (torch need not be
    installed to write files torch reads)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle insists that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is a name written into a file, not code")


_REBUILD_V2 = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAM = _Global("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = OrderedDict


class _TorchPickler(pickle._Pickler):  # the Python pickler: its dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, storages):
        super().__init__(file, protocol=2)
        self.storages = storages  # id(root array) -> (key, root array, storage name)

    def save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = save_torch_global

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", _Global("torch", obj.storage_name), obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Parameter):
            return _REBUILD_PARAM, (obj.detach(), obj.requires_grad, OrderedDict())
        if isinstance(obj, Tensor):
            ref, offset, size, stride = _storage_of(obj._data, self.storages)
            return _REBUILD_V2, (ref, offset, size, stride, obj.requires_grad, OrderedDict())
        if isinstance(obj, Size):
            return _Global("torch", "Size"), (tuple(obj),)
        if isinstance(obj, _device):
            return _Global("torch", "device"), (str(obj),)
        return NotImplemented

    def save_dtype(self, obj):  # a dtype is a bare global, torch.float32, as torch writes it
        self.save_torch_global(_Global("torch", obj.name))

    dispatch[_dtype.dtype] = save_dtype


class _StorageRef:
    def __init__(self, key, numel, storage_name):
        self.key, self.numel, self.storage_name = key, numel, storage_name


def _storage_of(array, storages):
    """(storage reference, offset, size, stride) of ``array``: arrays that view the same
    NumPy buffer share one storage, as torch's views share theirs."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    item = array.itemsize
    usable = (root.dtype == array.dtype and root.flags.c_contiguous
              and all(s % item == 0 for s in array.strides))
    if usable:
        offset_bytes = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        usable = offset_bytes % item == 0 and 0 <= offset_bytes < max(root.nbytes, 1)
    if not usable:  # not a plain view of one buffer: its own contiguous storage
        root = np.ascontiguousarray(array)
        offset_bytes = 0
        array = root
    entry = storages.get(id(root))
    if entry is None:
        name = _STORAGE_OF.get(root.dtype.newbyteorder("<") if root.dtype.byteorder == ">"
                               else root.dtype)
        if name is None:
            raise TypeError(f"cannot save a {root.dtype} tensor in torch's format")
        entry = storages[id(root)] = (_StorageRef(str(len(storages)), root.size, name), root)
    ref = entry[0]
    return (ref, offset_bytes // item, tuple(array.shape),
            tuple(s // item for s in array.strides))


def save(obj, f):
    """Write ``obj`` in torch's zip format to a path or a binary file object."""
    storages = {}
    buf = io.BytesIO()
    _TorchPickler(buf, storages).dump(obj)
    archive = "archive"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        _write_record(zf, out, f"{archive}/data.pkl", buf.getvalue())
        _write_record(zf, out, f"{archive}/.format_version", b"1")
        _write_record(zf, out, f"{archive}/.storage_alignment", b"64")
        _write_record(zf, out, f"{archive}/byteorder", b"little")
        for ref, root in storages.values():
            data = np.ascontiguousarray(root).astype(root.dtype.newbyteorder("<"), copy=False)
            _write_record(zf, out, f"{archive}/data/{ref.key}", data.tobytes())
        _write_record(zf, out, f"{archive}/version", b"3\n")
        _write_record(zf, out, f"{archive}/.data/serialization_id",
                      uuid.uuid4().hex.encode().ljust(40, b"0")[:40])
    return out.getvalue()


def _write_record(zf, out, name, payload):
    """A stored record whose data starts on a 64-byte boundary (torch aligns them so storages
    can be memory-mapped), padded through the local header's extra field as torch does."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = out.tell() + 30 + len(name.encode())
    pad = (-(start + 4)) % 64
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    zf.writestr(info, payload)


def open_mapped(path):
    """A copy-on-write memory map of the file (mmap=True): tensors view it, writes stay private."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise RuntimeError(f"not a valid torch checkpoint: {path!r}: the file is empty")
        return _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
