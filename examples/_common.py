"""Command-line options shared by the examples: where the data and the logs go."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(description, argv=None, logdir="logs"):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", default="data", help="folder holding cifar-10-batches-py "
                        "(make one with examples/make_cifar10.py)")
    parser.add_argument("--logdir", default=logdir, help="TensorBoard log folder")
    parser.add_argument("--download", action="store_true", help="download the real CIFAR-10")
    parser.add_argument("--max-batches", type=int, default=None, help="stop after this many batches")
    return parser.parse_args(argv)
