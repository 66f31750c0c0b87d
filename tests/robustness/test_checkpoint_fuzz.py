"""Fuzzing ember.load's header parser (ember/serialization.py, issue 14 items 3 and 4).

The property, whatever the bytes: ember.load either returns an object or raises RuntimeError
("not a valid ember checkpoint: <file> ..."); never another exception type, never a crash, and
never an allocation out of proportion to the file (tracemalloc's peak is bounded by the file's
size). The inputs: random JSON structures, random safetensors headers, textual mutations of a
valid header, a bit flip in every byte of a valid file's header, random multi-bit flips and
truncations, and save -> load round trips of random objects.
"""
from __future__ import annotations

import io
import json
import math
import random
import struct
import tracemalloc
from collections import Counter, OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember import nn

NAME = "fuzz.safetensors"
# JSON parsing makes Python objects of ~50 bytes from 2-3 bytes of text: linear in the file, but
# not "a few times" it. A bomb (np.void(10**9) from 152 bytes) is far beyond this bound.
PEAK_PER_BYTE, PEAK_SLACK = 64, 1 << 20

def fuzz(max_examples: int):
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=list(HealthCheck))


def _valid_object():
    model = nn.Linear(3, 2)
    return OrderedDict([
        ("model", model.state_dict()), ("param", model.weight),
        ("grad", ember.zeros(2, requires_grad=True)), ("array", np.arange(4, dtype=np.int16)),
        ("step", np.int64(3)), ("half", np.float16(0.5)), ("flag", np.bool_(True)),
        ("lr", 0.1), ("betas", (0.9, 0.999)), ("nan", math.nan), ("inf", -math.inf),
        ("counts", Counter("aab")), ("keys", {1: "a", (2, "b"): None, 1.5: [True]}),
    ])


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    ember.save(obj, buffer)
    return buffer.getvalue()


VALID_OBJECT = _valid_object()
VALID = _saved(VALID_OBJECT)
HEADER_LENGTH = struct.unpack("<Q", VALID[:8])[0]


def _file(header, body: bytes = b"\0" * 8) -> bytes:
    text = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(text)) + text + body


def _load(data: bytes):
    """ember.load(data) under the property: a result, or None after a RuntimeError."""
    buffer = io.BytesIO(data)
    buffer.name = NAME
    tracemalloc.start()
    try:
        return ember.load(buffer)
    except RuntimeError as e:
        message = str(e)
        assert message.startswith("not a valid ember checkpoint: ") and NAME in message, message
        return None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < PEAK_PER_BYTE * len(data) + PEAK_SLACK, (peak, len(data))


# ------------------------------------------------------------------ the generators

_WORDS = ["__tensor__", "__ndarray__", "__npscalar__", "__float__", "__tuple__", "__dict__",
          "items", "name", "value", "_metadata", "requires_grad", "Tensor", "Parameter", "dict",
          "OrderedDict", "Counter", "a", "b", "<f4", "|b1", "<i8", "V1", "V20000000000", "<f16",
          ">i4", "O", "inf", "nan", "-inf", "x"]
_SCALARS = (st.none() | st.booleans() | st.sampled_from(_WORDS)
            | st.integers(-2**70, 2**70) | st.sampled_from([0, 1, -1, 10**9, 2**63, 2**64])
            | st.floats(allow_nan=False, allow_infinity=False))
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(_WORDS), inner, max_size=4),
    max_leaves=20)


def _ember_file(structure: str) -> bytes:
    header = {"__metadata__": {"format": "ember", "ember": structure},
              "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    return _file(json.dumps(header))


_DTYPES = st.sampled_from(["F32", "F64", "I64", "BOOL", "U8", "F16", "BF16", "C64", "F8_E4M3",
                           "X", 5, None])
_SIZES = st.integers(-2, 10) | st.sampled_from([2**31, 2**63, 2**64, 10**30]) | st.booleans()
_ENTRY = st.fixed_dictionaries(
    {}, optional={"dtype": _DTYPES, "shape": st.lists(_SIZES, max_size=4) | _SIZES,
                  "data_offsets": st.lists(_SIZES, max_size=3) | _SIZES})
_METADATA = (st.none() | _JSON
             | st.dictionaries(st.sampled_from(["format", "ember", "x"]),
                               st.sampled_from(["ember", "1", "{}", "[", '"x"']) | _JSON,
                               max_size=3))
_HEADERS = st.builds(lambda tensors, metadata: {**tensors, "__metadata__": metadata},
                     st.dictionaries(st.sampled_from(["a", "b", "c"]), _ENTRY | _JSON, max_size=3),
                     _METADATA)


# The same vocabulary from a seeded random.Random: hypothesis spends ~15 ms drawing one nested
# example, this ~50 us, so the volume (thousands of cases) comes from here, the shrinking above.
_FAST_SCALARS = [None, True, False, 0, 1, -1, 2, 10**9, 2**63, 2**64, 10**30, 0.5, -1e308,
                 *_WORDS]


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.random()
    if depth > 4 or kind < 0.5:
        return rng.choice(_FAST_SCALARS)
    if kind < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_WORDS): _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _random_entry(rng: random.Random):
    sizes = [0, 1, 2, 4, 8, -1, 2**63, 10**30, True, "1"]
    entry = {"dtype": rng.choice(["F32", "F64", "I64", "BOOL", "U8", "F16", "BF16", "C64", 5]),
             "shape": [rng.choice(sizes) for _ in range(rng.randrange(3))],
             "data_offsets": sorted(rng.choice(sizes[:5]) for _ in range(2))}
    for key in list(entry):  # now and then a field goes missing or turns into anything
        if rng.random() < 0.15:
            del entry[key]
        elif rng.random() < 0.15:
            entry[key] = _random_json(rng, 3)
    return entry


# ------------------------------------------------------------------ the properties

def test_the_valid_file_loads():
    back = _load(VALID)
    expected = VALID_OBJECT
    assert list(back) == list(expected)
    assert back["keys"] == expected["keys"] and back["counts"] == expected["counts"]
    assert type(back["step"]) is np.int64 and back["step"] == 3
    np.testing.assert_array_equal(back["param"].detach().numpy(),
                                  expected["param"].detach().numpy())


@fuzz(300)
@given(_JSON)
def test_random_structures(structure):
    _load(_ember_file(json.dumps(structure)))


@fuzz(300)
@given(_HEADERS, st.sampled_from([0, 4, 8, 16]))
def test_random_headers(header, body_length):
    _load(_file(json.dumps(header), b"\0" * body_length))


def test_thousands_of_random_structures():
    rng = random.Random(14)
    for _ in range(3000):
        _load(_ember_file(json.dumps(_random_json(rng))))


def test_thousands_of_random_headers():
    rng = random.Random(14)
    for _ in range(3000):
        header = {name: _random_entry(rng) for name in rng.sample("abc", rng.randrange(4))}
        if rng.random() < 0.7:
            header["__metadata__"] = rng.choice(
                [{"format": "ember", "ember": json.dumps(_random_json(rng))}, _random_json(rng)])
        _load(_file(json.dumps(header), b"\0" * rng.choice([0, 1, 4, 8, 16])))


_EDIT_CHARS = st.sampled_from(list('{}[]",: 0123456789-.eE\\ux') + ["\ud800", "\xff"])


@fuzz(400)
@given(st.lists(st.tuples(st.integers(0, HEADER_LENGTH - 1), st.sampled_from("rid"),
                          _EDIT_CHARS), min_size=1, max_size=4))
def test_mutated_headers(edits):
    """Replace, insert or delete characters of a valid header (its length field kept right)."""
    text = list(VALID[8:8 + HEADER_LENGTH].decode())
    for position, op, char in edits:
        position = min(position, len(text) - 1)
        if op == "r":
            text[position] = char
        elif op == "i":
            text.insert(position, char)
        elif len(text) > 1:
            del text[position]
    _load(_file("".join(text), VALID[8 + HEADER_LENGTH:]))


def test_a_bit_flip_in_every_byte_of_the_header():
    """Every byte of the length and the header, each with one bit flipped (which bit rotates
    with the position: all eight in every run of eight bytes)."""
    for position in range(8 + HEADER_LENGTH):
        data = bytearray(VALID)
        data[position] ^= 1 << (position % 8)
        _load(bytes(data))


@fuzz(300)
@given(st.lists(st.integers(0, len(VALID) * 8 - 1), min_size=2, max_size=8),
       st.integers(0, len(VALID)))
def test_random_bit_flips_and_truncation(bits, length):
    data = bytearray(VALID)
    for bit in bits:
        data[bit // 8] ^= 1 << (bit % 8)
    _load(bytes(data[:length]))


_KEYS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5) | st.floats(
    allow_nan=False)
_VALUES = st.recursive(
    _KEYS | st.floats() | st.builds(lambda n: ember.arange(n), st.integers(0, 3)),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, ember.Tensor):
        return isinstance(b, ember.Tensor) and a.tolist() == b.tolist()
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return (type(a) is type(b) and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    return type(a) is type(b) and a == b


@fuzz(100)
@given(_VALUES)
def test_random_objects_round_trip(obj):
    buffer = io.BytesIO()
    ember.save(obj, buffer)
    assert _same(obj, _load(buffer.getvalue()))


@pytest.mark.parametrize("depth", [150, 250, 5000, 200_000])
def test_nesting_of_any_depth(depth):
    _load(_ember_file("[" * depth + "]" * depth))
