"""Every sampler draws torch's numbers bit for bit after the same seed: sizes 1-100 and 10^5
(both sides of normal's 16-element threshold and of the 624-word twist), float32 and float64,
interleaved call sequences, and the generator state after each call (TRAPS.md #31-#33)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _same_bytes(a, b) -> bool:
    a, b = np.ascontiguousarray(a.numpy()), np.ascontiguousarray(b.numpy())
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _both(seed, draw):
    """draw(lib) after manual_seed(seed) in torch and ember; the results and the states after."""
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    t, e = draw(torch), draw(ember)
    return t, e, _same_bytes(torch.get_rng_state(), ember.get_rng_state())


def _assert_same(seed, draw):
    t, e, same_state = _both(seed, draw)
    if isinstance(t, (list, tuple)):
        assert all(_same_bytes(a, b) for a, b in zip(t, e)), (t, e)
    else:
        assert _same_bytes(t, e), (t, e)
    assert same_state


SIZES = list(range(1, 101))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("fn", ["rand", "randn"])
def test_rand_randn_every_size_1_to_100(fn, dtype):
    """One call per size in sequence: each size's path and every state after it."""
    _assert_same(7, lambda L: [getattr(L, fn)(n, dtype=getattr(L, dtype)) for n in SIZES])


@pytest.mark.parametrize("n", [100_000, 99_999])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trap32_large_normals_and_uniforms(n, dtype):
    """10^5 crosses many twists; float32 normals go through the replicated AVX2 log/sincos."""
    _assert_same(3, lambda L: [L.randn(n, dtype=getattr(L, dtype)),
                               L.empty(n, dtype=getattr(L, dtype)).normal_(-1.5, 0.25),
                               L.rand(n, dtype=getattr(L, dtype))])


@pytest.mark.parametrize("seed", [0, 1, 2**40 + 3])
def test_interleaved_sequence(seed):
    def draw(L):
        return [L.randn(3), L.rand(17, dtype=L.float64), L.randn(1, dtype=L.float64),
                L.randint(0, 7, (5,)), L.randn(33), L.randperm(40), L.randn(2, 2),
                L.randint(-3, 2**40, (4,)), L.rand(2, 3).t().contiguous(), L.randn(16)]
    _assert_same(seed, draw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_place_fills(dtype):
    def draw(L):
        dt = getattr(L, dtype)
        return [L.empty(5, 7, dtype=dt).uniform_(-2.5, 3.5),
                L.empty(40, dtype=dt).normal_(0.5, 3.0),
                L.empty(9, dtype=dt).normal_(0.5, 3.0),
                L.empty(6, 4, dtype=dt).t().normal_(1.0, 2.0),     # strided: element-wise path
                L.empty(4, 6, dtype=dt).t().uniform_(),            # filled in memory order
                L.empty(30, dtype=dt).exponential_(1.7),
                L.empty(30, dtype=dt).geometric_(0.3),
                L.empty(30, dtype=dt).cauchy_(0.5, 2.0),
                L.empty(30, dtype=dt).log_normal_(0.5, 0.7),
                L.empty(30, dtype=dt).bernoulli_(0.3),
                L.empty(30, dtype=dt).random_(),
                L.empty(30, dtype=dt).random_(100),
                L.empty(30, dtype=dt).random_(-5, 2**20)]
    _assert_same(5, draw)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"])
def test_random_and_randint_integer_dtypes(dtype):
    def draw(L):
        dt = getattr(L, dtype)
        lo, hi = (0, 2) if dtype == "bool" else (0, 100)
        return [L.empty(50, dtype=dt).random_(), L.randint(lo, hi, (50,), dtype=dt),
                L.empty(50, dtype=dt).bernoulli_(0.5)]
    _assert_same(8, draw)


def test_float_random_bounds_move_inward_and_warn_as_torch():
    """update_from/update_to: float32 cannot hold 2^35 - 1, so ``to`` moves left by 2^11."""
    def draw(L):
        with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]"):
            a = L.empty(30).random_(-5, 2**35)
        with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^11\), 2\^11\]"):
            return [a, L.empty(30, dtype=L.float16).random_(0, 65504)]
    _assert_same(14, draw)


def test_randint_ranges_from_2_28_use_64_bit_draws():
    _assert_same(2, lambda L: [L.randint(0, 2**28 - 1, (20,)), L.randint(0, 2**28, (20,)),
                               L.randint(0, 2**32 - 1, (20,)), L.randint(0, 2**32, (20,)),
                               L.randint(-(2**62), 2**62, (20,)),
                               L.randint(0, 2**33, (20,), dtype=L.float64)])


@pytest.mark.parametrize("n", [0, 1, 2, 10, 100, 1000, 100_000])
def test_randperm(n):
    _assert_same(4, lambda L: L.randperm(n))


def test_bernoulli_scalar_and_tensor_p():
    def draw(L):
        p32 = L.tensor([[0.1, 0.5, 0.9, 0.0, 1.0]] * 4)
        return [L.bernoulli(p32), L.bernoulli(p32.double()), L.bernoulli(L.zeros(3, 3), 0.25),
                L.empty(4, 5).bernoulli_(p32), L.empty(4, 5, dtype=L.bool).bernoulli_(0.7)]
    _assert_same(6, draw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multinomial(dtype):
    def draw(L):
        p = L.tensor([[0.1, 0.2, 0.0, 0.4, 0.3], [5.0, 1.0, 1.0, 0.0, 3.0]], dtype=getattr(L, dtype))
        return [L.multinomial(p, 3), L.multinomial(p, 1), L.multinomial(p, 1, True),
                L.multinomial(p, 20, True), L.multinomial(p[0], 4)]
    _assert_same(9, draw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_tensor_forms(dtype):
    def draw(L):
        dt = getattr(L, dtype)
        m, s = L.arange(20, dtype=dt) / 3, L.arange(20, dtype=dt) / 7
        return [L.normal(m, s), L.normal(m, 2.0), L.normal(1.5, s), L.normal(m[:5], s[:5]),
                L.normal(0.5, 2.0, (3, 6), dtype=dt)]
    _assert_same(10, draw)


def test_poisson_small_and_large_rates():
    rates = [0.0, 0.3, 2.0, 9.99, 10.0, 35.0, 1e4, 0.7] * 3
    _assert_same(12, lambda L: [L.poisson(L.tensor(rates)), L.poisson(L.tensor(rates).double())])


def test_like_forms_and_generator_argument():
    def draw(L):
        g = L.Generator().manual_seed(21)
        x = L.zeros(3, 20, dtype=L.float64)
        return [L.rand_like(x), L.randn_like(x), L.randint_like(x, 9), L.randn(5, generator=g),
                L.randperm(6, generator=g), L.randint(0, 5, (3,), generator=g),
                L.empty(4).uniform_(generator=g), L.multinomial(L.ones(4), 2, generator=g),
                L.full((5,), 0.5).bernoulli(), L.ones(6).multinomial(3, generator=g)]
    _assert_same(13, draw)


def test_argument_errors_as_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"uniform_ expects to return a \[from, to\) range, "
                                               "but found from=2 > to=1"):
            lib.empty(3).uniform_(2, 1)
        with pytest.raises(NotImplementedError, match="\"check_uniform_bounds\" not implemented for 'Long'"):
            lib.empty(3, dtype=lib.int64).uniform_()
        with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
            lib.empty(3).normal_(0, -1)
        with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"):
            lib.empty(3).bernoulli_(1.5)
        with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0, but found lambda=-1"):
            lib.empty(3).exponential_(-1)
        with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\), but got p=0"):
            lib.empty(3).geometric_(0)
        with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got "
                                               "from=5 >= to=5"):
            lib.randint(5, 5, (2,))
        with pytest.raises(RuntimeError, match="to - 1 is out of bounds for int"):
            lib.empty(3, dtype=lib.int32).random_(0, 2**40)
        with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
            lib.multinomial(lib.tensor([1.0, 2.0]), 3)
        with pytest.raises(RuntimeError, match="invalid multinomial distribution"):
            lib.multinomial(lib.tensor([0.0, 0.0]), 1, True)
        with pytest.raises(RuntimeError, match="invalid Poisson rate, expected rate to be non-negative"):
            lib.poisson(lib.tensor([-1.0]))
