"""Every layer ember has, exported: each Module class ``ember.nn`` exports and each function of
``ember.nn.functional`` is either run in onnxruntime on values other than the traced ones (and a
batch of another size where the layer has a batch axis) and compared with ember to 1e-5, or is
in ``REFUSED`` with the reason, and then must raise UnsupportedOperatorError naming the op.
A layer added to ember with neither fails ``test_every_module_has_a_sample`` (or the
functional one)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from .test_export import Fn, check, export_bytes

pytest.importorskip("onnxruntime")


# ------------------------------------------------------------------------------- input makers
# A maker(n, seed) returns one input with batch ``n``: traced with n = 2, run with n = 3 where
# the sample is dynamic (else n = 2 again, with other values).
def normal(*rest, scale=1.0):
    return lambda n, s: ember.tensor(
        (np.random.default_rng(s).standard_normal((n, *rest)) * scale).astype(np.float32))


def unbatched(*shape):
    return lambda n, s: ember.tensor(np.random.default_rng(s).standard_normal(shape)
                                     .astype(np.float32))


def uniform(*rest, lo=0.05, hi=0.95):
    return lambda n, s: ember.tensor(np.random.default_rng(s).uniform(lo, hi, (n, *rest))
                                     .astype(np.float32))


def classes(k, *rest):
    return lambda n, s: ember.tensor(np.random.default_rng(s).integers(0, k, (n, *rest)))


def signs(*rest):
    return lambda n, s: ember.tensor(np.where(np.random.default_rng(s).random((n, *rest)) < 0.5,
                                              -1.0, 1.0).astype(np.float32))


def bits(*rest):
    return lambda n, s: ember.tensor((np.random.default_rng(s).random((n, *rest)) < 0.5)
                                     .astype(np.float32))


def multilabel(k):
    """MultiLabelMarginLoss targets: class indices, each row ended by -1 at a random place."""
    def make(n, s):
        rng = np.random.default_rng(s)
        t = np.stack([rng.permutation(k) for _ in range(n)])
        for row in t:
            row[rng.integers(1, k + 1):] = -1
        return ember.tensor(t.astype(np.int64))
    return make


def with_layer(layer, forward):
    """A model calling ``forward(layer, *inputs)``, with ``layer`` registered (eval mode and
    its parameters reach it)."""
    return Fn(lambda *xs: forward(layer, *xs), layer)


def materialized(module, *shapes):
    """A lazy module after one forward on inputs of ``shapes`` (its parameters made)."""
    module(*[ember.zeros(*s) for s in shapes])
    return module


# ------------------------------------------------------------------------------- modules
# class name -> (factory, makers, dynamic batch)
MODULES = {
    "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(3), [normal(3, 7)], True),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), [normal(3, 5, 7)], True),
    "AdaptiveAvgPool3d": (lambda: nn.AdaptiveAvgPool3d(2), [normal(2, 4, 5, 4)], True),
    "AdaptiveMaxPool1d": (lambda: nn.AdaptiveMaxPool1d(3), [normal(3, 7)], True),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d((2, 3)), [normal(3, 5, 7)], True),
    "AdaptiveMaxPool3d": (lambda: nn.AdaptiveMaxPool3d(2), [normal(2, 4, 4, 4)], True),
    "AlphaDropout": (lambda: nn.AlphaDropout(0.3), [normal(5)], True),
    "AvgPool1d": (lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True), [normal(3, 8)], True),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), [normal(2, 7, 7)],
                  True),
    "AvgPool3d": (lambda: nn.AvgPool3d(2, ceil_mode=True), [normal(2, 5, 4, 5)], True),
    "BCELoss": (lambda: nn.BCELoss(), [uniform(4), bits(4)], True),
    "BCEWithLogitsLoss": (lambda: nn.BCEWithLogitsLoss(pos_weight=ember.tensor(
        [1.0, 2.0, 0.5, 3.0])), [normal(4), bits(4)], True),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), [normal(3, 4)], True),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), [normal(3, 4, 4)], True),
    "BatchNorm3d": (lambda: nn.BatchNorm3d(2), [normal(2, 3, 3, 3)], True),
    "Bilinear": (lambda: nn.Bilinear(3, 4, 2), [normal(3), normal(4)], True),
    "CELU": (lambda: nn.CELU(0.7), [normal(5)], True),
    "ChannelShuffle": (lambda: nn.ChannelShuffle(2), [normal(4, 3, 3)], True),
    "CircularPad1d": (lambda: nn.CircularPad1d((1, 2)), [normal(2, 5)], True),
    "CircularPad2d": (lambda: nn.CircularPad2d(1), [normal(2, 4, 4)], True),
    "CircularPad3d": (lambda: nn.CircularPad3d(1), [normal(1, 3, 3, 3)], True),
    "ConstantPad1d": (lambda: nn.ConstantPad1d((1, 2), 0.5), [normal(2, 5)], True),
    "ConstantPad2d": (lambda: nn.ConstantPad2d(1, -1.0), [normal(2, 4, 4)], True),
    "ConstantPad3d": (lambda: nn.ConstantPad3d((1, 0, 2, 1, 0, 1), 2.0), [normal(1, 3, 3, 3)],
                      True),
    "Conv1d": (lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
               [normal(4, 9)], True),
    "Conv2d": (lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect", groups=2),
               [normal(4, 6, 6)], True),
    "Conv3d": (lambda: nn.Conv3d(2, 3, 2, padding="same", padding_mode="replicate"),
               [normal(2, 4, 4, 4)], True),
    "ConvTranspose1d": (lambda: nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1,
                                                   groups=2, dilation=2), [normal(4, 5)], True),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
                        [normal(3, 4, 4)], True),
    "ConvTranspose3d": (lambda: nn.ConvTranspose3d(2, 2, 2, stride=2), [normal(2, 2, 3, 2)],
                        True),
    "CosineEmbeddingLoss": (lambda: nn.CosineEmbeddingLoss(margin=0.2),
                            [normal(5), normal(5), signs()], True),
    "CosineSimilarity": (lambda: nn.CosineSimilarity(dim=1), [normal(5), normal(5)], True),
    "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(
        weight=ember.tensor([1.0, 2.0, 0.5, 1.5]), ignore_index=1, label_smoothing=0.1),
        [normal(4, 3), classes(4, 3)], True),
    "CrossMapLRN2d": (lambda: nn.CrossMapLRN2d(3), [normal(5, 3, 3)], True),
    "Dropout": (lambda: nn.Dropout(0.4), [normal(5)], True),
    "Dropout1d": (lambda: nn.Dropout1d(0.4), [normal(3, 5)], True),
    "Dropout2d": (lambda: nn.Dropout2d(0.4), [normal(3, 4, 4)], True),
    "Dropout3d": (lambda: nn.Dropout3d(0.4), [normal(3, 2, 2, 2)], True),
    "ELU": (lambda: nn.ELU(0.5), [normal(5)], True),
    "Embedding": (lambda: nn.Embedding(10, 3, padding_idx=0), [classes(10, 4)], True),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(10, 3, mode="mean"), [classes(10, 4)], True),
    "FeatureAlphaDropout": (lambda: nn.FeatureAlphaDropout(0.3), [normal(3, 4, 4)], True),
    "Flatten": (lambda: nn.Flatten(), [normal(2, 3, 4)], True),
    "Fold": (lambda: nn.Fold((4, 5), 2), [normal(3 * 4, 12)], True),
    "GELU": (lambda: nn.GELU(), [normal(5)], True),
    "GLU": (lambda: nn.GLU(-1), [normal(3, 6)], True),
    "GRU": (lambda: nn.GRU(4, 5, batch_first=True), [normal(3, 4)], True),
    "GRUCell": (lambda: nn.GRUCell(4, 5), [normal(4), normal(5)], True),
    "GaussianNLLLoss": (lambda: nn.GaussianNLLLoss(full=True),
                        [normal(4), normal(4), uniform(4, lo=0.5, hi=2.0)], True),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), [normal(4, 3, 3)], True),
    "Hardshrink": (lambda: nn.Hardshrink(0.4), [normal(5)], True),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), [normal(5, scale=4)], True),
    "Hardswish": (lambda: nn.Hardswish(), [normal(5, scale=4)], True),
    "Hardtanh": (lambda: nn.Hardtanh(-0.5, 0.8), [normal(5)], True),
    "HingeEmbeddingLoss": (lambda: nn.HingeEmbeddingLoss(margin=0.5),
                           [normal(5), signs(5)], True),
    "HuberLoss": (lambda: nn.HuberLoss(delta=0.6), [normal(5), normal(5)], True),
    "Identity": (lambda: nn.Identity(), [normal(5)], True),
    # (affine or running statistics: repeated per sample at trace time, so a fixed batch; see
    # test_instance_norm_dynamic_batch_limits)
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(3, affine=True), [normal(3, 6)], False),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(3), [normal(3, 4, 4)], True),
    "InstanceNorm3d": (lambda: nn.InstanceNorm3d(2, track_running_stats=True),
                       [normal(2, 3, 3, 3)], False),
    "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"), [normal(5), uniform(5)], True),
    "L1Loss": (lambda: nn.L1Loss(), [normal(5), normal(5)], True),
    "LPPool1d": (lambda: nn.LPPool1d(2, 3, stride=2), [normal(3, 8)], True),
    "LPPool2d": (lambda: nn.LPPool2d(3, 2), [normal(2, 5, 5)], True),
    "LPPool3d": (lambda: nn.LPPool3d(1, 2), [normal(2, 4, 4, 4)], True),
    "LSTM": (lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True), [
        unbatched(3, 2, 4)], False),
    "LSTMCell": (lambda: nn.LSTMCell(4, 5), [normal(4)], True),
    "LayerNorm": (lambda: nn.LayerNorm([3, 4]), [normal(3, 4)], True),
    "LazyBatchNorm1d": (lambda: materialized(nn.LazyBatchNorm1d(), (2, 3)), [normal(3)], True),
    "LazyBatchNorm2d": (lambda: materialized(nn.LazyBatchNorm2d(), (2, 3, 2, 2)),
                        [normal(3, 2, 2)], True),
    "LazyBatchNorm3d": (lambda: materialized(nn.LazyBatchNorm3d(), (2, 2, 2, 2, 2)),
                        [normal(2, 2, 2, 2)], True),
    "LazyConv1d": (lambda: materialized(nn.LazyConv1d(4, 3), (1, 2, 6)), [normal(2, 6)], True),
    "LazyConv2d": (lambda: materialized(nn.LazyConv2d(4, 3), (1, 2, 5, 5)), [normal(2, 5, 5)],
                   True),
    "LazyConv3d": (lambda: materialized(nn.LazyConv3d(2, 2), (1, 2, 3, 3, 3)),
                   [normal(2, 3, 3, 3)], True),
    "LazyConvTranspose1d": (lambda: materialized(nn.LazyConvTranspose1d(4, 3), (1, 2, 5)),
                            [normal(2, 5)], True),
    "LazyConvTranspose2d": (lambda: materialized(nn.LazyConvTranspose2d(3, 2, stride=2),
                                                 (1, 2, 3, 3)), [normal(2, 3, 3)], True),
    "LazyConvTranspose3d": (lambda: materialized(nn.LazyConvTranspose3d(2, 2), (1, 2, 2, 2, 2)),
                            [normal(2, 2, 2, 2)], True),
    # (lazy instance norms are affine and track running statistics, as torch's)
    "LazyInstanceNorm1d": (lambda: materialized(nn.LazyInstanceNorm1d(), (2, 3, 4)),
                           [normal(3, 4)], False),
    "LazyInstanceNorm2d": (lambda: materialized(nn.LazyInstanceNorm2d(affine=True),
                                                (2, 3, 4, 4)), [normal(3, 4, 4)], False),
    "LazyInstanceNorm3d": (lambda: materialized(nn.LazyInstanceNorm3d(), (2, 2, 3, 3, 3)),
                           [normal(2, 3, 3, 3)], False),
    "LazyLinear": (lambda: materialized(nn.LazyLinear(3), (2, 5)), [normal(5)], True),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), [normal(5)], True),
    "Linear": (lambda: nn.Linear(5, 3), [normal(5)], True),
    "LocalResponseNorm": (lambda: nn.LocalResponseNorm(3), [normal(5, 3, 3)], True),
    "LogSigmoid": (lambda: nn.LogSigmoid(), [normal(5)], True),
    "LogSoftmax": (lambda: nn.LogSoftmax(1), [normal(5)], True),
    "MSELoss": (lambda: nn.MSELoss(reduction="sum"), [normal(5), normal(5)], True),
    "MarginRankingLoss": (lambda: nn.MarginRankingLoss(0.3), [normal(), normal(), signs()],
                          True),
    "MaxPool1d": (lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), [normal(3, 8)], True),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 2, dilation=2), [normal(2, 9, 9)], True),
    "MaxPool3d": (lambda: nn.MaxPool3d(2, ceil_mode=True), [normal(2, 3, 5, 4)], True),
    "MaxUnpool1d": (lambda: Fn(lambda a: nn.MaxUnpool1d(2)(*F.max_pool1d(
        a, 2, return_indices=True))), [normal(2, 6)], True),
    "MaxUnpool2d": (lambda: Fn(lambda a: nn.MaxUnpool2d(2)(*F.max_pool2d(
        a, 2, return_indices=True))), [normal(2, 4, 4)], True),
    "MaxUnpool3d": (lambda: Fn(lambda a: nn.MaxUnpool3d(2)(*F.max_pool3d(
        a, 2, return_indices=True))), [normal(2, 4, 4, 4)], True),
    "Mish": (lambda: nn.Mish(), [normal(5)], True),
    "MultiLabelSoftMarginLoss": (lambda: nn.MultiLabelSoftMarginLoss(
        weight=ember.tensor([1.0, 0.5, 2.0, 1.0])), [normal(4), bits(4)], True),
    "MultiheadAttention": (lambda: with_layer(nn.MultiheadAttention(8, 2, batch_first=True),
                                              lambda m, q, kv: m(q, kv, kv)),
                           [normal(3, 8), normal(4, 8)], True),
    "NLLLoss": (lambda: nn.NLLLoss(weight=ember.tensor([1.0, 2.0, 0.5]), ignore_index=2),
                [normal(3), classes(3)], True),
    "PReLU": (lambda: nn.PReLU(3, 0.3), [normal(3, 4)], True),
    "PairwiseDistance": (lambda: nn.PairwiseDistance(p=3.0, keepdim=True),
                         [normal(5), normal(5)], True),
    "PixelShuffle": (lambda: nn.PixelShuffle(2), [normal(8, 2, 3)], True),
    "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), [normal(2, 4, 6)], True),
    "PoissonNLLLoss": (lambda: nn.PoissonNLLLoss(log_input=False, full=True),
                       [uniform(5, lo=0.1, hi=3.0), uniform(5, lo=0.0, hi=4.0)], True),
    "RMSNorm": (lambda: nn.RMSNorm(4, eps=1e-5), [normal(3, 4)], True),
    "RNN": (lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True), [normal(3, 4)], True),
    "RNNCell": (lambda: nn.RNNCell(4, 5), [normal(4)], True),
    "RReLU": (lambda: nn.RReLU(), [normal(5)], True),
    "ReLU": (lambda: nn.ReLU(), [normal(5)], True),
    "ReLU6": (lambda: nn.ReLU6(), [normal(5, scale=5)], True),
    "ReflectionPad1d": (lambda: nn.ReflectionPad1d((2, 1)), [normal(2, 5)], True),
    "ReflectionPad2d": (lambda: nn.ReflectionPad2d(1), [normal(2, 4, 4)], True),
    "ReflectionPad3d": (lambda: nn.ReflectionPad3d(1), [normal(1, 3, 3, 3)], True),
    "ReplicationPad1d": (lambda: nn.ReplicationPad1d((2, 1)), [normal(2, 5)], True),
    "ReplicationPad2d": (lambda: nn.ReplicationPad2d(1), [normal(2, 4, 4)], True),
    "ReplicationPad3d": (lambda: nn.ReplicationPad3d(1), [normal(1, 3, 3, 3)], True),
    "SELU": (lambda: nn.SELU(), [normal(5)], True),
    "SiLU": (lambda: nn.SiLU(), [normal(5)], True),
    "Sigmoid": (lambda: nn.Sigmoid(), [normal(5)], True),
    "SmoothL1Loss": (lambda: nn.SmoothL1Loss(beta=0.5), [normal(5), normal(5)], True),
    # (soft_margin_loss refuses a target that requires grad, as torch, and export makes every
    # floating input require grad: the target goes in detached)
    "SoftMarginLoss": (lambda: with_layer(nn.SoftMarginLoss(), lambda m, a, t: m(a, t.detach())),
                       [normal(5), signs(5)], True),
    "Softmax": (lambda: nn.Softmax(-1), [normal(5)], True),
    "Softmax2d": (lambda: nn.Softmax2d(), [normal(3, 2, 2)], True),
    "Softmin": (lambda: nn.Softmin(1), [normal(5)], True),
    "Softplus": (lambda: nn.Softplus(2.0, 3.0), [normal(5)], True),
    "Softshrink": (lambda: nn.Softshrink(0.4), [normal(5)], True),
    "Softsign": (lambda: nn.Softsign(), [normal(5)], True),
    "Tanh": (lambda: nn.Tanh(), [normal(5)], True),
    "Tanhshrink": (lambda: nn.Tanhshrink(), [normal(5)], True),
    "Threshold": (lambda: nn.Threshold(0.2, -3.0), [normal(5)], True),
    "Transformer": (lambda: nn.Transformer(8, 2, 1, 1, 16, batch_first=True),
                    [normal(4, 8), normal(3, 8)], True),
    "TransformerDecoder": (lambda: nn.TransformerDecoder(
        nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2),
        [normal(3, 8), normal(4, 8)], True),
    "TransformerDecoderLayer": (lambda: nn.TransformerDecoderLayer(8, 2, 16, batch_first=True,
                                                                   norm_first=True),
                                [normal(3, 8), normal(4, 8)], True),
    "TransformerEncoder": (lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2), [normal(4, 8)], True),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, activation="gelu"),
                                [unbatched(4, 2, 8)], False),
    "TripletMarginLoss": (lambda: nn.TripletMarginLoss(margin=0.5, swap=True),
                          [normal(5), normal(5), normal(5)], True),
    "TripletMarginWithDistanceLoss": (lambda: nn.TripletMarginWithDistanceLoss(
        distance_function=nn.PairwiseDistance(p=1.0)), [normal(5), normal(5), normal(5)], True),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), [normal(6)], True),
    "Unfold": (lambda: nn.Unfold(2, dilation=1, padding=1, stride=2), [normal(3, 5, 4)], True),
    "Upsample": (lambda: nn.Upsample(scale_factor=1.5, mode="bicubic"), [normal(2, 3, 4)], True),
    "UpsamplingBilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=2), [normal(2, 3, 3)],
                             True),
    "UpsamplingNearest2d": (lambda: nn.UpsamplingNearest2d(size=(5, 4)), [normal(2, 3, 3)], True),
    "ZeroPad1d": (lambda: nn.ZeroPad1d(2), [normal(2, 5)], True),
    "ZeroPad2d": (lambda: nn.ZeroPad2d((1, 0, 2, 1)), [normal(2, 4, 4)], True),
    "ZeroPad3d": (lambda: nn.ZeroPad3d(1), [normal(1, 3, 3, 3)], True),
}

# Not layers: containers and bases, exported through the layers they hold.
NOT_LAYERS = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
              "ParameterDict", "RNNBase", "RNNCellBase", "DataParallel"}

# What ember.onnx refuses, and why: (a regex the error must match, besides the op's name).
REFUSED = {
    # ember builds these losses' masks from the target's values with NumPy: read at trace
    # time, so a target fed to the graph would be ignored (export raises; a target that is a
    # constant of the model exports: test_margin_losses_with_a_fixed_target)
    "MultiMarginLoss": ("do not reach the exported graph", (
        lambda: nn.MultiMarginLoss(), [normal(4), classes(4)])),
    "MultiLabelMarginLoss": ("do not reach the exported graph", (
        lambda: nn.MultiLabelMarginLoss(), [normal(4), multilabel(4)])),
    # a dynamic program over every alignment of the targets: ONNX has no such op and torch.onnx
    # does not export it either
    "CTCLoss": ("CtcLoss", (lambda: with_layer(nn.CTCLoss(), lambda m, lp: m(
        lp.log_softmax(2), ember.tensor([[1, 2], [2, 2]]), [4, 4], [2, 1])),
        [lambda n, s: normal(2, 3)(4, s)])),
    # windows drawn at random on each call; torch.onnx does not export it either
    "FractionalMaxPool2d": ("at random", (lambda: nn.FractionalMaxPool2d(2, output_size=3),
                                          [normal(1, 6, 6)])),
    "FractionalMaxPool3d": ("at random", (lambda: nn.FractionalMaxPool3d(2, output_size=2),
                                          [normal(1, 4, 4, 4)])),
}


def _modules():
    return sorted(n for n in dir(nn) if inspect.isclass(getattr(nn, n))
                  and issubclass(getattr(nn, n), nn.Module))


def test_every_module_has_a_sample():
    missing = [n for n in _modules() if n not in MODULES and n not in REFUSED
               and n not in NOT_LAYERS]
    assert not missing, f"layers with neither an ONNX sample nor a documented refusal: {missing}"
    stale = (set(MODULES) | set(REFUSED)) - set(_modules())
    assert not stale, f"samples of layers ember.nn no longer has: {sorted(stale)}"


# samples that need a newer opset than the default (17)
OPSET = {"CircularPad1d": 19, "CircularPad2d": 19, "CircularPad3d": 19, "Fold": 18}

# Known gaps, each an expected failure (strict: a gap closed fails here until it is removed).
# (none left: every layer exports or is in REFUSED)
NOT_YET = set()


def run_sample(model, makers, dynamic, opset=None):
    traced = [m(2, 0) for m in makers]
    if dynamic:
        names = [f"in{i}" for i in range(len(makers))]
        check(model, *traced, run_args=[m(3, i + 7) for i, m in enumerate(makers)],
              input_names=names, dynamic_axes={n: {0: "batch"} for n in names},
              opset_version=opset)
    else:
        check(model, *traced, run_args=[m(2, i + 7) for i, m in enumerate(makers)],
              opset_version=opset)


def not_yet(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="not exported yet"))
            if n in NOT_YET else n for n in sorted(names)]


@pytest.mark.parametrize("name", not_yet(MODULES))
def test_module(name):
    make, makers, dynamic = MODULES[name]
    ember.manual_seed(0)
    run_sample(make(), makers, dynamic, OPSET.get(name))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_module_refused(name):
    why, (make, makers) = REFUSED[name]
    ember.manual_seed(0)
    with pytest.raises(ember.onnx.OnnxExporterError, match=why) as e:
        export_bytes(make(), tuple(m(2, 0) for m in makers))
    if isinstance(e.value, ember.onnx.UnsupportedOperatorError):
        assert "Exporting the operator '" in str(e.value)  # the op is named


# ------------------------------------------------------------------------------- functional
# A function of a module's family (the same Function underneath, the module validating its
# options first) is exported through that module's sample.
VIA_MODULE = {
    **{f"{kind}_pool{n}d": f"{kind.replace('adaptive_', 'Adaptive').replace('avg', 'Avg')}"
       .replace('max', 'Max').replace('lp', 'LP') + f"Pool{n}d"
       for kind in ("avg", "max", "lp", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)},
    **{f"conv{n}d": f"Conv{n}d" for n in (1, 2, 3)},
    **{f"conv_transpose{n}d": f"ConvTranspose{n}d" for n in (1, 2, 3)},
    **{f"max_unpool{n}d": f"MaxUnpool{n}d" for n in (1, 2, 3)},
    **{f"dropout{n}d": f"Dropout{n}d" for n in (1, 2, 3)},
    "alpha_dropout": "AlphaDropout", "batch_norm": "BatchNorm2d", "bilinear": "Bilinear",
    "binary_cross_entropy": "BCELoss", "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "celu": "CELU", "channel_shuffle": "ChannelShuffle",
    "cosine_embedding_loss": "CosineEmbeddingLoss", "cosine_similarity": "CosineSimilarity",
    "cross_entropy": "CrossEntropyLoss", "dropout": "Dropout", "elu": "ELU",
    "embedding": "Embedding", "embedding_bag": "EmbeddingBag",
    "feature_alpha_dropout": "FeatureAlphaDropout", "fold": "Fold",
    "gaussian_nll_loss": "GaussianNLLLoss", "gelu": "GELU", "glu": "GLU",
    "group_norm": "GroupNorm", "hardshrink": "Hardshrink", "hardsigmoid": "Hardsigmoid",
    "hardswish": "Hardswish", "hardtanh": "Hardtanh",
    "hinge_embedding_loss": "HingeEmbeddingLoss", "huber_loss": "HuberLoss",
    "instance_norm": "InstanceNorm2d", "interpolate": "Upsample", "kl_div": "KLDivLoss",
    "l1_loss": "L1Loss", "layer_norm": "LayerNorm", "leaky_relu": "LeakyReLU",
    "local_response_norm": "LocalResponseNorm", "log_softmax": "LogSoftmax",
    "logsigmoid": "LogSigmoid", "margin_ranking_loss": "MarginRankingLoss", "mish": "Mish",
    "mse_loss": "MSELoss", "multi_head_attention_forward": "MultiheadAttention",
    "multi_margin_loss": "MultiMarginLoss", "multilabel_margin_loss": "MultiLabelMarginLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss", "nll_loss": "NLLLoss",
    "pairwise_distance": "PairwiseDistance", "pixel_shuffle": "PixelShuffle",
    "pixel_unshuffle": "PixelUnshuffle", "poisson_nll_loss": "PoissonNLLLoss",
    "prelu": "PReLU", "relu": "ReLU", "relu6": "ReLU6", "rms_norm": "RMSNorm", "rrelu": "RReLU",
    "selu": "SELU", "sigmoid": "Sigmoid", "silu": "SiLU", "smooth_l1_loss": "SmoothL1Loss",
    "soft_margin_loss": "SoftMarginLoss", "softmax": "Softmax", "softmin": "Softmin",
    "softplus": "Softplus", "softshrink": "Softshrink", "softsign": "Softsign", "tanh": "Tanh",
    "tanhshrink": "Tanhshrink", "threshold": "Threshold",
    "triplet_margin_loss": "TripletMarginLoss",
    "triplet_margin_with_distance_loss": "TripletMarginWithDistanceLoss", "unfold": "Unfold",
    "upsample_bilinear": "UpsamplingBilinear2d", "upsample_nearest": "UpsamplingNearest2d",
}


def _inplace(fn, *args):
    return lambda a: fn(a * 1, *args)


# functions no module stands for: name -> (forward, makers, dynamic batch)
FUNCTIONAL = {
    **{f"max_pool{n}d_with_indices": (lambda a, n=n: getattr(F, f"max_pool{n}d_with_indices")(
        a, 2, 1, ceil_mode=True), [normal(2, *[5] * n)], True) for n in (1, 2, 3)},
    **{f"adaptive_max_pool{n}d_with_indices": (
        lambda a, n=n: getattr(F, f"adaptive_max_pool{n}d_with_indices")(a, 2),
        [normal(2, *[4] * n)], True) for n in (1, 2, 3)},
    "affine_grid": (lambda t: F.affine_grid(t, [2, 1, 3, 4], align_corners=False),
                    [unbatched(2, 2, 3)], False),
    "grid_sample": (lambda a, g: F.grid_sample(a, g, padding_mode="border", align_corners=True),
                    [normal(2, 4, 5), uniform(3, 3, 2, lo=-1.2, hi=1.2)], True),
    "celu_": (_inplace(F.celu_, 0.5), [normal(5)], True),
    "elu_": (_inplace(F.elu_, 0.5), [normal(5)], True),
    "hardtanh_": (_inplace(F.hardtanh_, -0.3, 0.4), [normal(5)], True),
    "leaky_relu_": (_inplace(F.leaky_relu_, 0.3), [normal(5)], True),
    "relu_": (_inplace(F.relu_), [normal(5)], True),
    "rrelu_": (_inplace(F.rrelu_), [normal(5)], True),
    "selu_": (_inplace(F.selu_), [normal(5)], True),
    "threshold_": (_inplace(F.threshold_, 0.1, 2.0), [normal(5)], True),
    "linear": (lambda a, w: F.linear(a, w), [normal(3, 4), unbatched(5, 4)], False),
    "native_channel_shuffle": (lambda a: F.native_channel_shuffle(a, 2), [normal(4, 2, 2)],
                               True),
    "normalize": (lambda a: F.normalize(a, p=1.0, dim=-1), [normal(3, 4)], True),
    "pad": (lambda a: F.pad(a, (1, 2, 0, 1), mode="reflect")
            + F.pad(a, (0, 3, 1, 0), value=2.0)[..., :, :] * 1, [normal(2, 4, 4)], True),
    "pdist": (lambda a: F.pdist(a), [unbatched(4, 3)], False),
    "scaled_dot_product_attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [normal(2, 4, 8), normal(2, 4, 8), normal(2, 4, 8)], True),
    "upsample": (lambda a: F.upsample(a, scale_factor=2, mode="nearest"), [normal(2, 3, 3)],
                 True),
}

REFUSED_FUNCTIONAL = {
    # computed with NumPy, outside ember's Functions: the index input is read at trace time
    "one_hot": ("do not reach the exported graph", (lambda i: F.one_hot(i, 5) * 1.0,
                                                    [classes(5, 3)])),
    **{f"fractional_max_pool{n}d{s}": ("at random", (
        lambda a, n=n, s=s: getattr(F, f"fractional_max_pool{n}d{s}")(a, 2, output_size=2),
        [normal(1, *[4] * n)])) for n in (2, 3) for s in ("", "_with_indices")},
}


def _functions():
    return sorted(n for n in dir(F) if not n.startswith("_") and inspect.isfunction(getattr(F, n)))


def test_every_functional_has_a_sample():
    known = set(VIA_MODULE) | set(FUNCTIONAL) | set(REFUSED_FUNCTIONAL) | {"ctc_loss"}  # (CTCLoss)
    missing = [n for n in _functions() if n not in known]
    assert not missing, f"functions with neither an ONNX sample nor a documented refusal: {missing}"
    assert not known - set(_functions()), sorted(known - set(_functions()))


@pytest.mark.parametrize("name", not_yet(FUNCTIONAL))
def test_functional(name):
    fn, makers, dynamic = FUNCTIONAL[name]
    ember.manual_seed(0)
    run_sample(Fn(fn), makers, dynamic)


@pytest.mark.parametrize("name", sorted(REFUSED_FUNCTIONAL))
def test_functional_refused(name):
    why, (fn, makers) = REFUSED_FUNCTIONAL[name]
    with pytest.raises(ember.onnx.OnnxExporterError, match=why):
        export_bytes(Fn(fn), tuple(m(2, 0) for m in makers))


@pytest.mark.parametrize("make,why", [
    (lambda: Fn(lambda a: a + ember.arange(a.size(0) * 3.0).reshape(-1, 3)),
     "follows the dynamic axes")])
def test_values_sized_by_the_batch_at_trace_time_refuse_a_dynamic_batch(make, why):
    """Constants whose shape follows the batch would keep the traced size: with dynamic axes,
    export raises naming the op (a fixed batch exports and runs)."""
    model = make()
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=why):
        export_bytes(model, (normal(3, 4, 4)(2, 0)[:, :, 0, 0] if isinstance(model, Fn)
                             else normal(3, 4, 4)(2, 0),),
                     input_names=["a"], dynamic_axes={"a": {0: "n"}})
    run_sample(model, [normal(3) if isinstance(model, Fn) else normal(3, 4, 4)], False)


def test_batch_norm_channels_stay_open_for_instance_norm():
    run_sample(nn.InstanceNorm1d(3), [normal(3, 5)], True)


@pytest.mark.parametrize("make", [lambda: nn.InstanceNorm2d(3, affine=True),
                                  lambda: nn.InstanceNorm2d(3, track_running_stats=True).eval()])
def test_instance_norm_exports_with_a_dynamic_batch(make):
    """Its parameters and running statistics are per channel (C,), not repeated per sample at
    trace time, so the batch axis stays open."""
    model = make()
    if model.track_running_stats:
        model.running_mean.copy_(ember.tensor([0.5, -1.0, 2.0]))
        model.running_var.copy_(ember.tensor([0.5, 2.0, 1.5]))
    run_sample(model, [normal(3, 4, 4)], True)


@pytest.mark.parametrize("make,target", [
    (lambda: nn.MultiMarginLoss(p=2, margin=0.7, weight=ember.tensor([1.0, 2.0, 0.5, 1.0])),
     classes(4)),
    (lambda: nn.MultiLabelMarginLoss(), multilabel(4))])
def test_margin_losses_with_a_fixed_target(make, target):
    t = target(2, 1)
    run_sample(with_layer(make(), lambda m, a: m(a, t)), [normal(4)], False)


def test_fold_needs_opset_18():
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="opset_version >= 18"):
        export_bytes(nn.Fold((4, 5), 2), (normal(12, 12)(2, 0),))


# onnxruntime's CPU provider has no float64 kernel for these ops (Conv, ConvTranspose,
# AveragePool, RNN/LSTM/GRU, Softplus, Softsign, Erf, Elu/Selu/Celu, HardSigmoid, Col2Im): the
# graphs are valid (onnx.checker passes), only this runtime cannot run them in float64
ORT_LACKS_FLOAT64 = {
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "BCEWithLogitsLoss", "CELU", "Conv1d", "Conv2d",
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "ELU", "Fold", "GELU",
    "GRU", "GRUCell", "Hardsigmoid", "Hardswish", "LPPool1d", "LPPool2d", "LPPool3d", "LSTM",
    "LSTMCell", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
    "LazyConvTranspose2d", "LazyConvTranspose3d", "LocalResponseNorm", "LogSigmoid", "Mish",
    "MultiLabelSoftMarginLoss", "RNN", "RNNCell", "SELU", "Softplus", "Softsign",
    "TransformerEncoderLayer"}


@pytest.mark.parametrize("name", sorted(set(MODULES) - ORT_LACKS_FLOAT64))
def test_module_float64(name):
    """The exported graph computes in the model's dtype: float64 layers give float64 outputs
    equal to ember's."""
    make, makers, _ = MODULES[name]
    ember.manual_seed(0)

    def double(m):
        return lambda n, s: (lambda t: t.double() if t.dtype.is_floating_point else t)(m(n, s))
    run_sample(make().double(), [double(m) for m in makers], False, OPSET.get(name))


@pytest.mark.parametrize("fn", [
    lambda a: a + ember.zeros(a.size(0), 4) * 3 + ember.full((a.size(0), 1), 2.0),
    lambda a, token=nn.Parameter(ember.ones(1, 1, 4) * 0.5): ember.cat(
        [token.expand(a.size(0), -1, -1), a[:, None, :]], 1).sum(1)])
def test_constants_sized_by_the_batch_follow_it(fn):
    """A tensor of one value sized from the batch in forward, and a parameter expanded to the
    batch (a class token), take the batch from the input at run time."""
    run_sample(Fn(fn), [normal(4)], True)
