"""Loss modules, as torch.nn's (torch/nn/modules/loss.py): each holds its options and calls its
functional in ``ember.nn.functional.loss``, where the formulas and their gradients live."""
from __future__ import annotations

from .. import functional as F
from ..functional.loss import legacy_reduction
from .module import Module

__all__ = ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]


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
