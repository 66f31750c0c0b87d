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

from ... import int64 as _int64
from ... import tensor
from ..._parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from ...autograd.grad_mode import no_grad

__all__ = ["LazyModuleMixin", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


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


class _LazyNormBase(LazyModuleMixin):
    """The lazy batch and instance norms: ``num_features`` inferred from the first input's dim
    1; weight, bias and the running statistics are then materialised and reset as the eager
    layer's. torch's defaults: ``affine=True``, ``track_running_stats=True`` (for the instance
    norms too)."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(0, eps, momentum, False, False, **factory_kwargs, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(**factory_kwargs)
            if bias:
                self.bias = UninitializedParameter(**factory_kwargs)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(**factory_kwargs)
            self.running_var = UninitializedBuffer(**factory_kwargs)
            self.num_batches_tracked = tensor(0, dtype=_int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """Infer ``num_features`` from ``input.shape[1]`` (also for unbatched input, as torch)
        and initialise."""
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


# The lazy instance norms live here, not beside InstanceNorm: batchnorm.py imports this module
# at its end (for _LazyNormBase), and instancenorm.py imports batchnorm. Importing instancenorm
# last, once _BatchNorm exists, keeps that chain acyclic in practice.
from .instancenorm import (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,  # noqa: E402
                           _InstanceNorm)


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """An :class:`InstanceNorm1d` whose ``num_features`` is inferred from the first input."""

    cls_to_become = InstanceNorm1d
    _expected_dims = InstanceNorm1d._expected_dims
    _dims_text = InstanceNorm1d._dims_text
    _no_batch_dim = InstanceNorm1d._no_batch_dim


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """An :class:`InstanceNorm2d` whose ``num_features`` is inferred from the first input."""

    cls_to_become = InstanceNorm2d
    _expected_dims = InstanceNorm2d._expected_dims
    _dims_text = InstanceNorm2d._dims_text
    _no_batch_dim = InstanceNorm2d._no_batch_dim


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """An :class:`InstanceNorm3d` whose ``num_features`` is inferred from the first input."""

    cls_to_become = InstanceNorm3d
    _expected_dims = InstanceNorm3d._expected_dims
    _dims_text = InstanceNorm3d._dims_text
    _no_batch_dim = InstanceNorm3d._no_batch_dim
