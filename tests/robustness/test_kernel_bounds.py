"""Hostile indices and offsets at every compiled kernel that takes them from its caller
(issue 14, item 2): a bad value raises torch's exception before the kernel runs, a good one gives
torch's result. Cases that could crash the process (an out-of-bounds write in a numba loop) run
in a child process, so that a crash fails the test instead of killing pytest."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F

# (name, dtype, input shape, kernel, output size, sample value): the samples decide where the
# pseudo-random windows start; outside [0, 1) they can move a window off the input
FRACTIONAL_CASES = [
    ("huge_f32", "float32", (1, 1, 100, 100), 2, 50, 1e9),
    ("issue_3e8", "float32", (1, 1, 100, 100), 2, 50, 3e8),
    ("past_int32", "float32", (1, 1, 100, 100), 2, 50, 4e9),
    ("nan", "float32", (1, 2, 5, 5), 2, 3, math.nan),
    ("inf", "float32", (1, 2, 5, 5), 2, 3, math.inf),
    ("negative", "float32", (1, 1, 10, 10), 2, 9, -5.0),
    ("one", "float32", (1, 1, 10, 10), 2, 9, 1.0),
    ("two_and_a_half", "float64", (1, 1, 10, 10), 2, 9, 2.5),
    ("int32_edge_f64", "float64", (1, 1, 10, 10), 2, 9, 2.0 ** 31 - 2),
    ("huge_3d", "float32", (1, 1, 3, 40, 40), [1, 2, 2], [2, 20, 20], 1e9),
    ("in_range_3d", "float64", (2, 1, 6, 7, 8), 2, 4, 0.7),
]

_CHILD = textwrap.dedent("""
    import json, sys
    import ember, ember.nn.functional as F
    results = {}
    for name, dtype, shape, k, out, u in json.loads(sys.argv[1]):
        n = len(shape) - 2
        x = ember.arange(float(eval("*".join(map(str, shape)))), dtype=getattr(ember, dtype))
        x = x.reshape(*shape).requires_grad_()
        samples = ember.full((shape[0], shape[1], n), u, dtype=getattr(ember, dtype))
        pool = F.fractional_max_pool2d if n == 2 else F.fractional_max_pool3d
        try:
            y, idx = pool(x, k, output_size=out, return_indices=True, _random_samples=samples)
            y.sum().backward()  # the scatter that wrote outside the gradient array
            results[name] = ["ok", idx.reshape(-1).tolist()]
        except Exception as e:
            results[name] = [type(e).__name__, str(e)]
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def fractional_results():
    cases = [list(c) for c in FRACTIONAL_CASES]
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cases)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"the child process died ({proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _torch_fractional(dtype, shape, k, out, u):
    n = len(shape) - 2
    dt = getattr(torch, dtype)
    x = torch.arange(float(math.prod(shape)), dtype=dt).reshape(shape)
    pool = TF.fractional_max_pool2d if n == 2 else TF.fractional_max_pool3d
    try:
        _, idx = pool(x, k, output_size=out, return_indices=True,
                      _random_samples=torch.full((shape[0], shape[1], n), u, dtype=dt))
        return ["ok", idx.reshape(-1).tolist()]
    except RuntimeError as e:
        return ["RuntimeError", str(e)]


@pytest.mark.parametrize("case", FRACTIONAL_CASES, ids=[c[0] for c in FRACTIONAL_CASES])
def test_fractional_max_pool_hostile_samples_match_torch(fractional_results, case):
    name, *args = case
    got, expected = fractional_results[name], _torch_fractional(*args)
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "ok":
        assert got[1] == expected[1]  # torch's windows, even for samples outside [0, 1)
    else:
        assert "_random_samples" in got[1] and "outside the input" in got[1]


def test_fractional_max_pool_samples_wrong_dtype_and_shape():
    x = ember.rand(1, 2, 5, 5)
    with pytest.raises(RuntimeError, match="same dtype as input"):
        F.fractional_max_pool2d(x, 2, output_size=3,
                                _random_samples=ember.full((1, 2, 2), 0.5, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="size\\(1\\) equals to input channel size"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ember.full((1, 3, 2), 0.5))
    with pytest.raises(RuntimeError, match="size\\(0\\) no less then input batch size"):
        F.fractional_max_pool2d(ember.rand(2, 2, 5, 5), 2, output_size=3,
                                _random_samples=ember.full((1, 2, 2), 0.5))


# -- the other kernels fed indices or sizes by their caller: error decision and type as torch --

def _outcome(fn):
    try:
        return "ok", np.asarray(fn().detach() if hasattr(fn(), "detach") else fn())
    except MemoryError:
        return "MemoryError", None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e).__name__, None


def _compare(ember_fn, torch_fn):
    got, expected = _outcome(ember_fn), _outcome(torch_fn)
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "ok":
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)


@pytest.mark.parametrize("index", [-1, 16, 2 ** 40, 15, -(2 ** 62)])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_hostile_indices(n, index):
    shape = (1, 1) + (1,) * (n - 1) + (2,)
    idx = np.zeros(shape, np.int64)
    idx.reshape(-1)[0] = index
    x = np.arange(1.0, 3.0, dtype=np.float32).reshape(shape)
    em, tf = getattr(F, f"max_unpool{n}d"), getattr(TF, f"max_unpool{n}d")
    _compare(lambda: em(ember.tensor(x), ember.tensor(idx), 4),
             lambda: tf(torch.tensor(x), torch.tensor(idx), 4))


def test_max_unpool_wrong_index_dtype():
    with pytest.raises(RuntimeError, match="should be type int64 but got: Int"):
        F.max_unpool2d(ember.rand(1, 1, 2, 2), ember.zeros(1, 1, 2, 2, dtype=ember.int32), 2)


@pytest.mark.parametrize("targets", [[-1, 0], [3, 0], [2 ** 40, 0], [-100, 0], [-100, -100],
                                     [-101, 0], [-(2 ** 62), 0]])
@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
def test_class_targets_hostile(loss, targets):
    x = np.log(np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], np.float32))
    _compare(lambda: getattr(F, loss)(ember.tensor(x), ember.tensor(targets)),
             lambda: getattr(TF, loss)(torch.tensor(x), torch.tensor(targets)))


@pytest.mark.parametrize("dtype", ["int32", "float32", "uint8"])
def test_class_targets_dtype(dtype):
    x = np.zeros((2, 3), np.float32)
    t = np.array([255 if dtype == "uint8" else 1, 0]).astype(dtype)
    _compare(lambda: F.nll_loss(ember.tensor(x), ember.tensor(t)),
             lambda: TF.nll_loss(torch.tensor(x), torch.tensor(t)))


def test_spatial_class_targets_hostile():
    for bad in (3, -2):
        t = np.array([[[0, bad], [0, 0]]])
        _compare(lambda: F.nll_loss(ember.zeros(1, 3, 2, 2), ember.tensor(t)),
                 lambda: TF.nll_loss(torch.zeros(1, 3, 2, 2), torch.tensor(t)))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(-1, -1, 0, 0), (-3, 0, 0, 0), (-4, 0, 0, 0), (-5, 0, 0, 0),
                                  (0, 0, -3, 0), (4, 0, 0, 0), (3, 3, 0, 0), (0, 0, 0, -9)])
def test_pad_hostile_amounts(mode, pads):
    x = np.arange(12.0, dtype=np.float32).reshape(1, 1, 3, 4)
    _compare(lambda: F.pad(ember.tensor(x), pads, mode=mode),
             lambda: TF.pad(torch.tensor(x), pads, mode=mode))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2, padding=-1), dict(kernel_size=0),
                                    dict(kernel_size=5), dict(kernel_size=2, stride=0),
                                    dict(kernel_size=2, dilation=0), dict(kernel_size=2)])
def test_unfold_hostile_sizes(kwargs):
    x = np.arange(12.0, dtype=np.float32).reshape(1, 1, 3, 4)
    _compare(lambda: F.unfold(ember.tensor(x), **kwargs), lambda: TF.unfold(torch.tensor(x), **kwargs))


@pytest.mark.parametrize("output_size,padding", [((3, 4), 0), ((4, 4), 0), ((-3, 4), 0),
                                                 ((3, 4), -1)])
def test_fold_hostile_sizes(output_size, padding):
    c = np.ones((1, 4, 6), np.float32)
    _compare(lambda: F.fold(ember.tensor(c), output_size, 2, padding=padding),
             lambda: TF.fold(torch.tensor(c), output_size, 2, padding=padding))
