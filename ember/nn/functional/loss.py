"""Loss functions, as torch.nn.functional: cross_entropy, nll_loss, mse_loss, l1_loss,
smooth_l1_loss, huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits, kl_div.

Each loss is one Function whose forward computes the per-element loss and its reduction and
whose backward, written beside it, differentiates both. ``reduction`` is ``'none'`` (the
per-element losses), ``'sum'`` or ``'mean'``; the deprecated ``size_average``/``reduce``
arguments map to it as in torch/nn/_reduction.py.

cross_entropy is fused (log-softmax and the negative log-likelihood in one Function): the
gradient with respect to the logits is then simply ``softmax - target`` (weighted), with no
log of a softmax ever formed, so it is both fast and stable for large logits.

The losses of issue 12 (cosine_embedding, margin_ranking, hinge_embedding, soft_margin,
multilabel_soft_margin, multi_margin, multilabel_margin, poisson_nll, gaussian_nll, triplet_margin
and triplet_margin_with_distance) are compositions of differentiable ember ops in torch's order,
so their gradients and double backward come from the ops; ctc_loss runs the alpha/beta recursions
of ember/_kernels/ctc.py through the Function of ember/_ops/ctc.py.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._creation import ones_like
from ..._kernels.loss import (WORK_PER_ELEMENT as _CE_WORK, cross_entropy_rows_backward,
                              cross_entropy_rows_forward, first_bad_target)
from ..._dtype import scalar_type_name
from ..._tensor import Tensor, where
from ..._ops.ctc import CtcLoss
from ..._ops.util import unbroadcast
from ...autograd import grad_mode
from ...autograd.function import Function
from .activation import logsigmoid, relu
from .distance import pairwise_distance

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
           "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss"]

def _type_name(array: np.ndarray) -> str:
    """torch's ScalarType name, which its error messages use."""
    return scalar_type_name(array.dtype)


# ---------------------------------------------------------------------------------------------
# reduction: the forward and its adjoint
# ---------------------------------------------------------------------------------------------

def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction string, from the deprecated ``size_average``/``reduce`` pair when either
    is given, with torch's warning (torch/nn/_reduction.py legacy_get_string); the loss
    functionals and the loss modules both map it here."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        # stacklevel 4: past this helper and its caller's caller, to the user's line
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=4)
    return reduction


def _get_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction string, from the deprecated pair when either is given, checked."""
    return _check_reduction(legacy_reduction(size_average, reduce, reduction))


def _check_reduction(reduction) -> str:
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=3)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    """Per-element losses -> the reduced loss (mean of nothing is nan, as torch)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=loss.dtype)
    if loss.size == 0:
        return np.asarray(np.nan, dtype=loss.dtype)
    return np.asarray(loss.mean(), dtype=loss.dtype)


def _unreduce(grad: np.ndarray, shape, reduction: str) -> np.ndarray:
    """The adjoint of :func:`_reduce`: the upstream gradient spread over the elements."""
    if reduction == "none":
        return grad
    if reduction == "mean":
        grad = grad / max(math.prod(shape), 1)
    return np.broadcast_to(grad, shape)


def _grad_to(grad: np.ndarray, like_shape, like_dtype) -> np.ndarray:
    """A gradient summed back over broadcast axes, in the input's dtype."""
    return unbroadcast(grad, like_shape).astype(like_dtype, copy=False)


def _result_dtype(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """torch's promotion for two tensors: floating point beats integers, then the wider."""
    fa, fb = a.dtype.kind == "f", b.dtype.kind == "f"
    if fa and fb:
        return np.promote_types(a.dtype, b.dtype)
    if fa or fb:
        return a.dtype if fa else b.dtype
    return np.promote_types(a.dtype, b.dtype)


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _warn_if_sizes_differ(input, target) -> None:
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _check_broadcast(a: np.ndarray, b: np.ndarray) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        for i in range(1, min(a.ndim, b.ndim) + 1):
            if a.shape[-i] != b.shape[-i] and 1 not in (a.shape[-i], b.shape[-i]):
                raise RuntimeError(f"The size of tensor a ({a.shape[-i]}) must match the size of "
                                   f"tensor b ({b.shape[-i]}) at non-singleton dimension "
                                   f"{max(a.ndim, b.ndim) - i}") from None
        raise


def _check_not_integer(op: str, *arrays) -> None:
    for a in arrays:
        if a.dtype.kind != "f":
            raise NotImplementedError(f'"{op}" not implemented for \'{_type_name(a)}\'')


# ---------------------------------------------------------------------------------------------
# pointwise regression losses: mse, l1, smooth_l1, huber
# ---------------------------------------------------------------------------------------------

def _pointwise_loss(grad_fn_name: str, elementwise, derivative):
    """A Function computing ``reduce(elementwise(x - t, param))``, with the derivative of the
    per-element loss with respect to the difference given by ``derivative(d, param)``. Input
    and target broadcast against each other; their gradients are summed back."""

    class PointwiseLoss(Function):
        name = grad_fn_name

        @staticmethod
        def forward(ctx, x, t, reduction, param=None):
            d = np.subtract(x, t, dtype=_result_dtype(x, t))
            ctx.save_for_backward(d)
            ctx.meta = (x.shape, x.dtype, t.shape, t.dtype, reduction, param)
            return _reduce(elementwise(d, param), reduction)

        @staticmethod
        def backward(ctx, grad):
            (d,) = ctx.saved_tensors
            x_shape, x_dtype, t_shape, t_dtype, reduction, param = ctx.meta
            gd = derivative(d, param) * _unreduce(grad, d.shape, reduction)
            gx = _grad_to(gd, x_shape, x_dtype) if ctx.needs_input_grad[0] else None
            gt = _grad_to(-gd, t_shape, t_dtype) if ctx.needs_input_grad[1] else None
            return gx, gt, None, None

    PointwiseLoss.__qualname__ = PointwiseLoss.__name__ = grad_fn_name.replace("Backward0", "")
    PointwiseLoss.__doc__ = elementwise.__doc__
    return PointwiseLoss


def _squared(d, _):
    """(x - t)²; d/dx = 2 (x - t)."""
    return d * d


def _absolute(d, _):
    """|x - t|; d/dx = sign(x - t) (0 at 0)."""
    return np.abs(d)


def _smooth_l1(d, beta):
    """0.5 d²/β if |d| < β else |d| - 0.5β (Fast R-CNN's smooth L1); d/dd = clip(d/β, -1, 1)."""
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta).astype(d.dtype, copy=False)


def _huber(d, delta):
    """0.5 d² if |d| < δ else δ(|d| - 0.5δ) (= δ · smooth_l1 with β = δ); d/dd = clip(d, -δ, δ)."""
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype, copy=False)


_MSELoss = _pointwise_loss("MseLossBackward0", _squared, lambda d, _: 2 * d)
_L1Loss = _pointwise_loss("L1LossBackward0", _absolute, lambda d, _: np.sign(d))
_SmoothL1Loss = _pointwise_loss("SmoothL1LossBackward0", _smooth_l1,
                                lambda d, beta: np.clip(d / beta, -1, 1))
_HuberLoss = _pointwise_loss("HuberLossBackward0", _huber,
                             lambda d, delta: np.clip(d, -delta, delta))


def _pointwise_args(input, target, op):
    x, t = _array(input), _array(target)
    _check_broadcast(x, t)
    if x.dtype.kind != "f" and t.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{_type_name(x)}\'')


def _weighted(loss: Tensor, weight, input, reduction: str, mean_by_weight: bool) -> Tensor:
    """torch's Python-level ``weight`` path of l1/mse/huber: loss * weight, then reduced."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean squared error: :math:`\ell_i = (x_i - y_i)^2`, then reduced.

    ``weight`` (same shape as input) multiplies each element's loss; the mean is then
    ``sum(w * l) / sum(w)``, as torch (huber_loss's weighted mean divides by the count instead).

    >>> F.mse_loss(ember.tensor([1., 2.]), ember.tensor([0., 0.]))
    tensor(2.5000)
    """
    _warn_if_sizes_differ(input, target)
    reduction = _get_reduction(size_average, reduce, reduction)
    _pointwise_args(input, target, "mse_cpu")
    if weight is not None:
        return _weighted(_MSELoss.apply(input, target, "none"), weight, input, reduction, True)
    return _MSELoss.apply(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean absolute error: :math:`\ell_i = |x_i - y_i|`, then reduced. With ``weight``, the
    mean is ``sum(w * l) / sum(w)``, as torch."""
    _warn_if_sizes_differ(input, target)
    reduction = _get_reduction(size_average, reduce, reduction)
    _pointwise_args(input, target, "l1_cpu")
    if weight is not None:
        return _weighted(_L1Loss.apply(input, target, "none"), weight, input, reduction, True)
    return _L1Loss.apply(input, target, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    r"""Smooth L1: :math:`0.5 d^2/\beta` where :math:`|d| < \beta`, else :math:`|d| - 0.5\beta`,
    with :math:`d = x - y`; ``beta=0`` is the L1 loss."""
    _warn_if_sizes_differ(input, target)
    reduction = _get_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _pointwise_args(input, target, "smooth_l1_cpu")
    if beta == 0.0:
        return _L1Loss.apply(input, target, reduction)
    return _SmoothL1Loss.apply(input, target, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    r"""Huber loss: :math:`0.5 d^2` where :math:`|d| < \delta`, else
    :math:`\delta(|d| - 0.5\delta)`, with :math:`d = x - y`."""
    _warn_if_sizes_differ(input, target)
    reduction = _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _pointwise_args(input, target, "huber_cpu")
    if weight is not None:
        return _weighted(_HuberLoss.apply(input, target, "none", float(delta)), weight, input,
                         reduction, False)
    return _HuberLoss.apply(input, target, reduction, float(delta))


# ---------------------------------------------------------------------------------------------
# binary cross-entropy, on probabilities and on logits
# ---------------------------------------------------------------------------------------------

class _BinaryCrossEntropy(Function):
    r""":math:`\ell = -w [y \log x + (1 - y) \log(1 - x)]`, each log clamped at -100 so that
    x = 0 or 1 gives a finite loss (torch's convention).

    d/dx = w (x - y) / max(x (1 - x), 1e-12);   d/dy = w (log(1 - x) - log x).
    """
    name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, y, w, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = -(y * log_x + (1 - y) * log_1mx)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, y, log_x, log_1mx)
        ctx.w = w  # an array made by the functional, not an input's storage
        ctx.reduction = reduction
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, log_x, log_1mx = ctx.saved_tensors
        w = ctx.w
        g = _unreduce(grad, x.shape, ctx.reduction)
        if w is not None:
            g = g * w
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = (g * (x - y) / np.maximum(x * (1 - x), 1e-12)).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            gy = (g * (log_1mx - log_x)).astype(y.dtype, copy=False)
        return gx, gy, None, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    r"""Binary cross-entropy between probabilities ``input`` and targets ``target`` (both in
    [0, 1], same shape): :math:`\ell_i = -w_i[y_i \log x_i + (1 - y_i)\log(1 - x_i)]`.

    Prefer :func:`binary_cross_entropy_with_logits` on logits: it is stable where this one must
    clamp its logs at -100.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    x, y = _array(input), _array(target)
    _check_not_integer("binary_cross_entropy", x)
    if y.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {_type_name(y)} but expected {_type_name(x)}")
    # written as "not inside" so that NaN fails the check, as torch's (x >= 0 && x <= 1) does
    if not np.all((x >= 0) & (x <= 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not np.all((y >= 0) & (y <= 1)):
        raise RuntimeError("all elements of target should be between 0 and 1")
    w = None
    if weight is not None:
        w = _array(weight)
        new_shape = np.broadcast_shapes(y.shape, w.shape)
        if new_shape != y.shape:
            raise RuntimeError(f"output with shape {list(y.shape)} doesn't match the broadcast "
                               f"shape {list(new_shape)}")
        w = np.broadcast_to(w.astype(x.dtype, copy=False), y.shape)
    return _BinaryCrossEntropy.apply(input, target, w, reduction)


class _BinaryCrossEntropyWithLogits(Function):
    r""":math:`\ell = w[(1 - y) x - (1 + (p - 1) y) \log\sigma(x)]` with the positive-class
    weight p (torch's formula; equal to -w[p y log σ(x) + (1-y) log(1-σ(x))]).
    log σ(x) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)) never overflows.

    d/dx = w[(1 - y) - (1 + (p - 1) y) σ(-x)];   d/dy = w[-x - (p - 1) log σ(x)].
    """
    name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, y, w, pos_weight, reduction):
        dtype = _result_dtype(x, y)
        log_sig = np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
        log_weight = 1 + (pos_weight - 1) * y if pos_weight is not None else 1
        loss = (1 - y) * x - log_weight * log_sig
        if w is not None:
            loss = loss * w
        loss = np.asarray(loss, dtype=dtype)
        ctx.save_for_backward(x, y, log_sig)
        ctx.meta = (loss.shape, reduction, w, pos_weight)  # arrays made by the functional
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, log_sig = ctx.saved_tensors
        shape, reduction, w, pos_weight = ctx.meta
        g = _unreduce(grad, shape, reduction)
        if w is not None:
            g = g * w
        gx = gy = None
        if ctx.needs_input_grad[0]:
            log_weight = 1 + (pos_weight - 1) * y if pos_weight is not None else 1
            sig_neg = np.exp(log_sig - x)  # σ(-x) = σ(x) e^{-x}, exact for either sign of x
            gx = _grad_to(g * ((1 - y) - log_weight * sig_neg), x.shape, x.dtype)
        if ctx.needs_input_grad[1]:
            d = -x if pos_weight is None else -x - (pos_weight - 1) * log_sig
            gy = _grad_to(g * d, y.shape, y.dtype)
        return gx, gy, None, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    r"""Sigmoid + binary cross-entropy in one stable step, on logits ``input``:
    :math:`\ell_i = -w_i[p\, y_i \log\sigma(x_i) + (1 - y_i)\log(1 - \sigma(x_i))]`.

    ``pos_weight`` (broadcast over the last dims, e.g. one per class) weighs positive examples;
    ``weight`` rescales each element's loss.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    x, y = _array(input), _array(target)
    _check_not_integer("binary_cross_entropy_with_logits", x)
    dtype = _result_dtype(x, y)
    w = pw = None
    if weight is not None:
        w = _array(weight)
        _check_broadcast(w, y)
        w = w.astype(dtype, copy=False)
    if pos_weight is not None:
        pw = _array(pos_weight)
        _check_broadcast(pw, y)
        pw = pw.astype(dtype, copy=False)
    return _BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction)


# ---------------------------------------------------------------------------------------------
# KL divergence
# ---------------------------------------------------------------------------------------------

class _KLDiv(Function):
    r""":math:`\ell = y(\log y - x)` (0 where y = 0), or :math:`e^{y}(y - x)` when the target is
    given as log-probabilities. d/dx = -y (or -e^y); d/dy = log y + 1 - x, nan where y = 0
    as torch (or e^y (y - x + 1))."""
    name = "KlDivBackward0"

    @staticmethod
    def forward(ctx, x, y, reduction, log_target, batch_size):
        dtype = _result_dtype(x, y)
        if log_target:
            ey = np.exp(y)
            loss = ey * (y - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                xlogy = np.where(y == 0, 0, y * np.log(np.where(y == 0, 1, y)))
            loss = xlogy - y * x
        loss = np.asarray(loss, dtype=dtype)
        ctx.save_for_backward(x, y)
        ctx.meta = (loss.shape, reduction, log_target, batch_size)
        if reduction == "batchmean":
            return np.asarray(loss.sum() / batch_size, dtype=dtype)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        shape, reduction, log_target, batch_size = ctx.meta
        if reduction == "batchmean":
            g = np.broadcast_to(grad / batch_size, shape)
        else:
            g = _unreduce(grad, shape, reduction)
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _grad_to(-g * (np.exp(y) if log_target else y), x.shape, x.dtype)
        if ctx.needs_input_grad[1]:
            if log_target:
                d = np.exp(y) * (y - x + 1)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    # torch differentiates xlogy(y, y): its y/y term makes y = 0 give nan
                    d = np.where(y == 0, np.nan, np.log(y) + 1 - x)
            gy = _grad_to(g * d, y.shape, y.dtype)
        return gx, gy, None, None, None


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    r"""Kullback-Leibler divergence :math:`\ell_i = y_i(\log y_i - x_i)` with ``input`` given
    as log-probabilities (and ``target`` as probabilities, or log-probabilities when
    ``log_target``).

    ``reduction='batchmean'`` (sum / batch size) is the mathematical KL divergence;
    ``'mean'`` divides by the number of elements and warns, as torch.
    """
    if size_average is not None or reduce is not None:
        reduction = _get_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    elif reduction != "batchmean":
        reduction = _check_reduction(reduction)
    x, y = _array(input), _array(target)
    _check_not_integer("kl_div", x)
    _check_broadcast(x, y)
    batch_size = x.shape[0] if x.ndim else 1
    return _KLDiv.apply(input, target, reduction, bool(log_target), batch_size)


# ---------------------------------------------------------------------------------------------
# negative log-likelihood and cross-entropy over classes
# ---------------------------------------------------------------------------------------------

def _as_batched(x: np.ndarray, target: np.ndarray):
    """(C,) with a scalar (or 1-element) target is one sample: view it as (1, C) and (1,)."""
    if x.ndim == 1:
        return x[None], target.reshape(1)
    return x, target


def _class_targets(target: np.ndarray, n_classes: int, ignore_index: int):
    """Per-sample class (ignored ones replaced by 0, a valid index) and whether it is kept.
    Raises torch's IndexError for a class out of range. (Few array operations: on a small
    classifier head, (64, 10), each one costs more than its arithmetic.)"""
    target = target.astype(np.int64, copy=False)
    kept = target != ignore_index
    safe = target if kept.all() else np.where(kept, target, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= n_classes):
        bad = kept & ((target < 0) | (target >= n_classes))
        raise IndexError(f"Target {target[bad].flat[0]} is out of bounds.")
    return safe, kept


def _sample_weights(safe, kept, weight, dtype):
    if weight is None:
        return kept.astype(dtype)
    return np.where(kept, weight[safe], 0).astype(dtype, copy=False)


def _per_sample(v: np.ndarray) -> np.ndarray:
    """(N, *rest) per-sample values as (N, 1, *rest), to broadcast over the class axis."""
    return v.reshape(v.shape[:1] + (1,) + v.shape[1:])


def _at_targets(a: np.ndarray, safe: np.ndarray):
    """Index of a[n, safe[n], ...] for every sample (class axis 1): plain fancy indexing for
    (rows, classes), several times cheaper than take_along_axis's."""
    if a.ndim == 2:
        return np.arange(a.shape[0]), safe
    samples, *positions = np.indices(safe.shape, sparse=True)
    return (samples, safe, *positions)


def _reduce_weighted(loss: np.ndarray, w_t: np.ndarray, reduction: str) -> np.ndarray:
    """'mean' of NLL is a weighted mean: the sum of the losses over the sum of the samples'
    weights (0/0 = nan when every target is ignored)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return np.asarray(total, dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / w_t.sum(dtype=loss.dtype), dtype=loss.dtype)


def _unreduce_weighted(grad, w_t, reduction):
    """The adjoint of :func:`_reduce_weighted`: per sample ('none'), or one value that
    broadcasts against ``w_t`` (a broadcast view costs more than the arithmetic it saves)."""
    if reduction == "none":
        return grad
    if reduction == "mean":
        total = w_t.sum(dtype=grad.dtype)
        # every target ignored: the loss is nan (0/0) but, as torch, the gradient is 0
        grad = grad / total if total != 0 else np.zeros_like(grad)
    return grad


class _NLLLoss(Function):
    r""":math:`\ell_n = -w_{y_n} x_{n, y_n}` (0 for ignored targets); 'mean' divides the sum by
    :math:`\sum_n w_{y_n}`. The gradient puts :math:`-w_{y_n} g_n` at each target class."""
    name = "NllLossBackward0"

    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xb, tb = _as_batched(x, target)
        safe, kept = _class_targets(tb, xb.shape[1], ignore_index)
        w_t = _sample_weights(safe, kept, weight, x.dtype)
        picked = np.take_along_axis(xb, safe[:, None], axis=1)[:, 0]
        loss = -w_t * picked
        ctx.meta = (x.shape, safe, w_t, reduction)
        out = _reduce_weighted(loss, w_t, reduction)
        return out.reshape(()) if x.ndim == 1 and reduction == "none" else out

    @staticmethod
    def backward(ctx, grad):
        x_shape, safe, w_t, reduction = ctx.meta
        g = _unreduce_weighted(grad.reshape(w_t.shape) if reduction == "none" else grad, w_t,
                               reduction)
        gx = np.zeros((1, *x_shape) if len(x_shape) == 1 else x_shape, dtype=w_t.dtype)
        np.put_along_axis(gx, safe[:, None], (-w_t * g)[:, None], axis=1)
        return gx.reshape(x_shape), None, None, None, None


class _CrossEntropy(Function):
    r"""log-softmax over the class axis and the negative log-likelihood, fused.

    With :math:`p = \mathrm{softmax}(x)` and :math:`\log p = x - \mathrm{logsumexp}(x)`:

    * class indices, label smoothing ε, class weights w (torch's
      cross_entropy_loss_label_smoothing): :math:`\ell_n = (1-ε) w_{y_n}(-\log p_{n,y_n})
      + \frac{ε}{C}\sum_c w_c(-\log p_{n,c})`, 0 if ignored; 'mean' divides by
      :math:`\sum_n w_{y_n}` over the kept samples.
    * probabilities q (same shape as x): :math:`\ell_n = -\sum_c w_c q'_{n,c}\log p_{n,c}` with
      :math:`q' = (1-ε) q + ε/C`; 'mean' divides by the number of samples.

    Writing :math:`a_{n,c} = -\partial\ell/\partial\log p_{n,c}` (the weighted target), the
    logits' gradient is :math:`g_n (p_{n,c} \sum_{c'} a_{n,c'} - a_{n,c})`. For class indices
    only :math:`e^{x - \max x}` and its row sums are kept: p is rebuilt from them in backward,
    and the loss needs just :math:`\log\sum e^{x - \max x} - (x_y - \max x)`.
    """
    name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing, probs):
        unbatched = x.ndim == 1
        xb = x[None] if unbatched else x
        tb = (target[None] if probs else target.reshape(1)) if unbatched else target
        n_classes = xb.shape[1]
        wb = None if weight is None else weight.reshape((1, n_classes) + (1,) * (xb.ndim - 2))

        ctx.x_meta = (x.shape, x.dtype)
        ctx.options = (reduction, label_smoothing, wb)
        if probs:
            shifted = xb - xb.max(axis=1, keepdims=True)  # x - max: exp never overflows
            with np.errstate(divide="ignore"):  # an all -inf row gives nan, as torch
                logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            dtype = _result_dtype(x, target)
            q = tb * (1 - label_smoothing) + label_smoothing / n_classes if label_smoothing else tb
            a = q * wb if wb is not None else q
            loss = np.asarray(-(logp * a).sum(axis=1), dtype=dtype)
            out = _reduce(loss, reduction)  # 'mean': over the samples
            ctx.targets = None
            ctx.t_meta = (target.shape, target.dtype)
            ctx.save_for_backward(logp, a)
        elif xb.ndim == 2 and xb.size >= _CE_COMPILED_FROM and xb.dtype in (np.float32,
                                                                            np.float64):
            # (rows, classes): one compiled pass per row (ember/_kernels/loss.py)
            exps, sums, loss, w_t, safe, kept = _ce_rows_forward(xb, tb, weight, ignore_index,
                                                                 label_smoothing)
            out = _reduce_weighted(loss, w_t, reduction)
            ctx.targets = (safe, kept, w_t)
            ctx.compiled_rows = True
            ctx.save_for_backward(exps, sums)
        else:
            # -log p_y = log(sum_c e^(x_c - max)) - (x_y - max): the log-probabilities are never
            # formed; backward rebuilds p from the saved exponentials and their sum.
            safe, kept = _class_targets(tb, n_classes, ignore_index)
            w_t = _sample_weights(safe, kept, weight, x.dtype)
            shifted = xb - xb.max(axis=1, keepdims=True)  # x - max: exp never overflows
            picked = shifted[_at_targets(shifted, safe)]
            if label_smoothing:
                weighted_shift = (shifted * wb).sum(axis=1) if wb is not None else shifted.sum(1)
            exps = np.exp(shifted, out=shifted)
            sums = exps.sum(axis=1)
            with np.errstate(divide="ignore"):
                log_sums = np.log(sums)
            loss = w_t * (log_sums - picked)
            if label_smoothing:
                total_w = wb.sum() if wb is not None else n_classes
                smooth = np.where(kept, total_w * log_sums - weighted_shift, 0)
                loss = (1 - label_smoothing) * loss + (label_smoothing / n_classes) * smooth
            loss = loss.astype(x.dtype, copy=False)
            out = _reduce_weighted(loss, w_t, reduction)  # 'mean': over the kept weights
            ctx.targets = (safe, kept, w_t)
            ctx.save_for_backward(exps, sums)
        ctx.loss_shape = loss.shape
        return out.reshape(()) if unbatched and reduction == "none" else out

    @staticmethod
    def backward(ctx, grad):
        x_shape, x_dtype = ctx.x_meta
        reduction, eps, wb = ctx.options
        if reduction == "none":
            grad = grad.reshape(ctx.loss_shape)
        gt = None
        if ctx.targets is None:  # probabilities: a = g * q' * w
            logp, a = ctx.saved_tensors
            g = np.expand_dims(_unreduce(grad, ctx.loss_shape, reduction), 1)
            if ctx.needs_input_grad[1]:
                t_shape, t_dtype = ctx.t_meta
                scale = (1 - eps) * (wb if wb is not None else 1)
                gt = (-g * logp * scale).astype(t_dtype, copy=False).reshape(t_shape)
            a = a * g
            gx = np.exp(logp) * a.sum(axis=1, keepdims=True) - a
        elif getattr(ctx, "compiled_rows", False):
            exps, sums = ctx.saved_tensors
            gx = _ce_rows_backward(exps, sums, ctx.targets, grad, reduction, eps, wb)
        else:  # class indices: a = c one-hot(y) + spread w, with c = (1 - ε) w_y g, spread = ε/C g
            exps, sums = ctx.saved_tensors
            safe, kept, w_t = ctx.targets
            g = _unreduce_weighted(grad, w_t, reduction)
            c = (1 - eps) * w_t * g
            total = c  # sum_c a_c
            if eps:
                spread = np.where(kept, g, 0) * (eps / exps.shape[1])
                total = c + spread * (wb.sum() if wb is not None else exps.shape[1])
            with np.errstate(invalid="ignore", divide="ignore"):
                gx = exps * _per_sample(total / sums)  # p * sum(a)
            if eps:
                gx -= _per_sample(spread) * wb if wb is not None else _per_sample(spread)
            gx[_at_targets(gx, safe)] -= c  # one target per sample: no repeated index
        gx = gx.astype(x_dtype, copy=False).reshape(x_shape) if ctx.needs_input_grad[0] else None
        return gx, gt, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # recorded backward (create_graph=True): the gradient of log_softmax then the loss.
        # x itself is not kept, but the saved exp(x - max) (or log p) gives x up to a per-row
        # constant, which log_softmax ignores; it rides on a zero stand-in linked to x's graph.
        from ...autograd.higher_order import grad_of, input_links
        (saved_x, _), probs = ctx.saved_tensors, ctx._args[6]
        with np.errstate(divide="ignore"):
            shifted = saved_x if probs else np.log(saved_x)
        shifted = shifted.reshape(ctx.x_meta[0])
        composed = _ce_probs_composed if probs else _ce_indices_composed
        return grad_of(lambda *args: composed(ctx, shifted, *args), ctx, (grad,),
                       input_links(ctx))


def _ce_rows_forward(x, target, weight, ignore_index, eps):
    """cross_entropy_rows_forward on (rows, C) logits: (exps, sums, loss, w_t, safe, kept)."""
    rows, n_classes = x.shape
    target = np.ascontiguousarray(target)
    bad = first_bad_target(target, n_classes, ignore_index)
    if bad >= 0:
        raise IndexError(f"Target {int(target[bad])} is out of bounds.")
    x = np.ascontiguousarray(x)
    dtype = x.dtype
    exps = np.empty_like(x)
    sums, loss, w_t = np.empty(rows, dtype), np.empty(rows, dtype), np.empty(rows, dtype)
    safe, kept = np.empty(rows, np.int64), np.empty(rows, np.bool_)
    weight = _NO_WEIGHT[dtype] if weight is None else np.ascontiguousarray(weight)
    cross_entropy_rows_forward(x, target, weight, ignore_index, dtype.type(eps), exps, sums,
                               loss, w_t, safe, kept, work=x.size * _CE_WORK)
    return exps, sums, loss, w_t, safe, kept


def _ce_rows_backward(exps, sums, targets, grad, reduction, eps, wb):
    """The logits' gradient for _ce_rows_forward's loss, ``grad`` its upstream gradient."""
    safe, kept, w_t = targets
    dtype = exps.dtype
    if reduction == "none":
        g = np.ascontiguousarray(grad, dtype=dtype).reshape(-1)
    else:
        g = np.reshape(_unreduce_weighted(grad, w_t, reduction), 1).astype(dtype)  # all rows
    weight = _NO_WEIGHT[dtype] if wb is None else np.ascontiguousarray(wb.reshape(-1))
    out = np.empty_like(exps)
    cross_entropy_rows_backward(exps, sums, safe, kept, w_t, g, weight, dtype.type(eps), out,
                                work=exps.size * 2)
    return out


_NO_WEIGHT = {np.dtype(t): np.empty(0, t) for t in (np.float32, np.float64)}

#: Logits from this many elements on take the compiled rows (fwd + bwd 1.6x faster on (256, 1000),
#: one core); smaller ones the NumPy path: the two kernels cost ~1.9 s of CPU to compile on a
#: first run, which a classifier head such as the demo's (64, 10) would pay for ~80 us a step.
_CE_COMPILED_FROM = 1 << 14


def _check_class_input(x: np.ndarray, t: np.ndarray, weight, op: str) -> None:
    """torch's checks of nll_loss_nd's input, target and weight shapes (LossNLL.cpp)."""
    if x.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    _check_not_integer(op, x)
    if x.ndim != 1 and (t.ndim == 0 or x.shape[0] != t.shape[0]):
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({t.shape[0] if t.ndim else 0}).")
    if x.ndim <= 2:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if x.ndim == 1 and t.ndim == 1 and t.shape[0] != 1:
            raise RuntimeError(f"size mismatch (got input: {list(x.shape)}, target: "
                               f"{list(t.shape)})")
    elif x.ndim == 4:
        if t.ndim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {t.ndim}")
        if t.shape != (x.shape[0],) + x.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(x.shape)} , target: "
                               f"{list(t.shape)}")
    elif t.shape != (x.shape[0],) + x.shape[2:]:
        raise RuntimeError(f"Expected target size {[x.shape[0], *x.shape[2:]]}, got "
                           f"{list(t.shape)}")
    _check_class_weight(x, weight)
    if t.dtype not in (np.int64, np.uint8):  # checked by the kernel, after the shapes
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_name(t)}")


def _check_class_weight(x: np.ndarray, weight) -> None:
    if weight is None:
        return
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if weight.ndim != 1 or weight.size != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x)} but found "
                           f"{_type_name(weight)}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    r"""Negative log-likelihood of class indices ``target`` under log-probabilities ``input``:
    :math:`\ell_n = -w_{y_n} x_{n,y_n}`.

    Shapes: input (N, C) or (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...) of int64
    (or uint8) class indices in [0, C), or ``ignore_index`` to skip a sample. 'mean' is the
    weighted mean :math:`\sum_n \ell_n / \sum_n w_{y_n}`.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    x, t = _array(input), _array(target)
    w = None if weight is None else _array(weight)
    _check_class_input(x, t, w, "nll_loss_out_frame")
    return _NLLLoss.apply(input, target, w, int(ignore_index), reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    r"""Cross-entropy between logits ``input`` and ``target``: log-softmax over the class
    dimension, then the negative log-likelihood - fused into one numerically stable step.

    ``target`` is either class indices (int64, shape input.shape without the class dim; entries
    equal to ``ignore_index`` are skipped) or class probabilities (floating point, the same
    shape as input). ``weight`` (C,) rescales each class; ``label_smoothing`` ε mixes the
    target with the uniform distribution: :math:`q' = (1-ε) q + ε/C`.

    Shapes: input (C,), (N, C) or (N, C, d1, ...) - the class dimension is 1 (0 unbatched).

    >>> F.cross_entropy(ember.tensor([[2., 0., 0.]]), ember.tensor([0]))
    tensor(0.2395)
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    x, t = _array(input), _array(target)
    w = None if weight is None else _array(weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if x.ndim >= 1 and x.shape == t.shape:
        # same shape: the target holds class probabilities (torch's rule, LossNLL.cpp)
        _check_not_integer("log_softmax_lastdim_kernel_impl", x)
        if t.dtype.kind != "f":
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {_type_name(t)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        _check_class_weight(x, w)
        return _CrossEntropy.apply(input, target, w, ignore_index, reduction,
                                   float(label_smoothing), True)
    _check_class_input(x, t, w, "log_softmax_lastdim_kernel_impl")
    return _CrossEntropy.apply(input, target, w, int(ignore_index), reduction,
                               float(label_smoothing), False)


# =========================================================================== double backward (issue 11, G7)
# Each loss's backward in Tensor ops (create_graph=True records it: GAN R1/DRAGAN penalties,
# gradient regularisers). Saved inputs come back linked to their graph (higher_order.saved);
# arrays the functional made (weights) are constants.
def _unreduce_graph(grad, shape, reduction):
    """:func:`_unreduce` on a Tensor (recorded)."""
    if reduction == "none":
        return grad
    if reduction == "mean":
        grad = grad / max(math.prod(shape), 1)
    return grad.expand(*shape)


def _pointwise_graph(elementwise):
    """A pointwise loss's recorded backward: the gradient of ``elementwise(d, param)``, on the
    saved difference d = x - t rebuilt as (x - t)'s graph (zero stand-ins) plus d's values."""
    def backward_graph(ctx, grad):
        from ...autograd.higher_order import constant, grad_of, input_links
        (d,) = ctx.saved_tensors

        def composed(x, t, reduction, param=None):
            diff = constant(d, grad)
            if hasattr(x, "grad_fn"):
                diff = diff + x
            if hasattr(t, "grad_fn"):
                diff = diff - t
            loss = elementwise(diff, param)
            return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()
        return grad_of(composed, ctx, (grad,), input_links(ctx))
    return staticmethod(backward_graph)


def _quadratic_below(diff, threshold, quadratic, linear):
    """``quadratic`` where |d| < threshold else ``linear``, the branch picked by a constant mask
    (as torch's backward, whose derivative of the branch choice is zero)."""
    from ...autograd.higher_order import constant
    inner = constant(np.abs(diff._data) < threshold, diff)
    return inner * quadratic + (1 - inner) * linear


def _smooth_l1_graph(diff, beta):
    if beta == 0:  # torch: plain l1
        return diff.abs()
    return _quadratic_below(diff, beta, 0.5 * diff * diff / beta, diff.abs() - 0.5 * beta)


def _huber_graph(diff, delta):
    return _quadratic_below(diff, delta, 0.5 * diff * diff, delta * (diff.abs() - 0.5 * delta))


# double backward (issue 11)
_MSELoss.backward_graph = _pointwise_graph(lambda diff, _: diff ** 2)
_L1Loss.backward_graph = _pointwise_graph(lambda diff, _: diff.abs())
_SmoothL1Loss.backward_graph = _pointwise_graph(_smooth_l1_graph)
_HuberLoss.backward_graph = _pointwise_graph(_huber_graph)


def _bce_graph(ctx, grad):
    """d/dx = w (x - y) / max(x (1 - x), 1e-12); d/dy = w (log(1 - x) - log x), logs >= -100."""
    from ...autograd.higher_order import constant, saved
    x, y, _, _ = saved(ctx)
    g = _unreduce_graph(grad, tuple(x.shape), ctx.reduction)
    if ctx.w is not None:
        g = g * constant(ctx.w, x)
    gx = gy = None
    if ctx.needs_input_grad[0]:
        gx = g * (x - y) / (x * (1 - x)).clamp(min=1e-12)
    if ctx.needs_input_grad[1]:
        gy = g * ((-x).log1p().clamp(min=-100) - x.log().clamp(min=-100))
    return gx, gy, None, None


def _bce_logits_graph(ctx, grad):
    """d/dx = w[(1 - y) - (1 + (p - 1) y) σ(-x)];   d/dy = w[-x - (p - 1) log σ(x)]."""
    from ...autograd.higher_order import constant, saved, sum_to
    from .activation import softplus  # -log σ(x) = softplus(-x), with its own double backward
    x, y, _ = saved(ctx)
    shape, reduction, w, pos_weight = ctx.meta
    g = _unreduce_graph(grad, shape, reduction)
    if w is not None:
        g = g * constant(w, x)
    pw = None if pos_weight is None else constant(pos_weight, x)
    gx = gy = None
    if ctx.needs_input_grad[0]:
        log_weight = 1 + (pw - 1) * y if pw is not None else 1
        gx = sum_to(g * ((1 - y) - log_weight * (-x).sigmoid()), x.shape)
    if ctx.needs_input_grad[1]:
        d = -x if pw is None else -x + (pw - 1) * softplus(-x)
        gy = sum_to(g * d, y.shape)
    return gx, gy, None, None, None


def _kl_div_graph(ctx, grad):
    """d/dx = -y (or -e^y); d/dy = log y + 1 - x, nan where y = 0 (or e^y (y - x + 1))."""
    from ...autograd.higher_order import constant, saved, sum_to
    x, y = saved(ctx)
    shape, reduction, log_target, batch_size = ctx.meta
    if reduction == "batchmean":
        g = (grad / batch_size).expand(*shape)
    else:
        g = _unreduce_graph(grad, shape, reduction)
    gx = gy = None
    if ctx.needs_input_grad[0]:
        gx = sum_to(-g * (y.exp() if log_target else y), x.shape)
    if ctx.needs_input_grad[1]:
        if log_target:
            d = y.exp() * (y - x + 1)
        else:
            with np.errstate(divide="ignore"):  # y = 0 gives nan, as torch's xlogy(y, y)
                d = y.log() + 1 - x + constant(np.where(y._data == 0, np.nan, 0), x)
        gy = sum_to(g * d, y.shape)
    return gx, gy, None, None, None


_BinaryCrossEntropy.backward_graph = staticmethod(_bce_graph)
_BinaryCrossEntropyWithLogits.backward_graph = staticmethod(_bce_logits_graph)
_KLDiv.backward_graph = staticmethod(_kl_div_graph)


def _ce_log_probs(x, shifted):
    """log_softmax over the class axis of x (a zero stand-in) + the saved shifted logits."""
    from ...autograd.higher_order import constant
    x = x + constant(shifted, x)
    return (x if x.ndim > 1 else x.unsqueeze(0)).log_softmax(1)


def _ce_probs_composed(ctx, shifted, x, target, weight, ignore_index, reduction, eps, probs):
    """-sum_c w_c q'_c log p_c with q' = (1 - ε) q + ε/C; the target's values (not kept) come
    from the saved a = q' w, its graph from a zero stand-in (linear in it)."""
    from ...autograd.higher_order import constant
    logp = _ce_log_probs(x, shifted)
    _, _, wb = ctx.options
    t = target if target.ndim > 1 else target.unsqueeze(0)
    if (ctx._saved_from or (None, None))[1] == ("in", 1):
        a = t  # a is the target itself (no weight, no smoothing): the link holds its values
    else:
        a = constant(ctx.saved_tensors[1], logp) + (1 - eps) * t * (
            constant(wb, logp) if wb is not None else 1)
    loss = -(logp * a).sum(1)
    return _ce_reduce(loss, reduction, x.ndim == 1)


def _ce_indices_composed(ctx, shifted, x, target, weight, ignore_index, reduction, eps, probs):
    """torch's cross_entropy_loss_label_smoothing: (1 - ε) nll(log p) + ε/C smooth, with
    smooth_n = -sum_c w_c log p_{n,c} (0 where ignored), 'mean' over the kept targets' weight."""
    from ...autograd.higher_order import constant
    logp = _ce_log_probs(x, shifted)
    tb = target if x.ndim > 1 else target.reshape(1)
    nll = _NLLLoss.apply(logp, tb, weight, ignore_index, reduction)
    if x.ndim == 1 and reduction == "none":
        nll = nll.reshape(())
    if not eps:
        return nll
    _, kept, w_t = ctx.targets
    _, _, wb = ctx.options
    smooth = -((logp * constant(wb, logp)) if wb is not None else logp).sum(1)
    smooth = smooth * constant(kept, logp)
    if reduction == "mean":
        smooth = smooth.sum() / constant(w_t.sum(), logp)
    else:
        smooth = _ce_reduce(smooth, reduction, x.ndim == 1)
    return (1 - eps) * nll + smooth * (eps / logp.shape[1])


def _ce_reduce(loss, reduction, unbatched):
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    return loss.sum() if reduction == "sum" else loss.mean()


# =========================================================================== issue 12: the remaining losses
# Composed of differentiable ember ops in the order of torch's own compositions (aten's Loss.cpp
# and LossMulti*.cpp kernels, torch/nn/functional.py), so values round as torch's do and the
# gradients (double backward included) come from the ops. A hinge max(0, z) is relu(z) where
# torch's kernel tests z > 0 (gradient 0 at the kink) and clamp_min(z, 0) where torch composes
# clamp_min (gradient passed at z = 0), as each torch function does.

_COSINE_EPS = 1e-12  # aten's EPSILON (Loss.cpp), added to each squared magnitude


def _reduced(loss: Tensor, reduction: str) -> Tensor:
    """aten's apply_loss_reduction, on a Tensor."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _constant(array: np.ndarray) -> Tensor:
    return Tensor._wrap(np.asarray(array))


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    r"""Whether two inputs are alike (target 1) or not (target -1), by their cosine similarity:
    :math:`\ell_n = 1 - \cos(x_1, x_2)` if :math:`y_n = 1`, :math:`\max(0, \cos(x_1, x_2) -
    \text{margin})` if :math:`y_n = -1` (0 for any other target value).

    Shapes: inputs (N, D) with target (N,), or (D,) with a 0-d target.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    t_dim = target.ndim
    if t_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != t_dim + 1:
        raise RuntimeError(f"{t_dim}D target tensor expects {t_dim + 1}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    prod_sum = (input1 * input2).sum(t_dim)
    mag_square1 = (input1 * input1).sum(t_dim) + _COSINE_EPS
    mag_square2 = (input2 * input2).sum(t_dim) + _COSINE_EPS
    cos = prod_sum / (mag_square1 * mag_square2).sqrt()
    _check_broadcast(_array(target), cos._data)  # torch's message, before where's
    output = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduced(output, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    r"""Ranking of two inputs: :math:`\ell_n = \max(0, -y_n (x_{1,n} - x_{2,n}) + \text{margin})`,
    y = 1 when x1 should rank higher, -1 when x2 should."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but "
                           f"got sizes: input1: {_size(input1)}, input2: {_size(input2)}, "
                           f"target: {_size(target)} ")
    return _reduced((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def _size(t) -> str:
    """torch's repr of a tensor's size, as its Python-level messages print it."""
    return f"torch.Size({list(t.shape)})"


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    r""":math:`\ell_n = x_n` where :math:`y_n = 1`, :math:`\max(0, \text{margin} - x_n)` where
    :math:`y_n = -1` (both terms for any other target value, as torch)."""
    reduction = _get_reduction(size_average, reduce, reduction)
    _check_broadcast(_array(target), _array(input))  # torch's message, before where's
    margin_clamp = (margin - input).clamp_min(0)
    output = where(target != 1, margin_clamp, 0.0) + where(target != -1, input, 0.0)
    return _reduced(output, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Two-class logistic loss: :math:`\ell_i = \log(1 + e^{-y_i x_i})`, y in {1, -1}.

    As torch, the target is not differentiable (an error if it requires grad) and broadcasts to
    the input's shape, never the other way round.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    if isinstance(target, Tensor) and target.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect to "
                           "argument 'target'. This input cannot have requires_grad True.")
    x, t = _array(input), _array(target)
    _check_broadcast(x, t)
    shape = np.broadcast_shapes(x.shape, t.shape)
    if shape != x.shape:
        raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast shape "
                           f"{list(shape)}")
    if x.dtype.kind != "f":  # the in-place product (or the exp after it) is floating
        result = _type_name(t) if t.dtype.kind == "f" else "Float"
        raise RuntimeError(f"result type {result} can't be cast to the desired output type "
                           f"{_type_name(x)}")
    # written into a buffer of the input's shape and dtype, as aten's soft_margin_loss_out
    target = _constant(t.astype(x.dtype, copy=False))
    return _reduced(((-input * target).exp() + 1).log(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    r"""One-vs-all logistic loss over C labels: :math:`\ell_n = -\frac{1}{C}\sum_c w_c [y_{nc}
    \log\sigma(x_{nc}) + (1 - y_{nc}) \log\sigma(-x_{nc})]`, the class dim being the last."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):  # checked after computing, as torch
        raise ValueError(f"{reduction} is not valid")
    return _reduced(loss, reduction)


def _margin_shape_check(x: np.ndarray) -> tuple[int, int]:
    """(samples, classes) of a multi(label) margin loss's input: (C,) or (N, C), N may be 0."""
    if not ((x.ndim <= 1 and x.size > 0) or (x.ndim == 2 and x.shape[1] > 0)):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(x.shape)}")
    if x.ndim <= 1:
        return 1, max(x.size, 1)
    return x.shape[0], x.shape[1]


def _check_long_target(x: np.ndarray, t: np.ndarray, op: str) -> None:
    _check_not_integer(op, x)
    if t.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(t)}")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    r"""Multi-class hinge loss: :math:`\ell_n = \frac{1}{C}\sum_{i \ne y_n} w_{y_n}
    \max(0, \text{margin} - x_{n,y_n} + x_{n,i})^p`, p = 1 or 2.

    Shapes: input (N, C) or (C,); target (N,) int64 class indices ((), or (1,), unbatched).
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _array(input), _array(target)
    n, c = _margin_shape_check(x)
    if t.ndim > 1 or t.size != n:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the "
                           f"number of input samples (batch size). Expected target size [{n}], but "
                           f"got {list(t.shape)}. Input has shape {list(x.shape)}.")
    if weight is not None and (weight.ndim > 1 or weight.numel() != c):
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(weight.shape)}")
    _check_long_target(x, t, "multi_margin_loss_cpu_kernel")
    if weight is not None and _array(weight).dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x)} but found "
                           f"{_type_name(_array(weight))}")
    labels = t.reshape(n)
    if np.any((labels < 0) | (labels >= c)):
        raise RuntimeError("target out of range")
    rows = input.reshape(n, c)
    at_target = rows.gather(1, _constant(labels[:, None]))
    hinge = relu(margin - at_target + rows)  # torch's kernel: z > 0, so no gradient at z = 0
    if p == 2:
        hinge = hinge * hinge
    others = np.ones((n, c), dtype=bool)
    others[np.arange(n), labels] = False
    hinge = hinge * _constant(others.astype(x.dtype))
    if weight is not None:
        hinge = hinge * weight[_constant(labels)].unsqueeze(1)
    loss = hinge.sum(1) / c
    if reduction == "none":
        return loss if t.ndim > 0 else loss.reshape(())
    return _reduced(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Multi-label hinge loss: :math:`\ell_n = \frac{1}{C}\sum_{j}\sum_{i \notin y_n}
    \max(0, 1 - (x_{n,y_{nj}} - x_{n,i}))`, over the target labels :math:`y_{nj}` up to the first
    -1 (repeated labels count each time, as torch).

    Shapes: input (N, C) or (C,); target of the same shape, int64, padded by -1.
    """
    reduction = _get_reduction(size_average, reduce, reduction)
    x, t = _array(input), _array(target)
    n, c = _margin_shape_check(x)
    if (x.ndim <= 1 and (t.ndim > 1 or t.size != c)) or (
            x.ndim == 2 and (t.ndim != 2 or t.shape != x.shape)):
        raise RuntimeError(f"inconsistent target size: {list(t.shape)} for input of size: "
                           f"{list(x.shape)}")
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    _check_long_target(x, t, "multilabel_margin_loss_forward_out_frame")
    labels = t.reshape(n, c)
    # the labels in use: those before the first -1 of each row; the pairs below are
    # (n, j, C) with j only as wide as the longest such prefix (a few labels, typically)
    used = np.cumprod(labels >= 0, axis=1).astype(bool)
    width = int(used.sum(axis=1).max(initial=0))
    used, labels = used[:, :width], labels[:, :width]
    is_target = np.zeros((n, c), dtype=bool)
    rows_idx = np.broadcast_to(np.arange(n)[:, None], used.shape)
    is_target[rows_idx[used], labels[used]] = True
    rows = input.reshape(n, c)
    at_labels = rows.gather(1, _constant(np.where(used, labels, 0)))          # (n, j)
    hinge = relu(1 - at_labels.unsqueeze(2) + rows.unsqueeze(1))               # (n, j, i)
    pairs = used[:, :, None] & ~is_target[:, None, :]
    loss = (hinge * _constant(pairs.astype(x.dtype))).sum((1, 2)) / c
    if reduction == "none":
        return loss if x.ndim > 1 else loss.reshape(())
    return _reduced(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    r"""Negative log-likelihood of a Poisson target: :math:`e^{x} - y x` on log rates
    (``log_input``), else :math:`x - y \log(x + \text{eps})`; ``full`` adds Stirling's
    :math:`y \log y - y + \frac12 \log(2\pi y)` where y > 1."""
    reduction = _get_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduced(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    r""":math:`\frac12(\log \max(\text{var}, \text{eps}) + (x - y)^2 / \max(\text{var},
    \text{eps}))` (+ :math:`\frac12\log 2\pi` when ``full``). ``var`` has the input's shape
    (heteroscedastic), one dim fewer, or one dim of size 1 (homoscedastic), or is a float;
    the clamp at eps is invisible to autograd, as torch."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif not isinstance(var, Tensor):
        raise TypeError(f"var must be a Tensor or a float, got {type(var).__name__}")
    elif (var < 0).any():
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim
                  and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    var = var.clone()
    with grad_mode.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduced(loss, reduction)


def _check_triplet_dims(anchor, positive, negative) -> None:
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                           f"negative {n}D inputs")


def _check_margin(margin) -> None:
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")


def _triplet(dist_pos, dist_neg, dist_swap, margin, reduction):
    """max(0, margin + d(a, p) - d(a, n)), d(a, n) replaced by min(d(a, n), d(p, n)) with swap
    (Balntas et al. 2016, "Learning local feature descriptors with triplets")."""
    if dist_swap is not None:
        dist_neg = dist_neg.minimum(dist_swap)
    return _reduced((margin + dist_pos - dist_neg).clamp_min(0), reduction)


class _EuclideanTriplet(Function):
    r"""The default triplet loss (p = 2) fused, as triplet_margin_loss composes it from ember
    ops for other p: :math:`\max(0, m + d(a, p) - d(a, n))`, :math:`d(x, y) = \|x - y + \epsilon\|_2`
    over the last dim, with swap :math:`d(a, n) \to \min(d(a, n), d(p, n))`. One Function
    instead of a dozen ops: the loss is small-tensor work, where each op's overhead dominates.

    Gradients as the composition's (torch's): :math:`\partial d(x, y)/\partial x = (x - y +
    \epsilon) / d`, 0 where d = 0 (torch's norm); the hinge passes the gradient at 0 (clamp_min);
    a tie in the swap's minimum splits it in halves. Double backward recomposes.
    """
    @staticmethod
    def forward(ctx, anchor, positive, negative, margin, eps, swap, reduction):
        diffs = [anchor - positive + eps, anchor - negative + eps]
        if swap:
            diffs.append(positive - negative + eps)
        dists = [np.sqrt(np.einsum("...i,...i->...", d, d)) for d in diffs]
        dist_neg = np.minimum(dists[1], dists[2]) if swap else dists[1]
        hinge = margin + dists[0] - dist_neg
        ctx.save_for_backward(anchor, positive, negative)
        ctx.parts = (diffs, dists, hinge >= 0, reduction)
        return _reduce(np.maximum(hinge, 0).astype(anchor.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        diffs, dists, passed, reduction = ctx.parts
        g = _unreduce(grad, passed.shape, reduction) * passed
        with np.errstate(divide="ignore", invalid="ignore"):
            units = [np.where(d[..., None] == 0, 0, v / d[..., None]) for v, d in zip(diffs, dists)]
        if len(units) == 3:  # swap: the minimum's gradient, halves at a tie
            to_n = np.where(dists[1] < dists[2], 1.0, np.where(dists[1] == dists[2], 0.5, 0.0))
            g_swap = ((g * (1 - to_n))[..., None] * units[2])
            g_neg = (g * to_n)[..., None] * units[1]
        else:
            g_swap, g_neg = 0, g[..., None] * units[1]
        g_pos = g[..., None] * units[0]
        dtype = units[0].dtype
        return ((g_pos - g_neg).astype(dtype, copy=False),
                (-g_pos - g_swap).astype(dtype, copy=False),
                (g_neg + g_swap).astype(dtype, copy=False), None, None, None, None)

    @staticmethod
    def backward_graph(ctx, grad):
        from ...autograd.higher_order import grad_of, input_links
        return grad_of(lambda a, p, n, margin, eps, swap, reduction: _composed_triplet(
            a, p, n, margin, 2.0, eps, swap, reduction), ctx, (grad,), input_links(ctx))


# torch's grad_fn is that of the loss's last op: clamp_min, or the reduction after it
_EUCLIDEAN_TRIPLET = {reduction: type(f"_EuclideanTriplet_{reduction}", (_EuclideanTriplet,),
                                      {"name": name})
                      for reduction, name in (("none", "ClampMinBackward0"),
                                              ("mean", "MeanBackward0"), ("sum", "SumBackward0"))}


def _composed_triplet(anchor, positive, negative, margin, p, eps, swap, reduction):
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    dist_swap = pairwise_distance(positive, negative, p, eps) if swap else None
    return _triplet(dist_pos, dist_neg, dist_swap, margin, reduction)


def _fusable_triplet(p, *tensors) -> bool:
    """The fused Euclidean path takes three floating tensors of one shape and dtype (no
    broadcasting, no promotion); anything else composes."""
    first = _array(tensors[0])
    return p == 2 and first.ndim >= 1 and first.dtype.kind == "f" and all(
        isinstance(t, Tensor) and t.shape == tensors[0].shape and t._data.dtype == first.dtype
        for t in tensors)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    r"""Triplet loss :math:`\max(0, \text{margin} + d(a, p) - d(a, n))` with the pairwise
    p-norm distance :math:`d(x, y) = \|x - y + \text{eps}\|_p` over the last dim."""
    reduction = _get_reduction(size_average, reduce, reduction)
    _check_margin(margin)
    _check_triplet_dims(anchor, positive, negative)
    if _fusable_triplet(p, anchor, positive, negative):
        return _EUCLIDEAN_TRIPLET[reduction].apply(anchor, positive, negative, float(margin), float(eps),
                                       bool(swap), reduction)
    return _composed_triplet(anchor, positive, negative, margin, p, eps, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    r"""Triplet loss with any ``distance_function(x, y)`` (default: the pairwise Euclidean
    distance): :math:`\max(0, \text{margin} + d(a, p) - d(a, n))`."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _check_margin(margin)
    _check_triplet_dims(anchor, positive, negative)
    if distance_function is None:
        distance_function = pairwise_distance
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    dist_swap = distance_function(positive, negative) if swap else None
    return _triplet(dist_pos, dist_neg, dist_swap, margin, reduction)


# ---------------------------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------------------------

_CTC_CHECKS = "(while checking arguments for ctc_loss_allocate_outputs)"


def _ctc_lengths(input_lengths, target_lengths):
    """Both length arguments as int64 arrays: torch takes two tensors of an integral dtype or two
    sequences of ints (its two overloads), nothing mixed."""
    tensors = isinstance(input_lengths, Tensor), isinstance(target_lengths, Tensor)
    if all(tensors):
        arrays = _array(input_lengths), _array(target_lengths)
        for name, a in zip(("input_lengths", "target_lengths"), arrays):
            if a.dtype.kind not in "iu":
                raise RuntimeError(f"{name} must be integral")
        return tuple(a.reshape(-1).astype(np.int64) for a in arrays)
    if not any(tensors) and all(_is_int_sequence(v) for v in (input_lengths, target_lengths)):
        return tuple(np.array([int(i) for i in v], dtype=np.int64).reshape(-1)
                     for v in (input_lengths, target_lengths))
    raise TypeError("ctc_loss(): input_lengths and target_lengths must be both Tensors of an "
                    "integral dtype or both tuples of ints, but got "
                    f"({type(input_lengths).__name__}, {type(target_lengths).__name__})")


def _is_int_sequence(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in value)


def _ctc_padded_targets(t: np.ndarray, target_lengths, n_batch: int) -> np.ndarray:
    """Targets as (N, S) int64 rows, from torch's two layouts: padded (N, S), or concatenated
    (sum(target_lengths),). Checks the sizes as aten's ctc_loss_allocate_outputs."""
    if t.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {t.ndim}-dimensional tensor for "
                           f"argument #2 'targets' {_CTC_CHECKS}")
    negative = target_lengths[target_lengths < 0]
    if negative.size:
        raise RuntimeError("Expected target_lengths to have value at least 0, but got value "
                           f"{negative[0]} {_CTC_CHECKS}")
    max_length = int(target_lengths.max(initial=0))
    if t.ndim == 1:
        total = int(target_lengths.sum())
        if t.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got size "
                               f"{t.shape[0]} for argument #2 'targets' {_CTC_CHECKS}")
        padded = np.zeros((n_batch, max_length), dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(target_lengths)[:-1]))
        for b, (start, length) in enumerate(zip(starts, target_lengths)):
            padded[b, :length] = t[start:start + length]
        return padded
    if t.shape[0] != n_batch:
        raise RuntimeError(f"Expected tensor to have size {n_batch} at dimension 0, but got size "
                           f"{t.shape[0]} for argument #2 'targets' {_CTC_CHECKS}")
    if t.shape[1] < max_length:
        raise RuntimeError(f"Expected tensor to have size at least {max_length} at dimension 1, "
                           f"but got size {t.shape[1]} for argument #2 'targets' {_CTC_CHECKS}")
    return np.ascontiguousarray(t, dtype=np.int64)


def _check_ctc_labels(padded: np.ndarray, target_lengths, n_labels: int) -> None:
    """The labels a path visits must index log_probs' classes. torch reads out of bounds here
    (undefined behaviour); ember refuses, as its kernels never see an unchecked index. Padding
    beyond a target's length is never read, so may hold anything (-1, say)."""
    in_use = np.arange(padded.shape[1]) < target_lengths[:, None]
    labels = padded[in_use]
    bad = labels[(labels < 0) | (labels >= n_labels)]
    if bad.size:
        raise RuntimeError(f"ctc_loss: targets must be class indices in [0, {n_labels}), but got "
                           f"{int(bad[0])}")


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    r"""Connectionist Temporal Classification loss (Graves et al. 2006): the negative
    log-likelihood of ``targets`` summed over every alignment of them (with blanks and
    repeats) to the T input steps.

    Shapes: ``log_probs`` (T, N, C) or unbatched (T, C), log-probabilities (log_softmax over C);
    ``targets`` (N, S) padded or concatenated (sum(target_lengths),), class indices other than
    ``blank``; ``input_lengths``/``target_lengths`` (N,) tensors of an integral dtype or
    tuples/lists of ints. A target that cannot fit in its input length (it needs one step per
    label plus one per repeated pair) has an infinite loss; ``zero_infinity`` makes it and its
    gradient 0. 'mean' divides each loss by its target length (at least 1), then averages.

    As torch, the gradient is taken assuming ``log_probs`` are normalised log-probabilities
    (exact through the log_softmax that made them).

    >>> lp = ember.randn(50, 16, 20).log_softmax(2).requires_grad_()
    >>> targets = ember.randint(1, 20, (16, 30))
    >>> F.ctc_loss(lp, targets, [50] * 16, [30] * 16).backward()
    """
    reduction = _check_reduction(reduction)
    il, tl = _ctc_lengths(input_lengths, target_lengths)
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    x = _array(lp)
    if x.dtype not in (np.float32, np.float64):
        raise NotImplementedError(f'"ctc_loss_cpu" not implemented for \'{_type_name(x)}\'')
    if x.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {x.ndim}-dimensional tensor "
                           f"for argument #1 'log_probs' {_CTC_CHECKS}")
    max_input_length, n_batch, n_labels = x.shape
    if not 0 <= blank < n_labels:
        raise RuntimeError("blank must be in label range")
    if il.size != n_batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != n_batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    t = _array(targets)
    padded = _ctc_padded_targets(t.astype(np.int64) if t.dtype != np.int64 else t, tl, n_batch)
    out_of_range = il[(il < 0) | (il > max_input_length)]
    if out_of_range.size:  # the first one, as aten's loop over the batch raises
        length = out_of_range[0]
        if length < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value "
                               f"{length} {_CTC_CHECKS}")
        raise RuntimeError(f"Expected input_lengths to have value at most {max_input_length}, "
                           f"but got value {length} {_CTC_CHECKS}")
    _check_ctc_labels(padded, tl, n_labels)
    loss = CtcLoss.apply(lp, padded, il, tl, int(blank), bool(zero_infinity))
    if zero_infinity:
        loss = where(loss == math.inf, 0.0, loss)
    if reduction == "mean":
        return (loss / _constant(np.maximum(tl, 1).astype(x.dtype))).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)
