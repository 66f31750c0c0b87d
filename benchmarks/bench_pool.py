"""Pooling: max, average, adaptive average, 3-d max, and max-pool + max-unpool (issue 4).

Every case runs forward + backward with an explicit upstream gradient and clears the input's
``.grad`` first, so every call pays the same gradient accumulation. float32, the issue's
shapes; targets are ember/torch time ratios.
"""
from benchmarks.harness import case, randn

IMAGES = (32, 64, 56, 56)  # a ResNet stem's feature maps, batch 32


def _step(output_fn, x, grad):
    def step():
        x.grad = None
        output_fn().backward(grad)
    return step


@case("maxpool2d_k2s2_32x64x56x56", target=1.2)
def maxpool2d_k2s2(lib):
    """MaxPool2d(2, 2) on (32, 64, 56, 56) float32, forward + backward."""
    x = randn(lib, *IMAGES, requires_grad=True)
    pool = lib.nn.MaxPool2d(2, 2)
    return _step(lambda: pool(x), x, randn(lib, 32, 64, 28, 28))


@case("maxpool2d_k3s2p1_32x64x56x56", target=1.2)
def maxpool2d_k3s2p1(lib):
    """MaxPool2d(3, 2, padding=1) on (32, 64, 56, 56) float32 (overlapping windows), fwd + bwd."""
    x = randn(lib, *IMAGES, requires_grad=True)
    pool = lib.nn.MaxPool2d(3, 2, padding=1)
    return _step(lambda: pool(x), x, randn(lib, 32, 64, 28, 28))


@case("avgpool2d_k2s2_32x64x56x56", target=1.2)
def avgpool2d_k2s2(lib):
    """AvgPool2d(2, 2) on (32, 64, 56, 56) float32, forward + backward."""
    x = randn(lib, *IMAGES, requires_grad=True)
    pool = lib.nn.AvgPool2d(2, 2)
    return _step(lambda: pool(x), x, randn(lib, 32, 64, 28, 28))


@case("maxpool2d_unpool2d_32x64x56x56", target=1.2)
def maxpool_unpool(lib):
    """MaxPool2d(2, 2, return_indices=True) then MaxUnpool2d(2, 2) on (32, 64, 56, 56) float32,
    forward + backward through both."""
    x = randn(lib, *IMAGES, requires_grad=True)
    pool, unpool = lib.nn.MaxPool2d(2, 2, return_indices=True), lib.nn.MaxUnpool2d(2, 2)
    return _step(lambda: unpool(*pool(x)), x, randn(lib, *IMAGES))


@case("adaptiveavgpool2d_1_32x512x7x7", target=1.5)
def global_avgpool(lib):
    """AdaptiveAvgPool2d(1) on (32, 512, 7, 7) float32 (global average pooling), fwd + bwd."""
    x = randn(lib, 32, 512, 7, 7, requires_grad=True)
    pool = lib.nn.AdaptiveAvgPool2d(1)
    return _step(lambda: pool(x), x, randn(lib, 32, 512, 1, 1))


@case("maxpool3d_k2_8x16x32x32x32", target=1.5)
def maxpool3d(lib):
    """MaxPool3d(2) on (8, 16, 32, 32, 32) float32, forward + backward."""
    x = randn(lib, 8, 16, 32, 32, 32, requires_grad=True)
    pool = lib.nn.MaxPool3d(2)
    return _step(lambda: pool(x), x, randn(lib, 8, 16, 16, 16, 16))
