"""Sizes the explain tools refuse to make: memory estimated before anything is allocated.

The tools draw small examples for people; a typo (``--input 300,300`` for the conv matrix,
``100000,100000`` for an animation) would otherwise ask for tens of GiB or days of frames.
Each tool estimates its peak memory (and the animations their frame count) from the sizes
alone, and :func:`check_memory` refuses an estimate above the limit, saying how large it is.
"""
from __future__ import annotations

__all__ = ["MemoryLimitError", "MissingExtraError", "DEFAULT_MAX_BYTES", "GiB", "check_memory",
           "format_gib"]

GiB = 1024 ** 3
DEFAULT_MAX_BYTES = 2 * GiB


class MemoryLimitError(ValueError):
    """An estimate above the limit: ``what`` would take ``estimate`` bytes (limit ``limit``)."""

    def __init__(self, what: str, estimate: int, limit: int):
        self.what, self.estimate, self.limit = what, int(estimate), int(limit)
        super().__init__(f"{what} would take {format_gib(estimate)} GiB "
                         f"(limit {format_gib(limit)} GiB)")


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the pip extra to install."""


def format_gib(nbytes) -> str:
    """Bytes as GiB for people: 64424509440 -> '60.0', 2 GiB -> '2', tiny limits keep digits."""
    gib = nbytes / GiB
    if gib >= 10:
        return f"{gib:.1f}"
    return f"{gib:.3g}"


def check_memory(what: str, estimate: int, limit: int | None = DEFAULT_MAX_BYTES) -> None:
    """Raise :class:`MemoryLimitError` when ``estimate`` bytes exceed ``limit`` (None: none)."""
    if limit is not None and estimate > limit:
        raise MemoryLimitError(what, estimate, limit)
