"""Large elementwise kernels. NumPy's ufuncs run on one core; above a size threshold these run the
same arithmetic in numba's parallel loops on every core (DESIGN.md: measured 2-5x faster on two
cores for 25M elements). Small or broadcasting inputs stay with NumPy, whose call overhead is lower.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import SERIAL_BELOW, parallel_kernel

# Below this many elements NumPy's (single-threaded, SIMD) ufuncs win: see _jit.SERIAL_BELOW.
PARALLEL_THRESHOLD = SERIAL_BELOW
#: The dtypes the kernels compile for (numba has no float16: those stay with NumPy).
KERNEL_DTYPES = (np.float32, np.float64)


def _parallel_ok(a, b=None):
    if not (isinstance(a, np.ndarray) and a.size >= PARALLEL_THRESHOLD
            and a.dtype in KERNEL_DTYPES and a.flags.c_contiguous):
        return False
    if b is None or np.isscalar(b):
        return True
    return (isinstance(b, np.ndarray) and b.shape == a.shape and b.dtype == a.dtype
            and b.flags.c_contiguous)


@parallel_kernel
def _exp(a, out):
    for i in numba.prange(a.size):
        out[i] = np.exp(a[i])


@parallel_kernel
def _mul(a, b, out):
    for i in numba.prange(a.size):
        out[i] = a[i] * b[i]


@parallel_kernel
def _add(a, b, out):
    for i in numba.prange(a.size):
        out[i] = a[i] + b[i]


def exp(a):
    if a.size < PARALLEL_THRESHOLD or not _parallel_ok(a):
        return np.exp(a)
    out = np.empty_like(a)
    _exp(a.reshape(-1), out.reshape(-1))
    return out


def _binary(kernel, ufunc, a, b):
    if type(a) is not np.ndarray or a.size < PARALLEL_THRESHOLD or not _parallel_ok(a, b) \
            or np.isscalar(b):
        return ufunc(a, b)
    out = np.empty_like(a)
    kernel(a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out


# mul and add test the size themselves: below the threshold (every op of a small model) the
# ufunc is called straight away, one Python call fewer on the per-op path.
def mul(a, b):
    if type(a) is np.ndarray and a.size >= PARALLEL_THRESHOLD:
        return _binary(_mul, np.multiply, a, b)
    return np.multiply(a, b)


def add(a, b):
    if type(a) is np.ndarray and a.size >= PARALLEL_THRESHOLD:
        return _binary(_add, np.add, a, b)
    return np.add(a, b)


# ---- a gradient's own copy: what a leaf's .grad keeps (autograd/engine.py) ---------------------

@parallel_kernel
def _fill(out, value):
    for i in numba.prange(out.size):
        out[i] = value


@parallel_kernel
def _copy(a, out):
    for i in numba.prange(out.size):
        out[i] = a[i]


@parallel_kernel
def _repeat_rows(row, out):
    """out[i, :] = row for every row of the 2-d ``out``."""
    for i in numba.prange(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = row[j]


def own_copy(a):
    """A new C-contiguous array equal to ``a`` (as a contiguous leaf's ``.grad`` is in torch),
    written on every core where ``a`` is a large float32/float64 array that is contiguous, one
    value broadcast (a sum's or mean's gradient is a stride-0 view of a scalar: filled, not
    read) or a contiguous block broadcast along leading dims (``sum(dim=0)``'s, a bias's:
    the block repeated; NumPy's C-order copy of such a view ran at 1/3 of the memory's speed);
    otherwise NumPy's single-threaded copy. torch's AccumulateGrad clones such gradients with
    a parallel copy too."""
    if type(a) is not np.ndarray or a.size < PARALLEL_THRESHOLD or a.dtype not in KERNEL_DTYPES:
        return np.array(a, order="C")
    lead = 0                     # leading dims along which a is broadcast
    while lead < a.ndim and a.strides[lead] == 0:
        lead += 1
    out = np.empty(a.shape, a.dtype)
    if lead == a.ndim:
        _fill(out.reshape(-1), a[(0,) * a.ndim])
    elif a.flags.c_contiguous:
        _copy(a.reshape(-1), out.reshape(-1))
    elif lead and a[(0,) * lead].flags.c_contiguous:
        block = a[(0,) * lead]
        _repeat_rows(block.reshape(-1), out.reshape(-1, block.size))
    else:
        np.copyto(out, a)
    return out


# ---- in-place updates: the optimiser's hot path (p.add_(g, alpha=-lr), p -= lr * g) -----------

@parallel_kernel
def _axpy(y, x, alpha):
    for i in numba.prange(y.size):
        y[i] += alpha * x[i]


def add_scaled_(y, x, alpha):
    """``y += alpha * x`` in y's memory, with no temporary (torch's add_(x, alpha=...)).

    One fused loop where both are contiguous, of one dtype and shape and not partly
    overlapping (NumPy buffers overlapping operands; the loop would read updated values);
    otherwise NumPy with one temporary for ``alpha * x``."""
    if (alpha != 1 and type(x) is np.ndarray and x.shape == y.shape and x.dtype == y.dtype
            and y.flags.c_contiguous and x.flags.c_contiguous and y.dtype in KERNEL_DTYPES
            and (x is y or not np.may_share_memory(x, y))):
        _axpy(y.reshape(-1), x.reshape(-1), y.dtype.type(alpha))
    elif alpha == 1:
        np.add(y, x, out=y, casting="same_kind")
    else:
        np.add(y, np.multiply(x, alpha), out=y, casting="same_kind")
    return y


@parallel_kernel
def _sgd_momentum(param, grad, buf, first, lr, momentum, dampening, nesterov, weight_decay,
                  maximize):
    for i in numba.prange(param.size):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if first:
            b = g
        else:
            b = buf[i] * momentum
            b = b + (1 - dampening) * g
        buf[i] = b
        g = g + momentum * b if nesterov else b
        param[i] = param[i] + -lr * g


def sgd_momentum_(param, grad, buf, first, lr, momentum, dampening, nesterov, weight_decay,
                  maximize):
    """One SGD-with-momentum step in place, in one pass over memory (torch's single-tensor
    SGD: ``buf = momentum * buf + (1 - dampening) * g``, then ``param -= lr * g'``), each
    operation rounded in the parameter's dtype as torch's are. ``first``: buf is filled with
    the (decayed) gradient, torch's ``clone(grad)`` at the first step. Returns False (nothing
    done) where the arrays do not fit one flat loop; the caller then takes the NumPy path."""
    if not (type(param) is np.ndarray and type(grad) is np.ndarray and type(buf) is np.ndarray
            and param.dtype in KERNEL_DTYPES and grad.dtype == param.dtype == buf.dtype
            and param.shape == grad.shape == buf.shape
            and param.flags.c_contiguous and grad.flags.c_contiguous and buf.flags.c_contiguous
            and not np.may_share_memory(param, grad) and not np.may_share_memory(param, buf)
            and not np.may_share_memory(grad, buf)):
        return False
    t = param.dtype.type
    _sgd_momentum(param.reshape(-1), grad.reshape(-1), buf.reshape(-1), bool(first), t(lr),
                  t(momentum), t(dampening), bool(nesterov), t(weight_decay), bool(maximize))
    return True
