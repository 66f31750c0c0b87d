"""The tutorial's non-linear activation lesson: ReLU on a small matrix, then Sigmoid on
CIFAR-10 batches with input and output logged to TensorBoard.

    python examples/nn_activation.py --root data --logdir logs/sigmoid
"""
from _common import parse_args

import ember as torch
from ember import nn
from ember.nn import ReLU, Sigmoid
from ember.utils.data import DataLoader
from ember.utils.tensorboard import SummaryWriter
import ember.vision as torchvision


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.relu1 = ReLU()
        self.sigmoid1 = Sigmoid()

    def forward(self, input):
        output = self.sigmoid1(input)
        return output


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/sigmoid")
    input = torch.tensor([[1, -0.5],
                          [-1, 3]])
    input = torch.reshape(input, (-1, 1, 2, 2))
    net = Net()
    print("ReLU:\n", net.relu1(input))  # [[1, 0], [0, 3]]

    dataset = torchvision.datasets.CIFAR10(args.root, train=False, download=args.download,
                                           transform=torchvision.transforms.ToTensor())
    dataloader = DataLoader(dataset, batch_size=64)
    writer = SummaryWriter(args.logdir)
    step = 0
    for data in dataloader:
        imgs, targets = data
        writer.add_images("input", imgs, global_step=step)
        output = net(imgs)
        writer.add_images("output", output, step)
        step += 1
        if args.max_batches is not None and step >= args.max_batches:
            break
    writer.close()


if __name__ == "__main__":
    main()
