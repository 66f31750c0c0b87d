"""Tensor products and matrix structure: einsum (which also serves tensordot, outer, kron,
inner), cross, diagonal views, diag_embed, triu/tril.

The Functions (arrays in, arrays out) come first; the Tensor-level wrappers at the end check
arguments with torch's messages and are what Tensor methods and ``ember.<name>`` call."""
from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from .util import unbroadcast

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


# ------------------------------------------------------------------ einsum equation parsing
def _split_term(term: str, what: str = "operand 0", offset: int = 0):
    """'ab...c' -> (['a', 'b', '...', 'c']); raises on characters torch does not accept."""
    tokens, i = [], 0
    while i < len(term):
        if term[i] == ".":
            if "..." in tokens:
                raise RuntimeError(f"einsum(): found '.' for {what} for which an ellipsis was already found")
            if not term.startswith("...", i):
                raise RuntimeError(f"einsum(): found '.' for {what} that is not part of any ellipsis"
                                   + (" (...)" if what == "output" else ""))
            tokens.append("...")
            i += 3
        elif term[i] in _LETTERS:
            tokens.append(term[i])
            i += 1
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index {offset + i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
    return tokens


def parse_einsum(equation: str, shapes):
    """Rewrite ``equation`` for the given operand shapes into letters only: ellipses become
    unused letters (right-aligned), the implicit output is made explicit (torch's order:
    ellipsis dims first, then the letters seen once, sorted). Returns (input subscripts,
    output subscript, the size of every letter); size-1 dims broadcast as in torch."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    starts = np.cumsum([0] + [len(t) + 1 for t in lhs.split(",")])
    terms = [_split_term(t, f"operand {k}", int(starts[k])) for k, t in enumerate(lhs.split(","))]
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    used = set(equation)
    spare = [c for c in _LETTERS if c not in used]
    ell_rank = 0
    for i, (tokens, shape) in enumerate(zip(terms, shapes)):
        named = len(tokens) - ("..." in tokens)
        if "..." not in tokens and named != len(shape) or named > len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not "
                               f"match the number of dimensions ({len(shape)}) for operand {i}"
                               f"{' and no ellipsis was given' if '...' not in tokens else ''}")
        if "..." in tokens:
            ell_rank = max(ell_rank, len(shape) - named)
    ell = spare[:ell_rank]
    subs = []
    for tokens, shape in zip(terms, shapes):
        k = len(shape) - (len(tokens) - 1)
        subs.append("".join(c for t in tokens for c in (ell[ell_rank - k:] if t == "..." else [t])))
    sizes = _letter_sizes(subs, shapes)
    if arrow:
        out_tokens = _split_term(rhs, "output", len(lhs) + 2)
        out = "".join(c for t in out_tokens for c in (ell if t == "..." else [t]))
        for c in out:
            if c not in sizes:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                                   f"for any input operand")
        if len(set(out)) != len(out):
            raise RuntimeError("einsum(): output subscript appears more than once in the output")
    else:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(ell) + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out, sizes


def _letter_sizes(subs, shapes):
    sizes = {}
    for i, (s, shape) in enumerate(zip(subs, shapes)):
        first = {}
        for c, n in zip(s, shape):  # a letter repeated within one operand takes one size
            if first.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {n} != {first[c]}")
        for c, n in zip(s, shape):
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = n
            elif n != 1 and n != seen:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does "
                                   f"not broadcast with previously seen size {seen}")
    return sizes


def _broadcast(a, sub, sizes):
    return np.broadcast_to(a, tuple(sizes[c] for c in sub))


def _to_repeated(g_unique, unique, sub, sizes):
    """The gradient over an operand whose subscript repeats letters ('ii'): zeros off the
    diagonal, ``g_unique`` written through a strided view onto the diagonal."""
    res = np.zeros(tuple(sizes[c] for c in sub), dtype=g_unique.dtype)
    strides = tuple(sum(st for ch, st in zip(sub, res.strides) if ch == c) for c in unique)
    view = np.lib.stride_tricks.as_strided(res, g_unique.shape, strides)
    view[...] = g_unique
    return res


def _contract(subs, out, ops):
    """The einsum of already-broadcast operands: two of them as one batched matmul (NumPy's
    einsum loops in C over shared batch letters instead of calling BLAS), more through
    np.einsum's optimised path."""
    if len(ops) == 2 and all(len(set(s)) == len(s) for s in subs):
        return _contract_pair(subs[0], subs[1], out, ops[0], ops[1])
    return np.asarray(np.einsum(",".join(subs) + "->" + out, *ops, optimize=len(ops) > 1))


def _sum_private(sub, other, out, a):
    """Sum away the letters of one operand that appear nowhere else."""
    private = [i for i, c in enumerate(sub) if c not in other and c not in out]
    if not private:
        return sub, a
    kept = "".join(c for c in sub if c in other or c in out)
    return kept, a.sum(axis=tuple(private))


def _contract_pair(sa, sb, out, a, b):
    sa, a = _sum_private(sa, sb, out, a)
    sb, b = _sum_private(sb, sa, out, b)
    batch = [c for c in sa if c in sb and c in out]
    contracted = [c for c in sa if c in sb and c not in out]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    size = dict(zip(sa, a.shape))
    size.update(zip(sb, b.shape))

    def prod(letters):
        return int(np.prod([size[c] for c in letters], dtype=np.int64))

    a3 = a.transpose([sa.index(c) for c in batch + left + contracted]).reshape(
        prod(batch), prod(left), prod(contracted))
    b3 = b.transpose([sb.index(c) for c in batch + contracted + right]).reshape(
        prod(batch), prod(contracted), prod(right))
    res = np.matmul(a3, b3).reshape([size[c] for c in batch + left + right])
    order = batch + left + right
    return res.transpose([order.index(c) for c in out])


class Einsum(Function):
    name = "EinsumBackward0"  # (torch records the products it reduces to; one node here)
    affine_in = "all"  # double backward: autograd/higher_order.py (linear in each operand)

    @staticmethod
    def forward(ctx, subs, out, sizes, *arrays):
        ctx.save_for_backward(*arrays)
        ctx.subs, ctx.out, ctx.sizes = subs, out, sizes
        ops = [_broadcast(a, s, sizes) for a, s in zip(arrays, subs)]
        res = _contract(subs, out, ops)
        # np.einsum returns a view for a pure transpose or diagonal ('ij->ji'): the result
        # must own its memory, or writing to it would write to the input
        return res.copy() if any(np.may_share_memory(res, a) for a in arrays) else res

    @staticmethod
    def backward(ctx, g):
        arrays, subs, sizes = ctx.saved_tensors, ctx.subs, ctx.sizes
        grads = [None, None, None]
        for i, (a, sub) in enumerate(zip(arrays, subs)):
            if not ctx.needs_input_grad[3 + i]:
                grads.append(None)
                continue
            others = [ctx.out] + [s for j, s in enumerate(subs) if j != i]
            ops = [g] + [_broadcast(b, s, sizes) for j, (b, s) in enumerate(zip(arrays, subs)) if j != i]
            unique = "".join(dict.fromkeys(sub))
            keep = "".join(c for c in unique if any(c in s for s in others))
            gk = _contract(others, keep, ops)
            # letters summed away by this operand alone get the gradient broadcast back
            gk = np.asarray(gk).reshape(tuple(sizes[c] if c in keep else 1 for c in unique))
            gu = np.broadcast_to(gk, tuple(sizes[c] for c in unique))
            full = gu if unique == sub else _to_repeated(gu, unique, sub, sizes)
            grads.append(unbroadcast(np.ascontiguousarray(full), a.shape).astype(a.dtype, copy=False))
        return tuple(grads)


# ------------------------------------------------------------------ cross product
class Cross(Function):
    name = "LinalgCrossBackward0"
    affine_in = (0, 1)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, b, axis):
        ctx.save_for_backward(a, b)
        ctx.axis = axis
        shape = np.broadcast_shapes(a.shape, b.shape)
        return np.cross(np.broadcast_to(a, shape), np.broadcast_to(b, shape), axis=axis)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        shape = g.shape
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(np.cross(np.broadcast_to(b, shape), g, axis=ctx.axis), a.shape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(np.cross(g, np.broadcast_to(a, shape), axis=ctx.axis), b.shape)
        return ga, gb, None


# ------------------------------------------------------------------ diagonals and triangles
def diagonal_view(a, offset, axis1, axis2):
    """A writable strided view of a diagonal, last axis the diagonal (np.diagonal's layout;
    np.diagonal itself returns a read-only view)."""
    idx = [slice(None)] * a.ndim
    if offset >= 0:
        idx[axis2] = slice(offset, None)
    else:
        idx[axis1] = slice(-offset, None)
    s = a[tuple(idx)]
    n = min(s.shape[axis1], s.shape[axis2])
    rest = [d for d in range(a.ndim) if d not in (axis1, axis2)]
    shape = tuple(s.shape[d] for d in rest) + (n,)
    strides = tuple(s.strides[d] for d in rest) + (s.strides[axis1] + s.strides[axis2],)
    return np.lib.stride_tricks.as_strided(s, shape, strides)


class Diagonal(Function):
    name = "DiagonalBackward0"
    is_view = True
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, offset, axis1, axis2):
        ctx.shape, ctx.args = a.shape, (offset, axis1, axis2)
        return diagonal_view(a, offset, axis1, axis2)

    @staticmethod
    def backward(ctx, g):
        res = np.zeros(ctx.shape, dtype=g.dtype)
        diagonal_view(res, *ctx.args)[...] = g
        return res, None, None, None


class DiagEmbed(Function):
    name = "DiagEmbedBackward0"
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, offset, axis1, axis2):
        n = a.shape[-1] + abs(offset)
        out_ndim = a.ndim + 1
        rest = iter(a.shape[:-1])
        shape = tuple(n if d in (axis1, axis2) else next(rest) for d in range(out_ndim))
        res = np.zeros(shape, dtype=a.dtype)
        diagonal_view(res, offset, axis1, axis2)[...] = a
        ctx.args = (offset, axis1, axis2)
        return res

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(diagonal_view(g, *ctx.args)), None, None, None


class Triangle(Function):
    """triu / tril of the last two dims; the gradient keeps the same triangle."""
    affine_in = (0,)  # double backward: autograd/higher_order.py

    @staticmethod
    def forward(ctx, a, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        return _triangle(a, diagonal, upper)

    @staticmethod
    def backward(ctx, g):
        return _triangle(g, ctx.diagonal, ctx.upper), None, None


class Triu(Triangle):
    name = "TriuBackward0"


class Tril(Triangle):
    name = "TrilBackward0"


def _triangle(a, diagonal, upper):
    if a.ndim < 2:
        return a.copy()
    rows = np.arange(a.shape[-2])[:, None]
    cols = np.arange(a.shape[-1])[None, :]
    keep = cols - rows >= diagonal if upper else cols - rows <= diagonal
    return np.where(keep, a, np.zeros((), a.dtype))


# ------------------------------------------------------------------ public wrappers (Tensors)
def _tensor():
    from .._tensor import Tensor
    return Tensor


def _check_same_dtype(tensors):
    from .._dtype import scalar_type_name
    dt = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype is not dt:
            raise RuntimeError(f"expected scalar type {scalar_type_name(dt)} but found "
                               f"{scalar_type_name(t.dtype)}")


def _sublist_equation(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [out]) -> (equation, operands)."""
    def term(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    out = args[-1] if len(args) % 2 else None  # an odd count ends with the output sublist
    pairs = args[:len(args) - len(args) % 2]
    ops, terms = list(pairs[0::2]), [term(s) for s in pairs[1::2]]
    eq = ",".join(terms)
    return (eq + "->" + term(out) if out is not None else eq), ops


def einsum(*args):
    """torch.einsum(equation, *operands) or the sublist form einsum(op0, [0, 1], op1, [1, 2])."""
    if not args or (isinstance(args[0], str) and len(args) == 1):
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                        "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    _check_same_dtype(operands)
    subs, out, sizes = parse_einsum(equation, [tuple(t.shape) for t in operands])
    if len(operands) == 1 and set(subs[0]) == set(out):
        return _einsum_view(operands[0], subs[0], out)
    return Einsum.apply(subs, out, sizes, *operands)


def _einsum_view(t, sub, out):
    """One operand and nothing summed: diagonals and a permutation, a view as in torch."""
    sub = list(sub)
    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        i = sub.index(c)
        j = sub.index(c, i + 1)
        t = t.diagonal(0, i, j)  # (the diagonal becomes the last dim)
        sub = [x for k, x in enumerate(sub) if k not in (i, j)] + [c]
    return t.permute(*[sub.index(c) for c in out])


def _tensordot_dims(dims, na, nb):
    from .util import normalize_dim
    if isinstance(dims, _tensor()):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(na - dims, na)), list(range(dims))
    da, db = dims
    da = [da] if isinstance(da, (int, np.integer)) else list(da)
    db = [db] if isinstance(db, (int, np.integer)) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    return [normalize_dim(d, na) for d in da], [normalize_dim(d, nb) for d in db]


def tensordot(a, b, dims=2, out=None):
    da, db = _tensordot_dims(dims, a.ndim, b.ndim)
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    for (x, y), (ux, uy) in zip(zip(da, db), _user_dims(dims)):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {ux} and second has size {b.shape[y]} in dim {uy}")
    sa = _LETTERS[:a.ndim]
    sb = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for x, y in zip(da, db):
        sb[y] = sa[x]
    sb = "".join(sb)
    free = "".join(c for i, c in enumerate(sa) if i not in da) + \
        "".join(c for i, c in enumerate(sb) if i not in db)
    return _finish_out(einsum(f"{sa},{sb}->{free}", a, b), out)


def _user_dims(dims):
    """The contracted dims as the caller wrote them (torch's messages quote them): an int n
    means a's last n dims (-n..-1) against b's first n."""
    if isinstance(dims, _tensor()):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        return list(zip(range(-dims, 0), range(dims)))
    da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    return list(zip(da, db))


# How torch checks an ``out=`` tensor's dtype against the result's, by family (measured on
# torch 2.13): products, linalg, gather and sort want it exact; the pointwise ops
# (TensorIterator) refuse a cast that lowers the category (float into an integer out); joins
# say so as torch.cat; the rest (sum, cumsum ...) cast.
EXACT_OUT_DTYPE = frozenset(
    "mm bmm mv dot vdot matmul addmm addmv addbmm baddbmm inner ger tril triu diag cholesky "
    "inverse matrix_power kron gather sort msort".split())
CASTING_OUT_DTYPE = frozenset(
    "abs absolute acos acosh add arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin asinh "
    "atan atan2 atanh bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift "
    "bitwise_xor ceil copysign cos cosh deg2rad digamma div divide eq erf erfc erfinv exp exp2 "
    "expm1 fix float_power floor floor_divide fmod frac gcd ge greater greater_equal gt heaviside "
    "hypot i0 isneginf isposinf lcm le lerp less less_equal lgamma log log10 log1p log2 "
    "logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logit lt maximum "
    "minimum mul multiply nan_to_num ne neg negative not_equal outer polygamma pow rad2deg "
    "reciprocal remainder round rsqrt sgn sigmoid sign signbit sin sinc sinh sqrt square sub "
    "subtract tan tanh true_divide trunc xlogy mean nanmean".split())
JOIN_OUT_DTYPE = frozenset("cat concat concatenate stack hstack vstack dstack column_stack "
                           "row_stack".split())  # all torch.cat underneath, TypeError


def _check_out_dtype(res, out, name):
    from .._dtype import cpp_type_name, scalar_type_name
    have, want = out._data.dtype, res._data.dtype
    if have == want:
        return
    castable = np.can_cast(want, have, casting="same_kind")
    if name in EXACT_OUT_DTYPE:
        raise RuntimeError(f"Expected out tensor to have dtype {cpp_type_name(want)}, but got "
                           f"{cpp_type_name(have)} instead")
    if name in ("clamp", "clip", "clamp_min", "clamp_max"):
        raise RuntimeError(f"Found dtype {scalar_type_name(have)} but expected "
                           f"{scalar_type_name(want)}")
    if name == "where":
        raise RuntimeError(f"Expected out type to be {scalar_type_name(want)} but got "
                           f"{scalar_type_name(have)}")
    if name == "logsumexp" and have.kind != "f":
        raise RuntimeError(f"logsumexp(): Expected floating point type for result tensor, but "
                           f"got: {scalar_type_name(have)}")
    if name in ("cumsum", "cumprod") and have.kind == "b":
        raise NotImplementedError(f'"{name}_out_cpu" not implemented for \'Bool\'')
    if name in JOIN_OUT_DTYPE and not castable:
        raise TypeError(f"torch.cat(): input types can't be cast to the desired output type "
                        f"{scalar_type_name(have)}")
    if name in CASTING_OUT_DTYPE and not castable:
        raise RuntimeError(f"result type {scalar_type_name(want)} can't be cast to the desired "
                           f"output type {scalar_type_name(have)}")


def _finish_out(res, out, name=None):
    """torch's ``out=``: the result is written into ``out`` (resized as torch does). Refused,
    as torch, when the call is being differentiated (nothing would connect ``out`` to the
    graph: a silently missing gradient) and for an ``out`` dtype torch does not write."""
    if out is None:
        return res
    from ..autograd import grad_mode
    if grad_mode.is_grad_enabled() and (res.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name or 'function'}(): functions with out=... arguments don't "
                           f"support automatic differentiation, but one of the arguments "
                           f"requires grad.")
    _check_out_dtype(res, out, name)
    with grad_mode.no_grad():
        if tuple(out.shape) != tuple(res.shape):
            out._data = np.empty(res._data.shape, out._data.dtype)
        np.copyto(out._data, res._data, casting="unsafe")
    out._vbox[0] += 1
    return out


def outer(a, b):
    for name, t in (("self", a), ("vec2", b)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    from .._dtype import result_type
    dt = result_type(a, b)  # torch's outer is a broadcast multiply: it promotes
    return einsum("i,j->ij", a._cast(dt), b._cast(dt))


def inner(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(a.shape)} and {list(b.shape)}")
    return tensordot(a, b, ([-1], [-1]))


def kron(a, b):
    """Each element of ``a`` times the whole of ``b``: one einsum that interleaves the axes."""
    from .._dtype import result_type
    dt = result_type(a, b)
    a, b = a._cast(dt), b._cast(dt)
    n = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + tuple(a.shape))
    b = b.reshape((1,) * (n - b.ndim) + tuple(b.shape))
    sa, sb = _LETTERS[:n], _LETTERS[n:2 * n]
    res = einsum(f"{sa},{sb}->" + "".join(x + y for x, y in zip(sa, sb)), a, b)
    return res.reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))


def cross(a, b, dim=None):
    from .util import normalize_dim
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if dim is None:  # torch.cross: the first dim of size 3 (deprecated default)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    axis = normalize_dim(dim, len(shape))
    if a.shape[axis - len(shape) + a.ndim] != 3 or b.shape[axis - len(shape) + b.ndim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[axis - len(shape) + a.ndim]} and {b.shape[axis - len(shape) + b.ndim]}")
    _check_same_dtype([a, b])
    return Cross.apply(a, b, axis)
