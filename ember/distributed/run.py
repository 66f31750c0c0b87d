"""``python -m ember.distributed.run ...``: the same launcher as ``ember run`` (torch's
``python -m torch.distributed.run`` is torchrun), without loading ember's other commands."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    from ..cli import CommandError, _Parser
    from .launch import add_subcommand
    parser = _Parser(prog="python -m ember.distributed.run")
    add_subcommand(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
