"""Embeddings and instance normalisation (issue 12): an Embedding lookup as a language model's
input layer, an EmbeddingBag mean as a bag-of-words classifier's, InstanceNorm2d on ResNet-stem
feature maps.

Every case runs forward + backward with an explicit upstream gradient and clears the
parameters' and inputs' ``.grad`` first. float32; targets are ember/torch time ratios.
"""
import numpy as np

from benchmarks.harness import array, case, forward_backward, numpy_rng, randn

VOCAB, DIM = 10000, 300


def _table(lib):
    """An (VOCAB, DIM) float32 weight that requires grad, the same numbers for both libraries."""
    return randn(lib, VOCAB, DIM, requires_grad=True)


@case("embedding_10000x300_lookup_64x35", target=1.5)
def embedding_lookup(lib):
    """F.embedding of (64, 35) int64 indices (a batch of 64 sequences of 35 tokens) into a
    (10000, 300) table, forward + backward (a dense (10000, 300) weight gradient)."""
    weight = _table(lib)
    indices = array(lib, numpy_rng().integers(0, VOCAB, (64, 35)))
    return forward_backward(lambda: lib.nn.functional.embedding(indices, weight), [weight],
                            randn(lib, 64, 35, DIM))


@case("embedding_bag_mean_10000x300_64bags_2240", target=1.5)
def embedding_bag_mean(lib):
    """F.embedding_bag mode='mean' of 2240 int64 indices in 64 bags of random lengths from a (10000, 300) table, forward + backward."""
    weight = _table(lib)
    rng = numpy_rng()
    indices = array(lib, rng.integers(0, VOCAB, 64 * 35))
    cuts = rng.choice(np.arange(1, 64 * 35), 63, replace=False)
    cuts.sort()
    offsets = array(lib, np.concatenate([[0], cuts]))
    return forward_backward(
        lambda: lib.nn.functional.embedding_bag(indices, weight, offsets, mode="mean"),
        [weight], randn(lib, 64, DIM))


@case("instancenorm2d_affine_32x64x56x56", target=1.5)
def instancenorm2d(lib):
    """InstanceNorm2d(64, affine=True) on (32, 64, 56, 56) float32, forward + backward."""
    x = randn(lib, 32, 64, 56, 56, requires_grad=True)
    norm = lib.nn.InstanceNorm2d(64, affine=True)
    return forward_backward(lambda: norm(x), [x, norm.weight, norm.bias],
                            randn(lib, 32, 64, 56, 56))
