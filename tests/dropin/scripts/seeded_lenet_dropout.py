"""A seeded LeNet-5 with Dropout trained on a shuffled DataLoader with random crop and flip,
the way tutorials write it: manual_seed, then data, weights, shuffling, the augmentations'
parameters and the dropout masks all come from torch's generator (issue 20: ember prints
torch's numbers)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)

# a learnable toy task: the class is which of ten horizontal bands is brightest
images = torch.rand(160, 1, 28, 28) * 0.5
labels = torch.randint(0, 10, (160,))
for i, c in enumerate(labels.tolist()):
    images[i, 0, 2 + 2 * c:4 + 2 * c, :] += 1.0


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


class AugmentedImages(Dataset):
    """Tensor images through torchvision transforms, one random draw per item."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


model = LeNet()
print("conv1 weight[0, 0, 0]:", [f"{v:.8f}" for v in model.conv1.weight[0, 0, 0].tolist()])
print("fc3 bias:", [f"{v:.8f}" for v in model.fc3.bias.tolist()[:4]])
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
augment = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip()])
loader = DataLoader(AugmentedImages(images, labels, augment), batch_size=32, shuffle=True)

for epoch in range(3):
    model.train()
    total = 0.0
    for step, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        print(f"epoch {epoch} step {step} first labels {y[:4].tolist()} loss {loss.item():.8f}")
    print(f"epoch {epoch} mean loss {total / len(loader):.8f}")

model.eval()
with torch.no_grad():
    accuracy = (model(images).argmax(1) == labels).float().mean().item()
print(f"train accuracy {accuracy:.4f}")
