"""PyTorch's "Visualizing Models, Data, and Training with TensorBoard" tutorial on CIFAR-10:
an image grid, the model's graph, an embedding of the images, the training loss with a
predictions-vs-actuals figure, and one precision-recall curve per class.

    python examples/tensorboard_tutorial.py --root data --logdir logs/tutorial
    tensorboard --logdir logs
"""
from _common import parse_args

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ember as torch  # noqa: E402  (torch: import torch)
import ember.nn as nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
import ember.optim as optim  # noqa: E402
import ember.vision as torchvision  # noqa: E402
from ember.utils.data import DataLoader  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402

classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def images_to_probs(net, images):
    output = net(images)
    _, preds_tensor = torch.max(output, 1)
    preds = np.squeeze(preds_tensor.numpy())
    return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]


def plot_classes_preds(net, images, labels):
    """The first four images with the predicted class, its probability and the true class."""
    preds, probs = images_to_probs(net, images)
    fig = plt.figure(figsize=(12, 4))
    for idx in range(4):
        ax = fig.add_subplot(1, 4, idx + 1, xticks=[], yticks=[])
        ax.imshow(np.transpose(images[idx].numpy(), (1, 2, 0)))
        ax.set_title(f"{classes[preds[idx]]}, {probs[idx] * 100.0:.1f}%\n(label: {classes[labels[idx]]})",
                     color="green" if preds[idx] == labels[idx].item() else "red")
    return fig


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/tutorial")
    transform = torchvision.transforms.ToTensor()
    trainset = torchvision.datasets.CIFAR10(args.root, train=True, transform=transform, download=args.download)
    testset = torchvision.datasets.CIFAR10(args.root, train=False, transform=transform, download=args.download)
    trainloader = DataLoader(trainset, batch_size=4, shuffle=True)
    testloader = DataLoader(testset, batch_size=4, shuffle=False)
    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    writer = SummaryWriter(args.logdir)

    # 1. images and the model's graph
    images, labels = next(iter(trainloader))
    writer.add_image("four_cifar_images", torchvision.utils.make_grid(images))
    writer.add_graph(net, images)

    # 2. an embedding of (up to) 100 images, labelled with their class
    n = min(100, len(trainset))
    perm = torch.randperm(len(trainset))[:n]
    sample = torch.stack([trainset[i][0] for i in perm.tolist()])
    sample_labels = [classes[trainset[i][1]] for i in perm.tolist()]
    writer.add_embedding(sample.view(-1, 3 * 32 * 32), metadata=sample_labels, label_img=sample)

    # 3. training: the loss every `every` batches, with a figure of the model's predictions
    every = 10 if args.max_batches is None else max(1, args.max_batches // 2)
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(trainloader):
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % every == every - 1:
            writer.add_scalar("training loss", running_loss / every, i)
            writer.add_figure("predictions vs. actuals", plot_classes_preds(net, inputs, labels), global_step=i)
            running_loss = 0.0
        if args.max_batches is not None and i + 1 >= args.max_batches:
            break

    # 4. one precision-recall curve per class, on the test set
    class_probs, class_label = [], []
    with torch.no_grad():
        for images, labels in testloader:
            class_probs.append(F.softmax(net(images), dim=1))
            class_label.append(labels)
    test_probs, test_label = torch.cat(class_probs), torch.cat(class_label)
    for class_index, name in enumerate(classes):
        writer.add_pr_curve(name, test_label == class_index, test_probs[:, class_index], global_step=0)
    writer.close()


if __name__ == "__main__":
    main()
