"""The ``ember`` command line: ``ember --version``, ``ember demo``, ``ember explain ...``.

Each subcommand lives with its feature and registers itself through ``add_subcommand(subparsers)``;
this file only assembles them, importing each feature lazily so ``ember --help`` stays fast.

Every error is one ``error: ...`` line on stderr and exit status 2 - no traceback for a bad
argument, a missing file or a size too large to make. argparse's own errors (unknown option, a
value of the wrong type) take that form through :class:`_Parser`; errors found after parsing are
raised by a subcommand as :class:`CommandError` and printed by :func:`main`.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

# (module, attribute) of each subcommand's registration function.
_SUBCOMMANDS = [
    ("ember.demo", "add_subcommand"),
    ("ember.explain.cli", "add_subcommand"),
    ("ember.onnx.cli", "add_subcommand"),
    ("ember.distributed.launch", "add_subcommand"),
]


class CommandError(Exception):
    """A bad argument found after parsing; the message says what was expected and what was
    given. :func:`main` prints it as ``error: <message>`` and exits with status 2."""


def output_directory(path) -> str:
    """Create the folder ``path`` for a command's files (and its parents) or raise a
    :class:`CommandError` saying why it cannot be one (a file there, a read-only place)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"the output folder {path} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create the output folder {path}: {e.strerror or e}") from None
    return path


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line that names the command (``error: ember explain
    matrix: argument --input: ...``) instead of a usage block; ``--help`` shows the usage.
    Subcommand parsers are of the same class (argparse makes them with ``type(parent)``)."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from ember import __version__

    parser = _Parser(
        prog="ember",
        description="ember: a PyTorch-compatible neural-network library on NumPy and numba.")
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, attr in _SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:  # a feature not built yet; anything else is a real error
            if e.name != module_name:
                raise
            continue
        getattr(module, attr)(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if argv is None:   # this process is the command's own: the console script, python -m ember
        _freeze_startup_objects()
    from ember._compile_note import compile_note
    try:
        with compile_note(terminal_only=True):  # a line if a kernel compiles (first run)
            return int(args.func(args) or 0)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _freeze_startup_objects() -> None:
    """Take the objects alive now (the modules of NumPy, numba and ember just imported) out of
    the garbage collector's sight for the rest of the process, as ``gc.freeze()`` does: they
    live until the end anyway, yet every full collection walks them, and so do the several
    that the interpreter runs when it exits (measured: 0.4 s of CPU after a warm ``ember demo``
    has finished, ~12% of the run, down to 0.05 s). Only the command line, which owns its
    process, does this; importing ember never changes the collector."""
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
