"""PairwiseDistance and CosineSimilarity, as torch.nn.modules.distance."""
__all__: list = []
