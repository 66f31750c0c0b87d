"""Data loading (issue 7): collation and a DataLoader epoch in the main process.

Both libraries do the same work on the same NumPy inputs: no augmentation, no workers (worker
start-up is process creation, not library code). Image transforms have no torch counterpart
here (torchvision is not installed beside this torch), so they are not compared.
"""
import numpy as np

from benchmarks.harness import case, randn

BATCH = 64


@case("default_collate_64x(3x32x32+label)", target=1.5)
def collate_cifar_batch(lib):
    """default_collate of 64 (float32 3x32x32 array, int label) samples, as a CIFAR batch."""
    rng = np.random.default_rng(0)
    samples = [(rng.random((3, 32, 32), dtype=np.float32), int(i % 10)) for i in range(BATCH)]
    collate = lib.utils.data.default_collate
    return lambda: collate(samples)


@case("dataloader_epoch_tensordataset_4096x3x32x32", target=1.5)
def dataloader_epoch(lib):
    """One shuffled epoch over a TensorDataset of 4096 float32 3x32x32 images, batch size 64."""
    images = randn(lib, 4096, 3, 32, 32)
    labels = lib.from_numpy(np.arange(4096) % 10)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(images, labels),
                                       batch_size=BATCH, shuffle=True)

    def epoch():
        for _ in loader:
            pass
    return epoch


class _ReadyBatches:
    """A dataset of ``n`` ready-made batches (``batch_size=None``): the workers do no work but
    hand the batch over, so what is timed is the crossing from worker to main process."""

    def __init__(self, batch: np.ndarray, n: int) -> None:
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> np.ndarray:
        return self.batch


@case("dataloader_2workers_24x38MB_batches", target=1.3)
def dataloader_large_batches_across_processes(lib):
    """24 batches of 38 MB (256 float32 3x112x112 images) from 2 persistent workers."""
    batch = np.random.default_rng(0).random((256, 3, 112, 112), dtype=np.float32)
    loader = lib.utils.data.DataLoader(_ReadyBatches(batch, 24), batch_size=None, num_workers=2,
                                       persistent_workers=True)

    def epoch():
        for _ in loader:
            pass
    return epoch
