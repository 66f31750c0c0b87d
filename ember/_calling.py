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
    wrapper._alias_names = alias_names
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
    """The Tensor methods: wrap each one torch would parse with NumPy aliases, and the ops
    with a deprecated Number-first overload (add, addcmul, addmm ...) with it."""
    namespace = dict(vars(cls))
    install_numpy_aliases(namespace, METHOD_ALIASES)
    install_legacy_overloads(namespace, function=False)
    for attr, value in namespace.items():
        if value is not vars(cls).get(attr):
            setattr(cls, attr, value)
    return cls


# ---------------------------------------------------------------- deprecated Number-first overloads
# torch still parses x.add(alpha, other), x.addcmul(value, t1, t2), x.addmm(beta, [alpha,] m1, m2)
# and their torch.<op> forms (torch/csrc/utils/python_arg_parser.cpp, deprecated.yaml), warning
# once per process - one warning for all of them - that the overload is deprecated.
# op -> (the leading numbers, as the keywords they become; the tensors that follow)
LEGACY_OVERLOADS = {
    "add": (("alpha",), ("other",)), "sub": (("alpha",), ("other",)),
    "addcmul": (("value",), ("tensor1", "tensor2")), "addcdiv": (("value",), ("tensor1", "tensor2")),
    "addmm": (("beta", "alpha"), ("mat1", "mat2")), "addmv": (("beta", "alpha"), ("mat", "vec")),
    "addr": (("beta", "alpha"), ("vec1", "vec2")),
    "addbmm": (("beta", "alpha"), ("batch1", "batch2")),
    "baddbmm": (("beta", "alpha"), ("batch1", "batch2")),
}
LEGACY_OVERLOADS.update({name + "_": spec for name, spec in list(LEGACY_OVERLOADS.items())})
# torch.addmm's message lists a second current signature
_EXTRA_SIGNATURES = {"addmm": "\n\taddmm(Tensor input, Tensor mat1, Tensor mat2, torch.dtype out_dtype, "
                              "*, Number beta = 1, Number alpha = 1, Tensor out = None)"}
_warned = []


def _deprecation_message(name, numbers, tensors, function):
    old = [f"Number {n}" for n in numbers] + [f"Tensor {t}" for t in tensors]
    new = [f"Tensor {t}" for t in tensors]
    keywords = [f"Number {n} = 1" for n in LEGACY_OVERLOADS[name][0]]
    if function:
        where = 1 if numbers[0] == "beta" else 0  # addmm(beta, input, ...), add(input, alpha, ...)
        old.insert(where, "Tensor input")
        new.insert(0, "Tensor input")
        old, keywords = old + ["*", "Tensor out = None"], keywords + ["Tensor out = None"]
    message = (f"This overload of {name} is deprecated:\n\t{name}({', '.join(old)})\nConsider "
               f"using one of the following signatures instead:\n\t"
               f"{name}({', '.join(new + ['*'] + keywords)})")
    return message + (_EXTRA_SIGNATURES.get(name, "") if function else "")


def _warn_once(message):
    if not _warned:  # TORCH_WARN_ONCE: the first deprecated call in the process warns, no other
        _warned.append(message)
        import warnings
        warnings.warn(message, UserWarning, stacklevel=4)


def _is_number(x):
    # what torch's "Number" accepts: a Python or NumPy number, or a 0-d tensor
    if isinstance(x, (bool, int, float, complex)):
        return True
    return getattr(x, "ndim", None) == 0 and hasattr(x, "item")


def _as_number(x):
    return x.item() if hasattr(x, "item") else x


def _leading_numbers(args, most):
    count = 0
    while count < min(most, len(args)) and _is_number(args[count]):
        count += 1
    return count


def _split_legacy(name, args, kwargs):
    """(numbers as keywords, tensors) when ``args``/``kwargs`` are the deprecated overload of
    ``name`` (the arguments after the input tensor); None when they are not."""
    number_names, tensor_names = LEGACY_OVERLOADS[name]
    count = _leading_numbers(args, len(number_names))
    tensors = list(args[count:])
    named = [t for t in tensor_names[len(tensors):] if t in kwargs]
    if count == 0 or len(tensors) + len(named) != len(tensor_names):
        return None
    extra = [k for k in kwargs if k not in named]
    if extra:
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"unrecognized keyword arguments: {', '.join(extra)}")
    numbers = {n: _as_number(v) for n, v in zip(number_names, args[:count])}
    return numbers, tensors + [kwargs[t] for t in named]


def with_legacy_overload(fn, name, function):
    """``fn(input, *tensors, **numbers)`` also called with the numbers first, as torch allows."""
    if getattr(fn, "_legacy_overload", False):
        return fn
    beta_first = function and LEGACY_OVERLOADS[name][0][0] == "beta"
    tensor_names = LEGACY_OVERLOADS[name][1]
    most_positional, last_tensor = 1 + len(tensor_names), tensor_names[-1]
    # one wrapper layer, not two, on the hot path: call past fn's NumPy-alias wrapper when the
    # call has no alias
    alias_names = getattr(fn, "_alias_names", frozenset())
    direct = fn.__wrapped__ if alias_names else fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # the current signature (x.add_(g, alpha=-lr) in every optimizer step): straight through
        if len(args) <= most_positional and last_tensor not in kwargs:
            if kwargs and not alias_names.isdisjoint(kwargs):
                return fn(*args, **kwargs)
            return direct(*args, **kwargs)
        if beta_first and len(args) > 1 and _is_number(args[0]) and not _is_number(args[1]):
            # torch.addmm(beta, input, [alpha,] mat1, mat2)
            rest, input = (args[0],) + args[2:], args[1]
        elif args:
            rest, input = args[1:], args[0]
        else:
            return fn(*args, **kwargs)
        legacy = _split_legacy(name, rest, kwargs)
        if legacy is None:
            _refuse_extra_positional(name, rest, function)
            return fn(*args, **kwargs)
        numbers, tensors = legacy
        number_names = [n for n in LEGACY_OVERLOADS[name][0] if n in numbers]
        _warn_once(_deprecation_message(name, number_names, LEGACY_OVERLOADS[name][1], function))
        return fn(input, *tensors, **numbers)

    wrapper._legacy_overload = True
    return wrapper


def _refuse_extra_positional(name, rest, function):
    # x.add(y, 2): torch's parser counts positionals against add(Tensor other, *, alpha)
    expected = len(LEGACY_OVERLOADS[name][1])
    if len(rest) > expected and not _is_number(rest[0]):
        taken = expected + function
        raise TypeError(f"{name}() takes {taken} positional argument{'s' * (taken > 1)} "
                        f"but {len(rest) + function} were given")


def install_legacy_overloads(namespace, function):
    for name in LEGACY_OVERLOADS:
        if inspect.isfunction(namespace.get(name)) and not (function and name.endswith("_")):
            namespace[name] = with_legacy_overload(namespace[name], name, function)


def check_tensor_argument(fn_name, value, param="input", position=1):
    """torch's parser message for a non-Tensor where an op takes a Tensor."""
    from ._tensor import Tensor  # _tensor sits below this module's users, not below this module
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn_name}(): argument '{param}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")
