"""torch.special: the special functions under their torch.special names (issue 11, G5).

Most are the elementwise ops of ember/_ops/pointwise.py under a second name (gammaln is lgamma,
psi is digamma, expit is sigmoid); ndtr and logit are composed of differentiable ops.
"""
from __future__ import annotations

import math

from ._ops import pointwise as _pw
from ._tensor import Tensor as _Tensor


def _method(name):
    method = getattr(_Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    return fn


erf, erfc, erfinv, expm1, exp2, digamma, i0, sinc, log1p, round, logsumexp, softmax, log_softmax = (
    _method(_n) for _n in
    "erf erfc erfinv expm1 exp2 digamma i0 sinc log1p round logsumexp softmax log_softmax".split())
psi, gammaln, expit = _method("digamma"), _method("lgamma"), _method("sigmoid")


def i1(input):
    return _pw.unary("i1", input)


def polygamma(n, input):
    return _pw.polygamma(n, input)


def xlogy(input, other):
    import ember
    return ember.xlogy(input, other)


def ndtr(input):
    """The standard normal CDF: (1 + erf(x / sqrt(2))) / 2."""
    return (1 + _pw.to_float(input).mul(1 / math.sqrt(2)).erf()) * 0.5


def logit(input, eps=None):
    return _pw.logit(input, eps)
