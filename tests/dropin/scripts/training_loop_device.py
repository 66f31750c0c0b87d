"""A small training loop with the usual device selection."""
import numpy as np
import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
print("device", device)

rng = np.random.default_rng(2)
X = torch.tensor(rng.standard_normal((32, 4)).astype(np.float32)).to(device)
T = torch.tensor(rng.integers(0, 3, 32)).to(device)

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(0.3 * rng.standard_normal(tuple(p.shape)).astype(np.float32)))
opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for step in range(20):
    opt.zero_grad()
    loss = criterion(model(X), T)
    loss.backward()
    opt.step()
    if step % 4 == 0:
        print(f"step {step} loss {loss.item():.5f}")
with torch.no_grad():
    accuracy = (model(X).argmax(dim=1) == T).float().mean().item()
print("accuracy", accuracy)
wrapped = nn.DataParallel(model)
print("state_dict keys", list(wrapped.state_dict())[:2])
