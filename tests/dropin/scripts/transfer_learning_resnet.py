"""The transfer-learning tutorial's "ConvNet as fixed feature extractor": a torchvision ResNet-18,
its parameters frozen, a new two-class head trained with SGD + StepLR on generated images, then
the whole network fine-tuned for a step. (Weights come from a fixed NumPy stream here, since the
tutorial's ImageNet checkpoint is not downloaded.)"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torchvision
from torch.optim import lr_scheduler
from torchvision import models

rng = np.random.default_rng(5)
model = models.resnet18(weights=None)
with torch.no_grad():  # the same starting weights on both libraries
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(0, 0.05, tuple(p.shape)).astype(np.float32)))
print(type(model).__name__, "parameters", sum(p.numel() for p in model.parameters()))
print("weights enum", models.ResNet18_Weights.DEFAULT, models.ResNet18_Weights.DEFAULT.url)

for param in model.parameters():
    param.requires_grad = False
num_ftrs = model.fc.in_features
model.fc = nn.Linear(num_ftrs, 2)
with torch.no_grad():
    model.fc.weight.copy_(torch.tensor(rng.normal(0, 0.05, (2, num_ftrs)).astype(np.float32)))
    model.fc.bias.zero_()

criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)

images = torch.tensor(rng.normal(0, 1, (8, 3, 32, 32)).astype(np.float32))
labels = torch.tensor(rng.integers(0, 2, 8))
for epoch in range(4):
    model.train()
    optimizer_conv.zero_grad()
    outputs = model(images)
    _, preds = torch.max(outputs, 1)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer_conv.step()
    exp_lr_scheduler.step()
    print(f"epoch {epoch} loss {loss.item():.5f} acc {(preds == labels).float().mean().item():.3f} "
          f"lr {exp_lr_scheduler.get_last_lr()[0]:.5f}")
print("frozen conv1 has no grad:", model.conv1.weight.grad is None)

model.eval()
with torch.no_grad():
    print("eval logits", [round(v, 4) for v in model(images[:2]).flatten().tolist()])

for param in model.parameters():  # fine-tune everything for one step
    param.requires_grad = True
optimizer_ft = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
model.train()
optimizer_ft.zero_grad()
loss = criterion(model(images), labels)
loss.backward()
optimizer_ft.step()
print(f"fine-tune loss {loss.item():.5f} conv1 grad norm {model.conv1.weight.grad.norm().item():.5f}")
print("preprocess crop", models.ResNet18_Weights.DEFAULT.transforms().crop_size,
      "models", len([m for m in torchvision.models.list_models() if m.startswith("resnet")]))
