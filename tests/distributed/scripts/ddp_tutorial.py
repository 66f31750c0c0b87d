"""Data-parallel training as torch's DDP tutorial writes it (gloo on CPU): launched either by
mp.spawn (``python ddp_tutorial.py CHECKPOINT``) or by torchrun
(``torchrun --nproc-per-node=2 ddp_tutorial.py CHECKPOINT``). Rank 0 prints the epoch losses,
saves a checkpoint, and every rank loads it back after a barrier."""
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def setup(rank, world_size):
    os.environ.setdefault("MASTER_ADDR", "localhost")
    os.environ.setdefault("MASTER_PORT", "12355")
    dist.init_process_group("gloo", rank=rank, world_size=world_size)


def cleanup():
    dist.destroy_process_group()


def train(rank, world_size, checkpoint_path):
    torch.manual_seed(0)
    dataset = TensorDataset(torch.randn(64, 1, 14, 14, dtype=torch.float64),
                            torch.randint(0, 4, (64,)))
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True)
    loader = DataLoader(dataset, batch_size=8, sampler=sampler)

    torch.manual_seed(rank)  # different replicas: DDP starts them all from rank 0's weights
    model = Net().double()
    ddp_model = DDP(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.05, momentum=0.9)

    for epoch in range(2):
        sampler.set_epoch(epoch)
        total = torch.zeros(1, dtype=torch.float64)
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(ddp_model(inputs), labels)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        if rank == 0:
            print(f"epoch {epoch}: loss {total.item() / (world_size * len(loader)):.8f}")

    if rank == 0:
        # all processes hold the same weights: one saves them
        torch.save(ddp_model.state_dict(), checkpoint_path)
    dist.barrier()
    state = torch.load(checkpoint_path, map_location={"cuda:0": f"cuda:{rank}"})
    ddp_model.load_state_dict(state)
    checksum = torch.tensor([sum(p.sum().item() for p in ddp_model.parameters())],
                            dtype=torch.float64)
    everyone = [torch.zeros(1, dtype=torch.float64) for _ in range(world_size)]
    dist.all_gather(everyone, checksum)
    if rank == 0:
        print(f"replicas agree: {all(torch.equal(c, checksum) for c in everyone)}")
        print(f"checksum {checksum.item():.8f}")
        print(f"running_mean {ddp_model.module.bn1.running_mean.sum().item():.8f}")


def demo_basic(rank, world_size, checkpoint_path):
    setup(rank, world_size)
    train(rank, world_size, checkpoint_path)
    cleanup()


def spawn_main(checkpoint_path, world_size=2):
    mp.spawn(demo_basic, args=(world_size, checkpoint_path), nprocs=world_size, join=True)


def torchrun_main(checkpoint_path):
    # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT: env:// reads them
    dist.init_process_group("gloo")
    train(dist.get_rank(), dist.get_world_size(), checkpoint_path)
    cleanup()


if __name__ == "__main__":
    if "LOCAL_RANK" in os.environ:
        torchrun_main(sys.argv[1])
    else:
        spawn_main(sys.argv[1])
