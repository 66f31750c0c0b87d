"""ember.autograd: reverse-mode automatic differentiation, as torch.autograd (higher orders
through ``create_graph=True``, see higher_order.py)."""
from __future__ import annotations

import numpy as np

from . import grad_mode
from .engine import ImperativeEngine, run_backward
from .function import Function, Node, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .gradcheck import gradcheck, gradgradcheck
from .higher_order import run_backward_graph


def _make_grads(tensors, grads, as_tensors=False):
    """The gradients to start from: arrays, or Tensors (kept as given, graph and all) when the
    backward is recorded."""
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
            out.append(Tensor._wrap(np.ones_like(t._data)) if as_tensors else np.ones_like(t._data))
        elif as_tensors and isinstance(g, Tensor) and g._data.shape == t._data.shape:
            out.append(g if g._data.dtype == t._data.dtype else g.to(t.dtype))
        else:
            ga = g._data if isinstance(g, Tensor) else np.asarray(g, dtype=t._data.dtype)
            if ga.shape != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{tuple(ga.shape)} and output[0] has a shape of "
                                   f"{tuple(t._data.shape)}.")
            ga = ga.astype(t._data.dtype, copy=False)
            out.append(Tensor._wrap(ga) if as_tensors else ga)
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph  # torch's default
    arrays = _make_grads(tensors, grads, create_graph)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        results = _grad(tensors, arrays, inputs, bool(retain_graph), True, create_graph)
        for t, g in zip(inputs, results):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
                if t.grad_fn is None and t._accumulator is not None:
                    with grad_mode.set_grad_enabled(create_graph):  # as inside the engine
                        t._accumulator._run_post_acc_hooks()
        return
    if create_graph:
        import warnings
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.", stacklevel=3)
        run_backward_graph(tensors, arrays, bool(retain_graph))
    else:
        run_backward(tensors, arrays, retain_graph=bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    if retain_graph is None:
        retain_graph = create_graph  # torch's default
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    arrays = _make_grads(outputs, grads, create_graph)
    res = _grad(outputs, arrays, inputs, bool(retain_graph), bool(allow_unused) or materialize_grads,
                create_graph)
    if materialize_grads:
        from .._creation import zeros_like
        res = tuple(zeros_like(i) if r is None else r for i, r in zip(inputs, res))
    return res


def _grad(outputs, arrays, inputs, retain_graph, allow_unused, create_graph=False):
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
    if create_graph:
        run_backward_graph(outputs, arrays, retain_graph, capture)
    else:
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
            result.append(total if create_graph else Tensor._wrap(np.array(total, copy=True)))
    return tuple(result)


class VariableMeta(type):
    def __instancecheck__(cls, other):
        from .._tensor import Tensor
        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """torch.autograd.Variable, the legacy wrapper: ``Variable(t)`` is ``t.detach()`` with
    ``requires_grad`` set; every Tensor is a Variable. ``Variable._execution_engine`` is where
    torch code queues callbacks for the end of the running backward pass."""

    _execution_engine = ImperativeEngine()

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        from .._tensor import Tensor
        if volatile:
            import warnings
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                          "instead.", UserWarning, stacklevel=2)
        if data is None:
            from .._creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


__all__ = ["Function", "Node", "Variable", "backward", "grad", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional",
           "set_grad_enabled", "is_grad_enabled", "inference_mode", "once_differentiable", "grad_mode"]

from . import functional  # noqa: E402  (it uses grad, defined above)
