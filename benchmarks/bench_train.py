"""Training: issue 6's LeNet-5 training step (the target), and the pieces a training step adds
on top of the layers - the fused cross-entropy, batch normalisation, an optimiser step.

Each case returns one full step: forward, loss, ``zero_grad``, backward and (for the training
step) ``optimizer.step()``. The LeNet-5 model is built by each library with its own default
initialisation (seeded), which does not change the work done.
"""
from benchmarks.harness import array, case, numpy_rng, randn


def lenet5(lib):
    """LeNet-5 for 3x32x32 input, as in issue 6."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def _labels(lib, n, classes):
    return array(lib, numpy_rng().integers(0, classes, n))


@case("lenet5_train_step_64x3x32x32", target=1.0)
def lenet5_train_step(lib):
    """One LeNet-5 training step on (64, 3, 32, 32): forward, CrossEntropyLoss, zero_grad,
    backward, SGD(lr=0.01, momentum=0.9).step()."""
    lib.manual_seed(0)
    model = lenet5(lib)
    loss_fn = lib.nn.CrossEntropyLoss()
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = randn(lib, 64, 3, 32, 32)
    y = _labels(lib, 64, 10)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


@case("cross_entropy_256x1000")
def cross_entropy(lib):
    """F.cross_entropy on (256, 1000) logits with class indices, forward + backward."""
    x = randn(lib, 256, 1000, requires_grad=True)
    y = _labels(lib, 256, 1000)

    def step():
        x.grad = None
        lib.nn.functional.cross_entropy(x, y).backward()
    return step


@case("batch_norm2d_train_32x64x28x28")
def batch_norm2d(lib):
    """BatchNorm2d(64) in training mode on (32, 64, 28, 28), forward + backward."""
    bn = lib.nn.BatchNorm2d(64)
    x = randn(lib, 32, 64, 28, 28, requires_grad=True)
    grad = randn(lib, 32, 64, 28, 28)

    def step():
        x.grad = bn.weight.grad = bn.bias.grad = None
        bn(x).backward(grad)
    return step


@case("adam_step_4x1M")
def adam_step(lib):
    """Adam.step() over four parameters of 1M float32 elements each (gradients set)."""
    params = [lib.nn.Parameter(randn(lib, 1000, 1000)) for _ in range(4)]
    for p in params:
        p.grad = randn(lib, 1000, 1000)
    opt = lib.optim.Adam(params, lr=1e-3)
    return opt.step
