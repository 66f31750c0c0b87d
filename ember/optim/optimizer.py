"""Optimizer: parameter groups, per-parameter state, state_dict, as torch.optim.Optimizer.

Subclasses implement ``step()``; they update the parameters' NumPy arrays in place with ufuncs
(``out=``), outside autograd, and bump each parameter's version counter as torch's in-place ops
do, so a graph that saved a parameter before the step refuses to backpropagate through it.

The arithmetic of every update follows torch's single-tensor code path (torch/optim/*.py
``_single_tensor_*``; the one torch takes for CPU tensors) operation by operation, so that the
same start gives the same parameters after N steps. The in-place primitives that recur are
written here once, with torch's operand order (aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp,
LerpKernel.cpp):

    add_(self, other, alpha):       self + alpha * other
    addcmul_(self, t1, t2, value):  self + (value * t1) * t2
    addcdiv_(self, t1, t2, value):  self + (value * t1) / t2
    lerp_(self, end, w):            self + w * (end - self)    if w < 0.5
                                    end - (1 - w) * (end - self) otherwise

float64 results agree with torch's to the last few ulps after many steps. In float32 they agree
to about an ulp per step, not bit for bit: torch's vectorised kernels fuse ``a + b * c`` into one
rounding (FMA) and its AVX-512 ``sqrt`` is not correctly rounded, while NumPy rounds each
operation exactly. (Emulating the fused rounding costs float64 temporaries, 4x slower than
torch's SGD step; the ulp is not worth it.)

The state of parameter ``p`` lives in ``optimizer.state[p]`` (a dict of Tensors and numbers);
``state_dict()`` replaces parameters by their position, torch's layout::

    {'state': {0: {'momentum_buffer': tensor(...)}, ...},
     'param_groups': [{'lr': 0.01, ..., 'params': [0, 1, 2]}]}
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from .._dtype import float64, get_default_dtype
from .._tensor import Tensor
from .._tensor_str import typename
from ..autograd.grad_mode import enable_grad
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

#: Step hooks of every optimiser (torch.optim.optimizer's globals of the same use)
_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()

_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` runs before every
    optimiser's step (before the optimiser's own pre-hooks)."""
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs) -> None`` runs after every optimiser's step (after the
    optimiser's own post-hooks)."""
    return _add_hook(_global_optimizer_post_hooks, hook)


class _RequiredParameter:
    """Singleton marking a default that every parameter group must give (torch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# ---------------------------------------------------------------------------------------------
# Array primitives shared by the optimisers (torch's operand order, see the module docstring)
# ---------------------------------------------------------------------------------------------

def _add_(self: np.ndarray, other: np.ndarray, alpha: float = 1.0) -> None:
    """torch's ``self.add_(other, alpha=alpha)``: ``self + alpha * other``."""
    if alpha == 1:
        self += other
    else:
        self += np.multiply(other, alpha, dtype=self.dtype)


def _plus_scaled(grad: np.ndarray, param: np.ndarray, alpha: float) -> np.ndarray:
    """A new array ``grad + alpha * param`` (torch's ``grad.add(param, alpha=alpha)``)."""
    out = np.multiply(param, alpha, dtype=param.dtype)
    out += grad
    return out


def _addcmul_(self: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float,
              tmp: np.ndarray | None = None) -> None:
    """torch's ``self.addcmul_(t1, t2, value=value)``: ``self + (value * t1) * t2``.
    ``tmp``: an optional scratch array of self's shape and dtype."""
    tmp = np.multiply(t1, value, out=tmp, dtype=self.dtype)
    tmp *= t2
    self += tmp


def _addcdiv_(self: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float,
              tmp: np.ndarray | None = None) -> None:
    """torch's ``self.addcdiv_(t1, t2, value=value)``: ``self + (value * t1) / t2``."""
    tmp = np.multiply(t1, value, out=tmp, dtype=self.dtype)
    tmp /= t2
    self += tmp


def _lerp_(self: np.ndarray, end: np.ndarray, weight: float,
           tmp: np.ndarray | None = None) -> None:
    """torch's ``self.lerp_(end, weight)``, with its two branches for accuracy near each end."""
    diff = np.subtract(end, self, out=tmp)
    if weight < 0.5:
        diff *= weight
        self += diff
    else:
        diff *= weight - 1
        np.add(end, diff, out=self)


def _zeros_state(p: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros_like(p._data))


def _scalar_dtype(fused=None):
    """torch's ``_get_scalar_dtype``: the dtype of 0-d state such as ``step``: float32, or
    float64 while the default dtype is float64 (fused optimisers always use float32)."""
    if not fused and get_default_dtype() is float64:
        return np.float64
    return np.float32


def _step_tensor(value: float = 0.0, fused=None) -> Tensor:
    """A 0-d state tensor such as ``state['step']`` (torch keeps them on the CPU)."""
    return Tensor._wrap(np.array(value, dtype=_scalar_dtype(fused)))


def _bump_version(p: Tensor) -> None:
    p._vbox[0] += 1


def _scalar(x):
    """A hyperparameter as a number: a Python float stays one; a 1-element Tensor becomes a
    NumPy scalar of its dtype. torch keeps such a Tensor 0-d (``_to_scalar``), so the scalars
    derived from it (``lr / bias_correction``) round in its dtype; NumPy scalars promote
    against Python floats the same way (NEP 50)."""
    if isinstance(x, Tensor):
        return x._data.reshape(())[()]
    return x


# ---------------------------------------------------------------------------------------------
# Optimizer
# ---------------------------------------------------------------------------------------------


def _is_complex(param) -> bool:
    """A lazy module's UninitializedParameter has no values yet (reading them raises): it is
    accepted as torch accepts it, and materialised in place before the first step."""
    from ..nn.parameter import UninitializedParameter
    if isinstance(param, UninitializedParameter):
        return False
    return param._data.dtype.kind == "c"

class Optimizer:
    r"""Base class for all optimizers.

    Args:
        params (iterable): Tensors to optimise, or dicts each defining a parameter group (its
            ``'params'`` and any option that overrides ``defaults``); ``(name, tensor)`` pairs
            (``model.named_parameters()``) record the names as ``'param_names'``.
        defaults (dict): default values of the optimisation options.

    Parameters must be given in a deterministic order (a list, not a set): ``state_dict``
    identifies them by position.
    """

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs):
        # Wrap each subclass's own step() with the step hooks (torch's profile_hook_step).
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    #: Options that parameter groups saved by older torch versions lack, with the value such a
    #: group meant (each optimiser's ``__setstate__`` in torch); loading fills them in.
    _legacy_group_defaults: dict = {}
    #: Options whose value the class fixes, whatever a loaded group says (AdamW's decay).
    _fixed_group_options: dict = {}
    #: Whether ``state['step']`` is a tensor (older torch saved a number; loading converts it).
    _tensor_step: bool = False
    #: Other 0-d state entries torch keeps as tensors (NAdam's mu_product, ASGD's eta and mu).
    _tensor_scalars: tuple = ()

    def __setstate__(self, state):
        # load_state_dict and copy.deepcopy / pickle come through here
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            for key, value in self._legacy_group_defaults.items():
                group.setdefault(key, value)
            group.update(self._fixed_group_options)
            keys = (("step",) if self._tensor_step else ()) + self._tensor_scalars
            _scalars_as_tensors(self.state, group["params"], keys)

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # -- parameter groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group (a dict with ``'params'`` and optional options) to
        :attr:`param_groups`; options it leaves out take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + typename(param))
            if param.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
            if _is_complex(param):  # torch optimises them as pairs of reals
                raise TypeError("ember's optimizers do not support complex parameters "
                                f"(got a parameter of dtype {param._data.dtype})")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimised tensors: to ``None`` (default), or to zeros in
        place when ``set_to_none=False``. (A parameter whose grad is None is skipped by
        ``step()``; one whose grad is zero still takes a step, e.g. of its weight decay.)"""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g = p.grad = g.detach()
                    else:
                        g.requires_grad = False
                    g._data[...] = 0
                    g._vbox[0] += 1

    def step(self, closure=None):
        """Perform a single optimisation step; ``closure`` re-evaluates the model and returns
        the loss, for optimisers that need it."""
        raise NotImplementedError

    # -- hooks -----------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` runs before each step."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None`` runs after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer) -> None`` runs before :meth:`state_dict` builds the dict;
        ``prepend`` puts it before the hooks already registered."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None or a new state_dict`` runs on the dict
        :meth:`state_dict` returns."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None or a new state_dict`` runs on (a shallow copy
        of) the dict given to :meth:`load_state_dict` before it is read."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer) -> None`` runs after :meth:`load_state_dict`."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- state_dict ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimiser's state as ``{'state': {index: {...}}, 'param_groups': [...]}``:
        parameters are replaced by their position across all groups (torch's layout). The
        state's tensors are returned by reference, not copied, as torch does."""
        for pre_hook in tuple(self._optimizer_state_dict_pre_hooks.values()):
            pre_hook(self)
        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in tuple(self._optimizer_state_dict_post_hooks.values()):
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from :meth:`state_dict`: groups and parameters are matched by position.
        Floating-point state tensors are copied and cast to their parameter's dtype, except
        ``'step'`` (kept as saved, torch issue #74424)."""
        state_dict = state_dict.copy()  # shallow, as torch (the hooks may replace entries)
        for pre_hook in tuple(self._optimizer_load_state_dict_pre_hooks.values()):
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                array = value._data
                if key != "step" and param.dtype.is_floating_point:
                    array = array.astype(param._data.dtype)
                return Tensor._wrap(np.array(array, copy=True))
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            k = _as_index(k)
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in tuple(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)

    # -- helpers for subclasses ------------------------------------------------------------------
    @staticmethod
    def _closure_loss(closure):
        """The loss ``closure()`` returns, evaluated with grad enabled (None without a closure):
        what every ``step(closure)`` starts with."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group, maximize=None):
        """The group's parameters that have a gradient, as (param, grad array) pairs; the
        gradient negated where the group maximises (``maximize``: the group's option unless
        given), as every torch optimiser starts its step."""
        negate = group.get("maximize", False) if maximize is None else maximize
        for p in group["params"]:
            g = p.grad
            if g is not None:
                yield p, (-g._data if negate else g._data)


def _scalars_as_tensors(state, params, keys) -> None:
    """Turn numbers saved (by older torch) as a parameter's ``state['step']`` and the like into
    torch's 0-d tensors."""
    for p in params:
        p_state = state.get(p, {})
        for key in keys:
            if key in p_state and not isinstance(p_state[key], Tensor):
                p_state[key] = _step_tensor(float(p_state[key]))


def _check_lr(lr) -> None:
    """torch's checks of a learning rate: a 1-element Tensor or a number, not negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    _check_non_negative("learning rate", lr)


def _check_non_negative(what: str, value) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")


def _refuse_differentiable(differentiable) -> None:
    if differentiable:
        raise NotImplementedError("ember's optimizers are not differentiable "
                                  "(differentiable=True is not supported)")


def _check_flags(differentiable, fused=None, foreach=None) -> None:
    """The implementation switches, checked after the parameter groups as torch does: fused
    conflicts raise torch's RuntimeErrors; then differentiable=True is refused. (ember has one
    implementation: ``foreach`` and ``fused`` select nothing, and torch's fused CPU kernels
    agree with its single-tensor loop to rounding.)"""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    _refuse_differentiable(differentiable)


#: Devices torch can capture for CUDA graphs (``_get_capturable_supported_devices``)
_CAPTURABLE_DEVICES = ["cuda", "xpu", "hpu", "privateuseone", "xla"]


def _refuse_capturable(group: dict, what: str = "params and state_steps",
                       supports_xla: bool = True) -> None:
    """capturable=True is for CUDA graphs; on the CPU torch's step fails with this assertion
    (once a parameter of the group has a gradient), and so does ember's."""
    if group.get("capturable") and any(p.grad is not None for p in group["params"]):
        devices = _CAPTURABLE_DEVICES if supports_xla else _CAPTURABLE_DEVICES[:-1]
        raise AssertionError(f"If capturable=True, {what} must be on supported devices: "
                             f"{devices}.")


def _check_betas(betas) -> tuple:
    """torch's checks of Adam-like ``betas``: each in [0, 1); returned as floats."""
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    return tuple(float(_scalar(b)) for b in betas)


def _as_index(k):
    """State keys come back from a checkpoint as ints or as their decimal strings."""
    if isinstance(k, str) and k.lstrip("-").isdigit():
        return int(k)
    return k


def _add_hook(hooks: OrderedDict, hook, prepend: bool = False):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _with_step_hooks(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for pre_hook in (*_global_optimizer_pre_hooks.values(),
                         *self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("optimizer step pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for post_hook in (*self._optimizer_step_post_hooks.values(),
                          *_global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    return wrapper
