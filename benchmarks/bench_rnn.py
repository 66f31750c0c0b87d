"""Recurrent layers (issue 12): forward + backward through time.

Inputs are in torch's default layout, batch_first=False: (seq_len, batch, features). The large
cases are the word-language-model tutorial's LSTM / GRU (bptt=35, batch 64, two layers of 512);
the small ones the tutorials' own sizes, where the per-step overhead (Python calls, small
GEMMs) is all there is: the names-classification tutorial's RNN(57, 128) over one name of 10
letters, batch 1, and the nn.LSTM / nn.GRU docstring examples, (10, 20) on (5, 3, 10). float32.
Weights come from each library's own initialiser (timing does not depend on their values).
Every case clears the gradients first, so each call pays the same accumulation.
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


@case("rnn_57x128_10x1", target=1.5)
def rnn_char(lib):
    """RNN(57, 128) on one 10-letter name, (10, 1, 57) float32, forward + backward."""
    x = randn(lib, 10, 1, 57, requires_grad=True)
    return _step(lib.nn.RNN(57, 128), x, randn(lib, 10, 1, 128))


@case("lstm_10x20_5x3", target=1.5)
def lstm_docs(lib):
    """LSTM(10, 20) on (5, 3, 10) float32 (the nn.LSTM docstring), forward + backward."""
    x = randn(lib, 5, 3, 10, requires_grad=True)
    return _step(lib.nn.LSTM(10, 20), x, randn(lib, 5, 3, 20))


@case("gru_10x20_5x3", target=1.5)
def gru_docs(lib):
    """GRU(10, 20) on (5, 3, 10) float32 (the nn.GRU docstring), forward + backward."""
    x = randn(lib, 5, 3, 10, requires_grad=True)
    return _step(lib.nn.GRU(10, 20), x, randn(lib, 5, 3, 20))
