"""torch.nn.utils.parametrize for ember."""
__all__: list = []
