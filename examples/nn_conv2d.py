"""The tutorial's convolution lesson: Conv2d(3, 6, 3) over CIFAR-10 batches of 64; the input
and the six output channels (shown as pairs of RGB images) go to TensorBoard.

    python examples/nn_conv2d.py --root data --logdir logs/conv
"""
from _common import parse_args

import ember as torch  # torch: import torch
from ember import nn
from ember.nn import Conv2d
from ember.utils.data import DataLoader
from ember.utils.tensorboard import SummaryWriter
import ember.vision as torchvision


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = Conv2d(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=0)

    def forward(self, x):
        x = self.conv1(x)
        return x


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/conv")
    dataset = torchvision.datasets.CIFAR10(args.root, train=False, transform=torchvision.transforms.ToTensor(),
                                           download=args.download)
    dataloader = DataLoader(dataset, batch_size=64)
    net = Net()
    print(net)

    writer = SummaryWriter(args.logdir)
    step = 0
    for data in dataloader:
        imgs, targets = data
        output = net(imgs)
        print(imgs.shape, output.shape)  # [64, 3, 32, 32] -> [64, 6, 30, 30]
        writer.add_images("input", imgs, step)
        # six channels cannot be shown as one image: show them as twice as many RGB images
        output = torch.reshape(output, (-1, 3, 30, 30))
        writer.add_images("output", output, step)
        step = step + 1
        if args.max_batches is not None and step >= args.max_batches:
            break
    writer.close()


if __name__ == "__main__":
    main()
