"""ember.save / ember.load: checkpoints in the safetensors format (the default, never pickled)
and in torch's own formats (ember/_torch_format.py: read with torch's weights-only allowlist,
written so that ``torch.load(weights_only=True)`` reads them; whole objects pickled only there).

A checkpoint is one safetensors file (https://github.com/huggingface/safetensors: an 8-byte
little-endian header length, a JSON header, then the raw tensor bytes). The tensors of the saved
object are its tensors, named by their path in the object (``conv1.weight``,
``optimizer.state.0.exp_avg``), so any safetensors reader sees a plain state dict; the rest of
the object - dicts (with their key types and order), lists, tuples, numbers, strings, None - is
JSON in the header's ``__metadata__['ember']``. Loading only ever parses JSON and copies bytes
into arrays: a checkpoint cannot run code, whatever its origin.

Saving writes a temporary file in the destination's directory, fsyncs it and renames it over
the destination (``os.replace`` is atomic), so a crash or an error mid-save leaves the previous
checkpoint intact. As with ``open(path, "wb")``, a symlink is written through (its target is
replaced), an existing file keeps its permission bits and a new one gets 0o666 less the umask.
A temporary is named ``.<name>.<host>.<pid>.<random>.ember-tmp``: the next save to the same path
removes those of processes on this host that no longer run (a save killed midway).

Loading recognises a safetensors file by its layout (a u64 header length that fits in the file,
then ``{``), checks every field of the header against the file before using it - dtypes, shapes,
offsets that tile the tensor data, nesting depth, the NumPy scalar dtypes ember writes - and
raises RuntimeError("not a valid ember checkpoint: <file>: <what is wrong>") for anything else;
no allocation is sized by a number from the file that the file's own size does not bound.

>>> ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
...            "ckpt.safetensors")
>>> ckpt = ember.load("ckpt.safetensors")
>>> model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])

``safetensors`` is one of ember's core dependencies (it is imported on first use).
"""
from __future__ import annotations

import io
import json
import math
import os
import socket
import stat
import struct
from collections import Counter, OrderedDict

import numpy as np

from ._parameter import Parameter
from ._tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "ember"
_FORMAT_VERSION = 1
# the NumPy scalars a checkpoint holds, as dtype strings: bool, ints, floats of at most 8 bytes
_SCALAR_DTYPES = frozenset(np.dtype(t).newbyteorder("<").str for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64))


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
        if (array.dtype.kind not in "biuf" or array.dtype.itemsize > 8
                or array.dtype.byteorder == ">"):  # what load reads back: see _TENSOR_DTYPES
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

            tag = {"__tensor__": "Parameter" if isinstance(obj, Parameter) else "Tensor"}
            if obj.requires_grad:
                tag["requires_grad"] = True
            return self._array(obj, obj._data, path, tag)
        if isinstance(obj, np.ndarray):
            return self._array(obj, obj, path, {"__ndarray__": True})
        if isinstance(obj, np.generic) and obj.dtype.newbyteorder("<").str in _SCALAR_DTYPES:
            # (the value goes through item(): the byte order of the spelling is immaterial)
            return {"__npscalar__": obj.dtype.newbyteorder("<").str,
                    "value": self.encode(obj.item(), path)}
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


class _BadStructure(Exception):
    """What is wrong with a checkpoint's structure; load() adds the file's name."""


_MAPPINGS = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _decode(node, arrays: dict, made: dict):
    """The inverse of _Encoder.encode; ``made`` keeps one Tensor per stored name (ties). The
    structure comes from the file: every field is checked before it is used, and nesting was
    bounded (_MAX_DEPTH) before this recursion starts."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, made) for v in node]
    if "__tensor__" in node or "__ndarray__" in node:
        return _decode_tensor(node, arrays, made)
    if "__float__" in node:
        if not isinstance(node["__float__"], str) or node["__float__"] not in _NONFINITE:
            # (save writes only inf, -inf and nan this way; a list would not even hash)
            raise _BadStructure(f"unexpected __float__ value {node['__float__']!r}")
        return _NONFINITE[node["__float__"]]
    if "__npscalar__" in node:
        return _decode_npscalar(node)
    if "__tuple__" in node:
        return tuple(_decode(v, arrays, made) for v in _field(node, "__tuple__", list))
    if "__dict__" in node:
        return _decode_mapping(node, arrays, made)
    raise _BadStructure(f"unexpected JSON object with keys {sorted(node)}")


def _field(node: dict, key: str, kind: type):
    value = node.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _BadStructure(f"expected a {kind.__name__} as {key!r} of {_short(node)}, got "
                            f"{_short(value)}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _decode_tensor(node: dict, arrays: dict, made: dict):
    name = node.get("name")
    if not isinstance(name, str) or name not in arrays:
        raise _BadStructure(f"the structure names a tensor {_short(name)} that the file does "
                            "not hold")
    kind = node.get("__tensor__")
    if "__ndarray__" not in node and kind not in ("Tensor", "Parameter"):
        raise _BadStructure(f"unknown tensor type {_short(kind)} (expected 'Tensor' or "
                            "'Parameter')")
    requires_grad = node.get("requires_grad", False)
    if not isinstance(requires_grad, bool):
        raise _BadStructure(f"requires_grad of tensor {name!r} is {_short(requires_grad)}, "
                            "not a bool")
    if requires_grad and arrays[name].dtype.kind != "f":
        raise _BadStructure(f"tensor {name!r} of dtype {arrays[name].dtype} cannot require "
                            "gradients (only floating point tensors can)")
    key = (name, "__ndarray__" in node)
    if key not in made:
        made[key] = _make_tensor(node, arrays[name], requires_grad)
    return made[key]


def _decode_npscalar(node: dict):
    dtype = node.get("__npscalar__")
    value = node.get("value")
    # a whitelist: np.dtype("V1").type(10**9) would allocate 1 GB
    if not isinstance(dtype, str) or dtype not in _SCALAR_DTYPES:
        raise _BadStructure(f"unexpected NumPy scalar dtype {_short(dtype)} (expected one of "
                            f"{sorted(_SCALAR_DTYPES)})")
    if isinstance(value, dict):
        value = _decode(value, {}, {})  # a non-finite float
    if not isinstance(value, (bool, int, float)):
        raise _BadStructure(f"a NumPy {dtype} scalar holds {_short(value)}, not a number")
    try:
        return np.dtype(dtype).type(value)
    except (OverflowError, ValueError, TypeError) as e:
        raise _BadStructure(f"{_short(value)} is not a NumPy {dtype} scalar ({e})") from None


def _decode_mapping(node: dict, arrays: dict, made: dict):
    cls = _MAPPINGS.get(node["__dict__"]) if isinstance(node["__dict__"], str) else None
    if cls is None:
        raise _BadStructure(f"unknown mapping type {_short(node['__dict__'])}")
    out = cls()  # filled key by key: Counter(pairs) would count the pairs
    for item in _field(node, "items", list):
        if not isinstance(item, list) or len(item) != 2:
            raise _BadStructure(f"a mapping item is {_short(item)}, not a [key, value] pair")
        key = _decode(item[0], arrays, made)
        if not _is_key(key):
            raise _BadStructure(f"a mapping key is {_short(key)}, not a saveable key")
        out[key] = _decode(item[1], arrays, made)
    if "_metadata" in node:
        metadata = _decode(node["_metadata"], arrays, made)
        try:
            out._metadata = metadata
        except AttributeError:  # only OrderedDict and Counter take attributes
            raise _BadStructure(f"a {node['__dict__']} cannot carry _metadata") from None
    return out


def _is_key(key) -> bool:
    """The dict keys that _Encoder._encode_key writes: hashable by construction."""
    if key is None or isinstance(key, (bool, int, float, str)):
        return True
    return isinstance(key, tuple) and all(_is_key(k) for k in key)


def _make_tensor(node: dict, array: np.ndarray, requires_grad: bool):
    if "__ndarray__" in node:
        return array
    t = Tensor._wrap(array)
    if node["__tensor__"] == "Parameter":
        return Parameter(t, requires_grad=requires_grad)
    if requires_grad:
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


# A temporary file is named for its destination, its host and its process, so that the next save
# to the same destination can tell a leftover of a killed save from a save still under way.
_TMP_SUFFIX = ".ember-tmp"


def _temporary_prefix(name: str) -> str:
    return f".{name[:100]}."  # (a long name must leave room for the rest within NAME_MAX)


def _temporary_name(name: str) -> str:
    return (f"{_temporary_prefix(name)}{socket.gethostname()}.{os.getpid()}."
            f"{os.urandom(4).hex()}{_TMP_SUFFIX}")


def _is_stale_temporary(entry: str, prefix: str) -> bool:
    """A temporary of a save on this host whose process is gone. Saves of other hosts (a shared
    filesystem) and of live processes - this one included - are left alone."""
    if not (entry.startswith(prefix) and entry.endswith(_TMP_SUFFIX)):
        return False
    owner = entry[len(prefix):-len(_TMP_SUFFIX)].rsplit(".", 2)
    if len(owner) != 3 or owner[0] != socket.gethostname() or not owner[1].isdecimal():
        return False
    return not _process_alive(int(owner[1]))


def _process_alive(pid: int) -> bool:
    if os.name != "posix" or pid <= 0:  # (os.kill(pid, 0) terminates processes on Windows)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    return True


def _remove_stale_temporaries(directory: str, name: str) -> None:
    prefix = _temporary_prefix(name)
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        if _is_stale_temporary(entry, prefix):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:  # gone already, or not ours to remove: the save goes on
                pass


def _existing_mode(path: str):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory: fsync, then
    ``os.replace``. On any error the temporary file is removed and ``path`` is untouched.

    Like ``open(path, "wb")``: a symlink is written through (its target is replaced), an
    existing file keeps its permission bits, and a new file gets 0o666 less the umask."""
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    mode = _existing_mode(target)
    tmp = os.path.join(directory, _temporary_name(name))
    # 0o666: the kernel applies the umask, as open() does (mkstemp would give 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
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


_TORCH_SUFFIXES = (".pt", ".pth", ".tar", ".pkl", ".ckpt")


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, format=None) -> None:
    """Save ``obj`` to ``f`` (a path, or a binary file object). A path is replaced atomically.

    Which format (``format=None`` decides; ``"safetensors"`` or ``"torch"`` force one):

    * a path ending in ``.pt``/``.pth``/``.tar``/``.pkl``/``.ckpt``: torch's zip format, which
      ``torch.load(weights_only=True)`` reads (and ember.load);
    * otherwise safetensors - for a state dict or any nesting of dicts, lists, tuples, numbers,
      strings, None, Tensors and NumPy arrays; nothing is pickled;
    * an object safetensors cannot hold (a whole ``nn.Module``, an optimizer, your own class)
      goes to torch's format, pickled, as ``torch.save`` does - unless the path ends in
      ``.safetensors`` (then TypeError). ``ember.load`` refuses such a file unless the caller
      passes ``weights_only=False``, as torch 2.6+ does.
    """
    if format not in (None, "safetensors", "torch"):
        raise ValueError(f"format must be None, 'safetensors' or 'torch', got {format!r}")
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else None
    if format is None and path is not None and str(path).lower().endswith(_TORCH_SUFFIXES):
        format = "torch"
    if format != "torch":
        try:
            data = _safetensors_bytes(obj)
        except TypeError:
            if format == "safetensors" or (path is not None and
                                           str(path).lower().endswith(".safetensors")):
                raise
            format = "torch"
    if format == "torch":
        from . import _torch_format
        data = _torch_format.save(obj, f)
    if path is not None:
        _atomic_write(path, data)
    else:
        _write_all(f, data)


def _safetensors_bytes(obj) -> bytes:
    st = _safetensors_numpy()
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    depth = _json_depth(structure, _MAX_DEPTH)
    if depth > _MAX_DEPTH:  # load would refuse it: never write a checkpoint that cannot load
        raise ValueError(f"cannot save an object nested more than {_MAX_DEPTH} levels deep "
                         "(as JSON); ember.load refuses deeper structures")
    metadata = {"format": _FORMAT, "ember_format_version": str(_FORMAT_VERSION),
                "ember": json.dumps(structure, allow_nan=False, separators=(",", ":"))}
    return st.save(encoder.arrays, metadata=metadata)


# ---------------------------------------------------------------------------------------------
# reading: every number in the file is checked against the file before it is used
# ---------------------------------------------------------------------------------------------

_MAX_DEPTH = 200  # JSON nesting: _decode recurses about twice per level, within Python's 1000
_MAX_DIMS = 64  # NumPy's limit
# what ember writes and reads: the numeric dtypes (bfloat16, float8 and complex have no place)
_TENSOR_DTYPES = {"BOOL": np.dtype(bool), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
                  "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
                  "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
                  "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8")}


def _safetensors_header_length(data: bytes):
    """The header length if ``data`` is laid out as a safetensors file - a little-endian u64
    that fits inside the file, then the JSON header's '{' - else None. (Sniffing magic bytes
    instead would misread headers whose length starts with 0x80 or 'PK'.)"""
    if len(data) < 10:
        return None
    (n,) = struct.unpack_from("<Q", data)
    if n < 2 or n > len(data) - 8 or data[8:9] != b"{":
        return None
    return n


def _not_safetensors(data: bytes, source: str) -> _CorruptCheckpoint:
    """Why ``data``, which is not laid out as a safetensors file, cannot be loaded."""
    if data[:2] == b"PK":
        return _corrupt(f"{source} is a zip archive (a torch.save checkpoint?); ember never "
                        "unpickles - save the state dict from torch with safetensors instead "
                        "(safetensors.torch.save_file)")
    if data[:1] == b"\x80":
        return _corrupt(f"{source} is a Python pickle; ember never unpickles (pickles can run "
                        "arbitrary code)")
    if len(data) < 10:
        return _corrupt(f"{source} is {len(data)} bytes long, too short for a safetensors file")
    (n,) = struct.unpack_from("<Q", data)
    if n > len(data) - 8:
        return _corrupt(f"{source} is truncated or not a safetensors file (its header claims "
                        f"{n} bytes, the file has {len(data) - 8} after the length)")
    return _corrupt(f"{source} is not a safetensors file (expected a JSON header of {n} bytes "
                    f"starting with '{{' after the 8-byte length, got {data[8:16]!r}...)")


def _json_depth(value, limit: int) -> int:
    """How deeply ``value`` nests lists and dicts, counting no further than limit + 1 (without
    recursion, so any depth can be measured)."""
    if not isinstance(value, (list, dict)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (list, dict)):  # (only containers: scalars cannot nest)
                stack.append((child, depth + 1))
    return deepest


def _parse_json(text: str, what: str, source: str):
    try:
        value = json.loads(text)
    except RecursionError:
        raise _corrupt(f"{source}: its {what} nests too deeply") from None
    except ValueError as e:  # JSONDecodeError, or an integer of over 4300 digits
        raise _corrupt(f"{source}: its {what} is not valid JSON ({e})") from None
    if _json_depth(value, _MAX_DEPTH) > _MAX_DEPTH:
        raise _corrupt(f"{source}: its {what} nests more than {_MAX_DEPTH} levels deep")
    return value


def _read_header(data: bytes, source: str):
    """Check the safetensors header of ``data`` completely: ``(metadata, {name: (dtype,
    shape, begin, end)})``, offsets relative to the tensor data, which they tile exactly."""
    n = _safetensors_header_length(data)
    if n is None:
        raise _not_safetensors(data, source)
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _corrupt(f"{source}: its safetensors header is not UTF-8 ({e})") from None
    header = _parse_json(text, "safetensors header", source)
    if not isinstance(header, dict):
        raise _corrupt(f"{source}: its safetensors header is a {type(header).__name__}, "
                       "not a JSON object")
    metadata = _check_metadata(header.get("__metadata__", {}), source)
    body = len(data) - 8 - n
    tensors = {name: _check_tensor_entry(name, entry, body, source)
               for name, entry in header.items() if name != "__metadata__"}
    _check_layout(tensors, body, source)
    return metadata, tensors


def _check_metadata(metadata, source: str) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(f"{source}: its __metadata__ is {_short(metadata)}, not a mapping of "
                       "strings to strings")
    return metadata


def _check_tensor_entry(name: str, entry, body: int, source: str):
    """(dtype, shape, begin, end) of one tensor; its byte span is what its shape needs and lies
    inside the file's ``body`` bytes of tensor data."""
    def bad(what):
        return _corrupt(f"{source}: tensor {name!r} {what}")

    if not isinstance(entry, dict):
        raise bad(f"is described by {_short(entry)}, not a JSON object")
    dtype = _TENSOR_DTYPES.get(entry.get("dtype")) if isinstance(entry.get("dtype"), str) else None
    if dtype is None:
        raise bad(f"has dtype {_short(entry.get('dtype'))}; ember reads {', '.join(_TENSOR_DTYPES)}")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if (not isinstance(shape, list) or len(shape) > _MAX_DIMS
            or not all(_is_int(d) and 0 <= d < 2**63 for d in shape)):
        raise bad(f"has shape {_short(shape)}; expected at most {_MAX_DIMS} sizes in "
                  "[0, 2**63)")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets))
            or not 0 <= offsets[0] <= offsets[1]):
        raise bad(f"has data_offsets {_short(offsets)}; expected [begin, end] with "
                  "0 <= begin <= end")
    begin, end = offsets
    if end > body:
        raise bad(f"lies at bytes [{begin}, {end}) of the tensor data, but the file holds only "
                  f"{body} bytes of it (truncated?)")
    if math.prod(shape) * dtype.itemsize != end - begin:  # both bounded: no huge number
        raise bad(f"of shape {shape} and dtype {entry['dtype']} needs "
                  f"{math.prod(shape) * dtype.itemsize} bytes, its offsets span {end - begin}")
    return dtype, tuple(shape), begin, end


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_layout(tensors: dict, body: int, source: str) -> None:
    """The tensors tile the data section exactly, in order (as the safetensors spec asks):
    no overlap, no gap, no trailing bytes."""
    position = 0
    for name, (_, _, begin, end) in sorted(tensors.items(), key=lambda kv: kv[1][2:]):
        if begin != position:
            raise _corrupt(f"{source}: tensor {name!r} starts at byte {begin} of the tensor data, "
                           f"expected {position} ({'overlap' if begin < position else 'gap'})")
        position = end
    if position != body:
        raise _corrupt(f"{source}: its tensors end at byte {position} of the tensor data, the "
                       f"file holds {body} bytes of it")


def _read_arrays(st, data: bytes, tensors: dict, source: str) -> dict:
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors' SafetensorError: its own check disagrees with ours
        raise _corrupt(f"{source}: {e}") from None
    for name, (dtype, shape, _, _) in tensors.items():
        array = arrays.get(name)
        if array is None or array.dtype != dtype or array.shape != shape:
            raise _corrupt(f"{source}: tensor {name!r} reads back differently from its header")
    return arrays


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load an object saved by :func:`save` or by ``torch.save`` from ``f`` (a path or a
    binary file object).

    * safetensors (ember's default): parsed as JSON and raw bytes, never unpickled; a plain
      safetensors file from another tool loads as an ``OrderedDict`` of its tensors.
    * torch's zip and legacy formats: with ``weights_only=True`` (the default, as torch 2.6+)
      only tensors, storages, dtypes, Size, device and plain containers are rebuilt - any other
      global in the file raises ``pickle.UnpicklingError`` naming it, and nothing from the file
      runs; ``weights_only=False`` unpickles whole objects (only for files you trust).
      ``mmap=True`` maps the file and its tensors view it (copy-on-write) instead of reading it.
      ``map_location`` ('cpu', a device, a dict or a function) is accepted; ember tensors live
      on the CPU, and a CUDA checkpoint needs a map_location as in torch.

    A truncated, corrupt or foreign file raises RuntimeError saying so.
    """
    if weights_only is None:
        weights_only = True
    st = _safetensors_numpy()  # a core dependency: say how to install it before anything else
    from . import _torch_format
    if isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(source, "rb") as fh:
            head = fh.read(16)
            if _torch_format.is_zip(head):
                shown = repr(source)
                fh.seek(0)  # records are read one by one into their arrays: one copy in memory
                mapped = _torch_format.open_mapped(source) if mmap else None
                return _torch_format.load_zip(fh, shown, weights_only, map_location, mapped)
            fh.seek(0)
            data = fh.read()
    else:
        source = getattr(f, "name", "the file")
        data = f.read()
        if isinstance(data, str):
            raise TypeError("ember.load needs a binary file object (open it with 'rb')")
    source = repr(source) if isinstance(source, (str, bytes)) else str(source)
    if _torch_format.is_zip(data):
        return _torch_format.load_zip(io.BytesIO(data), source, weights_only, map_location, None)
    if _torch_format.is_legacy(data) and _safetensors_header_length(data) is None:
        return _torch_format.load_legacy(data, source, weights_only, map_location)
    metadata, tensors = _read_header(data, source)
    arrays = _read_arrays(st, data, tensors, source)
    if metadata.get("format") != _FORMAT or "ember" not in metadata:
        # a safetensors file from elsewhere: its tensors, in file order
        names = sorted(tensors, key=lambda name: tensors[name][2:])
        return OrderedDict((name, Tensor._wrap(arrays[name])) for name in names)
    structure = _parse_json(metadata["ember"], "structure", source)
    try:
        return _decode(structure, arrays, {})
    except _BadStructure as e:
        raise _corrupt(f"{source}: {e}") from None
