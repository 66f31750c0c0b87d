"""Random number generation: ``ember.Generator`` over NumPy's PCG64, and the default generator
that ``ember.manual_seed`` reseeds. Every random operation in ember (init, dropout, RReLU,
sampling, random transforms) draws from a ``generator=`` argument or from this default, so one
``manual_seed`` makes a whole run reproducible. (The streams differ from torch's: same
distributions, not the same numbers.)"""
from __future__ import annotations

import json

import numpy as np


class Generator:
    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721  # torch's default initial seed
        self.numpy = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self.numpy = np.random.Generator(np.random.PCG64(seed & 0xFFFF_FFFF_FFFF_FFFF))
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator state as a uint8 tensor (as torch's), restorable with set_state."""
        from ._tensor import Tensor

        raw = json.dumps(self.numpy.bit_generator.state).encode()
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state) -> "Generator":
        raw = bytes(np.asarray(getattr(state, "_data", state), dtype=np.uint8))
        self.numpy.bit_generator.state = json.loads(raw.decode())
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def numpy_generator(generator=None) -> np.random.Generator:
    return (generator or default_generator).numpy
