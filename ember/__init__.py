"""ember: a PyTorch-compatible neural-network library on NumPy and numba.

``import ember`` gives torch's top-level API: tensors, dtypes, creation and math functions,
autograd; ``ember.nn``, ``ember.optim``, ``ember.utils``, ``ember.vision`` and ``ember.explain``
load on first use, so that starting ember stays fast.
"""
from __future__ import annotations

import builtins as _builtins
import os as _os

__version__ = "0.1.0"


def _numba_cache_dir():
    # numba caches compiled kernels next to their source; when ember is installed read-only
    # (a system site-packages), keep the cache in the user's cache directory instead.
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    here = _os.path.dirname(__file__)
    if not _os.access(here, _os.W_OK) or not _os.access(_os.path.join(here, "_kernels"), _os.W_OK):
        base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
        _os.environ["NUMBA_CACHE_DIR"] = _os.path.join(base, "ember", "numba")


_numba_cache_dir()


def _quiet_floating_point_warnings():
    # torch never warns when arithmetic makes inf or nan (inf * 0 in a backward, exp overflowing
    # to inf); NumPy does, from inside ember's ops. Silence exactly those, and only when raised
    # from ember's own modules: the user's NumPy settings and code are left alone. (A filter
    # costs nothing until a warning fires; np.errstate around every ufunc would cost ~1.5 us.)
    import warnings
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember(\.|$)",
                            message=r"(invalid value|overflow|divide by zero|underflow) encountered")


_quiet_floating_point_warnings()

from . import _creation, _dtype, autograd, random  # noqa: E402
from ._creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                        full_like, linspace, logspace, multinomial, normal, ones, ones_like, rand,
                        rand_like, randint, randint_like, randn, randn_like, randperm, tensor, zeros,
                        zeros_like)
from ._dtype import get_default_dtype, promote_types, result_type as _result_type, set_default_dtype  # noqa: E402
from ._size import Size  # noqa: E402
from ._device import device  # noqa: E402
from ._tensor import Tensor, where  # noqa: E402
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,  # noqa: E402
                                 set_grad_enabled)
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402

dtype = _dtype.dtype
float32 = float = _dtype.float32
float64 = double = _dtype.float64
float16 = half = _dtype.float16
int64 = long = _dtype.int64
int32 = int = _dtype.int32
int16 = short = _dtype.int16
int8 = _dtype.int8
uint8 = _dtype.uint8
bool = _dtype.bool_

# torch's legacy tensor types: FloatTensor([1, 2]), FloatTensor(2, 3), isinstance(x, LongTensor)
from ._tensor import LEGACY_TYPES as _LEGACY_TYPES  # noqa: E402

(BoolTensor, ByteTensor, CharTensor, ShortTensor, IntTensor, LongTensor, HalfTensor, FloatTensor,
 DoubleTensor) = (_LEGACY_TYPES[_d] for _d in _dtype.ALL)


def result_type(tensor1, tensor2):
    return _result_type(tensor1, tensor2)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def numel(input):
    return input.numel()


def _method(name):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"ember.{name}(input, ...) is ``input.{name}(...)``."
    return fn


# torch.<op>(tensor, ...) for every op that is also a Tensor method
for _name in ("add sub subtract mul multiply div divide true_divide pow neg negative abs absolute exp "
              "log log1p log2 log10 expm1 sqrt rsqrt sin cos tanh sigmoid reciprocal square sign floor "
              "ceil round trunc clamp clip clamp_min clamp_max maximum minimum matmul mm bmm mv dot "
              "sum mean prod max min amax amin argmax argmin var std logsumexp norm any all "
              "count_nonzero cumsum sort argsort topk reshape flatten unflatten permute transpose "
              "swapaxes swapdims t squeeze unsqueeze repeat_interleave flip roll split chunk unbind "
              "narrow select gather take_along_dim scatter scatter_add index_select masked_select "
              "masked_fill nonzero eq ne lt le gt ge greater less greater_equal less_equal not_equal "
              "equal allclose isclose isnan isinf isfinite logical_not logical_and logical_or clone "
              "detach relu softmax log_softmax broadcast_to").split():
    if hasattr(Tensor, _name):
        globals()[_name] = _method(_name)


def cat(tensors, dim=0):
    from ._ops.joins import cat as _cat
    return _cat(tensors, dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    from ._ops.joins import stack as _stack
    return _stack(tensors, dim)


def broadcast_tensors(*tensors):
    shape = Size(__import__("numpy").broadcast_shapes(*(t.shape for t in tensors)))
    return tuple(t.expand(shape) for t in tensors)


def set_num_threads(num_threads: int) -> None:
    """torch.set_num_threads: the threads ember's parallel kernels use; 1 runs them serially.

    The switch is process-wide (ember/_state.py). The thread count above 1 is numba's, which
    numba keeps per calling thread; 1 starts no thread pool at all (what a forked DataLoader
    worker needs)."""
    # (``int`` and ``bool`` are dtypes in this module, as torch.int and torch.bool)
    if isinstance(num_threads, _builtins.bool) or not isinstance(num_threads, _builtins.int) \
            or num_threads <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from . import _state
    _state.set_parallel(num_threads > 1)
    if num_threads > 1:
        import numba
        numba.set_num_threads(_builtins.min(num_threads, numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """torch.get_num_threads: how many threads ember's parallel kernels use."""
    from . import _state
    if not _state.parallel_enabled():
        return 1
    import numba
    return numba.get_num_threads()


def save(obj, f, **kwargs):
    from .serialization import save as _save
    return _save(obj, f, **kwargs)


def load(f, map_location=None, weights_only=True, **kwargs):
    from .serialization import load as _load
    return _load(f, map_location=map_location, weights_only=weights_only, **kwargs)


_LAZY = ("nn", "optim", "utils", "vision", "explain", "serialization", "cli", "cuda", "accelerator",
         "backends", "mps")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
