"""torch.nn.utils.convert_parameters for ember."""
__all__: list = []
