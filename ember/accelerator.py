"""ember.accelerator: torch.accelerator's answers - ember has no accelerator, only the CPU."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator (torch's answer on a CPU-only machine)."""
    return None
