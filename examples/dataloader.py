"""The tutorial's DataLoader lesson: batches of 64 shuffled test images, two epochs, each
batch logged as an image grid.

    python examples/dataloader.py --root data --logdir logs/dataloader
"""
from _common import parse_args

from ember.utils.data import DataLoader  # torch: from torch.utils.data import DataLoader
from ember.utils.tensorboard import SummaryWriter
import ember.vision as torchvision


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/dataloader")
    test_data = torchvision.datasets.CIFAR10(args.root, train=False,
                                             transform=torchvision.transforms.ToTensor(),
                                             download=args.download)
    test_loader = DataLoader(dataset=test_data, batch_size=64, shuffle=True, num_workers=0, drop_last=True)

    img, target = test_data[0]
    print(img.shape, target)

    writer = SummaryWriter(args.logdir)
    for epoch in range(2):
        step = 0
        for imgs, targets in test_loader:
            writer.add_images("Epoch: {}".format(epoch), imgs, step)
            step = step + 1
            if args.max_batches is not None and step >= args.max_batches:
                break
    writer.close()
    print(f"logged 2 epochs of {step} batches to {args.logdir}")


if __name__ == "__main__":
    main()
