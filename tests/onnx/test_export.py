"""ember.onnx.export: each supported layer/op exported, checked with onnx.checker and run in
onnxruntime, whose outputs must equal ember's (float32, 1e-5); the demo model and zoo models;
dynamic batch; clear errors for what cannot be exported; ``ember export`` end to end."""
from __future__ import annotations

import io

import numpy as np
import pytest

import ember
import ember.onnx  # noqa: F401 (a submodule: loaded explicitly)
from ember import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


class Fn(nn.Module):
    """A model whose forward is ``fn`` (for ops that are not layers)."""

    def __init__(self, fn, *layers):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(layers)

    def forward(self, *xs):
        return self.fn(*xs)


def export_bytes(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return buf.getvalue(), proto


def run_ort(blob, feeds):
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, [np.asarray(f) for f in feeds])))


def reference(model, args):
    with ember.no_grad():
        out = model(*args)
    return [o.numpy() for o in flatten(out)]


def flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten(o)]
    return [out]


def fresh_like(args):
    """Other values of the same shapes for the floating inputs: the graph must compute from
    its inputs, not replay the traced values."""
    rng = np.random.default_rng(123)
    return [ember.tensor(rng.standard_normal(a.shape).astype(a.numpy().dtype))
            if a.dtype.is_floating_point else a for a in args]


def check(model, *args, opset_version=None, run_args=None, **kw):
    """Export ``model`` on ``args``, run onnxruntime on ``run_args`` (default: other values of
    the same shapes) and compare every output with ember's."""
    model.eval()
    blob, proto = export_bytes(model, tuple(args), opset_version=opset_version, **kw)
    run_args = fresh_like(args) if run_args is None else run_args
    got = run_ort(blob, [a.numpy() for a in run_args])
    want = reference(model, run_args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **TOL)
    return proto


def randomize_norms(model):
    """Non-trivial running statistics and affine parameters, so batch norm in eval is tested
    as more than the identity."""
    rng = np.random.default_rng(0)
    with ember.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(ember.tensor(rng.uniform(0.5, 2.0, b.shape).astype(np.float32)))
            elif name.endswith("running_mean"):
                b.copy_(ember.tensor(rng.normal(0, 0.3, b.shape).astype(np.float32)))
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
                m.weight.copy_(ember.tensor(rng.uniform(0.5, 1.5, m.weight.shape)
                                            .astype(np.float32)))
                m.bias.copy_(ember.tensor(rng.normal(0, 0.3, m.bias.shape).astype(np.float32)))
    return model


def x(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


# ------------------------------------------------------------------------------- layers
LAYERS = {
    # convolutions
    "conv2d": (lambda: nn.Conv2d(3, 4, 3), (2, 3, 7, 7)),
    "conv2d_stride_pad": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 8, 7)),
    "conv2d_dilation": (lambda: nn.Conv2d(3, 4, 3, dilation=2, padding=(1, 2)), (1, 3, 9, 9)),
    "conv2d_groups": (lambda: nn.Conv2d(4, 6, 3, groups=2, bias=False), (1, 4, 6, 6)),
    "conv2d_depthwise": (lambda: nn.Conv2d(4, 4, 3, groups=4, padding=1), (1, 4, 6, 6)),
    "conv2d_same": (lambda: nn.Conv2d(3, 2, 4, padding="same"), (1, 3, 7, 7)),
    "conv2d_reflect": (lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
                       (1, 3, 6, 6)),
    "conv2d_replicate": (lambda: nn.Conv2d(3, 2, 3, padding=2, padding_mode="replicate"),
                         (1, 3, 6, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "conv3d": (lambda: nn.Conv3d(2, 3, 3, padding=1), (1, 2, 4, 5, 5)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                    output_padding=1, groups=2), (1, 4, 5, 5)),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, dilation=2),
                         (2, 3, 6)),
    "conv2d_unbatched": (lambda: nn.Conv2d(3, 4, 3), (3, 7, 7)),
    # linear
    "linear": (lambda: nn.Linear(5, 3), (4, 5)),
    "linear_3d": (lambda: nn.Linear(5, 3), (2, 4, 5)),
    "linear_1d": (lambda: nn.Linear(5, 3, bias=False), (5,)),
    # pooling
    "max_pool2d": (lambda: nn.MaxPool2d(2), (1, 2, 8, 8)),
    "max_pool2d_ceil": (lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (1, 2, 8, 8)),
    "max_pool2d_ceil_odd": (lambda: nn.MaxPool2d(2, ceil_mode=True), (1, 2, 7, 7)),
    "max_pool2d_dilation": (lambda: nn.MaxPool2d(3, 1, 1, dilation=2), (1, 2, 9, 9)),
    "max_pool2d_unbatched": (lambda: nn.MaxPool2d(2), (2, 6, 6)),
    "max_pool1d": (lambda: nn.MaxPool1d(3, 2), (2, 3, 11)),
    "max_pool3d": (lambda: nn.MaxPool3d(2), (1, 2, 4, 4, 4)),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), (1, 2, 8, 8)),
    "avg_pool2d_pad": (lambda: nn.AvgPool2d(3, 2, 1), (1, 2, 7, 7)),
    "avg_pool2d_exclude_pad": (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
                               (1, 2, 7, 7)),
    "avg_pool2d_ceil": (lambda: nn.AvgPool2d(2, ceil_mode=True), (1, 2, 7, 7)),
    "avg_pool2d_ceil_pad": (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), (1, 2, 8, 8)),
    "avg_pool2d_ceil_exclude": (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                     count_include_pad=False), (1, 2, 8, 8)),
    "avg_pool1d": (lambda: nn.AvgPool1d(3, 2), (2, 3, 11)),
    "avg_pool3d": (lambda: nn.AvgPool3d(2), (1, 2, 4, 4, 4)),
    "adaptive_avg_pool2d_global": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    "adaptive_avg_pool2d_even": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 3, 4, 6)),
    "adaptive_avg_pool1d": (lambda: nn.AdaptiveAvgPool1d(1), (2, 3, 5)),
    "adaptive_avg_pool2d_overlapping": (lambda: nn.AdaptiveAvgPool2d((3, 4)), (2, 3, 5, 7)),
    "adaptive_avg_pool2d_upsampling": (lambda: nn.AdaptiveAvgPool2d((6, 6)), (1, 2, 1, 4)),
    "adaptive_avg_pool1d_overlapping": (lambda: nn.AdaptiveAvgPool1d(4), (2, 3, 7)),
    "adaptive_max_pool2d_even": (lambda: nn.AdaptiveMaxPool2d((2, 2)), (1, 3, 4, 6)),
    "adaptive_max_pool2d": (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 7)),
    # activations
    "relu": (lambda: nn.ReLU(), (2, 5)),
    "relu_inplace": (lambda: nn.Sequential(nn.Linear(5, 5), nn.ReLU(inplace=True)), (2, 5)),
    "relu6": (lambda: nn.ReLU6(), (2, 5)),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 0.7), (2, 5)),
    "sigmoid": (lambda: nn.Sigmoid(), (2, 5)),
    "tanh": (lambda: nn.Tanh(), (2, 5)),
    "hardswish": (lambda: nn.Hardswish(), (2, 5)),
    "hardsigmoid": (lambda: nn.Hardsigmoid(), (2, 5)),
    "gelu": (lambda: nn.GELU(), (2, 5)),
    "gelu_tanh": (lambda: nn.GELU("tanh"), (2, 5)),
    "silu": (lambda: nn.SiLU(), (2, 5)),
    "mish": (lambda: nn.Mish(), (2, 5)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), (2, 5)),
    "elu": (lambda: nn.ELU(0.7), (2, 5)),
    "selu": (lambda: nn.SELU(), (2, 5)),
    "celu": (lambda: nn.CELU(0.5), (2, 5)),
    "softplus": (lambda: nn.Softplus(beta=2.0, threshold=1.0), (2, 5)),
    "log_sigmoid": (lambda: nn.LogSigmoid(), (2, 5)),
    "softsign": (lambda: nn.Softsign(), (2, 5)),
    "tanhshrink": (lambda: nn.Tanhshrink(), (2, 5)),
    "hardshrink": (lambda: nn.Hardshrink(0.3), (2, 5)),
    "softshrink": (lambda: nn.Softshrink(0.3), (2, 5)),
    "threshold": (lambda: nn.Threshold(0.1, 20.0), (2, 5)),
    "prelu": (lambda: nn.PReLU(3, init=0.2), (2, 3, 4)),
    "softmax": (lambda: nn.Softmax(dim=1), (2, 5, 3)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), (2, 5)),
    "softmin": (lambda: nn.Softmin(dim=1), (2, 5)),
    "softmax2d": (lambda: nn.Softmax2d(), (2, 3, 2, 2)),
    "rrelu_eval": (lambda: nn.RReLU(0.1, 0.3), (2, 5)),
    # normalisation, dropout
    "batch_norm2d": (lambda: randomize_norms(nn.BatchNorm2d(3)), (2, 3, 4, 4)),
    "batch_norm1d": (lambda: randomize_norms(nn.BatchNorm1d(3)), (4, 3)),
    "batch_norm2d_no_affine": (lambda: randomize_norms(nn.BatchNorm2d(3, affine=False)),
                               (2, 3, 4, 4)),
    "batch_norm2d_batch_stats": (lambda: nn.BatchNorm2d(3, track_running_stats=False),
                                 (2, 3, 4, 4)),
    "layer_norm": (lambda: nn.LayerNorm([4, 5]), (2, 3, 4, 5)),
    "layer_norm_no_affine": (lambda: nn.LayerNorm(5, elementwise_affine=False), (2, 5)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    "dropout": (lambda: nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3)), (2, 3, 4, 4)),
    # padding layers
    "zero_pad2d": (lambda: nn.ZeroPad2d((1, 2, 0, 3)), (1, 2, 4, 4)),
    "constant_pad1d": (lambda: nn.ConstantPad1d(2, 3.5), (1, 2, 4)),
    "reflection_pad2d": (lambda: nn.ReflectionPad2d(2), (1, 2, 4, 4)),
    "replication_pad1d": (lambda: nn.ReplicationPad1d((1, 3)), (1, 2, 4)),
    "flatten": (lambda: nn.Flatten(), (2, 3, 4)),
    # resampling, rearranging
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2), (1, 2, 3, 4)),
    "upsample_nearest_size": (lambda: nn.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4)),
    "upsample_bicubic_corners": (lambda: nn.Upsample(size=(5, 6), mode="bicubic",
                                                     align_corners=True), (1, 2, 3, 4)),
    "upsample_linear1d": (lambda: nn.Upsample(scale_factor=1.5, mode="linear"), (2, 3, 4)),
    "upsample_trilinear": (lambda: nn.Upsample(scale_factor=2, mode="trilinear"),
                           (1, 1, 2, 3, 2)),
    "pixel_shuffle": (lambda: nn.PixelShuffle(2), (1, 8, 3, 3)),
    "pixel_unshuffle": (lambda: nn.PixelUnshuffle(2), (1, 2, 4, 6)),
    "channel_shuffle": (lambda: nn.ChannelShuffle(2), (1, 4, 3, 3)),
    "glu": (lambda: nn.GLU(), (2, 6)),
    "local_response_norm": (lambda: nn.LocalResponseNorm(3), (1, 5, 3, 3)),
    "cosine_similarity": (lambda: Fn(lambda a: nn.CosineSimilarity()(a, a.flip(0))), (3, 4)),
    "pairwise_distance": (lambda: Fn(lambda a: nn.PairwiseDistance()(a, a * 2)), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer(name):
    make, shape = LAYERS[name]
    ember.manual_seed(0)
    check(make(), x(*shape))


OPSET_SENSITIVE = ["layer_norm", "layer_norm_no_affine", "hardswish", "glu", "max_pool2d_ceil",
                   "avg_pool2d_ceil_exclude", "batch_norm2d_batch_stats", "group_norm",
                   "adaptive_avg_pool2d_global", "softmax", "chunk_split", "reductions"]


@pytest.mark.parametrize("opset", [13, 20])
@pytest.mark.parametrize("name", OPSET_SENSITIVE)
def test_oldest_and_newest_opset(name, opset):
    """Ops whose ONNX form changed between opsets 13 and 20 (reduce axes, Split, Pad,
    LayerNormalization, HardSwish) export at both ends."""
    ember.manual_seed(0)
    if name in LAYERS:
        make, shape = LAYERS[name]
        proto = check(make(), x(*shape), opset_version=opset)
    else:
        fn, n_args = OPS[name]
        proto = check(Fn(fn), *[x(4, 6, seed=i) for i in range(n_args)], opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_circular_padding_needs_opset_19():
    conv = nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular")
    check(conv, x(1, 2, 5, 5), opset_version=19)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="opset_version >= 19"):
        export_bytes(conv, (x(1, 2, 5, 5),))


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    ember.manual_seed(0)
    check(nn.Bilinear(3, 4, 5, bias=bias), x(2, 3), x(2, 4, seed=1))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_spatial_transformer(mode, padding_mode, align_corners):
    F = nn.functional
    lin = nn.Linear(3 * 5 * 5, 6)

    def forward(a):
        theta = lin(a.flatten(1)).view(-1, 2, 3) * 0.3 + ember.tensor([[1.0, 0, 0], [0, 1, 0]])
        grid = F.affine_grid(theta, [a.shape[0], 3, 4, 6], align_corners=align_corners)
        return F.grid_sample(a, grid, mode=mode, padding_mode=padding_mode,
                             align_corners=align_corners)
    ember.manual_seed(0)
    check(Fn(forward, lin), x(2, 3, 5, 5), opset_version=16)


def test_grid_sample_needs_opset_16():
    grid = ember.tensor(np.zeros((1, 2, 2, 2), np.float32))
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="opset_version >= 16"):
        export_bytes(Fn(lambda a: nn.functional.grid_sample(a, grid, align_corners=False)),
                     (x(1, 1, 3, 3),), opset_version=15)


def test_embedding():
    emb = nn.Embedding(10, 4)
    idx = ember.tensor(np.array([[1, 2, 9], [0, 0, 3]], dtype=np.int64))
    check(emb, idx)


# ------------------------------------------------------------------------------- tensor ops
OPS = {
    "add_sub_mul_div": (lambda a, b: (a + b) * 2 - b / 3 + (1 - a) / (b * b + 1), 2),
    "add_alpha": (lambda a, b: a.add(b, alpha=0.5).sub(a, alpha=2), 2),
    "broadcast": (lambda a, b: a * b[0] + b.mean(0, keepdim=True), 2),
    "pointwise": (lambda a: a.exp() + a.abs().sqrt() + (a * a + 1).log() - a.neg().sin()
                  + a.cos() + a.clamp(-0.5, 0.5) + a.clamp(min=0.1) + a.pow(2), 1),
    "rsqrt_log1p": (lambda a: (a * a + 1).rsqrt() + a.abs().log1p(), 1),
    "max_min": (lambda a, b: ember.maximum(a, b) - ember.minimum(a, b), 2),
    "matmul": (lambda a, b: a @ b.transpose(0, 1), 2),
    "bmm": (lambda a: ember.bmm(a.reshape(2, 3, 4), a.reshape(2, 4, 3)), 1),
    "reshape_view_permute": (lambda a: a.view(3, 4, 2).permute(2, 0, 1).reshape(-1, 4)
                             .contiguous().t(), 1),
    "cat_stack": (lambda a, b: ember.cat([a, ember.stack([a, b * 2], 0).sum(0)], dim=1)
                  + ember.stack([a, b], dim=2).flatten(1), 2),
    "chunk_split": (lambda a: [t * (i + 1) for i, t in enumerate(a.chunk(3, dim=1))]
                    + list(a.split([1, 3], dim=0)), 1),
    "mean_sum": (lambda a: a.mean() + a.sum(1, keepdim=True) + a.mean((0, 1)), 1),
    "unsqueeze_squeeze_expand": (lambda a: a.unsqueeze(1).expand(4, 2, 6).sum(1)
                                 + a[:1].squeeze(0), 1),
    "indexing": (lambda a: a[1] + a[:, 2:5].sum(1)[0] + a[..., None][-1, ::2, 0].sum()
                  + a[None, 1:3, -1].sum() + a[:, ::-2].sum(), 1),
    "transpose_flip": (lambda a: a.transpose(0, 1).flip(0), 1),
    "where_const": (lambda a: ember.where(ember.tensor([True, False, True, True, False, True]),
                                          a, a * 3), 1),
    "constant_in_forward": (lambda a: a + ember.ones(6) * 2 + ember.arange(6.0), 1),
    "inplace": (lambda a: _inplace(a), 1),
    "setitem": (lambda a: _setitem(a), 1),
    "inplace_on_views": (lambda a: _inplace_on_views(a), 1),
    "erf_tan": (lambda a: ember.erf(a) + ember.tan(a * 0.5) + a.sinh() + a.cosh() + a.atan(), 1),
    "cast": (lambda a: a.double().float() * 2, 1),
    "reductions": (lambda a: a.amax(1) + a.max(1).values + a.min(1)[0] + a.logsumexp(1)
                   + a.prod(1) + a.var(1) + a.var(1, unbiased=False) + a.norm(dim=1)
                   + ember.linalg.vector_norm(a, ord=1, dim=1) + a.max() + a.amin(), 1),
    "max_indices": (lambda a: a.max(1).indices.float() + a.min(0, keepdim=True)[1].sum(), 1),
    "cumsum_roll_repeat": (lambda a: a.cumsum(1) + a.roll(2, 1) + a.roll(1)
                           + a[:2].repeat(2, 1), 1),
    "addcmul_lerp_masked": (lambda a, b: a.addcmul(a, b, value=0.5).addcdiv(a, b * b + 1)
                            + a.lerp(b, 0.3) + a.masked_fill(
                                ember.tensor(np.eye(4, 6, dtype=bool)), -2.0), 2),
    "einsum_std_triangles": (lambda a, b: ember.einsum("ij,kj->ik", a, b) + a.std(1)[:, None]
                             + a[:, :4].triu(1) @ b[:, :4].tril(-1).t(), 2),
    "index_arrays": (lambda a: a[:, ember.tensor([0, 5, 2, 2, 1, -1])] + a[ember.tensor([3, 1, 0, -1])]
                     + a[ember.tensor([True, False, True, True])].sum(0)
                     + a[..., ember.tensor([[1], [0]])].sum((-1, -2))[:, None], 1),
    "index_traced_indices": (lambda a: a[:, a.max(0).indices], 1),
    "log_exp_variants": (lambda a: (a * a + 1).log2() + (a * a + 1).log10() + a.exp2()
                         + a.expm1() + ember.erfc(a) + ember.deg2rad(a) + ember.rad2deg(a), 1),
    "rounding": (lambda a: (a * 3).floor() + (a * 3).ceil() + a.sign() + (a * 3).trunc()
                 + (a * 3).round(), 1),
    "gather": (lambda a: a.gather(1, ember.tensor(np.array([[0, 5], [1, 1], [2, 3], [4, 0]]))),
               1),
}


def _setitem(a):
    b = a * 1
    b[:, 0] = a[:, 1] * 2
    b[1] = 0.5
    b[ember.tensor([0, 2]), 3:5] = ember.tensor([7.0, 8.0])
    return b


def _inplace_on_views(a):
    b = a * 1
    b[:, 1:3].mul_(3)
    b[0].add_(1)
    row = b[2]
    row.sub_(a[3])
    return b + row.sum()


def _inplace(a):
    b = a * 2
    b += 1
    b.mul_(3)
    b.relu_()
    return b.sigmoid_() - a


@pytest.mark.parametrize("name", sorted(OPS))
def test_op(name):
    fn, n_args = OPS[name]
    args = [x(4, 6, seed=i) for i in range(n_args)]
    check(Fn(lambda *xs: fn(*xs)), *args)


# ------------------------------------------------------------------------------- attention
@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention(need_weights):
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    model = Fn(lambda q, kv: mha(q, kv, kv, need_weights=need_weights)[0 if not need_weights
                                                                       else slice(None)], mha)
    check(model, x(2, 3, 8), x(2, 5, 8, seed=1))


def test_scaled_dot_product_attention_masks():
    F = nn.functional
    mask = ember.tensor(np.array([[True, False, True], [False, False, False]]))
    check(Fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
             + F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3)),
          x(1, 2, 2, 4), x(1, 2, 3, 4, seed=1), x(1, 2, 3, 4, seed=2))


@pytest.mark.parametrize("kind,kw", [
    ("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", dict(batch_first=True)),
    ("RNN", dict(nonlinearity="relu", bias=False)), ("RNN", dict(num_layers=2)),
    ("LSTM", dict(batch_first=True))])
def test_recurrent(kind, kw):
    ember.manual_seed(0)
    layer = getattr(nn, kind)(4, 5, **kw)
    check(Fn(lambda a: layer(a), layer), x(3, 2, 4))


def test_recurrent_unsupported_forms_raise():
    gru = nn.GRU(4, 5)
    pack = nn.utils.rnn.pack_padded_sequence
    with pytest.raises(ember.onnx.UnsupportedOperatorError):  # (packing indexes first)
        export_bytes(Fn(lambda a: gru(pack(a, [3, 1]))[1], gru), (x(3, 2, 4),))


def test_recurrent_with_initial_state():
    ember.manual_seed(0)
    lstm = nn.LSTM(4, 5)
    check(Fn(lambda a, h, c: lstm(a, (h, c)), lstm), x(3, 2, 4), x(1, 2, 5, seed=1),
          x(1, 2, 5, seed=2))


def test_transformer_encoder_layer():
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    check(layer, x(2, 4, 8))


# ------------------------------------------------------------------------------- models
def test_demo_model_dynamic_batch():
    from ember.demo import build_model
    ember.manual_seed(0)
    model = build_model()
    proto = check(model, x(1, 1, 8, 8), run_args=[x(3, 1, 8, 8, seed=1)],
                  input_names=["images"], output_names=["logits"],
                  dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    assert [i.name for i in proto.graph.input] == ["images"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    # parameters are initializers under their state_dict names
    assert {i.name for i in proto.graph.initializer} >= set(model.state_dict())
    assert [n.op_type for n in proto.graph.node].count("Conv") == 2


def test_static_batch_is_fixed_without_dynamic_axes():
    from ember.demo import build_model
    blob, _ = export_bytes(build_model(), (x(1, 1, 8, 8),))
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        run_ort(blob, [x(3, 1, 8, 8).numpy()])


def test_view_keeps_dynamic_batch():
    lin = nn.Linear(12, 2)
    model = Fn(lambda a: lin(a.view(a.size(0), -1)), lin)
    check(model, x(1, 3, 4), run_args=[x(5, 3, 4)], input_names=["a"],
          dynamic_axes={"a": [0]})


@pytest.mark.parametrize("name,size", [("resnet18", 32), ("mobilenet_v3_small", 32),
                                       ("squeezenet1_1", 48)])
def test_zoo(name, size):
    from ember.vision import models
    ember.manual_seed(0)
    model = randomize_norms(getattr(models, name)(num_classes=7))
    model.eval()
    out = reference(model, [x(2, 3, size, size)])[0]
    assert np.abs(out).max() > 1e-3  # a meaningful comparison, not zeros against zeros
    check(model, x(1, 3, size, size), run_args=[x(2, 3, size, size)], input_names=["x"],
          dynamic_axes={"x": {0: "n"}})


# ------------------------------------------------------------------------------- export options
def test_training_flags_restored_and_inputs_untouched():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.train()
    model[1].eval()
    inp = x(2, 3)
    export_bytes(model, (inp,))
    assert model.training and model[0].training and not model[1].training
    assert not inp.requires_grad and inp.grad_fn is None


def test_export_params_false_makes_weights_inputs():
    model = nn.Linear(3, 2)
    _, proto = export_bytes(model, (x(2, 3),), export_params=False)
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["input.0", "weight", "bias"]


def test_constant_folding_folds_weight_only_ops():
    lin = nn.Linear(3, 3)
    model = Fn(lambda a: a @ (lin.weight * 2).t(), lin)
    proto = check(model, x(2, 3))
    assert [n.op_type for n in proto.graph.node] == ["MatMul"]
    proto = check(model, x(2, 3), do_constant_folding=False)
    assert "Mul" in [n.op_type for n in proto.graph.node]


def test_folded_constant_keeps_its_value_after_an_inplace_write():
    lin = nn.Linear(3, 3)

    def forward(a):
        w = lin.weight * 2  # folded into a constant
        first = a @ w
        w += 1              # written in place afterwards: the first use must not see it
        return first + a @ w
    check(Fn(forward, lin), x(2, 3))


def test_constant_written_in_place_between_uses():
    def forward(a):
        c = ember.ones(3)
        first = a + c
        c += 1  # no graph records this (c needs no grad): the next use sees the new value
        c.mul_(3)
        return first * (a + c)
    check(Fn(forward), x(2, 3))


def test_multiple_outputs_and_file_path(tmp_path):
    model = Fn(lambda a, b: (a + b, a * b, a))
    path = tmp_path / "two.onnx"
    ember.onnx.export(model, (x(2, 3), x(2, 3, seed=1)), str(path), output_names=["s", "p"])
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert [o.name for o in proto.graph.output] == ["s", "p", "output.2"]
    got = run_ort(path.read_bytes(), [x(2, 3).numpy(), x(2, 3, seed=1).numpy()])
    np.testing.assert_allclose(got[2], x(2, 3).numpy())


class Scaled(nn.Module):
    def forward(self, a, scale=1.0):
        return a * scale


def test_keep_initializers_as_inputs():
    model = nn.Linear(3, 2)
    _, proto = export_bytes(model, (x(2, 3),), keep_initializers_as_inputs=True)
    assert [i.name for i in proto.graph.initializer] == ["weight", "bias"]
    assert [i.name for i in proto.graph.input] == ["input.0", "weight", "bias"]


def test_number_arguments_are_fixed():
    model = Scaled()
    blob, proto = export_bytes(model, (x(2, 3), 5.0))
    assert [i.name for i in proto.graph.input] == ["input.0"]
    np.testing.assert_allclose(run_ort(blob, [x(2, 3).numpy()])[0], x(2, 3).numpy() * 5)


@pytest.mark.parametrize("option", [dict(training=True), dict(operator_export_type="ONNX_ATEN"),
                                    dict(export_modules_as_functions=True)])
def test_options_ember_does_not_export_raise(option):
    with pytest.raises(ember.onnx.OnnxExporterError):
        export_bytes(nn.ReLU(), (x(2),), **option)


def test_keyword_arguments():
    model = Scaled()
    check(model, x(2, 3))
    blob, _ = export_bytes(model, (x(2, 3), {"scale": 4.0}))
    np.testing.assert_allclose(run_ort(blob, [x(2, 3).numpy()])[0], x(2, 3).numpy() * 4)


@pytest.mark.parametrize("opset", [13, 18, 20])
def test_opsets(opset):
    body = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    model = Fn(lambda a: body(a).mean(1, keepdim=True), body)
    proto = check(randomize_norms(model), x(2, 2, 5, 5), opset_version=opset)
    assert proto.opset_import[0].version == opset


# ------------------------------------------------------------------------------- errors
def test_unsupported_op_names_it():
    model = Fn(lambda a: ember.linalg.det(a))
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="LinalgDetBackward0"):
        export_bytes(model, (x(3, 3),))


@pytest.mark.parametrize("fn,op", [(lambda a: (a * 4).int() << 1, "left_shift"),
                                   (lambda a: (a * 4).int() >> 1, "right_shift")])
def test_untraced_op_on_traced_value_raises(fn, op):
    """Ops that bypass ember's Functions and have no mapping would be frozen into constants:
    they raise."""
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=op):
        export_bytes(Fn(fn), (x(2, 3),))


@pytest.mark.parametrize("name,fn", [
    ("comparisons", lambda a: a * (a > 0) + (a < 0.5) * 2.0 + (a >= a[0]) - (a <= -0.2)
     + (a == a.round()) + (a != 0.1) + a.gt(a.flip(0))),
    ("argmax", lambda a: a + a.argmax(1, keepdim=True) + a.argmin() + a.argmax(0)),
    ("floor_divide", lambda a: a // 0.3 + (7 - a) // a.abs().clamp(min=0.5)
     + ember.div(a * 3, 2, rounding_mode="trunc")),
    ("integer_division", lambda a: ((a * 9).long() // 4 + (a * 9).long().div(
        -3, rounding_mode="trunc")).float()),
    ("masks", lambda a: (((a > 0) & (a < 1)) | ((a < -1) ^ (a > 0.5))) * a)])
def test_ops_without_a_function_on_traced_values(name, fn):
    """Comparisons, argmax/argmin, floor and trunc division and boolean & | ^ compute without
    a Function; on traced values they are mapped (not frozen)."""
    check(Fn(fn), x(4, 6))


def test_untraced_op_on_a_constant_is_fine():
    mask = ember.tensor([1.0, -1.0, 2.0])
    check(Fn(lambda a: a * (mask > 0)), x(2, 3))


def test_apply_restored_after_a_failed_export():
    from ember.autograd.function import Function
    apply = Function.__dict__["apply"]
    with pytest.raises(ember.onnx.UnsupportedOperatorError):
        export_bytes(Fn(lambda a: ember.linalg.det(a)), (x(2, 2),))
    assert Function.__dict__["apply"] is apply


def test_bad_arguments():
    with pytest.raises(ValueError, match="opset"):
        export_bytes(nn.ReLU(), (x(2),), opset_version=7)
    with pytest.raises(ValueError, match="dynamic_axes"):
        export_bytes(nn.ReLU(), (x(2),), dynamic_axes={"nope": [0]})


# ------------------------------------------------------------------------------- ember export
def _cli(capsys, *argv):
    from ember.cli import main
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def _cli_error(capsys, *argv):
    from ember.cli import main
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("demo_format", [False, True])
def test_cli_export_end_to_end(tmp_path, capsys, demo_format):
    import re
    from ember.demo import build_model
    ember.manual_seed(3)
    model = build_model().eval()
    ckpt = tmp_path / "model.safetensors"
    state = model.state_dict()
    ember.save({"model": state, "normalization": {"mean": 4.5, "std": 6.0}} if demo_format
               else state, str(ckpt))
    out_path = tmp_path / "model.onnx"
    rc, out = _cli(capsys, "export", str(ckpt), "--onnx", str(out_path))
    assert rc == 0
    assert f"wrote {out_path}" in out and "onnx.checker: the model is valid" in out
    diff = float(re.search(r"max \|onnxruntime - ember\| = (\S+)", out).group(1))
    assert diff < 1e-5
    proto = onnx.load(str(out_path))
    onnx.checker.check_model(proto)
    meta = {p.key: float(p.value) for p in proto.metadata_props}
    assert meta == ({"input_mean": 4.5, "input_std": 6.0} if demo_format else {})
    batch = x(5, 1, 8, 8)  # the batch axis is dynamic
    got = run_ort(out_path.read_bytes(), [batch.numpy()])[0]
    np.testing.assert_allclose(got, reference(model, [batch])[0], **TOL)


def test_cli_export_errors(tmp_path, capsys):
    err = _cli_error(capsys, "export", str(tmp_path / "missing.safetensors"), "--onnx",
                     str(tmp_path / "m.onnx"))
    assert "no checkpoint" in err
    wrong = tmp_path / "wrong.safetensors"
    ember.save(nn.Linear(2, 2).state_dict(), str(wrong))
    err = _cli_error(capsys, "export", str(wrong), "--onnx", str(tmp_path / "m.onnx"))
    assert "does not hold the `ember demo` model" in err
    _cli_error(capsys, "export", str(wrong))  # --onnx is required


def test_cli_help_lists_export(capsys):
    rc, out = _cli(capsys)
    assert rc == 0 and "export" in out
