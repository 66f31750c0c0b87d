"""ember.Generator is torch's CPU generator: seeding, the 5056-byte state (handed both ways
between torch and ember), fork_rng, errors (TRAPS.md #31)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _same_bytes(a, b) -> bool:
    a, b = np.ascontiguousarray(a.numpy()), np.ascontiguousarray(b.numpy())
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1, 2**32 + 7, 2**63 - 1, 2**64 - 1, -1, -(2**63)])
def test_manual_seed_gives_torchs_state_bytes(seed):
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    assert _same_bytes(torch.get_rng_state(), ember.get_rng_state())
    assert torch.initial_seed() == ember.initial_seed()


def test_fresh_generator_state_and_initial_seed_are_torchs():
    t, e = torch.Generator(), ember.Generator()
    assert e.initial_seed() == t.initial_seed() == 67280421310721
    assert _same_bytes(t.get_state(), e.get_state())


def test_trap31_low_32_bits_seed_the_engine_all_64_are_kept():
    """mt19937 is seeded with the seed's low 32 bits; initial_seed keeps all 64."""
    a, b = ember.Generator().manual_seed(5), ember.Generator().manual_seed(5 + 2**32)
    assert ember.rand(4, generator=a).tolist() == ember.rand(4, generator=b).tolist()
    assert b.initial_seed() == 5 + 2**32


def test_state_saved_by_torch_restores_in_ember_mid_stream():
    torch.manual_seed(11)
    torch.rand(700)                       # past one twist of the 624 words
    torch.randn(3, dtype=torch.float64)   # leaves a cached second normal in the state
    state = torch.get_rng_state()
    ember.set_rng_state(ember.tensor(state.numpy()))
    assert _same_bytes(ember.get_rng_state(), state)
    for lib in (torch, ember):            # the cache is used first, then the stream goes on
        lib.x = lib.randn(5, dtype=lib.float64)
        lib.y = lib.rand(20)
    assert _same_bytes(torch.x, ember.x) and _same_bytes(torch.y, ember.y)


def test_state_saved_by_ember_restores_in_torch():
    g = ember.Generator().manual_seed(3)
    ember.randn(1, generator=g)           # cached normal again
    ember.randint(0, 10, (1000,), generator=g)
    t = torch.Generator()
    t.set_state(torch.from_numpy(g.get_state().numpy()))
    assert _same_bytes(t.get_state(), g.get_state())
    assert _same_bytes(torch.randn(7, generator=t), ember.randn(7, generator=g))


def test_generators_are_independent_of_the_default_one():
    g = ember.Generator().manual_seed(9)
    ember.manual_seed(9)
    first = ember.rand(3, generator=g)
    ember.rand(100)                       # the default generator moves, g does not
    t = torch.Generator().manual_seed(9)
    torch.rand(3, generator=t)
    assert _same_bytes(first, torch.rand(3, generator=torch.Generator().manual_seed(9)))
    assert _same_bytes(ember.rand(3, generator=g), torch.rand(3, generator=t))


def test_seed_reseeds_with_the_returned_value():
    g = ember.Generator()
    s = g.seed()
    assert 0 <= s < 2**64 and g.initial_seed() == s
    assert _same_bytes(ember.rand(3, generator=g),
                       ember.rand(3, generator=ember.Generator().manual_seed(s)))


def test_fork_rng_restores_the_default_state():
    ember.manual_seed(2)
    before = ember.get_rng_state()
    with ember.random.fork_rng():
        ember.randn(50)
    assert _same_bytes(before, ember.get_rng_state())
    with ember.random.fork_rng(enabled=False):
        ember.randn(50)
    assert not _same_bytes(before, ember.get_rng_state())


def test_generator_state_errors_as_torch():
    g = ember.Generator()
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056 but "
                                           "found the input RNG state size to be 10"):
        g.set_state(ember.zeros(10, dtype=ember.uint8))
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(ember.zeros(5056))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        g.set_state(ember.zeros(5056, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="Overflow when unpacking long"):
        g.manual_seed(2**64)


def test_numpy_view_continues_the_same_engine():
    """Generator.numpy hands the mt19937 words to NumPy's MT19937 (same algorithm) and back."""
    a, b = ember.Generator().manual_seed(4), ember.Generator().manual_seed(4)
    ember.rand(10, generator=a)
    ember.rand(10, generator=b)
    words = a.numpy.integers(0, 2**32, size=700, dtype=np.uint64)   # one 32-bit word each
    from ember._ops import random as R
    assert words.tolist() == R.random32(b, 700).tolist()
    assert _same_bytes(a.get_state(), b.get_state())
