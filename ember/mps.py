"""ember.mps: torch.mps's answers on a machine without Apple's Metal GPU (ember: CPU only)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """A no-op without an MPS device, as torch's."""


def seed() -> None:
    """A no-op without an MPS device, as torch's."""


def empty_cache() -> None:
    """Nothing is cached without an MPS device."""
