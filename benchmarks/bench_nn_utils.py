"""nn.utils and module hooks (issue 12): gradient clipping over a ResNet-sized parameter list,
a small MLP step with full backward hooks on every layer, and a parametrized (weight-normed)
layer's forward + backward. float32; targets are ember/torch time ratios."""
from benchmarks.harness import case, randn

# a ResNet-18-like parameter list: 20 conv weights and their BatchNorm vectors
_SHAPES = [(64, 64, 3, 3), (64,), (64,)] * 10 + [(128, 128, 3, 3), (128,), (128,)] * 10


def _params_with_grads(lib):
    params = []
    for shape in _SHAPES:
        p = lib.nn.Parameter(randn(lib, *shape))
        p.grad = randn(lib, *shape)
        params.append(p)
    return params


@case("clip_grad_norm_resnet_params", target=1.5)
def clip_grad_norm(lib):
    """clip_grad_norm_(params, 1.0) over 60 tensors (3.7M values): norms, total, scaling."""
    params = _params_with_grads(lib)
    return lambda: lib.nn.utils.clip_grad_norm_(params, 1.0)


@case("mlp_full_backward_hooks_256x512", target=2.0)
def mlp_with_backward_hooks(lib):
    """A 4-layer MLP on (256, 512) with a full backward hook and a forward hook on each layer
    (what activation/gradient inspection tools register), forward + backward."""
    nn = lib.nn
    net = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                        nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    seen = []
    for m in net:
        m.register_forward_hook(lambda mod, args, out: seen.append(out))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(go[0]))
    x = randn(lib, 256, 512, requires_grad=True)

    def step():
        seen.clear()
        net.zero_grad()
        x.grad = None
        net(x).sum().backward()
    return step


@case("weight_norm_linear_256x1024", target=2.0)
def weight_norm_linear(lib):
    """parametrizations.weight_norm(Linear(1024, 1024)) on (256, 1024), forward + backward."""
    layer = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(1024, 1024))
    x = randn(lib, 256, 1024, requires_grad=True)

    def step():
        layer.zero_grad()
        x.grad = None
        layer(x).sum().backward()
    return step
