r"""Parameter initialisation, with torch.nn.init's functions, arguments and distributions.

Every function fills its tensor **in place** (writing into the tensor's own array, so views and
Parameters that share it see the values; nothing is recorded by autograd, as under ``no_grad``)
and returns it. Random ones draw from ``generator`` (an ``ember.Generator``) or from
``ember.random.default_generator``, so ``ember.manual_seed`` makes them reproducible.

Fans (:func:`_calculate_fan_in_and_fan_out`) follow torch: for a weight of shape
``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.

>>> w = ember.empty(3, 5)
>>> init.kaiming_uniform_(w, a=math.sqrt(5))   # Linear's default: U(-1/sqrt(5), 1/sqrt(5))
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor, where
from ..autograd.grad_mode import no_grad

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
]

# ---------------------------------------------------------------------------------------------
# Where the numbers come from: the tensor's own in-place fills (torch's streams, bit for bit)
# ---------------------------------------------------------------------------------------------

def _write(tensor, values):
    """``tensor.copy_(values)`` under no_grad: into the tensor's own array, cast to its dtype,
    bumping its version counter as torch's in-place fills do; returns the tensor."""
    with no_grad():
        tensor.copy_(Tensor._wrap(np.asarray(values)))
    return tensor


def _uniform(tensor, a: float, b: float, generator):
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def _normal(tensor, mean: float, std: float, generator):
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


# ---------------------------------------------------------------------------------------------
# Gains and fans
# ---------------------------------------------------------------------------------------------

def calculate_gain(nonlinearity, param=None):
    r"""The recommended gain for a nonlinearity (torch's table).

    =================  ===================================================
    nonlinearity       gain
    =================  ===================================================
    Linear / Identity  :math:`1`
    Conv{1,2,3}D       :math:`1`
    Sigmoid            :math:`1`
    Tanh               :math:`\frac{5}{3}`
    ReLU               :math:`\sqrt{2}`
    Leaky Relu         :math:`\sqrt{\frac{2}{1 + \text{negative\_slope}^2}}`
    SELU               :math:`\frac{3}{4}`
    =================  ===================================================

    >>> calculate_gain("leaky_relu", 0.2)  # negative_slope=0.2
    1.3867504905630728
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``: in/out times the
    receptive field size ``prod(kernel)``."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    shape = tuple(tensor.shape)
    receptive_field_size = math.prod(shape[2:])
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor, mode: str) -> int:
    """``fan_in`` or ``fan_out`` as ``mode`` says (case-insensitive)."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ---------------------------------------------------------------------------------------------
# Plain distributions and constants
# ---------------------------------------------------------------------------------------------

def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    r"""Fill with values drawn from :math:`\mathcal{U}(a, b)` (``a <= x < b``)."""
    return _uniform(tensor, a, b, generator)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    r"""Fill with values drawn from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`."""
    return _normal(tensor, mean, std, generator)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    r"""Fill with values from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to
    :math:`[a, b]` (values outside are redrawn).

    As torch (init.py's ``_no_grad_trunc_normal_``), drawing in its order: when the interval
    holds more than 30% of the mass, the whole tensor is drawn from the normal and, while any
    value is out of range, a whole fresh tensor is drawn and used where the old one was out;
    otherwise candidates are drawn uniformly on [a, b] and accepted where
    :math:`\log u \le -\tfrac12 z^2 - \log\text{peak}`, :math:`z = (x - \text{mean})/\text{std}`,
    redrawing (candidates, then acceptance uniforms, whole tensors) where still pending."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    from .. import _creation
    with no_grad():
        mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
        if mass > 0.3:
            lo, hi = (float(np.asarray(v, dtype=tensor._data.dtype)) for v in (a, b))
            result = tensor.normal_(mean, std, generator=generator)
            while True:
                mask = (result < lo) | (result > hi)
                if not mask.any():
                    break
                fresh = _creation.empty_like(result).normal_(mean, std, generator=generator)
                result = where(mask, fresh, result)
            if tensor is not result:
                tensor.copy_(result)
            return tensor
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        accept_buf = _creation.empty_like(tensor)
        tensor.uniform_(a, b, generator=generator)
        log_accept = _log_acceptance(tensor, mean, std, log_peak)
        pending = accept_buf.uniform_(generator=generator).log_().gt(log_accept)._data
        if pending.any():
            result = tensor._data.copy()
            candidates = _creation.empty_like(tensor)
            while True:
                candidates.uniform_(a, b, generator=generator)
                result = np.where(pending, candidates._data, result)
                log_accept = _log_acceptance(candidates, mean, std, log_peak)
                redraw = accept_buf.uniform_(generator=generator).log_().gt(log_accept)._data
                pending = np.where(pending, redraw, pending)
                if not pending.any():
                    break
            tensor.copy_(Tensor._wrap(result))
        return tensor


def _log_acceptance(x, mean, std, log_peak):
    """torch's ``candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)``, in the
    tensor's dtype, one rounding per step."""
    return (((x - mean) / std) ** 2 * -0.5) - log_peak


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def constant_(tensor, val: float):
    r"""Fill with the value ``val``."""
    return _write(tensor, val)


def ones_(tensor):
    r"""Fill with the scalar value 1."""
    return _write(tensor, 1.0)


def zeros_(tensor):
    r"""Fill with the scalar value 0."""
    return _write(tensor, 0.0)


def eye_(tensor):
    r"""Fill a 2-d tensor with the identity matrix (ones on the main diagonal of a rectangle):
    a Linear layer initialised so keeps as many inputs as it can."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor._data.shape))


def dirac_(tensor, groups: int = 1):
    r"""Fill a {3, 4, 5}-d conv weight ``(out, in, *kernel)`` with the Dirac delta: output
    channel ``g * out/groups + d`` copies input channel ``d`` at the kernel's centre, so a
    convolution keeps as many input channels as it can (per group)."""
    dimensions = tensor.dim()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    values = np.zeros(sizes)
    centre = tuple(s // 2 for s in sizes[2:])
    d = np.arange(min_dim)
    for g in range(groups):
        values[(g * out_chans_per_grp + d, d, *centre)] = 1
    return _write(tensor, values)


# ---------------------------------------------------------------------------------------------
# Scaled initialisations (Glorot, He, Saxe, Martens)
# ---------------------------------------------------------------------------------------------

def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    r"""Glorot & Bengio (2010): :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # the uniform distribution on [-a, a] has this std
    return _uniform(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    r"""Glorot & Bengio (2010): :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    r"""He et al. (2015): :math:`\mathcal{U}(-\text{bound}, \text{bound})` with
    :math:`\text{bound} = \text{gain} \sqrt{3 / \text{fan\_mode}}`, ``gain =
    calculate_gain(nonlinearity, a)``. ``a`` is the leaky ReLU's negative slope.

    With ``a=math.sqrt(5)`` (Linear's and Conv's default) the bound is ``1/sqrt(fan_in)``."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std  # torch's rounding order: the bound to the last bit
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    r"""He et al. (2015): :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} / \sqrt{\text{fan\_mode}}`."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return _normal(tensor, 0.0, gain / math.sqrt(fan), generator)


def orthogonal_(tensor, gain: float = 1, generator=None):
    r"""Saxe et al. (2013): a (semi-)orthogonal matrix times ``gain``; dims after the first are
    flattened. It is the Q of a Gaussian matrix's QR decomposition with the signs of R's
    diagonal folded in, which makes it uniformly (Haar) distributed."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = Tensor._wrap(np.empty((rows, cols), dtype=tensor._data.dtype))
    flattened = _normal(flattened, 0.0, 1.0, generator)._data
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tensor._data.shape))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    r"""Martens (2010): a 2-d tensor drawn from :math:`\mathcal{N}(0, \text{std}^2)` with
    ``ceil(sparsity * rows)`` entries of every column set to zero, at random rows."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    from .._creation import randperm
    _normal(tensor, 0.0, std, generator)
    values = tensor._data.copy()
    for col_idx in range(cols):
        # torch draws these permutations from the default generator, not ``generator``
        zero_rows = randperm(rows)._data[:num_zeros]
        values[zero_rows, col_idx] = 0
    return _write(tensor, values)


# ---------------------------------------------------------------------------------------------
# torch's deprecated spellings without the trailing underscore
# ---------------------------------------------------------------------------------------------

def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use :func:`{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
