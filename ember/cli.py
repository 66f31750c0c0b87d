"""The ``ember`` command line: ``ember --version``, ``ember demo``, ``ember explain ...``.

Each subcommand lives with its feature and registers itself through ``add_subcommand(subparsers)``;
this file only assembles them, importing each feature lazily so ``ember --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# (module, attribute) of each subcommand's registration function.
_SUBCOMMANDS = [
    ("ember.demo", "add_subcommand"),
    ("ember.explain.cli", "add_subcommand"),
]


def build_parser() -> argparse.ArgumentParser:
    from ember import __version__

    parser = argparse.ArgumentParser(
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
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
