"""Output sizes of convolution, pooling and unpooling layers, with the formula written out.

``explain_size("conv2d", (1, 3, 512, 512), out_channels=1, kernel_size=3)`` returns a
:class:`SizeReport` whose text reads like a worked exercise::

    H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1
          = floor((512 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 510

The *numbers* always come from :mod:`ember.nn._shapes`, the module every layer calls, so the
explanation cannot drift from what the layers compute; this file only writes the formulas out
and says in words why a configuration is impossible ("kernel 7 is larger than the padded
input 5") before torch's terse message would.
"""
from __future__ import annotations

import dataclasses
import re
import textwrap

from ember.nn import _shapes

__all__ = ["explain_size", "SizeReport", "Dim", "SizeError", "OPS", "parse_op", "spatial_names"]

FAMILIES = ("conv", "conv_transpose", "max_pool", "avg_pool", "max_unpool")
OPS = tuple(f"{family}{n}d" for family in FAMILIES for n in (1, 2, 3))

_SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# The symbolic formula of one spatial dim, per family ({d} is the dim name, e.g. H).
_FORMULAS = {
    "conv": "floor(({d}_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1",
    "conv_same": "floor(({d}_in + pad_left + pad_right - dilation*(kernel_size-1) - 1) / stride) + 1",
    "conv_transpose": "({d}_in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1",
    "max_pool": "floor(({d}_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1",
    "max_pool_ceil": "ceil(({d}_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1",
    # avg_pool has no dilation; with dilation=1 the pooling formula simplifies to this.
    "avg_pool": "floor(({d}_in + 2*padding - kernel_size) / stride) + 1",
    "avg_pool_ceil": "ceil(({d}_in + 2*padding - kernel_size) / stride) + 1",
    "max_unpool": "({d}_in - 1)*stride - 2*padding + kernel_size",
}


class SizeError(ValueError):
    """A configuration no layer can compute, explained in words.

    ``lines`` holds what was worked out before the problem was found (for printing)."""

    def __init__(self, message: str, lines=()):
        super().__init__(message)
        self.lines = list(lines)


@dataclasses.dataclass
class Dim:
    """One spatial output dim: its formula, with the numbers filled in, and the result."""

    name: str              # "H"
    formula: str           # "floor((H_in + 2*padding - ...) / stride) + 1"
    filled: str            # "floor((512 + 2*0 - 1*(3-1) - 1) / 1) + 1"
    value: int             # the formula's value (before ceil_mode's last-window rule)
    notes: list            # explanations: 'same' padding, ceil_mode, unused cells
    final: int = None      # the output size (differs from value when a window was dropped)
    rule: str = None       # ceil_mode's last-window rule, in short

    def __str__(self):
        return f"{self.name}_out = {self.filled} = {self.value}"


@dataclasses.dataclass
class SizeReport:
    """The worked-out output shape of one layer on one input shape."""

    op: str
    input_shape: tuple
    output_shape: tuple
    lines: list            # the explanation, one line per entry
    params: int = 0        # number of learnable parameters (weight + bias)
    mult_adds: int = 0     # multiplications of the forward pass
    dims: list = dataclasses.field(default_factory=list)   # one Dim per spatial dim

    def __str__(self) -> str:
        return "\n".join(self.lines)


def parse_op(op: str):
    """``"conv_transpose2d"`` -> ``("conv_transpose", 2)``."""
    m = re.fullmatch(r"(conv|conv_transpose|max_pool|avg_pool|max_unpool)([123])d", op)
    if not m:
        raise SizeError(f"unknown operation {op!r}; expected one of: {', '.join(OPS)}")
    return m.group(1), int(m.group(2))


def spatial_names(n: int):
    """Names of the spatial dims of an n-d layer: L; H, W; D, H, W."""
    return _SPATIAL_NAMES[n]


def explain_size(op: str, input_shape, *, out_channels=None, kernel_size=None, stride=None,
                 padding=0, dilation=1, groups=1, bias=True, ceil_mode=False, output_padding=0,
                 output_size=None) -> SizeReport:
    """Work out the output shape of ``op`` on ``input_shape``, showing every formula.

    ``op`` is one of :data:`OPS` (e.g. ``"conv2d"``, ``"max_pool3d"``). Arguments mean what
    they mean for the layer (``torch.nn.Conv2d``, ``MaxPool2d`` ...): ``stride`` defaults to 1
    for convolutions and to ``kernel_size`` for pooling and unpooling; ``padding`` may be
    ``"same"`` or ``"valid"`` for convolutions. ``output_size`` (transposed convolution and
    unpooling) picks among the output sizes that the same input could give.

    Raises :class:`SizeError` (a ValueError) saying in words what does not fit.

    >>> print(explain_size("conv2d", (1, 3, 512, 512), out_channels=1, kernel_size=3).output_shape)
    (1, 1, 510, 510)
    """
    family, n = parse_op(op)
    input_shape = _check_input_shape(op, n, input_shape)
    if kernel_size is None:
        raise SizeError(f"{op} needs a kernel_size")
    if family in ("conv", "conv_transpose") and out_channels is None:
        raise SizeError(f"{op} needs out_channels (the number of filters)")
    tup = _shapes._ntuple(n, "kernel_size")
    k = tup(kernel_size)
    if stride is None:
        stride = 1 if family in ("conv", "conv_transpose") else k
    s = _shapes._ntuple(n, "stride")(stride)
    d = _shapes._ntuple(n, "dilation")(dilation)
    builder = _BUILDERS[family]
    return builder(op, n, input_shape, k=k, s=s, d=d, padding=padding, out_channels=out_channels,
                   groups=groups, bias=bias, ceil_mode=ceil_mode, output_padding=output_padding,
                   output_size=output_size)


# ---------------------------------------------------------------------------------------------
# shared pieces

def _check_input_shape(op, n, shape):
    shape = tuple(int(v) for v in shape)
    if len(shape) not in (n + 1, n + 2):
        raise SizeError(f"{op} takes an input of {n + 2} dims (N, C, {', '.join(spatial_names(n))}) "
                        f"or {n + 1} dims without the batch, but got {len(shape)} dims {list(shape)}")
    if any(v < 0 for v in shape):
        raise SizeError(f"input shape {list(shape)} has a negative size")
    return shape


def _header(op, n, shape, options):
    names = ("N", "C_in" if op.startswith("conv") else "C") + spatial_names(n)
    names = names[-len(shape):]
    dims = ", ".join(f"{a}={b}" for a, b in zip(names, shape))
    opts = " ".join(f"{key}={value}" for key, value in options.items())
    return [f"{op} on input {list(shape)}  ({dims})", f"  {opts}", ""]


def _fmt_tuple(t):
    return t[0] if len(set(t)) == 1 else t


def _positive(name, values, lines, what):
    for v in values:
        if v <= 0:
            raise SizeError(f"{name} must be positive, but got {name}={v}: {what}", lines)


def _batch_lines(shape, n, channel_line):
    """The N and C lines: batch unchanged, channels per family."""
    lines = []
    if len(shape) == n + 2:
        lines.append(f"  N     = {shape[0]}   (the batch size is unchanged)")
    lines.append(channel_line)
    return lines


def _dim_lines(dims, name, symbolic, filled, value, notes=(), final=None, rule=None):
    """Record one spatial dim in ``dims`` and return its lines: the formula, then the numbers
    aligned under its '=' sign, then the notes."""
    formula = symbolic.format(d=name)
    dims.append(Dim(name, formula, filled, value, list(notes), value if final is None else final, rule))
    head = f"  {name}_out = "
    indent = " " * len(head)
    lines = [head + formula, indent[:-2] + f"= {filled} = {value}"]
    for note in notes:
        lines += textwrap.wrap(note, 100, initial_indent=indent, subsequent_indent=indent + "  ")
    return lines


def _output_shape(shape, n, channels, spatial):
    batch = shape[:1] if len(shape) == n + 2 else ()
    return batch + (channels,) + tuple(spatial)


def _footer(out_shape, extra=()):
    return ["", f"output: {list(out_shape)}", *extra]


# ---------------------------------------------------------------------------------------------
# convolution

def _conv_padding(padding, n, k, s, d, lines):
    """Normalise ``padding`` into per-dim (left, right) pairs, explaining 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n, "valid"
        if padding != "same":
            raise SizeError(f"padding must be an int, a tuple or 'same'/'valid', but got {padding!r}",
                            lines)
        if any(v != 1 for v in s):
            raise SizeError("padding='same' is not supported for strided convolutions: with stride "
                            f"{_fmt_tuple(s)} no padding makes the output as large as the input",
                            lines)
        # torch puts the odd element of an even effective kernel on the right (TRAPS.md #7)
        return list(_shapes.same_padding(k, d)), "same"
    p = _shapes._ntuple(n, "padding")(padding)
    for v in p:
        if v < 0:
            raise SizeError(f"padding must not be negative, but got padding={v}", lines)
    return [(v, v) for v in p], None


def _conv_channels(op, shape, n, out_channels, groups, lines):
    in_channels = shape[-n - 1]
    if groups <= 0:
        raise SizeError(f"groups must be positive, but got groups={groups}", lines)
    if out_channels <= 0:
        raise SizeError(f"out_channels must be positive, but got out_channels={out_channels}", lines)
    for what, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise SizeError(f"{what} {value} is not divisible by groups {groups}: each of the "
                            f"{groups} groups must get the same number of channels", lines)
    return in_channels


def _build_conv(op, n, shape, *, k, s, d, padding, out_channels, groups, bias, **_):
    lines = _header(op, n, shape, dict(out_channels=out_channels, kernel_size=_fmt_tuple(k),
                                       stride=_fmt_tuple(s), padding=padding if isinstance(padding, str)
                                       else _fmt_tuple(_shapes._ntuple(n)(padding)),
                                       dilation=_fmt_tuple(d), groups=groups))
    _positive("stride", s, lines, "the kernel has to move forward")
    _positive("dilation", d, lines, "dilation 1 means neighbouring cells, 0 would stack every tap "
              "on one cell")
    _positive("kernel_size", k, lines, "a window needs at least one cell")
    pads, mode = _conv_padding(padding, n, k, s, d, lines)
    in_channels = _conv_channels(op, shape, n, out_channels, groups, lines)
    lines += _batch_lines(shape, n, f"  C_out = out_channels = {out_channels}")
    spatial, dims = [], []
    for name, size, kk, ss, dd, (left, right) in zip(spatial_names(n), shape[-n:], k, s, d, pads):
        span = dd * (kk - 1) + 1
        if size + left + right < span:
            raise SizeError(
                f"kernel {span} is larger than the padded input {size + left + right} along {name}: "
                f"the kernel covers dilation*(kernel_size-1)+1 = {dd}*({kk}-1)+1 = {span} cells, but "
                f"{name}_in + padding = {size} + {left + right} = {size + left + right}", lines)
        if mode == "same":
            notes = [f"(padding='same': dilation*(kernel_size-1) = {dd}*({kk}-1) = {left + right} "
                     f"padding cells, {left} left and {right} right"
                     + ("; the odd one goes right, as in torch)" if left != right else ")")]
            # asymmetric padding: the formula with `left` on both sides, applied to an input
            # longer by the extra right-hand cells
            value = _shapes.conv_output_size(size + right - left, kk, ss, left, dd)
            filled = f"floor(({size} + {left} + {right} - {dd}*({kk}-1) - 1) / {ss}) + 1"
            lines += _dim_lines(dims, name, _FORMULAS["conv_same"], filled, value, notes)
        else:
            value = _shapes.conv_output_size(size, kk, ss, left, dd)
            filled = f"floor(({size} + 2*{left} - {dd}*({kk}-1) - 1) / {ss}) + 1"
            lines += _dim_lines(dims, name, _FORMULAS["conv"], filled, value,
                                _stride_note(size, left, right, span, ss, value))
        spatial.append(value)
    out_shape = _output_shape(shape, n, out_channels, spatial)
    weight = (out_channels, in_channels // groups, *k)
    batch = shape[0] if len(shape) == n + 2 else 1
    mult_adds = batch * out_channels * _shapes.product(spatial) * (in_channels // groups) * _shapes.product(k)
    return _finish(op, shape, out_shape, lines, dims, weight, out_channels if bias else 0, mult_adds,
                   f"{batch}*{out_channels}*{'*'.join(map(str, spatial))} outputs "
                   f"x {in_channels // groups}*{'*'.join(map(str, k))} taps each")


def _stride_note(size, left, right, span, stride, value):
    """Say which input cells a strided window never reaches (the floor drops them)."""
    covered = (value - 1) * stride + span
    unused = size + left + right - covered
    if unused <= 0:
        return []
    if unused == 1:
        return ["(the last cell of the padded input fits no whole window: floor drops it)"]
    return [f"(the last {unused} cells of the padded input fit no whole window: floor drops them)"]


def _finish(op, shape, out_shape, lines, dims, weight, bias_count, mult_adds, mult_adds_how):
    weight_count = _shapes.product(weight)
    params = weight_count + bias_count
    lines += _footer(out_shape, [
        f"weight: {list(weight)} = {weight_count:,} parameters"
        + (f", bias: [{bias_count}] = {bias_count:,}" if bias_count else ", no bias"),
        f"multiply-adds: {mult_adds:,}  ({mult_adds_how})",
    ])
    return SizeReport(op, shape, out_shape, lines, params, mult_adds, dims)


# ---------------------------------------------------------------------------------------------
# transposed convolution

def _build_conv_transpose(op, n, shape, *, k, s, d, padding, out_channels, groups, bias,
                          output_padding, output_size, **_):
    if isinstance(padding, str):
        raise SizeError(f"{op} takes padding as an int or tuple, not {padding!r} "
                        "(torch has no 'same' padding for transposed convolutions)")
    p = _shapes._ntuple(n, "padding")(padding)
    op_ = _shapes._ntuple(n, "output_padding")(output_padding)
    lines = _header(op, n, shape, dict(out_channels=out_channels, kernel_size=_fmt_tuple(k),
                                       stride=_fmt_tuple(s), padding=_fmt_tuple(p),
                                       output_padding=_fmt_tuple(op_), groups=groups,
                                       dilation=_fmt_tuple(d)))
    _positive("stride", s, lines, "the kernel has to move forward")
    _positive("dilation", d, lines, "dilation 1 means neighbouring cells")
    _positive("kernel_size", k, lines, "a window needs at least one cell")
    for v in p:
        if v < 0:
            raise SizeError(f"padding must not be negative, but got padding={v}", lines)
    in_channels = _conv_channels(op, shape, n, out_channels, groups, lines)
    if output_size is not None:
        op_ = _output_padding_from_size(op, n, shape, k, s, p, d, output_size, lines)
    for v, ss, dd in zip(op_, s, d):
        if v < 0 or (v >= ss and v >= dd):
            raise SizeError(
                f"output_padding {v} must be smaller than stride {ss} or dilation {dd}: it only "
                "chooses among the output sizes that a strided convolution maps to the same input "
                f"size, and there are stride={ss} of them (output_padding 0..{max(ss, dd) - 1})", lines)
    lines += _batch_lines(shape, n, f"  C_out = out_channels = {out_channels}")
    spatial, dims = [], []
    for name, size, kk, ss, pp, dd, oo in zip(spatial_names(n), shape[-n:], k, s, p, d, op_):
        value = _shapes.conv_transpose_output_size(size, kk, ss, pp, dd, oo)
        filled = f"({size} - 1)*{ss} - 2*{pp} + {dd}*({kk}-1) + {oo} + 1"
        if value <= 0:
            raise SizeError(
                f"the output would have {value} cells along {name}: {filled} = {value}. "
                f"padding {pp} crops more than the transposed convolution produces", lines)
        spatial.append(value)
        lines += _dim_lines(dims, name, _FORMULAS["conv_transpose"], filled, value)
    out_shape = _output_shape(shape, n, out_channels, spatial)
    weight = (in_channels, out_channels // groups, *k)
    batch = shape[0] if len(shape) == n + 2 else 1
    in_spatial = shape[-n:]
    mult_adds = (batch * in_channels * _shapes.product(in_spatial)
                 * (out_channels // groups) * _shapes.product(k))
    return _finish(op, shape, out_shape, lines, dims, weight, out_channels if bias else 0, mult_adds,
                   f"each of {batch}*{in_channels}*{'*'.join(map(str, in_spatial))} inputs scatters "
                   f"{out_channels // groups}*{'*'.join(map(str, k))} products")


def _output_padding_from_size(op, n, shape, k, s, p, d, output_size, lines):
    """torch's ``_ConvTransposeNd._output_padding``: output_size picks output_padding."""
    output_size = tuple(output_size)
    if len(output_size) > n:
        output_size = output_size[-n:]
    if len(output_size) != n:
        raise SizeError(f"output_size must have {n} spatial sizes, but got {list(output_size)}", lines)
    result = []
    for name, size, want, kk, ss, pp, dd in zip(spatial_names(n), shape[-n:], output_size, k, s, p, d):
        smallest = _shapes.conv_transpose_output_size(size, kk, ss, pp, dd, 0)
        largest = smallest + ss - 1
        if not smallest <= want <= largest:
            raise SizeError(
                f"requested {name}_out = {want}, but an input of {size} can only give {smallest}.."
                f"{largest} (output_padding 0..{ss - 1} on top of {smallest})", lines)
        result.append(want - smallest)
        lines.append(f"  output_size {name}_out = {want} -> output_padding = {want} - {smallest} = "
                     f"{want - smallest}")
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# pooling

def _build_pool(op, n, shape, *, k, s, d, padding, ceil_mode, **_):
    family = op[:-2]
    ceil_mode = bool(ceil_mode)
    p = _shapes._ntuple(n, "padding")(padding)
    options = dict(kernel_size=_fmt_tuple(k), stride=_fmt_tuple(s), padding=_fmt_tuple(p))
    if family == "max_pool":
        options["dilation"] = _fmt_tuple(d)
    elif any(v != 1 for v in d):
        raise SizeError(f"{op} has no dilation argument")
    options["ceil_mode"] = ceil_mode
    lines = _header(op, n, shape, options)
    _positive("kernel_size", k, lines, "a window needs at least one cell")
    _positive("stride", s, lines, "the window has to move forward")
    _positive("dilation", d, lines, "dilation 1 means neighbouring cells")
    if any(v == 0 for v in shape[-n - 1:]):
        raise SizeError(f"{op} needs a non-empty input, but got {list(shape)}", lines)
    for name, kk, pp in zip(spatial_names(n), k, p):
        # torch's pool2d_shape_check (aten/src/ATen/native/Pool.h): padding beyond half the
        # kernel would let a window see padding only.
        if pp < 0 or pp > kk // 2:
            raise SizeError(f"padding {pp} along {name} is more than half the kernel {kk} "
                            f"(at most {kk // 2}): a window could then see padding only", lines)
    if op == "avg_pool3d":
        # torch's 3-d average pooling alone also wants the unpadded input to hold a whole
        # kernel (aten/src/ATen/native/AveragePool3d.cpp, "input image ... smaller than kernel size")
        for name, size, kk in zip(spatial_names(n), shape[-n:], k):
            if size < kk:
                raise SizeError(f"{name}_in {size} is smaller than the kernel {kk}: avg_pool3d needs "
                                "a whole kernel inside the unpadded input (padding does not count)",
                                lines)
    lines += _batch_lines(shape, n, f"  C     = {shape[-n - 1]}   (pooling keeps every channel)")
    spatial, dims = [], []
    for name, size, kk, ss, pp, dd in zip(spatial_names(n), shape[-n:], k, s, p, d):
        value = _shapes.pool_output_size(size, kk, ss, pp, dd, ceil_mode)
        # ceil(a / s) == floor((a + s-1) / s): torch's own way of rounding up (Pool.h), so the
        # rounded-up size before the last-window rule is the floor formula on size + s-1.
        rounded = _shapes.pool_output_size(size + ss - 1, kk, ss, pp, dd, False) if ceil_mode else value
        inner = (f"{size} + 2*{pp} - {dd}*({kk}-1) - 1" if family == "max_pool"
                 else f"{size} + 2*{pp} - {kk}")
        filled = f"{'ceil' if ceil_mode else 'floor'}(({inner}) / {ss}) + 1"
        if value < 1:
            span, padded = dd * (kk - 1) + 1, size + 2 * pp
            why = (f"kernel {span} is larger than the padded input {padded} along {name}: "
                   if span > padded else "")
            raise SizeError(f"{why}{name}_out = {filled} = {value}, but an output needs at least "
                            "1 cell", lines)
        rule = None
        if ceil_mode:
            notes, rule = _ceil_notes(name, size, kk, ss, pp, dd, rounded, value)
        else:
            notes = _stride_note(size, pp, pp, dd * (kk - 1) + 1, ss, value)
        lines += _dim_lines(dims, name, _FORMULAS[family + ("_ceil" if ceil_mode else "")], filled,
                            rounded, notes, final=value, rule=rule)
        spatial.append(value)
    out_shape = _output_shape(shape, n, shape[-n - 1], spatial)
    lines += _footer(out_shape, ["no parameters"])
    return SizeReport(op, shape, out_shape, lines, 0, 0, dims)


def _ceil_notes(name, size, kernel, stride, padding, dilation, rounded, value):
    """Explain ceil_mode: round up, then drop a last window that would start in the right
    padding (TRAPS.md #1, pytorch#45357). Returns (notes, the rule in short)."""
    if rounded == _shapes.pool_output_size(size, kernel, stride, padding, dilation, False):
        return ["(the division is exact, so ceil_mode changes nothing here)"], None
    start, end = (rounded - 1) * stride, size + padding
    kept = value == rounded
    rule = (f"last window starts at ({rounded}-1)*{stride} = {start} {'<' if kept else '>='} "
            f"{name}_in + padding = {end}: {'kept' if kept else f'dropped -> {value}'}")
    notes = ["(ceil_mode rounds up: the last window may hang over the end; its missing cells "
             "are ignored)",
             f"last-window rule: the last window starts at padded position ({rounded}-1)*{stride} = "
             f"{start}; {name}_in + padding = {size} + {padding} = {end} is where the input ends, so "
             + ("it covers input and is kept" if kept else "it would see right padding only and is dropped")]
    if not kept:
        notes.append(f"-> {name}_out = {rounded} - 1 = {value}")
    return notes, rule


# ---------------------------------------------------------------------------------------------
# unpooling

def _build_unpool(op, n, shape, *, k, s, padding, output_size, **_):
    p = _shapes._ntuple(n, "padding")(padding)
    lines = _header(op, n, shape, dict(kernel_size=_fmt_tuple(k), stride=_fmt_tuple(s),
                                       padding=_fmt_tuple(p)))
    _positive("kernel_size", k, lines, "a window needs at least one cell")
    _positive("stride", s, lines, "the window has to move forward")
    lines += _batch_lines(shape, n, f"  C     = {shape[-n - 1]}   (unpooling keeps every channel)")
    default, dims = [], []
    for name, size, kk, ss, pp in zip(spatial_names(n), shape[-n:], k, s, p):
        filled = f"({size} - 1)*{ss} - 2*{pp} + {kk}"
        try:
            (value,) = _shapes.unpool_output_shape((size,), (kk,), (ss,), (pp,))
        except ValueError:  # a negative size
            raise SizeError(f"{name}_out = {filled} is negative: padding {pp} crops more than the "
                            f"windows cover", lines) from None
        lines += _dim_lines(dims, name, _FORMULAS["max_unpool"], filled, value)
        default.append(value)
    spatial = default
    if output_size is not None:
        spatial = _unpool_output_size(n, default, s, output_size, lines)
    out_shape = _output_shape(shape, n, shape[-n - 1], spatial)
    lines += _footer(out_shape, ["no parameters; every output cell is 0 except where an index "
                                 "puts an input value"])
    return SizeReport(op, shape, out_shape, lines, 0, 0, dims)


def _unpool_output_size(n, default, stride, output_size, lines):
    """torch.nn.functional._unpool_output_size: output_size must lie strictly within one stride
    of the default size (pytorch#580)."""
    output_size = tuple(output_size)
    if len(output_size) == n + 2:
        output_size = output_size[2:]
    if len(output_size) != n:
        raise SizeError(f"output_size should have {n} or {n + 2} elements, but got "
                        f"{list(output_size)}", lines)
    for name, want, base, ss in zip(spatial_names(n), output_size, default, stride):
        if not base - ss < want < base + ss:
            raise SizeError(f"output_size {name}_out = {want} is not strictly between "
                            f"{base} - stride = {base - ss} and {base} + stride = {base + ss}: no "
                            "pooling of that size gives this input size", lines)
        if want < 0:
            raise SizeError(f"output_size {name}_out = {want} is negative", lines)
        lines.append(f"  output_size chooses {name}_out = {want} "
                     f"(allowed: {base - ss} < {want} < {base + ss})")
    return output_size


_BUILDERS = {
    "conv": _build_conv,
    "conv_transpose": _build_conv_transpose,
    "max_pool": _build_pool,
    "avg_pool": _build_pool,
    "max_unpool": _build_unpool,
}
