"""ember keeps freed memory for reuse (ember/_state.py, tune_malloc): a loop that frees the
arrays it allocates next does not page-fault them in again on every step; the user's own
settings and EMBER_MALLOC_TUNING=0 leave glibc's defaults."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="glibc's malloc tunables: Linux only")

# allocate two 1 MB arrays, free one, allocate a third: glibc's defaults fault ~2 MB per step
LOOP = """
import resource, sys, numpy as np
import ember
from ember import _state
keep = [np.ones(256000, np.float32) for _ in range(2)]
def step():
    a = np.empty(256000, np.float32); a[:] = 1
    b = np.empty(256000, np.float32); b[:] = 1
    del a
    c = np.empty(256000, np.float32); c[:] = 1
for _ in range(10):
    step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print(_state.malloc_tuning, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / 50)
"""


def run(**env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("MALLOC_") and k not in ("EMBER_MALLOC_TUNING", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", LOOP], env={**clean, **env}, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], float(out[1])


def test_a_steady_loop_does_not_fault_its_arrays_in_again():
    state, faults = run()
    if state == "unavailable":
        pytest.skip("not glibc")
    assert state == "tuned" and faults < 20


def test_opting_out_keeps_glibcs_defaults():
    """(also shows the test above can fail: the same loop faults ~500 pages per step)"""
    state, faults = run(EMBER_MALLOC_TUNING="0")
    assert state == "off" and faults > 100


def test_the_users_own_malloc_settings_win():
    state, _ = run(MALLOC_TRIM_THRESHOLD_="131072")
    assert state == "user"
