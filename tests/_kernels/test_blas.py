"""ember._kernels.blas: tiled products on numba's pool, each tile one single-threaded OpenBLAS
call - against np.matmul, with the fallback (no usable BLAS found) forced, and the promise that
the user's BLAS thread setting is never touched."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember._kernels import blas, conv


def _operand(rng, shape, dtype, transposed):
    """An array of ``shape``, stored transposed (a view of a transposed copy) when asked."""
    a = rng.standard_normal(shape).astype(dtype)
    return np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2) if transposed else a


@settings(max_examples=40, deadline=None)
@given(g=st.integers(0, 3), m=st.integers(1, 150), k=st.integers(1, 600), n=st.integers(1, 150),
       ta=st.booleans(), tb=st.booleans(), acc=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_matmul_matches_numpy(g, m, k, n, ta, tb, acc, dtype):
    rng = np.random.default_rng(m * 1000 + k)
    batch = (g,) if g else ()
    a = _operand(rng, batch + (m, k), dtype, ta)
    b = _operand(rng, batch + (k, n), dtype, tb)
    out = rng.standard_normal(batch + (m, n)).astype(dtype)
    expected = out + a @ b if acc else a @ b
    got = blas.matmul(a, b, out, accumulate=acc)
    assert got is out and got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.sqrt(k))


def test_a_shared_operand_and_a_strided_output():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((70, 400))
    x = rng.standard_normal((3, 400, 70))
    big = np.zeros((3, 70, 100))
    assert 70 * 70 * 400 > blas.TILE_MACS       # tiled, not one np.matmul
    blas.matmul(w, x, big[:, :, 10:80])      # rows of the output 100 apart
    np.testing.assert_allclose(big[:, :, 10:80], w @ x, rtol=1e-12, atol=1e-12)
    assert not big[:, :, :10].any() and not big[:, :, 80:].any()


def test_tiles_stay_single_threaded_in_openblas():
    """Every call OpenBLAS sees is under its single-thread threshold (65536 * 4 = TILE_MACS)."""
    for m, n, k in [(64, 3136, 576), (6, 50176, 75), (1, 1, 10 ** 6), (500, 700, 1),
                    (64, 120, 400), (1, 4096, 4096), (64, 4, 1000), (2, 3, 10 ** 6)]:
        for dot in (False, True):
            tm, tn, tk = blas._tiles(m, n, k, dot)
            assert tm * tn * tk <= blas.TILE_MACS
            assert 1 <= tm <= m and 1 <= tn <= n and 1 <= tk <= k


def test_dot_tiles_fit_openblas_small_kernel():
    """a @ b.T tiles: c blocks OpenBLAS's small-matrix kernel takes (<= 1200 elements), K whole
    where it fits the budget, else even steps of at least 32."""
    assert blas._tiles(64, 120, 400, dot=True) == (32, 16, 400)
    assert blas._tiles(1, 4096, 4096, dot=True) == (1, 512, 512)
    for m, n, k in [(64, 84, 120), (576, 64, 3136), (64, 4, 1000), (3, 5000, 700)]:
        tm, tn, tk = blas._tiles(m, n, k, dot=True)
        assert tm * tn <= 1200 and tk >= min(k, 32)


def test_user_blas_threads_untouched():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(1)
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info()]
    blas.matmul(rng.standard_normal((300, 300)), rng.standard_normal((300, 300)))
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == before


def test_fallback_without_a_usable_blas(monkeypatch):
    """A NumPy without an ILP64 OpenBLAS: plain np.matmul, same results, conv still works."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    args = (1, 1), (1, 1), (1, 1), 1
    expected = conv.conv_forward(x, w, *args, engine="gemm")
    monkeypatch.setattr(blas, "AVAILABLE", False)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12)
    out = np.ones((7, 3))
    np.testing.assert_allclose(blas.matmul(a, b, out, accumulate=True), 1 + a @ b, rtol=1e-12)
    np.testing.assert_allclose(conv.conv_forward(x, w, *args, engine="gemm"), expected,
                               rtol=1e-5, atol=1e-5)


def test_blas_found_in_this_numpy():
    """NumPy >= 2 wheels ship scipy-openblas64: the test environment must find it (else the
    pool design silently falls back and the benchmarks measure something else)."""
    assert blas.AVAILABLE


@pytest.mark.parametrize("a_shape,b_shape,out_shape", [
    ((64, 300), (299, 256), None), ((64, 300), (300, 256), (64, 255)), ((2, 64, 300), (300,), None)])
def test_sizes_that_do_not_fit_are_refused_before_any_memory_is_touched(a_shape, b_shape,
                                                                        out_shape):
    a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
    out = None if out_shape is None else np.empty(out_shape, np.float32)
    with pytest.raises(ValueError, match="do not fit"):
        blas.matmul(a, b, out=out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(64, 120, 400), (70, 37, 1500), (1, 700, 900), (300, 3, 1200),
                                   (500, 500, 33)])
@pytest.mark.parametrize("acc", [False, True])
def test_a_times_b_transposed_in_dot_tiles(m, n, k, acc, dtype):
    """x @ W.T (Linear's forward): the dot tiles, partial tiles at both edges and K in steps."""
    rng = np.random.default_rng(m + n + k)
    x, w = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype)
    out = rng.standard_normal((m, n)).astype(dtype)
    expected = out + x @ w.T if acc else x @ w.T
    assert m * n * k > blas.TILE_MACS
    blas.matmul(x, w.T, out, accumulate=acc)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(k))


def test_operands_stay_writeable():
    """The kernel gets read-only views; the caller's arrays keep their flags."""
    rng = np.random.default_rng(5)
    batch_t = rng.standard_normal((2, 70, 400)).swapaxes(1, 2)
    for a, b in [(rng.standard_normal((70, 400)), rng.standard_normal((400, 70))),
                 (rng.standard_normal((2, 70, 400)), batch_t)]:
        blas.matmul(a, b)
        assert a.flags.writeable and b.flags.writeable
