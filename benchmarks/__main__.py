"""``python -m benchmarks [name substrings] [--rounds R] [--repeat K] [--markdown]``."""
from __future__ import annotations

import argparse
import shlex
import sys

from benchmarks import harness

OUTPUT_FLAGS = ("--markdown", "--update-docs", "--list")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time ember against torch on the same inputs, each library in processes of "
                    "its own, and print the ember/torch time ratios.")
    parser.add_argument("names", nargs="*",
                        help="cases whose name or group contains one of these (default: all)")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="worker processes per library and case; the best round counts (3)")
    parser.add_argument("--repeat", type=positive_int, default=5,
                        help="timed repeats per round; their median is the round's figure (5)")
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds each repeat lasts at least, calling the case as often as "
                             "needed (0.1)")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the docs/benchmarks.md section(s) for these figures")
    parser.add_argument("--update-docs", nargs="?", const="docs/benchmarks.md", metavar="PATH",
                        help="write the section(s) into PATH (docs/benchmarks.md), replacing the "
                             "groups' previous figures")
    parser.add_argument("--list", action="store_true", help="list the selected cases and exit")
    return parser


def recorded_command(argv) -> str:
    """The command line that reproduces the figures, without the output-only flags."""
    kept, skip = [], False
    for arg in argv:
        if skip and not arg.startswith("-"):
            skip = False
            continue
        skip = arg == "--update-docs"
        if arg.split("=", 1)[0] not in OUTPUT_FLAGS:
            kept.append(arg)
    return " ".join(["python -m benchmarks", *map(shlex.quote, kept)])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    # The multi-process groups have their own driver (see bench_distributed's docstring).
    from benchmarks import bench_ddp, bench_distributed
    for bench in (bench_distributed, bench_ddp):
        if bench.selected(args.names):
            status = 0 if args.list else bench.main(args, argv)
            if args.list:
                print("\n".join(bench.list_lines()))
            asked = args.names
            args.names = [n for n in asked if not bench.selected([n])]
            if asked and not args.names:  # only this group's cases were asked for
                return status
    cases = harness.select(harness.discover(), args.names)
    if args.list:
        for c in cases:
            target = "-" if c.target is None else f"{c.target:g}"
            print(f"{c.group:<10} {c.name:<28} target {target:<5} {c.description}")
        return 0

    load = harness.load_average()
    print(f"{len(cases)} case(s), {args.rounds} round(s) each"
          + ("" if load is None else f"; load average {load:.2f}"), file=sys.stderr)
    print(harness.format_header(harness.name_width(cases)), file=sys.stderr)
    settings = dict(rounds=args.rounds, repeat=args.repeat, min_time=args.min_time)
    results = harness.run(cases, **settings)
    print(harness.format_table(results, **settings))
    if args.markdown or args.update_docs:
        markdown = harness.format_markdown(results, command=recorded_command(argv), load=load,
                                          **settings)
        if args.markdown:
            print("\n" + markdown)
        if args.update_docs:
            harness.update_docs(args.update_docs, markdown)
            print(f"updated {args.update_docs}", file=sys.stderr)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
