"""Convolution as a matrix: the unrolled matrix ``C`` with ``conv(x).flatten() == C @ x.flatten()``.

Every convolution is linear in its input, so it *is* a matrix multiplication: row ``o`` of
``C`` holds the kernel weights at the columns of the input elements that output ``o`` reads
(zeros elsewhere - the matrix is sparse and banded). The transposed convolution with the same
weight multiplies by ``C.T``; that is where its name comes from, and why it maps the output
shape back to the input shape (Dumoulin & Visin 2016, section 4.1, with a 4x4 input and a 3x3
kernel - this module's default).

``C`` is built two ways, which must agree: from the weight directly (:func:`conv_matrix`),
and by running ember's own ``conv`` on every basis vector of the input space
(:func:`conv_matrix_by_probing`: column ``j`` of ``C`` is ``conv(e_j)``).
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from ember.explain.limits import MissingExtraError
from ember.nn import _shapes

__all__ = ["conv_matrix", "conv_matrix_by_probing", "explain_matrix", "MatrixReport",
           "matrix_figure", "matrix_bytes"]


def conv_matrix(weight, input_size, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """The matrix of ``conv{n}d(x, weight, stride=..., padding=..., dilation=..., groups=...)``.

    ``weight`` has shape ``(C_out, C_in/groups, *kernel)`` (an array or a Tensor);
    ``input_size`` is ``(C_in, *spatial)``. Returns ``C`` of shape
    ``(C_out * prod(out_spatial), C_in * prod(in_spatial))``, for inputs and outputs flattened
    in C order (channel-major, like ``x.flatten()`` of an unbatched tensor).

    Row ``(co, o)`` has weight ``w[co, ci, a]`` at column ``(ci, o*stride - padding +
    a*dilation)`` for each kernel tap ``a`` that lands inside the input.
    """
    w = _as_array(weight)
    n = w.ndim - 2
    c_in, *spatial = tuple(int(v) for v in input_size)
    s, p, d = (_shapes._ntuple(n, name)(v) for name, v in
               (("stride", stride), ("padding", padding), ("dilation", dilation)))
    out = tuple(_shapes.conv_output_size(i, k, ss, pp, dd)
                for i, k, ss, pp, dd in zip(spatial, w.shape[2:], s, p, d))
    if any(o < 1 for o in out):
        raise ValueError(f"the kernel does not fit the padded input: output size {out}")
    c_out, c_in_g = w.shape[:2]
    if c_in_g * groups != c_in:
        raise ValueError(f"weight {list(w.shape)} with groups={groups} needs {c_in_g * groups} "
                         f"input channels, but input_size has {c_in}")
    n_out, n_in = int(np.prod(out)), int(np.prod(spatial))
    matrix = np.zeros((c_out * n_out, c_in * n_in), dtype=w.dtype)
    out_pos = np.stack(np.meshgrid(*[np.arange(o) for o in out], indexing="ij"), -1).reshape(-1, n)
    for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
        in_pos = out_pos * s - p + np.asarray(tap) * d          # (n_out, n)
        inside = np.all((in_pos >= 0) & (in_pos < spatial), axis=1)
        rows_o = np.nonzero(inside)[0]
        cols_i = np.ravel_multi_index(tuple(in_pos[inside].T), spatial)
        for co in range(c_out):
            group = co // (c_out // groups)
            for ci_local in range(c_in_g):
                ci = group * c_in_g + ci_local
                matrix[co * n_out + rows_o, ci * n_in + cols_i] = w[(co, ci_local) + tap]
    return matrix


def conv_matrix_by_probing(weight, input_size, stride=1, padding=0, dilation=1, groups=1):
    """``C`` measured with ember's own convolution: the input basis vectors ``e_j`` as one
    batch, ``C[:, j] = conv(e_j).flatten()``."""
    import ember
    import ember.nn.functional as F

    w = _as_array(weight)
    n = w.ndim - 2
    size = tuple(int(v) for v in input_size)
    count = int(np.prod(size))
    basis = np.eye(count, dtype=w.dtype).reshape((count,) + size)
    conv = getattr(F, f"conv{n}d")
    y = conv(ember.tensor(basis), ember.tensor(w), None, stride, padding, dilation, groups)
    return y.numpy().reshape(count, -1).T.copy()


def _as_array(t):
    if hasattr(t, "detach"):
        t = t.detach()
    if hasattr(t, "numpy"):
        t = t.numpy()
    return np.asarray(t)


@dataclasses.dataclass
class MatrixReport:
    """The matrix of a small convolution and the checks that it is right."""

    matrix: np.ndarray               # C, from the weight
    weight: np.ndarray
    input_shape: tuple               # (C_in, *spatial)
    output_shape: tuple              # (C_out, *spatial)
    x: np.ndarray                    # a test input
    conv_x: np.ndarray               # ember's conv(x)
    y: np.ndarray                    # a test output-space vector
    conv_transpose_y: np.ndarray     # ember's conv_transpose(y) with the same weight
    output_padding: tuple            # what conv_transpose needs to land on the input shape
    probe_error: float               # max |C - C measured with ember's conv on basis vectors|
    conv_error: float                # max |C @ x - conv(x)|
    transpose_error: float           # max |C.T @ y - conv_transpose(y)|
    options: dict

    def __str__(self):
        return _render(self)


def explain_matrix(input_size=(4, 4), kernel_size=3, stride=1, padding=0, dilation=1,
                   in_channels=1, out_channels=1, groups=1, weights="arange", seed=0) -> MatrixReport:
    """Build ``C`` for a conv on an input of spatial size ``input_size`` and check it against
    ember's conv and conv_transpose. ``weights``: ``"arange"`` (1, 2, 3, ... - each weight
    easy to find in C) or ``"random"`` (normal, from ``seed``)."""
    import ember
    import ember.nn.functional as F

    spatial, k, s, p, d, _ = _geometry(input_size, kernel_size, stride, padding, dilation,
                                       in_channels, out_channels, groups)
    n = len(spatial)
    shape = (out_channels, in_channels // groups) + k
    rng = np.random.default_rng(seed)
    if weights == "arange":
        w = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)
    elif weights == "random":
        w = rng.standard_normal(shape)
    else:
        raise ValueError(f"weights must be 'arange' or 'random', got {weights!r}")
    input_shape = (in_channels,) + spatial
    C = conv_matrix(w, input_shape, s, p, d, groups)
    probe = conv_matrix_by_probing(w, input_shape, s, p, d, groups)

    x = rng.standard_normal((1,) + input_shape)
    conv_x = getattr(F, f"conv{n}d")(ember.tensor(x), ember.tensor(w), None, s, p, d, groups).numpy()[0]
    out_spatial = conv_x.shape[1:]
    # conv_transpose maps the output size back to a range of stride sizes; output_padding
    # picks the input's (always < stride: it is the remainder the conv's floor dropped)
    output_padding = tuple(i - _shapes.conv_transpose_output_size(o, kk, ss, pp, dd, 0)
                           for i, o, kk, ss, pp, dd in zip(spatial, out_spatial, k, s, p, d))
    y = rng.standard_normal((1, out_channels) + out_spatial)
    conv_t = getattr(F, f"conv_transpose{n}d")(ember.tensor(y), ember.tensor(w), None, s, p,
                                               output_padding, groups, d).numpy()[0]
    return MatrixReport(
        C, w, input_shape, conv_x.shape, x[0], conv_x, y[0], conv_t, output_padding,
        float(np.abs(C - probe).max()),
        float(np.abs(C @ x.reshape(-1) - conv_x.reshape(-1)).max()),
        float(np.abs(C.T @ y.reshape(-1) - conv_t.reshape(-1)).max()),
        dict(kernel_size=k, stride=s, padding=p, dilation=d, groups=groups))


def _geometry(input_size, kernel_size, stride, padding, dilation, in_channels, out_channels,
              groups):
    """Validated per-dim arguments and the output's spatial size (a SizeError in words)."""
    from ember.explain.sizes import explain_size

    spatial = tuple(int(v) for v in input_size)
    n = len(spatial)
    if n not in (1, 2, 3):
        raise ValueError(f"input_size must have 1, 2 or 3 spatial sizes, got {list(spatial)}")
    k = _shapes._ntuple(n, "kernel_size")(kernel_size)
    s, p, d = (_shapes._ntuple(n, name)(v) for name, v in
               (("stride", stride), ("padding", padding), ("dilation", dilation)))
    report = explain_size(f"conv{n}d", (in_channels,) + spatial, out_channels=out_channels,
                          kernel_size=k, stride=s, padding=p, dilation=d, groups=groups)
    return spatial, k, s, p, d, tuple(report.output_shape[1:])


def matrix_bytes(input_size=(4, 4), kernel_size=3, stride=1, padding=0, dilation=1,
                 in_channels=1, out_channels=1, groups=1, figure=True) -> int:
    """Peak memory of :func:`explain_matrix` (and :func:`matrix_figure`), estimated from the
    sizes alone - before anything is allocated. Validates the arguments like explain_matrix.

    float64 arrays of ``rows x cols`` (C's shape): C, the probed C (ember's conv output and its
    transposed copy), the difference and its abs; the probe's ``cols x cols`` identity batch;
    the figure: about 64 bytes an entry of C (masked copies of C and C.T, matplotlib's scaled
    and resampled images; measured: 0.8 GB for a 60x60 input's 3364 x 3600 C)."""
    spatial, *_, out_spatial = _geometry(input_size, kernel_size, stride, padding, dilation,
                                         in_channels, out_channels, groups)
    cols = in_channels * int(np.prod(spatial))
    rows = out_channels * int(np.prod(out_spatial))
    return 8 * (5 * rows * cols + cols * cols) + (64 * rows * cols if figure else 0)


def _fmt_num(v):
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _render(r: MatrixReport) -> str:
    C = r.matrix
    opts = "  ".join(f"{k}={v[0] if isinstance(v, tuple) and len(set(v)) == 1 else v}"
                     for k, v in r.options.items())
    n = len(r.input_shape) - 1
    lines = [f"conv{n}d: input {_shape_text(r.input_shape)} -> output {_shape_text(r.output_shape)}"
             f"   {opts}",
             f"weight {list(r.weight.shape)}:",
             np.array2string(r.weight.squeeze(), separator=" ", formatter={"float": _fmt_num}),
             "",
             f"C is {C.shape[0]} x {C.shape[1]} (one row per output element, one column per input "
             f"element); {np.count_nonzero(C)} of {C.size} entries are non-zero:"]
    if C.shape[1] <= 40 and C.shape[0] <= 64:
        width = max(len(_fmt_num(v)) for v in C.ravel()) + 1
        for row in C:
            lines.append("  " + "".join(("." if v == 0 else _fmt_num(v)).rjust(width) for v in row))
    else:
        lines.append("  (too large to print; see the heat map)")
    lines += ["",
              "checks (max abs error):",
              f"  conv(x).flatten() == C @ x.flatten()                    {r.conv_error:.1e}",
              f"  C == ember's conv applied to each basis vector e_j      {r.probe_error:.1e}",
              f"  conv_transpose(y, same weight{_op_text(r.output_padding)}) == C.T @ y".ljust(58)
              + f"{r.transpose_error:.1e}",
              "",
              "conv maps R^%d -> R^%d with C; conv_transpose maps R^%d -> R^%d with C.T, hence its name."
              % (C.shape[1], C.shape[0], C.shape[0], C.shape[1])]
    return "\n".join(lines)


def _shape_text(shape):
    channels, *spatial = shape
    return f"{'x'.join(map(str, spatial))} ({channels} channel{'s' if channels > 1 else ''})"


def _op_text(output_padding):
    return f", output_padding={output_padding}" if any(output_padding) else ""


_GRID_CELLS = 100   # cell grid lines up to this many rows or columns


def matrix_figure(report: MatrixReport):
    """Heat maps of C (convolution) and C.T (transposed convolution), weights written in the
    non-zero cells; zeros are left white to show how sparse C is."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    C = report.matrix
    rows, cols = C.shape
    scale = 0.34 if max(rows, cols) <= 40 else 12.0 / max(rows, cols)
    fig = Figure(figsize=(max(7.0, (cols + rows) * scale + 2.8), max(3.4, max(rows, cols) * scale + 2.0)),
                 dpi=110, layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=[cols, rows])
    signed = bool((C < 0).any())
    limit = float(np.abs(C).max()) or 1.0
    cmap = matplotlib.colormaps["RdBu_r" if signed else "Blues"].with_extremes(bad="white")
    names_in = ["x" + name for name in _element_names(report.input_shape)]
    names_out = ["y" + name for name in _element_names(report.output_shape)]
    for ax, M, title, row_names, col_names, xlabel in (
            (axes[0], C, "C:  conv(x) = C @ x", names_out, names_in, "input element (flattened)"),
            (axes[1], C.T, "C.T:  conv_transpose(y) = C.T @ y", names_in, names_out,
             "conv's output element")):
        image = ax.imshow(np.ma.masked_equal(M, 0), cmap=cmap, vmin=-limit if signed else 0,
                          vmax=limit, interpolation="nearest")
        ax.set_title(title, fontsize=11)
        if max(M.shape) <= _GRID_CELLS:   # a tick per grid line: slow, and unseen on big ones
            ax.set_xticks(np.arange(M.shape[1] + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(M.shape[0] + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="#c8c8c8", lw=0.5)
            ax.tick_params(which="minor", length=0)
        ax.set_xlabel(xlabel, fontsize=9)
        if max(M.shape) <= 40:
            ax.set_xticks(range(M.shape[1]), col_names, rotation=90, fontsize=7)
            ax.set_yticks(range(M.shape[0]), row_names, fontsize=7)
            for (i, j), v in np.ndenumerate(M):
                if v != 0:
                    ax.text(j, i, _fmt_num(v), ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * limit else "black")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(image, ax=axes, shrink=0.5, label="weight")
    in_txt = "x".join(map(str, report.input_shape[1:]))
    k_txt = "x".join(map(str, report.weight.shape[2:]))
    fig.suptitle(f"{in_txt} input, {k_txt} kernel: C is {rows} x {cols} with "
                 f"{np.count_nonzero(C)} non-zeros; the transposed convolution uses C.T", fontsize=11)
    return fig


def _element_names(shape):
    """'x[1,2]' labels for the flattened elements (channel shown when there is more than one)."""
    channels, *spatial = shape
    names = []
    for index in np.ndindex(*shape):
        parts = index if channels > 1 else index[1:]
        names.append("[" + ",".join(map(str, parts)) + "]")
    return names
