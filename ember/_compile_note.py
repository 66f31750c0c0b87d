"""The command line's one-line note while ember's numba kernels compile.

ember's kernels are compiled on first use and cached on disk (ember/__init__.py picks the cache
folder), so only a first run pays: a few seconds in which ``ember demo`` would otherwise sit
silent. :func:`compile_note` prints one line, once, when the first ember kernel actually
compiles; a run that finds everything in the cache prints nothing.

numba announces a compilation (a cache miss, never a cache hit: numba/core/dispatcher.py
triggers ``numba:compile`` only after ``load_overload`` found nothing) to listeners registered
process-wide, so the listener is registered only inside the block and only reacts to functions
defined in ember's own modules: the library itself never prints, nor notices the user's numba
code. The command line shows the note only when stderr is a terminal, as git shows its progress:
a log or a pipe gets the command's own output and errors alone (every error one ``error:``
line, whatever the cache held).
"""
from __future__ import annotations

import contextlib
import sys

NOTE = "ember: compiling kernels (first run only; cached for the next runs)..."


@contextlib.contextmanager
def compile_note(stream=None, note: str = NOTE, terminal_only: bool = False):
    """Inside the block, write ``note`` and a newline to ``stream`` (stderr by default) when
    the first of ember's kernels starts compiling; at most once, and with ``terminal_only``
    only if the stream is a terminal. Yields the listener, whose ``printed`` says whether the
    note was written."""
    from numba.core import event

    class _FirstCompile(event.Listener):
        decided = printed = False   # decided at the first of ember's compilations

        def on_start(self, ev):
            if self.decided:
                return
            func = getattr((ev.data or {}).get("dispatcher"), "py_func", None)
            module = getattr(func, "__module__", None) or ""
            if module == "ember" or module.startswith("ember."):
                self.decided = True
                out = stream if stream is not None else sys.stderr
                if terminal_only and not getattr(out, "isatty", lambda: False)():
                    return
                self.printed = True
                out.write(note + "\n")
                out.flush()

        def on_end(self, ev):
            pass

    listener = _FirstCompile()
    event.register("numba:compile", listener)
    try:
        yield listener
    finally:
        event.unregister("numba:compile", listener)
