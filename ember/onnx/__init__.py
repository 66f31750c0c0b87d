"""Export ember models to ONNX (torch.onnx's legacy ``export``), built with the ``onnx`` package.

``export`` traces one forward pass: while it runs, every differentiable op ember applies is
recorded (``_trace``) and mapped to ONNX nodes by the op table (``_symbolic``); parameters and
buffers become initializers under their state_dict names. Install with ``pip install
'ember[onnx]'``; ``onnxruntime`` runs the result.
"""
from ._export import export
from ._graph import OnnxExporterError, UnsupportedOperatorError

__all__ = ["export", "OnnxExporterError", "UnsupportedOperatorError"]
