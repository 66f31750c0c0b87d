"""Weight normalisation with a forward pre-hook, as torch.nn.utils.weight_norm (the older API;
:func:`ember.nn.utils.parametrizations.weight_norm` is the current one).

``weight_norm(module, "weight", dim=0)`` replaces the parameter ``weight`` by ``weight_g`` (its
norm over every dim but ``dim``; ``dim=None`` means the whole tensor) and ``weight_v`` (its
direction), and recomputes ``weight = weight_v * (weight_g / ||weight_v||)`` before every
forward (Salimans & Kingma, 2016). state_dict keys: ``weight_g``, ``weight_v``.

>>> import ember
>>> m = weight_norm(ember.nn.Linear(20, 40), name="weight")
>>> tuple(m.weight_g.shape), tuple(m.weight_v.shape)
((40, 1), (40, 20))
"""
from __future__ import annotations

import warnings

from ..._parameter import UninitializedParameter
from ..._tensor import Tensor
from ..parameter import Parameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """torch.norm_except_dim: the ``pow``-norm of ``v`` over every dim but ``dim``, keeping
    v's rank (size 1 elsewhere); ``dim=-1`` means over everything (a 0-d result), as torch."""
    if dim == -1:
        return v.norm(pow)
    if dim == 0:
        shape = (v.shape[0],) + (1,) * (v.ndim - 1)
        return v.reshape(v.shape[0], -1).norm(pow, dim=1).reshape(shape)
    if dim == v.ndim - 1:
        shape = (1,) * (v.ndim - 1) + (v.shape[-1],)
        return v.reshape(-1, v.shape[-1]).norm(pow, dim=0).reshape(shape)
    return norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """torch._weight_norm: ``v * (g / norm_except_dim(v, 2, dim))``, differentiable in both."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes ``<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name: str, dim: int) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module, name: str, dim: int) -> "WeightNorm":
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                      stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError("Cannot register two weight_norm hooks on the same parameter "
                                   f"{name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "weight normalization")
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name: str = "weight", dim: int = 0):
    r"""Apply weight normalisation to ``module.<name>`` (deprecated in torch for
    ``parametrizations.weight_norm``; FutureWarning). Returns ``module``."""
    WeightNorm.apply(module, name, dim)
    return module


def _remove_pre_hook(module, cls, name: str) -> bool:
    """Undo and unregister the forward pre-hook of type ``cls`` for ``name``, if there is one
    (shared by remove_weight_norm and remove_spectral_norm)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, cls) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return True
    return False


def remove_weight_norm(module, name: str = "weight"):
    r"""Undo :func:`weight_norm`: ``<name>`` becomes a Parameter holding the current weight."""
    if not _remove_pre_hook(module, WeightNorm, name):
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    return module
