"""Receptive fields: hand-worked textbook values, published values of known networks, and the
empirical check - the input pixels one output pixel depends on (by torch's gradient, or by
perturbing pixels for max pooling) span exactly the computed extent."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember import nn
from ember.explain.receptive import Field, conv_field, identity_field, receptive_field
from ember.explain.summary import lenet


def _fields(model, shape):
    return {f.name: f for f in receptive_field(model, shape)}


def test_araujo_formulas_by_hand():
    """r_out = r_in + (k-1)*d*j_in, j_out = j_in*s, start_out = start_in - p*j_in."""
    f = identity_field(1)
    f = conv_field(f, 3, 1, 1)          # r = 1 + 2*1 = 3, j = 1, start = -1
    assert f == Field((3,), (1,), (-1,))
    f = conv_field(f, 2, 2, 0)          # r = 3 + 1*1 = 4, j = 2, start = -1
    assert f == Field((4,), (2,), (-1,))
    f = conv_field(f, 3, 1, 2, 2)       # dilated: r = 4 + (3-1)*2*2 = 12, start = -1 - 2*2 = -5
    assert f == Field((12,), (2,), (-5,))
    assert f.extent((3,)) == ((1, 12),)
    assert f.center == (0.5,)


def test_lenet_by_hand():
    """conv5: r 5; pool2: 5+1 = 6, j 2; conv5: 6+4*2 = 14; pool2: 14+1*2 = 16, j 4."""
    fields = _fields(lenet(), (1, 1, 32, 32))
    assert [fields[f"features.{i}"].field.size for i in range(6)] == [
        (5, 5), (5, 5), (6, 6), (14, 14), (14, 14), (16, 16)]
    assert fields["features"].field == Field((16, 16), (4, 4), (0, 0))
    assert not fields["classifier.1"].defined
    assert "no spatial axes" in fields["classifier.1"].note
    assert list(fields)[0] == ""        # the model first, as in summary()


def test_per_axis_and_same_padding():
    model = nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(1, 0)),
                          nn.Conv2d(2, 2, 4, padding="same", dilation=(1, 2)))
    f = _fields(model, (1, 1, 20, 30))
    assert f["0"].field == Field((3, 5), (1, 2), (-1, 0))
    # 'same' with an even kernel: 3 padding cells, 1 left (torch puts the odd one right)
    assert f["1"].field == Field((6, 17), (1, 2), (-2, -6))


def test_published_values_of_known_networks():
    """AlexNet's pool5 sees 195 pixels (Araujo et al. 2019, table 1), ResNet-18's last block
    435 (its stem 7x7/2 + 3x3/2 pool, then 8 blocks of two 3x3 convolutions)."""
    from ember.vision import models
    assert _fields(models.alexnet().eval(), (1, 3, 63, 63))["features.12"].field.size == (195, 195)
    r18 = _fields(models.resnet18().eval(), (1, 3, 64, 64))
    assert r18["layer4"].field == Field((435, 435), (32, 32), (-217, -217))
    # the downsampling shortcut is a branch: a 1x1 stride-2 conv on the block's input
    assert r18["layer2.0.downsample.0"].field.size == r18["layer1"].field.size


def test_branches_meeting_take_the_union():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3)                 # r 3, start 0
            self.b = nn.Conv2d(1, 1, 5, padding=2)      # r 5, start -2

        def forward(self, x):
            a = self.a(x)
            return self.b(x)[..., 1:-1, 1:-1] + a        # aligned: the union is [-1, 3]

    f = _fields(TwoBranches(), (1, 1, 9, 9))
    assert f[""].field == Field((5, 5), (1, 1), (-1, -1))
    assert f["b"].field == Field((5, 5), (1, 1), (-2, -2))


@pytest.mark.parametrize("layer, reason", [
    (nn.ConvTranspose2d(1, 1, 3, stride=2), "transposed convolution"),
    (nn.Upsample(scale_factor=2), "upsampling"),
    (nn.AdaptiveAvgPool2d(3), "unequal sizes"),
    (nn.Flatten(), "no spatial axes"),
])
def test_not_defined_is_said_not_invented(layer, reason):
    model = nn.Sequential(nn.Conv2d(1, 1, 3), layer, nn.ReLU())
    f = _fields(model, (1, 1, 10, 10))
    assert f["0"].defined
    for name in ("1", "2", ""):
        assert f[name].field is None and reason in f[name].note, (name, f[name].note)


def test_adaptive_pooling_with_equal_bins_is_a_window():
    f = _fields(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveMaxPool2d((4, 1))), (1, 1, 10, 10))
    # 8x8 map into 4x1 bins: kernel = stride = (2, 8)
    assert f["1"].field == Field((4, 10), (2, 8), (0, 0))


def test_global_context_broadcast_back_is_not_a_window():
    class SqueezeExcite(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pool = nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            y = self.conv(x)
            return y * self.pool(y).sigmoid()

    f = _fields(SqueezeExcite(), (1, 1, 9, 9))
    assert f["pool"].defined and not f[""].defined
    assert "broadcast back" in f[""].note


def test_unknown_operation_in_forward_is_named():
    class Functional(nn.Module):
        def forward(self, x):
            return ember.nn.functional.max_pool2d(x, 2)

    f = _fields(Functional(), (1, 1, 8, 8))
    assert not f[""].defined
    assert "in Functional's forward" in f[""].note, f[""].note


def test_long_chains_of_operations_in_forward():
    """The graph between two layers is walked without recursion."""
    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            y = self.conv(x)
            for _ in range(3000):
                y = y * 0.5 + 1
            return y[:, :, 1::2, :]                        # crop: start + 1*j, jump x2

    f = _fields(Chain(), (1, 1, 9, 9))
    assert f[""].field == Field((3, 3), (2, 1), (1, 0))


# ---------------------------------------------------------------------------------------------
# empirical: which input pixels does one output pixel depend on?

def _build(lib, spec, n):
    """The same stack in ember or torch: positive weights, so no gradient cancels to zero."""
    layers = []
    for kind, k, s, p, d in spec:
        if kind == "conv":
            conv = getattr(lib.nn, f"Conv{n}d")(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
            with lib.no_grad():
                conv.weight.fill_(1.0)
            layers += [conv, lib.nn.ReLU()]
        elif kind == "avg":
            layers.append(getattr(lib.nn, f"AvgPool{n}d")(k, s, p, ceil_mode=True))
        else:
            layers.append(getattr(lib.nn, f"MaxPool{n}d")(k, s, p, d))
    return lib.nn.Sequential(*layers)


def _analytic(spec, n):
    field = identity_field(n)
    for _, k, s, p, d in spec:
        field = conv_field(field, k, s, p, d)
    return field


def _input_size(field, n_out=5):
    """Large enough that output n_out//2's field lies inside the input (no padding effect)."""
    return tuple(max(r + j * n_out - 2 * st, r + 2 * j) for r, j, st in zip(field.size, field.jump, field.start))


def _seen_by_gradient(model, size, index):
    x = torch.rand((1, 1) + size, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
    x.requires_grad_(True)
    y = model.double()(x)
    y[(0, 0) + index].backward()
    return np.nonzero(x.grad[0, 0].numpy())


def _seen_by_perturbing(model, size, index):
    """Max pooling routes the gradient to one pixel: instead raise each pixel in turn to a
    value larger than any other and see which raises change the output."""
    base = torch.rand(size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    count = int(np.prod(size))
    batch = base.repeat(count, 1, *([1] * (len(size) - 1))).reshape((count, 1) + size)
    # far above any sum of the other pixels (< 1 each), so it wins every max it takes part in
    batch.view(count, -1)[torch.arange(count), torch.arange(count)] = 1e6
    with torch.no_grad():
        model = model.double()
        out = model(batch)[(slice(None), 0) + index]
        ref = model(base[None, None])[(0, 0) + index]
    return np.unravel_index(np.flatnonzero((out != ref).numpy()), size)


def _check(spec, n, seen):
    field = _analytic(spec, n)
    size = _input_size(field)
    model = _build(torch, spec, n)
    out_size = model(torch.zeros((1, 1) + size)).shape[2:]
    index = tuple(o // 2 for o in out_size)
    lo, hi = zip(*field.extent(index))
    assert all(v >= 0 for v in lo) and all(h < s for h, s in zip(hi, size)), "inside the input"
    where = seen(model, size, index)
    assert tuple(int(w.min()) for w in where) == lo
    assert tuple(int(w.max()) for w in where) == hi
    # and ember's own graph walk gives the same field as the formulas
    assert receptive_field(_build(ember, spec, n), (1, 1) + size)[0].field == field


_layer = st.tuples(st.sampled_from(["conv", "avg", "max"]), st.integers(1, 4), st.integers(1, 3),
                   st.integers(0, 1), st.integers(1, 2))


def _valid(kind, k, s, p, d):
    """torch's rules: pooling pads at most half the (effective) kernel; AvgPool has no dilation."""
    d = 1 if kind == "avg" else d
    return kind, k, s, min(p, ((k - 1) * d + 1) // 2), d


@settings(max_examples=30, deadline=None)
@given(st.lists(_layer, min_size=1, max_size=4))
def test_extent_equals_the_field_1d(spec):
    spec = [_valid(*layer) for layer in spec]
    with_max = any(kind == "max" for kind, *_ in spec)
    _check(spec, 1, _seen_by_perturbing if with_max else _seen_by_gradient)


def test_gradient_extent_equals_the_field_2d():
    spec = [("conv", 3, 1, 1, 1), ("avg", 2, 2, 0, 1), ("conv", 3, 2, 1, 2), ("avg", 3, 1, 1, 1)]
    _check(spec, 2, _seen_by_gradient)


@pytest.mark.parametrize("spec", [
    [("conv", 3, 1, 0, 1), ("max", 2, 2, 0, 1), ("conv", 3, 1, 1, 1), ("max", 3, 2, 1, 2)],
    [("max", 3, 2, 1, 1), ("conv", 5, 2, 2, 1), ("max", 2, 2, 0, 1)],
])
def test_perturbation_extent_equals_the_field_with_max_pooling(spec):
    _check(spec, 1, _seen_by_perturbing)
