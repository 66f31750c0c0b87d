"""The demo's first run compiles its kernels on two cores (ember/nn/_first_run.py over
ember/_kernels/_precompile.py): the job lists are the kernels the demo really calls, the two
processes never compile the same function, a helper's kernels are loaded here from numba's
cache, and everything still compiles here when no helper can help. No helper outlives it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numba
import pytest

from ember._kernels import _precompile
from ember.nn import _first_run

_CORES = _precompile._cores

# ---------------------------------------------------------------------------------------------
# the demo's lists
# ---------------------------------------------------------------------------------------------

_CALLED_BY_THE_DEMO = textwrap.dedent("""
    import gc, io, json, sys
    from numba.core.dispatcher import Dispatcher
    import ember
    from ember import demo
    from ember.nn import _first_run

    def overloads():
        return {(d.py_func.__module__ + "." + d.py_func.__qualname__, str(sig))
                for d in gc.get_objects() if isinstance(d, Dispatcher)
                and d.py_func.__module__.startswith("ember.") for sig in d.overloads}

    before = overloads()   # what importing ember compiled (the default generator's seeding)
    demo.train(epochs=1, limit=64, output_dir=None, stream=io.StringIO())
    called = overloads() - before
    here, helper = _first_run.demo_kernel_jobs()
    name = lambda d: d.py_func.__module__ + "." + d.py_func.__qualname__
    jobs = {(name(d), str(tuple(sig))) for d, sig in here + helper}

    def callees(d, seen):   # every numba function d calls (inlined ones too), at any depth
        for n in d.py_func.__code__.co_names:
            c = d.py_func.__globals__.get(n)
            if isinstance(c, Dispatcher) and name(c) not in seen:
                seen.add(name(c))
                callees(c, seen)
        return seen

    all_callees = set()
    for d, _ in here + helper:
        callees(d, all_callees)
    json.dump({"called": sorted(called), "jobs": sorted(jobs), "callees": sorted(all_callees)},
              sys.stdout)
""")


def test_the_lists_are_the_kernels_a_demo_run_calls():
    # a fresh process (kernels found in the cache, or compiled when it is cold) runs two
    # batches of 32 and the test set, as the command line does
    out = subprocess.run([sys.executable, "-c", _CALLED_BY_THE_DEMO], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    found = json.loads(out)
    called = {tuple(c) for c in found["called"]}
    jobs = {tuple(j) for j in found["jobs"]}
    # kernels compiled only inside another kernel's compilation are not calls of the demo's
    outermost = {c for c in called if c[0] not in found["callees"]}
    assert jobs - called == set(), "jobs the demo no longer calls (they compile for nothing)"
    assert outermost - jobs == set(), "kernels the demo calls that no list compiles ahead"


def test_the_two_lists_share_no_function():
    here, helper = _first_run.demo_kernel_jobs()
    assert _precompile._functions(here) & _precompile._functions(helper) == set()
    assert helper, "the helper has work"


# ---------------------------------------------------------------------------------------------
# compile_ahead on kernels of a module written for the test
# ---------------------------------------------------------------------------------------------

_KERNELS = '''
import numba
from numba import types

@numba.njit(cache=True)
def _shared_helper(x):
    return x * 2

@numba.njit(cache=True)
def double(x):
    return _shared_helper(x)

@numba.njit(cache=True)
def triple(x):
    return x * 3

@numba.njit(cache=True)
def also_doubles(x):
    return _shared_helper(x) + 0

@numba.njit(cache=True)
def via_module(x):
    return HELPERS.times_four(x)

HERE = [(double, (types.float64,))]
THERE = [(triple, (types.float64,)), (triple, (types.int64,))]
'''


@pytest.fixture
def kernels(tmp_path, monkeypatch):
    """A fresh module of cached kernels (its own cache, next to it), importable by a helper."""
    name = f"first_run_kernels_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}_helpers.py").write_text(
        "import numba\n\n@numba.njit(cache=True)\ndef times_four(x):\n    return 4 * x\n")
    (tmp_path / f"{name}.py").write_text(f"import {name}_helpers as HELPERS\n" + _KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)   # the cache in tmp_path/__pycache__
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    module = __import__(name)
    monkeypatch.setattr(_precompile, "_cores", lambda: 2)      # whatever this machine has
    command = ["-c", f"import {name} as k; from ember._kernels import _precompile; "
                     "_precompile.serve(k.THERE)"]
    return module, command


def _loaded(dispatcher, signature) -> bool:
    """Whether ``dispatcher`` got ``signature`` from the disk cache (not compiled here)."""
    return dispatcher._cache_hits.get(signature, 0) == 1 and \
        dispatcher._cache_misses.get(signature, 0) == 0


@pytest.fixture
def helpers(monkeypatch):
    """The helper processes compile_ahead starts (to check that each has exited, reaped)."""
    started, start = [], _precompile._start_helper

    def recorded(command):
        started.append(start(command))
        return started[-1]
    monkeypatch.setattr(_precompile, "_start_helper", recorded)
    return started


def _all_reaped(helpers) -> bool:
    return bool(helpers) and all(h.returncode is not None for h in helpers)


def test_the_helpers_kernels_are_compiled_there_and_loaded_here(kernels, helpers):
    k, command = kernels
    assert _precompile.compile_ahead(k.HERE, k.THERE, command) == "two processes"
    assert _all_reaped(helpers) and helpers[0].returncode == 0
    assert k.triple(2.0) == 6.0 and k.triple(2) == 6 and k.double(2.0) == 4.0
    assert all(_loaded(d, sig) for d, sig in k.THERE)
    assert k.double._cache_misses[k.HERE[0][1]] == 1          # compiled here
    # everything cached now: nothing starts, nothing compiles
    assert _precompile.compile_ahead(k.HERE, k.THERE, command) == "cached"
    assert len(helpers) == 1


def test_no_helper_where_no_process_can_start(kernels, monkeypatch):
    k, command = kernels

    def refuse(*args, **kwargs):
        raise PermissionError("no processes here")
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert _precompile.compile_ahead(k.HERE, k.THERE, command) == "one process"
    assert all(k.triple._cache_misses[sig] == 1 for _, sig in k.THERE)   # compiled here
    assert k.triple(2) == 6


def test_no_helper_where_the_cache_cannot_be_written(kernels, monkeypatch):
    # (the test runs as root here, for whom every folder is writable: os.access stands in)
    k, command = kernels
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    monkeypatch.setattr(subprocess, "Popen", None)             # would fail the test if used
    assert _precompile.compile_ahead(k.HERE, k.THERE, command) == "one process"
    assert k.triple(3.0) == 9.0


def test_no_helper_on_one_core(kernels, monkeypatch):
    k, command = kernels
    monkeypatch.setattr(_precompile, "_cores", _CORES)         # not the fixture's two
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(subprocess, "Popen", None)             # would fail the test if used
    assert _precompile.compile_ahead(k.HERE, k.THERE, command) == "one process"
    assert k.triple(3) == 9


def test_a_failing_helper_leaves_its_kernels_to_this_process(kernels, helpers):
    k, _ = kernels
    assert _precompile.compile_ahead(k.HERE, k.THERE, ["-c", "raise SystemExit(3)"]) == \
        "two processes"
    assert _all_reaped(helpers) and helpers[0].returncode == 3
    assert all(k.triple._cache_misses[sig] == 1 for _, sig in k.THERE)   # compiled here
    assert k.triple(4) == 12


def test_an_error_here_stops_and_reaps_the_helper(kernels, helpers, monkeypatch):
    # Ctrl-C (or any error) while this process compiles: the helper is told to stop, waited for
    k, command = kernels

    def interrupted(jobs):
        raise KeyboardInterrupt
    monkeypatch.setattr(_precompile, "compile_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _precompile.compile_ahead(k.HERE, k.THERE, command)
    assert _all_reaped(helpers)


def test_lists_sharing_a_function_are_refused(kernels):
    # double and also_doubles both compile and save _shared_helper: not in two processes
    k, command = kernels
    with pytest.raises(ValueError, match="both processes would compile _shared_helper"):
        _precompile.compile_ahead(k.HERE, [(k.also_doubles, (numba.types.float64,))], command)
    assert _precompile.cached_callees(k.double) == {k._shared_helper}
    assert _precompile.cached_callees(k.triple) == set()
    assert _precompile.cached_callees(k.via_module) == {k.HELPERS.times_four}


def test_a_stale_job_is_skipped_not_fatal(kernels):
    # a kernel whose arguments changed since the list was written: the call compiles later
    k, command = kernels
    stale = [(k.double, (numba.types.float64, numba.types.float64)), k.HERE[0]]
    assert _precompile.compile_ahead(stale, [], command) == "one process"
    assert k.double(1.5) == 3.0 and len(k.double.overloads) == 1


def test_the_helper_exits_when_its_parents_pipe_closes():
    # what happens when the parent is killed: the helper's stdin reaches its end
    # (the module loaded from its file alone: no need to import all of ember for this)
    load = ("import importlib.util as u, time; s = u.spec_from_file_location('p', "
            f"{_precompile.__file__!r}); p = u.module_from_spec(s); s.loader.exec_module(p); "
            "p.serve([]); time.sleep(120)")
    helper = subprocess.Popen([sys.executable, "-c", load], stdin=subprocess.PIPE)
    helper.stdin.close()
    assert helper.wait(timeout=120) == 0
