"""ember.cuda: torch.cuda's answers on a machine without a GPU (ember computes on the CPU only).

Queries say so (``is_available()`` is False, ``device_count()`` is 0), seeding and cache calls do
nothing (as torch's do without a GPU), and what would need a GPU raises torch's
"not compiled with CUDA enabled" AssertionError.
"""
from __future__ import annotations

from ._device import NO_CUDA_MESSAGE, NoCudaError


def _no_cuda(*args, **kwargs):
    raise NoCudaError(NO_CUDA_MESSAGE)


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed) -> None:
    """A no-op without a GPU, as torch's (the CPU generator is ember.manual_seed)."""


def manual_seed_all(seed) -> None:
    """A no-op without a GPU, as torch's."""


def seed() -> None:
    """A no-op without a GPU, as torch's."""


def seed_all() -> None:
    """A no-op without a GPU, as torch's."""


def empty_cache() -> None:
    """Nothing is cached without a GPU."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Nothing to reset without a GPU."""


# what needs a GPU raises, as torch built without CUDA
current_device = synchronize = get_device_name = get_device_properties = get_device_capability = \
    set_device = init = _no_cuda
