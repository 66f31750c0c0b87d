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
