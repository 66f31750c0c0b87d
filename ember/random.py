"""Random number generation: torch's CPU generator, bit for bit.

``ember.Generator`` is at::CPUGeneratorImpl: an mt19937 engine seeded with the standard 32-bit
initialisation of the seed's low 32 bits, plus the cached second samples of Box-Muller (one for
double, one for float). Every random operation in ember (creation, in-place fills, init,
dropout, RReLU, samplers) draws from a ``generator=`` argument or from ``default_generator``,
in the order torch draws, with ATen's transformations (ember/_kernels/random.py), so
``ember.manual_seed(s)`` followed by the same calls gives torch's numbers.

``get_state()`` is torch's 5056-byte layout (CPUGeneratorImplState in
aten/src/ATen/CPUGeneratorImpl.cpp), so a state saved by torch restores here and the reverse.
See docs/reproducibility.md for what matches and what cannot.
"""
from __future__ import annotations

import contextlib
import secrets

import numpy as np

from ._ops import random as _draw

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "fork_rng"]

DEFAULT_SEED = 67280421310721  # a fresh torch.Generator()'s initial_seed()

# CPUGeneratorImplState (x86-64 layout, little endian), field -> byte offset
_STATE_SIZE = 5056
_SEED, _LEFT, _SEEDED, _NEXT, _WORDS = 0, 8, 12, 16, 24
_NORMAL_Y, _NORMAL_VALID = 5024, 5040
_FLOAT_NORMAL, _FLOAT_NORMAL_VALID = 5048, 5052


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < 1 << 64:
        raise ValueError("Overflow when unpacking long long")
    return seed & 0xFFFF_FFFF_FFFF_FFFF


class Generator:
    """torch.Generator for the CPU: ``manual_seed``, ``seed``, ``initial_seed``,
    ``get_state``/``set_state`` (torch's byte layout), passed as ``generator=``."""

    def __init__(self, device="cpu"):
        from ._device import device as _device
        self.device = _device(device) if not isinstance(device, _device) else device
        if self.device.type != "cpu":
            from ._device import _check_device
            _check_device(self.device)
        self._mt = np.empty(624, dtype=np.uint32)   # the engine's words
        self._ctl = np.zeros(2, dtype=np.int64)     # left, next
        self._normal = np.zeros(2)                  # cached double normal: valid, value
        self._normal_f32 = np.zeros(2, dtype=np.float32)   # cached float normal: valid, value
        self._seed = 0
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed) -> "Generator":
        self._seed = _check_seed(seed)
        _draw.seed_engine(self, self._seed)
        self._normal[:] = 0.0
        self._normal_f32[:] = 0.0
        return self

    def seed(self) -> int:
        """Reseed from the OS's entropy (as torch's getNonDeterministicRandom) and return it."""
        seed = secrets.randbits(64)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor of 5056 bytes, torch's CPUGeneratorImplState."""
        from ._tensor import Tensor

        raw = np.zeros(_STATE_SIZE, dtype=np.uint8)
        raw[_SEED:_SEED + 8] = np.array([self._seed], "<u8").view(np.uint8)
        raw[_LEFT:_LEFT + 8] = np.array([self._ctl[0], 1], "<i4").view(np.uint8)
        raw[_NEXT:_NEXT + 8] = np.array([self._ctl[1]], "<u8").view(np.uint8)
        raw[_WORDS:_WORDS + 8 * 624] = self._mt.astype("<u8").view(np.uint8)
        if self._normal[0]:
            raw[_NORMAL_Y:_NORMAL_Y + 8] = np.array([self._normal[1]], "<f8").view(np.uint8)
            raw[_NORMAL_VALID:_NORMAL_VALID + 4] = np.array([1], "<i4").view(np.uint8)
        if self._normal_f32[0]:
            raw[_FLOAT_NORMAL:_FLOAT_NORMAL + 4] = np.array([self._normal_f32[1]], "<f4").view(np.uint8)
            raw[_FLOAT_NORMAL_VALID] = 1
        return Tensor._wrap(raw)

    def set_state(self, new_state) -> "Generator":
        from ._tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = np.ascontiguousarray(new_state._data).reshape(-1)
        if raw.size != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but found "
                               f"the input RNG state size to be {raw.size}")
        left, seeded = raw[_LEFT:_LEFT + 8].view("<i4")
        nxt = int(raw[_NEXT:_NEXT + 8].view("<u8")[0]) & 0xFFFF_FFFF   # torch keeps 32 bits
        # at::mt19937::is_valid: seeded, 0 < left <= 624, next <= 624
        if (seeded & 0xFF) == 0 or not 0 < left <= 624 or nxt > 624:
            raise RuntimeError("Invalid mt19937 state")
        self._seed = int(raw[_SEED:_SEED + 8].view("<u8")[0])
        self._mt[:] = raw[_WORDS:_WORDS + 8 * 624].view("<u8").astype(np.uint32)
        self._ctl[:] = (left, nxt)
        valid = raw[_NORMAL_VALID:_NORMAL_VALID + 4].view("<i4")[0]
        self._normal[:] = (1.0, raw[_NORMAL_Y:_NORMAL_Y + 8].view("<f8")[0]) if valid else 0.0
        fvalid = raw[_FLOAT_NORMAL_VALID]
        self._normal_f32[:] = (1.0, raw[_FLOAT_NORMAL:_FLOAT_NORMAL + 4].view("<f4")[0]) \
            if fvalid else 0.0
        return self

    def clone_state(self) -> "Generator":
        twin = Generator.__new__(Generator)
        twin.device, twin._seed = self.device, self._seed
        twin._mt, twin._ctl = self._mt.copy(), self._ctl.copy()
        twin._normal, twin._normal_f32 = self._normal.copy(), self._normal_f32.copy()
        return twin

    @property
    def numpy(self) -> "_NumpyView":
        """A NumPy ``Generator`` interface drawing from this generator's mt19937 stream (same
        words, NumPy's transformations, not torch's): for code that needs NumPy's API."""
        return _NumpyView(self)

    def __repr__(self):
        return f"<ember.Generator object at {hex(id(self))}>"


class _NumpyView:
    """np.random.Generator methods over the ember generator's engine: the words are handed to
    NumPy's MT19937 (same algorithm; its ``pos`` is 625 - ``left``) and handed back after."""

    def __init__(self, gen: Generator):
        self._gen = gen

    def __getattr__(self, name):
        method = getattr(np.random.Generator, name)

        def call(*args, **kwargs):
            bits = np.random.MT19937()
            bits.state = {"bit_generator": "MT19937",
                          "state": {"key": self._gen._mt.copy(), "pos": int(625 - self._gen._ctl[0])}}
            out = method(np.random.Generator(bits), *args, **kwargs)
            state = bits.state["state"]
            self._gen._mt[:] = state["key"]
            pos = int(state["pos"])
            self._gen._ctl[:] = (625 - pos, pos)
            return out
        return call


default_generator = Generator()


def resolve(generator=None) -> Generator:
    """The generator a draw uses: ``generator`` or the default one."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be an ember.Generator, not {type(generator).__name__}")
    return generator


def manual_seed(seed) -> Generator:
    """Seed the default generator (torch.manual_seed: any int, Python's int() of the rest)."""
    return default_generator.manual_seed(_check_seed(int(seed)))


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Restore the default generator's state on exit (torch.random.fork_rng; only the CPU
    exists here, so ``devices`` has nothing else to fork)."""
    if not enabled or device_type == "meta":
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)



def numpy_generator(generator=None) -> _NumpyView:
    """NumPy's API over an ember generator's mt19937 words (NumPy's transformations, not
    torch's: for draws torch has no counterpart of)."""
    return resolve(generator).numpy
