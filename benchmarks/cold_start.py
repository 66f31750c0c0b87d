"""Cold and warm start of ``ember demo``: wall and CPU seconds, and what compiles on a first run.

    python -m benchmarks.cold_start              # 2 cold runs, each followed by 2 warm ones
    python -m benchmarks.cold_start --rounds 3 --warm 3

A cold run has an empty numba cache (a fresh ``NUMBA_CACHE_DIR``), as the first ``ember demo``
after an install; a warm run reuses it. Python's bytecode is cached in a folder of its own
(``PYTHONPYCACHEPREFIX``) and made before the first run, as pip does at install time (with
``PYTHONDONTWRITEBYTECODE=1`` every run would compile ember's modules again, ~0.7-1 s). Each run
is a fresh process running the command line (``python -m ember demo``) with a listener on
numba's compile events; it reports each kernel compiled (the outermost compilation only: the
helpers a kernel compiles on the way are inside its figure) with the CPU seconds it took.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _child(report_path: str, output_dir: str) -> None:
    """Run ``ember demo`` here, recording numba's outermost compilations (CPU seconds)."""
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
                func = getattr(ev.data["dispatcher"], "py_func", None)
                compiled.append((f"{func.__module__}.{func.__qualname__}",
                                 str(ev.data["args"]), time.process_time() - self.start))

    event.register("numba:compile", Outermost())
    from ember import cli
    with open(os.devnull, "w") as quiet:
        sys.stdout = quiet
        try:
            cli.main(["demo", "--output-dir", output_dir])
        finally:
            sys.stdout = sys.__stdout__
    with open(report_path, "w") as f:
        json.dump(compiled, f)


def _run(env: dict, scratch: str) -> dict:
    """One child process: its wall and CPU seconds and its compilations."""
    report = os.path.join(scratch, "compiled.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmarks.cold_start", "--child", report,
                    os.path.join(scratch, "demo")], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(report) as f:
        compiled = json.load(f)
    return {"wall": wall, "cpu": cpu, "compiled": compiled}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="cold runs (default: 2)")
    parser.add_argument("--warm", type=int, default=2, help="warm runs after each (default: 2)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0

    with tempfile.TemporaryDirectory(prefix="ember-cold-start-") as scratch:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(scratch, "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPATH"] = os.pathsep.join(
            [os.getcwd()] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        subprocess.run([sys.executable, "-c", "import ember.demo, ember.nn, ember.optim, "
                        "ember.utils.data, ember.cli, benchmarks.cold_start"], env=env, check=True)
        print(f"load average at the start: {os.getloadavg()[0]:.2f}")
        last_cold = None
        for r in range(args.rounds):
            env["NUMBA_CACHE_DIR"] = os.path.join(scratch, f"numba-{r}")
            cold = _run(env, scratch)
            last_cold = cold
            print(f"cold: {cold['wall']:6.2f} s wall, {cold['cpu']:6.2f} s CPU, "
                  f"{len(cold['compiled'])} kernels compiled "
                  f"({sum(c[2] for c in cold['compiled']):.2f} s CPU)")
            for _ in range(args.warm):
                warm = _run(env, scratch)
                print(f"warm: {warm['wall']:6.2f} s wall, {warm['cpu']:6.2f} s CPU, "
                      f"{len(warm['compiled'])} kernels compiled")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        print("\nkernels compiled by the last cold run (CPU seconds, outermost compilations):")
        for name, signature, seconds in sorted(last_cold["compiled"], key=lambda c: -c[2]):
            print(f"  {seconds:6.2f}  {name}  {signature[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
