"""torch.nn.utils.spectral_norm for ember."""
__all__: list = []
