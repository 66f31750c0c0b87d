"""A tiny Transformer encoder classifier, as the sequence-classification tutorials write it:
token embedding + sinusoidal positional encoding, nn.TransformerEncoder with a padding mask,
mean pooling over real tokens, a linear head, Adam; then a causal self-attention block written
with F.scaled_dot_product_attention and nn.MultiheadAttention's attention weights."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(3)
VOCAB, D_MODEL, NHEAD, SEQ, BATCH = 12, 16, 4, 7, 16


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL, padding_idx=0)
        self.pos = PositionalEncoding(D_MODEL)
        layer = nn.TransformerEncoderLayer(D_MODEL, NHEAD, dim_feedforward=32, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(D_MODEL, 2)

    def forward(self, tokens):
        pad = tokens == 0
        h = self.encoder(self.pos(self.embed(tokens) * math.sqrt(D_MODEL)),
                         src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1))


# data: label 1 when token 5 occurs; sequences padded with 0 at the end
lengths = rng.integers(3, SEQ + 1, BATCH)
tokens = np.zeros((BATCH, SEQ), dtype=np.int64)
for i, n in enumerate(lengths):
    tokens[i, :n] = rng.integers(1, VOCAB, n)
labels = torch.tensor((tokens == 5).any(1).astype(np.int64))
tokens = torch.tensor(tokens)

model = Classifier()
with torch.no_grad():  # the same starting weights on both libraries
    for name, p in model.named_parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
print(model.encoder.layers[0].self_attn)
print("parameters", sum(p.numel() for p in model.parameters()))
print("keys", [k for k in model.state_dict() if k.startswith("encoder.layers.1.self_attn")])

optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
for epoch in range(4):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(tokens), labels)
    loss.backward()
    optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.5f}")
model.eval()
with torch.no_grad():
    logits = model(tokens)
print("eval logits", [round(x, 4) for x in logits[0].tolist()])
print("accuracy", (logits.argmax(1) == labels).float().mean().item())

# causal self-attention by hand and with SDPA
x = torch.tensor(rng.standard_normal((2, NHEAD, 5, 4)).astype(np.float32), requires_grad=True)
mask = torch.tril(torch.ones(5, 5, dtype=torch.bool))
scores = (x @ x.transpose(-2, -1)) / math.sqrt(4)
manual = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ x
fused = F.scaled_dot_product_attention(x, x, x, is_causal=True)
print("sdpa agrees", torch.allclose(manual, fused, atol=1e-6))
fused.pow(2).sum().backward()
print("sdpa grad", round(x.grad.abs().sum().item(), 4))

mha = nn.MultiheadAttention(D_MODEL, NHEAD, batch_first=True)
with torch.no_grad():
    for p in mha.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
seq = torch.tensor(rng.standard_normal((2, 5, D_MODEL)).astype(np.float32))
causal = nn.Transformer.generate_square_subsequent_mask(5)
out, weights = mha(seq, seq, seq, attn_mask=causal)
print("mha", tuple(out.shape), tuple(weights.shape), round(out.sum().item(), 4))
print("weights row 1", [round(w, 4) for w in weights[0, 1].tolist()])
