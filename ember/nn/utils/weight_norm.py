"""torch.nn.utils.weight_norm for ember."""
__all__: list = []
