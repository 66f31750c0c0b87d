"""Training loops as tutorials write them with torch.optim's newer pieces: NAdam with a
LinearLR warm-up handing over to SGDR (CosineAnnealingWarmRestarts stepped per batch with a
fractional epoch), SGD with OneCycleLR cycling the momentum, then stochastic weight averaging
(AveragedModel, SWALR, update_bn) and an EMA of the weights. Generated data; the weights start
from a NumPy generator so that both libraries begin at the same point."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD, NAdam, RAdam
from torch.optim.lr_scheduler import (CosineAnnealingWarmRestarts, LinearLR, OneCycleLR,
                                      SequentialLR)
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
X = rng.standard_normal((96, 6)).astype(np.float32)
y = (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1).astype(np.int64)
loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=16, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def make_model(seed):
    model = Net()
    init = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(0.4 * init.standard_normal(tuple(p.shape)).astype(np.float32)))
    return model


def evaluate(model):
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(X))
        loss = F.cross_entropy(logits, torch.tensor(y)).item()
        acc = (logits.argmax(1) == torch.tensor(y)).float().mean().item()
    model.train()
    return loss, acc


def train_epoch(model, optimizer, after_batch=None):
    model.train()
    for i, (xb, yb) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        if after_batch is not None:
            after_batch(i)
    return loss.item()


# 1. NAdam: 2 warm-up epochs, then warm restarts stepped per batch (epoch + i / iters)
model = make_model(1)
optimizer = NAdam(model.parameters(), lr=0.02, weight_decay=1e-3, momentum_decay=4e-3)
warmup = LinearLR(optimizer, start_factor=0.2, total_iters=2)
for epoch in range(2):
    loss = train_epoch(model, optimizer)
    warmup.step()
    print(f"nadam warm-up {epoch} lr {optimizer.param_groups[0]['lr']:.6f} "
          f"train loss {loss:.5f} eval {evaluate(model)}")
sgdr = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=1e-3)
iters = len(loader)
for epoch in range(6):
    loss = train_epoch(model, optimizer, lambda i: sgdr.step(epoch + i / iters))
    print(f"nadam sgdr {epoch} lr {optimizer.param_groups[0]['lr']:.6f} "
          f"train loss {loss:.5f} eval {evaluate(model)}")

# 2. SGD + OneCycleLR (per batch; momentum cycles between 0.85 and 0.95)
model = make_model(2)
optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
scheduler = OneCycleLR(optimizer, max_lr=0.3, epochs=4, steps_per_epoch=len(loader))
for epoch in range(4):
    train_epoch(model, optimizer, lambda i: scheduler.step())
    print(f"onecycle epoch {epoch} lr {scheduler.get_last_lr()[0]:.6f} "
          f"momentum {optimizer.param_groups[0]['momentum']:.4f} eval {evaluate(model)}")

# 3. RAdam warm-up into SWA: average the weights of the last epochs, then fix BatchNorm
model = make_model(3)
optimizer = RAdam(model.parameters(), lr=0.01, decoupled_weight_decay=True, weight_decay=0.01)
warm = SequentialLR(optimizer, [LinearLR(optimizer, 0.5, total_iters=2),
                                LinearLR(optimizer, 1.0, 1.0, total_iters=1)], milestones=[2])
swa_model = AveragedModel(model)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
swa_scheduler = SWALR(optimizer, swa_lr=0.005, anneal_epochs=2, anneal_strategy="linear")
swa_start = 3
for epoch in range(7):
    train_epoch(model, optimizer, lambda i: ema_model.update_parameters(model))
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_scheduler.step()
    else:
        warm.step()
    print(f"swa epoch {epoch} lr {optimizer.param_groups[0]['lr']:.6f} eval {evaluate(model)}")
update_bn(loader, swa_model)
update_bn(loader, ema_model)
print("swa averaged", int(swa_model.n_averaged), "eval", evaluate(swa_model))
print("ema averaged", int(ema_model.n_averaged), "eval", evaluate(ema_model))
print("bn running mean", swa_model.module.bn.running_mean[:4].tolist())
state = optimizer.state_dict()["state"]
print("state keys", len(state), sorted(state[0]))
