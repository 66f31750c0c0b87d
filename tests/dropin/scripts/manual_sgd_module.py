"""Training an nn.Module with a hand-written update loop (the 'what is torch.nn really' tutorial):
p -= p.grad * lr over model.parameters(), then model.zero_grad()."""
import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(5)
x = torch.tensor(rng.standard_normal((50, 4)).astype(np.float32))
y = torch.tensor((rng.standard_normal(50) > 0).astype(np.int64))


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, xb):
        return self.lin(xb)


model = Mnist_Logistic()
with torch.no_grad():
    model.lin.weight.copy_(torch.tensor(rng.normal(0, 0.1, (2, 4)).astype(np.float32)))
    model.lin.bias.fill_(0.1)
weight_before = model.lin.weight
loss_func = nn.functional.cross_entropy
lr, bs = 0.5, 10
for epoch in range(4):
    for i in range(0, 50, bs):
        xb, yb = x[i:i + bs], y[i:i + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= p.grad * lr
            model.zero_grad()
    print(epoch, round(loss_func(model(x), y).item(), 6))
print("same parameter object", model.lin.weight is weight_before, model.lin.weight.requires_grad)
print("grad after zero_grad", model.lin.weight.grad)
