"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp on top of autograd.grad.

Forward-mode products (jvp, hvp) use the double-backward trick, as torch does: the vjp is
linear in its cotangent, so differentiating it against the cotangent gives the jvp.
``vectorize`` is accepted and computes row by row (the same numbers, no batching).
"""
from __future__ import annotations

import numpy as np

from . import grad as _grad
from .grad_mode import enable_grad


def _tensor():
    from .._tensor import Tensor
    return Tensor


def _ones_like(t):
    return _tensor()._wrap(np.ones_like(t._data))


def _as_tuple(x, arg_name, fn_name):
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    Tensor = _tensor()
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                                f"tuple of Tensors but the value at index {i} has type {type(t)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the given {arg_name} has type {type(t)}.")
    return is_tuple, xs


def _validate_v(v, other, is_other_tuple):
    """torch's checks of the vector ``v`` against the outputs (vjp) or inputs (jvp, hvp, vhp)."""
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


def _prepare(inputs, create_graph):
    """Fresh leaves (or, with create_graph, views that keep the inputs' graph) needing grad."""
    if create_graph:
        return tuple(x.view_as(x) if x.requires_grad else x.detach().requires_grad_()
                     for x in inputs)
    return tuple(x.detach().requires_grad_() for x in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, what):
    """d<outputs, grad_outputs>/d inputs, zeros for inputs not reached (unless strict)."""
    from .._creation import zeros_like
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        res = _grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True,
                    create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(inputs)
    out = []
    for i, (x, r) in enumerate(zip(inputs, res)):
        if r is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode.")
            r = zeros_like(x)
        out.append(r)
    return tuple(out)


def _finish(xs, create_graph):
    return tuple(x if create_graph else x.detach() for x in xs)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J) as torch.autograd.functional.vjp."""
    with enable_grad():
        is_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        out = func(*inputs)
        out_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
            v = (_ones_like(outputs[0]),)
        else:
            _, v = _as_tuple(v, "v", "vjp")
            _validate_v(v, outputs, out_tuple)
        res = _grads(outputs, inputs, v, create_graph, strict, "vjp")
    outs = _finish(outputs, create_graph)
    res = _finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if is_tuple else res[0])


def _inputs_and_v(inputs, v, create_graph, name):
    """The inputs (prepared for differentiation) and the vector ``v`` in the inputs' shapes, for
    jvp/hvp/vhp; ``v`` may be omitted only for a single one-element input, as in torch."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _prepare(inputs, create_graph)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        return is_tuple, inputs, (_ones_like(inputs[0]),)
    _, v = _as_tuple(v, "v", name)
    _validate_v(v, inputs, is_tuple)
    return is_tuple, inputs, v


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v) by the double-vjp trick, as torch.autograd.functional.jvp."""
    from .._creation import zeros_like
    with enable_grad():
        is_tuple, inputs, v = _inputs_and_v(inputs, v, create_graph, "jvp")
        out = func(*inputs)
        out_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", "jvp")
        dummy = tuple(zeros_like(o).requires_grad_() for o in outputs)
        g = _grads(outputs, inputs, dummy, True, strict, "jvp")
        res = _grads(g, dummy, v, create_graph, strict, "jvp")
    outs = _finish(outputs, create_graph)
    res = _finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, row by row in reverse mode (any ``vectorize``
    or ``strategy`` gives the same numbers)."""
    import ember
    Tensor = _tensor()
    with enable_grad():
        is_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        out = func(*inputs)
        out_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", "jacobian")
        blocks = []
        for o in outputs:
            rows = []
            for k in range(o.numel()):
                e = np.zeros(o._data.shape, o._data.dtype)
                e.reshape(-1)[k] = 1
                rows.append(_grads((o,), inputs, (Tensor._wrap(e),), create_graph, strict,
                                   "jacobian") if o.requires_grad else
                            _grads((), inputs, (), create_graph, strict, "jacobian"))
            row = []
            for i, x in enumerate(inputs):
                parts = [r[i].reshape(-1) for r in rows]
                j = ember.stack(parts) if parts else ember.zeros(0, x.numel(), dtype=x.dtype)
                row.append(j.reshape(tuple(o.shape) + tuple(x.shape)))
            blocks.append(tuple(_finish(row, create_graph)))
    if out_tuple:
        return tuple(b if is_tuple else b[0] for b in blocks)
    return blocks[0] if is_tuple else blocks[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of scalar ``func``: the Jacobian of its gradient."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return _grads(outs, xs, (_ones_like(outs[0]),), True, strict, "hessian")

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return res if is_tuple else res[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) as torch.autograd.functional.vhp."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v); the Hessian is symmetric, so this is v^T H."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, name):
    with enable_grad():
        is_tuple, inputs, v = _inputs_and_v(inputs, v, create_graph, name)
        out = func(*inputs)
        out_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", name)
        if out_tuple:
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if outputs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {name} should "
                               "contain a single element")
        ones = (_ones_like(outputs[0]),)
        g = _grads(outputs, inputs, ones, True, strict, name)
        res = _grads(g, inputs, v, create_graph, strict, name)
    outs = _finish(outputs, create_graph)
    res = _finish(res, create_graph)
    return outs[0], (res if is_tuple else res[0])
