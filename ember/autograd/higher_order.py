"""Higher-order gradients: the backward pass recorded as a graph (``create_graph=True``).

The first-order engine (engine.py) pushes arrays through each Function's array ``backward``.
With ``create_graph=True`` the gradients are Tensors instead, and each node's backward runs
with grad mode on, built from recorded ops, so the gradients have a ``grad_fn`` and can be
differentiated again. A Function says how, in one of two ways:

* ``backward_graph(ctx, *grads)``: its backward written in Tensor ops on ``saved(ctx)``: the
  saved arrays as Tensors linked to their graph, as torch's SavedVariables (nothing else of
  the forward is kept, so create_graph costs no memory when it is not used).
* ``affine_in = (positions...)``: the forward is affine in each of those arguments separately
  (add, mul, matmul, conv, sum, reshape ...). Then ``AffineGrad`` below derives a recorded
  backward from the Function's own forward and backward, to any order (see its docstring).

A node with neither raises "double backward of <name> is not implemented in ember": never a
silently wrong (zero) second derivative.
"""
from __future__ import annotations

import numpy as np

from . import function, grad_mode
from .function import AccumulateGrad, Function, _edge


# --------------------------------------------------------------------- helpers for backward_graph
def _linked(array, node, idx):
    """A Tensor holding ``array`` whose gradient flows to output ``idx`` of ``node``."""
    if type(node) is AccumulateGrad and node.variable._data is array:
        return node.variable  # the leaf itself
    # (a stand-in for a leaf carries its AccumulateGrad as grad_fn: the engine follows it there)
    t = function.tensor_class()._wrap(array)
    t._requires_grad = True
    t.grad_fn, t._out_idx = node, idx
    return t


def _input(ctx, i, array):
    edge = ctx.next_edges[i]
    if edge is None:
        return function.tensor_class()._wrap(array)  # a constant: no gradient asked for
    return _linked(array, *edge)


def saved(ctx):
    """The node's saved arrays as Tensors, as torch unpacks SavedVariables: an input's array
    links to that input's graph, an output's to this node, a derived array is a constant;
    Python numbers stay numbers. Raises if the graph was freed or modified in place."""
    arrays = ctx.saved_tensors
    origins = ctx._saved_from or (None,) * len(arrays)
    Tensor = function.tensor_class()
    out = []
    for arr, origin in zip(arrays, origins):
        if origin is None:
            out.append(Tensor._wrap(arr) if type(arr) is np.ndarray else arr)
        elif origin[0] == "in":
            out.append(_input(ctx, origin[1], arr))
        else:
            out.append(arr if arr.dtype.kind not in "fc" else _linked(arr, ctx, origin[1]))
    return out


def input_links(ctx):
    """The forward's arguments; each floating Tensor argument as a Tensor linked to its graph,
    holding its values where forward saved them and ZEROS otherwise. Only for backwards whose
    formula does not read the values of unsaved inputs (affine ops, or a stub whose graph
    is all that is used)."""
    arrays = ctx.saved_tensors
    values = {o[1]: a for a, o in zip(arrays, ctx._saved_from or ()) if o and o[0] == "in"}
    args = []
    for i, a in enumerate(ctx._args):
        if isinstance(a, function.TensorSlot):
            a = _input(ctx, i, values[i] if i in values else np.zeros(a.shape, a.dtype))
        args.append(a)
    return args


def constant(array, like):
    """``array`` as a Tensor that needs no grad, in ``like``'s dtype."""
    return function.tensor_class()._wrap(np.asarray(array, dtype=like._data.dtype))


def sum_to(t, shape):
    """Tensor ``t`` summed down to ``shape``: the adjoint of broadcasting (as ``unbroadcast``)."""
    shape = tuple(shape)
    if tuple(t.shape) == shape:
        return t
    extra = t.ndim - len(shape)
    if extra:
        t = t.sum(tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and t.shape[i] != 1)
    if axes:
        t = t.sum(axes, keepdim=True)
    return t.reshape(shape)


def grad_of(compose, ctx, grads, args):
    """A backward_graph from a composition: ``compose(*args)`` computes the same function as
    the node's forward from recorded ops (``args``: the forward's arguments, Tensors linked to
    their graph); its gradient (create_graph) is the node's."""
    from . import grad as autograd_grad

    Tensor = function.tensor_class()
    wrt = [i for i, a in enumerate(args) if isinstance(a, Tensor) and ctx.needs_input_grad[i]]
    with grad_mode.enable_grad():
        out = compose(*args)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        res = autograd_grad([o for o, _ in pairs], [args[i] for i in wrt],
                            [g for _, g in pairs], create_graph=True, allow_unused=True)
    result = [None] * len(args)
    for i, r in zip(wrt, res):
        result[i] = r
    return tuple(result)


# --------------------------------------------------------------------- affine Functions
class _Spec:
    """What AffineGrad needs of the original node: its Function, its non-Tensor arguments, the
    positions of the affine Tensor arguments, which of them get gradients (``out_pos``), and,
    for the first call only, the live node itself (its array backward, no recomputation)."""

    def __init__(self, fn, template, positions, needs, out_pos, node=None):
        self.fn, self.template, self.positions = fn, template, positions
        self.needs, self.out_pos, self.node = needs, out_pos, node

    def args(self, xs):
        args = list(self.template)
        for p, x in zip(self.positions, xs):
            args[p] = x
        return args

    def but(self, out_pos):
        return _Spec(self.fn, self.template, self.positions, self.needs, out_pos)


class AffineGrad(Function):
    r"""The backward of a Function ``f`` that is affine in each of its inputs x_1..x_n, as an
    op of (g, x_1..x_n) -> (J_i(x)^T g for i in out_pos), itself differentiable:

    * towards g:   sum_i J_i(x) h_i = sum_i f(x with x_i = h_i) - f(x with x_i = 0)
    * towards x_j: sum_{i != j} bwd_j(x with x_i = h_i) g - bwd_j(x with x_i = 0) g
      (J_j does not depend on x_j, f being affine in it), where bwd_j is this very op.

    Both are written with f.apply and AffineGrad.apply, so every order is recorded again.
    """
    name = "AffineGradBackward0"

    @staticmethod
    def forward(ctx, spec, g, *xs):
        ctx.spec = spec
        ctx.save_for_backward(g, *xs)
        if spec.node is not None:  # the first call: the node's own backward, as computed
            grads = spec.node._backward(g)
            spec.node = None
        else:
            node = spec.fn._node_cls()
            spec.fn.forward(node, *spec.args(xs))
            node.needs_input_grad = spec.needs
            grads = spec.fn.backward(node, g)
        if type(grads) is not tuple:
            grads = (grads,)
        outs = tuple(np.array(grads[p], dtype=xs[spec.positions.index(p)].dtype)
                     for p in spec.out_pos)  # fresh arrays: each may become a leaf's .grad
        return outs if len(outs) > 1 else outs[0]

    @staticmethod
    def backward(ctx, *hs):
        Tensor = function.tensor_class()
        with grad_mode.no_grad():
            res = AffineGrad.backward_graph(ctx, *(None if h is None else Tensor._wrap(h)
                                                   for h in hs))
        return tuple(None if r is None else r._data for r in res)

    @staticmethod
    def backward_graph(ctx, *hs):
        spec = ctx.spec
        g, *xs = saved(ctx)
        zero = {p: constant(np.zeros(x.shape), x) for p, x in zip(spec.positions, xs)}
        moved = {p: h for p, h in zip(spec.out_pos, hs) if h is not None}
        gg = None
        if ctx.needs_input_grad[1]:
            for p, h in moved.items():
                term = (spec.fn.apply(*spec.args(_swap(spec, xs, p, h)))
                        - spec.fn.apply(*spec.args(_swap(spec, xs, p, zero[p]))))
                gg = term if gg is None else gg + term
        gx = []
        for k, j in enumerate(spec.positions):
            total = None
            if ctx.needs_input_grad[2 + k]:
                for p, h in moved.items():
                    if p == j:
                        continue
                    term = (AffineGrad.apply(spec.but((j,)), g, *_swap(spec, xs, p, h))
                            - AffineGrad.apply(spec.but((j,)), g, *_swap(spec, xs, p, zero[p])))
                    total = term if total is None else total + term
            gx.append(total)
        return (None, gg, *gx)


def _swap(spec, xs, p, value):
    xs = list(xs)
    xs[spec.positions.index(p)] = value
    return xs


def affine_backward(node, grads):
    """The recorded backward of a node whose Function declares ``affine_in``."""
    fn = node._function
    args = input_links(node)
    Tensor = function.tensor_class()
    if len(grads) != 1 or _derived_saves(node):
        _not_implemented(node)
    template, positions = [], []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if (fn.affine_in == "all" or i in fn.affine_in) and a._data.dtype.kind in "fc":
                positions.append(i)
                template.append(None)
                continue
            if node.needs_input_grad[i] or a._data.dtype.kind in "fc":
                # a differentiable input the forward is not affine in, or floating values
                # input_links may have replaced by zeros
                _not_implemented(node)
            template.append(a._data)
        else:
            template.append(a)
    out_pos = tuple(p for p in positions if node.needs_input_grad[p])
    # a recomputed backward (AffineGrad at another point) computes every affine input's grad
    needs = tuple(i in positions for i in range(len(args)))
    spec = _Spec(fn, template, tuple(positions), needs, out_pos, node)
    xs = [args[p] for p in positions]
    res = AffineGrad.apply(spec, grads[0], *xs)
    res = res if isinstance(res, tuple) else (res,)
    out = [None] * len(args)
    for p, r in zip(out_pos, res):
        out[p] = r
    return tuple(out)


def _derived_saves(node):
    """True if forward saved a floating array that is no input's or output's own: then an
    unsaved input's zeros (input_links) could stand where its values matter; refuse."""
    origins = node._saved_from or (None,) * len(node.saved_tensors_ or ())
    return any(o is None and type(a) is np.ndarray and a.dtype.kind in "fc"
               for a, o in zip(node.saved_tensors_ or (), origins))


def _not_implemented(node):
    raise RuntimeError(f"double backward of {node.name()} is not implemented in ember "
                       "(create_graph=True reached it)")


def node_backward_graph(node, grads):
    """Run one node's backward as recorded Tensor ops."""
    fn = node._function
    if fn.backward_graph is not None:
        node.saved_tensors  # raises if freed or modified in place
        res = fn.backward_graph(node, *grads)
    elif fn.affine_in is not None:
        res = affine_backward(node, grads)
    else:
        _not_implemented(node)
    return res if type(res) is tuple else (res,)


# --------------------------------------------------------------------- the recorded engine
def _reaching(roots, targets):
    """Nodes from which some node of ``targets`` can be reached (strictly, along next_edges)."""
    order, seen, stack = [], set(), [(n, False) for n in roots]
    while stack:  # iterative post-order: deep graphs must not hit the recursion limit
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for edge in node.next_edges:
            if edge is not None and edge[0] not in seen:
                stack.append((edge[0], False))
    reach = set()
    for node in order:  # children come before parents
        for edge in node.next_edges:
            if edge is not None and (edge[0] in targets or edge[0] in reach):
                reach.add(node)
                break
    return reach


def run_backward_graph(tensors, grads, retain_graph, capture=None):
    """As engine.run_backward, with Tensors for gradients and every step recorded."""
    from .engine import graph_task

    graph_task(_run_graph, tensors, grads, retain_graph, capture)


def _run_graph(tensors, grads, retain_graph, capture):
    from .engine import _dependencies, _skip

    Tensor = function.tensor_class()
    pending, roots = {}, []
    for t, g in zip(tensors, grads):
        node, idx = _edge(t)
        slot = pending.get(node)
        if slot is None:
            slot = pending[node] = [None] * len(node._out_meta)
            roots.append(node)
        slot[idx] = g if slot[idx] is None else slot[idx] + g
    deps = _dependencies(roots)
    reach = None if capture is None else _reaching(roots, {k[0] for k in capture})
    ready = [n for n in roots if deps.get(n, 0) == 0]
    with grad_mode.enable_grad():
        while ready:
            node = ready.pop()
            slot = pending.pop(node, None)
            if slot is None:
                _skip(node, deps, ready)
                continue
            if type(node) is AccumulateGrad:
                _finish_leaf(node, slot[0], capture, Tensor)
                continue
            slot = [Tensor._wrap(np.zeros(shape, dtype)) if g is None else g
                    for g, (shape, dtype) in zip(slot, node._out_meta)]
            slot = _hooks_and_capture(node, slot, capture, Tensor)
            if reach is not None and node not in reach:
                _skip(node, deps, ready)  # nothing asked for lies below this node
                continue
            if node.saved_tensors_ is None:
                node._check_not_released()
            in_grads = node_backward_graph(node, slot)
            grad_mode.check_anomaly(node, in_grads)
            _send(node, in_grads, pending, deps, ready)
            if not retain_graph:
                node._release()


def _send(node, in_grads, pending, deps, ready):
    for edge, g in zip(node.next_edges, in_grads):
        if edge is None:
            continue
        nxt, idx = edge
        if g is not None:
            slot = pending.get(nxt)
            if slot is None:
                slot = pending[nxt] = [None] * len(nxt._out_meta)
            slot[idx] = g if slot[idx] is None else slot[idx] + g
        deps[nxt] -= 1
        if deps[nxt] == 0:
            ready.append(nxt)


def _hooks_and_capture(node, slot, capture, Tensor):
    for i, hook in (node._hooks or ()):
        res = hook(slot[i])
        if res is not None:
            slot[i] = res
    for i, tensor in (node._retained or ()):
        tensor.grad = slot[i] if tensor.grad is None else tensor.grad + slot[i]
    if capture is not None:
        for i, g in enumerate(slot):
            sink = capture.get((node, i))
            if sink is not None:
                sink.append(g)
    return slot


def _finish_leaf(node, g, capture, Tensor):
    var = node.variable
    for hook in (node._hooks or ()):
        res = hook(g)
        if res is not None:
            g = res
    if capture is not None:
        sink = capture.get((node, 0))
        if sink is not None:
            sink.append(g)
        return
    if g.dtype != var.dtype:
        g = g.to(var.dtype)
    if tuple(g.shape) != tuple(var.shape):
        raise RuntimeError(f"gradient of shape {list(g.shape)} does not match the leaf's shape "
                           f"{list(var.shape)}")
    # out of place, as torch under create_graph: the first-order engine later adds into .grad
    # in place, so a leaf never keeps an array another gradient shares
    var.grad = g.clone() if var.grad is None else var.grad + g
    if node._post_acc_hooks:
        node._run_post_acc_hooks()
