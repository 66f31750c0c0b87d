"""Core tensor ops: a tiny op's Python overhead, matmul, large elementwise ops, reductions.

Every case runs forward + backward with an explicit upstream gradient (so the figure is the op
alone, not an extra ``sum``) through ``forward_backward``, which clears the inputs' ``.grad``
first (so every call pays the same gradient accumulation: the first one, which stores it).
Targets are ember/torch time ratios (issue 2).
"""
from benchmarks.harness import case, forward_backward, randn

BIG = (5000, 5000)  # 25M float32 elements, 100 MB per tensor


@case("tiny_mul_1x8", target=0.5)
def tiny_mul(lib):
    """(1, 8) * (1, 8) float32, forward + backward: the Python overhead of one op."""
    a = randn(lib, 1, 8, requires_grad=True)
    b = randn(lib, 1, 8, requires_grad=True)
    return forward_backward(lambda: a * b, (a, b), randn(lib, 1, 8))


@case("matmul_256x4096x4096", target=1.1)
def matmul(lib):
    """(256, 4096) @ (4096, 4096) float32, forward + backward (both inputs need grads)."""
    a = randn(lib, 256, 4096, requires_grad=True)
    w = randn(lib, 4096, 4096, requires_grad=True)
    return forward_backward(lambda: a @ w, (a, w), randn(lib, 256, 4096))


@case("exp_25M", target=1.3)
def exp(lib):
    """exp of 25M float32 (5000 x 5000), forward + backward."""
    x = randn(lib, *BIG, requires_grad=True)
    return forward_backward(lambda: x.exp(), (x,), randn(lib, *BIG))


@case("mul_25M", target=1.3)
def mul(lib):
    """25M float32 * 25M float32, forward + backward (both inputs need grads)."""
    a = randn(lib, *BIG, requires_grad=True)
    b = randn(lib, *BIG, requires_grad=True)
    return forward_backward(lambda: a * b, (a, b), randn(lib, *BIG))


@case("add_25M", target=1.3)
def add(lib):
    """25M float32 + 25M float32, forward + backward (both inputs need grads)."""
    a = randn(lib, *BIG, requires_grad=True)
    b = randn(lib, *BIG, requires_grad=True)
    return forward_backward(lambda: a + b, (a, b), randn(lib, *BIG))


# The issue sets no target for reductions; 1.3 as for the other memory-bound ops.
@case("sum_dim0_1024x4096", target=1.3)
def sum_dim0(lib):
    """sum over dim 0 of (1024, 4096) float32, forward + backward."""
    x = randn(lib, 1024, 4096, requires_grad=True)
    return forward_backward(lambda: x.sum(dim=0), (x,), randn(lib, 4096))


@case("mean_dim1_1024x4096", target=1.3)
def mean_dim1(lib):
    """mean over dim 1 (keepdim) of (1024, 4096) float32, forward + backward."""
    x = randn(lib, 1024, 4096, requires_grad=True)
    return forward_backward(lambda: x.mean(dim=1, keepdim=True), (x,), randn(lib, 1024, 1))


@case("sum_all_1024x4096", target=1.3)
def sum_all(lib):
    """sum of all of (1024, 4096) float32 to a scalar, forward + backward (a loss's pattern)."""
    x = randn(lib, 1024, 4096, requires_grad=True)
    return forward_backward(lambda: x.sum(), (x,), None)


def _update(lib, step):
    """An optimiser-style in-place update of a (4096, 4096) float32 parameter under no_grad."""
    p = lib.nn.Parameter(randn(lib, 4096, 4096))
    g = randn(lib, 4096, 4096)

    def run():
        with lib.no_grad():
            step(p, g)
    return run


@case("update_add_alpha_4096x4096", target=1.0)
def update_add_alpha(lib):
    """p.add_(g, alpha=-lr): SGD's update; allocates nothing per step (issue 11)."""
    return _update(lib, lambda p, g: p.add_(g, alpha=-0.01))


@case("update_isub_4096x4096", target=1.0)
def update_isub(lib):
    """p -= lr * g, as hand-written training loops do (the product is a temporary in both)."""
    def step(p, g):
        p -= 0.01 * g
    return _update(lib, step)
