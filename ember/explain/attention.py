"""Attention weights as a heat map: which token each token looks at.

``nn.MultiheadAttention(E, heads)`` projects every token to a query, a key and a value, splits
them into ``heads`` pieces of ``E / heads``, and per head mixes the values with weights
``softmax(Q K^T / sqrt(E / heads) + mask)`` - one row per query token, summing to 1. Here the
tokens of a short sentence get fixed random embeddings plus a sinusoidal position code, the
layer runs once with ``need_weights=True, average_attn_weights=False``, and each head's
(query x key) weights are drawn; a causal mask (``is_causal`` / an upper-triangular
``-inf`` mask) zeroes the future.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["attention_weights", "AttentionMap", "attention_figure"]

SENTENCE = "the cat sat on the mat because it was warm"


@dataclasses.dataclass
class AttentionMap:
    tokens: list
    weights: np.ndarray       # (heads, L, L): query rows, key columns
    embed_dim: int
    causal: bool
    reference: np.ndarray     # the same weights computed from the layer's parameters by hand

    @property
    def heads(self) -> int:
        return self.weights.shape[0]

    def summary(self) -> str:
        h, length = self.heads, len(self.tokens)
        d = self.embed_dim // h
        lines = [f"nn.MultiheadAttention({self.embed_dim}, {h}) on {length} tokens: "
                 f"Q, K, V = x W_q^T, x W_k^T, x W_v^T ([{length}, {self.embed_dim}] each), "
                 f"split into {h} heads of {d}",
                 f"  weights = softmax(Q_h K_h^T / sqrt({d})"
                 + (" + causal mask)" if self.causal else ")")
                 + f": [{h}, {length}, {length}], each row sums to 1",
                 f"  rows sum to 1: max |sum - 1| = {np.abs(self.weights.sum(-1) - 1).max():.1e}",
                 f"  recomputed by hand from in_proj_weight: max |diff| = "
                 f"{np.abs(self.weights - self.reference).max():.1e}"]
        for head in range(h):
            strongest = [f"{q}->{self.tokens[int(np.argmax(row))]}"
                         for q, row in zip(self.tokens, self.weights[head])]
            lines.append(f"  head {head}: strongest key per query: " + ", ".join(strongest))
        return "\n".join(lines)


def _position_code(length, dim):
    pos = np.arange(length)[:, None]
    rate = 1.0 / 10000 ** (np.arange(0, dim, 2) / dim)
    code = np.zeros((length, dim))
    code[:, 0::2] = np.sin(pos * rate)
    code[:, 1::2] = np.cos(pos * rate)[:, : dim // 2]
    return code


def attention_weights(sentence: str = SENTENCE, embed_dim: int = 16, heads: int = 2,
                      causal: bool = False, seed: int = 0) -> AttentionMap:
    import ember
    import ember.nn as nn

    tokens = sentence.split()
    if not 1 <= len(tokens) <= 64:
        raise ValueError(f"the sentence must have 1 to 64 tokens to draw, got {len(tokens)}")
    if embed_dim > 1024:
        raise ValueError(f"embed_dim must be at most 1024 here, got {embed_dim}")
    if heads < 1 or embed_dim % heads:
        raise ValueError(f"embed_dim ({embed_dim}) must be divisible by heads ({heads})")
    rng = np.random.default_rng(seed)
    vocabulary = {word: rng.standard_normal(embed_dim) for word in dict.fromkeys(tokens)}
    x = np.stack([vocabulary[w] for w in tokens]) + _position_code(len(tokens), embed_dim)
    ember.manual_seed(seed)
    mha = nn.MultiheadAttention(embed_dim, heads, batch_first=True).eval()
    inp = ember.tensor(x[None].astype(np.float32))
    mask = nn.Transformer.generate_square_subsequent_mask(len(tokens)) if causal else None
    with ember.no_grad():
        _, weights = mha(inp, inp, inp, attn_mask=mask, need_weights=True,
                         average_attn_weights=False)
    weights = weights.numpy()[0]
    return AttentionMap(tokens, weights, embed_dim, causal,
                        _by_hand(mha, x.astype(np.float32), heads, causal))


def _by_hand(mha, x, heads, causal):
    """softmax(Q K^T / sqrt(d)) from the layer's in_proj_weight/bias with NumPy alone."""
    w = mha.in_proj_weight.detach().numpy()
    b = mha.in_proj_bias.detach().numpy()
    e = x.shape[1]
    q, k = x @ w[:e].T + b[:e], x @ w[e:2 * e].T + b[e:2 * e]
    d = e // heads
    q = q.reshape(len(x), heads, d).transpose(1, 0, 2)
    k = k.reshape(len(x), heads, d).transpose(1, 0, 2)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    if causal:
        scores = scores + np.triu(np.full((len(x), len(x)), -np.inf), 1)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


def attention_figure(a: AttentionMap):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    n = len(a.tokens)
    fig = Figure(figsize=(4.6 * a.heads + 1, 4.6), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, a.heads))
    for head, ax in enumerate(axes):
        image = ax.imshow(a.weights[head], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(n), a.tokens, rotation=60, fontsize=8)
        ax.set_yticks(range(n), a.tokens, fontsize=8)
        ax.set_xlabel("key (attended to)")
        if head == 0:
            ax.set_ylabel("query (attending)")
        ax.set_title(f"head {head}")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="attention weight")
    fig.suptitle(f"MultiheadAttention({a.embed_dim}, {a.heads}) self-attention weights"
                 + (" with a causal mask" if a.causal else "") + ": each row sums to 1",
                 fontsize=10)
    return fig
