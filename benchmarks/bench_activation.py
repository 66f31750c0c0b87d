"""Activations, softmax and Linear: issue 5's targets, forward + backward, float32.

Each case runs the module on an input that needs grad and backpropagates an explicit upstream
gradient of the output's shape, after clearing the gradients, so both libraries pay the same
accumulation. Targets are ember/torch time ratios.
"""
from benchmarks.harness import case, randn

CONV_MAP = (32, 64, 56, 56)      # a ResNet stage's activation map: 6.4 M elements


def _module_step(lib, module, *shape):
    x = randn(lib, *shape, requires_grad=True)
    params = list(module.parameters())
    grad = randn(lib, *tuple(module(x.detach()).shape))

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        module(x).backward(grad)
    return step


def _activation_case(name, make, target):
    """Register ``make(lib.nn)`` on the (32, 64, 56, 56) map as the case ``<name>_32x64x56x56``."""
    def setup(lib):
        return _module_step(lib, make(lib.nn), *CONV_MAP)
    setup.__doc__ = f"{name} on (32, 64, 56, 56), forward + backward."
    setup.__name__ = setup.__qualname__ = f"bench_{name.lower()}"
    return case(f"{name}_32x64x56x56", target=target)(setup)


relu = _activation_case("ReLU", lambda nn: nn.ReLU(), 1.2)
sigmoid = _activation_case("Sigmoid", lambda nn: nn.Sigmoid(), 1.2)
tanh = _activation_case("Tanh", lambda nn: nn.Tanh(), 1.2)
leaky_relu = _activation_case("LeakyReLU", lambda nn: nn.LeakyReLU(0.1), 1.2)
elu = _activation_case("ELU", lambda nn: nn.ELU(), 1.2)
gelu = _activation_case("GELU", lambda nn: nn.GELU(), 1.2)
silu = _activation_case("SiLU", lambda nn: nn.SiLU(), 1.2)
softmax_map = _activation_case("Softmax_dim1", lambda nn: nn.Softmax(dim=1), 1.3)
log_softmax_map = _activation_case("LogSoftmax_dim1", lambda nn: nn.LogSoftmax(dim=1), 1.3)


@case("Softmax_dim1_256x1000", target=1.3)
def softmax_logits(lib):
    """Softmax(dim=1) on (256, 1000) classifier logits, forward + backward."""
    return _module_step(lib, lib.nn.Softmax(dim=1), 256, 1000)


@case("LogSoftmax_dim1_256x1000", target=1.3)
def log_softmax_logits(lib):
    """LogSoftmax(dim=1) on (256, 1000) classifier logits, forward + backward."""
    return _module_step(lib, lib.nn.LogSoftmax(dim=1), 256, 1000)


@case("Linear_400x120_64x400", target=1.0)
def linear_small(lib):
    """Linear(400, 120) on (64, 400) (LeNet's first dense layer), forward + backward."""
    lib.manual_seed(0)
    return _module_step(lib, lib.nn.Linear(400, 120), 64, 400)


@case("Linear_4096x4096_256x4096", target=1.1)
def linear_large(lib):
    """Linear(4096, 4096) on (256, 4096), forward + backward."""
    lib.manual_seed(0)
    return _module_step(lib, lib.nn.Linear(4096, 4096), 256, 4096)
