"""Random sampling (issue 20): rand, randn and randint on 10^7 elements, float32 (float64 for
randn too), drawing torch's exact numbers. Targets are ember/torch time ratios; both sides run
one mt19937 stream serially, as torch's CPU generator does."""
from benchmarks.harness import case

N = 10_000_000


@case("rand_1e7_float32", target=1.5)
def rand_f32(lib):
    """rand(10^7) float32: one 32-bit draw per element."""
    lib.manual_seed(0)
    return lambda: lib.rand(N)


@case("randn_1e7_float32", target=1.5)
def randn_f32(lib):
    """randn(10^7) float32: uniforms, then Box-Muller per 16 on the AVX2 log/sincos."""
    lib.manual_seed(0)
    return lambda: lib.randn(N)


@case("randn_1e7_float64", target=1.5)
def randn_f64(lib):
    """randn(10^7) float64: 64-bit uniforms, libm log/cos/sin per pair."""
    lib.manual_seed(0)
    return lambda: lib.randn(N, dtype=lib.float64)


@case("randint_1e7_int64", target=1.5)
def randint_i64(lib):
    """randint(0, 1000, (10^7,)) int64: one 32-bit draw and a modulo per element."""
    lib.manual_seed(0)
    return lambda: lib.randint(0, 1000, (N,))
