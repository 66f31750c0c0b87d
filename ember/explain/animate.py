"""Animated GIFs of sliding-window layers: the window moving over the input, the output
filling in one element per frame.

In the style of the convolution-arithmetic animations (Dumoulin & Visin, "A guide to
convolution arithmetic for deep learning", 2016): padding is drawn as dashed cells, the
window's cells are dark with the kernel weight each is multiplied by in their corner, and the
caption under the picture spells out the sum, max or average that made the current output.

Every number in a frame is computed by ember's own layer (``ember.nn.functional``); this module
only works out *which* cells each output element reads, from the same geometry the size
formulas of :mod:`ember.nn._shapes` describe:

* convolution: output ``i`` reads padded-input cells ``i*stride + a*dilation``;
* transposed convolution: the equivalent direct convolution - ``stride-1`` zeros inserted
  between input elements, ``dilation*(kernel_size-1) - padding`` padding cells each side
  (``output_padding`` more on the right), the kernel flipped, stride 1;
* pooling: like convolution; with ``ceil_mode`` the last window may hang over the end
  (hatched cells, ignored);
* max-unpooling: output cell ``o`` takes the input element whose index is ``o``, 0 if none.

>>> anim = animate("conv2d", (5, 5), kernel_size=3, stride=2, padding=1)  # doctest: +SKIP
>>> anim.save("conv.gif"); len(anim.frames) == 3 * 3 + 2  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError
from ember.explain.sizes import explain_size, parse_op
from ember.nn import _shapes

__all__ = ["animate", "animation_cost", "Animation", "Scene", "Step", "build_scene",
           "ANIMATED_OPS"]

ANIMATED_OPS = tuple(f"{family}{n}d" for family in
                     ("conv", "conv_transpose", "max_pool", "avg_pool", "max_unpool") for n in (1, 2))

# kinds of left-panel cells
INPUT, PAD, ZERO, OUTSIDE = range(4)

INTRO_MS, STEP_MS, OUTRO_MS = 2200, 800, 3000

_BASE_BYTES = 64 * 1024 ** 2    # fonts, palettes, Pillow's working buffers: measured ~50 MB


@dataclasses.dataclass
class Step:
    """One output element: which cells made it and how."""

    index: tuple                  # (row, col) in the output grid
    cells: list                   # left-panel cells the window reads, in kernel order
    taps: list                    # per cell: the kernel weight it is multiplied by (None: pooling)
    focus: tuple | None           # the left-panel cell that gave the value (max, unpool source)
    out_window: list              # right-panel cells to outline (unpool: the source's window)
    value: float
    caption: str
    counted: list = None          # the cells whose values enter the result (default: cells)
    divisor: int = None           # average pooling's divisor

    def __post_init__(self):
        if self.counted is None:
            self.counted = list(self.cells)


@dataclasses.dataclass
class Scene:
    """Everything an animation shows, before any drawing: geometry and ember's numbers."""

    op: str
    title: str                    # the options, e.g. "kernel_size=3  stride=2"
    left_label: str
    right_label: str
    kind: np.ndarray              # (R, C) INPUT / PAD / ZERO / OUTSIDE per left-panel cell
    values: np.ndarray            # (R, C) the numbers shown (nan: none)
    out_values: np.ndarray        # (Ho, Wo) ember's output
    steps: list
    intro: list                   # caption of the first frame (the size formulas)
    kernel: np.ndarray | None = None      # drawn between the panels for convolutions
    kernel_label: str = ""
    marks: dict = dataclasses.field(default_factory=dict)   # small labels on left cells
    legend: list = dataclasses.field(default_factory=list)  # (kind, text)


def animate(op: str, input_size, *, kernel_size, stride=None, padding=0, dilation=1,
            output_padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None,
            output_size=None, seed=0, cell=None, progress=None) -> "Animation":
    """Build the animation of ``op`` (one of :data:`ANIMATED_OPS`) on a single-channel input of
    spatial size ``input_size`` ((H, W) or (L,)), with small random integers (``seed``).

    The GIF has one frame per output element, plus an intro frame (the input, the output
    size formula) and an outro frame (the finished output). ``progress(done, total)``, if
    given, is called after each frame is drawn."""
    scene = build_scene(op, input_size, kernel_size=kernel_size, stride=stride, padding=padding,
                        dilation=dilation, output_padding=output_padding, ceil_mode=ceil_mode,
                        count_include_pad=count_include_pad, divisor_override=divisor_override,
                        output_size=output_size, seed=seed)
    return Animation(scene, cell=cell, progress=progress)


# ---------------------------------------------------------------------------------------------
# geometry and values

def build_scene(op, input_size, *, kernel_size, stride=None, padding=0, dilation=1,
                output_padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None,
                output_size=None, seed=0) -> Scene:
    """Work out the geometry of ``op`` and run ember's layer to fill in the numbers."""
    family, n, input_size, k, s, p, d, opad, report = _validated(
        op, input_size, kernel_size, stride, padding, dilation, output_padding, ceil_mode,
        output_size)
    intro = [line for dim in report.dims for line in _intro_lines(dim)]
    rng = np.random.default_rng(seed)
    # 1-d is drawn as one row: every per-dim argument gains a neutral leading entry
    geo = dict(k=_as2(k, 1), s=_as2(s, 1), d=_as2(d, 1), opad=_as2(opad, 0), n=n)
    # padding as a (left, right) pair per dim ('same' may be asymmetric)
    if isinstance(p, str):
        geo["pads"] = _same_pads(p, geo["k"], geo["d"])
    else:
        geo["pads"] = [(v, v) for v in _as2(p, 0)]
    size2 = _as2(input_size, 1)
    builder = {"conv": _conv_scene, "conv_transpose": _conv_transpose_scene,
               "max_pool": _pool_scene, "avg_pool": _pool_scene, "max_unpool": _unpool_scene}[family]
    scene = builder(op, family, size2, geo, rng, report, ceil_mode=ceil_mode, padding=p,
                    count_include_pad=count_include_pad, divisor_override=divisor_override,
                    output_size=output_size)
    scene.intro = intro + scene.intro   # the formulas, then anything the builder adds
    return scene


def _validated(op, input_size, kernel_size, stride, padding, dilation, output_padding,
               ceil_mode, output_size):
    """Per-dim arguments of ``op`` and its size report; every argument checked (in words)
    before anything is drawn or allocated."""
    family, n = parse_op(op)
    if op not in ANIMATED_OPS:
        raise ValueError(f"animations are 1-d or 2-d; {op!r} is not one of {', '.join(ANIMATED_OPS)}")
    input_size = tuple(int(v) for v in input_size)
    if len(input_size) != n:
        raise ValueError(f"{op} needs a spatial input size of {n} number(s), e.g. "
                         f"{'5,5' if n == 2 else '7'}, but got {list(input_size)}")
    if stride is None:
        stride = 1 if family.startswith("conv") else kernel_size
    tup = _shapes._ntuple(n)
    k, s, d = tup(kernel_size), tup(stride), tup(dilation)
    p = padding if isinstance(padding, str) else tup(padding)
    opad = tup(output_padding)
    # the size explanation validates every argument and gives the intro's formulas
    report = explain_size(op, (1, 1) + input_size, out_channels=1, kernel_size=k, stride=s,
                          padding=p, dilation=d, ceil_mode=ceil_mode, output_padding=opad,
                          output_size=output_size, bias=False)
    if 0 in report.output_shape:
        raise ValueError(f"the output {list(report.output_shape[2:])} is empty: nothing to animate")
    return family, n, input_size, k, s, p, d, opad, report


def animation_cost(op, input_size, *, kernel_size, stride=None, padding=0, dilation=1,
                   output_padding=0, ceil_mode=False, output_size=None, cell=None):
    """``(frames, bytes)`` of :func:`animate` with these arguments, from the sizes alone
    (validated like ``animate``), so that a huge request is refused before it is drawn.

    The bytes bound the peak: every frame is kept (Pillow RGB, 4 bytes a pixel) and saving
    adds 3 bytes a pixel per frame (palette indices, the changed-pixels delta, its image);
    the picture holds the padded (or, transposed, stretched) input and the output side by
    side; each step keeps a few hundred bytes per kernel cell (cells, weights, caption)."""
    family, n, input_size, k, s, p, d, opad, report = _validated(
        op, input_size, kernel_size, stride, padding, dilation, output_padding, ceil_mode,
        output_size)
    out = tuple(report.output_shape[2:])
    pads = [dd * (kk - 1) for kk, dd in zip(k, d)] if isinstance(p, str) else list(p)
    canvas = [max(i + 2 * pp + ss, (i - 1) * ss + 1 + 2 * dd * (kk - 1) + oo)
              for i, pp, ss, dd, kk, oo in zip(input_size, pads, s, d, k, opad)]
    canvas2, out2 = _as2(canvas, 1), _as2(out, 1)
    steps = int(np.prod(out))
    px = int(cell or min(46, max(18, 440 // max(canvas2 + out2))))
    width = max(640, (canvas2[1] + out2[1]) * px + 400)
    caption_lines = 6 + int(np.prod(k)) * 20 // width
    height = max(canvas2[0], out2[0]) * px + 200 + 21 * caption_lines
    frames = steps + 2
    return frames, frames * width * height * 7 + steps * int(np.prod(k)) * 300 + _BASE_BYTES


def _as2(t, neutral):
    t = tuple(t)
    return t if len(t) == 2 else (neutral,) + t


def _same_pads(mode, k, d):
    return [(0, 0), (0, 0)] if mode == "valid" else list(_shapes.same_padding(k, d))


def _intro_lines(dim):
    """The first frame's caption for one dim: the size formula with its numbers, and what
    ceil_mode's last-window rule did."""
    return [str(dim)] + ([f"    ({dim.rule})"] if dim.rule else [])


def _options_text(**options):
    return "  ".join(f"{key}={_fmt_opt(v)}" for key, v in options.items())


def _fmt_opt(v):
    if isinstance(v, tuple) and len(set(v)) == 1:
        return v[0]
    return v


def _lib():
    """The library whose layers compute the numbers: ember (a seam for tests)."""
    import ember
    return ember


def _to_numpy(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.numpy())


def _call(name, x, *args, **kwargs):
    """Run ``ember.nn.functional.<name>`` on float64 numpy inputs; return numpy outputs."""
    lib = _lib()
    tensors = [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in (x, *args)]
    out = getattr(lib.nn.functional, name)(*tensors, **kwargs)
    if isinstance(out, tuple):
        return tuple(_to_numpy(o) for o in out)
    return _to_numpy(out)


def _batched(a, n):
    """A 2-d (rows, cols) array as the (1, 1, *spatial) input of an n-d layer."""
    return a.reshape((1, 1) + (a.shape if n == 2 else a.shape[1:]))


def _spatial_args(n, *values):
    """Per-dim arguments for the n-d layer (drop the neutral leading dim of 1-d)."""
    return [tuple(v) if n == 2 else (v[1],) for v in values]


def _idx(i, j, n):
    return f"[{i},{j}]" if n == 2 else f"[{j}]"


def _conv_scene(op, family, size, geo, rng, report, *, padding, **_):
    n, k, s, d, pads = geo["n"], geo["k"], geo["s"], geo["d"], geo["pads"]
    x = rng.integers(0, 4, size=size).astype(np.float64)
    w = rng.integers(-1, 3, size=k).astype(np.float64)
    kind, values = _padded_canvas(x, pads, pad_value=0.0)
    ks, ss, ds = _spatial_args(n, k, s, d)
    y = _call(f"conv{n}d", _batched(x, n), _batched(w, n), None, ss,
              padding if isinstance(padding, str) else _spatial_args(n, [pp for pp, _ in pads])[0],
              ds)
    y = y.reshape(-1, y.shape[-1])
    steps = []
    for i, j in np.ndindex(*y.shape):
        cells = [(i * s[0] + a * d[0], j * s[1] + b * d[1]) for a in range(k[0]) for b in range(k[1])]
        taps = [w[a, b] for a in range(k[0]) for b in range(k[1])]
        terms = [f"{_fmt(values[c])}·{_fmt_signed(t)}" for c, t in zip(cells, taps)]
        steps.append(Step((i, j), cells, taps, None, [], y[i, j],
                          _sum_caption(f"y{_idx(i, j, n)}", terms, "x·w", y[i, j])))
    pad_txt = padding if isinstance(padding, str) else _fmt_opt(tuple(pp for pp, _ in pads)[2 - n:])
    title = _options_text(kernel_size=ks, stride=ss, padding=pad_txt, dilation=ds)
    return Scene(op, title, f"input {_shape_txt(size, n)}" + _pad_label(pads[2 - n:]),
                 f"output {_shape_txt(y.shape, n)}",
                 kind, values, y, steps, [], kernel=w, kernel_label="kernel",
                 legend=[(INPUT, "input"), (PAD, "padding (zeros)")])


def _conv_transpose_scene(op, family, size, geo, rng, report, *, padding, **_):
    n, k, s, d, opad = geo["n"], geo["k"], geo["s"], geo["d"], geo["opad"]
    p = [pp for pp, _ in geo["pads"]]
    x = rng.integers(0, 4, size=size).astype(np.float64)
    w = rng.integers(-1, 3, size=k).astype(np.float64)
    ks, ss, ps, ds, ops = _spatial_args(n, k, s, p, d, opad)
    y = _call(f"conv_transpose{n}d", _batched(x, n), _batched(w, n), None, ss, ps, ops, 1, ds)
    y = y.reshape(-1, y.shape[-1])
    # the equivalent direct convolution: stride-1 zeros between inputs, q = d*(k-1) - p
    # padding cells on the left, q + output_padding on the right (negative: cropped), kernel
    # flipped, stride 1 (Dumoulin & Visin 2016, section 4).
    q = [dd * (kk - 1) - pp for kk, dd, pp in zip(k, d, p)]
    stretched = [(sz - 1) * ss_ + 1 for sz, ss_ in zip(size, s)]
    lo = [min(-qq, 0) for qq in q]
    hi = [max(st - 1 + qq + oo, st - 1) for st, qq, oo in zip(stretched, q, opad)]
    shape = tuple(h - l_ + 1 for l_, h in zip(lo, hi))
    kind = np.full(shape, PAD, dtype=np.int8)
    values = np.zeros(shape)
    for r, c in np.ndindex(*shape):
        t = (r + lo[0], c + lo[1])
        if all(0 <= tt < st for tt, st in zip(t, stretched)):
            if t[0] % s[0] == 0 and t[1] % s[1] == 0:
                kind[r, c] = INPUT
                values[r, c] = x[t[0] // s[0], t[1] // s[1]]
            else:
                kind[r, c] = ZERO
    flipped = w[::-1, ::-1]
    steps = []
    for i, j in np.ndindex(*y.shape):
        origin = (i - q[0] - lo[0], j - q[1] - lo[1])
        cells = [(origin[0] + a * d[0], origin[1] + b * d[1]) for a in range(k[0]) for b in range(k[1])]
        taps = [flipped[a, b] for a in range(k[0]) for b in range(k[1])]
        terms = [f"{_fmt(values[c])}·{_fmt_signed(t)}" for c, t in zip(cells, taps) if kind[c] == INPUT]
        steps.append(Step((i, j), cells, taps, None, [], y[i, j],
                          _sum_caption(f"y{_idx(i, j, n)}", terms, "x·w", y[i, j],
                                       empty="only padding and inserted zeros under the kernel")))
    title = _options_text(kernel_size=ks, stride=ss, padding=ps, output_padding=ops,
                                        dilation=ds)
    left = f"input {_shape_txt(size, n)}" + _stretch_label(s[2 - n:], q[2 - n:], opad[2 - n:])
    return Scene(op, title, left, f"output {_shape_txt(y.shape, n)}", kind, values, y, steps, [],
                 kernel=flipped, kernel_label="kernel, flipped",
                 legend=[(INPUT, "input"), (ZERO, "inserted zeros"), (PAD, "padding (zeros)")])


def _pool_scene(op, family, size, geo, rng, report, *, ceil_mode, count_include_pad,
                divisor_override, **_):
    """A max or average pooling scene: the padded canvas and one step per output element."""
    n, k, s, d, pads = geo["n"], geo["k"], geo["s"], geo["d"], geo["pads"]
    x = rng.integers(0, 10, size=size).astype(np.float64)
    is_max = family == "max_pool"
    if n == 1 and divisor_override is not None:
        raise ValueError("avg_pool1d has no divisor_override (torch's neither); use avg_pool2d")
    ks, ss, ps, ds = _spatial_args(n, k, s, [pp for pp, _ in pads], d)
    out2 = _as2(report.output_shape[2:], 1)
    # the canvas: padded input, plus the ceil_mode overhang past the right padding
    need = [(o - 1) * ss_ + dd * (kk - 1) + 1 for o, ss_, dd, kk in zip(out2, s, d, k)]
    kind, values = _padded_canvas(x, pads, pad_value=np.nan, min_shape=need)
    if is_max:
        y, indices = _call(f"max_pool{n}d", _batched(x, n), ks, ss, ps, ds, ceil_mode, True)
        indices = indices.reshape(out2)
    else:
        kwargs = dict(ceil_mode=ceil_mode, count_include_pad=count_include_pad)
        if divisor_override is not None:
            kwargs["divisor_override"] = divisor_override
        y = _call(f"avg_pool{n}d", _batched(x, n), ks, ss, ps, **kwargs)
        if count_include_pad:
            values[kind == PAD] = 0.0
    y = y.reshape(out2)
    steps = []
    for i, j in np.ndindex(*y.shape):
        cells = [(i * s[0] + a * d[0], j * s[1] + b * d[1]) for a in range(k[0]) for b in range(k[1])]
        if is_max:
            focus = (int(indices[i, j]) // size[1] + pads[0][0], int(indices[i, j]) % size[1] + pads[1][0])
            steps.append(_max_pool_step((i, j), n, cells, focus, kind, values, y[i, j]))
        else:
            steps.append(_avg_pool_step((i, j), n, cells, kind, values, y[i, j],
                                        count_include_pad, divisor_override))
    title = _pool_title(is_max, ks, ss, ps, ds, ceil_mode, count_include_pad, divisor_override)
    return Scene(op, title, f"input {_shape_txt(size, n)}" + _pad_label(pads[2 - n:]),
                 f"output {_shape_txt(y.shape, n)}", kind, values, y, steps, [],
                 legend=_pool_legend(kind, is_max, count_include_pad))


def _max_pool_step(ij, n, cells, focus, kind, values, out) -> Step:
    """One max-pooling output element: the window, the winning cell, and why padding and the
    ceil_mode overhang never win."""
    inside = [c for c in cells if kind[c] == INPUT]
    kinds = {int(kind[c]) for c in cells}
    why = ", ".join(text for k_, text in ((PAD, "padding never wins"),
                                          (OUTSIDE, "cells past the end are ignored"))
                    if k_ in kinds)
    caption = (f"y{_idx(*ij, n)} = max({', '.join(_fmt(values[c]) for c in inside)}) = "
               f"{_fmt(out)}" + (f"   ({why})" if why else ""))
    return Step(ij, cells, [None] * len(cells), focus, [], out, caption, inside, None)


def _avg_pool_step(ij, n, cells, kind, values, out, count_include_pad, divisor_override) -> Step:
    """One average-pooling output element: the cells summed and the divisor, with its reason."""
    inside = [c for c in cells if kind[c] == INPUT]
    counted = [c for c in cells if kind[c] == INPUT or (count_include_pad and kind[c] == PAD)]
    if divisor_override is not None:
        divisor, why = divisor_override, "divisor_override"
    elif count_include_pad:
        divisor, why = len(counted), "cells in the padded input"
    else:
        divisor, why = len(inside), "input cells"
    caption = (f"y{_idx(*ij, n)} = ({' + '.join(_fmt(values[c]) for c in counted)}) / "
               f"{divisor} = {_fmt(out)}   (divisor: {why})")
    return Step(ij, cells, [None] * len(cells), None, [], out, caption, counted, divisor)


def _pool_title(is_max, ks, ss, ps, ds, ceil_mode, count_include_pad, divisor_override) -> str:
    """The pooling layer's options as its title; the defaults left out."""
    options = dict(kernel_size=ks, stride=ss, padding=ps)
    if is_max:
        options["dilation"] = ds
    if ceil_mode:
        options["ceil_mode"] = True
    if not is_max and not count_include_pad:
        options["count_include_pad"] = False
    if not is_max and divisor_override is not None:
        options["divisor_override"] = divisor_override
    return _options_text(**options)


def _pool_legend(kind, is_max, count_include_pad) -> list:
    """What the canvas's colours mean: input, padding (counted or ignored), the overhang."""
    legend = [(INPUT, "input"), (PAD, "padding" + (" (zeros, counted)" if not is_max and count_include_pad
                                                   else " (ignored)"))]
    if (kind == OUTSIDE).any():
        legend.append((OUTSIDE, "ceil_mode overhang (ignored)"))
    return legend


def _unpool_scene(op, family, size, geo, rng, report, *, output_size, **_):
    n, k, s = geo["n"], geo["k"], geo["s"]
    p = [pp for pp, _ in geo["pads"]]
    out2 = _as2(report.output_shape[2:], 1)
    ks, ss, ps = _spatial_args(n, k, s, p)
    x, indices, origin = _unpool_inputs(size, out2, k, s, p, n, ks, ss, ps, rng)
    y = _call(f"max_unpool{n}d", _batched(x, n), _batched(indices, n), ks, ss, ps,
              output_size=None if output_size is None else tuple(report.output_shape[2:]))
    y = y.reshape(out2)
    source = {}
    for a, b in np.ndindex(*size):  # later elements overwrite earlier ones, like the CPU kernel
        source[divmod(int(indices[a, b]), out2[1])] = (a, b)
    steps = []
    for i, j in np.ndindex(*out2):
        src = source.get((i, j))
        if src is None:
            steps.append(Step((i, j), [], [], None, [], y[i, j],
                              f"y{_idx(i, j, n)} = 0   (no index points here)"))
            continue
        window = [(src[0] * s[0] - p[0] + a, src[1] * s[1] - p[1] + b)
                  for a in range(k[0]) for b in range(k[1])]
        window = [c for c in window if 0 <= c[0] < out2[0] and 0 <= c[1] < out2[1]]
        place = f"row {i}, col {j}" if n == 2 else f"position {j}"
        steps.append(Step((i, j), [src], [None], src, window, y[i, j],
                          f"y{_idx(i, j, n)} = x{_idx(*src, n)} = {_fmt(y[i, j])}   "
                          f"(its index is {i * out2[1] + j}: {place})"))
    kind = np.full(size, INPUT, dtype=np.int8)
    marks = {(a, b): f"#{int(indices[a, b])}" for a, b in np.ndindex(*size)}
    title = _options_text(kernel_size=ks, stride=ss, padding=ps)
    return Scene(op, title, f"input {_shape_txt(size, n)} (value, #index)", f"output {_shape_txt(out2, n)}",
                 kind, x, y, steps, [origin], marks=marks,
                 legend=[(INPUT, "input: value and the flat index it goes to")])


def _unpool_inputs(size, out2, k, s, p, n, ks, ss, ps, rng):
    """The pooled values and indices to unpool: ember's max_pool of a random image of the output
    size when that gives the requested input size (the usual pairing), otherwise a random
    position inside each window."""
    image = rng.integers(0, 10, size=out2).astype(np.float64) + rng.random(out2) * 0.5
    pooled_shape = tuple(_shapes.pool_output_size(o, kk, ss_, pp) for o, kk, ss_, pp in zip(out2, k, s, p))
    poolable = all(pp <= kk // 2 for kk, pp in zip(k, p))   # max_pool's own padding limit
    if poolable and pooled_shape == tuple(size):
        x, indices = _call(f"max_pool{n}d", _batched(image, n), ks, ss, ps, 1, False, True)
        return (np.round(x.reshape(size)), indices.reshape(size).astype(np.int64),
                f"(input and indices: max_pool{n}d of a random {_shape_txt(out2, n)} image, "
                "return_indices=True)")
    x = rng.integers(1, 10, size=size).astype(np.float64)
    indices = np.empty(size, dtype=np.int64)
    for a, b in np.ndindex(*size):
        rows = [r for r in range(a * s[0] - p[0], a * s[0] - p[0] + k[0]) if 0 <= r < out2[0]]
        cols = [c for c in range(b * s[1] - p[1], b * s[1] - p[1] + k[1]) if 0 <= c < out2[1]]
        if not rows or not cols:
            raise ValueError(f"with output size {list(out2)} the window of input element ({a}, {b}) "
                             "lies outside the output: no index can point there")
        indices[a, b] = rng.choice(rows) * out2[1] + rng.choice(cols)
    return x, indices, "(indices: a random position inside each element's window)"


def _padded_canvas(x, pads, pad_value, min_shape=None):
    """The left panel of a convolution or pooling: x inside its padding (and, for ceil_mode,
    the overhang past the right padding, marked OUTSIDE)."""
    padded = [sz + l_ + r for sz, (l_, r) in zip(x.shape, pads)]
    shape = padded if min_shape is None else [max(a, b) for a, b in zip(padded, min_shape)]
    kind = np.full(shape, OUTSIDE, dtype=np.int8)
    kind[:padded[0], :padded[1]] = PAD
    (top, _), (left, _) = pads
    kind[top:top + x.shape[0], left:left + x.shape[1]] = INPUT
    values = np.full(shape, np.nan)
    values[kind == PAD] = pad_value
    values[top:top + x.shape[0], left:left + x.shape[1]] = x
    return kind, values


def _shape_txt(shape, n):
    return "×".join(map(str, shape)) if n == 2 else f"{shape[-1]}"


def _pad_label(pads):
    """', padding 1' (or '(1, 2)' per dim, or 'left 1, right 2' for 'same')."""
    used = [p for p in pads if p != (0, 0)]
    if not used:
        return ""
    if len(set(pads)) == 1 and pads[0][0] == pads[0][1]:
        return f", padding {pads[0][0]}"
    return ", padding " + " × ".join(f"{l_}+{r}" if l_ != r else f"{l_}" for l_, r in pads)


def _stretch_label(stride, q, output_padding):
    """', 1 zero between elements, padding 1 (+1 right)' for the transposed convolution's canvas."""
    parts = []
    zeros = sorted(set(v - 1 for v in stride))
    if zeros != [0]:
        z = " or ".join(map(str, zeros))
        parts.append(f"{z} zero{'s' if zeros != [1] else ''} between elements")
    pads = sorted(set(q))
    pad = "/".join(map(str, pads))
    extra = sorted(set(output_padding))
    if pads != [0] or extra != [0]:
        text = f"padding {pad}" if min(pads) >= 0 else f"cropped by {'/'.join(str(-v) for v in pads)}"
        if extra != [0]:
            text += f" (+{'/'.join(map(str, extra))} right: output_padding)"
        parts.append(text)
    return (": " + ", ".join(parts)) if parts else ""


def _sum_caption(target, terms, what, value, empty="the window holds only padding"):
    if not terms:
        return f"{target} = 0   ({empty})"
    if len(terms) > 12:
        return f"{target} = sum of {len(terms)} products {what} = {_fmt(value)}"
    return f"{target} = {' + '.join(terms)} = {_fmt(value)}"


def _fmt(v):
    v = float(v)
    if np.isnan(v):
        return "nan"
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _fmt_signed(v):
    text = _fmt(v)
    return f"({text})" if text.startswith("-") else text


# ---------------------------------------------------------------------------------------------
# drawing

_BG = (255, 255, 255)
_INK = (33, 37, 41)
_GRID = (120, 130, 140)
_FILL = {INPUT: (214, 230, 245), PAD: (255, 255, 255), ZERO: (236, 236, 236), OUTSIDE: (253, 236, 236)}
_TEXT = {INPUT: (24, 56, 92), PAD: (150, 150, 150), ZERO: (150, 150, 150), OUTSIDE: (200, 120, 120)}
_WINDOW = (38, 101, 173)          # window over an input cell
_WINDOW_LIGHT = (128, 168, 214)   # window over padding / inserted zeros / overhang
_WINDOW_EDGE = (10, 45, 110)
_TAP = (255, 214, 102)
_FOCUS = (242, 142, 43)
_OUT_EMPTY = (255, 255, 255)
_OUT_DONE = (205, 235, 217)
_OUT_NOW = (36, 140, 96)
_OUT_TEXT = (20, 70, 45)


def _font(size, bold=False):
    """DejaVu Sans from matplotlib (part of the explain extra), else Pillow's own font."""
    from PIL import ImageFont
    try:
        import matplotlib
        import os
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def _require_pillow():
    try:
        import PIL  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's animations need Pillow: pip install 'ember[explain]'",
                                name="PIL") from e


class Animation:
    """The frames of a :class:`Scene`, drawn with Pillow; ``save(path)`` writes the GIF.

    ``frames[0]`` is the intro, ``frames[1 + t]`` shows ``scene.steps[t]``, ``frames[-1]`` the
    outro. :meth:`cell_box` gives the pixel box of a cell (for tests and annotations)."""

    def __init__(self, scene: Scene, cell=None, progress=None):
        _require_pillow()
        self.scene = scene
        self.progress = progress
        R, C = scene.kind.shape
        Ho, Wo = scene.out_values.shape
        biggest = max(R, C, Ho, Wo)
        self.cell = int(cell or min(46, max(18, 440 // biggest)))
        self._layout()
        self.frames = self._draw_all()
        self.durations = [INTRO_MS] + [STEP_MS] * len(scene.steps) + [OUTRO_MS]

    # -- layout --------------------------------------------------------------------------------
    def _layout(self):
        sc, cell = self.scene, self.cell
        R, C = sc.kind.shape
        Ho, Wo = sc.out_values.shape
        self.f_title = _font(19, bold=True)
        self.f_label = _font(14)
        self.f_caption = _font(15)
        longest = max(len(_fmt(v)) for v in list(sc.out_values.ravel()) + list(sc.values.ravel()))
        self.f_value = _font(max(8, int(cell * min(0.40, 1.5 / max(longest, 1)))))
        self.f_small = _font(max(8, int(cell * 0.26)))
        margin, gap = 24, 70
        kcell = 0
        if sc.kernel is not None:
            kh, kw = sc.kernel.shape
            kcell = max(14, min(cell, 150 // max(kh, kw)))
            gap = max(gap, kw * kcell + 40, 120)
        self.kcell = kcell
        left_w = max(C * cell, int(self.f_label.getlength(sc.left_label)) + 16)
        right_w = max(Wo * cell, int(self.f_label.getlength(sc.right_label)))
        width = max(2 * margin + left_w + gap + right_w, 640,
                    int(self.f_label.getlength(sc.title)) + 2 * margin)
        self.margin = margin
        extra = width - (2 * margin + left_w + gap + right_w)
        self.left_x = margin + extra // 2
        self.right_x = self.left_x + left_w + gap
        self.left_x += (left_w - C * cell) // 2   # centre a narrow grid under its label
        self.top = 12 + 26 + 22 + 30      # title, options, panel labels
        body = max(R * cell, Ho * cell, (sc.kernel.shape[0] * kcell + 60) if kcell else 0)
        self.left_y = self.top + (body - R * cell) // 2
        self.right_y = self.top + (body - Ho * cell) // 2
        self.caption_y = self.top + body + 18
        self.wrap = width - 2 * margin
        self.outro = [f"done: {sc.right_label}", *sc.intro]
        n_caption = max([len(self._caption_lines(self._step_caption(st))) for st in sc.steps]
                        + [len(self._caption_lines(sc.intro)), len(self._caption_lines(self.outro))])
        self.legend_y = self.caption_y + n_caption * 21 + 10
        self.size = (width, self.legend_y + 34)
        self.gap = gap

    def cell_box(self, panel, row, col):
        """Pixel box (x0, y0, x1, y1) of a cell of the 'left' or 'right' panel."""
        x = self.left_x if panel == "left" else self.right_x
        y = self.left_y if panel == "left" else self.right_y
        return (x + col * self.cell, y + row * self.cell,
                x + (col + 1) * self.cell, y + (row + 1) * self.cell)

    # -- frames --------------------------------------------------------------------------------
    def _draw_all(self):
        sc = self.scene
        total = len(sc.steps) + 2
        frames = [self._frame(None, done=0, caption=sc.intro)]
        self._report(1, total)
        for t, step in enumerate(sc.steps):
            frames.append(self._frame(step, done=t, caption=self._step_caption(step)))
            self._report(t + 2, total)
        frames.append(self._frame(None, done=len(sc.steps), caption=self.outro))
        self._report(total, total)
        return frames

    def _report(self, done, total):
        if self.progress is not None:
            self.progress(done, total)

    def _step_caption(self, step):
        return [step.caption]

    def _caption_lines(self, lines):
        out = []
        for line in lines:
            out += _wrap_px(line, self.f_caption, self.wrap)
        return out

    def _frame(self, step, done, caption):
        from PIL import Image, ImageDraw
        sc = self.scene
        img = Image.new("RGB", self.size, _BG)
        draw = ImageDraw.Draw(img)
        draw.text((self.size[0] // 2, 12), sc.op, fill=_INK, font=self.f_title, anchor="mt")
        draw.text((self.size[0] // 2, 40), sc.title, fill=_INK, font=self.f_label, anchor="mt")
        R, C = sc.kind.shape
        Ho, Wo = sc.out_values.shape
        draw.text((self.left_x + C * self.cell // 2, self.left_y - 10), sc.left_label, fill=_INK,
                  font=self.f_label, anchor="ms")
        draw.text((self.right_x + Wo * self.cell // 2, self.right_y - 10), sc.right_label, fill=_INK,
                  font=self.f_label, anchor="ms")
        self._draw_left(draw, step)
        self._draw_right(draw, step, done)
        self._draw_middle(draw, step)
        y = self.caption_y
        for line in self._caption_lines(caption):
            draw.text((self.margin, y), line, fill=_INK, font=self.f_caption)
            y += 21
        self._draw_legend(draw)
        return img

    def _draw_left(self, draw, step):
        sc = self.scene
        window = {} if step is None else dict(zip(step.cells, step.taps))
        R, C = sc.kind.shape
        for r, c in np.ndindex(R, C):
            kind = int(sc.kind[r, c])
            box = self.cell_box("left", r, c)
            in_window = (r, c) in window
            if in_window:
                fill = _WINDOW if kind == INPUT else _WINDOW_LIGHT
                text_fill = (255, 255, 255)
            else:
                fill, text_fill = _FILL[kind], _TEXT[kind]
            draw.rectangle(box, fill=fill)
            if kind == OUTSIDE and not in_window:
                _hatch(draw, box, (232, 170, 170))
            if kind in (PAD, ZERO) and not in_window:
                _dashed_rect(draw, box, _GRID)
            else:
                draw.rectangle(box, outline=_GRID)
            value = sc.values[r, c]
            if not np.isnan(value) and self.cell >= 22:
                draw.text(_center(box), _fmt(value), fill=text_fill, font=self.f_value, anchor="mm")
            if (r, c) in sc.marks and self.cell >= 30:
                draw.text((box[2] - 2, box[3] - 1), sc.marks[(r, c)], fill=text_fill,
                          font=self.f_small, anchor="rd")
            tap = window.get((r, c))
            if in_window and tap is not None and self.cell >= 28:
                draw.text((box[0] + 2, box[1] + 1), "×" + _fmt(tap), fill=_TAP, font=self.f_small)
        if step is not None and step.cells:
            rows = [c[0] for c in step.cells]
            cols = [c[1] for c in step.cells]
            x0, y0, _, _ = self.cell_box("left", min(rows), min(cols))
            _, _, x1, y1 = self.cell_box("left", max(rows), max(cols))
            draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=_WINDOW_EDGE, width=3)
        if step is not None and step.focus is not None:
            x0, y0, x1, y1 = self.cell_box("left", *step.focus)
            draw.rectangle((x0 + 1, y0 + 1, x1 - 1, y1 - 1), outline=_FOCUS, width=3)

    def _draw_right(self, draw, step, done):
        sc = self.scene
        Ho, Wo = sc.out_values.shape
        order = {st.index: t for t, st in enumerate(sc.steps)}
        for i, j in np.ndindex(Ho, Wo):
            box = self.cell_box("right", i, j)
            t = order[(i, j)]
            current = step is not None and step.index == (i, j)
            if current:
                fill, text_fill = _OUT_NOW, (255, 255, 255)
            elif t < done or (step is None and done == len(sc.steps)):
                fill, text_fill = _OUT_DONE, _OUT_TEXT
            else:
                fill, text_fill = _OUT_EMPTY, None
            draw.rectangle(box, fill=fill, outline=_GRID)
            if text_fill is not None and self.cell >= 22:
                draw.text(_center(box), _fmt(sc.out_values[i, j]), fill=text_fill, font=self.f_value,
                          anchor="mm")
        if step is not None:
            for cell in step.out_window:
                _dashed_rect(draw, self.cell_box("right", *cell), _FOCUS, width=2)
            x0, y0, x1, y1 = self.cell_box("right", *step.index)
            draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=(14, 80, 52), width=3)

    def _draw_middle(self, draw, step):
        """The arrow from input to output and, for convolutions, the kernel."""
        sc = self.scene
        x0 = self.right_x - self.gap + 14
        x1 = self.right_x - 14
        y = self.top + 10
        if sc.kernel is not None:
            kh, kw = sc.kernel.shape
            kx = (x0 + x1) // 2 - kw * self.kcell // 2
            ky = y + 18
            draw.text(((x0 + x1) // 2, y), sc.kernel_label, fill=_INK, font=self.f_label, anchor="mt")
            f = _font(max(8, int(self.kcell * 0.45)))
            for a, b in np.ndindex(kh, kw):
                box = (kx + b * self.kcell, ky + a * self.kcell, kx + (b + 1) * self.kcell,
                       ky + (a + 1) * self.kcell)
                draw.rectangle(box, fill=(255, 244, 214), outline=_GRID)
                draw.text(_center(box), _fmt(sc.kernel[a, b]), fill=_INK, font=f, anchor="mm")
            y = ky + kh * self.kcell + 16
        ay = max(y + 6, self.right_y + sc.out_values.shape[0] * self.cell // 2)
        draw.line((x0, ay, x1 - 8, ay), fill=_GRID, width=3)
        draw.polygon([(x1, ay), (x1 - 12, ay - 7), (x1 - 12, ay + 7)], fill=_GRID)

    def _draw_legend(self, draw):
        x, y, s = self.margin, self.legend_y, 16
        present = set(np.unique(self.scene.kind).tolist())
        for kind, text in self.scene.legend:
            if kind not in present:
                continue
            box = (x, y, x + s, y + s)
            draw.rectangle(box, fill=_FILL[kind])
            if kind == OUTSIDE:
                _hatch(draw, box, (232, 170, 170))
            if kind in (PAD, ZERO):
                _dashed_rect(draw, box, _GRID)
            else:
                draw.rectangle(box, outline=_GRID)
            draw.text((x + s + 6, y + s // 2), text, fill=_INK, font=self.f_label, anchor="lm")
            x += s + 14 + int(draw.textlength(text, font=self.f_label)) + 18
        if self.scene.steps and self.scene.steps[0].taps and self.scene.steps[0].taps[0] is not None:
            box = (x, y, x + s, y + s)
            draw.rectangle(box, fill=_WINDOW, outline=_WINDOW_EDGE)
            draw.text((x + s + 6, y + s // 2), "window (×weight)", fill=_INK, font=self.f_label, anchor="lm")

    # -- output --------------------------------------------------------------------------------
    def save(self, path):
        """Write the GIF: looping, one shared palette (colours stay put between frames), and
        each frame after the first stores only the pixels that changed (the rest transparent,
        drawn over the previous frame), which keeps files small."""
        from PIL import Image
        reference = _palette_of(self.frames, colors=64)
        indexed = [np.asarray(f.quantize(palette=reference, dither=Image.Dither.NONE))
                   for f in self.frames]
        palette = reference.getpalette()
        clear = 255                                  # the palette entry left for "unchanged"
        frames = [_indexed_image(indexed[0], palette)]
        for before, now in zip(indexed, indexed[1:]):
            delta = np.where(now == before, clear, now).astype(np.uint8)
            frames.append(_indexed_image(delta, palette))
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=self.durations,
                       loop=0, optimize=False, disposal=1, transparency=clear)
        return path


def _palette_of(frames, colors):
    """One palette for all frames, from a montage of the intro, a few steps and the outro (so
    the window's and the current output's colours are in it, not only the outro's)."""
    from PIL import Image
    picks = sorted({0, 1, len(frames) // 2, len(frames) - 2, len(frames) - 1})
    w, h = frames[0].size
    montage = Image.new("RGB", (w, h * len(picks)))
    for i, k in enumerate(picks):
        montage.paste(frames[k], (0, h * i))
    return montage.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)


def _indexed_image(indices, palette):
    from PIL import Image
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    return image


def _wrap_px(text, font, width, indent="    "):
    """Greedy word wrap to ``width`` pixels (continuation lines indented)."""
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = indent + word
        else:
            line = candidate
    return lines + [line]


def _center(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _dashed_rect(draw, box, colour, dash=4, width=1):
    x0, y0, x1, y1 = box
    for a in range(int(x0), int(x1), 2 * dash):
        b = min(a + dash, x1)
        draw.line((a, y0, b, y0), fill=colour, width=width)
        draw.line((a, y1, b, y1), fill=colour, width=width)
    for a in range(int(y0), int(y1), 2 * dash):
        b = min(a + dash, y1)
        draw.line((x0, a, x0, b), fill=colour, width=width)
        draw.line((x1, a, x1, b), fill=colour, width=width)


def _hatch(draw, box, colour, step=6):
    x0, y0, x1, y1 = box
    for off in range(-(y1 - y0), x1 - x0, step):
        a = (x0 + max(off, 0), y0 + max(-off, 0))
        length = min(x1 - a[0], y1 - a[1])
        draw.line((a[0], a[1], a[0] + length, a[1] + length), fill=colour)
