"""LazyModuleMixin: parameters materialised on the first call, as torch.nn.modules.lazy."""
__all__: list = []
