"""The ONNX graph under construction: nodes, initializers and fresh value names.

Only this module and ``_symbolic`` speak ``onnx.helper``; the tracer hands each recorded call to
the op table, which emits nodes here through :meth:`Graph.node` and :meth:`Graph.const`.
"""
from __future__ import annotations

import numpy as np


class OnnxExporterError(RuntimeError):
    """An export that cannot be done (torch.onnx.errors.OnnxExporterError)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An ember operation with no ONNX mapping (torch.onnx.errors.UnsupportedOperatorError)."""


def onnx_module():
    try:
        import onnx
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "ember.onnx.export needs the onnx package: pip install 'ember[onnx]' "
            "(or pip install onnx)") from None
    return onnx


class Graph:
    """Nodes in emission order (a traced forward is already topologically sorted)."""

    def __init__(self, opset: int, dynamic: bool):
        self.onnx = onnx_module()
        self.opset = opset
        self.dynamic = dynamic  # some axis is dynamic: shapes read at trace time may vary
        self.nodes = []
        self.initializers = {}  # name -> np.ndarray
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"/{hint}_{self._count}"

    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        """Emit ``op(inputs)``; returns its output name (a list when ``n_out != 1``).
        An input of None is an omitted optional input (ONNX's empty name)."""
        inputs = list(inputs)
        while inputs and inputs[-1] is None:  # trailing optional inputs are left out, not ""
            inputs.pop()
        outs = [self.fresh(f"{op}_output") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(
            op, ["" if i is None else i for i in inputs], outs, name=self.fresh(op), **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None, hint: str = "Constant") -> str:
        """An initializer holding ``value`` (an array or a Python number/list)."""
        # a copy: the traced array may be written later in the forward pass (an in-place op)
        array = np.array(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers[name] = array
        return name

    def ints(self, values) -> str:
        """An int64 1-d initializer (shapes, axes, split sizes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))
