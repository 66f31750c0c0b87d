"""ember.onnx.export for the ops added after the first exporter: max pooling's indices and
max-unpooling, EmbeddingBag, adaptive pools with unequal bins, avg_pool's divisor_override,
several index arrays, cumprod/logcumsumexp/cummax. Each is run in onnxruntime on values other
than the traced ones (a frozen constant would fail) and compared with ember to 1e-5."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from .test_export import Fn, check, export_bytes, x

pytest.importorskip("onnxruntime")

DYNAMIC = dict(input_names=["a"], dynamic_axes={"a": {0: "batch"}})


# ------------------------------------------------------------------------------- max pool indices
@pytest.mark.parametrize("n,kw", [
    (1, dict(kernel_size=2)), (2, dict(kernel_size=2)),
    (2, dict(kernel_size=3, stride=2, padding=1)), (2, dict(kernel_size=2, dilation=2)),
    (2, dict(kernel_size=3, stride=2, ceil_mode=True)), (3, dict(kernel_size=2))])
def test_max_pool_indices(n, kw):
    pool = getattr(F, f"max_pool{n}d")
    model = Fn(lambda a: pool(a, return_indices=True, **kw))
    check(model, x(1, 2, *[7] * n), run_args=[x(3, 2, *[7] * n, seed=1)], **DYNAMIC)


def test_max_pool_indices_unbatched():
    check(Fn(lambda a: F.max_pool2d(a, 2, return_indices=True)), x(3, 6, 6))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_then_unpool(n):
    pool = getattr(nn, f"MaxPool{n}d")(2, return_indices=True)
    unpool = getattr(nn, f"MaxUnpool{n}d")(2)
    model = Fn(lambda a: unpool(*pool(a)), pool, unpool)
    check(model, x(1, 2, *[6] * n), run_args=[x(3, 2, *[6] * n, seed=1)], **DYNAMIC)


def test_unpool_output_size_and_unbatched():
    def f(a):
        y, i = F.max_pool2d(a, 3, stride=2, return_indices=True)
        return F.max_unpool2d(y, i, 3, stride=2, output_size=a.shape[-2:])
    check(Fn(f), x(2, 8, 7))
    check(Fn(f), x(1, 2, 8, 7))
