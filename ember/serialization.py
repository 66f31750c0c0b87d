"""ember.save / ember.load: checkpoints in the safetensors format, never pickle.

A checkpoint is one safetensors file (https://github.com/huggingface/safetensors: an 8-byte
little-endian header length, a JSON header, then the raw tensor bytes). The tensors of the saved
object are its tensors, named by their path in the object (``conv1.weight``,
``optimizer.state.0.exp_avg``), so any safetensors reader sees a plain state dict; the rest of
the object - dicts (with their key types and order), lists, tuples, numbers, strings, None - is
JSON in the header's ``__metadata__['ember']``. Loading only ever parses JSON and copies bytes
into arrays: a checkpoint cannot run code, whatever its origin.

Saving writes a temporary file in the destination's directory, fsyncs it and renames it over
the destination (``os.replace`` is atomic), so a crash or an error mid-save leaves the previous
checkpoint intact.

>>> ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
...            "ckpt.safetensors")
>>> ckpt = ember.load("ckpt.safetensors")
>>> model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])

``safetensors`` is one of ember's core dependencies (it is imported on first use).
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections import Counter, OrderedDict

import numpy as np

from ._tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "ember"
_FORMAT_VERSION = 1


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError as e:
        raise ImportError("ember.save and ember.load need the 'safetensors' package, a dependency "
                          "of ember: reinstall ember, or  pip install safetensors") from e
    return safetensors.numpy


# ---------------------------------------------------------------------------------------------
# the object <-> (JSON structure, named arrays)
# ---------------------------------------------------------------------------------------------

class _Encoder:
    """Turns an object into JSON-able structure, collecting its tensors under path names."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._names_by_id: dict[int, str] = {}

    def _name_for(self, path: list[str]) -> str:
        base = ".".join(path) or "tensor"
        name, n = base, 1
        while name in self.arrays:  # two paths that join to the same string ("a.b" vs a -> b)
            name, n = f"{base}#{n}", n + 1
        return name

    def _array(self, obj, array: np.ndarray, path, tag: dict) -> dict:
        if id(obj) in self._names_by_id:  # the same tensor twice (tied weights): stored once
            return {**tag, "name": self._names_by_id[id(obj)]}
        if array.dtype.kind not in "biuf" or array.dtype.byteorder == ">":
            raise TypeError(f"cannot save an array of dtype {array.dtype} (at {'.'.join(path)})")
        name = self._name_for(path)
        # (not np.ascontiguousarray: it turns 0-d arrays into 1-d ones)
        self.arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
        self._names_by_id[id(obj)] = name
        return {**tag, "name": name}

    def encode(self, obj, path: list[str]):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}  # inf, -inf, nan
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter

            tag = {"__tensor__": "Parameter" if isinstance(obj, Parameter) else "Tensor"}
            if obj.requires_grad:
                tag["requires_grad"] = True
            return self._array(obj, obj._data, path, tag)
        if isinstance(obj, np.ndarray):
            return self._array(obj, obj, path, {"__ndarray__": True})
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"__npscalar__": obj.dtype.str, "value": self.encode(obj.item(), path)}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            kind = {OrderedDict: "OrderedDict", Counter: "Counter"}.get(type(obj), "dict")
            if kind == "dict" and type(obj) is not dict:
                raise TypeError(f"cannot save a {type(obj).__name__} (at {'.'.join(path)}): "
                                "checkpoints hold dicts, lists, tuples, numbers, strings, None "
                                "and tensors")
            items = [[self._encode_key(k, path), self.encode(v, path + [str(k)])]
                     for k, v in obj.items()]
            out = {"__dict__": kind, "items": items}
            metadata = getattr(obj, "_metadata", None)  # a Module.state_dict's versions
            if metadata is not None:
                out["_metadata"] = self.encode(metadata, path + ["_metadata"])
            return out
        raise TypeError(f"cannot save an object of type {type(obj).__name__} "
                        f"(at {'.'.join(path) or 'the top level'}): checkpoints hold dicts, "
                        "lists, tuples, numbers, strings, None and tensors, never pickled objects")

    def _encode_key(self, key, path):
        if isinstance(key, (str, int, float, bool)) or key is None:
            return self.encode(key, path)
        if isinstance(key, tuple):
            return self.encode(key, path)
        raise TypeError(f"cannot save a dict key of type {type(key).__name__} (at "
                        f"{'.'.join(path) or 'the top level'})")


def _decode(node, arrays: dict, made: dict):
    """The inverse of _Encoder.encode; ``made`` keeps one Tensor per stored name (ties)."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, made) for v in node]
    if not isinstance(node, dict):
        raise _corrupt(f"unexpected JSON value {node!r}")
    if "__tensor__" in node or "__ndarray__" in node:
        name = node.get("name")
        if name not in arrays:
            raise _corrupt(f"the structure names a tensor {name!r} that the file does not hold")
        key = (name, "__ndarray__" in node)
        if key not in made:
            made[key] = _make_tensor(node, arrays[name])
        return made[key]
    if "__float__" in node:
        return float(node["__float__"])
    if "__npscalar__" in node:
        return np.dtype(node["__npscalar__"]).type(_decode(node["value"], arrays, made))
    if "__tuple__" in node:
        return tuple(_decode(v, arrays, made) for v in node["__tuple__"])
    if "__dict__" in node:
        cls = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}.get(node["__dict__"])
        if cls is None:
            raise _corrupt(f"unknown mapping type {node['__dict__']!r}")
        out = cls()  # filled key by key: Counter(pairs) would count the pairs
        for k, v in node["items"]:
            out[_decode(k, arrays, made)] = _decode(v, arrays, made)
        if "_metadata" in node:
            out._metadata = _decode(node["_metadata"], arrays, made)
        return out
    raise _corrupt(f"unexpected JSON object with keys {sorted(node)}")


def _make_tensor(node: dict, array: np.ndarray):
    if "__ndarray__" in node:
        return array
    t = Tensor._wrap(array)
    if node["__tensor__"] == "Parameter":
        from .nn.parameter import Parameter
        return Parameter(t, requires_grad=node.get("requires_grad", False))
    if node.get("requires_grad"):
        t.requires_grad = True
    return t


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------

class _CorruptCheckpoint(RuntimeError):
    pass


def _corrupt(detail: str) -> _CorruptCheckpoint:
    return _CorruptCheckpoint(f"not a valid ember checkpoint: {detail}")


def _write_all(fileobj, data: bytes) -> None:
    """Write every byte (a separate function so that tests can interrupt it)."""
    view = memoryview(data)
    while view:
        written = fileobj.write(view)
        view = view[written:]


def _atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory: fsync, then
    ``os.replace``. On any error the temporary file is removed and ``path`` is untouched."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, f) -> None:
    """Save ``obj`` - a state dict, or any nesting of dicts, lists, tuples, numbers, strings,
    None, Tensors and NumPy arrays - to ``f`` (a path, or a binary file object) as a
    safetensors file. A path is replaced atomically; objects of other types raise TypeError
    (nothing is pickled)."""
    st = _safetensors_numpy()
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    metadata = {"format": _FORMAT, "ember_format_version": str(_FORMAT_VERSION),
                "ember": json.dumps(structure, allow_nan=False, separators=(",", ":"))}
    data = st.save(encoder.arrays, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), data)
    else:
        _write_all(f, data)


def _read_header(data: bytes, source: str) -> dict:
    if data[:2] == b"PK":
        raise _corrupt(f"{source} is a zip archive (a torch.save checkpoint?); ember never "
                       "unpickles - save the state dict from torch with safetensors instead "
                       "(safetensors.torch.save_file)")
    if data[:1] == b"\x80":
        raise _corrupt(f"{source} is a Python pickle; ember never unpickles (pickles can run "
                       "arbitrary code)")
    if len(data) < 8:
        raise _corrupt(f"{source} is {len(data)} bytes long, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise _corrupt(f"{source} is truncated or not a safetensors file (its header claims "
                       f"{n} bytes, the file has {len(data) - 8} after the length)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _corrupt(f"{source} has no valid safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise _corrupt(f"{source} has no valid safetensors header")
    try:
        end = 8 + n + max((int(v["data_offsets"][1]) for k, v in header.items()
                           if k != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        raise _corrupt(f"{source} has a malformed safetensors header") from None
    if end > len(data):
        raise _corrupt(f"{source} is truncated: the header describes {end} bytes, the file has "
                       f"{len(data)}")
    return header


def load(f, map_location=None, weights_only=True, *, mmap=None):
    """Load an object saved by :func:`save` from ``f`` (a path or a binary file object).

    A plain safetensors file (written by another tool) loads as an ``OrderedDict`` of its
    tensors. ``map_location``, ``weights_only`` and ``mmap`` are accepted for compatibility with
    ``torch.load``: ember tensors live on the CPU, and loading never unpickles anything whatever
    ``weights_only`` says. A truncated, corrupt or foreign file raises RuntimeError saying so.
    """
    st = _safetensors_numpy()
    if isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(source, "rb") as fh:
            data = fh.read()
    else:
        source = getattr(f, "name", "the file")
        data = f.read()
        if isinstance(data, str):
            raise TypeError("ember.load needs a binary file object (open it with 'rb')")
    header = _read_header(data, repr(source) if isinstance(source, str) else str(source))
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors' SafetensorError: layout, dtype or offsets invalid
        raise _corrupt(f"{source!r}: {e}") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != _FORMAT or "ember" not in metadata:
        # a safetensors file from elsewhere: its tensors, in file order
        names = sorted((k for k in header if k != "__metadata__"),
                       key=lambda k: header[k]["data_offsets"][0])
        return OrderedDict((k, Tensor._wrap(arrays[k])) for k in names)
    try:
        structure = json.loads(metadata["ember"])
    except json.JSONDecodeError as e:
        raise _corrupt(f"{source!r}: its structure is not valid JSON ({e})") from None
    return _decode(structure, arrays, {})

