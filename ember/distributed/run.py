"""``python -m ember.distributed.run ...``: the same launcher as ``ember run`` (torch's
``python -m torch.distributed.run`` is torchrun), without loading ember's other commands."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    from ..cli import CommandError, _Parser
    from .launch import DESCRIPTION, add_arguments, cli_run
    parser = _Parser(prog="python -m ember.distributed.run", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return cli_run(args)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
