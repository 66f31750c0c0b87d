"""LazyModuleMixin: parameters materialised on the first call, as torch.nn.modules.lazy.

A lazy layer (``LazyLinear``, ``LazyConv2d``, ``LazyBatchNorm1d`` ...) is built with
:class:`~ember.nn.parameter.UninitializedParameter` s. Its first call runs a forward pre-hook,
``_infer_parameters``, which calls ``initialize_parameters(*args)``: the layer reads the missing
size from the input, materialises its parameters and runs ``reset_parameters`` - the same
initialisation, in the same order, as the eager layer, so the random draws match torch's. The
hook then removes itself and the object's class becomes ``cls_to_become`` (``Linear``...).

Loading a state_dict into a lazy module materialises its parameters with the shapes found there
(a load_state_dict pre-hook) - the class only changes at the first call, as in torch.

>>> import ember
>>> net = ember.nn.LazyLinear(3)
>>> _ = net(ember.zeros(2, 5))
>>> net
Linear(in_features=5, out_features=3, bias=True)
"""
from __future__ import annotations

import itertools

from ..._parameter import is_lazy
from ...autograd.grad_mode import no_grad

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules whose parameters' shapes are inferred from their first input.

    A subclass implements ``initialize_parameters(*args, **kwargs)`` (materialise, then
    ``reset_parameters``) and sets ``cls_to_become``; it comes first in the bases, before the
    eager layer (``class LazyLinear(LazyModuleMixin, Linear)``)."""

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # as Module's, except that an uninitialized tensor goes in as itself (detach would use it)
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if is_lazy(param) or keep_vars \
                    else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if is_lazy(buf) or keep_vars else buf.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        """Materialise each uninitialized parameter or buffer that ``state_dict`` holds an
        initialized value for, with that value's shape (the copy comes after, as usual)."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None:
                input_param = state_dict[key]
                if is_lazy(param) and not is_lazy(input_param):
                    with no_grad():
                        param.materialize(tuple(input_param.shape))

    def initialize_parameters(self, *args, **kwargs):
        """Materialise the parameters from the first input (implemented by each lazy layer)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether some parameter or buffer of this module (not its children) is uninitialized."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                       self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook of the first call: initialize, check, then stop being lazy."""
        kwargs = kwargs if kwargs else {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. Run a "
            "dummy forward pass to correctly initialize the modules")
