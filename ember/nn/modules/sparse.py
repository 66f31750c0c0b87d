"""Embedding and EmbeddingBag, as torch.nn.modules.sparse."""
__all__: list = []
