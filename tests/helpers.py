"""The differential-test helper: run the same lambda in ember and in torch on the same NumPy
inputs, compare the outputs and every input's gradient."""
from __future__ import annotations

import contextlib

import numpy as np
import torch

import ember

TOL = {"float64": dict(rtol=1e-7, atol=1e-9), "float32": dict(rtol=1e-4, atol=1e-5),
       "float16": dict(rtol=1e-2, atol=1e-2)}


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def make_inputs(arrays, dtype=None, requires_grad=True):
    """The same arrays as (ember tensors, torch tensors); float arrays require grad."""
    ember_in, torch_in = [], []
    for a in arrays:
        a = np.asarray(a)
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype(dtype)
        rg = requires_grad and a.dtype.kind == "f"
        ember_in.append(ember.tensor(a, requires_grad=rg))
        torch_in.append(torch.tensor(a, requires_grad=rg))
    return ember_in, torch_in


def assert_close(actual, expected, dtype="float64", rtol=None, atol=None, what="value"):
    actual, expected = to_numpy(actual), to_numpy(expected)
    tol = dict(TOL[dtype])
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch's {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != torch's {expected.dtype}"
    np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=what, **tol)


def check_against_torch(fn, arrays, dtype="float64", rtol=None, atol=None, grad=True, seed=0):
    """``fn(lib, *inputs)`` with lib = ember and lib = torch: same outputs, same gradients.

    A random upstream gradient (the same for both) is backpropagated through every floating
    output, so each input's full vector-Jacobian product is compared, not just a sum.
    Returns the ember outputs.
    """
    e_in, t_in = make_inputs(arrays, dtype)
    e_out = _flatten(fn(ember, *e_in))
    t_out = _flatten(fn(torch, *t_in))
    assert len(e_out) == len(t_out)
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        assert_close(e, t, dtype, rtol, atol, what=f"output {i}")
    if not grad:
        return e_out
    rng = np.random.default_rng(seed)
    e_roots, t_roots, e_g, t_g = [], [], [], []
    for e, t in zip(e_out, t_out):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            g = rng.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype)
            e_roots.append(e)
            t_roots.append(t)
            e_g.append(ember.tensor(g))
            t_g.append(torch.tensor(g))
            assert e.requires_grad, "ember output does not require grad but torch's does"
    if not t_roots:
        return e_out
    ember.autograd.backward(e_roots, e_g)
    torch.autograd.backward(t_roots, t_g)
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not np.any(e.grad.numpy()), f"input {i}: torch has no grad"
                continue
            assert e.grad is not None, f"input {i}: ember computed no gradient"
            assert_close(e.grad, t.grad, dtype, rtol, atol, what=f"gradient of input {i}")
    return e_out


def same_error(fn, *args, match=None):
    """Both libraries raise for ``fn(lib, *args)``, with the same exception type."""
    errors = []
    for lib in (ember, torch):
        try:
            fn(lib, *args)
        except Exception as e:  # noqa: BLE001 - we compare the kinds
            errors.append(e)
        else:
            errors.append(None)
    e_err, t_err = errors
    assert t_err is not None, "torch did not raise"
    assert e_err is not None, f"ember did not raise (torch raised {type(t_err).__name__}: {t_err})"
    assert isinstance(e_err, _torch_kind(t_err)), \
        f"ember raised {type(e_err).__name__}: {e_err}; torch raised {type(t_err).__name__}: {t_err}"
    if match is not None:
        import re
        assert re.search(match, str(e_err)), f"message {str(e_err)!r} does not match {match!r}"
    return e_err


def _torch_kind(err):
    # torch's C++ errors surface as RuntimeError subclasses (IndexError, ValueError, TypeError
    # keep their Python kinds); compare on the nearest builtin kind.
    for kind in (IndexError, ValueError, TypeError, NotImplementedError, RuntimeError):
        if isinstance(err, kind):
            return kind
    return Exception


@contextlib.contextmanager
def torch_threads(n: int):
    """torch on ``n`` threads for a block: its OpenMP pool on thousands of tiny oracle calls,
    on the shared 2-core machine, costs 10-20x the work."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
