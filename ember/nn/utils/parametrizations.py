"""torch.nn.utils.parametrizations for ember."""
__all__: list = []
