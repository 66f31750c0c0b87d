"""RNN, LSTM, GRU and their cells, as torch.nn.modules.rnn."""
__all__: list = []
