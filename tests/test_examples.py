"""The tutorials' CIFAR-10 + DataLoader + SummaryWriter loop and the scripts in examples/, run on
a small generated CIFAR-10 folder; the TensorBoard event files are read back."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys

import pytest

import ember
from ember.vision.datasets.synthetic import make_cifar10

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
TEST_SIZE = 150  # 3 batches of 64: 64, 64, 22


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    make_cifar10(root, train_per_batch=10, test_size=TEST_SIZE)
    return str(root)


def images(log_dir, tag):
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.IMAGES: 0})
    acc.Reload()
    return acc.Images(tag)


# -- the tutorial loop, unchanged but for the imports ----------------------------------------------

@pytest.mark.parametrize("layer", ["conv", "pool", "sigmoid"])
def test_tutorial_loop(cifar_root, tmp_path, layer):
    import ember as torch
    import ember.vision as torchvision
    from ember import nn
    from ember.nn import Conv2d, MaxPool2d, Sigmoid
    from ember.utils.data import DataLoader
    from ember.utils.tensorboard import SummaryWriter

    dataset = torchvision.datasets.CIFAR10(cifar_root, train=False,
                                           transform=torchvision.transforms.ToTensor(), download=False)
    dataloader = DataLoader(dataset, batch_size=64)

    class Tudui(nn.Module):
        def __init__(self):
            super(Tudui, self).__init__()
            self.conv1 = Conv2d(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=0)
            self.maxpool1 = MaxPool2d(kernel_size=3, ceil_mode=False)
            self.sigmoid1 = Sigmoid()

        def forward(self, x):
            return {"conv": self.conv1, "pool": self.maxpool1, "sigmoid": self.sigmoid1}[layer](x)

    tudui = Tudui()
    writer = SummaryWriter(str(tmp_path / "logs"))
    step = 0
    shapes = []
    for data in dataloader:
        imgs, targets = data
        output = tudui(imgs)
        shapes.append((tuple(imgs.shape), tuple(output.shape)))
        writer.add_images("input", imgs, step)
        if layer == "conv":
            output = torch.reshape(output, (-1, 3, 30, 30))
        writer.add_images("output", output, step)
        step = step + 1
    writer.close()

    out_hw = {"conv": (6, 30, 30), "pool": (3, 10, 10), "sigmoid": (3, 32, 32)}[layer]
    assert shapes == [((n, 3, 32, 32), (n, *out_hw)) for n in (64, 64, 22)]
    inputs, outputs = images(tmp_path / "logs", "input"), images(tmp_path / "logs", "output")
    assert [e.step for e in inputs] == [e.step for e in outputs] == [0, 1, 2]
    assert (inputs[0].height, inputs[0].width) == (8 * 32, 8 * 32)  # 64 images, 8 per row
    assert (inputs[2].height, inputs[2].width) == (3 * 32, 8 * 32)  # 22 images
    side = out_hw[-1]
    rows = {"conv": 16, "pool": 8, "sigmoid": 8}[layer]  # conv: 128 three-channel images
    assert (outputs[0].height, outputs[0].width) == (rows * side, 8 * side)


# -- the example scripts ---------------------------------------------------------------------------

@pytest.mark.parametrize("script, tags, steps", [
    ("dataset_transform.py", ["test_set"], list(range(10))),
    ("dataloader.py", ["Epoch: 0", "Epoch: 1"], [0, 1]),
    ("nn_conv2d.py", ["input", "output"], [0, 1]),
    ("nn_maxpool.py", ["input", "output"], [0, 1]),
    ("nn_activation.py", ["input", "output"], [0, 1]),
])
def test_example_scripts(cifar_root, tmp_path, monkeypatch, capsys, script, tags, steps):
    monkeypatch.syspath_prepend(EXAMPLES)
    log_dir = tmp_path / "logs"
    monkeypatch.setattr(sys, "argv", [script, "--root", cifar_root, "--logdir", str(log_dir), "--max-batches", "2"])
    runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
    for tag in tags:
        assert [e.step for e in images(log_dir, tag)] == steps
    out = capsys.readouterr().out
    if script == "nn_maxpool.py":
        assert "[[[[2., 3.],\n          [5., 1.]]]]" in out and "[[[[2.]]]]" in out


def test_make_cifar10_script(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, "make_cifar10.py"), "--root", str(tmp_path),
                             "--train-per-batch", "3", "--test-size", "4"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    train = ember.vision.datasets.CIFAR10(str(tmp_path), train=True)
    assert len(train) == 15 and len(ember.vision.datasets.CIFAR10(str(tmp_path), train=False)) == 4
