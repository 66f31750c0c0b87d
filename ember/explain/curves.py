"""Activation functions and their derivatives, on one plot.

``f(x)`` is ember's ``ember.nn.functional.<name>``; ``f'(x)`` is *not* a hand-written formula
but what ember's autograd gives (``f(x).sum().backward()``; for an element-wise ``f`` the
gradient of the sum is ``f'`` at every point), so the plot is also a picture of the gradients
a network sees: sigmoid's never exceeds 0.25, ReLU's is 0 or 1 (0 at x = 0, as in torch).

>>> curve = activation_curve("sigmoid")        # doctest: +SKIP
>>> round(curve.df.max(), 4)                    # doctest: +SKIP
0.25
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["ACTIVATIONS", "activation_curve", "Curve", "activation_figure", "plot_activation",
           "plot_all_activations"]


@dataclasses.dataclass(frozen=True)
class _Activation:
    formula: str          # matplotlib mathtext
    value_range: str      # the range of f over all x, written by hand from the definition
    kwargs: tuple = ()    # default keyword arguments shown in the title


ACTIVATIONS = {
    "relu": _Activation(r"$\max(0, x)$", "[0, ∞)"),
    "relu6": _Activation(r"$\min(\max(0, x), 6)$", "[0, 6]"),
    "leaky_relu": _Activation(r"$\max(0, x) + a \min(0, x)$", "(-∞, ∞)", (("negative_slope", 0.1),)),
    "elu": _Activation(r"$x$ if $x > 0$ else $\alpha (e^x - 1)$", "(-α, ∞)", (("alpha", 1.0),)),
    "selu": _Activation(r"$\lambda x$ if $x > 0$ else $\lambda \alpha (e^x - 1)$", "(-λα ≈ -1.758, ∞)"),
    "celu": _Activation(r"$\max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))$", "(-α, ∞)",
                        (("alpha", 1.0),)),
    "gelu": _Activation(r"$x \, \Phi(x)$", "[≈ -0.170, ∞)"),
    "silu": _Activation(r"$x \, \sigma(x)$", "[≈ -0.278, ∞)"),
    "mish": _Activation(r"$x \tanh(\mathrm{softplus}(x))$", "[≈ -0.309, ∞)"),
    "sigmoid": _Activation(r"$1 / (1 + e^{-x})$", "(0, 1)"),
    "tanh": _Activation(r"$(e^x - e^{-x}) / (e^x + e^{-x})$", "(-1, 1)"),
    "hardtanh": _Activation(r"$\min(\max(x, -1), 1)$", "[-1, 1]"),
    "hardsigmoid": _Activation(r"$\min(\max(x/6 + 1/2, 0), 1)$", "[0, 1]"),
    "hardswish": _Activation(r"$x \cdot \mathrm{hardsigmoid}(x)$", "[-0.375, ∞)"),
    "softplus": _Activation(r"$\log(1 + e^x)$", "(0, ∞)"),
    "softsign": _Activation(r"$x / (1 + |x|)$", "(-1, 1)"),
    "logsigmoid": _Activation(r"$\log \sigma(x)$", "(-∞, 0)"),
    "tanhshrink": _Activation(r"$x - \tanh(x)$", "(-∞, ∞)"),
    "softshrink": _Activation(r"$x \mp \lambda$ if $|x| > \lambda$ else $0$", "(-∞, ∞)",
                              (("lambd", 0.5),)),
    "hardshrink": _Activation(r"$x$ if $|x| > \lambda$ else $0$", "(-∞, ∞)", (("lambd", 0.5),)),
}


@dataclasses.dataclass
class Curve:
    name: str
    kwargs: dict
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray        # from ember's autograd
    df0: float = None     # f'(0) (by autograd too; where a kink is, the library's choice)

    def annotations(self):
        """Facts read off the computed curves: the range, where f' peaks, f'(0)."""
        top = self.df.max()
        where = _where(self.x, np.isclose(self.df, top, rtol=1e-9, atol=1e-12))
        facts = [f"max f'(x) = {_num(top)} {where}",
                 f"f' on the plot: [{_num(self.df.min())}, {_num(top)}]"]
        if self.df0 is not None:
            facts.append(f"f'(0) = {_num(self.df0)}")
        if self.name in ACTIVATIONS:
            facts.insert(0, f"range of f: {ACTIVATIONS[self.name].value_range}")
        return facts


def _where(x, mask):
    """'at x = 0', 'on [0.01, 6]', 'on [-4, -0.5] and [0.5, 4]': the runs of grid points in mask."""
    idx = np.flatnonzero(mask)
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    parts = [f"{_num(x[r[0]], 3)}" if len(r) == 1 else f"[{_num(x[r[0]], 3)}, {_num(x[r[-1]], 3)}]"
             for r in runs]
    if len(parts) > 3:
        return f"at {len(parts)} places"
    single = all(len(r) == 1 for r in runs)
    return ("at x = " if single else "on ") + " and ".join(parts)


def _grid(lo, hi):
    """Evenly spaced points with a round step (so 0 and the kinks fall on the grid)."""
    span = hi - lo
    step = min((m * 10.0 ** e for e in range(-4, 3) for m in (1, 2, 5) if m * 10.0 ** e >= span / 1200),
               default=span / 1200)
    count = int(round(span / step)) + 1
    return np.linspace(lo, lo + step * (count - 1), count)


def _num(v, digits=4):
    text = f"{float(v):.{digits}g}"
    return "0" if text in ("-0", "-0.0") else text


def activation_curve(name: str, x_range=(-6.0, 6.0), num=None, **kwargs) -> Curve:
    """Evaluate ``ember.nn.functional.<name>`` and its derivative (by ember's autograd) on
    ``num`` points of ``x_range`` (float64; default: a round step, about 1000 points).
    ``kwargs`` go to the function (e.g. ``negative_slope=0.2``); unset ones take the defaults of
    :data:`ACTIVATIONS`."""
    import ember
    return _curve(ember, name, x_range, num, **kwargs)


def _curve(lib, name, x_range, num, **kwargs):
    """f and f' of ``lib.nn.functional.<name>`` by ``lib``'s autograd (ember; torch in tests)."""
    F = lib.nn.functional
    if not hasattr(F, name):
        raise ValueError(f"{lib.__name__}.nn.functional has no activation {name!r}; try one of "
                         f"{', '.join(ACTIVATIONS)}")
    if name in ACTIVATIONS:
        kwargs = {**dict(ACTIVATIONS[name].kwargs), **kwargs}
    lo, hi = map(float, x_range)
    if not lo < hi:
        raise ValueError(f"x_range must go from low to high, got {x_range}")
    xs = _grid(lo, hi) if num is None else np.linspace(lo, hi, int(num))
    # x = 0 rides along at the end: f'(0) is where ReLU-like kinks decide (0 in torch)
    x = lib.tensor(np.append(xs, 0.0), dtype=lib.float64, requires_grad=True)
    y = getattr(F, name)(x, **kwargs)
    y.sum().backward()
    f, df = y.detach().numpy(), x.grad.numpy()
    df0 = float(df[-1]) if lo <= 0 <= hi else None
    return Curve(name, kwargs, xs, f[:-1].copy(), df[:-1].copy(), df0)


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e


def activation_figure(curve: Curve, ax=None):
    """Draw ``curve`` (f solid, f' dashed, the facts in a box). Returns the Figure."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(8.6, 4.2), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        small = False
    else:
        fig, small = ax.figure, True
    ax.axhline(0, color="#888888", lw=0.8)
    ax.axvline(0, color="#888888", lw=0.8)
    ax.plot(curve.x, curve.f, color="#1f5fa8", lw=2.2, label="f(x)")
    ax.plot(curve.x, curve.df, color="#e8710a", lw=2.0, ls="--", label="f'(x)  (ember autograd)")
    i = int(np.argmax(curve.df))
    ax.plot([curve.x[i]], [curve.df[i]], "o", color="#e8710a", ms=5)
    ax.grid(True, color="#dddddd", lw=0.6)
    ax.set_xlim(curve.x[0], curve.x[-1])
    spread = max(curve.f.max(), curve.df.max()) - min(curve.f.min(), curve.df.min())
    pad = 0.08 * (spread or 1.0)
    ax.set_ylim(min(curve.f.min(), curve.df.min()) - pad, max(curve.f.max(), curve.df.max()) + pad)
    args = ", ".join(f"{k}={v}" for k, v in curve.kwargs.items())
    title = f"{curve.name}({args})" if args else curve.name
    if curve.name in ACTIVATIONS and not small:
        title += "    f(x) = " + ACTIVATIONS[curve.name].formula
    ax.set_title(title, fontsize=10 if small else 12)
    if small:
        ax.tick_params(labelsize=7)
        facts = curve.annotations()
        ax.set_xlabel("\n".join(facts[:2]), fontsize=7)
    else:
        ax.set_xlabel("x")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False)
        ax.text(1.02, 0.78, "\n".join(curve.annotations()), transform=ax.transAxes, va="top",
                fontsize=9, bbox=dict(boxstyle="round", fc="#f7f7f7", ec="#bbbbbb"))
        ax.annotate(f"max f' = {_num(curve.df[i])}", xy=(curve.x[i], curve.df[i]),
                    xytext=(12, 12), textcoords="offset points", fontsize=9, color="#b35300",
                    arrowprops=dict(arrowstyle="-", color="#b35300", lw=0.8))
    return fig


def plot_activation(name: str, path, x_range=(-6.0, 6.0), **kwargs):
    """Save f and f' of one activation as a PNG at ``path``; returns ``(path, curve)``."""
    curve = activation_curve(name, x_range, **kwargs)
    activation_figure(curve).savefig(path)
    return path, curve


def plot_all_activations(path, x_range=(-4.0, 4.0), names=None, columns=4):
    """Small multiples of every activation in :data:`ACTIVATIONS` (or ``names``), one PNG."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    names = list(names or ACTIVATIONS)
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(3.2 * columns, 2.5 * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    curves = []
    for ax, name in zip(axes.ravel(), names):
        curves.append(activation_curve(name, x_range))
        activation_figure(curves[-1], ax=ax)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=2, fontsize=10)
    fig.savefig(path)
    return path, curves
