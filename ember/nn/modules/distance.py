"""PairwiseDistance and CosineSimilarity, as torch.nn.modules.distance: options only; the
computing is ``F.pairwise_distance`` / ``F.cosine_similarity``."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    r"""The p-norm distance between the rows of two inputs: ``||x1 - x2 + eps||_p`` over the
    last dim (``F.pairwise_distance``). The option is stored as ``norm``, as torch's."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    r"""Cosine similarity along ``dim``: ``x1 . x2 / (max(||x1||, eps) max(||x2||, eps))``
    (``F.cosine_similarity``)."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
