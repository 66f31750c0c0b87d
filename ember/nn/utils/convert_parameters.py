"""Parameters to one flat vector and back, as torch.nn.utils.convert_parameters.

>>> import ember
>>> net = ember.nn.Linear(2, 3)
>>> vec = ember.nn.utils.parameters_to_vector(net.parameters())
>>> vec.shape
ember.Size([9])
>>> ember.nn.utils.vector_to_parameters(ember.zeros(9), net.parameters())
>>> float(net.weight.abs().sum())
0.0
"""
from __future__ import annotations

from ... import cat
from ..._tensor import Tensor
from ..._tensor_str import typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    r"""One 1-d tensor holding every parameter's values in order (differentiable: a ``cat``
    of the flattened parameters)."""
    return cat([param.view(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    r"""Copy consecutive slices of ``vec`` into the parameters: each parameter's ``data``
    becomes a view of ``vec`` (they share memory afterwards, as in torch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param
