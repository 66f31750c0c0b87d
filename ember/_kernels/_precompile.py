"""Compile a program's kernels before their first call, part of them in a second process.

numba compiles one function at a time in a process (its global compiler lock), so a first run
that needs a dozen kernels pays their compile times end to end on one core. A helper process
that imports the same kernels and compiles another part of the list uses a second core, and
numba's on-disk cache (``cache=True``) hands its results over: once the helper has exited, this
process loads each of its kernels in milliseconds. When everything is cached already (every run
after the first) nothing starts: :func:`compile_ahead` reads the cache's index files and returns.

A job is ``(dispatcher, signature)``, the signature a tuple of numba types, exactly as a call
with such arguments types them (``numba.typeof``): then the call finds the compiled overload,
and the cache key is the one a call would have used.

Two processes never compile the same function at once. numba's cache adds a signature by reading
the function's index, taking the next free data-file number and writing both files
(numba/core/caching.py, ``IndexDataCacheFile.save``): each write is atomic (a temporary file and
a rename), but two processes adding *different* signatures of one function at the same time can
pair one's index entry with the other's machine code, which would later run with the wrong
argument types. So the helper's jobs and this process's must not share a function, nor a cached
function that their kernels call (:func:`cached_callees` finds those); and this process calls
none of the helper's kernels before the helper has exited (:func:`compile_ahead` waits for it,
then loads them, compiling here whatever the helper did not leave in the cache).

The helper never outlives its parent: the parent waits for it (on an error or Ctrl-C too, after
closing the pipe that tells it to stop), and the helper exits by itself when that pipe closes,
the parent killed, at the end of the kernel it is compiling.
Where no process can be started, the cache folder is not writable (the helper's work could
not be handed over) or this process has one core (the two would take turns on it), everything
compiles here, as without this module.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import types

#: The helper's time limit, seconds: past it the helper is stopped and its kernels compile here.
#: Its list takes a few seconds on a quiet machine; a loaded one can take ten times that.
HELPER_TIMEOUT = 300.0
#: How long a stopped helper may take to finish the kernel it is compiling before it is killed.
STOP_TIMEOUT = 60.0


def is_cached(dispatcher, signature) -> bool | None:
    """Whether numba's on-disk cache holds ``dispatcher`` compiled for ``signature`` (fresh for
    its current source), without loading it; None if this numba's cache cannot be read so."""
    cache = dispatcher._cache
    try:
        key = cache._index_key(signature, dispatcher.targetctx.codegen())
        index = cache._cache_file._load_index()
    except AttributeError:     # numba's cache internals changed: say "unknown", not "missing"
        return None
    return key in index


def cached_callees(dispatcher) -> set:
    """The cached numba functions (``cache=True``) that ``dispatcher``'s kernel calls, directly
    or through other numba functions: compiling the kernel compiles and saves them too."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    found, todo, seen = set(), [dispatcher], set()
    while todo:
        func = todo.pop().py_func
        if id(func) in seen:
            continue
        seen.add(id(func))
        names = func.__code__.co_names
        # a name in the kernel's module, or an attribute of a module it names (``mod.kernel``)
        spaces = [func.__globals__] + [vars(m) for m in map(func.__globals__.get, names)
                                       if isinstance(m, types.ModuleType)]
        for callee in (space.get(name) for space in spaces for name in names):
            if isinstance(callee, Dispatcher):
                todo.append(callee)
                if not isinstance(callee._cache, NullCache):
                    found.add(callee)
    return found


def compile_all(jobs) -> None:
    """Compile (or load from the cache) each ``(dispatcher, signature)``, in order. A job that
    does not compile is skipped: compiling ahead only saves time, and a list gone stale (a
    kernel's arguments changed) must not stop the program, whose own call then compiles what
    it needs or raises its real error."""
    for dispatcher, signature in jobs:
        try:
            dispatcher.compile(tuple(signature))
        except Exception:   # numba's typing and lowering errors, whatever their class
            continue


def compile_ahead(jobs, helper_jobs, helper_command) -> str:
    """Compile ``jobs`` here and ``helper_jobs`` in a process started with ``helper_command``
    (arguments to this Python; it must call :func:`serve` on ``helper_jobs``), at the same
    time; return when all are compiled and loaded. Returns what happened: ``"cached"`` (nothing
    to compile), ``"two processes"``, ``"one process"`` (no helper could help) or
    ``"unknown"`` (this numba's cache cannot be inspected: nothing is done, calls compile as
    they come).

    The two lists must share no function (see the module docstring): a ValueError says which
    one if they do."""
    shared = _functions(jobs) & _functions(helper_jobs)
    if shared:
        names = sorted(d.py_func.__qualname__ for d in shared)
        raise ValueError(f"compile_ahead: both processes would compile {', '.join(names)}")
    states = [is_cached(d, s) for d, s in list(jobs) + list(helper_jobs)]
    if None in states:
        return "unknown"
    if all(states):
        return "cached"
    missing_there = [job for job, cached in zip(helper_jobs, states[len(jobs):]) if not cached]
    helper = _start_helper(helper_command) if missing_there and _cores() > 1 and \
        _writable(d for d, _ in missing_there) else None
    try:
        compile_all(jobs)
        if helper is not None:
            _wait(helper, HELPER_TIMEOUT)
    finally:
        if helper is not None:
            _stop(helper)
    compile_all(helper_jobs)   # loads what the helper left in the cache, compiles the rest
    return "two processes" if helper is not None else "one process"


def serve(jobs) -> None:
    """The helper's side: compile ``jobs``, and exit early when the parent's pipe (stdin)
    closes (the parent stopping it, or killed), but never in the middle of a compilation:
    numba writes a kernel's index before its data, and a helper killed between the two would
    leave an index entry whose data file is missing, or stale."""
    from numba.core.compiler_lock import global_compiler_lock

    def exit_with_parent():
        # os.read, not sys.stdin's buffered reader: a daemon thread blocked holding that
        # reader's lock makes the interpreter abort at its normal exit
        try:
            while os.read(stdin, 1 << 12):
                pass                     # until end of file
        except OSError:
            return                       # no pipe: run to the end
        with global_compiler_lock:       # between two compilations
            os._exit(0)

    try:
        stdin = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        stdin = -1

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C stops it through its parent
    threading.Thread(target=exit_with_parent, daemon=True).start()
    compile_all(jobs)


def _functions(jobs) -> set:
    """The dispatchers ``jobs`` compile, with the cached functions they call."""
    found = set()
    for dispatcher, _ in jobs:
        found.add(dispatcher)
        found |= cached_callees(dispatcher)
    return found


def _cores() -> int:
    """The cores this process may run on: with one, a helper would only take turns with it."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not on Linux
        return os.cpu_count() or 1


def _writable(dispatchers) -> bool:
    """Whether the cache folder of every one of ``dispatchers`` can be written to."""
    try:
        return all(os.access(d._cache.cache_path, os.W_OK) for d in dispatchers)
    except AttributeError:
        return False


def _start_helper(command):
    """The helper process (stdin a pipe it watches, no output), or None where none can start."""
    if not sys.executable or getattr(sys, "frozen", False):
        return None   # no Python to start (embedded), or it is the frozen application itself
    # the helper must import this very ember (the cache is kept per source file): its folder
    # first on the path, and not the current folder before it (PYTHONSAFEPATH, Python 3.11+)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=package_root + (os.pathsep + path if path else ""),
               PYTHONSAFEPATH="1")
    try:
        return subprocess.Popen([sys.executable, *command], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    except (OSError, ValueError):   # no process can be started here (a sandbox, no fork)
        return None


def _wait(helper, timeout: float) -> None:
    try:
        helper.wait(timeout)
    except subprocess.TimeoutExpired:
        pass                      # _stop stops it; its kernels compile here


def _stop(helper) -> None:
    """Close the helper's pipe, wait for it to exit (it finishes the kernel it is compiling)
    and reap it, so that it never outlives this call; kill it only past STOP_TIMEOUT."""
    try:
        helper.stdin.close()
    except OSError:
        pass
    try:
        helper.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()
