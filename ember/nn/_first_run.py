"""The kernels of ``ember demo``, compiled on two cores on its first run.

The demo (ember/demo.py) trains a small float32 CNN (Conv2d, ReLU, MaxPool2d, Linear, Adam) on
one thread. On a fresh install its first run compiles a dozen numba kernels, ~11 s of CPU on
a loaded machine, one after the other in one process; :func:`compile_demo_kernels` compiles
them before training instead, the two direct-convolution kernels (about half of it) in a
helper process while this one compiles the rest (ember/_kernels/_precompile.py says how, and
why the two lists must not share a function). Every later run finds them in numba's cache.

The lists live here, in a layer that may name kernels; the demo only calls this.
"""
from __future__ import annotations

from .._kernels import _precompile


def demo_kernel_jobs():
    """The numba kernels a run of the demo calls, as ``(dispatcher, signature)`` jobs, in two
    lists of about equal compile time: this process's, and the helper's (the two direct
    convolution kernels, ~5.4 of ~11 s of CPU under load, while this process, which has
    imported ember already, compiles the rest).

    float32, one thread: the serial twins. The signatures are the types the demo's calls give
    (``numba.typeof`` of their arguments); tests/nn/test_first_run.py checks that a run of the
    demo calls exactly these kernels, so a kernel whose arguments change fails there instead of
    compiling twice here."""
    from numba import types

    from .._kernels import activation, blas, conv, pool, random

    def arr(ndim, dtype=types.float32, layout="C", readonly=False):
        return types.Array(dtype, ndim, layout, readonly=readonly)

    i64, flag, f32 = types.int64, types.boolean, types.float32
    triple = types.UniTuple(i64, 3)
    ints1, ints2, words = arr(1, i64), arr(2, i64), arr(1, types.uint32)
    windows = (i64,) * 8 + (triple,) * 3
    gemm = (i64, arr(3, readonly=True), arr(3, readonly=True))
    gemm_options = (triple, flag, flag, i64, i64, i64, flag)
    here = [
        (random.fill_random32, (words, ints1, words)),               # the initial weights
        (random._uniform_f32_from, (words, arr(1), f32, f32, flag)),
        (random._randperm_small, (words, ints1)),                    # the loader's shuffle
        (conv._im2col.serial, (arr(5), arr(3)) + windows),
        (conv._col2im.serial, (arr(3), arr(5)) + windows),
        (conv._transpose_add.serial, (arr(2), arr(2), arr(1), i64)),
        (blas._tiled_gemm.serial, gemm + (arr(3),) + gemm_options),
        (blas._tiled_gemm.serial, gemm + (arr(3, layout="A"),) + gemm_options),
        (activation.relu_forward.serial, (arr(1), arr(1))),
        (activation.relu_backward.serial, (arr(1), arr(1), arr(1))),
        (pool._max_windows.serial, (arr(2), ints1) + (ints2,) * 6 + (ints1, arr(2), ints2)),
        (pool._scatter_add.serial, (arr(2), ints2, arr(2))),
    ]
    helper = [
        (conv._direct_forward.serial, (arr(5), arr(5), arr(5), i64) + (triple,) * 3 + (i64,)),
        (conv._direct_weight_grad_partial.serial, (arr(5), arr(5), arr(7), i64) + (triple,) * 3),
    ]
    return here, helper


HELPER_COMMAND = ["-c", "from ember.nn._first_run import serve_helper; serve_helper()"]


def compile_demo_kernels() -> str:
    """Compile (first run) or find in the cache the demo's kernels, on two cores where a second
    process can start; returns what happened (see ``_precompile.compile_ahead``), or
    ``"stale"`` where a kernel of the lists is gone (renamed: tests/nn/test_first_run.py fails
    then, while the demo still runs, compiling as it goes)."""
    try:
        here, helper = demo_kernel_jobs()
    except AttributeError:
        return "stale"
    return _precompile.compile_ahead(here, helper, HELPER_COMMAND)


def serve_helper() -> None:
    """What the helper process started by :func:`compile_demo_kernels` runs."""
    _precompile.serve(demo_kernel_jobs()[1])
