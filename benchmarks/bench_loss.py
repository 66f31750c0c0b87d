"""Losses of issue 12: CTC (numba alpha/beta kernels) and the triplet margin loss (composed of
ember ops). Forward + backward, float32, inputs shared by both libraries; targets are
ember/torch time ratios."""
import numpy as np

from benchmarks.harness import array, case, numpy_rng, randn


@case("ctc_T50_N16_C20_S30", target=1.5)
def ctc(lib):
    """CTCLoss on log_softmax'd (T=50, N=16, C=20) float32, padded targets (16, 30) with lengths
    10..30, reduction 'mean', forward + backward."""
    T, N, C, S = 50, 16, 20, 30
    rng = numpy_rng()
    log_probs = array(lib, np.log(_softmax(rng.standard_normal((T, N, C)).astype(np.float32))),
                      requires_grad=True)
    targets = array(lib, rng.integers(1, C, (N, S)))
    input_lengths = array(lib, np.full(N, T, dtype=np.int64))
    target_lengths = array(lib, rng.integers(10, S + 1, N))
    loss_fn = lib.nn.CTCLoss()

    def step():
        log_probs.grad = None
        loss_fn(log_probs, targets, input_lengths, target_lengths).backward()
    return step


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@case("triplet_margin_128x256", target=1.5)
def triplet(lib):
    """TripletMarginLoss (margin 1, p 2) on anchor/positive/negative (128, 256) float32,
    forward + backward into all three."""
    a, p, n = (randn(lib, 128, 256, requires_grad=True) for _ in range(3))
    loss_fn = lib.nn.TripletMarginLoss()

    def step():
        a.grad = p.grad = n.grad = None
        loss_fn(a, p, n).backward()
    return step
