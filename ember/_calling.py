"""torch's calling conventions that are not part of any one op.

torch's argument parser (torch/csrc/utils/python_arg_parser.cpp) accepts NumPy's names for some
parameters of every native op: ``axis=`` for ``dim=``, ``keepdims=`` for ``keepdim=`` and, on the
``torch.<op>`` functions, ``x=``/``a=``/``x1=`` for ``input=`` and ``x2=`` for ``other=``. An alias
is only looked at when the real name was not given; given both, the alias is an unexpected
keyword. Ops that torch writes in Python (``Tensor.norm``, ``torch.split`` ...) get no aliases.

Rather than every method spelling this out, ``install_numpy_aliases`` wraps, once, each function
of a class or module whose signature has one of those parameters.
"""
from __future__ import annotations

import functools
import inspect

# python_arg_parser.cpp: numpy_compatibility_arg_names
METHOD_ALIASES = {"axis": "dim", "keepdims": "keepdim", "x2": "other"}
FUNCTION_ALIASES = {**METHOD_ALIASES, "x": "input", "a": "input", "x1": "input"}

# ops torch implements in Python (torch/_tensor.py, torch/functional.py): no NumPy aliases there
PYTHON_LEVEL_OPS = frozenset(
    "norm split unflatten unique unique_consecutive stft istft lu lstsq solve eig symeig "
    "broadcast_tensors einsum tensordot cdist meshgrid block_diag cartesian_prod chain_matmul "
    "atleast_1d atleast_2d atleast_3d unravel_index dim_order backward register_hook".split())


def _positions(fn, canonical_names):
    """Where each canonical parameter sits among the positional ones (None: keyword-only)."""
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {name: positional.index(name) if name in positional else None
            for name in canonical_names}


def _resolve(name, aliases, positions, args, kwargs):
    renamed = {}
    for key, value in kwargs.items():
        canonical = aliases.get(key)
        if canonical is not None:
            position = positions[canonical]
            if canonical in kwargs or (position is not None and len(args) > position):
                # torch's parser then names the first alias it was given, in call order
                first = next(k for k in kwargs if k in aliases)
                raise TypeError(f"{name}() got an unexpected keyword argument '{first}'")
            key = canonical
        renamed[key] = value
    return renamed


def with_numpy_aliases(fn, aliases, name=None):
    """``fn`` accepting the NumPy aliases of the parameters it has; ``fn`` itself if none."""
    if getattr(fn, "_numpy_aliases", False):
        return fn
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    used = {a: c for a, c in aliases.items() if c in params and a not in params}
    if not used:
        return fn
    name = name or fn.__name__
    positions = _positions(fn, set(used.values()))
    alias_names = frozenset(used)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # the common call has no alias: one set test, then straight through
        if kwargs and not alias_names.isdisjoint(kwargs):
            kwargs = _resolve(name, used, positions, args, kwargs)
        return fn(*args, **kwargs)

    wrapper._numpy_aliases = True
    return wrapper


def install_numpy_aliases(namespace, aliases, names=None):
    """Wrap in place each public function (or method) of a class ``__dict__`` or a module's
    ``globals()`` that has a parameter with a NumPy alias. Idempotent."""
    for attr in list(names if names is not None else namespace):
        fn = namespace.get(attr)
        if attr.startswith("_") or attr in PYTHON_LEVEL_OPS or not inspect.isfunction(fn):
            continue
        namespace[attr] = with_numpy_aliases(fn, aliases, attr)


def install_on_class(cls):
    """The Tensor methods: wrap each one torch would parse with NumPy aliases, and add/sub
    (in place too) with their deprecated ``(Number alpha, Tensor other)`` overload."""
    namespace = dict(vars(cls))
    install_numpy_aliases(namespace, METHOD_ALIASES)
    for name in LEGACY_ALPHA_OPS:
        if name in namespace:
            namespace[name] = with_legacy_alpha(namespace[name], name, function=False)
    for attr, value in namespace.items():
        if value is not vars(cls).get(attr):
            setattr(cls, attr, value)
    return cls


# ---------------------------------------------------------------- add(Number alpha, Tensor other)
# torch still parses x.add(alpha, other) / torch.add(input, alpha, other) (and sub, add_, sub_;
# not subtract), warning once per process that the overload is deprecated.
LEGACY_ALPHA_OPS = ("add", "sub", "add_", "sub_")
_warned = set()


def _deprecation_message(name, function):
    if function:
        old = f"{name}(Tensor input, Number alpha, Tensor other, *, Tensor out = None)"
        new = f"{name}(Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None)"
    else:
        old, new = f"{name}(Number alpha, Tensor other)", f"{name}(Tensor other, *, Number alpha = 1)"
    return (f"This overload of {name} is deprecated:\n\t{old}\n"
            f"Consider using one of the following signatures instead:\n\t{new}")


def _warn_once(message):
    if message not in _warned:  # TORCH_WARN_ONCE
        _warned.add(message)
        import warnings
        warnings.warn(message, UserWarning, stacklevel=4)


def _is_number(x):
    # a Python or NumPy number, or a one-element 0-d tensor: what torch's "Number" accepts
    if isinstance(x, (bool, int, float, complex)) or type(x).__module__ == "numpy" and hasattr(x, "item"):
        return getattr(x, "ndim", 0) == 0
    return getattr(x, "ndim", None) == 0 and hasattr(x, "item")


def with_legacy_alpha(fn, name, function):
    """``fn(input, other, *, alpha)`` also called as ``fn(input, alpha, other)``."""
    if getattr(fn, "_legacy_alpha", False):
        return fn
    expected = "(Tensor other, *, Number alpha = 1)"

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        if len(args) < 2 and "other" not in kwargs or not args:
            return fn(input, *args, **kwargs)
        if not _is_number(args[0]):
            taken = 2 if function else 1
            raise TypeError(f"{name}() takes {taken} positional argument{'s' * (taken > 1)} "
                            f"but {len(args) + function} were given")
        if len(args) > 2 or (len(args) == 2 and "other" in kwargs):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"{len(args) + function} positional arguments, but expected {expected}")
        alpha, other = args[0], (args[1] if len(args) == 2 else kwargs.pop("other"))
        if kwargs:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"unrecognized keyword arguments: {', '.join(kwargs)}")
        _warn_once(_deprecation_message(name, function))
        return fn(input, other, alpha=alpha.item() if hasattr(alpha, "item") else alpha)

    wrapper._legacy_alpha = True
    return wrapper


def check_tensor_argument(fn_name, value, param="input", position=1):
    """torch's parser message for a non-Tensor where an op takes a Tensor."""
    from ._tensor import Tensor  # _tensor sits below this module's users, not below this module
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn_name}(): argument '{param}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")
