"""torch.nn.utils.rnn for ember: PackedSequence and the functions that pack, pad and unpad
batches of variable-length sequences.

The packed layout (torch's): sequences sorted by decreasing length; ``data`` holds step 0 of
every sequence, then step 1 of those still running, and so on; ``batch_sizes[t]`` is how many
sequences are running at step ``t``. Packing and padding are gathers (``index_select``) with an
index built once in NumPy, so gradients flow through them back to the padded input.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import _creation
from ..._dtype import float16, float32, float64, int8, int16, int32, int64, uint8
from ..._ops.joins import cat, stack
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class PackedSequence_(NamedTuple):  # noqa: N801 (torch's name)
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(optional, fn):
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    r"""Holds the data and list of ``batch_sizes`` of a packed sequence (a named tuple of
    data, batch_sizes, sorted_indices, unsorted_indices, as torch's). Made by
    :func:`pack_padded_sequence` or :func:`pack_sequence`; every RNN module accepts one.

    >>> import ember
    >>> from ember.nn.utils.rnn import pack_sequence
    >>> pack_sequence([ember.tensor([1, 2, 3]), ember.tensor([4, 5]), ember.tensor([6])])
    PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1]), sorted_indices=None, unsorted_indices=None)
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Convert ``data`` (dtype / device) as Tensor.to; self if nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, move),
                          _bind(self.unsorted_indices, move))

    def cuda(self, *args, **kwargs):
        kwargs["device"] = "cuda"
        return self.to(*args, **kwargs)

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def pin_memory(self):
        return self

    def is_pinned(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _cast_to(name: str, dtype):
    def cast(self):
        return self.to(dtype=dtype)
    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"``data`` as {dtype}."
    return cast


for _name, _dtype in (("double", float64), ("float", float32), ("half", float16),
                      ("long", int64), ("int", int32), ("short", int16), ("char", int8),
                      ("byte", uint8)):
    setattr(PackedSequence, _name, _cast_to(_name, _dtype))


def invert_permutation(permutation):
    """The inverse of a permutation (a 1-D int64 Tensor), or None for None."""
    if permutation is None:
        return None
    perm = permutation.numpy()
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return _creation.tensor(inverse)


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.ndim}D cpu {_legacy_type(lengths)} tensor")
        return lengths.numpy().astype(np.int64)
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.ndim != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{arr.ndim}D cpu Long tensor")
    return arr


def _legacy_type(t) -> str:
    return {"int64": "Long", "int32": "Int", "float32": "Float", "float64": "Double",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(
        str(t.numpy().dtype), str(t.numpy().dtype))


def _check_sorted_lengths(lengths: np.ndarray, batch: int, steps: int) -> None:
    # torch's order of checks (aten/src/ATen/native/PackedSequence.cpp)
    if lengths.shape[0] != batch:
        raise RuntimeError("Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.shape[0]} (batch_size={batch})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lengths[:-1] < lengths[1:]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    # torch reads past the padded tensor here (undefined values); ember refuses
    if lengths[0] > steps:
        raise RuntimeError(f"a sequence length ({int(lengths[0])}) is larger than the padded "
                           f"input's sequence dimension ({steps})")


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given
    ``lengths``. With ``enforce_sorted=False`` the batch is sorted by decreasing length first
    (a stable sort) and the permutation kept in the result."""
    lengths = _lengths_array(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _creation.tensor(order.astype(np.int64))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.ndim < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    _check_sorted_lengths(lengths, batch, steps)
    max_len = int(lengths[0])
    batch_sizes = (lengths[None, :] > np.arange(max_len)[:, None]).sum(axis=1).astype(np.int64)
    rows = np.concatenate([t * batch + np.arange(bs) for t, bs in enumerate(batch_sizes)])
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = flat.index_select(0, _creation.tensor(rows.astype(np.int64)))
    return PackedSequence(data, _creation.tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The inverse of :func:`pack_padded_sequence`: (padded (T, B, *) or (B, T, *), lengths),
    the batch in its original order."""
    batch_sizes = sequence.batch_sizes.numpy().astype(np.int64)
    max_seq_length = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    n_rows = data.shape[0]
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    # every (t, b) cell reads its data row, or row n_rows: a row of padding_value
    index = np.full((max_seq_length, batch), n_rows, dtype=np.int64)
    for t, bs in enumerate(batch_sizes):
        index[t, :bs] = np.arange(offsets[t], offsets[t] + bs)
    if batch_first:
        index = index.T
    pad_row = _creation.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    source = cat([data, pad_row], 0)
    padded = source.index_select(0, _creation.tensor(index.reshape(-1)))
    padded = padded.reshape(index.shape + tuple(data.shape[1:]))
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)
    lengths = _creation.tensor(lengths)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths.index_select(0, sequence.unsorted_indices)
    return padded, lengths


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right"):
    """Stack a list of (L_i, *) Tensors into (T, B, *) (or (B, T, *)), padding with
    ``padding_value`` on the right (or the left)."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    trailing = tuple(sequences[0].shape[1:])
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            dim = next(i for i, (a, b) in enumerate(zip(s.shape[1:], trailing)) if a != b) \
                if s.ndim == len(trailing) + 1 else 0
            raise RuntimeError(f"The size of tensor a ({trailing[dim] if trailing else 0}) must "
                               f"match the size of tensor b ({s.shape[1 + dim]}) at "
                               f"non-singleton dimension {dim + 1}")
        missing = longest - s.shape[0]
        if missing:
            fill = _creation.full((missing,) + trailing, padding_value, dtype=s.dtype)
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    """Split a padded batch back into its sequences, one (L_i, *) Tensor each.

    torch transposes ``padded_sequences`` *in place* when ``batch_first`` is False (its
    caller's tensor changes); ember reads a transposed view and leaves the argument alone."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [seq[:int(length)] for seq, length in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """pad_sequence then pack_padded_sequence."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence):
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
