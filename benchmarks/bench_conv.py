"""Convolution layers: the shapes of issue 3's targets, forward + backward, float32.

Every case builds the layer's functional call on inputs that need grads (input, weight, bias),
runs it and backpropagates an explicit upstream gradient of the output's shape, after clearing
the gradients (so every call pays the same gradient accumulation). Targets are ember/torch
time ratios.
"""
from benchmarks.harness import case, randn


def _conv_step(lib, fn, x_shape, w_shape, b_len, **kwargs):
    x = randn(lib, *x_shape, requires_grad=True)
    w = randn(lib, *w_shape, requires_grad=True)
    b = randn(lib, b_len, requires_grad=True)
    out_shape = tuple(getattr(lib.nn.functional, fn)(x.detach(), w.detach(), None, **kwargs).shape)
    grad = randn(lib, *out_shape)
    conv = getattr(lib.nn.functional, fn)

    def step():
        x.grad = w.grad = b.grad = None
        conv(x, w, b, **kwargs).backward(grad)
    return step


@case("conv2d_resnet_block_32x64x56x56", target=1.2)
def resnet_block(lib):
    """Conv2d(64, 64, 3, padding=1) on (32, 64, 56, 56), forward + backward."""
    return _conv_step(lib, "conv2d", (32, 64, 56, 56), (64, 64, 3, 3), 64, padding=1)


@case("conv2d_tutorial_image_1x3x512x512", target=1.0)
def tutorial_image(lib):
    """Conv2d(3, 1, 3) on (1, 3, 512, 512) -> (1, 1, 510, 510), forward + backward."""
    return _conv_step(lib, "conv2d", (1, 3, 512, 512), (1, 3, 3, 3), 1)


@case("conv_transpose2d_tutorial_image_1x3x512x512", target=1.0)
def tutorial_image_transposed(lib):
    """ConvTranspose2d(3, 1, 3, stride=2) on (1, 3, 512, 512) -> (1, 1, 1025, 1025), fwd + bwd."""
    return _conv_step(lib, "conv_transpose2d", (1, 3, 512, 512), (3, 1, 3, 3), 1, stride=2)


@case("conv2d_lenet1_64x3x32x32", target=1.2)
def lenet1(lib):
    """Conv2d(3, 6, 5) on (64, 3, 32, 32), forward + backward (LeNet's first layer)."""
    return _conv_step(lib, "conv2d", (64, 3, 32, 32), (6, 3, 5, 5), 6)


@case("conv2d_lenet2_64x6x14x14", target=1.2)
def lenet2(lib):
    """Conv2d(6, 16, 5) on (64, 6, 14, 14), forward + backward (LeNet's second layer)."""
    return _conv_step(lib, "conv2d", (64, 6, 14, 14), (16, 6, 5, 5), 16)


@case("conv1d_32x64x1024", target=1.5)
def conv1d(lib):
    """Conv1d(64, 64, 3, padding=1) on (32, 64, 1024), forward + backward."""
    return _conv_step(lib, "conv1d", (32, 64, 1024), (64, 64, 3), 64, padding=1)


@case("conv3d_4x16x32x32x32", target=1.5)
def conv3d(lib):
    """Conv3d(16, 16, 3, padding=1) on (4, 16, 32, 32, 32), forward + backward."""
    return _conv_step(lib, "conv3d", (4, 16, 32, 32, 32), (16, 16, 3, 3, 3), 16, padding=1)


@case("conv2d_depthwise_32x64x56x56", target=1.5)
def depthwise(lib):
    """Conv2d(64, 64, 3, padding=1, groups=64) on (32, 64, 56, 56), forward + backward."""
    return _conv_step(lib, "conv2d", (32, 64, 56, 56), (64, 1, 3, 3), 64, padding=1, groups=64)


@case("conv2d_64x64_8x64x128x128", target=1.2)
def conv2d_large_image(lib):
    """Conv2d(64, 64, 3, padding=1) on (8, 64, 128, 128), forward + backward (a segmentation or
    super-resolution layer: few images, large ones)."""
    return _conv_step(lib, "conv2d", (8, 64, 128, 128), (64, 64, 3, 3), 64, padding=1)


@case("conv2d_depthwise_8x64x128x128", target=1.5)
def depthwise_large_image(lib):
    """Conv2d(64, 64, 3, padding=1, groups=64) on (8, 64, 128, 128), forward + backward."""
    return _conv_step(lib, "conv2d", (8, 64, 128, 128), (64, 1, 3, 3), 64, padding=1, groups=64)


@case("vgg_block_32x3x64x64", target=1.2)
def vgg_block(lib):
    """A VGG-style block, Conv2d(3, 64, 3, padding=1) -> BatchNorm2d(64) -> ReLU ->
    MaxPool2d(2), on (32, 3, 64, 64) in training mode, forward + backward."""
    nn = lib.nn
    lib.manual_seed(0)
    block = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.MaxPool2d(2))
    x = randn(lib, 32, 3, 64, 64, requires_grad=True)
    grad = randn(lib, 32, 64, 32, 32)

    def step():
        x.grad = None
        block.zero_grad()
        block(x).backward(grad)
    return step
