"""Compile a program's kernels before their first call, spread over processes, one per core.

numba compiles one function at a time in a process (its global compiler lock), so a first run
that needs a dozen kernels pays their compile times end to end on one core. Helper processes
that import the same kernels and compile other parts of the list use the other cores, and
numba's on-disk cache (``cache=True``) hands their results over: once a helper has exited, this
process loads each of its kernels in milliseconds. When everything is cached already (every run
after the first) nothing starts: :func:`compile_ahead` reads the cache's index files and returns.

A job is ``(dispatcher, signature)``, the signature a tuple of numba types, exactly as a call
with such arguments types them (``numba.typeof``): then the call finds the compiled overload,
and the cache key is the one a call would have used. :func:`type_spec` and :func:`numba_type`
write such a type as JSON and read it back (a list of jobs recorded once, kept as data).

Two processes never compile the same function at once. numba's cache adds a signature by reading
the function's index, taking the next free data-file number and writing both files
(numba/core/caching.py, ``IndexDataCacheFile.save``): each write is atomic (a temporary file and
a rename), but two processes adding *different* signatures of one function at the same time can
pair one's index entry with the other's machine code, which would later run with the wrong
argument types. So :func:`split` keeps together the jobs that share a function, or a cached
function that their kernels call (:func:`cached_callees` finds those); and this process calls
none of the helpers' kernels before they have exited (:func:`compile_ahead` waits for them,
then loads their kernels, compiling here whatever a helper did not leave in the cache).

A helper never outlives its parent: the parent waits for it (on an error or Ctrl-C too, after
closing the pipe that tells it to stop), and the helper exits by itself when that pipe closes,
the parent killed, at the end of the kernel it is compiling.
Where no process can be started, the cache folder is not writable (the helpers' work could
not be handed over) or this process has one core (the two would take turns on it), everything
compiles here, as without this module.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import types

#: The helper's time limit, seconds: past it the helper is stopped and its kernels compile here.
#: Its list takes a few seconds on a quiet machine; a loaded one can take ten times that.
HELPER_TIMEOUT = 300.0
#: How long a stopped helper may take to finish the kernel it is compiling before it is killed.
STOP_TIMEOUT = 60.0
#: The most processes (this one and its helpers) that compile at once: each helper imports the
#: program again (most of a second of CPU, ~200 MB), which more than this never pays back.
MAX_PROCESSES = 4


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


def type_spec(numba_type):
    """A numba argument type as JSON-ready data: ``"int64"``, ``"bool"``, ``["array", dtype,
    ndim, layout, readonly]``, ``["tuple", item, ...]``. Raises TypeError for other types (a
    job list holds arrays, numbers and tuples of them)."""
    from numba import types

    if type(numba_type) is types.Array and numba_type.aligned:
        return ["array", type_spec(numba_type.dtype), numba_type.ndim, numba_type.layout,
                not numba_type.mutable]
    if isinstance(numba_type, types.BaseTuple) and not isinstance(numba_type, types.NamedTuple):
        return ["tuple"] + [type_spec(t) for t in numba_type]
    if numba_type in _scalars().values():
        return str(numba_type)
    raise TypeError(f"expected an array, number, boolean or tuple type, got {numba_type}")


def numba_type(spec):
    """The numba type :func:`type_spec` wrote as ``spec``; a ValueError names what it cannot
    read (the data come from a file: nothing in it is evaluated)."""
    from numba import types

    if isinstance(spec, str) and spec in _scalars():
        return _scalars()[spec]
    if isinstance(spec, list) and spec[:1] == ["tuple"]:
        return types.Tuple(tuple(numba_type(item) for item in spec[1:]))
    if isinstance(spec, list) and len(spec) == 5 and spec[0] == "array":
        _, dtype, ndim, layout, readonly = spec
        if isinstance(ndim, int) and 0 <= ndim <= 32 and layout in ("C", "F", "A") and \
                isinstance(readonly, bool) and isinstance(dtype, str) and dtype in _scalars():
            return types.Array(_scalars()[dtype], ndim, layout, readonly=readonly)
    raise ValueError(f"expected a type written by type_spec, got {spec!r}")


def _scalars() -> dict:
    from numba import types

    return {str(t): t for t in (*types.number_domain, types.boolean)}


def split(jobs, seconds, processes: int, start_cost: float = 0.0) -> list:
    """Share ``jobs`` out among ``processes`` processes: lists of indices into ``jobs``, this
    process's first (maybe empty), then one per helper that has work. ``seconds``: each job's
    compile time (None: one each); ``start_cost``: the seconds a helper spends starting (its
    imports) before it compiles, which this process, already started, spends compiling.

    Jobs that share a function, or a cached function their kernels call, go to one process (see
    the module docstring). The groups go longest first to the process that would finish them
    first, which gives the longest kernel to this process when no helper could finish it sooner.
    """
    seconds = [1.0] * len(jobs) if seconds is None else list(seconds)
    groups = _sharing_groups(jobs)
    groups.sort(key=lambda group: -sum(seconds[i] for i in group))
    loads = [0.0] + [start_cost] * (max(1, processes) - 1)
    lists = [[] for _ in loads]
    for group in groups:
        first_done = min(range(len(loads)), key=lambda p: loads[p])
        lists[first_done].extend(group)
        loads[first_done] += sum(seconds[i] for i in group)
    return [sorted(lists[0])] + [sorted(each) for each in lists[1:] if each]


def compile_ahead(jobs, helper_command, seconds=None, start_cost: float = 0.0) -> str:
    """Compile ``jobs`` (or find them in the cache), those not cached yet shared out by
    :func:`split` between this process and helpers, one per core (at most MAX_PROCESSES in
    all), at the same time; return when all are compiled and loaded. ``helper_command(indices)``
    gives a helper's arguments to this Python: it must call :func:`serve` on those ``jobs``.
    ``seconds`` and ``start_cost`` steer the split (see there).

    Returns what happened: ``"cached"`` (nothing to compile), ``"N processes"`` (N - 1 helpers
    started), ``"one process"`` (no helper could help) or ``"unknown"`` (this numba's cache
    cannot be inspected: nothing is done, calls compile as they come)."""
    jobs = list(jobs)
    states = [is_cached(d, s) for d, s in jobs]
    if None in states:
        return "unknown"
    missing = [i for i, cached in enumerate(states) if not cached]
    if not missing:
        return "cached"
    processes = min(_cores(), MAX_PROCESSES) if _writable(jobs[i][0] for i in missing) else 1
    cost = None if seconds is None else [seconds[i] for i in missing]
    here, *there = split([jobs[i] for i in missing], cost, processes, start_cost)
    helpers = []
    try:
        for each in there:
            helper = _start_helper(helper_command([missing[i] for i in each]))
            if helper is None:
                break       # where one cannot start, none can: the rest compiles here
            helpers.append(helper)
        compile_all(jobs[missing[i]] for i in here)
        deadline = time.monotonic() + HELPER_TIMEOUT
        for helper in helpers:
            _wait(helper, max(0.0, deadline - time.monotonic()))
    finally:
        for helper in helpers:
            _stop(helper)
    compile_all(jobs)   # loads what the helpers left in the cache, compiles the rest
    return f"{len(helpers) + 1} processes" if helpers else "one process"


@contextlib.contextmanager
def recorded_compilations():
    """Inside the block, record each compilation numba runs in this process as a
    ``(dispatcher, argument types, CPU seconds)`` tuple in the list it yields: the outermost
    ones only (the numba functions a kernel compiles on its way are inside its figure); the
    disk cache's hits are not compilations."""
    from numba.core import event

    compiled = []

    class Outermost(event.Listener):
        depth = 0
        start = 0.0

        def on_start(self, ev):
            if self.depth == 0:
                self.start = time.process_time()
            self.depth += 1

        def on_end(self, ev):
            self.depth -= 1
            if self.depth == 0:
                compiled.append((ev.data["dispatcher"], tuple(ev.data["args"]),
                                 time.process_time() - self.start))

    listener = Outermost()
    event.register("numba:compile", listener)
    try:
        yield compiled
    finally:
        event.unregister("numba:compile", listener)


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


def _sharing_groups(jobs) -> list:
    """The indices of ``jobs`` in groups that share no function (:func:`_functions`) with each
    other: the jobs that must compile in one process."""
    groups = []     # (functions, indices), merged as a job links them
    for i, job in enumerate(jobs):
        functions, indices = _functions([job]), [i]
        for group in [g for g in groups if g[0] & functions]:
            groups.remove(group)
            functions |= group[0]
            indices += group[1]
        groups.append((functions, indices))
    return [sorted(indices) for _, indices in groups]


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
