"""Transformer, TransformerEncoder/Decoder and their layers, as torch.nn.modules.transformer."""
__all__: list = []
