"""Write a small CIFAR-10 folder in the official format (``<root>/cifar-10-batches-py``), so the
other examples run without downloading the real data set.

    python examples/make_cifar10.py --root data
    python examples/nn_conv2d.py --root data --logdir logs/conv
    tensorboard --logdir logs

With network access, ``CIFAR10(root, download=True)`` fetches the real files instead.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ember.vision.datasets.synthetic import make_cifar10  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data", help="folder to create cifar-10-batches-py in")
    parser.add_argument("--train-per-batch", type=int, default=1000, help="images in each of the 5 training batches")
    parser.add_argument("--test-size", type=int, default=1000, help="images in test_batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = make_cifar10(args.root, args.train_per_batch, args.test_size, args.seed)
    print(f"wrote {folder}: 5 x {args.train_per_batch} training and {args.test_size} test images")


if __name__ == "__main__":
    main()
