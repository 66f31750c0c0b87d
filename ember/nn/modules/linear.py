"""Identity, Linear and Bilinear (torch.nn.modules.linear)."""
from __future__ import annotations

import math

from ... import empty
from .. import functional as F
from .. import init
from .module import Module, Parameter

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    r"""Returns its input unchanged; takes (and ignores) any constructor arguments, so it can
    stand in for another layer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    r"""y = x W^T + b.

    Shapes: input (*, in_features) -> output (*, out_features). ``weight`` is
    (out_features, in_features) and ``bias`` (out_features); both start as
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as in torch (kaiming_uniform_ with a=sqrt(5)).

    >>> import ember
    >>> layer = ember.nn.Linear(3, 4)
    >>> with ember.no_grad():
    ...     _ = layer.weight.copy_(ember.tensor([[1.0] * 3, [2.0] * 3, [3.0] * 3, [4.0] * 3]))
    ...     _ = layer.bias.fill_(0.5)
    >>> layer(ember.tensor([[1.0, 2.0, 3.0]]))
    tensor([[ 6.5000, 12.5000, 18.5000, 24.5000]], grad_fn=<AddmmBackward0>)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a = sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (pytorch#57109)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    r"""y = x1^T A x2 + b.

    Shapes: input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features).
    ``weight`` is (out_features, in1_features, in2_features); weight and bias start as
    U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), device=device,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features})")
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


# -- lazy variant (torch/nn/modules/linear.py) ---------------------------------------------------
from ..._parameter import UninitializedParameter  # noqa: E402
from ...autograd.grad_mode import no_grad as _no_grad  # noqa: E402
from .lazy import LazyModuleMixin  # noqa: E402


class LazyLinear(LazyModuleMixin, Linear):
    r"""A :class:`Linear` whose ``in_features`` is inferred from the first input's last dim.

    ``weight`` and ``bias`` are :class:`UninitializedParameter` s until the first call, which
    materialises and initialises them as ``Linear`` does; the module then becomes a ``Linear``.
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(**factory_kwargs)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**factory_kwargs)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """Infer ``in_features`` from ``input.shape[-1]`` and initialise the parameters."""
        if self.has_uninitialized_params():
            with _no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # parameters came from load_state_dict
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                    f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]



class NonDynamicallyQuantizableLinear(Linear):
    """A Linear that torch's quantization tools leave alone (MultiheadAttention's out_proj);
    the same layer otherwise, kept for its name in reprs and checkpoints. (torch defines it
    here, in nn.modules.linear, and not in __all__.)"""

__all__ += ["LazyLinear"]
