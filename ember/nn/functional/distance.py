"""normalize, pairwise_distance, pdist (cosine_similarity lives in ember._ops.stats)."""
__all__: list = []
