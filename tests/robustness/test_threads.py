"""Threads and the host process (issue 14, items 5 and 6): grad mode is per thread, as torch's,
and importing ember leaves numba's process-wide threading layer usable by the user's own code."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import ember
from ember.autograd import Function

_TIMEOUT = 10  # seconds any thread here may wait for another; a hang fails instead of blocking CI


def _in_thread(fn):
    """Run ``fn`` in a new thread and return its result (re-raising its exception)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001  (handed back to the test thread)
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(_TIMEOUT)
    assert not t.is_alive(), "thread did not finish"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _hold_mode_in_thread(mode_cm):
    """Start a thread that enters ``mode_cm()`` and stays inside until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def run():
        with mode_cm():
            entered.set()
            release.wait(_TIMEOUT)

    t = threading.Thread(target=run)
    t.start()
    assert entered.wait(_TIMEOUT)
    return t, release


def test_no_grad_in_another_thread_leaves_this_thread_recording():
    x = ember.ones(3, requires_grad=True)
    for mode in (ember.no_grad, ember.inference_mode, lambda: ember.set_grad_enabled(False)):
        t, release = _hold_mode_in_thread(mode)
        try:
            assert ember.is_grad_enabled()
            assert (x * 2).requires_grad
        finally:
            release.set()
            t.join(_TIMEOUT)


def test_new_thread_starts_with_grad_enabled_as_torch():
    import torch
    with ember.no_grad(), torch.no_grad():
        assert _in_thread(ember.is_grad_enabled) is _in_thread(torch.is_grad_enabled) is True
        assert not ember.is_grad_enabled()
    with ember.inference_mode(), torch.inference_mode():
        assert _in_thread(ember.is_grad_enabled) is _in_thread(torch.is_grad_enabled) is True


def test_no_grad_in_a_thread_stays_in_that_thread():
    x = ember.ones(3, requires_grad=True)

    def eval_step():
        with ember.no_grad():
            return (x * 2).requires_grad, ember.is_grad_enabled()

    assert _in_thread(eval_step) == (False, False)
    assert ember.is_grad_enabled() and (x * 2).requires_grad


class _WaitInBackward(Function):
    """Identity whose backward signals, then waits: lets a test look at other threads mid-backward."""
    inside = threading.Event()
    release = threading.Event()

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        _WaitInBackward.grad_enabled_inside = ember.is_grad_enabled()
        _WaitInBackward.inside.set()
        _WaitInBackward.release.wait(_TIMEOUT)
        return g


def test_backward_in_one_thread_does_not_turn_grad_off_in_others():
    x = ember.ones(3, requires_grad=True)
    y = _WaitInBackward.apply(x).sum()
    t = threading.Thread(target=y.backward)
    t.start()
    try:
        assert _WaitInBackward.inside.wait(_TIMEOUT)
        assert ember.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        _WaitInBackward.release.set()
        t.join(_TIMEOUT)
    assert _WaitInBackward.grad_enabled_inside is False  # backward itself is not recorded, as torch
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3, np.float32))


def test_training_beside_an_evaluation_thread():
    """The issue's report: a training loop beside an evaluation thread lost every step."""
    lin = ember.nn.Linear(4, 2)
    data = ember.randn(8, 4)
    stop = threading.Event()

    def evaluate():
        while not stop.is_set():
            with ember.no_grad():
                lin(data)

    t = threading.Thread(target=evaluate)
    t.start()
    lost = 0
    try:
        for _ in range(200):
            out = lin(data)
            lost += not out.requires_grad
    finally:
        stop.set()
        t.join(_TIMEOUT)
    assert lost == 0


_USER_NUMBA_BESIDE_EMBER = textwrap.dedent("""
    import threading, time
    import numpy as np
    import numba

    @numba.njit(parallel=True)
    def user_kernel(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += np.sqrt(a[i])
        return s

    import ember
    import ember.nn.functional as F

    a = np.random.rand(1 << 20)
    user_kernel(a)
    x = ember.randn(8, 16, 64, 64, requires_grad=True)
    w = ember.randn(16, 16, 3, 3, requires_grad=True)

    def ember_step():
        y = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)
        y.sum().backward()

    ember_step()  # compiled (or loaded from numba's cache) before the threads race
    stop = time.monotonic() + {seconds}
    calls = {{"user": 0, "ember": 0}}

    def user_loop():
        while time.monotonic() < stop:
            user_kernel(a)
            calls["user"] += 1

    t = threading.Thread(target=user_loop)
    t.start()
    while time.monotonic() < stop:
        ember_step()
        calls["ember"] += 1
    t.join()
    print(numba.threading_layer(), calls)
""")


def test_user_parallel_numba_beside_ember_kernels_in_another_thread():
    """Importing ember must not make the user's own parallel numba code abort the process."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    proc = subprocess.run([sys.executable, "-c", _USER_NUMBA_BESIDE_EMBER.format(seconds=3)],
                          capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "'user': 0" not in proc.stdout and "'ember': 0" not in proc.stdout, proc.stdout


_LAYER_AFTER_A_KERNEL = textwrap.dedent("""
    import numba
    {before}
    import ember
    ember.relu(ember.randn(1 << 19))  # big enough for the parallel kernel
    print(numba.threading_layer())
""")


def _layer_in_fresh_process(before="", **env):
    env = {**{k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}, **env}
    proc = subprocess.run([sys.executable, "-c", _LAYER_AFTER_A_KERNEL.format(before=before)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()[-1]


def test_default_layer_is_tbb_when_the_tbb_package_is_installed():
    from importlib.metadata import PackageNotFoundError, version
    try:
        version("tbb")
    except PackageNotFoundError:
        pytest.skip("the tbb package is not installed")
    assert _layer_in_fresh_process() == "tbb"


def test_the_users_threading_layer_wins():
    assert _layer_in_fresh_process(NUMBA_THREADING_LAYER="workqueue") == "workqueue"
    assert _layer_in_fresh_process(before="numba.config.THREADING_LAYER = 'workqueue'") == "workqueue"


_FORKED_WORKERS = textwrap.dedent("""
    import ember
    from ember.utils.data import DataLoader, Dataset

    class Relu(Dataset):
        def __len__(self):
            return 4
        def __getitem__(self, i):
            return ember.relu(ember.randn(1 << 19)).sum()

    ember.relu(ember.randn(1 << 19))  # the parent ran a parallel region before forking
    loader = DataLoader(Relu(), batch_size=2, num_workers=2, multiprocessing_context="fork")
    print(sum(b.shape[0] for b in loader))
""")


def test_dataloader_fork_workers_after_a_parallel_kernel():
    proc = subprocess.run([sys.executable, "-c", _FORKED_WORKERS], capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "4"
