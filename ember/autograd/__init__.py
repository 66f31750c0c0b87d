"""ember.autograd: reverse-mode automatic differentiation (first order), as torch.autograd."""
from __future__ import annotations

import numpy as np

from . import grad_mode
from .engine import run_backward
from .function import Function, Node, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck


def _make_grads(tensors, grads):
    from .._tensor import Tensor

    out = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t._data.dtype.kind != "f":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs "
                                   f"but got {t.dtype}")
            out.append(np.ones_like(t._data))
        else:
            ga = g._data if isinstance(g, Tensor) else np.asarray(g, dtype=t._data.dtype)
            if ga.shape != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{tuple(ga.shape)} and output[0] has a shape of "
                                   f"{tuple(t._data.shape)}.")
            out.append(ga.astype(t._data.dtype, copy=False))
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    if create_graph:
        raise NotImplementedError("ember's autograd is first order: create_graph=True (higher-order "
                                  "gradients) is not supported")
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    arrays = _make_grads(tensors, grads)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        results = _grad(tensors, arrays, inputs, bool(retain_graph), allow_unused=True)
        for t, g in zip(inputs, results):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(tensors, arrays, retain_graph=bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    if create_graph:
        raise NotImplementedError("ember's autograd is first order: create_graph=True (higher-order "
                                  "gradients) is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    arrays = _make_grads(outputs, grads)
    res = _grad(outputs, arrays, inputs, bool(retain_graph), bool(allow_unused) or materialize_grads)
    if materialize_grads:
        from .._creation import zeros_like
        res = tuple(zeros_like(i) if r is None else r for i, r in zip(inputs, res))
    return res


def _grad(outputs, arrays, inputs, retain_graph, allow_unused):
    from .._tensor import Tensor
    from .function import _edge

    capture = {}
    sinks = []
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        key = _edge(t)
        sink = capture.setdefault(key, [])
        sinks.append(sink)
    run_backward(outputs, arrays, retain_graph=retain_graph, capture=capture)
    result = []
    for t, sink in zip(inputs, sinks):
        if not sink:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
            result.append(None)
        else:
            total = sink[0]
            for g in sink[1:]:
                total = total + g
            result.append(Tensor._wrap(np.array(total, copy=True)))
    return tuple(result)


__all__ = ["Function", "Node", "backward", "grad", "gradcheck", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "inference_mode", "once_differentiable", "grad_mode"]
