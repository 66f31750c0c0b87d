"""torch.nn.utils.rnn for ember."""
__all__: list = []
