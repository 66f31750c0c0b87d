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
    # (a system site-packages), keep the cache in the user's cache directory instead, or in the
    # temp folder when that cannot be created either (a container user without a home): with no
    # writable place at all, numba's cache=True would fail the import itself.
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    here = _os.path.dirname(__file__)
    if _os.access(here, _os.W_OK) and _os.access(_os.path.join(here, "_kernels"), _os.W_OK):
        return
    import tempfile
    base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
    user = getattr(_os, "getuid", lambda: "user")()
    for path in (_os.path.join(base, "ember", "numba"),
                 _os.path.join(tempfile.gettempdir(), f"ember-numba-{user}")):
        try:
            _os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if _os.access(path, _os.W_OK):
            _os.environ["NUMBA_CACHE_DIR"] = path
            return


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

from . import _state as _state_module  # noqa: E402

_state_module.tune_malloc()   # freed memory kept for reuse: why and how to opt out, ember/_state.py

from . import _creation, _dtype, autograd, random  # noqa: E402
from ._creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                        full_like, linspace, logspace, multinomial, normal, ones, ones_like, poisson, rand,
                        rand_like, randint, randint_like, randn, randn_like, randperm, tensor, zeros,
                        zeros_like)
from ._dtype import get_default_dtype, set_default_dtype  # noqa: E402
from ._size import Size  # noqa: E402
from ._device import device  # noqa: E402
from ._tensor import Tensor, where  # noqa: E402
from ._calling import install_on_class as _install_on_class  # noqa: E402

# --- calling conventions (issue 11): axis=/keepdims=/x2= on every native method, add(alpha, other)
_install_on_class(Tensor)
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


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    from ._calling import check_tensor_argument
    check_tensor_argument("is_floating_point", input)
    return input.is_floating_point()


def numel(input):
    from ._calling import check_tensor_argument
    check_tensor_argument("numel", input)
    return input.numel()


# --- Tensor protocol and dtype information (issue 11, G1)
from ._typeinfo import can_cast, finfo, iinfo, promote_types, result_type  # noqa: E402
from ._tensor_str import set_printoptions  # noqa: E402  (torch has no top-level get_printoptions)


def is_complex(input):
    from ._calling import check_tensor_argument
    check_tensor_argument("is_complex", input)
    return input.is_complex()


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


# --- reductions, scans, sorting and statistics (issue 11)
from ._ops.stats import with_out as _with_out  # noqa: E402

for _name in "addcmul addcdiv".split():   # ember.addcmul(input, t1, t2, *, value=1)
    globals()[_name] = _method(_name)
for _name in "unique unique_consecutive bincount dist".split():
    globals()[_name] = _method(_name)
for _name in ("cumsum cumprod cummax cummin logcumsumexp diff median nanmedian mode kthvalue quantile "
              "nanquantile nansum nanmean histc topk sort msort aminmax logsumexp prod norm "
              "renorm").split():  # the torch functions of these take out=
    globals()[_name] = _method(_name)
from ._ops.stats import cdist, cosine_similarity, std_mean, var_mean  # noqa: E402,F401
from ._ops import stats as _stats  # noqa: E402

bucketize, searchsorted = _stats.bucketize, _stats.searchsorted


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


# --- elementwise math (issue 11, G5)
for _name in ("tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh "
              "arctanh exp2 erf erfc erfinv lgamma digamma i0 sinc deg2rad rad2deg frac fix sgn "
              "positive nan_to_num atan2 arctan2 hypot logaddexp logaddexp2 fmod copysign "
              "lerp heaviside signbit isposinf isneginf isreal bitwise_and bitwise_or bitwise_xor "
              "bitwise_not bitwise_left_shift bitwise_right_shift logical_xor gcd lcm floor_divide "
              "tan_ asin_ acos_ atan_ sinh_ cosh_ asinh_ acosh_ atanh_ exp2_ expm1_ erf_ erfc_ erfinv_ "
              "lgamma_ digamma_ i0_ sinc_ deg2rad_ rad2deg_ frac_ trunc_ fix_ floor_ ceil_ round_ "
              "sign_ square_ rsqrt_ nan_to_num_ logit logit_").split():
    globals()[_name] = _method(_name)


def polygamma(n, input):
    from ._ops.pointwise import polygamma as _polygamma
    return _polygamma(n, input)


def _number_first(name):
    # torch.xlogy(2, t), torch.remainder(5, t), torch.float_power(2, t): a number as input
    method = getattr(Tensor, name)
    reflected = {"remainder": Tensor.__rmod__}.get(name)

    def fn(input, other):
        from ._ops import pointwise as _pw
        if isinstance(input, Tensor):
            return method(input, other)
        if reflected is not None:
            return reflected(other, input)
        if name == "float_power":
            return _pw.float_power(input, other)
        return other._float_operands(input)._binary(_pw.BINARY_FUNCTIONS[name], input, True)

    fn.__name__ = fn.__qualname__ = name
    return fn


xlogy, remainder, float_power = (_number_first(_n) for _n in ("xlogy", "remainder", "float_power"))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    from ._ops.pointwise import isin as _isin
    return _isin(elements, test_elements, assume_unique=assume_unique, invert=invert)


# --- indexing, scatter and shape ops (issue 11, G3)
for _name in ("scatter_reduce index_add index_copy index_fill index_put index_put_ masked_scatter "
              "take put movedim moveaxis rot90 fliplr flipud tile tensor_split hsplit vsplit "
              "dsplit").split():
    globals()[_name] = _method(_name)


from ._ops.rearrange import (cartesian_prod, column_stack, dstack, hstack, meshgrid,  # noqa: E402
                             row_stack, vstack)


from ._ops.resample import (channel_shuffle, native_channel_shuffle, pixel_shuffle,  # noqa: E402,F401
                            pixel_unshuffle)


def combinations(input, r=2, with_replacement=False):
    from ._ops.rearrange import combinations as _combinations
    return _combinations(input, r, with_replacement)


# --- products and linear algebra (issue 11)
for _name in ("diagonal diag_embed trace det logdet slogdet pinverse matrix_exp "
              "vdot outer ger inner kron addmm addmv baddbmm addbmm matrix_power diag triu tril "
              "inverse cholesky").split():
    globals()[_name] = _method(_name)


def einsum(*args):
    from ._ops.products import einsum as _einsum
    return _einsum(*args)


def tensordot(a, b, dims=2):
    from ._ops.products import tensordot as _tensordot
    return _tensordot(a, b, dims)


def cross(input, other, dim=None):
    from ._ops.products import cross as _cross
    return _cross(input, other, dim)


def _triangle_indices(np_fn, row, col, offset, dtype):
    import numpy as np
    dt = _dtype.as_dtype(dtype) if dtype is not None else int64
    if dt not in (int64, int32):
        raise RuntimeError("\"triu_indices\" only supports int32 and int64 as dtype"
                           if np_fn is np.triu_indices else "\"tril_indices\" only supports int32 and int64 as dtype")
    for name, v in (("row", row), ("col", col)):
        if v < 0:
            raise RuntimeError(f"{name} must be non-negative, got{v}")  # (sic: torch's spacing)
    rows, cols = np_fn(row, offset, col)
    return Tensor._wrap(np.stack([rows, cols]).astype(dt.np).reshape(2, -1))


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    import numpy as np
    return _triangle_indices(np.triu_indices, row, col, offset, dtype)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    import numpy as np
    return _triangle_indices(np.tril_indices, row, col, offset, dtype)


def svd(input, some=True, compute_uv=True):
    from .linalg import _svd_legacy
    return _svd_legacy(input, some, compute_uv)


def qr(input, some=True):
    from .linalg import _qr_legacy
    return _qr_legacy(input, some)


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


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, format=None):
    from .serialization import save as _save
    return _save(obj, f, pickle_module, pickle_protocol, _use_new_zipfile_serialization,
                 _disable_byteorder_record, format=format)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    from .serialization import load as _load
    return _load(f, map_location, pickle_module, weights_only=weights_only, mmap=mmap,
                 **pickle_load_args)


_LAZY = ("nn", "optim", "utils", "vision", "explain", "serialization", "cli", "cuda", "accelerator",
         "backends", "mps", "linalg", "special", "onnx", "distributed", "multiprocessing")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


# --- out= (issue 11): every function whose torch form takes ``out=`` takes it here, through one
# wrapper (ember/_ops/stats.py with_out) that applies torch's checks: no out= while the call is
# differentiated, the out dtype rules, tuple outs for tuple results. (The creation functions -
# zeros, rand, arange ... - handle their own out=, which also decides their dtype.) The list is
# torch 2.13's; tests/ops/test_out_argument.py checks samples of it against torch.
OUT_FUNCTIONS = (
    "abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv all amax amin aminmax any "
    "arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin asin asinh atan atan2 "
    "atanh baddbmm bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift "
    "bitwise_xor bmm bucketize cat ceil cholesky clamp clamp_max clamp_min clip column_stack "
    "concat concatenate copysign cos cosh cross cummax cummin cumprod cumsum deg2rad diag diff "
    "digamma div divide dot dstack eq erf erfc erfinv exp exp2 expm1 fix float_power floor "
    "floor_divide fmod frac gather gcd ge ger greater greater_equal gt heaviside histc hstack "
    "hypot i0 index_add index_copy index_select inner inverse isin isneginf isposinf kron "
    "kthvalue lcm le lerp less less_equal lgamma log log10 log1p log2 log_softmax logaddexp "
    "logaddexp2 logcumsumexp logical_and logical_not logical_or logical_xor logit logsumexp lt "
    "masked_select matmul matrix_power max maximum mean median min minimum mm mode msort mul "
    "multiply mv nan_to_num nanmean nanmedian nanquantile nansum ne neg negative nonzero norm "
    "not_equal outer polygamma pow prod qr quantile rad2deg reciprocal remainder renorm round "
    "row_stack rsqrt scatter scatter_add scatter_reduce searchsorted sgn sigmoid sign signbit "
    "sin sinc sinh softmax sort sqrt square stack std sub subtract sum svd take take_along_dim "
    "tan tanh tensordot topk tril triu true_divide trunc var vdot vstack where xlogy").split()
for _name in OUT_FUNCTIONS:
    globals()[_name] = _with_out(globals()[_name], _name)


# --- calling conventions (issue 11): keep this block last, so that it sees every function above.
# torch.<op> accepts NumPy's names (input: x, a, x1; other: x2; dim: axis; keepdim: keepdims) and
# the deprecated torch.add(input, alpha, other) overload.
def _install_function_conventions():
    from . import _calling
    namespace = globals()
    _calling.install_legacy_overloads(namespace, function=True)
    _calling.install_numpy_aliases(namespace, _calling.FUNCTION_ALIASES)


_install_function_conventions()
