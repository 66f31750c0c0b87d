"""The demo's first run compiles its kernels on several cores (ember/nn/_first_run.py over
ember/_kernels/_precompile.py): the recorded jobs are the kernels the demo really calls, two
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
    demo.train(epochs=1, output_dir=None, stream=io.StringIO())
    called = overloads() - before
    jobs = _first_run.demo_kernel_jobs()[0]
    name = lambda d: d.py_func.__module__ + "." + d.py_func.__qualname__

    def callees(d, seen):   # every numba function d calls (inlined ones too), at any depth
        for n in d.py_func.__code__.co_names:
            c = d.py_func.__globals__.get(n)
            if isinstance(c, Dispatcher) and name(c) not in seen:
                seen.add(name(c))
                callees(c, seen)
        return seen

    all_callees = set()
    for d, _ in jobs:
        callees(d, all_callees)
    json.dump({"called": sorted(called), "callees": sorted(all_callees),
               "jobs": sorted((name(d), str(tuple(sig))) for d, sig in jobs)}, sys.stdout)
""")


def test_the_recorded_kernels_are_the_kernels_a_demo_run_calls():
    # a fresh process (kernels found in the cache, or compiled when it is cold) runs an epoch
    # and the test set, as the command line does
    out = subprocess.run([sys.executable, "-c", _CALLED_BY_THE_DEMO], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    found = json.loads(out)
    called = {tuple(c) for c in found["called"]}
    jobs = {tuple(j) for j in found["jobs"]}
    # kernels compiled only inside another kernel's compilation are not calls of the demo's:
    # the numba functions they call, and (on a cold cache) the implementations of @overload
    # stubs, functions made inside another one (``<locals>``) that nothing else can call
    outermost = {c for c in called if c[0] not in found["callees"] and "<locals>" not in c[0]}
    again = "; record them again: python -m ember.nn._first_run --record"
    assert jobs - called == set(), "jobs the demo no longer calls (compiled for nothing)" + again
    assert outermost - jobs == set(), "kernels the demo calls that no job compiles ahead" + again


def test_every_recorded_kernel_is_found():
    with open(_first_run.MANIFEST) as f:
        recorded = json.load(f)["kernels"]
    jobs, seconds, start_cost = _first_run.demo_kernel_jobs()
    assert len(jobs) == len(recorded) == len(seconds) and start_cost > 0
    assert [d.py_func.__qualname__ for d, _ in jobs] == [k["kernel"] for k in recorded]


def test_a_missing_or_broken_record_only_skips_compiling_ahead(tmp_path, monkeypatch):
    monkeypatch.setattr(_first_run, "MANIFEST", str(tmp_path / "missing.json"))
    monkeypatch.setattr(_first_run.demo_kernel_jobs, "__defaults__", (_first_run.MANIFEST,))
    assert _first_run.compile_demo_kernels() == "stale"
    broken = tmp_path / "broken.json"
    broken.write_text('{"helper_start_seconds": 1, "kernels": [{"module": "ember._kernels.pool", '
                      '"kernel": "_scatter_add_serial", "signature": [["array", "exec()", 2, '
                      '"C", false]], "seconds": 0.1}]}')
    monkeypatch.setattr(_first_run.demo_kernel_jobs, "__defaults__", (str(broken),))
    assert _first_run.compile_demo_kernels() == "stale"
    # a kernel renamed since: left out, the rest compiles ahead
    renamed = tmp_path / "renamed.json"
    renamed.write_text('{"helper_start_seconds": 1, "kernels": [{"module": "ember._kernels.pool", '
                       '"kernel": "_no_such_kernel", "signature": ["int64"], "seconds": 0.1}]}')
    assert _first_run.demo_kernel_jobs(str(renamed)) == ([], [], 1.0)
    with pytest.raises(ValueError, match="a module of ember"):
        renamed.write_text('{"helper_start_seconds": 1, "kernels": [{"module": "os", '
                           '"kernel": "system", "signature": [], "seconds": 0.1}]}')
        _first_run.demo_kernel_jobs(str(renamed))


# ---------------------------------------------------------------------------------------------
# numba types as data
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("numba_type", [
    numba.types.int64, numba.types.uint32, numba.types.float32, numba.types.boolean,
    numba.types.Array(numba.types.float32, 5, "C"),
    numba.types.Array(numba.types.float64, 3, "A", readonly=True),
    numba.types.Array(numba.types.int64, 2, "F"),
    numba.types.UniTuple(numba.types.int64, 3),
    numba.types.Tuple((numba.types.int64, numba.types.Array(numba.types.uint32, 1, "C"))),
])
def test_a_type_reads_back_as_written(numba_type):
    spec = _precompile.type_spec(numba_type)
    assert _precompile.numba_type(json.loads(json.dumps(spec))) == numba_type


def test_types_that_cannot_be_written_or_read():
    with pytest.raises(TypeError, match="expected an array, number, boolean or tuple type"):
        _precompile.type_spec(numba.types.unicode_type)
    for bad in ("object", ["array", "float32", 99, "C", False], ["array", "float32", 2, "Z",
                                                               False], ["list", "int64"], 3):
        with pytest.raises(ValueError, match="expected a type written by type_spec"):
            _precompile.numba_type(bad)


# ---------------------------------------------------------------------------------------------
# sharing the jobs out
# ---------------------------------------------------------------------------------------------

def test_split_gives_the_longest_first_to_whoever_finishes_it_first(kernels):
    k, _ = kernels
    jobs = [(k.double, (numba.types.float64,)), (k.triple, (numba.types.float64,)),
            (k.via_module, (numba.types.float64,))]
    # this process first: it needs no start; a helper takes the next one, started by then
    assert _precompile.split(jobs, [5.0, 3.0, 1.0], 2, start_cost=1.0) == [[0], [1, 2]]
    assert _precompile.split(jobs, [5.0, 4.5, 1.0], 2, start_cost=1.0) == [[0, 2], [1]]
    # a helper slower to start than this process to compile everything: no helper
    assert _precompile.split(jobs, [1.0, 1.0, 1.0], 2, start_cost=5.0) == [[0, 1, 2]]
    assert _precompile.split(jobs, [5.0, 3.0, 1.0], 4, start_cost=1.0) == [[0], [1], [2]]
    assert _precompile.split(jobs, None, 1) == [[0, 1, 2]]


def test_split_keeps_jobs_that_share_a_function_in_one_process(kernels):
    # double and also_doubles both compile and save _shared_helper; triple's two signatures
    k, _ = kernels
    f64, i64 = numba.types.float64, numba.types.int64
    jobs = [(k.double, (f64,)), (k.triple, (f64,)), (k.also_doubles, (f64,)),
            (k.triple, (i64,))]
    assert _precompile.split(jobs, [1.0] * 4, 4) == [[0, 2], [1, 3]]
    assert _precompile.cached_callees(k.double) == {k._shared_helper}
    assert _precompile.cached_callees(k.triple) == set()
    assert _precompile.cached_callees(k.via_module) == {k.HELPERS.times_four}


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

# double's compilation (3 s) here, triple's two (2 s) in a helper
JOBS = [(double, (types.float64,)), (triple, (types.float64,)), (triple, (types.int64,))]
SECONDS = [3.0, 1.0, 1.0]
MORE_JOBS = JOBS + [(via_module, (types.float64,))]   # the same first three: one index for all
'''


# a helper's side loads ember/_kernels/_precompile.py from its file alone, as ``p``: the test's
# kernels need numba, not all of ember (an import of ember takes a second on a busy machine)
_LOAD_PRECOMPILE = ("import importlib.util as u; s = u.spec_from_file_location('p', "
                    f"{_precompile.__file__!r}); p = u.module_from_spec(s); "
                    "s.loader.exec_module(p)")


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
    def command(indices):
        return ["-c", f"import sys, {name} as k; {_LOAD_PRECOMPILE}; "
                      "p.serve([k.MORE_JOBS[int(i)] for i in sys.argv[1:]])", *map(str, indices)]
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


def _ahead(k, command, **options):
    return _precompile.compile_ahead(k.JOBS, command, k.SECONDS, **options)


def test_the_helpers_kernels_are_compiled_there_and_loaded_here(kernels, helpers, monkeypatch):
    k, command = kernels
    monkeypatch.setattr(_precompile, "_cores", lambda: 8)
    # double here; triple's two signatures (one function) in one helper, via_module in another
    assert _precompile.compile_ahead(k.MORE_JOBS, command, [2.0, 1.0, 1.0, 2.0]) == \
        "3 processes"
    assert len(helpers) == 2 and _all_reaped(helpers)
    assert [h.returncode for h in helpers] == [0, 0]
    assert k.triple(2.0) == 6.0 and k.triple(2) == 6 and k.double(2.0) == 4.0
    assert k.via_module(1.0) == 4.0
    assert all(_loaded(d, sig) for d, sig in k.MORE_JOBS[1:])
    assert k.double._cache_misses[k.JOBS[0][1]] == 1          # compiled here
    # everything cached now: nothing starts, nothing compiles
    assert _precompile.compile_ahead(k.MORE_JOBS, command) == "cached"
    assert len(helpers) == 2


def test_no_helper_where_no_process_can_start(kernels, monkeypatch):
    k, command = kernels

    def refuse(*args, **kwargs):
        raise PermissionError("no processes here")
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert _ahead(k, command) == "one process"
    assert all(k.triple._cache_misses[sig] == 1 for _, sig in k.JOBS[1:])   # compiled here
    assert k.triple(2) == 6


def test_no_helper_where_the_cache_cannot_be_written(kernels, monkeypatch):
    # (the test runs as root here, for whom every folder is writable: os.access stands in)
    k, command = kernels
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    monkeypatch.setattr(subprocess, "Popen", None)             # would fail the test if used
    assert _ahead(k, command) == "one process"
    assert k.triple(3.0) == 9.0


def test_no_helper_on_one_core(kernels, monkeypatch):
    k, command = kernels
    monkeypatch.setattr(_precompile, "_cores", _CORES)         # not the fixture's two
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(subprocess, "Popen", None)             # would fail the test if used
    assert _ahead(k, command) == "one process"
    assert k.triple(3) == 9


def test_a_failing_helper_leaves_its_kernels_to_this_process(kernels, helpers):
    k, _ = kernels
    assert _ahead(k, lambda indices: ["-c", "raise SystemExit(3)"]) == "2 processes"
    assert _all_reaped(helpers) and helpers[0].returncode == 3
    assert all(k.triple._cache_misses[sig] == 1 for _, sig in k.JOBS[1:])   # compiled here
    assert k.triple(4) == 12


def test_an_error_here_stops_and_reaps_the_helper(kernels, helpers, monkeypatch):
    # Ctrl-C (or any error) while this process compiles: the helper is told to stop, waited for
    k, command = kernels

    def interrupted(jobs):
        raise KeyboardInterrupt
    monkeypatch.setattr(_precompile, "compile_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _ahead(k, command)
    assert _all_reaped(helpers)


def test_a_stale_job_is_skipped_not_fatal(kernels, monkeypatch):
    # a kernel whose arguments changed since the list was written: the call compiles later
    k, command = kernels
    monkeypatch.setattr(_precompile, "_cores", _CORES)
    stale = [(k.double, (numba.types.float64, numba.types.float64)), k.JOBS[0]]
    assert _precompile.compile_ahead(stale, command) in ("one process", "2 processes")
    assert k.double(1.5) == 3.0 and len(k.double.overloads) == 1


def test_the_helper_exits_when_its_parents_pipe_closes():
    # what happens when the parent is killed: the helper's stdin reaches its end
    # (the module loaded from its file alone: no need to import all of ember for this)
    load = f"import time; {_LOAD_PRECOMPILE}; p.serve([]); time.sleep(120)"
    helper = subprocess.Popen([sys.executable, "-c", load], stdin=subprocess.PIPE)
    helper.stdin.close()
    assert helper.wait(timeout=120) == 0


def test_record_writes_the_childs_findings_atomically(tmp_path, monkeypatch):
    # the child (a demo run on an empty cache) stood in for by one that prints its findings
    found = {"helper_start_seconds": 1.2, "kernels": [
        {"module": "ember._kernels.pool", "kernel": "_scatter_add_serial", "seconds": 0.1,
         "signature": [["array", "float32", 2, "C", False], "int64"]}]}
    monkeypatch.setattr(_first_run, "_RECORD", f"import json; print(json.dumps({found!r}))")
    path = tmp_path / "kernels.json"
    path.write_text("old")
    written = _first_run.record(str(path))
    assert json.loads(path.read_text()) == written and written["kernels"] == found["kernels"]
    assert len(path.read_text().splitlines()) == 7            # one line per kernel
    assert [p.name for p in tmp_path.iterdir()] == ["kernels.json"]   # no temporary left
