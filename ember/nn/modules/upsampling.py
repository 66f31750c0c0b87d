"""Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, as torch.nn.modules.upsampling."""
__all__: list = []
