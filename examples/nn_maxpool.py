"""The tutorial's pooling lesson: MaxPool2d(3, ceil_mode=False) on a small matrix (ceil_mode
True vs False), then on CIFAR-10 batches with input and output logged to TensorBoard.

    python examples/nn_maxpool.py --root data --logdir logs/maxpool
"""
from _common import parse_args

import ember as torch
from ember import nn
from ember.nn import MaxPool2d
from ember.utils.data import DataLoader
from ember.utils.tensorboard import SummaryWriter
import ember.vision as torchvision


class Net(nn.Module):
    def __init__(self, ceil_mode=False):
        super(Net, self).__init__()
        self.maxpool1 = MaxPool2d(kernel_size=3, ceil_mode=ceil_mode)

    def forward(self, input):
        output = self.maxpool1(input)
        return output


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/maxpool")
    input = torch.tensor([[1, 2, 0, 3, 1],
                          [0, 1, 2, 3, 1],
                          [1, 2, 1, 0, 0],
                          [5, 2, 3, 1, 1],
                          [2, 1, 0, 1, 1]], dtype=torch.float32)
    input = torch.reshape(input, (-1, 1, 5, 5))
    print("ceil_mode=True:\n", Net(ceil_mode=True)(input))   # [[2, 3], [5, 1]]
    print("ceil_mode=False:\n", Net(ceil_mode=False)(input))  # [[2]]

    dataset = torchvision.datasets.CIFAR10(args.root, train=False, transform=torchvision.transforms.ToTensor(),
                                           download=args.download)
    dataloader = DataLoader(dataset, batch_size=64)
    net = Net()
    writer = SummaryWriter(args.logdir)
    step = 0
    for data in dataloader:
        imgs, targets = data
        writer.add_images("input", imgs, step)
        output = net(imgs)  # [64, 3, 32, 32] -> [64, 3, 10, 10]
        writer.add_images("output", output, step)
        step = step + 1
        if args.max_batches is not None and step >= args.max_batches:
            break
    writer.close()


if __name__ == "__main__":
    main()
