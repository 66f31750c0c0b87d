"""scaled_dot_product_attention and multi_head_attention_forward (torch.nn.functional).

Both end in one Function of ``ember/_ops/attention.py`` (two batched GEMMs around a softmax);
this file checks arguments with torch's rules and messages and turns masks into the additive
bias that Function takes. Mask conventions differ and are torch's:

* SDPA's ``attn_mask``: bool True = take part, float = added to the scores.
* MultiheadAttention's ``attn_mask`` and ``key_padding_mask``: bool True = *ignore*, float =
  added (``_canonical_mask`` turns bool into 0 / -inf).

A row whose scores are all -inf gives zeros in SDPA (torch's ``_safe_softmax``) but NaN in
MultiheadAttention's ``need_weights=True`` path (plain softmax), as in torch 2.13.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._dtype import scalar_type_name, to_numpy_dtype
from ..._ops.joins import cat
from ..._ops.attention import AttentionWithWeights, sdpa_function
from ..._tensor import Tensor, _check_broadcast
from .dropout import dropout as _dropout
from .linear import linear
from .padding import pad

# the private helpers too: torch's transformer.py calls them as F._canonical_mask ..., and so
# does code copied from it
__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "_canonical_mask",
           "_none_or_dtype", "_mha_shape_check", "_in_projection_packed", "_in_projection"]

# the C++ type names torch's SDPA messages print
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool"}


def _cpp_name(t: Tensor) -> str:
    return _CPP_NAMES.get(str(t._data.dtype), str(t._data.dtype))


# =========================================================================== SDPA
def _check_sdpa_inputs(query, key, value, attn_mask, dropout_p, is_causal) -> None:
    for pos, (name, t) in enumerate((("query", query), ("key", key), ("value", value)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' (position "
                            f"{pos}) must be Tensor, not {type(t).__name__}")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: "
                           f"{value.ndim} instead.")
    if not query.dtype is key.dtype is value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_cpp_name(query)} key.dtype: {_cpp_name(key)} and "
                           f"value.dtype: {_cpp_name(value)} instead.")
    if not query.is_floating_point():
        raise RuntimeError(f"expected scalar type Float but found "
                           f"{scalar_type_name(query._data.dtype)}")
    if attn_mask is not None:
        _check_mask_dtype(attn_mask, query)
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        if query.ndim == key.ndim == value.ndim == 4 and attn_mask.ndim < 2:
            # torch's 4-d kernel selection reads the mask's size(-2)
            raise IndexError("Dimension specified as -2 but tensor has no dimensions"
                             if attn_mask.ndim == 0 else "Dimension out of range (expected to "
                             "be in range of [-1, 0], but got -2)")
    if dropout_p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _check_mask_dtype(attn_mask, query) -> None:
    kind = attn_mask._data.dtype
    if kind != np.bool_ and kind != np.float32 and kind != query._data.dtype:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {_cpp_name(attn_mask)} and  "
                           f"query.dtype: {_cpp_name(query)} instead.")


def _batched_product_check(a_shape, b_shape) -> tuple:
    """torch's matmul checks for (.., n, k) @ (.., k', m): broadcast batch dims, then k == k'
    (bmm's message over the flattened batch, or mm's for two matrices). Returns the batch."""
    if len(a_shape) == 2 and len(b_shape) == 2:
        if a_shape[1] != b_shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x"
                               f"{a_shape[1]} and {b_shape[0]}x{b_shape[1]})")
        return ()
    _check_broadcast(a_shape[:-2], b_shape[:-2])
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    if a_shape[-1] != b_shape[-2]:
        n = math.prod(batch)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{n}, {a_shape[-1]}] but got: [{n}, {b_shape[-2]}].")
    return batch


def _check_mask_shape(mask_shape, scores_shape) -> None:
    """The mask is added in place to the scores: it must broadcast *to* their shape."""
    _check_broadcast(scores_shape, mask_shape)
    full = np.broadcast_shapes(scores_shape, mask_shape)
    if full != tuple(scores_shape):
        raise RuntimeError(f"output with shape [{', '.join(map(str, scores_shape))}] doesn't "
                           f"match the broadcast shape [{', '.join(map(str, full))}]")


def _expand_heads(query, key, value):
    """Grouped-query attention: each key/value head serves q_heads / kv_heads query heads."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[-{min(query.ndim, key.ndim, value.ndim)}, "
                         f"{min(query.ndim, key.ndim, value.ndim) - 1}], but got -3)")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq % hk or hq % hv:
        # (sic: torch's message ends there)
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    if hk != hq:
        key = key.repeat_interleave(hq // hk, -3)
    if hv != hq:
        value = value.repeat_interleave(hq // hv, -3)
    return key, value


def _bool_bias(allowed: np.ndarray, dtype) -> Tensor:
    """0 where ``allowed``, -inf elsewhere (a constant: bool masks carry no gradient)."""
    return Tensor._wrap(np.where(allowed, 0, -np.inf).astype(dtype))


def _causal_bias(L: int, S: int, dtype) -> Tensor:
    # upper-left aligned: query i sees keys 0..i, also when L != S (torch's CausalBias)
    return _bool_bias(np.tri(L, S, dtype=bool), dtype)


def _dropout_keep(shape, dtype, p: float) -> np.ndarray:
    """Dropout's scaled keep mask (keep / (1 - p)), drawn by ember's own dropout so the stream
    and the rule are the same as ``F.dropout``'s."""
    return _dropout(Tensor._wrap(np.ones(shape, dtype)), p, training=True)._data


def _attention(query, key, value, bias, scale, dropout_p, safe, weights=False, gqa=False):
    """The attention core on checked inputs: ``bias`` an additive Tensor (or None)."""
    scores_shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + \
        (query.shape[-2], key.shape[-2])
    keep = _dropout_keep(scores_shape, query._data.dtype, dropout_p) if dropout_p > 0 else None
    if weights:
        return AttentionWithWeights.apply(query, key, value, bias, scale, keep, safe, True)
    fn = sdpa_function((query.ndim, key.ndim, value.ndim), query._data.dtype,
                       keep is not None or gqa)
    return fn.apply(query, key, value, bias, scale, keep, safe)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    r"""softmax(Q K^T * scale + bias) V, with dropout on the attention weights.

    Shapes: query (N, ..., Hq, L, E), key (N, ..., H, S, E), value (N, ..., H, S, Ev) ->
    (N, ..., Hq, L, Ev); batch dims broadcast. ``attn_mask`` broadcasts to (N, ..., L, S): bool
    True = take part, float = added. ``is_causal``: query i attends keys 0..i. ``scale``
    defaults to 1/sqrt(E). A row with no key to attend gives zeros. Dropout draws from ember's
    generator (``ember.manual_seed``).

    >>> import ember, ember.nn.functional as F
    >>> q = k = v = ember.ones(1, 2, 4)
    >>> F.scaled_dot_product_attention(q, k, v).shape
    ember.Size([1, 2, 4])
    """
    _check_sdpa_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    gqa = enable_gqa and query.ndim >= 3 and key.ndim >= 3 and value.ndim >= 3 and \
        not query.shape[-3] == key.shape[-3] == value.shape[-3]
    if enable_gqa:
        key, value = _expand_heads(query, key, value)
    scores_batch = _batched_product_check(query.shape, key.shape[:-2] + key.shape[-2:][::-1])
    L, S = query.shape[-2], key.shape[-2]
    _batched_product_check(scores_batch + (L, S), value.shape)
    dtype = query._data.dtype
    bias = None
    if is_causal:
        bias = _causal_bias(L, S, dtype)
    elif attn_mask is not None:
        _check_mask_shape(attn_mask.shape, scores_batch + (L, S))
        if attn_mask._data.dtype == np.bool_:
            bias = _bool_bias(attn_mask._data, dtype)
        else:
            bias = attn_mask if attn_mask._data.dtype == dtype else attn_mask.to(query.dtype)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else math.inf
    if query._data.dtype == np.float16:   # the kernels run float16 in float32, as torch's math
        f = (lambda t: None if t is None else t.float())
        out = _attention(f(query), f(key), f(value), f(bias), scale, dropout_p, True, gqa=gqa)
        return out.half()
    return _attention(query, key, value, bias, scale, dropout_p, safe=True, gqa=gqa)


# =========================================================================== multi-head
def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """torch's checks of the input ranks; returns whether the input is batched."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     f"instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{_size(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _size(shape) -> str:
    return f"torch.Size([{', '.join(map(str, shape))}])"


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = ignore) becomes 0 / -inf of ``target_type``; a float mask is kept.
    Warns, as torch, when the two masks of a layer have different dtypes."""
    if mask is None:
        return None
    kind = mask._data.dtype
    if kind != np.bool_ and kind.kind != "f":
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      f"same type for both instead.", stacklevel=3)
    if kind == np.bool_:
        return _bool_bias(~mask._data, to_numpy_dtype(target_type))
    return mask


def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v through the packed (3E, E) weight; self-attention shares one GEMM."""
    E = q.size(-1)
    if k is v:
        if q is k:
            proj = linear(q, w, b).unflatten(-1, (3, E))
            return proj.select(-2, 0), proj.select(-2, 1), proj.select(-2, 2)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        kv = linear(k, w_kv, b_kv).unflatten(-1, (2, E))
        return linear(q, w_q, b_q), kv.select(-2, 0), kv.select(-2, 1)
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for w, shape, what in ((w_q, (Eq, Eq), "query"), (w_k, (Eq, Ek), "key"),
                           (w_v, (Eq, Ev), "value")):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {what} weights shape of {shape}, but got "
                                 f"{_size(w.shape)}")
    for b, what in ((b_q, "query"), (b_k, "key"), (b_v, "value")):
        if b is not None and tuple(b.shape) != (Eq,):
            raise AssertionError(f"expecting {what} bias shape of {(Eq,)}, but got "
                                 f"{_size(b.shape)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _check_key_padding_mask(key_padding_mask, src_len, bsz) -> None:
    if key_padding_mask.shape[0] != bsz:
        raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                             f"{key_padding_mask.shape[0]}")
    if key_padding_mask.shape[1] != src_len:
        raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                             f"{key_padding_mask.shape[1]}")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    r"""MultiheadAttention's computation (see :class:`ember.nn.MultiheadAttention`).

    Shapes: query (L, N, E) or (L, E); key/value (S, N, E_k/E_v) or (S, E_k/E_v);
    key_padding_mask (N, S) or (S) (bool True = ignore, float = added); attn_mask (L, S) or
    (N * num_heads, L, S). Returns (attn_output (L, N, E), weights (N, L, S) averaged over heads,
    or (N, num_heads, L, S), or None when ``need_weights=False``).
    """
    return _multi_head_attention(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training,
                                 key_padding_mask, need_weights, attn_mask,
                                 use_separate_proj_weight, q_proj_weight, k_proj_weight,
                                 v_proj_weight, static_k, static_v, average_attn_weights,
                                 is_causal, safe=True)


def _multi_head_attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                          in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                          out_proj_weight, out_proj_bias, training, key_padding_mask,
                          need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
                          k_proj_weight, v_proj_weight, static_k, static_v,
                          average_attn_weights, is_causal, safe):
    """torch's multi_head_attention_forward step for step; ``safe=False`` is its fast path's
    softmax (a row with every key masked gives NaN rather than zeros)."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None    # the hint alone stands for the mask (SDPA's is_causal)
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False   # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {_size(key.shape[:2])} do not "
                                 f"match value's {_size(value.shape[:2])}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {_size(key.shape)} does not match value shape "
                             f"{_size(value.shape)}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for w, name in ((q_proj_weight, "q"), (k_proj_weight, "k"), (v_proj_weight, "v")):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     f"is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight,
                                 v_proj_weight, b_q, b_k, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = _cat([k, bias_k.repeat(1, bsz, 1)])
        v = _cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz, num_heads, head_dim, "k")
    v = _heads(v, static_v, bsz, num_heads, head_dim, "v")

    if add_zero_attn:
        zeros = Tensor._wrap(np.zeros((bsz * num_heads, 1, head_dim), k._data.dtype))
        k = _cat([k, zeros], dim=1)
        v = _cat([v, zeros.to(v.dtype)], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))

    src_len = k.size(1)
    if key_padding_mask is not None:
        _check_key_padding_mask(key_padding_mask, src_len, bsz)
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            -1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        if attn_mask is not None and attn_mask.dtype is not q.dtype:   # torch's baddbmm
            names = [scalar_type_name(t._data.dtype).lower() for t in (attn_mask, q, k)]
            raise RuntimeError(f"Input dtypes must be the same, got: input {names[0]}, batch1: "
                               f"{names[1]}, batch2: {names[2]}")
        out, weights = _attention(q, k, v, attn_mask, math.sqrt(1.0 / float(head_dim)),
                                  dropout_p, safe=False, weights=True)
        out = _project_out(out.transpose(0, 1), tgt_len, bsz, embed_dim, out_proj_weight,
                           out_proj_bias)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.size(0) == 1 and attn_mask.dim() == 3 \
            else attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    if is_causal:
        attn_mask = _causal_bias(tgt_len, src_len, q._data.dtype)
    elif attn_mask is not None:
        _check_mask_dtype(attn_mask, q)
    out = _attention(q, k, v, attn_mask, 1.0 / math.sqrt(head_dim), dropout_p, safe=safe)
    out = _project_out(out.permute(2, 0, 1, 3), tgt_len, bsz, embed_dim, out_proj_weight,
                       out_proj_bias)
    return (out if is_batched else out.squeeze(1)), None


def _heads(t, static, bsz, num_heads, head_dim, name):
    """(S, N, E) -> (N * heads, S, head_dim), or the given static keys / values."""
    if static is None:
        return t.reshape(t.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.size(0) != bsz * num_heads:
        raise AssertionError(f"expecting static_{name}.size(0) of {bsz * num_heads}, but got "
                             f"{static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting static_{name}.size(2) of {head_dim}, but got "
                             f"{static.size(2)}")
    return static


def _project_out(out, tgt_len, bsz, embed_dim, weight, bias):
    """(L, N, ..heads..) -> out_proj -> (L, N, E)."""
    out = linear(out.reshape(tgt_len * bsz, embed_dim), weight, bias)
    return out.reshape(tgt_len, bsz, out.size(1))


def _cat(tensors, dim=0):
    return cat(tensors, dim)
