"""A small CNN trained as the CIFAR tutorial does: nn.Module, Conv2d/MaxPool2d/Linear, an
optimizer with momentum, a DataLoader, train()/eval(), accuracy, a state_dict round trip."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(11)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


net = Net()
with torch.no_grad():  # the same starting weights on both libraries
    for name, p in net.named_parameters():
        p.copy_(torch.tensor(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
print(net)
print("parameters", sum(p.numel() for p in net.parameters() if p.requires_grad))

images = torch.tensor(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))
labels = torch.tensor(rng.integers(0, 10, 64))
loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=False)

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    net.train()
    running_loss = 0.0
    for i, (inputs, targets) in enumerate(loader):
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, targets in loader:
            _, predicted = torch.max(net(inputs).data, 1)
            total += targets.size(0)
            correct += (predicted == targets).sum().item()
    print(f"[{epoch + 1}] loss: {running_loss / len(loader):.4f} accuracy: {100 * correct // total} %")

path = os.path.join(tempfile.mkdtemp(), "cifar_net.pth")
torch.save(net.state_dict(), path)
net2 = Net()
net2.load_state_dict(torch.load(path))
with torch.no_grad():
    same = torch.equal(net(images[:4]), net2(images[:4]))
print("reloaded equal", same, sorted(net2.state_dict().keys())[:3])
