"""PixelShuffle, PixelUnshuffle and ChannelShuffle."""
__all__: list = []
