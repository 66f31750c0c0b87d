"""Resampling: bilinear and nearest x2 upsampling of ResNet-stem feature maps, grid_sample
(issue 12).

Every case runs forward + backward with an explicit upstream gradient and clears the input's
``.grad`` first. float32; targets are ember/torch time ratios.
"""
from benchmarks.harness import case, randn

IMAGES = (32, 64, 56, 56)
UPSAMPLED = (32, 64, 112, 112)


def _step(output_fn, grad, *leaves):
    def step():
        for leaf in leaves:
            leaf.grad = None
        output_fn().backward(grad)
    return step


@case("upsample_bilinear_x2_32x64x56x56", target=1.5)
def upsample_bilinear(lib):
    """F.interpolate(scale_factor=2, mode='bilinear') on (32, 64, 56, 56) float32, fwd + bwd."""
    x = randn(lib, *IMAGES, requires_grad=True)
    f = lib.nn.functional.interpolate
    return _step(lambda: f(x, scale_factor=2, mode="bilinear"), randn(lib, *UPSAMPLED), x)


@case("upsample_nearest_x2_32x64x56x56", target=1.5)
def upsample_nearest(lib):
    """F.interpolate(scale_factor=2, mode='nearest') on (32, 64, 56, 56) float32, fwd + bwd."""
    x = randn(lib, *IMAGES, requires_grad=True)
    f = lib.nn.functional.interpolate
    return _step(lambda: f(x, scale_factor=2, mode="nearest"), randn(lib, *UPSAMPLED), x)


@case("grid_sample_bilinear_32x3x64x64", target=1.5)
def grid_sample(lib):
    """F.grid_sample (bilinear, zeros, align_corners=False) of (32, 3, 64, 64) float32 on a
    (32, 64, 64, 2) grid, gradients w.r.t. input and grid."""
    x = randn(lib, 32, 3, 64, 64, requires_grad=True)
    grid = (randn(lib, 32, 64, 64, 2) * 0.6).detach().requires_grad_()
    f = lib.nn.functional.grid_sample
    return _step(lambda: f(x, grid, align_corners=False), randn(lib, 32, 3, 64, 64), x, grid)
