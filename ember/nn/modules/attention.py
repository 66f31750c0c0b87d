"""MultiheadAttention, as torch.nn.MultiheadAttention (torch keeps it in activation.py)."""
from __future__ import annotations

from ... import _state, empty
from ..._tensor import Tensor
from ...autograd import grad_mode
from ..functional import attention as FA
from ..init import constant_, xavier_normal_, xavier_uniform_
from .linear import NonDynamicallyQuantizableLinear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _set_state(module, state: dict) -> None:
    """Module's own unpickling (its ``__setstate__`` where it has one, else the plain dict
    update), after a layer has patched ``state`` for older checkpoints."""
    restore = getattr(Module, "__setstate__", None)
    if restore is None:
        module.__dict__.update(state)
    else:
        restore(module, state)


def _requires_grad(tensors) -> bool:
    return grad_mode.is_grad_enabled() and any(t is not None and t.requires_grad
                                               for t in tensors)


class MultiheadAttention(Module):
    r"""Multi-head attention: Concat(head_1, ..., head_h) W^O with
    head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(head_dim) + mask) V W_i^V.

    Shapes (``batch_first=False``): query (L, N, E), key (S, N, kdim), value (S, N, vdim), or
    unbatched (L, E) ...; output (L, N, E) and weights (N, L, S) averaged over heads, or
    (N, num_heads, L, S) with ``average_attn_weights=False``, or None with
    ``need_weights=False``. ``key_padding_mask`` (N, S): bool True = ignore, float = added;
    ``attn_mask`` (L, S) or (N * num_heads, L, S), the same conventions.

    Parameters: ``in_proj_weight`` (3E, E) when kdim = vdim = E, else ``q_proj_weight``,
    ``k_proj_weight``, ``v_proj_weight``; ``in_proj_bias`` (3E); ``bias_k``/``bias_v``
    (1, 1, E) with ``add_bias_kv``; ``out_proj``. Initialised as torch: xavier_uniform_ on the
    input projections, zero biases, xavier_normal_ on bias_k / bias_v.

    In eval mode, for self-attention on batched ``batch_first`` input with no gradient to
    record, torch takes a fused "fast path" whose softmax gives NaN (not zeros) to a query
    with every key masked; ember gives the same values on the same conditions.

    >>> import ember
    >>> mha = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = ember.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> tuple(out.shape), tuple(w.shape)
    ((3, 5, 8), (3, 5, 5))
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **factory))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **factory))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **factory))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **factory))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        **factory)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **factory))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # torch's order (the random stream is consumed in it): in-projections, biases, bias_k/v
        if self._qkv_same_embed_dim:
            xavier_uniform_(self.in_proj_weight)
        else:
            xavier_uniform_(self.q_proj_weight)
            xavier_uniform_(self.k_proj_weight)
            xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            constant_(self.in_proj_bias, 0.0)
            constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            xavier_normal_(self.bias_v)

    def __setstate__(self, state):
        # checkpoints of torch 1.1 lack the flag
        state.setdefault("_qkv_same_embed_dim", True)
        _set_state(self, state)

    def _fast_path(self, query, key, value, attn_mask, key_padding_mask) -> bool:
        """torch's conditions for its fused inference path (MultiheadAttention.forward)."""
        if not _state.mha_fastpath.enabled:
            return False
        if query.dim() != 3 or query is not key or key is not value:
            return False
        if self.in_proj_bias is None or self.in_proj_weight is None:
            return False
        if query.dtype is not self.in_proj_bias.dtype or query.dtype is not \
                self.in_proj_weight.dtype:
            return False
        if self.training or self.num_heads % 2 or not self.batch_first:
            return False
        if self.bias_k is not None or self.bias_v is not None or self.add_zero_attn:
            return False
        tensors = (query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight,
                   self.out_proj.bias)
        return not _requires_grad(tensors)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        float_masks = any(m is not None and m.is_floating_point()
                          for m in (attn_mask, key_padding_mask))
        key_padding_mask = FA._canonical_mask(key_padding_mask, "key_padding_mask",
                                              FA._none_or_dtype(attn_mask), "attn_mask",
                                              query.dtype)
        attn_mask = FA._canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                       check_other=False)
        fast = not float_masks and self._fast_path(query, key, value, attn_mask,
                                                   key_padding_mask)
        return self._attend(query, key, value, key_padding_mask, need_weights, attn_mask,
                            average_attn_weights, is_causal, safe=not fast)

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                average_attn_weights, is_causal, safe):
        is_batched = query.dim() == 3
        if self.batch_first and is_batched:
            # keep the identities (q is k is v) that pick the packed projection's shortcut
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = FA._multi_head_attention(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, self.training, key_padding_mask,
            need_weights, attn_mask, separate, self.q_proj_weight if separate else None,
            self.k_proj_weight if separate else None, self.v_proj_weight if separate else None,
            None, None, average_attn_weights, is_causal, safe=safe)
        if self.batch_first and is_batched:
            out = out.transpose(1, 0)
        return out, weights

    def merge_masks(self, attn_mask, key_padding_mask, query):
        r"""The mask torch's fused path takes, and its type: 1 for a key padding mask alone,
        2 for an attn_mask (plus the padding, if any) expanded to (batch, num_heads, L, L);
        (None, None) without masks."""
        mask_type = merged = None
        if key_padding_mask is not None:
            mask_type, merged = 1, key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = query.shape
            mask_type = 2
            if attn_mask.dim() == 3:
                expanded = attn_mask.reshape(batch_size, -1, seq_len, seq_len)
            else:
                expanded = attn_mask.reshape(1, 1, seq_len, seq_len).expand(
                    batch_size, self.num_heads, -1, -1)
            merged = expanded
            if key_padding_mask is not None:
                merged = expanded + key_padding_mask.reshape(batch_size, 1, 1, seq_len).expand(
                    -1, self.num_heads, -1, -1)
        return merged, mask_type
