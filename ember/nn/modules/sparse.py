"""Embedding and EmbeddingBag, as torch.nn.modules.sparse; the computing is ``F.embedding`` /
``F.embedding_bag``."""
from __future__ import annotations

from ... import empty, no_grad
from .. import functional as F
from .. import init
from .module import Module, Parameter

__all__ = ["Embedding", "EmbeddingBag"]

_NO_SPARSE = ("ember has no sparse tensors, so sparse=True (a sparse gradient for the weight) "
              "is not supported; use sparse=False: the same values, as a dense gradient")


def _padding_row(padding_idx, num_embeddings: int, message: str):
    """padding_idx within [-num_embeddings, num_embeddings), negative made positive."""
    if padding_idx is None:
        return None
    if padding_idx > 0 and padding_idx >= num_embeddings:
        raise AssertionError(message)
    if padding_idx < 0:
        if padding_idx < -num_embeddings:
            raise AssertionError(message)
        padding_idx = num_embeddings + padding_idx
    return padding_idx


def _table(num_embeddings, embedding_dim, _weight, requires_grad, factory_kwargs):
    """The weight Parameter: new (filled by reset_parameters) or ``_weight``, shape-checked."""
    if _weight is None:
        return Parameter(empty((num_embeddings, embedding_dim), **factory_kwargs),
                         requires_grad=requires_grad), True
    if list(_weight.shape) != [num_embeddings, embedding_dim]:
        raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
    return Parameter(_weight, requires_grad=requires_grad), False


class _Table(Module):
    """What Embedding and EmbeddingBag share: a (num_embeddings, embedding_dim) weight drawn
    from N(0, 1) with the padding row zeroed (torch's reset_parameters)."""

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)


class Embedding(_Table):
    r"""A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``: input indices of
    any shape (int64 or int32) give output ``input.shape + (embedding_dim,)``.

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: this row is zeroed at init and gets no gradient (negative: from the end).
        max_norm: rows looked up with a ``norm_type``-norm above it are scaled down to it, in
            place in ``weight``, at each forward.
        norm_type: the p of that norm (default 2).
        scale_grad_by_freq: scale gradients by the inverse of each index's count in the batch.
        sparse: not supported (ember has no sparse tensors): raises NotImplementedError.

    Attributes:
        weight: (num_embeddings, embedding_dim), initialised from N(0, 1).

    >>> Embedding(10, 3, padding_idx=0)(ember.tensor([[0, 2, 9]])).shape
    ember.Size([1, 3, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_row(padding_idx, num_embeddings,
                                        "Padding_idx must be within num_embeddings")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if sparse:
            raise NotImplementedError(f"Embedding: {_NO_SPARSE}")
        self.weight, fresh = _table(num_embeddings, embedding_dim, _weight, not _freeze,
                                    factory_kwargs)
        if fresh:
            self.reset_parameters()
        self.sparse = sparse

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = "{num_embeddings}, {embedding_dim}"
        if self.padding_idx is not None:
            s += ", padding_idx={padding_idx}"
        if self.max_norm is not None:
            s += ", max_norm={max_norm}"
        if self.norm_type != 2:
            s += ", norm_type={norm_type}"
        if self.scale_grad_by_freq is not False:
            s += ", scale_grad_by_freq={scale_grad_by_freq}"
        return s.format(**self.__dict__)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight IS ``embeddings`` (2-D; shared, not copied), frozen
        (``requires_grad=False``) unless ``freeze=False``."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


class EmbeddingBag(_Table):
    r"""Sums, means or maxima of bags of embeddings, without materialising the looked-up rows
    (``F.embedding_bag``): ``forward(input, offsets=None, per_sample_weights=None)`` with a 1-D
    input and offsets, or a 2-D (B, L) input of B bags; output (B, embedding_dim).

    Args:
        num_embeddings, embedding_dim, max_norm, norm_type, scale_grad_by_freq: as
            :class:`Embedding`.
        mode: 'sum', 'mean' (default) or 'max'.
        sparse: not supported (ember has no sparse tensors): raises NotImplementedError.
        include_last_offset: ``offsets`` ends with the end of the last bag.
        padding_idx: this row is zeroed at init, left out of bags and gets no gradient.

    >>> EmbeddingBag(10, 3)(ember.tensor([1, 2, 4, 5]), ember.tensor([0, 2])).shape
    ember.Size([2, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_row(padding_idx, num_embeddings,
                                        "padding_idx must be within num_embeddings")
        if sparse:
            raise NotImplementedError(f"EmbeddingBag: {_NO_SPARSE}")
        self.weight, fresh = _table(num_embeddings, embedding_dim, _weight, True, factory_kwargs)
        if fresh:
            self.reset_parameters()
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = "{num_embeddings}, {embedding_dim}"
        if self.max_norm is not None:
            s += ", max_norm={max_norm}"
        if self.norm_type != 2:
            s += ", norm_type={norm_type}"
        if self.scale_grad_by_freq is not False:
            s += ", scale_grad_by_freq={scale_grad_by_freq}"
        s += ", mode={mode}"
        if self.padding_idx is not None:
            s += ", padding_idx={padding_idx}"
        return s.format(**{k: repr(v) for k, v in self.__dict__.items()})

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight IS ``embeddings`` (2-D), frozen unless ``freeze=False``."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, max_norm=max_norm,
                  norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, mode=mode,
                  sparse=sparse, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
