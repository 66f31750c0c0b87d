"""interpolate, upsample*, grid_sample, affine_grid, pixel_shuffle/unshuffle, channel_shuffle."""
__all__: list = []
