"""InstanceNorm1d/2d/3d, as torch.nn.modules.instancenorm."""
__all__: list = []
