"""MultiheadAttention, as torch.nn.MultiheadAttention (torch keeps it in activation.py)."""
__all__: list = []
