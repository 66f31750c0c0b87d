"""Loss modules, as torch.nn's (torch/nn/modules/loss.py): each holds its options and calls its
functional in ``ember.nn.functional.loss``, where the formulas and their gradients live."""
from __future__ import annotations

from .. import functional as F
from ..functional.loss import legacy_reduction
from .module import Module

__all__ = ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiMarginLoss", "SoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "CTCLoss"]


class _Loss(Module):
    """Holds ``reduction`` ('none' | 'mean' | 'sum'), or derives it from the deprecated
    ``size_average``/``reduce`` pair as torch/nn/_reduction.py does."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    """A loss with a per-class ``weight`` tensor, registered as a buffer (it moves and saves
    with the module)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    r"""Mean absolute error :math:`\ell_n = |x_n - y_n|`, reduced by ``reduction``."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    r"""Mean squared error :math:`\ell_n = (x_n - y_n)^2`, reduced by ``reduction``.

    >>> MSELoss()(ember.tensor([1., 2.]), ember.tensor([1., 0.]))
    tensor(2.)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    r""":math:`0.5 d^2 / \beta` if :math:`|d| < \beta` else :math:`|d| - 0.5\beta`, with
    :math:`d = x - y` (Fast R-CNN's loss; the L1 loss when ``beta=0``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    r""":math:`0.5 d^2` if :math:`|d| < \delta` else :math:`\delta(|d| - 0.5\delta)`: quadratic
    near zero, linear (robust to outliers) beyond ``delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)):
            raise TypeError(f"delta must be a float or int, got: {type(delta)}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class NLLLoss(_WeightedLoss):
    r"""Negative log-likelihood of class indices under log-probabilities (put a
    ``LogSoftmax`` before it, or use :class:`CrossEntropyLoss` on logits):
    :math:`\ell_n = -w_{y_n} x_{n, y_n}`; targets equal to ``ignore_index`` are skipped and the
    'mean' is weighted by :math:`\sum_n w_{y_n}`.

    Shapes: input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...), int64.
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    r"""Cross-entropy between logits and a target, with a log-softmax over the class dim:

    .. math:: \ell_n = -\sum_c w_c\, q_{n,c} \log \frac{e^{x_{n,c}}}{\sum_{c'} e^{x_{n,c'}}}

    where q is the one-hot of class-index targets or the given class probabilities, smoothed to
    :math:`(1-ε) q + ε/C` by ``label_smoothing`` ε. For class indices, ``ignore_index`` skips a
    sample and 'mean' divides by the summed weights of the kept samples; for probabilities,
    'mean' divides by the number of samples.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...) of int64
    indices, or probabilities of input's shape.

    >>> loss = CrossEntropyLoss()(model(x), y)   # y: int64 class indices
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    r"""Binary cross-entropy on probabilities:
    :math:`\ell_n = -w_n[y_n \log x_n + (1 - y_n)\log(1 - x_n)]` (logs clamped at -100).
    Prefer :class:`BCEWithLogitsLoss` on logits."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    r"""Sigmoid and binary cross-entropy in one numerically stable step, on logits:
    :math:`\ell_n = -w_n[p\, y_n \log\sigma(x_n) + (1 - y_n)\log(1 - \sigma(x_n))]`, with
    ``pos_weight`` p weighing the positive examples (one per class, broadcast)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(_Loss):
    r"""Kullback-Leibler divergence :math:`\ell_n = y_n(\log y_n - x_n)`, the input being
    log-probabilities (the target too when ``log_target``). Use ``reduction='batchmean'`` for
    the true KL divergence; 'mean' averages over all elements (and warns)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    r""":math:`1 - \cos(x_1, x_2)` for target 1, :math:`\max(0, \cos(x_1, x_2) - \text{margin})`
    for target -1: learns embeddings where alike pairs point the same way.

    Shapes: inputs (N, D) or (D,); target (N,) or () of 1 / -1.
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_Loss):
    r""":math:`\max(0, -y (x_1 - x_2) + \text{margin})`: x1 should rank above x2 by the margin
    where y = 1, below where y = -1. Shapes: all three (N,) or ()."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    r""":math:`x` where y = 1, :math:`\max(0, \text{margin} - x)` where y = -1; x is typically a
    distance between two inputs (e.g. an L1 pairwise distance)."""

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    r"""Multi-label hinge loss: every target label (the entries of y before the first -1)
    should score at least 1 above every non-target label,
    :math:`\sum_{j, i} \max(0, 1 - (x_{y_j} - x_i)) / C`.

    Shapes: input (N, C) or (C,); target the same shape, int64, padded by -1.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    r"""One-vs-all logistic loss over C labels, averaged over the labels:
    :math:`-\frac1C \sum_c w_c [y_c \log\sigma(x_c) + (1 - y_c)\log\sigma(-x_c)]`."""

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    r"""Multi-class hinge loss: :math:`\frac1C\sum_{i \ne y} w_y \max(0, \text{margin} - x_y +
    x_i)^p`, p = 1 or 2; ``weight`` (C,) rescales each class.

    Shapes: input (N, C) or (C,); target (N,) or () int64 class indices.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError("MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{weight.dim()}D instead")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    r"""Two-class logistic loss :math:`\log(1 + e^{-y x})`, y in {1, -1}."""

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    r""":math:`\max(0, \text{margin} + d(a, p) - d(a, n))` with
    :math:`d(x, y) = \|x - y + \text{eps}\|_p` over the last dim; ``swap`` uses
    :math:`\min(d(a, n), d(p, n))` for the negative distance.

    Shapes: anchor, positive, negative (N, D) or (D,).
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError("TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    r""":math:`\max(0, \text{margin} + d(a, p) - d(a, n))` with any ``distance_function``
    (default: :class:`PairwiseDistance`, which then shows as a submodule, as torch)."""

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError("TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                             f"got {margin} instead")
        if distance_function is None:
            from .distance import PairwiseDistance
            distance_function = PairwiseDistance()
        self.distance_function = distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap,
                                                   reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    r"""Poisson negative log-likelihood: :math:`e^{x} - y x` on log rates (``log_input``), else
    :math:`x - y \log(x + \text{eps})`; ``full`` adds Stirling's approximation of
    :math:`\log y!` where y > 1."""

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    r"""Gaussian negative log-likelihood with predicted variances:
    :math:`\frac12(\log v + (x - y)^2 / v)`, v = max(var, eps) (+ :math:`\frac12\log 2\pi`
    when ``full``). ``var`` has the input's shape, or one dim fewer or of size 1
    (homoscedastic), or is a float."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class CTCLoss(_Loss):
    r"""Connectionist Temporal Classification loss: the negative log-likelihood of a target
    sequence summed over all its alignments to the input steps (blanks between and around the
    labels, repeats merged). See :func:`ember.nn.functional.ctc_loss` for the shapes.

    >>> ctc = CTCLoss()
    >>> loss = ctc(log_probs, targets, input_lengths, target_lengths)
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)
