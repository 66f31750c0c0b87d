"""Scaled dot-product attention written with einsum (as attention tutorials do): scores,
a causal mask with masked_fill, softmax, the weighted sum, and gradients of the inputs."""
import math

import numpy as np
import torch

rng = np.random.default_rng(2)
B, H, T, D = 2, 2, 5, 4
q, k, v = (torch.tensor(rng.standard_normal((B, H, T, D)).astype(np.float32), requires_grad=True)
           for _ in range(3))

scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(D)
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
scores = scores.masked_fill(mask, float("-inf"))
attn = torch.softmax(scores, dim=-1)
out = torch.einsum("bhqk,bhkd->bhqd", attn, v)
print("out", tuple(out.shape), round(out.sum().item(), 5))
print("attn row sums", [round(x, 5) for x in attn.sum(-1)[0, 0].tolist()])
print("first row", [round(x, 5) for x in attn[0, 0, 0].tolist()])

# the same with matmul and transpose: identical numbers
ref = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(D)).masked_fill(mask, float("-inf")), -1) @ v
print("matmul agrees", torch.allclose(out, ref, atol=1e-6))

loss = out.pow(2).mean()
loss.backward()
print("grads", [round(t.grad.abs().sum().item(), 5) for t in (q, k, v)])

# bilinear form, outer product and trace through einsum
x = torch.tensor([1.0, 2.0, 3.0])
A = torch.arange(9.0).reshape(3, 3)
print("x^T A x", torch.einsum("i,ij,j->", x, A, x).item(), "trace", torch.einsum("ii", A).item())
print("outer", torch.einsum("i,j->ij", x, x).tolist())
print("batched", torch.einsum("bij,bjk->bik", A.expand(2, 3, 3), A.expand(2, 3, 3)).shape)
