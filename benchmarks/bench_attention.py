"""Attention: MultiheadAttention and a Transformer encoder layer (issue 12), and the bare
scaled_dot_product_attention they end in.

Each case runs forward + backward with an explicit upstream gradient, clearing the input's
``.grad`` and the parameters' first so every call does the same work. float32, batch_first;
the layers are built by each library with its own (seeded) initialisation, which does not
change the work done. Dropout is 0 so no random draws are timed.
"""
from benchmarks.harness import case, randn

BATCH, SEQ, EMBED, HEADS = 32, 64, 512, 8


def _step(module, output_fn, x, grad):
    def step():
        x.grad = None
        module.zero_grad()
        output_fn().backward(grad)
    return step


@case("mha_512x8_32x64x512", target=1.5)
def multihead_attention(lib):
    """MultiheadAttention(512, 8, batch_first=True) self-attention on (32, 64, 512) float32,
    need_weights=True (the default: weights averaged over heads), forward + backward."""
    lib.manual_seed(0)
    mha = lib.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    x = randn(lib, BATCH, SEQ, EMBED, requires_grad=True)
    return _step(mha, lambda: mha(x, x, x)[0], x, randn(lib, BATCH, SEQ, EMBED))


@case("transformer_encoder_layer_512x8_32x64x512", target=1.5)
def encoder_layer(lib):
    """TransformerEncoderLayer(512, 8, dropout=0, batch_first=True) (feed-forward 2048) on
    (32, 64, 512) float32, forward + backward."""
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(EMBED, HEADS, dropout=0.0, batch_first=True)
    x = randn(lib, BATCH, SEQ, EMBED, requires_grad=True)
    return _step(layer, lambda: layer(x), x, randn(lib, BATCH, SEQ, EMBED))


@case("sdpa_causal_32x8x64x64", target=1.5)
def sdpa_causal(lib):
    """F.scaled_dot_product_attention(q, k, v, is_causal=True) on (32, 8, 64, 64) float32,
    forward + backward into q, k and v."""
    q, k, v = (randn(lib, BATCH, HEADS, SEQ, EMBED // HEADS, requires_grad=True)
               for _ in range(3))
    grad = randn(lib, BATCH, HEADS, SEQ, EMBED // HEADS)
    sdpa = lib.nn.functional.scaled_dot_product_attention

    def step():
        q.grad = k.grad = v.grad = None
        sdpa(q, k, v, is_causal=True).backward(grad)
    return step
