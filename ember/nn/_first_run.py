"""The kernels of ``ember demo``, compiled on several cores on its first run.

The demo (ember/demo.py) trains a small float32 CNN (Conv2d, ReLU, MaxPool2d, Linear, Adam) on
one thread. On a fresh install its first run compiles a dozen or more numba kernels, ~10 s of
CPU, one after the other in one process; :func:`compile_demo_kernels` compiles them before
training instead, shared out between this process and helper processes, one per core
(ember/_kernels/_precompile.py says how, and why two processes never compile one function).
Every later run finds them in numba's cache.

Which kernels, with which signatures, and how long each takes to compile is data, recorded from
a run of the demo: ember/data/demo_kernels.json. Whoever changes the kernels the demo calls
(a new engine, another argument) records it again::

    python -m ember.nn._first_run --record

and tests/nn/test_first_run.py fails until the file and the kernels a demo run calls agree.
A file gone stale costs time on a first run, never a failure.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile

from .._kernels import _precompile

#: The recorded jobs: kernel, signature (``_precompile.type_spec``) and compile CPU seconds.
MANIFEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "demo_kernels.json")


def demo_kernel_jobs(path: str = MANIFEST):
    """``(jobs, seconds, start_cost)`` from the recorded file: the ``(dispatcher, signature)``
    jobs in the order the demo first calls them, each one's compile seconds, and the CPU
    seconds a helper takes to start (its imports). A job whose kernel is gone is left out.
    Raises OSError or ValueError for a missing or unreadable file."""
    with open(path, encoding="utf-8") as f:
        recorded = json.load(f)
    jobs, seconds = [], []
    for entry in recorded["kernels"]:
        dispatcher = _dispatcher(entry["module"], entry["kernel"])
        if dispatcher is not None:
            jobs.append((dispatcher, tuple(map(_precompile.numba_type, entry["signature"]))))
            seconds.append(float(entry["seconds"]))
    return jobs, seconds, float(recorded["helper_start_seconds"])


def _dispatcher(module_name: str, qualname: str):
    """The numba function of ember's module ``module_name`` whose Python function is named
    ``qualname`` (a ``@parallel_kernel``'s twins are attributes of its dispatch function), or
    None."""
    from numba.core.dispatcher import Dispatcher

    if not (isinstance(module_name, str) and module_name.startswith("ember.")):
        raise ValueError(f"expected a module of ember, got {module_name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    for value in list(vars(module).values()):
        for candidate in (value, getattr(value, "serial", None), getattr(value, "parallel", None)):
            if isinstance(candidate, Dispatcher) and candidate.py_func.__qualname__ == qualname:
                return candidate
    return None


def helper_command(indices) -> list:
    """A helper's arguments to Python: compile the demo's jobs at ``indices``."""
    return ["-c", "import sys; from ember.nn._first_run import serve_helper; "
                  "serve_helper(sys.argv[1:])", *map(str, indices)]


def serve_helper(indices) -> None:
    """What a helper process started by :func:`compile_demo_kernels` runs."""
    jobs = demo_kernel_jobs()[0]
    _precompile.serve([jobs[int(i)] for i in indices])


def compile_demo_kernels() -> str:
    """Compile (first run) or find in the cache the demo's kernels, on several cores where
    helper processes can start; returns what happened (see ``_precompile.compile_ahead``), or
    ``"stale"`` where the recorded file is missing or unreadable (the demo then compiles as it
    goes)."""
    try:
        jobs, seconds, start_cost = demo_kernel_jobs()
    except (OSError, ValueError, KeyError, TypeError):
        return "stale"
    return _precompile.compile_ahead(jobs, helper_command, seconds, start_cost)


# ---------------------------------------------------------------------------------------------
# recording: a demo run on an empty cache, in a process of its own
# ---------------------------------------------------------------------------------------------

_RECORD = """
import io, json, sys, time
import ember.nn._first_run              # what a helper imports before it compiles
from ember._kernels import _precompile
from ember import demo
start_cost = time.process_time()        # CPU seconds since this process started
with _precompile.recorded_compilations() as compiled:
    demo.train(epochs=1, output_dir=None, stream=io.StringIO())
json.dump({"helper_start_seconds": round(start_cost, 2), "kernels": [
    {"module": d.py_func.__module__, "kernel": d.py_func.__qualname__,
     "signature": [_precompile.type_spec(t) for t in args], "seconds": round(seconds, 2)}
    for d, args, seconds in compiled]}, sys.stdout)
"""


def record(path: str = MANIFEST) -> dict:
    """Run one epoch of the demo in a fresh process with an empty numba cache, and write the
    kernels it compiled (the outermost compilations, in order, with their CPU seconds) to
    ``path``, atomically. Returns what was written."""
    with tempfile.TemporaryDirectory(prefix="ember-record-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _RECORD], env=env, check=True,
                             capture_output=True, text=True).stdout
    recorded = json.loads(out)
    recorded = {"about": "the numba kernels of `ember demo`, recorded by `python -m "
                         "ember.nn._first_run --record` (see ember/nn/_first_run.py)",
                **recorded}
    from ..serialization import _atomic_write   # torch.save's: temporary file, fsync, rename
    _atomic_write(path, _as_text(recorded).encode("utf-8"))
    return recorded


def _as_text(recorded: dict) -> str:
    """JSON with one line per kernel, so that a change reads as a change of lines."""
    kernels = ",\n".join("  " + json.dumps(k) for k in recorded["kernels"])
    head = ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}"
                      for key, value in recorded.items() if key != "kernels")
    return f'{{\n{head},\n "kernels": [\n{kernels}\n ]\n}}\n'


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m ember.nn._first_run --record")
    written = record()
    total = sum(k["seconds"] for k in written["kernels"])
    print(f"{len(written['kernels'])} kernels ({total:.1f} s of compilation) -> {MANIFEST}")
