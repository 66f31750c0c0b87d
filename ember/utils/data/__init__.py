"""ember.utils.data: datasets, samplers and the DataLoader, as torch.utils.data."""
from .dataloader import DataLoader, default_collate, default_convert, get_worker_info
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "default_collate", "default_convert", "get_worker_info", "random_split"]


def __getattr__(name):
    # DistributedSampler lives in ember.utils.data.distributed, a layer above this package (it
    # asks ember.distributed for the rank): loaded on first use, as torch.utils.data exposes it.
    if name in ("distributed", "DistributedSampler"):
        import importlib
        module = importlib.import_module(f"{__name__}.distributed")
        return module if name == "distributed" else module.DistributedSampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
