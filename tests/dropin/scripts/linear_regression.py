"""Linear regression from scratch: autograd, and manual updates under no_grad."""
import numpy as np
import torch

rng = np.random.default_rng(1)
X = torch.tensor(rng.standard_normal((64, 3)).astype(np.float32))
true_w = torch.tensor([[2.0], [-3.4], [1.5]])
Y = X @ true_w + 4.2 + torch.tensor(0.01 * rng.standard_normal((64, 1)).astype(np.float32))

w = torch.tensor(0.01 * rng.standard_normal((3, 1)).astype(np.float32), requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1
for epoch in range(30):
    loss = ((X @ w + b - Y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if epoch % 5 == 0:
        print(f"epoch {epoch} loss {loss.item():.6f}")
print("w", w.detach().flatten().tolist())
print("b", b.item(), "leaf", w.is_leaf, w.requires_grad)
