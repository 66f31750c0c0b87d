"""The explain topics of issue 12's layers: a recurrent layer unrolled in time, attention
weights, upsampling modes side by side, pixel shuffle's layout; and their multiply-adds in
``summary``. Each picture's numbers are checked independently (NumPy or torch)."""
import numpy as np
import pytest
import torch

import ember
from ember.cli import main
from ember.explain.attention import attention_weights
from ember.explain.recurrent import unroll
from ember.explain.resample import MODES, pixel_shuffle_layout, upsample_modes
from ember.explain.summary import summary


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_unrolled_states_follow_the_equations(cell):
    """Recompute every step with NumPy from the layer's weights (torch's gate order)."""
    u = unroll(cell, steps=9, hidden_size=5, seed=3)
    assert u.max_difference < 1e-6
    ember.manual_seed(3)
    layer = getattr(ember.nn, {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[cell])(2, 5)
    w_ih, w_hh, b_ih, b_hh = (getattr(layer, f"{n}_l0").detach().numpy().astype(np.float64)
                              for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h, c = np.zeros(5), np.zeros(5)
    for t, x in enumerate(u.inputs):
        gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
        if cell == "rnn":
            h = np.tanh(gi + gh)
        elif cell == "gru":
            r, z = _sigmoid(gi[:5] + gh[:5]), _sigmoid(gi[5:10] + gh[5:10])
            n = np.tanh(gi[10:] + r * gh[10:])   # r multiplies (W_hn h + b_hn): TRAPS.md 21
            h = (1 - z) * n + z * h
        else:
            i, f = _sigmoid(gi[:5] + gh[:5]), _sigmoid(gi[5:10] + gh[5:10])
            g, o = np.tanh(gi[10:15] + gh[10:15]), _sigmoid(gi[15:] + gh[15:])
            c = f * c + i * g
            h = o * np.tanh(c)
            np.testing.assert_allclose(u.cell_state[t], c, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(u.hidden[t], h, rtol=1e-5, atol=1e-6)
    assert "reproduces the layer's output" in u.summary()


@pytest.mark.parametrize("causal", [False, True])
def test_attention_weights_are_torchs(causal):
    a = attention_weights(embed_dim=8, heads=2, causal=causal, seed=1)
    n = len(a.tokens)
    np.testing.assert_allclose(a.weights.sum(-1), 1, atol=1e-6)
    np.testing.assert_allclose(a.weights, a.reference, atol=1e-6)
    if causal:
        assert not a.weights[:, np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]].any()
    # the same layer in torch gives the same weights
    ember.manual_seed(1)
    mha = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    tmha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    tmha.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mha.state_dict().items()})
    from ember.explain.attention import _position_code
    rng = np.random.default_rng(1)
    vocab = {w: rng.standard_normal(8) for w in dict.fromkeys(a.tokens)}
    x = torch.tensor((np.stack([vocab[w] for w in a.tokens]) + _position_code(n, 8))[None],
                     dtype=torch.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(n) if causal else None
    _, want = tmha(x, x, x, attn_mask=mask, average_attn_weights=False)
    np.testing.assert_allclose(a.weights, want.detach().numpy()[0], atol=1e-6)


def test_upsample_modes_are_torchs():
    image = np.random.default_rng(0).random((5, 7)).astype(np.float32)
    u = upsample_modes(image, scale=3)
    assert len(u.results) == len(MODES)
    for (mode, align), out in zip(MODES, u.results.values()):
        want = torch.nn.functional.interpolate(torch.tensor(image)[None, None], scale_factor=3,
                                               mode=mode, align_corners=align)[0, 0].numpy()
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="scale must be between 1 and 32"):
        upsample_modes(image, scale=100)


def test_pixel_shuffle_layout_follows_the_formula():
    p = pixel_shuffle_layout(factor=3, channels=2, height=2, width=4)
    r = 3
    for c in range(2):
        for y in range(2 * r):
            for x in range(4 * r):
                assert p.source_channel[c, y, x] == c * r * r + (y % r) * r + (x % r)
                assert tuple(p.source_pixel[c, y, x]) == (y // r, x // r)


def test_summary_counts_recurrent_and_attention_multiply_adds():
    lstm = ember.nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True)
    s = summary(lstm, (2, 7, 16))
    per_step = 2 * 4 * 32 * (16 + 32) + 2 * 4 * 32 * (64 + 32)
    assert s.layers[0].mult_adds == 14 * per_step
    proj = ember.nn.LSTM(10, 20, proj_size=5)
    assert summary(proj, (3, 1, 10)).layers[0].mult_adds == 3 * (4 * 20 * (10 + 5) + 20 * 5)
    gru = ember.nn.GRUCell(6, 4)
    assert summary(gru, (5, 6)).layers[0].mult_adds == 5 * 3 * 4 * (6 + 4)

    class SelfAttention(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.att = ember.nn.MultiheadAttention(12, 3, batch_first=True)

        def forward(self, x):
            return self.att(x, x, x)[0]
    s = summary(SelfAttention(), (2, 5, 12))
    att = [layer for layer in s.layers if layer.type == "MultiheadAttention"][0]
    assert att.mult_adds == 2 * 5 * 12 * (4 * 12) + 2 * 2 * 5 * 5 * 12


@pytest.mark.parametrize("argv, name", [(["rnn", "--cell", "gru", "--steps", "5"], "rnn-gru.png"),
                                        (["attention", "--causal"], "attention.png"),
                                        (["upsample", "--scale", "2"], "upsample.png"),
                                        (["pixelshuffle"], "pixelshuffle.png")])
def test_cli_writes_the_pictures(capsys, tmp_path, argv, name):
    pytest.importorskip("matplotlib")
    assert main(["explain", *argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / name}" in out
    assert (tmp_path / name).stat().st_size > 1000


def test_cli_refuses_bad_sizes(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["explain", "attention", "--heads", "3", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert "must be divisible by heads" in capsys.readouterr().err
