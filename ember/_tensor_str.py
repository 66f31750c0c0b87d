"""Tensor printing, following torch/_tensor_str.py: the same number formats (integers printed as
``1.``, 4 decimals, scientific notation for wide ranges), summarisation past 1000 elements and
the same suffixes (``dtype=``, ``grad_fn=<...>``, ``requires_grad=True``)."""
from __future__ import annotations

import math

import numpy as np



class _PrinterOptions:
    """torch's PRINT_OPTS: read at every repr, set by set_printoptions (process-wide, as in torch)."""
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None  # None: chosen per tensor from its range; True/False: forced


PRINT_OPTS = _PrinterOptions()

_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch.set_printoptions: a profile first ('default', 'short', 'full'), then each option
    given; ``sci_mode`` is always set (None: automatic)."""
    if profile is not None:
        for name, value in _PROFILES.get(profile, {}).items():  # torch ignores unknown profiles
            setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """torch._tensor_str.get_printoptions: the current options, as keyword arguments."""
    return {name: getattr(PRINT_OPTS, name)
            for name in ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")}


class _Formatter:
    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        with np.errstate(invalid="ignore"):
            finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        absv = np.abs(finite)
        lo, hi = absv.min(), absv.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
                         if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
        precision = PRINT_OPTS.precision
        for v in finite.tolist():
            if self.sci_mode:
                w = len(f"{v:.{precision}e}")
            elif self.int_mode:
                w = len(f"{v:.0f}") + 1
            else:
                w = len(f"{v:.{precision}f}")
            self.max_width = max(self.max_width, w)

    def format(self, v) -> str:
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{PRINT_OPTS.precision}f}"
        else:
            s = str(v)
        return " " * (self.max_width - len(s)) + s


def _summarized(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a
    if not PRINT_OPTS.edgeitems:  # nothing shown: nothing to size the columns by
        return a[:0]
    if a.shape[0] > 2 * PRINT_OPTS.edgeitems:
        a = np.concatenate([a[:PRINT_OPTS.edgeitems], a[-PRINT_OPTS.edgeitems:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _vector(a, indent, summarize, fmt):
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    if summarize and not PRINT_OPTS.edgeitems:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * PRINT_OPTS.edgeitems:
        data = ([fmt.format(v) for v in a[:PRINT_OPTS.edgeitems].tolist()] + [" ..."]
                + [fmt.format(v) for v in a[-PRINT_OPTS.edgeitems:].tolist()])
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n, edge = a.shape[0], PRINT_OPTS.edgeitems
    if summarize and not edge:
        rows = ["..."]
    elif summarize and n > 2 * edge:
        rows = ([_nested(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                + [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def array_str(a: np.ndarray, indent: int) -> str:
    if a.size == 0:
        return "[]"
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = a.size > PRINT_OPTS.threshold
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def typename(obj) -> str:
    """torch.typename for messages: the dotted class name (``collections.OrderedDict``, ``int``),
    ``ember.<class>`` for a Tensor or one of its subclasses."""
    from ._tensor import Tensor  # _tensor imports this module

    if isinstance(obj, Tensor):
        return "ember." + type(obj).__name__
    module = getattr(type(obj), "__module__", "") or ""
    name = type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def tensor_repr(t, prefix="tensor(") -> str:
    from ._dtype import bool_, get_default_dtype, int64

    a = t._data
    indent = len(prefix)
    suffixes = []
    # torch names the size of an empty tensor (but a 1-d one), and of every tensor when
    # edgeitems=0 leaves no values to show it
    if (a.size == 0 and a.ndim != 1) or (a.size and not PRINT_OPTS.edgeitems):
        suffixes.append(f"size={tuple(a.shape)}")
    # an empty tensor has no values to tell int64 or bool from the default: torch names them
    implied = (get_default_dtype(),) if a.size == 0 else (get_default_dtype(), int64, bool_)
    if t.dtype not in implied:
        suffixes.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + array_str(a, indent), suffixes, indent)
