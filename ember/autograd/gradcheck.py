"""Finite-difference gradient check (central differences in float64), as torch.autograd.gradcheck."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    from .._tensor import Tensor

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **kwargs) -> bool:
    """Compare autograd's Jacobian of ``func`` with central finite differences.

    Every floating-point input that requires grad must be float64 (as torch warns, float32
    differences are too coarse). Returns True, or raises GradcheckError naming the first
    mismatching (output, input) pair.
    """
    from .._tensor import Tensor
    from . import grad as autograd_grad
    from .grad_mode import no_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none "
                         "of the them have requires_grad=True.")
    for i in diff:
        if inputs[i]._data.dtype != np.float64:
            raise GradcheckError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs "
                                 "(finite differences in single precision are not accurate enough)")

    outputs = _outputs(func, inputs)
    for o_idx, out in enumerate(outputs):
        n_out = out._data.size
        for i in diff:
            x = inputs[i]
            analytic = np.zeros((x._data.size, n_out))
            numeric = np.zeros((x._data.size, n_out))
            # analytic Jacobian, one output element at a time (reverse mode: a row per element)
            for k in range(n_out):
                go = np.zeros(out._data.shape)
                go.reshape(-1)[k] = 1.0
                out_k = _outputs(func, inputs)[o_idx]
                if not out_k.requires_grad:
                    break
                (g,) = autograd_grad(out_k, x, grad_outputs=Tensor._wrap(go), allow_unused=True)
                if g is not None:
                    analytic[:, k] = g._data.reshape(-1)
            # numeric Jacobian by central differences, perturbing x's memory in place
            for j in range(x._data.size):
                pos = np.unravel_index(j, x._data.shape)  # works for non-contiguous inputs too
                orig = x._data[pos]
                with no_grad():
                    x._data[pos] = orig + eps
                    plus = _outputs(func, inputs)[o_idx]._data.reshape(-1).astype(np.float64)
                    x._data[pos] = orig - eps
                    minus = _outputs(func, inputs)[o_idx]._data.reshape(-1).astype(np.float64)
                x._data[pos] = orig
                numeric[j] = (plus - minus) / (2 * eps)
            if not np.allclose(analytic, numeric, rtol=rtol, atol=atol, equal_nan=True):
                if not raise_exception:
                    return False
                worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), analytic.shape)
                raise GradcheckError(
                    f"Jacobian mismatch for output {o_idx} with respect to input {i},\n"
                    f"numerical:{numeric}\nanalytical:{analytic}\n"
                    f"largest difference at (input element {worst[0]}, output element {worst[1]}): "
                    f"numerical {numeric[worst]:.6g} vs analytical {analytic[worst]:.6g}")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False) -> bool:
    """Check second derivatives, as torch.autograd.gradgradcheck: gradcheck of the function
    (inputs, grad_outputs) -> d(<outputs, grad_outputs>)/d(inputs), taken with create_graph.
    ``grad_outputs`` default to random float64 tensors that require grad."""
    from .._tensor import Tensor
    from . import grad as autograd_grad
    from .grad_mode import enable_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(Tensor._wrap(rng.standard_normal(o._data.shape)).requires_grad_()
                             for o in outputs)
    else:
        grad_outputs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) \
            else (grad_outputs,)
    n_in = len(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        # recorded even while gradcheck perturbs the inputs under no_grad
        with enable_grad():
            return _first_derivatives(args)

    def _first_derivatives(args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _outputs(func, ins)
        pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
        grads = autograd_grad([o for o, _ in pairs], [ins[i] for i in diff],
                              [g for _, g in pairs], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
