"""torch.nn.functional's lookup-table functions: embedding, embedding_bag, and one_hot.

An embedding is a row gather, ``out[...] = weight[input[...]]``; its weight gradient scatters
the output gradient back onto the rows (duplicates add up), so gradients reach only the rows
looked up. embedding_bag reduces each bag of rows (sum, mean or max) without materialising the
gathered rows. The loops live in ember/_kernels/embedding.py; every index is checked here first.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..._dtype import legacy_type_name
from ..._kernels import embedding as K
from ..._tensor import Tensor
from ...autograd.function import Function

__all__ = ["one_hot", "embedding", "embedding_bag"]

_NO_SPARSE = ("ember has no sparse tensors, so sparse=True (a sparse gradient for the weight) "
              "is not supported; use sparse=False: the same values, as a dense gradient")


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``one_hot(tensor, num_classes=-1)``: an int64 tensor of shape ``tensor.shape +
    (num_classes,)`` with a 1 at each index; ``num_classes=-1`` takes ``tensor.max() + 1``."""
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    index = tensor._data
    if num_classes == -1:
        if index.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(index.max()) + 1
    if index.size:
        if index.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if index.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(index.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, index[..., None], 1, axis=-1)
    return Tensor._wrap(out)


# ---------------------------------------------------------------------------------------------
# shared checks
# ---------------------------------------------------------------------------------------------

def _check_tensor(fn: str, name: str, position: int, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def _check_index_dtype(fn: str, name: str, t: Tensor) -> None:
    if t._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"Expected tensor for argument #1 '{name}' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{legacy_type_name(t._data.dtype)} instead (while checking "
                           f"arguments for {fn})")


def _renorm_(weight: Tensor, indices: np.ndarray, max_norm, norm_type) -> None:
    """torch.embedding_renorm_ on the weight's storage, outside autograd: the looked-up rows
    whose norm exceeds max_norm shrink IN PLACE (TRAPS.md 23), which bumps the weight's version
    (a graph that saved the weight before then refuses to backward, as in torch)."""
    w = weight._data
    if w.dtype.kind != "f":
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {legacy_type_name(w.dtype)[:-6]} instead.")
    rows = np.unique(indices)
    # torch walks the sorted indices through select(), which wraps negative ones and raises at
    # the first out of range - after renormalising the rows before it
    n = w.shape[0]
    bad = np.flatnonzero((rows < -n) | (rows >= n))
    good = rows[:bad[0]] if bad.size else rows
    K.embedding_renorm_(w, np.where(good < 0, good + n, good), float(max_norm), float(norm_type))
    weight._vbox[0] += 1
    if bad.size:
        raise IndexError(f"select(): index {rows[bad[0]]} out of range for tensor of size "
                         f"{list(w.shape)} at dimension 0")


# ---------------------------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------------------------

class _Embedding(Function):
    """``out = weight[indices]`` (shape ``indices.shape + (D,)``); the weight's gradient adds
    each output row's gradient into the row it came from, none into ``padding_idx``'s, each
    divided by how often its index occurs when ``scale_grad_by_freq``. Saves the indices."""

    name = "EmbeddingBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py (a gather is linear)
    fresh_grads = True  # the weight's gradient is a new scatter-add table

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.save_for_backward(indices)
        ctx.meta = (weight.shape[0], padding_idx, scale_grad_by_freq)
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        num_rows, padding_idx, by_freq = ctx.meta
        flat = indices.reshape(-1).astype(np.int64, copy=False)
        scale = (1.0 / K.frequency_divisors(flat, num_rows) if by_freq
                 else np.ones(flat.shape[0]))
        rows = np.where(flat == padding_idx, K.NO_ROW, flat)
        src = grad.reshape(flat.shape[0], grad.shape[-1])
        gw = K.rows_scatter_add(num_rows, rows, src, np.arange(flat.shape[0]), scale)
        return gw, None, None, None


def _padding_row(padding_idx, num_rows: int, message: str) -> int:
    """padding_idx as a row (negative counts from the end), or NO_ROW for None."""
    if padding_idx is None:
        return K.NO_ROW
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"embedding(): argument 'padding_idx' (position 3) must be int, not "
                        f"{type(padding_idx).__name__}")
    if not -num_rows <= padding_idx < num_rows:
        raise AssertionError(message)
    return int(padding_idx) % num_rows


def _check_bounds(indices: np.ndarray, num_rows: int) -> None:
    if indices.size and (indices.min() < 0 or indices.max() >= num_rows):
        raise IndexError("index out of range in self")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    r"""Look up rows of ``weight`` (num_embeddings, D): the output has shape
    ``input.shape + (D,)`` and ``out[i...] = weight[input[i...]]``.

    Args:
        input: int64 or int32 indices of any shape, each in [0, num_embeddings).
        weight: the (num_embeddings, D) table.
        padding_idx: this row receives no gradient (negative counts from the end).
        max_norm: if given, the looked-up rows whose ``norm_type``-norm exceeds it are scaled
            down to it IN PLACE in ``weight`` before the lookup (torch's embedding_renorm_).
        scale_grad_by_freq: divide each row's gradient by its index's count in ``input``.
        sparse: not supported (ember has no sparse tensors): raises.

    >>> embedding(ember.tensor([[0, 2]]), ember.eye(3)).shape
    ember.Size([1, 2, 3])
    """
    _check_tensor("embedding", "indices", 2, input)
    _check_tensor("embedding", "weight", 1, weight)
    if sparse:
        raise NotImplementedError(f"embedding: {_NO_SPARSE}")
    num_rows = weight.shape[0] if weight.ndim else 0
    pad = (_padding_row(padding_idx, num_rows, "Padding_idx must be within num_embeddings")
           if weight.ndim else K.NO_ROW)
    if max_norm is not None:
        _renorm_(weight, input._data, max_norm, norm_type)
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    _check_index_dtype("embedding", "indices", input)
    _check_bounds(input._data, num_rows)
    return _Embedding.apply(weight, input, pad, bool(scale_grad_by_freq))


# ---------------------------------------------------------------------------------------------
# embedding_bag
# ---------------------------------------------------------------------------------------------

class _EmbeddingBag(Function):
    """Bags of rows reduced by sum (each row scaled by its per-sample weight when given) or
    mean. Linear in the weight and in the per-sample weights. Saves the indices, and the weight
    and the per-sample weights only when the latter are given (each one's gradient reads the
    other): without them the weight may change in place before backward, as in torch."""

    name = "EmbeddingBagBackward0"
    affine_in = (0, 2)  # double backward: autograd/higher_order.py
    fresh_grads = True  # a new scatter-add table for the weight, new zeros for the weights

    @staticmethod
    def forward(ctx, weight, indices, per_sample_weights, bags, mode, padding_idx, by_freq):
        starts, ends = bags
        out, bag_size, _ = K.bag_reduce(weight, indices, starts, ends, mode, per_sample_weights,
                                        padding_idx)
        if per_sample_weights is None:
            ctx.save_for_backward(indices)
        else:
            ctx.save_for_backward(indices, weight, per_sample_weights)
        ctx.meta = (bags, bag_size, mode, padding_idx, by_freq, weight.shape[0])
        return out

    @staticmethod
    def backward(ctx, grad):
        indices, *weights = ctx.saved_tensors
        weight, psw = weights if weights else (None, None)
        (starts, ends), bag_size, mode, padding_idx, by_freq, num_rows = ctx.meta
        used = indices[:ends[-1]] if ends.size else indices[:0]  # lookups inside some bag
        bag_of = np.repeat(np.arange(starts.size), ends - starts)
        rows = np.where(used == padding_idx, K.NO_ROW, used)
        gw = gp = None
        if ctx.needs_input_grad[0]:
            scale = np.ones(used.size) if psw is None else psw[:used.size].astype(np.float64)
            if by_freq:
                scale = scale / K.bag_frequency_divisors(indices, num_rows)[:used.size]
            if mode == "mean":
                scale = scale / np.maximum(bag_size, 1)[bag_of]
            gw = K.rows_scatter_add(num_rows, rows, grad, bag_of, scale)
        if ctx.needs_input_grad[2]:
            gp = np.zeros(indices.shape, grad.dtype)
            dots = np.einsum("ij,ij->i", grad[bag_of], weight[used])
            gp[:used.size] = np.where(rows == K.NO_ROW, 0, dots)
        return gw, None, gp, None, None, None, None


class _EmbeddingBagMax(Function):
    """Bags of rows reduced by their maximum per column; each output element's gradient goes to
    the row that won (the first of ties). Saves the winners' rows."""

    name = "EmbeddingBagBackward0"

    @staticmethod
    def forward(ctx, weight, indices, bags, padding_idx):
        starts, ends = bags
        out, _, max_rows = K.bag_reduce(weight, indices, starts, ends, "max", None, padding_idx)
        ctx.meta = (weight.shape[0], max_rows)
        return out

    @staticmethod
    def backward(ctx, grad):
        num_rows, max_rows = ctx.meta
        return K.max_bag_backward(num_rows, max_rows, grad), None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # the output is the weight gathered at the winners (zero for empty bags): linear in the
        # weight at fixed positions, so the recorded backward is that gather's (the weight's
        # values are not needed: a zero stand-in linked to its graph serves)
        from ...autograd.higher_order import constant, grad_of, input_links
        _, max_rows = ctx.meta
        dim = max_rows.shape[1]
        flat = Tensor._wrap(np.maximum(max_rows, 0) * dim + np.arange(dim))
        taken = constant(max_rows != K.NO_ROW, grad)

        def gathered(weight, *_):
            return weight.reshape(-1)[flat] * taken
        return grad_of(gathered, ctx, (grad,), input_links(ctx))


_MODES = ("sum", "mean", "max")


def _bags_of(input, offsets, per_sample_weights, include_last_offset):
    """(flat indices, flat per-sample weights, offsets array, include_last_offset) from the
    1-D input + offsets or the 2-D input form, with torch's checks and messages."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        if input.shape[1] == 0 and input.shape[0] != 0:
            raise RuntimeError("step must be nonzero")
        step = max(input.shape[1], 1)
        offsets = np.arange(0, input._data.size, step, dtype=input._data.dtype)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
        return input.reshape(-1), per_sample_weights, offsets, False
    if input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        return input, per_sample_weights, offsets._data, include_last_offset
    raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")


def _bag_bounds(offsets: np.ndarray, n: int, include_last_offset: bool):
    """(starts, ends) int64 arrays of the bags, checked as torch checks offsets."""
    offsets = offsets.astype(np.int64, copy=False)
    if offsets.size:
        if offsets[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{offsets[0]}")
        if offsets[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                               f"offsets[-1] of {offsets[-1]}")
        if np.any(np.diff(offsets) < 0):
            raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, but got "
                               f"{offsets.tolist()}")
    if include_last_offset:
        # offsets[-1] should be n (torch's docs); when it is smaller, the last bag still runs to
        # the end of the input, as torch's CPU kernels do in every dtype and mode (only its
        # fbgemm float32 'sum' path stops at offsets[-1] - torch disagrees with itself there)
        ends = offsets[1:].copy()
        if ends.size:
            ends[-1] = n
        return offsets[:-1].copy(), ends
    return offsets.copy(), np.append(offsets[1:], n)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    r"""Sums, means or maxima of bags of embeddings, without materialising the looked-up rows.

    ``input`` 1-D with ``offsets``: bag b holds ``input[offsets[b]:offsets[b+1]]`` (the last
    runs to the end, or ``offsets`` ends with the end when ``include_last_offset``); ``input``
    2-D (B, L): each row is a bag. Output (B, D). Empty bags give zeros; ``padding_idx`` rows
    are left out of their bags (mean divides by the rest). ``per_sample_weights`` (input's
    shape, mode 'sum' only) scale each row. ``max_norm`` renormalises the looked-up rows of
    ``weight`` in place, as :func:`embedding`.

    >>> embedding_bag(ember.tensor([0, 1, 2]), ember.eye(3), ember.tensor([0, 2]), mode="sum")
    tensor([[1., 1., 0.],
            [0., 0., 1.]])
    """
    if weight._data.dtype == np.int64 and input._data.dtype.kind == "f":
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    input, per_sample_weights, offsets, include_last_offset = _bags_of(
        input, offsets, per_sample_weights, include_last_offset)
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if max_norm is not None:
        _renorm_(weight, input._data, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if sparse:
        raise NotImplementedError(f"embedding_bag: {_NO_SPARSE}")
    return _embedding_bag(input, weight, offsets, mode, per_sample_weights, include_last_offset,
                          padding_idx, bool(scale_grad_by_freq))


def _embedding_bag(input, weight, offsets, mode, per_sample_weights, include_last_offset,
                   padding_idx, scale_grad_by_freq):
    """torch.embedding_bag's own checks (dtypes, padding_idx, offsets, index range), then the
    Function."""
    _check_index_dtype("embedding_bag", "indices", input)
    w = weight._data
    if w.dtype.kind != "f":
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have one of the "
                           f"following scalar types: Half, BFloat16, Float, Double; but got "
                           f"torch.{legacy_type_name(w.dtype)} instead (while checking arguments "
                           f"for embedding_bag)")
    if per_sample_weights is not None and per_sample_weights._data.dtype != w.dtype:
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as "
                           f"tensor for argument #1 'per_sample_weights'; but type "
                           f"torch.{legacy_type_name(w.dtype)} does not equal "
                           f"torch.{legacy_type_name(per_sample_weights._data.dtype)} (while "
                           f"checking arguments for embedding_bag)")
    n_rows = w.shape[0]
    pad = K.NO_ROW
    if padding_idx is not None:
        if not -n_rows <= padding_idx < n_rows:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, "
                               f"-{n_rows} through {n_rows - 1}, but got {padding_idx}")
        pad = int(padding_idx) % n_rows
    indices = np.ascontiguousarray(input._data.astype(np.int64, copy=False))
    bags = _bag_bounds(offsets, indices.size, include_last_offset)
    used = indices[:bags[1][-1]] if bags[1].size else indices[:0]
    bad = np.flatnonzero((used < 0) | (used >= n_rows))
    if bad.size:
        raise RuntimeError(f"Index {bad[0]} of input takes value {used[bad[0]]} which is not in "
                           f"the valid range [0, {n_rows})")
    index_tensor = Tensor._wrap(indices)
    if mode == "max":
        return _EmbeddingBagMax.apply(weight, index_tensor, bags, pad)
    return _EmbeddingBag.apply(weight, index_tensor, per_sample_weights, bags, mode, pad,
                               scale_grad_by_freq)
