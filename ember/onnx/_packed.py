"""Packed sequences of unequal lengths: ``pack_padded_sequence`` -> recurrent layers ->
``pad_packed_sequence`` as ONNX's RNN/LSTM/GRU with ``sequence_lens``, the lengths a graph value.

ember packs by reading the lengths with NumPy (the rows kept, the sort by length), which a
trace would freeze. So while a model is exported, the two functions of ``ember.nn.utils.rnn``
are wrapped: each runs as it is (ember's values stay right) with its inner ops unrecorded, and
its results are bound to ONNX values directly. In the graph, a PackedSequence's data is the
padded batch, time-major and flattened to (T*B, *) (its ``Layout``: T and the lengths); the
batch keeps its original order, so the sort and unsort permutations are the identity
(``Range(0, B)``). The recurrent layers read it with ``sequence_lens`` (ONNX zeroes the
outputs past each length and takes each final state at its own length, as torch's packed
layers), ``cat`` keeps it; any other op on packed data raises. ``pad_packed_sequence`` then
cuts the time axis to the longest length (or ``total_length``) and fills past each length with
``padding_value``.

Only calls through the module (``nn.utils.rnn.pack_padded_sequence(...)``) are seen; a name
imported before the export (``from ember.nn.utils.rnn import pack_padded_sequence``) runs
unwrapped, and the recurrent layer then refuses unequal lengths.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .. import Tensor
from ..nn.utils import rnn as rnn_utils
from ._graph import UnsupportedOperatorError


class Layout:
    """A packed value's layout in the graph: padded, time-major, flattened (T*B, *)."""

    def __init__(self, steps: int, lengths: str):
        self.steps, self.lengths = steps, lengths


@contextlib.contextmanager
def packed_sequences(tracer):
    """Wrap ``pack_padded_sequence`` and ``pad_packed_sequence`` for the block (this thread).
    ``tracer``: the Tracer, or the probe run's record (which only pauses, binding nothing)."""
    binds = hasattr(tracer, "graph")
    pack, pad = rnn_utils.pack_padded_sequence, rnn_utils.pad_packed_sequence
    owner = threading.get_ident()

    def unrecorded(fn, *args, **kw):
        tracer.paused += 1
        try:
            return fn(*args, **kw)
        finally:
            tracer.paused -= 1

    def traced_pack(input, lengths, batch_first=False, enforce_sorted=True):
        if threading.get_ident() != owner or tracer.paused:
            return pack(input, lengths, batch_first, enforce_sorted)
        packed = unrecorded(pack, input, lengths, batch_first, enforce_sorted)
        if binds:
            bind_pack(tracer, packed, input, lengths, batch_first)
        return packed

    def traced_pad(sequence, batch_first=False, padding_value=0.0, total_length=None):
        if threading.get_ident() != owner or tracer.paused:
            return pad(sequence, batch_first, padding_value, total_length)
        padded, lengths = unrecorded(pad, sequence, batch_first, padding_value, total_length)
        if binds:
            bind_pad(tracer, sequence, padded, lengths, batch_first, padding_value,
                     total_length)
        return padded, lengths

    rnn_utils.pack_padded_sequence, rnn_utils.pad_packed_sequence = traced_pack, traced_pad
    try:
        yield
    finally:
        rnn_utils.pack_padded_sequence, rnn_utils.pad_packed_sequence = pack, pad


def bind_pack(tracer, packed, input, lengths, batch_first):
    g = tracer.graph
    x = tracer.value(input)
    shape = tuple(input.shape)
    if batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, *range(2, len(shape))])
        shape = (shape[1], shape[0], *shape[2:])
    if isinstance(lengths, Tensor):
        lengths_value = tracer.value(lengths)
        if lengths._data.dtype != np.int64:
            lengths_value = g.node("Cast", [lengths_value], to=7)  # INT64
    else:
        lengths_value = g.const(np.asarray(lengths, dtype=np.int64).reshape(-1))
    data = g.node("Reshape", [x, g.ints([-1, *shape[2:]])])
    tracer.bind(packed.data, data)
    tracer.layouts[data] = Layout(shape[0], lengths_value)
    # the batch keeps its order in the graph: sorting and unsorting are the identity
    batch = g.node("Gather", [g.node("Shape", [lengths_value]), g.const(np.int64(0))], axis=0)
    identity = g.node("Range", [g.const(np.int64(0)), batch, g.const(np.int64(1))])
    for perm in (packed.sorted_indices, packed.unsorted_indices):
        if perm is not None:
            tracer.bind(perm, identity)
            tracer.bind_array(perm._data, identity)


def bind_pad(tracer, sequence, padded, lengths, batch_first, padding_value, total_length):
    g = tracer.graph
    data = tracer.value(sequence.data)
    layout = tracer.layouts.get(data)
    if layout is None:
        raise UnsupportedOperatorError(
            "Exporting pad_packed_sequence to ONNX needs a PackedSequence made by "
            "nn.utils.rnn.pack_padded_sequence in the exported forward (ember.onnx maps the "
            "pair to sequence_lens)")
    feature = tuple(sequence.data.shape[1:])
    y = g.node("Reshape", [data, g.ints([layout.steps, -1, *feature])])
    if total_length is None:  # the longest sequence's length, a graph value
        end = g.node("Reshape", [g.node("ReduceMax", [layout.lengths], keepdims=1),
                                 g.ints([1])])
        y = g.node("Slice", [y, g.ints([0]), end, g.ints([0])])
    elif total_length < layout.steps:
        y = g.node("Slice", [y, g.ints([0]), g.ints([total_length]), g.ints([0])])
    elif total_length > layout.steps:
        pads = [0] * (2 * y_rank(feature))
        pads[y_rank(feature)] = total_length - layout.steps
        y = g.node("Pad", [y, g.ints(pads)], mode="constant")
    steps = g.node("Gather", [g.node("Shape", [y]), g.const(np.int64(0))], axis=0)
    t = g.node("Range", [g.const(np.int64(0)), steps, g.const(np.int64(1))])
    valid = g.node("Less", [g.node("Unsqueeze", [t, g.ints([1])]),
                            g.node("Unsqueeze", [layout.lengths, g.ints([0])])])
    if feature:
        valid = g.node("Unsqueeze", [valid, g.ints(range(2, 2 + len(feature)))])
    fill = g.const(np.asarray(padding_value, dtype=padded._data.dtype))
    y = g.node("Where", [valid, y, fill])
    if batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, *range(2, 2 + len(feature))])
    tracer.bind(padded, y)
    tracer.bind(lengths, layout.lengths)


def y_rank(feature):
    return 2 + len(feature)
