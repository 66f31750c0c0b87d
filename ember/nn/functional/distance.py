"""normalize, pairwise_distance, pdist (cosine_similarity lives in ember._ops.stats).

All three are compositions of differentiable ops, as torch writes them (torch/nn/functional.py's
normalize; aten's pairwise_distance is ``norm(x1 - x2 + eps)``; pdist is the p-norm of the
differences of the row pairs i < j), so their gradients and double backward come from those ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..._ops.products import _finish_out
from ..._ops.stats import _max_abs_all_ties
from ..._tensor import Tensor

__all__ = ["normalize", "pairwise_distance", "pdist"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    r"""``input / max(||input||_p, eps)`` along ``dim``:

    .. math:: v = \frac{v}{\max(\lVert v \rVert_p, \epsilon)}

    >>> normalize(ember.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return _finish_out(input / denom, out)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r"""The p-norm distance between the rows (last dim) of ``x1`` and ``x2`` (broadcast):
    ``||x1 - x2 + eps||_p`` (eps inside the norm, as torch).

    >>> pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]), eps=0)
    tensor([5.])
    """
    diff = x1 - x2 + eps
    dim = max(x1.ndim, x2.ndim) - 1
    return diff.norm(p, dim, keepdim=keepdim)


def pdist(input, p=2):
    r"""The p-norm distances between all pairs of rows of the (N, M) ``input``, as the upper
    triangle of the distance matrix, row by row: ``N (N - 1) / 2`` values.

    >>> pdist(ember.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    tensor([ 5., 10.,  5.])
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input._data.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n, m = input.shape
    first, second = np.triu_indices(n, 1)
    diff = input[Tensor._wrap(first)] - input[Tensor._wrap(second)]
    if m == 0 or diff.shape[0] == 0:  # no coordinates (or pairs): distances 0, no gradient
        return diff.abs().sum(-1)
    if p == math.inf:
        # torch's pdist backward sends the whole gradient to every coordinate at the maximum
        return _max_abs_all_ties(diff)
    return diff.norm(p, -1)

