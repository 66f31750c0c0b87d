"""The tutorial's "dataset + transforms" lesson: CIFAR-10 through ToTensor, ten test images
logged to TensorBoard one by one.

    python examples/dataset_transform.py --root data --logdir logs/p10
"""
from _common import parse_args

from ember.utils.tensorboard import SummaryWriter  # torch: from torch.utils.tensorboard import SummaryWriter
import ember.vision as torchvision  # torch: import torchvision


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, logdir="logs/p10")
    dataset_transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor()])
    train_set = torchvision.datasets.CIFAR10(root=args.root, train=True, transform=dataset_transform,
                                             download=args.download)
    test_set = torchvision.datasets.CIFAR10(root=args.root, train=False, transform=dataset_transform,
                                            download=args.download)
    print(test_set)
    img, target = test_set[0]
    print(img.shape, target, test_set.classes[target])

    writer = SummaryWriter(args.logdir)
    for i in range(10):
        img, target = test_set[i]
        writer.add_image("test_set", img, i)
    writer.close()
    print(f"{len(train_set)} training and {len(test_set)} test images; logged 10 to {args.logdir}")


if __name__ == "__main__":
    main()
