"""The shift engine of ember/_kernels/conv_shift.py (unit-stride convolutions as shifted products
of one padded copy), forced with ``engine="shift"``: its three faces against torch (values and
the gradients in x and w, float32 and float64), against the NumPy reference on generated
problems and chunkings, through the transposed layers, and the rule that picks it."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings

from ember._kernels import conv as K
from ember._kernels import conv_shift as S
from tests._kernels.test_conv_kernels import (_args, _arrays, _faces, _reference_faces,
                                              conv_problems)
from tests.helpers import assert_close, check_against_torch

TORCH_CONV = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
              3: torch.nn.functional.conv3d}


def _torch_faces(x, w, g, padding, dilation, groups):
    """torch's output, and its gradients in x and w for the upstream gradient g; the (lo, hi)
    padding, which torch's conv cannot take unequal, is an explicit F.pad."""
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(w), requires_grad=True)
    pads = [p for lo, hi in reversed(padding) for p in (lo, hi)]     # F.pad: last dim first
    out = TORCH_CONV[x.ndim - 2](torch.nn.functional.pad(xt, pads), wt, dilation=dilation,
                                 groups=groups)
    out.backward(torch.tensor(np.ascontiguousarray(g)))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


CASES = [  # x shape, w shape, (lo, hi) per dim, dilation, groups
    ((2, 4, 9), (6, 4, 3), ((1, 1),), (1,), 1),
    ((1, 4, 7, 8), (6, 2, 3, 3), ((0, 0), (0, 0)), (1, 1), 2),           # batch of 1, groups 2
    ((2, 3, 6, 7), (5, 3, 3, 3), ((1, 1), (1, 1)), (2, 2), 1),           # dilation 2
    ((2, 3, 7, 6), (4, 3, 3, 2), ((2, 0), (0, 1)), (1, 2), 1),           # asymmetric
    ((2, 2, 4, 5, 6), (3, 2, 3, 2, 3), ((1, 1), (0, 1), (1, 0)), (1, 1, 2), 1),
    ((1, 2, 5, 6), (2, 2, 1, 2), ((3, 0), (0, 2)), (1, 1), 1),           # padding past kernel
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_three_faces_match_torch(case, dtype):
    x_shape, w_shape, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    stride = (1,) * (x.ndim - 2)
    args = (stride, padding, dilation, groups)
    q = K.conv_output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    g = rng.standard_normal((x.shape[0], w.shape[0], *q)).astype(dtype)
    out, gx, gw = _torch_faces(x, w, g, padding, dilation, groups)
    assert_close(K.conv_forward(x, w, *args, engine="shift"), out, dtype, what="forward")
    assert_close(K.conv_input_grad(g, w, x.shape, *args, engine="shift"), gx, dtype,
                 what="input gradient")
    assert_close(K.conv_weight_grad(x, g, w.shape, *args, engine="shift"), gw, dtype,
                 what="weight gradient")


def test_non_contiguous_operands():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 4, 6)).transpose(0, 2, 3, 1)[:, :, :, ::-1]  # (3, 4, 6, 7)
    w = rng.standard_normal((5, 3, 4, 2)).transpose(0, 2, 1, 3)                  # (5, 4, 3, 2)
    args = ((1, 1), ((2, 1), (1, 1)), (1, 2), 1)
    q = K.conv_output_shape(x.shape[2:], w.shape[2:], *args[:3])                # (6, 7)
    g = rng.standard_normal((3, q[0], 5, q[1])).transpose(0, 2, 1, 3)
    out, gx, gw = _torch_faces(x, w, g, *args[1:])
    assert_close(K.conv_forward(x, w, *args, engine="shift"), out)
    assert_close(K.conv_input_grad(g, w, x.shape, *args, engine="shift"), gx)
    assert_close(K.conv_weight_grad(x, g, w.shape, *args, engine="shift"), gw)


@pytest.mark.parametrize("budget", [None, 300, 3000])
@settings(max_examples=20, deadline=None)
@given(p=conv_problems())
def test_matches_reference_in_every_chunking(budget, p):
    """Generated unit-stride problems, in one chunk, blocks of rows of one image (300 bytes:
    a row or two; 3D blocks then start and end inside a plane) and a few images a chunk."""
    p = dict(p, stride=(1,) * len(p["stride"]))
    x, w, g = _arrays(p)
    args = _args(p)
    with pytest.MonkeyPatch.context() as mp:
        if budget:
            mp.setattr(S, "SHIFT_CHUNK_BYTES", budget)
        got = _faces(x, w, g, args, "shift")
    for a, b in zip(got, _reference_faces(x, w, g, args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-11)


def test_numpy_products_match_blas(monkeypatch):
    """Without NumPy's OpenBLAS the products are np.matmul calls: same result."""
    p = dict(x_shape=(2, 4, 5, 6), w_shape=(4, 2, 3, 2), stride=(1, 1),
             padding=((1, 0), (1, 2)), dilation=(2, 1), groups=2)
    x, w, g = _arrays(p)
    args = _args(p)
    blas = _faces(x, w, g, args, "shift")
    monkeypatch.setattr(S, "AVAILABLE", False)
    for a, b in zip(_faces(x, w, g, args, "shift"), blas):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layers_through_autograd(monkeypatch, dtype):
    """With the rule forced on, F.conv2d (with bias) and F.conv_transpose2d (whose forward is
    the input-gradient face; dilation 2 with output_padding 1 makes its output one element
    longer than the convolution's size formula gives back) match torch, every gradient."""
    monkeypatch.setattr(K, "shift_pays", lambda *a: True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 7, 8))
    w = rng.standard_normal((6, 5, 3, 3))
    b = rng.standard_normal(5)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w.transpose(0, 1), b,
                                                                      padding=(1, 2)),
                        [x, w, b], dtype)
    check_against_torch(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, padding=1, output_padding=1, dilation=2), [x, w, b], dtype)


def test_refuses_strides():
    x = np.zeros((1, 2, 5, 5))
    w = np.zeros((2, 2, 3, 3))
    with pytest.raises(ValueError, match="unit strides"):
        K.conv_forward(x, w, (1, 2), (0, 0), (1, 1), 1, engine="shift")


def test_rule():
    one = (1, 1, 1)
    assert S.shift_pays(one, (1, 3, 3), one, (1, 56, 56), 64, 64)            # ResNet block
    assert S.shift_pays(one, (1, 1, 3), one, (1, 1, 1024), 64, 64)           # Conv1d
    assert S.shift_pays(one, (3, 3, 3), one, (32, 32, 32), 16, 16)           # Conv3d
    assert not S.shift_pays(one, (1, 3, 3), one, (1, 7, 7), 512, 512)        # waste 1.65
    assert not S.shift_pays(one, (1, 3, 3), one, (1, 64, 64), 3, 64)         # VGG's first
    assert not S.shift_pays((1, 2, 2), (1, 3, 3), one, (1, 28, 28), 64, 64)  # strided
    assert not S.shift_pays(one, (1, 1, 1), one, (1, 56, 56), 64, 64)        # 1x1


@pytest.mark.parametrize("size, used", [(24, True), (12, False)])
def test_dispatch_follows_the_rule(monkeypatch, size, used):
    """No engine asked: a 16 -> 16 3x3 layer takes the shift engine on 24x24 outputs (waste
    1.17), im2col on 12x12 (1.36)."""
    calls = []
    monkeypatch.setattr(K, "shift_forward", lambda *a: calls.append(a) or S.shift_forward(*a))
    x = np.ones((1, 16, size, size))
    w = np.ones((16, 16, 3, 3))
    np.testing.assert_allclose(K.conv_forward(x, w, (1, 1), (1, 1), (1, 1), 1),
                               K.conv_forward(x, w, (1, 1), (1, 1), (1, 1), 1, engine="gemm"))
    assert bool(calls) == used


@pytest.mark.parametrize("n_images, threads, expected", [(32, 2, 64), (1, 2, 14), (1, 16, 56)])
def test_chunks_cover_every_output_row_once(n_images, threads, expected):
    """ResNet's 56x56 planes (period 57, 64 + 64 channels of float32): 1 MiB chunks of 28 rows
    on a batch of 32; a single image is cut finer, into at least 4 chunks per thread."""
    periods, out = (1, 57, 57), (1, 56, 56)
    chunks = list(S._chunks(n_images, periods, out, 2 * 57 + 2, 128 * 4, threads))
    assert len(chunks) == expected
    covered = sorted((n, r) for n0, n1, r0, r1, _ in chunks for n in range(n0, n1)
                     for r in range(r0, r1))
    assert covered == [(n, r) for n in range(n_images) for r in range(56)]
    for n0, n1, r0, r1, rows in chunks:    # the buffer holds every row the last taps read
        assert rows * 57 >= S._span(n1 - n0, r0, r1, periods, 56) + 2 * 57 + 2
