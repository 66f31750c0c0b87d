"""Tensor indexing and broadcasting, as the tensor tutorials show them: slicing, views that share
memory, boolean masks, fancy indexing, gather/scatter, where, in-place writes through views."""
import numpy as np
import torch

x = torch.arange(24).reshape(2, 3, 4)
print(x[1, :, ::2].tolist(), x[..., -1].tolist(), x[:, None].shape)
row = x[0]
row += 100                       # a view: x changes too
print("view write", x[0, 0].tolist(), x.is_contiguous(), x.t if False else x.transpose(0, 2).is_contiguous())

y = torch.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
print("mask", y[y > 0].tolist(), (y < 0).sum().item())
y[y < 0] = 0
print("masked write", y.tolist())
print("fancy", y[[0, 1, 1], [2, 0, 1]].tolist(), y[:, [2, 0]].tolist())

idx = torch.tensor([[2, 0], [1, 1]])
print("gather", torch.gather(y, 1, idx).tolist())
z = torch.zeros(2, 3).scatter_(1, idx, torch.ones(2, 2) * 7)
print("scatter", z.tolist())
print("scatter_add", torch.zeros(5).scatter_add_(0, torch.tensor([0, 1, 1, 4]), torch.tensor([1.0, 2.0, 3.0, 4.0])).tolist())

a = torch.ones(3, 1)
b = torch.arange(4.0)
print("broadcast", (a + b).shape, (a * b).sum().item())
print("where", torch.where(b > 1, b, torch.zeros_like(b)).tolist())
print("expand", a.expand(3, 4).shape, a.expand(-1, 2).tolist())
print("unsqueeze/squeeze", b.unsqueeze(0).shape, b.unsqueeze(1).squeeze().shape, b[None, :, None].shape)
print("cat/stack", torch.cat([b, b]).shape, torch.stack([b, b], dim=1).shape)
print("chunk", [c.tolist() for c in torch.arange(7).chunk(3)])
print("numpy bridge", torch.from_numpy(np.arange(3)).tolist(), type(b.numpy()).__name__)
n = np.ones(3)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print("shared memory", t.tolist())
print("sort", torch.sort(torch.tensor([3, 1, 2]), descending=True).values.tolist(),
      torch.argsort(torch.tensor([3.0, 1.0, 2.0])).tolist())
print("topk", torch.topk(torch.tensor([1.0, 5.0, 3.0, 4.0]), 2).indices.tolist())
