"""Module: the registries every layer is built on, with torch.nn.Module's semantics.

A Module keeps three ordered registries that ``__setattr__`` fills as torch does
(torch/nn/modules/module.py):

- ``_parameters``: assigning a :class:`Parameter` registers it;
- ``_buffers``: tensors registered with :meth:`Module.register_buffer` (persistent ones are part
  of the ``state_dict``; the names of the others are in ``_non_persistent_buffers_set``);
- ``_modules``: assigning a Module registers it as a child.

Everything else - ``parameters()``, ``state_dict()``, ``train()``, ``to()``, ``repr`` - walks these
registries. ``__call__`` runs the forward pre-hooks, ``forward`` and the forward hooks.

Example::

    >>> class TwoLayer(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(ember.randn(3, 2))
    ...         self.register_buffer("steps", ember.zeros(()))
    ...     def forward(self, x):
    ...         return x @ self.w
    >>> list(TwoLayer().state_dict())
    ['w', 'steps']
"""
from __future__ import annotations

import functools
import itertools
import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ... import _dtype
from ..._size import Size
from ..parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from ..._device import _check_device
from ..._tensor import Tensor
from ..._tensor_str import typename
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...utils.hooks import RemovableHandle

# (torch.nn.modules.module's register_module_* functions live here too, but torch.nn does not
# re-export them: they stay out of __all__, which ember.nn's modules package star-imports)
__all__ = ["Module", "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the ones it did not expect."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s_: str, num_spaces: int) -> str:
    """Indent every line but the first by ``num_spaces`` (blank lines stay empty), for reprs."""
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    first = lines.pop(0)
    return first + "\n" + "\n".join((num_spaces * " ") + line if line.strip() else "" for line in lines)


def _is_tensor_like(x) -> bool:
    """What ``load_state_dict`` accepts as a value: ember Tensors, NumPy arrays and anything
    NumPy can read as an array without copying semantics surprises (e.g. a CPU torch tensor)."""
    return isinstance(x, (Tensor, np.ndarray, np.generic)) or hasattr(x, "__array__")


def _as_array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _parse_to(args, kwargs):
    """The (device, dtype) asked for by ``Module.to``'s forms: ``to(device=None, dtype=None,
    non_blocking=False)``, ``to(dtype)``, ``to(tensor)``, ``to(memory_format=...)``."""
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    kwargs.pop("copy", None)
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to() received an invalid combination of arguments - got unexpected "
                        f"keyword argument '{next(iter(kwargs))}'")
    args = list(args)
    if args and isinstance(args[0], Tensor):
        t = args.pop(0)
        dtype = dtype or t.dtype
    elif args and _looks_like_dtype(args[0]):
        dtype = args.pop(0)
    elif args:
        device = args.pop(0)
        if args and _looks_like_dtype(args[0]):
            dtype = args.pop(0)
    if args and isinstance(args[0], bool):  # non_blocking
        args.pop(0)
    if args:
        raise TypeError(f"to() received an invalid combination of arguments - got {tuple(args)!r}")
    _check_device(device)
    return device, (None if dtype is None else _dtype.as_dtype(dtype))


def _looks_like_dtype(x) -> bool:
    """An ember dtype, or a NumPy dtype/type ember knows (a string is a device, as in torch)."""
    if isinstance(x, _dtype.dtype):
        return True
    if isinstance(x, (str, int, float)) or x is None:
        return False
    try:
        _dtype.as_dtype(x)
        return True
    except (TypeError, KeyError):
        return False


# ---------------------------------------------------------------------------------------------
# Hooks common to all modules (torch.nn.modules.module's globals, for debugging and profiling)
# ---------------------------------------------------------------------------------------------

_global_buffer_registration_hooks: dict = OrderedDict()
_global_module_registration_hooks: dict = OrderedDict()
_global_parameter_registration_hooks: dict = OrderedDict()
_global_backward_pre_hooks: dict = OrderedDict()
_global_backward_hooks: dict = OrderedDict()
_global_is_full_backward_hook: bool | None = None
_global_forward_pre_hooks: dict = OrderedDict()
_global_forward_hooks: dict = OrderedDict()
_global_forward_hooks_always_called: dict = OrderedDict()
_global_forward_hooks_with_kwargs: dict = OrderedDict()


def _register_global(hooks: dict, hook, extra=None) -> RemovableHandle:
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    return handle


def register_module_buffer_registration_hook(hook) -> RemovableHandle:
    r"""``hook(module, name, buffer) -> None or new buffer`` runs whenever any module registers
    a buffer."""
    return _register_global(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook) -> RemovableHandle:
    r"""``hook(module, name, submodule) -> None or new submodule`` runs whenever any module
    registers a child."""
    return _register_global(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook) -> RemovableHandle:
    r"""``hook(module, name, param) -> None or new parameter`` runs whenever any module
    registers a parameter."""
    return _register_global(_global_parameter_registration_hooks, hook)


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    r"""A forward pre-hook for every module (``hook(module, args)``), run before the module's
    own pre-hooks."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    r"""A forward hook for every module (``hook(module, args, output)``), run before the
    module's own forward hooks."""
    handle = _register_global(_global_forward_hooks, hook,
                              extra=_global_forward_hooks_always_called)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def _set_global_backward_kind(full: bool) -> None:
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = full


def register_module_backward_hook(hook) -> RemovableHandle:
    r"""The legacy backward hook for every module (deprecated for
    :func:`register_module_full_backward_hook`)."""
    _set_global_backward_kind(full=False)
    return _register_global(_global_backward_hooks, hook)


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    r"""A backward pre-hook for every module (``hook(module, grad_output)``), run before the
    module's own."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    r"""A full backward hook for every module (``hook(module, grad_input, grad_output)``), run
    before the module's own."""
    _set_global_backward_kind(full=True)
    return _register_global(_global_backward_hooks, hook)


class _WrappedHook:
    """A hook that is given the module (held weakly) as its first argument when ``module`` is
    set (torch.nn.modules.module._WrappedHook)."""

    def __init__(self, hook, module=None):
        self.hook = hook
        functools.update_wrapper(self, hook)
        self.with_module = module is not None
        if self.with_module:
            self.module = weakref.ref(module)

    def __call__(self, *args, **kwargs):
        if self.with_module:
            module = self.module()
            if module is None:
                raise RuntimeError("You are trying to call the hook of a dead Module!")
            return self.hook(module, *args, **kwargs)
        return self.hook(*args, **kwargs)

    def __getstate__(self) -> dict:
        # a weak reference cannot be pickled: the module goes in as itself
        result = {"hook": self.hook, "with_module": self.with_module}
        if self.with_module:
            result["module"] = self.module()
        return result

    def __setstate__(self, state: dict):
        self.hook = state["hook"]
        self.with_module = state["with_module"]
        if self.with_module:
            if state["module"] is None:
                raise RuntimeError("You are trying to revive the hook of a dead Module!")
            self.module = weakref.ref(state["module"])


class _ReturningStateDictHook:
    """A state_dict post-hook registered with the private ``_register_state_dict_hook``: its
    return value, if any, replaces the state_dict."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, *args):
        return self.hook(*args)


# ---------------------------------------------------------------------------------------------
# Full backward hooks (torch.utils.hooks.BackwardHook)
# ---------------------------------------------------------------------------------------------

class _BackwardHookFunction(Function):
    """The identity on a module's tensor inputs (or outputs), recorded as one node, so that
    one backward call sees all their gradients at once and hands them to ``callback``.

    Arguments: ``callback(grads) -> grads`` (tuples of Tensors or None), a mask of which tensors
    require grad (the others are marked non-differentiable), ``materialize`` (give zeros, not
    None, for the tensors no gradient reached: torch's input side sees zeros, its output side
    None), then the arrays."""

    name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, callback, requires, materialize, *arrays):
        ctx.mark_non_differentiable(*[a for a, r in zip(arrays, requires) if not r])
        ctx.callback, ctx.materialize = callback, materialize
        return arrays

    @staticmethod
    def backward(ctx, *grads):
        if ctx.materialize:
            grads = [np.zeros(shape, dtype) if g is None else g
                     for g, (shape, dtype) in zip(grads, ctx._out_meta)]
        wrap = Tensor._wrap
        res = ctx.callback(tuple(None if g is None else wrap(g) for g in grads))
        return (None, None, None, *(None if g is None else _as_array(g) for g in res))

    @staticmethod
    def backward_graph(ctx, *grads):  # create_graph=True: the hooks see recorded Tensors
        return (None, None, None, *ctx.callback(grads))


# the backward sees the gradients as they arrive: None where none reached an output
_BackwardHookFunction._node_cls._materialize_grads = False


class _BackwardHook:
    """Calls a module's full backward (pre-)hooks (torch.utils.hooks.BackwardHook).

    ``setup_input_hook`` and ``setup_output_hook`` pass the module's tensor inputs and outputs
    through ``_BackwardHookFunction``. In backward, the output node runs first: it records
    ``grad_output`` (None for non-Tensor outputs and outputs no gradient reached), runs the
    pre-hooks, which may replace it; the input node then calls the hooks with ``grad_input``
    (None for non-Tensor arguments); a hook may return a new ``grad_input``."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    def _input_callback(self, grad_input):
        """The input node's backward: call the hooks once both sides' gradients are known."""
        if self.grad_outputs is None:
            return grad_input  # gradient reached the inputs without passing the outputs
        res = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def _output_callback(self, grad_output):
        """The output node's backward: record grad_output and run the pre-hooks."""
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output,
                                                 self.n_outputs)
        if self.user_pre_hooks:
            expected_len = len(self.grad_outputs)
            for user_pre_hook in self.user_pre_hooks:
                hook_grad_outputs = user_pre_hook(self.module, self.grad_outputs)
                if hook_grad_outputs is None:
                    continue
                if len(hook_grad_outputs) != expected_len:
                    raise RuntimeError("Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(hook_grad_outputs)}, but expected "
                                       f"{expected_len}")
                self.grad_outputs = hook_grad_outputs
        local_grad_outputs = self.grad_outputs
        if self.input_tensors_index is None:  # no input requires grad: the hooks fire here
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            grad_inputs = self._pack_with_none([], [], self.n_inputs)
            for user_hook in self.user_hooks:
                res = user_hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple)
                                            and all(el is None for el in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return tuple(local_grad_outputs[i] for i in self.output_tensors_index)

    def _apply_on_tensors(self, callback, args, materialize):
        tensors_idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in tensors_idx]
        if not (any(t.requires_grad for t in tensors) and is_grad_enabled()):
            return args, None
        requires = tuple(t.requires_grad for t in tensors)
        new_tensors = _BackwardHookFunction.apply(callback, requires, materialize, *tensors)
        arg_list = list(args)
        for idx, val in zip(tensors_idx, new_tensors):
            arg_list[idx] = val
        out = tuple(arg_list) if type(args) is tuple else type(args)(*arg_list)
        return out, tensors_idx

    def setup_input_hook(self, args):
        res, input_idx = self._apply_on_tensors(self._input_callback, args, True)
        self.n_inputs = len(args)
        self.input_tensors_index = input_idx
        return res

    def setup_output_hook(self, args):
        is_tuple = isinstance(args, tuple)
        if not is_tuple:
            args = (args,)
        res, output_idx = self._apply_on_tensors(self._output_callback, args, False)
        self.n_outputs = len(args)
        self.output_tensors_index = output_idx
        return res if is_tuple else res[0]


# ---------------------------------------------------------------------------------------------
# Module
# ---------------------------------------------------------------------------------------------

def _module_registration_hooks(parent, name, module):
    """The child to register after the global module-registration hooks had their say."""
    for hook in _global_module_registration_hooks.values():
        output = hook(parent, name, module)
        if output is not None:
            module = output
    return module


def _forward_unimplemented(self, *input):
    r"""Define the computation performed at every call. Should be overridden by all subclasses."""
    raise NotImplementedError(
        f'Module [{type(self).__name__}] is missing the required "forward" function')


class Module:
    r"""Base class for all neural network modules (torch.nn.Module).

    Subclasses call ``super().__init__()`` first, then assign Parameters, buffers and
    sub-Modules as attributes, and implement ``forward``. Calling the module runs the forward
    pre-hooks, ``forward`` and the forward hooks.
    """

    _version: int = 1  # saved in the state_dict's metadata; layers bump it when their keys change
    training: bool

    def __init__(self, *args, **kwargs) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        # object.__setattr__ skips Module.__setattr__: these are the registries themselves.
        setattr_ = super().__setattr__
        setattr_("training", True)
        setattr_("_parameters", {})
        setattr_("_buffers", {})
        setattr_("_non_persistent_buffers_set", set())
        setattr_("_backward_pre_hooks", OrderedDict())
        setattr_("_backward_hooks", OrderedDict())
        setattr_("_is_full_backward_hook", None)
        setattr_("_forward_hooks", OrderedDict())
        setattr_("_forward_hooks_with_kwargs", OrderedDict())
        setattr_("_forward_hooks_always_called", OrderedDict())
        setattr_("_forward_pre_hooks", OrderedDict())
        setattr_("_forward_pre_hooks_with_kwargs", OrderedDict())
        setattr_("_state_dict_hooks", OrderedDict())
        setattr_("_state_dict_pre_hooks", OrderedDict())
        setattr_("_load_state_dict_pre_hooks", OrderedDict())
        setattr_("_load_state_dict_post_hooks", OrderedDict())
        setattr_("_modules", {})

    forward = _forward_unimplemented

    # -- registration --------------------------------------------------------------------------
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        r"""Add a buffer: module state that is not a parameter (e.g. BatchNorm's running mean).

        Persistent buffers are part of :meth:`state_dict`; ``tensor=None`` registers the name
        but leaves it out of the ``state_dict``."""
        self._check_new_name("buffer", "_buffers", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
                            "(ember Tensor or None required)")
        for hook in _global_buffer_registration_hooks.values():
            output = hook(self, name, tensor)
            if output is not None:
                tensor = output
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        r"""Add a parameter, accessible as an attribute; ``None`` registers the name only."""
        self._check_new_name("parameter", "_parameters", name)
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{typename(param)}' object to parameter '{name}' "
                            "(ember.nn.Parameter or None required)")
        elif param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method.")
        else:
            for hook in _global_parameter_registration_hooks.values():
                output = hook(self, name, param)
                if output is not None:
                    param = output
            self._parameters[name] = param

    def _check_new_name(self, kind: str, registry: str, name) -> None:
        """What register_buffer and register_parameter require of a name, with torch's
        messages: Module.__init__ has run, a string without dots, not empty, not taken by an
        attribute other than an entry of ``registry``."""
        if registry not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {typename(name)}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")

    def add_module(self, name: str, module: Module | None) -> None:
        r"""Add a child module, accessible as an attribute with the given name."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = _module_registration_hooks(self, name, module)

    def register_module(self, name: str, module: Module | None) -> None:
        r"""Alias for :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``''`` is the module itself)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Replace (or, unless ``strict``, add) the submodule at the dotted path ``target``."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        if strict and not hasattr(parent, atoms[-1]):
            raise AttributeError(parent._get_name() + " has no attribute `" + atoms[-1] + "`")
        if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), Module):
            raise AttributeError("`" + atoms[-1] + "` is not an nn.Module")
        setattr(parent, atoms[-1], module)

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path ``target`` (e.g. ``'net.0.weight'``)."""
        module_path, _, param_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, param_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + param_name + "`")
        param = getattr(mod, param_name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + param_name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target``."""
        module_path, _, buffer_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, buffer_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + buffer_name + "`")
        buffer = getattr(mod, buffer_name)
        if buffer_name not in mod._buffers:
            raise AttributeError("`" + buffer_name + "` is not a buffer")
        return buffer

    def get_extra_state(self):
        """Override with :meth:`set_extra_state` to put non-tensor state in the state_dict."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called.")

    def set_extra_state(self, state) -> None:
        """Override with :meth:`get_extra_state` to restore non-tensor state."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called.")

    # -- attribute access ----------------------------------------------------------------------
    def __getattr__(self, name: str):
        # Only reached when normal lookup fails, i.e. for registered names.
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_buffers" in d and name in d["_buffers"]:
            return d["_buffers"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        def remove_from(*dicts_or_sets):
            for d in dicts_or_sets:
                if name in d:
                    if isinstance(d, dict):
                        del d[name]
                    else:
                        d.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(self.__dict__, self._buffers, self._modules,
                        self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{typename(value)}' as parameter '{name}' "
                                "(ember.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = self.__dict__.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(self.__dict__, self._parameters, self._buffers,
                            self._non_persistent_buffers_set)
                modules[name] = _module_registration_hooks(self, name, value)
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{typename(value)}' as child module "
                                    f"'{name}' (ember.nn.Module or None expected)")
                modules[name] = _module_registration_hooks(self, name, value)
            else:
                buffers = self.__dict__.get("_buffers")
                if isinstance(value, Buffer) or (buffers is not None and name in buffers):
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{typename(value)}' as buffer '{name}' "
                                        "(ember.nn.Buffer, ember.Tensor or None expected)")
                    if isinstance(value, Buffer):
                        persistent = value.persistent
                    else:
                        persistent = name not in self._non_persistent_buffers_set
                    self.register_buffer(name, value, persistent)
                else:
                    super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            super().__delattr__(name)

    def __dir__(self):
        keys = (dir(self.__class__) + list(self.__dict__) + list(self._parameters)
                + list(self._modules) + list(self._buffers))
        return sorted(key for key in keys if not key[0].isdigit())  # not valid Python names

    # -- iteration over the tree ---------------------------------------------------------------
    def _named_members(self, get_members_fn, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, member) over this module's (and, if ``recurse``, its
        descendants') members; a member shared between modules comes once if
        ``remove_duplicate``."""
        memo = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True):
        r"""An iterator over the parameters (of the submodules too, if ``recurse``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        r"""An iterator over ``(dotted name, Parameter)`` pairs."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix=prefix,
                                       recurse=recurse, remove_duplicate=remove_duplicate)

    def buffers(self, recurse: bool = True):
        r"""An iterator over the buffers (of the submodules too, if ``recurse``)."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        r"""An iterator over ``(dotted name, buffer)`` pairs."""
        yield from self._named_members(lambda m: m._buffers.items(), prefix=prefix,
                                       recurse=recurse, remove_duplicate=remove_duplicate)

    def children(self):
        r"""An iterator over the immediate child modules."""
        for _, module in self.named_children():
            yield module

    def named_children(self):
        r"""An iterator over ``(name, child module)`` pairs; a child registered twice comes once."""
        memo = set()
        for name, module in self._modules.items():
            if module is not None and module not in memo:
                memo.add(module)
                yield name, module

    def modules(self, remove_duplicate: bool = True):
        r"""An iterator over all modules of the tree, this one first."""
        for _, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        r"""An iterator over ``(dotted name, module)`` of the tree, depth first, this one as
        ``prefix``; a module reachable twice comes once if ``remove_duplicate``."""
        if memo is None:
            memo = set()
        if self not in memo:
            if remove_duplicate:
                memo.add(self)
            yield prefix, self
            for name, module in self._modules.items():
                if module is None:
                    continue
                submodule_prefix = prefix + ("." if prefix else "") + name
                yield from module.named_modules(memo, submodule_prefix, remove_duplicate)

    # -- modes and gradients -------------------------------------------------------------------
    def train(self, mode: bool = True):
        r"""Set training mode (``mode=True``) or evaluation mode on this module and its
        descendants; returns ``self``."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        r"""Set evaluation mode: ``self.train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        r"""Set ``requires_grad`` on every parameter (e.g. to freeze part of a model)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        r"""Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad = p.grad.detach()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def apply(self, fn):
        r"""Call ``fn`` on every submodule (children first) and then on ``self``; returns ``self``.

        Typical use: ``model.apply(init_weights)``."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype / device conversion -------------------------------------------------------------
    def _apply(self, fn, recurse: bool = True):
        """Replace every parameter's and buffer's tensor by ``fn(tensor)``.

        Parameters keep their identity (an optimizer holding them stays valid): as torch's default
        ``param.data = fn(param)`` path, only the array underneath is swapped, and so is the
        gradient's. Buffers are replaced by the new tensors."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for param in self._parameters.values():
            if param is None:
                continue
            if is_lazy(param):  # it keeps waiting for its shape, in the new dtype
                param.data = fn(param.data)
                continue
            with no_grad():
                param.data = fn(param)
                if param.grad is not None:
                    param.grad.data = fn(param.grad)
        for key, buf in self._buffers.items():
            if buf is not None and is_lazy(buf):
                buf.data = fn(buf.data)
            elif buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def to(self, *args, **kwargs):
        r"""Cast floating-point parameters and buffers to ``dtype`` and/or move them to ``device``
        (``'cpu'`` only): ``to(dtype)``, ``to(device, dtype=None)``, ``to(tensor)``.

        Integer parameters and buffers keep their dtype, as in torch."""
        device, dtype = _parse_to(args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dtype}")
        if dtype is None:
            return self
        return self._apply(functools.partial(_cast_if_floating, dtype=dtype))

    def cpu(self):
        r"""Move parameters and buffers to the CPU: a no-op, ember computes there."""
        return self

    def cuda(self, device=None):
        """Not available: ember runs on the CPU only (RuntimeError)."""
        _check_device("cuda")

    def type(self, dst_type):
        r"""Cast all parameters and buffers (integer ones too) to ``dst_type``."""
        dtype = _dtype.as_dtype(dst_type)
        return self._apply(lambda t: _cast(t, dtype))

    def float(self):
        r"""Cast floating-point parameters and buffers to float32."""
        return self._apply(functools.partial(_cast_if_floating, dtype=_dtype.float32))

    def double(self):
        r"""Cast floating-point parameters and buffers to float64."""
        return self._apply(functools.partial(_cast_if_floating, dtype=_dtype.float64))

    def half(self):
        r"""Cast floating-point parameters and buffers to float16."""
        return self._apply(functools.partial(_cast_if_floating, dtype=_dtype.float16))

    def share_memory(self):
        return self

    # -- hooks and calling ---------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False):
        r"""Register ``hook(module, args) -> None or new args`` to run before ``forward``
        (``hook(module, args, kwargs) -> None or (args, kwargs)`` if ``with_kwargs``).

        A single returned value that is not a tuple is wrapped into one. Returns a
        :class:`RemovableHandle`."""
        handle = RemovableHandle(self._forward_pre_hooks,
                                 extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        r"""Register ``hook(module, args, output) -> None or new output`` to run after
        ``forward`` (``hook(module, args, kwargs, output)`` if ``with_kwargs``); with
        ``always_call`` it also runs when ``forward`` raises. Returns a :class:`RemovableHandle`."""
        handle = RemovableHandle(self._forward_hooks, extra_dict=[
            self._forward_hooks_with_kwargs, self._forward_hooks_always_called])
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        r"""Register ``hook(module, grad_output) -> None or new grad_output``, run when the
        gradients with respect to the module's outputs are known, before the module's own
        backward; ``grad_output`` is a tuple with None for non-Tensor outputs and for outputs no
        gradient reached. Returns a :class:`RemovableHandle`."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook):
        r"""The legacy backward hook (deprecated for :meth:`register_full_backward_hook`):
        ``hook(module, grad_input, grad_output)`` on the ``grad_fn`` of the output, so
        ``grad_input`` are the gradients of that last operation's tensor inputs (ember's graph
        nodes, which may differ from torch's: e.g. Linear's weight gradient is not transposed)."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = False
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False):
        r"""Register ``hook(module, grad_input, grad_output) -> None or new grad_input``, run
        when the gradients with respect to the module's positional inputs are computed (or, if
        no input requires grad, with respect to its outputs, with a warning).

        ``grad_input`` has one entry per positional argument (None for non-Tensors),
        ``grad_output`` one per output. The module's forward sees, and its caller gets, new
        tensors for the inputs and outputs (an identity node records where the gradients
        are). Returns a :class:`RemovableHandle`."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = True
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def _get_backward_hooks(self):
        """(full backward hooks, legacy backward hooks): the global ones first."""
        full, legacy = [], []
        if _global_is_full_backward_hook is True:
            full += _global_backward_hooks.values()
        if self._is_full_backward_hook is True:
            full += self._backward_hooks.values()
        if _global_is_full_backward_hook is False:
            legacy += _global_backward_hooks.values()
        if self._is_full_backward_hook is False:
            legacy += self._backward_hooks.values()
        return full, legacy

    def _get_backward_pre_hooks(self):
        return [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]

    def _maybe_warn_non_full_backward_hook(self, inputs, result, grad_fn) -> None:
        """torch's FutureWarnings where the legacy hook's grad_input/grad_output are incomplete."""
        def warn(what):
            warnings.warn(what, FutureWarning, stacklevel=3)

        if not isinstance(result, Tensor):
            if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
                return warn("Using non-full backward hooks on a Module that does not return a "
                            "single Tensor or a tuple of Tensors is deprecated and will be "
                            "removed in future versions. This hook will be missing some of the "
                            "grad_output. Please use register_full_backward_hook to get the "
                            "documented behavior.")
        else:
            result = (result,)
        if not isinstance(inputs, Tensor):
            if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
                return warn("Using non-full backward hooks on a Module that does not take as "
                            "input a single Tensor or a tuple of Tensors is deprecated and will "
                            "be removed in future versions. This hook will be missing some of "
                            "the grad_input. Please use register_full_backward_hook to get the "
                            "documented behavior.")
        else:
            inputs = (inputs,)
        out_grad_fn = {r.grad_fn for r in result if r.grad_fn is not None}
        if len(out_grad_fn) == 0 or (len(out_grad_fn) == 1 and grad_fn not in out_grad_fn):
            warn("Using a non-full backward hook when outputs are nested in python data "
                 "structure is deprecated and will be removed in future versions. This hook "
                 "will be missing some grad_output.")
        elif len(out_grad_fn) > 1:
            warn("Using a non-full backward hook when outputs are generated by different "
                 "autograd Nodes is deprecated and will be removed in future versions. This hook "
                 "will be missing some grad_output. Please use register_full_backward_hook to "
                 "get the documented behavior.")
        else:
            inputs_grad_fn = {i.grad_fn for i in inputs if i.grad_fn is not None}
            next_functions = {n[0] for n in grad_fn.next_functions}
            if inputs_grad_fn != next_functions:
                warn("Using a non-full backward hook when the forward contains multiple autograd "
                     "Nodes is deprecated and will be removed in future versions. This hook will "
                     "be missing some grad_input. Please use register_full_backward_hook to get "
                     "the documented behavior.")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_forward_pre_hooks
                or _global_forward_hooks or _global_backward_hooks
                or _global_backward_pre_hooks):
            return self.forward(*args, **kwargs)  # the common case: no hooks, no overhead
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        """torch's ``_call_impl``: global hooks before the module's own; pre-hooks may replace
        the inputs, forward hooks the output; full backward hooks wrap the tensor inputs and
        outputs; hooks registered with ``always_call`` run even if ``forward`` raised."""
        result = None
        called = set()
        try:
            full_backward_hooks, non_full_backward_hooks = [], []
            backward_pre_hooks = []
            if self._backward_pre_hooks or _global_backward_pre_hooks:
                backward_pre_hooks = self._get_backward_pre_hooks()
            if self._backward_hooks or _global_backward_hooks:
                full_backward_hooks, non_full_backward_hooks = self._get_backward_hooks()
            args, kwargs = self._run_forward_pre_hooks(args, kwargs)
            bw_hook = None
            if full_backward_hooks or backward_pre_hooks:
                bw_hook = _BackwardHook(self, full_backward_hooks, backward_pre_hooks)
                args = bw_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called \
                        or hook_id in _global_forward_hooks_always_called:
                    called.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs \
                        or hook_id in _global_forward_hooks_with_kwargs:
                    out = hook(self, args, kwargs, result)
                else:
                    out = hook(self, args, result)
                if out is not None:
                    result = out
            if bw_hook:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a "
                                  f"Tensor or a tuple of Tensors but received {type(result)}",
                                  stacklevel=2)
                result = bw_hook.setup_output_hook(result)
            if non_full_backward_hooks:
                self._attach_legacy_backward_hooks(args, result, non_full_backward_hooks)
            return result
        except Exception:
            self._run_always_called_hooks(args, kwargs, result, called)
            raise

    def _run_forward_pre_hooks(self, args, kwargs):
        for hook_id, hook in (*_global_forward_pre_hooks.items(),
                              *self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                out = hook(self, args, kwargs)
                if out is not None:
                    if isinstance(out, tuple) and len(out) == 2:
                        args, kwargs = out
                    else:
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {out}.")
            else:
                out = hook(self, args)
                if out is not None:
                    args = out if isinstance(out, tuple) else (out,)
        return args, kwargs

    def _attach_legacy_backward_hooks(self, args, result, hooks) -> None:
        """The legacy hooks go on the grad_fn of the first tensor of the output."""
        var = result
        while not isinstance(var, Tensor):
            if isinstance(var, dict):
                var = next(v for v in var.values() if isinstance(v, Tensor))
            else:
                var = var[0]
        grad_fn = var.grad_fn
        if grad_fn is not None:
            for hook in hooks:
                grad_fn.register_hook(_WrappedHook(hook, self))
            self._maybe_warn_non_full_backward_hook(args, result, grad_fn)

    def _run_always_called_hooks(self, args, kwargs, result, called) -> None:
        """After forward (or a hook) raised: the ``always_call`` forward hooks that have not
        run yet, global ones first, their own errors reduced to warnings."""
        pending = [(hook, False, "global module") for hook_id, hook in _global_forward_hooks.items()
                   if hook_id in _global_forward_hooks_always_called and hook_id not in called]
        pending += [(hook, hook_id in self._forward_hooks_with_kwargs, "module")
                    for hook_id, hook in self._forward_hooks.items()
                    if hook_id in self._forward_hooks_always_called and hook_id not in called]
        for hook, with_kwargs, owner in pending:
            try:
                out = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
                if out is not None:
                    result = out
            except Exception as e:
                warnings.warn(f"{owner} forward hook with ``always_call=True`` raised an exception "
                              f"that was silenced as another error was raised in forward: {e}",
                              stacklevel=3)

    # -- state dict ----------------------------------------------------------------------------
    def register_state_dict_pre_hook(self, hook):
        r"""``hook(module, prefix, keep_vars)`` runs before ``state_dict`` collects this module."""
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def _register_state_dict_hook(self, hook):
        r"""The older, private post-hook: ``hook(module, state_dict, prefix, local_metadata)``
        may also return a new state_dict, which is used only where ``state_dict`` was called
        on this module itself (torch's behaviour, pytorch#117437). Stored wrapped, so that
        ``state_dict`` tells it from the public post-hooks (torch marks the function instead)."""
        if any(h is hook for h in self._state_dict_hooks.values()):
            raise RuntimeError("Cannot register the same function as the state dict post hook "
                               "that was previously registered via register_state_dict_post_hook")
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = _ReturningStateDictHook(hook)
        return handle

    def register_state_dict_post_hook(self, hook):
        r"""``hook(module, state_dict, prefix, local_metadata)`` runs after ``state_dict``
        collected this module; it may change ``state_dict`` in place and must return None."""
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_pre_hook(self, hook):
        r"""``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` runs before this module loads its part of a state_dict."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        r"""As :meth:`register_load_state_dict_pre_hook`; the hook gets the module as its
        first argument only ``with_module``."""
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = _WrappedHook(hook,
                                                                  self if with_module else None)
        return handle

    def register_load_state_dict_post_hook(self, hook):
        r"""``hook(module, incompatible_keys)`` runs after ``load_state_dict`` loaded this module;
        it may edit ``incompatible_keys``'s lists in place and must return None."""
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        """Put this module's own parameters and persistent buffers (not its children's) into
        ``destination``; layers override it for class-specific state."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        r"""An ``OrderedDict`` of the module's whole state: parameters and persistent buffers
        under their dotted names, detached (they share memory with the module's tensors) unless
        ``keep_vars``. Entries that are ``None`` are left out."""
        if args:  # torch's deprecated positional form (destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead.",
                          FutureWarning, stacklevel=2)
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            hook_result = hook(self, destination, prefix, local_metadata)
            if type(hook) is _ReturningStateDictHook:
                if hook_result is not None:
                    destination = hook_result
            elif hook_result is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Copy this module's own parameters and persistent buffers (not its children's) from
        ``state_dict``, recording missing/unexpected keys and errors in the given lists.

        Values may be ember Tensors or NumPy arrays (or anything ``np.asarray`` reads). They are
        copied in place into the existing tensors (cast to their dtype), unless
        ``local_metadata['assign_to_params_buffers']``, which assigns them instead."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        local_state = self._local_state()
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key in state_dict:
                self._load_tensor(name, param, key, state_dict[key], assign, error_msgs)
            elif strict:
                missing_keys.append(key)
        self._load_extra_state(state_dict, prefix, strict, missing_keys, unexpected_keys)
        if strict:
            unexpected_keys.extend(self._unexpected_keys(state_dict, prefix, local_state))

    def _local_state(self) -> dict:
        """This module's own parameters and persistent buffers that are not None, by name."""
        persistent_buffers = {k: v for k, v in self._buffers.items()
                              if k not in self._non_persistent_buffers_set}
        return {k: v for k, v in itertools.chain(self._parameters.items(),
                                                 persistent_buffers.items())
                if v is not None}

    def _load_tensor(self, name, param, key, value, assign, error_msgs) -> None:
        """Load ``value`` into the parameter or buffer ``name`` (copied in place, or assigned),
        or record in ``error_msgs`` why it cannot be."""
        if not _is_tensor_like(value):
            error_msgs.append(f'While copying the parameter named "{key}", expected ember.Tensor '
                              f"or a NumPy array from checkpoint but received {type(value)}")
            return
        if is_lazy(value):
            value.shape  # raises torch's "Can't access the shape of an uninitialized parameter"
        array = _as_array(value)
        if param.ndim == 0 and array.shape == (1,):
            array = array.reshape(())  # as torch: a 1-element 1-d value loads into a 0-d tensor
        if array.shape != param._data.shape:
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {Size(array.shape)} from "
                f"checkpoint, the shape in current model is {Size(param._data.shape)}.")
            return
        try:
            if assign:
                self._assign_loaded(name, param, value, array)
            else:
                _copy_into(param, array)
        except Exception as ex:
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model '
                f"are {Size(param._data.shape)} and whose dimensions in the checkpoint are "
                f"{Size(array.shape)}, an exception occurred : {ex.args}.")

    def _assign_loaded(self, name, param, value, array) -> None:
        """``load_state_dict(assign=True)``: the loaded tensor replaces the module's; a
        Parameter stays a Parameter with its ``requires_grad``."""
        value = value if isinstance(value, Tensor) else Tensor._wrap(array)
        if isinstance(param, Parameter):
            value = Parameter(value, requires_grad=param.requires_grad)
        setattr(self, name, value)

    def _load_extra_state(self, state_dict, prefix, strict, missing_keys, unexpected_keys):
        """Hand the ``_extra_state`` entry to ``set_extra_state`` if the layer defines it; it is
        missing or unexpected (when ``strict``) as the layer does or does not."""
        key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if type(self).set_extra_state is not Module.set_extra_state:
            if key in state_dict:
                self.set_extra_state(state_dict[key])
            elif strict:
                missing_keys.append(key)
        elif strict and key in state_dict:
            unexpected_keys.append(key)

    def _unexpected_keys(self, state_dict, prefix, local_state) -> list:
        """The keys under ``prefix`` that name neither one of this module's tensors nor (for a
        dotted key) one of its children."""
        unexpected = []
        for key in state_dict:
            if key.startswith(prefix) and key != prefix + _EXTRA_STATE_KEY_SUFFIX:
                input_name = key[len(prefix):].split(".", 1)
                if len(input_name) > 1:  # a dotted key must name a child module
                    if input_name[0] not in self._modules:
                        unexpected.append(key)
                elif input_name[0] not in local_state:
                    unexpected.append(key)
        return unexpected

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        r"""Copy parameters and buffers from ``state_dict`` (values: ember Tensors or NumPy arrays)
        into this module and its descendants, in place and without recording a graph.

        With ``strict`` the keys must match :meth:`state_dict`'s exactly; with ``assign`` the
        module's tensors are replaced by the given ones (Parameters keep ``requires_grad``).
        Returns ``_IncompatibleKeys(missing_keys, unexpected_keys)``; raises RuntimeError
        ("Error(s) in loading state_dict for ...") on shape mismatches, and on missing or
        unexpected keys if ``strict``."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys, unexpected_keys, error_msgs = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # _load_from_state_dict may modify its copy
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module, local_state_dict, prefix=""):
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True,
                                         missing_keys, unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state_dict.items()
                                 if k.startswith(child_prefix)}, child_prefix)
            incompatible_keys = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, incompatible_keys) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` "
                                         "are not expected to return new values, if incompatible_keys "
                                         "need to be modified, it should be done inplace.")

        with no_grad():
            load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self.__class__.__name__, "\n\t".join(error_msgs)))
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # -- repr ----------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return self.__class__.__name__

    def extra_repr(self) -> str:
        r"""The module's own options for its repr (one line or several); override in layers."""
        return ""

    def __repr__(self) -> str:
        # The extra repr's lines and the children's reprs, one item per line (torch's layout).
        extra_lines = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = ["(" + key + "): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"


# ---------------------------------------------------------------------------------------------
# Array-level helpers for conversion and loading
# ---------------------------------------------------------------------------------------------

def _cast(t: Tensor, dtype) -> Tensor:
    if t._data.dtype == dtype.np:
        return t
    return Tensor._wrap(t._data.astype(dtype.np), t.requires_grad)


def _cast_if_floating(t: Tensor, dtype) -> Tensor:
    return _cast(t, dtype) if t.dtype.is_floating_point else t


def _copy_into(t: Tensor, array: np.ndarray) -> None:
    """``t.copy_(array)`` without recording: writes into t's own storage, cast to its dtype, and
    bumps its version counter."""
    with no_grad():
        t.copy_(Tensor._wrap(array))
