"""Watching the ops of one forward pass: the hook under ``ember.onnx.export`` and
``SummaryWriter.add_graph``.

Every differentiable op goes through ``Function.apply``, whether or not it records a graph
(under no_grad, on integer tensors), so a trace sees what the autograd graph cannot. While
:func:`trace_calls` is active, ``Function.apply`` is wrapped: after each op that ran in the
tracing thread and not inside another op's forward, ``on_call(fn, args, result)`` is called
(``fn`` the Function class, ``args`` as passed to apply, ``result`` a Tensor or a tuple).
Tensor's few paths that compute without a Function (comparisons, floor division, bitwise ops,
argmax/argmin) are handed, after they ran, to ``on_untraced(path, op, self, args, kwargs, result)``
(``path`` the Tensor method's name, ``op`` the ufunc or function it applies), so a tracer can
record or refuse them. Outside the block apply is the plain classmethod: the hot path pays
nothing. Other threads run untraced while a trace is active.

This sits at the lowest layer that knows both Functions and Tensors (layer 2), so that
ember.utils (layer 4) and ember.onnx (layer 5) share one mechanism.
"""
from __future__ import annotations

import contextlib
import sys
import threading

from .function import Function, tensor_class

__all__ = ["trace_calls", "UNTRACED", "UNTRACED_METHODS"]

# Tensor's methods that compute without a Function: those applying a NumPy op given as their
# first argument (binary ops that need no gradient, comparisons, argmax/argmin) ...
UNTRACED = ("_nograd_binary", "_compare", "_arg")
# ... and predicates and boolean ops, reported with ``op`` None
UNTRACED_METHODS = ("isnan", "isinf", "isfinite", "logical_not", "logical_and", "logical_or",
                    "__invert__", "any", "all")


@contextlib.contextmanager
def trace_calls(on_call, on_untraced=None):
    """Call ``on_call(fn, args, result)`` after each top-level op of this thread in the block
    (and ``on_untraced(path, op, tensor, args, kwargs, result)`` after each Tensor path without a
    Function)."""
    Tensor = tensor_class()
    apply = Function.__dict__["apply"]
    run = apply.__func__
    owner = threading.get_ident()
    depth = [0]

    def traced_apply(cls, *args):
        # ops applied inside another op's forward belong to that op; other threads' ops are
        # not this trace's
        if depth[0] or threading.get_ident() != owner:
            return run(cls, *args)
        depth[0] += 1
        try:
            result = run(cls, *args)
        finally:
            depth[0] -= 1
        on_call(cls, args, result)
        return result

    names = UNTRACED + UNTRACED_METHODS if on_untraced else ()
    untraced = {name: Tensor.__dict__[name] for name in names}

    def watched(path, method):
        def run_method(self, op, *args, **kw):
            result = method(self, op, *args, **kw)
            if not depth[0] and threading.get_ident() == owner:
                on_untraced(path, op, self, args, kw, result)
            return result
        return run_method

    def watched_method(path, method):
        def run_method(self, *args, **kw):
            result = method(self, *args, **kw)
            if not depth[0] and threading.get_ident() == owner:
                on_untraced(path, None, self, args, kw, result)
            return result
        return run_method

    # ember.isnan(x) and friends hold the method they were made from: they are pointed at the
    # watched one for the block too
    package = sys.modules["ember"]
    functions = {name: getattr(package, name) for name in UNTRACED_METHODS
                 if on_untraced and not name.startswith("_") and hasattr(package, name)}

    def by_name(name):
        return lambda input, *args, **kw: getattr(Tensor, name)(input, *args, **kw)

    Function.apply = classmethod(traced_apply)
    for name, method in untraced.items():
        wrap = watched if name in UNTRACED else watched_method
        setattr(Tensor, name, wrap(name, method))
    for name in functions:
        setattr(package, name, by_name(name))
    try:
        yield
    finally:
        Function.apply = apply
        for name, method in untraced.items():
            setattr(Tensor, name, method)
        for name, fn in functions.items():
            setattr(package, name, fn)
