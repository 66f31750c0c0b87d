"""ember.explain.sizes: the written-out formulas give the shape the layers really produce
(torch's and ember's), and every impossible configuration is refused - in words - exactly when
torch refuses it."""
import math
import re

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ember
from ember.explain.sizes import OPS, SizeError, explain_size

# ---------------------------------------------------------------------------------------------
# one random configuration per family, in the ranges where the edge cases live


@st.composite
def configs(draw, family):
    n = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(n))
    dims = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(n))  # noqa: E731
    cfg = dict(kernel_size=dims(1, 4), stride=dims(1, 3), padding=dims(0, 2))
    if family in ("conv", "conv_transpose"):
        groups = draw(st.sampled_from([1, 1, 2]))
        channels = draw(st.integers(1, 4))
        cfg.update(out_channels=draw(st.integers(1, 4)), groups=groups, dilation=dims(1, 3))
        if family == "conv" and draw(st.integers(0, 4)) == 0:
            cfg["padding"] = draw(st.sampled_from(["same", "valid"]))
            if cfg["padding"] == "same" and draw(st.booleans()):
                cfg["stride"] = 1
        if family == "conv_transpose":
            cfg["output_padding"] = dims(0, 2)
            if draw(st.integers(0, 3)) == 0:
                cfg["output_size"] = tuple(draw(st.integers(0, 20)) for _ in range(n))
    else:
        channels = draw(st.integers(1, 3))
        if family == "max_pool":
            cfg["dilation"] = dims(1, 3)
        if family in ("max_pool", "avg_pool"):
            cfg["ceil_mode"] = draw(st.booleans())
        if family == "max_unpool" and draw(st.booleans()):
            default = [(i - 1) * s - 2 * p + k for i, k, s, p in
                       zip(spatial, cfg["kernel_size"], cfg["stride"], cfg["padding"])]
            cfg["output_size"] = tuple(v + draw(st.integers(-3, 3)) for v in default)
    shape = ((2,) if batched else ()) + (channels,) + spatial
    return f"{family}{n}d", shape, cfg


def _real_shape(lib, op, shape, cfg):
    """The output shape ``lib``'s functional gives for zeros of ``shape`` (or the exception)."""
    F = lib.nn.functional
    x = lib.zeros(shape, dtype=lib.float64)
    n = int(op[-2])
    c = dict(cfg)
    if op.startswith(("conv", "conv_transpose")):
        groups, out_c = c.pop("groups"), c.pop("out_channels")
        in_c = shape[-n - 1]
        k = c.pop("kernel_size")
        if in_c % groups or out_c % groups:  # what torch.nn.ConvNd's constructor refuses
            raise ValueError("in_channels and out_channels must be divisible by groups")
        if op.startswith("conv_transpose"):
            w = lib.zeros((in_c, out_c // groups) + k, dtype=lib.float64)
            output_size = c.pop("output_size", None)
            if output_size is not None:  # the module computes output_padding from it
                m = getattr(lib.nn, f"ConvTranspose{n}d")(in_c, out_c, k, c["stride"], c["padding"],
                                                          c["output_padding"], groups, False,
                                                          c["dilation"]).double()
                return tuple(m(x, output_size=list(output_size)).shape)
            return tuple(getattr(F, op)(x, w, None, c["stride"], c["padding"], c["output_padding"],
                                        groups, c["dilation"]).shape)
        w = lib.zeros((out_c, in_c // groups) + k, dtype=lib.float64)
        return tuple(getattr(F, op)(x, w, None, c["stride"], c["padding"], c["dilation"], groups).shape)
    if op.startswith("max_unpool"):
        indices = lib.zeros(shape, dtype=lib.int64)
        return tuple(getattr(F, op)(x, indices, c["kernel_size"], c["stride"], c["padding"],
                                    c.get("output_size")).shape)
    return tuple(getattr(F, op)(x, **c).shape)


def _outcome(lib, op, shape, cfg):
    try:
        return _real_shape(lib, op, shape, cfg)
    except (RuntimeError, ValueError):
        return "error"


def _explained(op, shape, cfg):
    try:
        return explain_size(op, shape, **cfg)
    except SizeError:
        return None


def _evaluate(filled):
    """Evaluate a filled-in formula like 'floor((5 + 2*1 - 1*(3-1) - 1) / 2) + 1'."""
    assert re.fullmatch(r"[0-9+\-*/() a-z]+", filled), filled
    return eval(filled, {"__builtins__": {}}, {"floor": math.floor, "ceil": math.ceil})


def _check(lib, op, shape, cfg):
    report = _explained(op, shape, cfg)
    expected = _outcome(lib, op, shape, cfg)
    name = lib.__name__
    if expected == "error":
        assert report is None, f"{name} refuses {op}{shape} {cfg}, explain gave {report.output_shape}"
    else:
        assert report is not None, f"explain refused {op}{shape} {cfg}, {name} gives {expected}"
        assert report.output_shape == expected
        for dim in report.dims:  # the written-out numbers really evaluate to the value shown
            assert _evaluate(dim.filled) == dim.value


FAMILIES = ["conv", "conv_transpose", "max_pool", "avg_pool", "max_unpool"]


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_formula_gives_torchs_output_shape(family, data):
    _check(torch, *data.draw(configs(family)))


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_formula_gives_embers_output_shape(family, data):
    op, shape, cfg = data.draw(configs(family))
    if not hasattr(ember.nn.functional, op):
        pytest.skip(f"ember.nn.functional.{op} is not there yet")
    assume("output_size" not in cfg or family != "conv_transpose"
           or hasattr(ember.nn, f"ConvTranspose{op[-2]}d"))
    _check(ember, op, shape, cfg)


# ---------------------------------------------------------------------------------------------
# the text

def test_worked_example_from_the_issue():
    text = str(explain_size("conv2d", (1, 3, 512, 512), out_channels=1, kernel_size=3))
    assert "H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1" in text
    assert "= floor((512 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 510" in text
    assert "output: [1, 1, 510, 510]" in text
    assert "weight: [1, 3, 3, 3] = 27 parameters" in text


def test_kernel_larger_than_padded_input_in_words():
    with pytest.raises(SizeError, match="kernel 7 is larger than the padded input 5"):
        explain_size("conv2d", (1, 1, 5, 5), out_channels=1, kernel_size=7)
    with pytest.raises(SizeError, match=r"kernel 5 is larger than the padded input 4 along L"):
        explain_size("conv1d", (1, 1, 2), out_channels=1, kernel_size=3, padding=1, dilation=2)


def test_ceil_mode_last_window_dropped():
    # L = 5, k = 2, s = 2, p = 1: ceil gives 4 windows, the 4th would start at 6 = 5 + 1, in
    # the right padding -> dropped (TRAPS.md #1)
    report = explain_size("max_pool1d", (1, 1, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    assert report.output_shape == (1, 1, 3) == tuple(
        torch.nn.functional.max_pool1d(torch.zeros(1, 1, 5), 2, 2, 1, ceil_mode=True).shape)
    (dim,) = report.dims
    assert (dim.value, dim.final) == (4, 3)
    text = str(report)
    assert "ceil((5 + 2*1 - 1*(2-1) - 1) / 2) + 1 = 4" in text
    assert "(4-1)*2 = 6" in text and "dropped" in text and "4 - 1 = 3" in text


def test_ceil_mode_last_window_kept_and_exact():
    report = explain_size("max_pool2d", (1, 1, 5, 6), kernel_size=2, ceil_mode=True)
    assert report.output_shape == (1, 1, 3, 3)
    h, w = report.dims
    assert "kept" in " ".join(h.notes) and h.final == 3
    assert "changes nothing" in " ".join(w.notes)


def test_same_padding_even_kernel_extra_on_the_right():
    report = explain_size("conv1d", (1, 1, 9), out_channels=1, kernel_size=4, padding="same")
    assert report.output_shape == (1, 1, 9)
    assert "1 left and 2 right" in str(report)
    with pytest.raises(SizeError, match="not supported for strided"):
        explain_size("conv1d", (1, 1, 9), out_channels=1, kernel_size=4, padding="same", stride=2)


def test_conv_transpose_formula_and_output_size():
    report = explain_size("conv_transpose2d", (1, 4, 3, 3), out_channels=2, kernel_size=3,
                          stride=2, padding=1, output_padding=1)
    assert "(3 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 6" in str(report)
    assert report.output_shape == (1, 2, 6, 6)
    report = explain_size("conv_transpose2d", (1, 4, 3, 3), out_channels=2, kernel_size=3,
                          stride=2, padding=1, output_size=(6, 5))
    assert report.output_shape == (1, 2, 6, 5)
    assert "output_padding = 6 - 5 = 1" in str(report)
    with pytest.raises(SizeError, match=r"can only give 5\.\.6"):
        explain_size("conv_transpose2d", (1, 4, 3, 3), out_channels=2, kernel_size=3, stride=2,
                     padding=1, output_size=(7, 5))
    with pytest.raises(SizeError, match="output_padding 2 must be smaller than stride 2 or dilation 1"):
        explain_size("conv_transpose1d", (1, 1, 3), out_channels=1, kernel_size=3, stride=2,
                     output_padding=2)


def test_unpool_output_size_range():
    report = explain_size("max_unpool2d", (1, 1, 2, 2), kernel_size=2, output_size=(5, 4))
    assert report.output_shape == (1, 1, 5, 4)
    assert "(2 - 1)*2 - 2*0 + 2 = 4" in str(report)
    with pytest.raises(SizeError, match="not strictly between 4 - stride = 2 and 4 \\+ stride = 6"):
        explain_size("max_unpool2d", (1, 1, 2, 2), kernel_size=2, output_size=(6, 4))


def test_avg_pool3d_needs_input_at_least_the_kernel():
    # a quirk of torch's 3-d average pooling only (AveragePool3d.cpp): padding does not help
    with pytest.raises(SizeError, match="H_in 1 is smaller than the kernel 2"):
        explain_size("avg_pool3d", (1, 1, 1, 1), kernel_size=(1, 2, 1), stride=1, padding=(0, 1, 0))
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.zeros(1, 1, 1, 1), (1, 2, 1), 1, (0, 1, 0))


def test_other_errors_in_words():
    with pytest.raises(SizeError, match="in_channels 3 is not divisible by groups 2"):
        explain_size("conv2d", (1, 3, 5, 5), out_channels=2, kernel_size=3, groups=2)
    with pytest.raises(SizeError, match="padding 2 along W is more than half the kernel 3"):
        explain_size("avg_pool2d", (1, 1, 5, 5), kernel_size=3, padding=(1, 2))
    with pytest.raises(SizeError, match="stride must be positive"):
        explain_size("max_pool1d", (1, 1, 5), kernel_size=2, stride=0)
    with pytest.raises(SizeError, match="unknown operation"):
        explain_size("conv4d", (1, 1, 5), kernel_size=2)
    with pytest.raises(SizeError, match="takes an input of 4 dims"):
        explain_size("conv2d", (5, 5), out_channels=1, kernel_size=2)


def test_params_and_mult_adds():
    report = explain_size("conv2d", (2, 4, 8, 8), out_channels=6, kernel_size=3, groups=2)
    m = torch.nn.Conv2d(4, 6, 3, groups=2)
    assert report.params == sum(p.numel() for p in m.parameters())
    assert report.mult_adds == 2 * 6 * 6 * 6 * (4 // 2) * 9
    report = explain_size("conv_transpose1d", (1, 2, 5), out_channels=3, kernel_size=4, bias=False)
    assert report.params == torch.nn.ConvTranspose1d(2, 3, 4, bias=False).weight.numel()


@pytest.mark.parametrize("op", OPS)
def test_every_op_has_an_explanation(op):
    family, n = op[:-2], int(op[-2])
    cfg = dict(kernel_size=(2,) * n, stride=(2,) * n, padding=(1,) * n)
    if family.startswith("conv"):
        cfg.update(out_channels=2, groups=1, dilation=(1,) * n)
    if family == "conv_transpose":
        cfg["output_padding"] = (1,) * n
    shape = (1, 2) + (4,) * n
    report = explain_size(op, shape, **cfg)
    assert [d.name for d in report.dims] == list("DHW"[3 - n:] if n > 1 else "L")
    assert report.output_shape == _real_shape(torch, op, shape, cfg)
