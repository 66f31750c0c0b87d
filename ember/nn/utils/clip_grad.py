"""torch.nn.utils.clip_grad for ember."""
__all__: list = []
