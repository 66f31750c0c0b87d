"""Recurrent layers (issue 12): LSTM and GRU, two layers, forward + backward through time.

Inputs are in torch's default layout, batch_first=False: (seq_len, batch, features) =
(35, 64, 256), the word-language-model tutorial's bptt=35 with batch 64. float32. Weights come
from each library's own initialiser (timing does not depend on their values). Every case clears
the gradients first, so each call pays the same accumulation.
"""
from benchmarks.harness import case, randn

SEQ, BATCH, FEATURES, HIDDEN = 35, 64, 256, 512


def _step(layer, x, grad):
    def step():
        x.grad = None
        for p in layer.parameters():
            p.grad = None
        out, _ = layer(x)
        out.backward(grad)
    return step


@case("lstm_256x512_2layers_35x64", target=1.5)
def lstm_two_layers(lib):
    """LSTM(256, 512, num_layers=2) on (35, 64, 256) float32 (seq-first), forward + backward."""
    x = randn(lib, SEQ, BATCH, FEATURES, requires_grad=True)
    return _step(lib.nn.LSTM(FEATURES, HIDDEN, num_layers=2), x, randn(lib, SEQ, BATCH, HIDDEN))


@case("gru_256x512_2layers_35x64", target=1.5)
def gru_two_layers(lib):
    """GRU(256, 512, num_layers=2) on (35, 64, 256) float32 (seq-first), forward + backward."""
    x = randn(lib, SEQ, BATCH, FEATURES, requires_grad=True)
    return _step(lib.nn.GRU(FEATURES, HIDDEN, num_layers=2), x, randn(lib, SEQ, BATCH, HIDDEN))
