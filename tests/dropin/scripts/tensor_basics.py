"""Tensor basics, the way tutorials show them: shapes, in-place operators, views."""
import numpy as np
import torch

rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((2, 3)).astype(np.float32))
print("shape", x.shape, x.size(), x.shape[1:], (1,) + x.shape, x.shape + (1,), x.shape * 2)
print("numel", x.numel(), x.dim(), x.dtype)

y = torch.ones(2, 3)
y += x
y *= 2
y -= 1
y /= 4
print("y", y)
alias = y
y **= 2
print("same object after **=", alias is y)

row = x[0]
row += 10  # a view: changes x
print("x after row += 10", x)

z = torch.zeros(size=(2, 3))
z[1:] += 1
z.view(3, 2)[0] = torch.tensor([5.0, 6.0])
print("z", z, z.sum().item())

i = torch.arange(6).reshape(2, 3)
i //= 2
i %= 2
i <<= 1
i |= 1
print("i", i)
print("flat", x.flatten().shape, x.t().contiguous().view(-1).shape, x.unsqueeze(0).shape)
