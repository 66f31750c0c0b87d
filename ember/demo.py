"""``ember demo``: train a small LeNet-style CNN on the bundled 8x8 handwritten digits.

The whole torch-style training loop in ember, end to end, in a few seconds on a laptop:
a ``Dataset``/``DataLoader``, a ``Sequential`` of ``Conv2d``/``ReLU``/``MaxPool2d``/``Linear``
layers, ``CrossEntropyLoss``, ``Adam`` (or ``SGD``) with a cosine learning-rate schedule, a
progress bar, the test accuracy (about 98-99%), and a checkpoint written with ``ember.save``.

The data are the 1797 images of the UCI optical-digits test set that scikit-learn also ships
(see ember/data/README.md); they are read here with NumPy alone. The train/test split (80/20)
and everything random derive from ``--seed``.

The first run after an install compiles ember's numba kernels, on every core it can use (up to
four; ember/nn/_first_run.py); later runs load them from numba's cache.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import sys
import time
from typing import NamedTuple

import numpy as np

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")
CHECKPOINT_NAME = "digits_cnn.safetensors"
DEFAULT_LR = {"adam": 3e-3, "sgd": 0.05}
TEST_FRACTION = 0.2


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

def load_digits(path: str = DATA_FILE):
    """The 1797 digits as (images float32 (N, 1, 8, 8) with values 0..16, labels int64 (N,))."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = table[:, :64].reshape(-1, 1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    return images, labels


def split(n: int, seed: int, test_fraction: float = TEST_FRACTION):
    """Indices of a seeded random train/test split."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(n * test_fraction)
    return order[n_test:], order[:n_test]


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------

def build_model():
    """LeNet-style: two conv-ReLU-pool stages (8x8 -> 4x4 -> 2x2), then two linear layers."""
    from . import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 2 * 2, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


# ---------------------------------------------------------------------------------------------
# progress display: plain text, one line per epoch without a terminal
# ---------------------------------------------------------------------------------------------

class ProgressBar:
    """``epoch 3/10 [############--------] 36/45  loss 0.2107  acc 94.1%  2.3s``.

    On a terminal the line is redrawn in place after every batch; otherwise (a pipe, a log
    file, CI) it is printed once, when the epoch ends, so logs stay readable.
    """

    width = 20

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, epoch, epochs, done, total, loss, acc, seconds):
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        return (f"epoch {epoch:>{len(str(epochs))}}/{epochs} [{bar}] {done:>{len(str(total))}}/"
                f"{total}  loss {loss:.4f}  acc {100 * acc:5.1f}%  {seconds:.1f}s")

    def update(self, *args):
        if self.live:
            self.stream.write("\r" + self.line(*args))
            self.stream.flush()

    def finish(self, *args):
        self.stream.write(("\r" if self.live else "") + self.line(*args) + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def limit_threads(n: int | None):
    """Run numba's parallel kernels (and the BLAS, when threadpoolctl is installed) on at most
    ``n`` threads inside the block; ``None`` leaves them alone.

    The demo's batches are tiny (32 images of 8x8): starting a parallel region costs more than
    it saves, and on a busy machine waiting for every thread to be scheduled dominates the
    step time - as ``torch.set_num_threads(1)`` helps torch on small models. ``n == 1`` also
    switches ember's parallel kernels off (``ember.set_num_threads(1)``), so that the one
    large call (the test set's forward) takes the serial twins as well: otherwise it compiles
    the parallel twins of im2col and max pooling, ~6 of the first run's ~10 s of compilation,
    only to run them on one thread.
    """
    if n is None:
        yield
        return
    import numba

    from ember import _state

    was_parallel = _state.parallel_enabled()
    previous = numba.get_num_threads() if n > 1 else None
    _state.set_parallel(n > 1)
    if n > 1:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            blas = contextlib.nullcontext()
        else:
            blas = threadpool_limits(limits=n, user_api="blas")
        with blas:
            yield
    finally:
        _state.set_parallel(was_parallel)
        if previous is not None:
            numba.set_num_threads(previous)


def train(epochs: int = 10, batch_size: int = 32, lr: float | None = None,
          optimizer: str = "adam", output_dir: str | None = "ember-demo", seed: int = 0,
          limit: int | None = None, threads: int | None = 1, stream=None) -> dict:
    """Train the demo CNN and return ``{'test_accuracy', 'checkpoint', 'seconds', ...}``.

    ``limit`` trains on the first ``limit`` training images only (a quick smoke run);
    ``output_dir=None`` skips the checkpoint; ``threads`` caps the compute threads (see
    :func:`limit_threads`).
    """
    with limit_threads(threads):
        return _train(epochs, batch_size, lr, optimizer, output_dir, seed, limit, stream)


class _DigitsData(NamedTuple):
    loader: object          # shuffled training batches
    test_x: object          # test images, a Tensor
    test_y: np.ndarray      # test labels
    mean: float             # the training images' statistics, used to standardise all images
    std: float
    n_train: int


def _digits_data(seed: int, limit: int | None, batch_size: int) -> _DigitsData:
    """The digits split by ``seed``, standardised, with a shuffled loader over the training set."""
    import ember
    from ember.utils.data import DataLoader, TensorDataset

    images, labels = load_digits()
    train_idx, test_idx = split(len(images), seed)
    if limit is not None:
        train_idx = train_idx[:limit]
    # standardise with the training set's statistics (so the test set stays unseen)
    mean, std = float(images[train_idx].mean()), float(images[train_idx].std())
    images = (images - mean) / std
    train_set = TensorDataset(ember.from_numpy(images[train_idx]),
                              ember.from_numpy(labels[train_idx]))
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                        generator=ember.Generator().manual_seed(seed))
    return _DigitsData(loader, ember.from_numpy(images[test_idx]), labels[test_idx], mean, std,
                       len(train_idx))


def _make_optimizer(name: str, params, lr: float):
    """Adam, or SGD with Nesterov momentum 0.9."""
    import ember

    if name == "adam":
        return ember.optim.Adam(params, lr=lr)
    return ember.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)


def _train_epoch(model, loader, loss_fn, opt, scheduler, bar, epoch: int, epochs: int) -> None:
    """One pass over ``loader``, stepping the schedule every batch and drawing the progress."""
    model.train()
    epoch_start = time.perf_counter()
    seen = correct = 0
    loss_sum = 0.0
    for done, (x, y) in enumerate(loader, 1):
        logits = model(x)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        scheduler.step()
        n = len(y)
        seen += n
        loss_sum += loss.item() * n
        correct += int((logits.detach().numpy().argmax(axis=1) == y.numpy()).sum())
        bar.update(epoch, epochs, done, len(loader), loss_sum / seen, correct / seen,
                   time.perf_counter() - epoch_start)
    bar.finish(epoch, epochs, len(loader), len(loader), loss_sum / seen, correct / seen,
               time.perf_counter() - epoch_start)


def _save_checkpoint(output_dir: str, state: dict) -> str:
    """Write ``state`` to ``output_dir``/CHECKPOINT_NAME (folder created) and return the path."""
    import ember

    os.makedirs(output_dir, exist_ok=True)
    checkpoint = os.path.join(output_dir, CHECKPOINT_NAME)
    ember.save(state, checkpoint)
    return checkpoint


def _train(epochs, batch_size, lr, optimizer, output_dir, seed, limit, stream) -> dict:
    """The body of :func:`train`: data, model, training, test accuracy, checkpoint."""
    import ember
    from ember import nn

    out = stream if stream is not None else sys.stdout
    start = time.perf_counter()
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    ember.manual_seed(seed)
    data = _digits_data(seed, limit, batch_size)
    model = build_model()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    opt = _make_optimizer(optimizer, model.parameters(), lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(data.loader))

    n_params = sum(p.numel() for p in model.parameters())
    out.write(f"ember demo: LeNet-style CNN ({n_params:,} parameters) on 8x8 handwritten digits: "
              f"{data.n_train} training / {len(data.test_y)} test images, {optimizer} "
              f"lr={lr:g}, batch {batch_size}, {epochs} epochs, seed {seed}\n")
    out.flush()
    bar = ProgressBar(out)
    for epoch in range(1, epochs + 1):
        _train_epoch(model, data.loader, loss_fn, opt, scheduler, bar, epoch, epochs)

    accuracy = evaluate(model, data.test_x, data.test_y)
    seconds = time.perf_counter() - start
    out.write(f"test accuracy: {100 * accuracy:.2f}% ({int(round(accuracy * len(data.test_y)))}/"
              f"{len(data.test_y)} test images), trained in {seconds:.1f}s\n")
    checkpoint = None
    if output_dir is not None:
        checkpoint = _save_checkpoint(output_dir, {
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": epochs, "test_accuracy": accuracy,
            "normalization": {"mean": data.mean, "std": data.std},
            "config": {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                       "optimizer": optimizer, "seed": seed, "limit": limit}})
        out.write(f"checkpoint saved to {checkpoint}  (reload: ckpt = ember.load(path); "
                  f"model.load_state_dict(ckpt['model']))\n")
    out.flush()
    return {"test_accuracy": accuracy, "checkpoint": checkpoint, "seconds": seconds,
            "model": model, "normalization": (data.mean, data.std)}


def evaluate(model, x, labels: np.ndarray) -> float:
    """Accuracy of ``model`` on images ``x`` (eval mode, no graph)."""
    import ember

    model.eval()
    with ember.no_grad():
        predictions = model(x).numpy().argmax(axis=1)
    return float((predictions == labels).mean())


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_subcommand(subparsers) -> None:
    """Register ``ember demo`` on the ``ember`` command's subparsers."""
    p = subparsers.add_parser(
        "demo", help="train a small CNN on handwritten digits (a few seconds)",
        description="Train a LeNet-style CNN (Conv2d, ReLU, MaxPool2d, Linear) with "
                    "CrossEntropyLoss on the 8x8 handwritten digits bundled with ember (1797 "
                    "images, 80/20 train/test split fixed by --seed), show its progress, report "
                    "the test accuracy (about 98-99%) and save a checkpoint.")
    p.add_argument("--epochs", type=_positive_int, default=10,
                   help="passes over the training images (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="images per step (default: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="initial learning rate, annealed to 0 with a cosine schedule "
                        "(default: 0.003 for adam, 0.05 for sgd)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="Adam, or SGD with Nesterov momentum 0.9 (default: %(default)s)")
    p.add_argument("--output-dir", default="ember-demo",
                   help=f"directory for the checkpoint ({CHECKPOINT_NAME}); created if needed "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the train/test split, the initial weights and the shuffling "
                        "(default: %(default)s)")
    p.add_argument("--limit", type=_positive_int, default=None,
                   help="train on only the first N training images (a quick smoke run)")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="compute threads (numba kernels; BLAS too if threadpoolctl is "
                        "installed). The batches are tiny, so one thread is fastest "
                        "(default: %(default)s)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ember.cli import output_directory
    output_directory(args.output_dir)   # a bad folder fails now, not after training
    from ember.nn import _first_run
    _first_run.compile_demo_kernels()   # a first run compiles them on several cores
    train(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
          output_dir=args.output_dir, seed=args.seed, limit=args.limit, threads=args.threads)
    return 0
