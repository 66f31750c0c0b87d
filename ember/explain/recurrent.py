"""A recurrent layer unrolled in time: the same cell, with the same weights, applied at every
step to the input x_t and the previous state h_{t-1}.

ember's ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` run the whole sequence in one compiled loop; here
the matching ``RNNCell`` / ``GRUCell`` / ``LSTMCell`` (given the layer's weights) is stepped in
Python, one call per time step, and every state is kept - and checked against the layer's own
output, so the picture shows exactly what the fused layer computes. The equations are torch's
(gate order i, f, g, o for the LSTM; r, z, n for the GRU, whose n gate multiplies r by
``W_hn h + b_hn``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ember.explain.limits import MissingExtraError

__all__ = ["unroll", "Unrolled", "unrolled_figure", "EQUATIONS"]

EQUATIONS = {
    "rnn": ["h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)"],
    "gru": ["r_t = sigmoid(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr)",
            "z_t = sigmoid(W_iz x_t + b_iz + W_hz h_(t-1) + b_hz)",
            "n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn))",
            "h_t = (1 - z_t) * n_t + z_t * h_(t-1)"],
    "lstm": ["i_t = sigmoid(W_ii x_t + b_ii + W_hi h_(t-1) + b_hi)",
             "f_t = sigmoid(W_if x_t + b_if + W_hf h_(t-1) + b_hf)",
             "g_t = tanh(W_ig x_t + b_ig + W_hg h_(t-1) + b_hg)",
             "o_t = sigmoid(W_io x_t + b_io + W_ho h_(t-1) + b_ho)",
             "c_t = f_t * c_(t-1) + i_t * g_t",
             "h_t = o_t * tanh(c_t)"],
}
_LAYERS = {"rnn": ("RNN", "RNNCell", 1), "gru": ("GRU", "GRUCell", 3), "lstm": ("LSTM", "LSTMCell", 4)}


@dataclasses.dataclass
class Unrolled:
    cell: str                   # "rnn", "gru" or "lstm"
    inputs: np.ndarray          # (T, input_size): the sequence
    hidden: np.ndarray          # (T, hidden_size): h_t after each step
    cell_state: np.ndarray | None   # (T, hidden_size): c_t (LSTM only)
    layer_output: np.ndarray    # (T, hidden_size): the fused layer's output on the same input
    input_size: int
    hidden_size: int

    @property
    def max_difference(self) -> float:
        """Largest |h_t(unrolled) - output_t(layer)|: zero up to float32 rounding."""
        return float(np.abs(self.hidden - self.layer_output).max())

    def summary(self) -> str:
        name, _, gates = _LAYERS[self.cell]
        i, h, t = self.input_size, self.hidden_size, len(self.inputs)
        lines = [f"nn.{name}({i}, {h}) unrolled over {t} steps: the same weights at every step",
                 f"  weight_ih_l0: [{gates * h}, {i}]   weight_hh_l0: [{gates * h}, {h}]   "
                 f"({gates} gate{'s' if gates > 1 else ''} x hidden {h} rows)"]
        lines += [f"  {eq}" for eq in EQUATIONS[self.cell]]
        lines.append(f"  per step: {gates * h * (i + h):,} multiply-adds; the sequence: "
                     f"{t * gates * h * (i + h):,}")
        lines.append(f"  stepping the cell by hand reproduces the layer's output: max |diff| = "
                     f"{self.max_difference:.2e}")
        return "\n".join(lines)


def unroll(cell: str = "lstm", steps: int = 24, hidden_size: int = 8, seed: int = 0) -> Unrolled:
    """Run ``nn.<CELL>(2, hidden_size)`` on a two-channel signal (a sine and a square wave)
    of ``steps`` steps, then the matching cell step by step with the same weights."""
    import ember
    import ember.nn as nn

    cell = cell.lower()
    if cell not in _LAYERS:
        raise ValueError(f"cell must be one of {sorted(_LAYERS)}, got {cell!r}")
    if not (1 <= steps <= 2000 and 1 <= hidden_size <= 256):
        raise ValueError(f"steps must be 1..2000 and hidden_size 1..256 (one heat-map row per "
                         f"unit), got {steps} and {hidden_size}")
    layer_name, cell_name, _ = _LAYERS[cell]
    ember.manual_seed(seed)
    layer = getattr(nn, layer_name)(2, hidden_size)
    step = getattr(nn, cell_name)(2, hidden_size)
    with ember.no_grad():  # the cell gets the layer's weights: weight_ih_l0 -> weight_ih ...
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(step, name).copy_(getattr(layer, f"{name}_l0"))
    t = np.arange(steps)
    signal = np.stack([np.sin(2 * np.pi * t / 12), np.sign(np.sin(2 * np.pi * t / 8))], 1)
    x = ember.tensor(signal.astype(np.float32))
    with ember.no_grad():
        output, _ = layer(x)          # unbatched: (T, 2) -> (T, hidden)
        h = ember.zeros(hidden_size)
        c = ember.zeros(hidden_size)
        hidden, cells = [], []
        for x_t in x:
            if cell == "lstm":
                h, c = step(x_t, (h, c))
                cells.append(c.numpy().copy())
            else:
                h = step(x_t, h)
            hidden.append(h.numpy().copy())
    return Unrolled(cell, signal, np.stack(hidden), np.stack(cells) if cells else None,
                    output.numpy(), 2, hidden_size)


def unrolled_figure(u: Unrolled):
    """The input signal over time, then h_t (and c_t) as heat maps: one column per step."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("ember.explain's plots need matplotlib: pip install 'ember[explain]'") from e
    rows = 3 if u.cell_state is not None else 2
    fig = Figure(figsize=(11, 2.4 * rows + 0.8), dpi=100, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True)
    steps = np.arange(len(u.inputs))
    axes[0].plot(steps, u.inputs[:, 0], "o-", ms=3, label="x_t[0]: sine")
    axes[0].plot(steps, u.inputs[:, 1], "s-", ms=3, label="x_t[1]: square")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_ylabel("input")
    panels = [(u.hidden, "h_t (hidden state)")]
    if u.cell_state is not None:
        panels.append((u.cell_state, "c_t (cell state)"))
    for ax, (values, label) in zip(axes[1:], panels):
        limit = max(float(np.abs(values).max()), 1e-6)
        image = ax.imshow(values.T, aspect="auto", cmap="coolwarm", vmin=-limit, vmax=limit,
                          interpolation="nearest")
        ax.set_ylabel(f"{label}\nunit")
        ax.set_yticks(range(values.shape[1]))
        fig.colorbar(image, ax=ax, shrink=0.9)
    axes[-1].set_xlabel("time step t (the same cell and weights at every column)")
    name = _LAYERS[u.cell][0]
    fig.suptitle(f"nn.{name}({u.input_size}, {u.hidden_size}) unrolled: "
                 + "; ".join(EQUATIONS[u.cell][-2:]), fontsize=10)
    return fig
