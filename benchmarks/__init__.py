"""ember vs torch benchmarks: ``python -m benchmarks [name substrings] [--rounds R] [--markdown]``.

Cases live in ``benchmarks/bench_<family>.py`` (see ``benchmarks/harness.py`` and
docs/internals.md); figures and the commands that produced them are in docs/benchmarks.md.
"""
from .harness import array, case, forward_backward, numpy_rng, randn  # noqa: F401

__all__ = ["array", "case", "forward_backward", "numpy_rng", "randn"]
