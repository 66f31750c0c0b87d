"""Cold and warm start of ``ember demo``: wall and CPU seconds, and what compiles on a first run.

    python -m benchmarks.cold_start              # 2 cold runs, each followed by 2 warm ones
    python -m benchmarks.cold_start --rounds 3 --warm 3
    python -m benchmarks.cold_start --one-process   # and each cold run again without helpers

A cold run has an empty numba cache (a fresh ``NUMBA_CACHE_DIR``), as the first ``ember demo``
after an install; a warm run reuses it. Python's bytecode is cached in a folder of its own
(``PYTHONPYCACHEPREFIX``) and made before the first run, as pip does at install time (with
``PYTHONDONTWRITEBYTECODE=1`` every run would compile ember's modules again, ~0.7-1 s). Each run
is a fresh process running the command line (``python -m ember demo``) with a listener on
numba's compile events; it reports each kernel compiled (the outermost compilation only: the
helpers a kernel compiles on the way are inside its figure) with the CPU seconds it took. (The
listener is this file's own, not ``_precompile.recorded_compilations``: it must be registered
before ember is imported, which compiles the default generator's seeding.)
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


def _child(report_path: str, output_dir: str, one_process: bool = False) -> None:
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

    event.register("numba:compile", Outermost())   # before importing ember, which compiles
    from ember._kernels import _precompile
    started = []      # this process's CPU seconds when each helper started
    start_helper = _precompile._start_helper

    def timed_start(command):
        started.append(time.process_time())
        return None if one_process else start_helper(command)   # as where none can start

    waits = []        # per helper: this process's CPU seconds, the helper's own CPU, wall waited
    wait = _precompile._wait

    def timed_wait(helper, timeout):
        own, reaped = time.process_time(), _children_cpu()
        start = time.perf_counter()
        wait(helper, timeout)        # reaps it: its CPU joins RUSAGE_CHILDREN
        waits.append((own, _children_cpu() - reaped, time.perf_counter() - start))

    _precompile._start_helper, _precompile._wait = timed_start, timed_wait
    from ember import cli
    with open(os.devnull, "w") as quiet:
        sys.stdout = quiet
        try:
            sys.argv = ["ember", "demo", "--output-dir", output_dir]
            cli.main()       # as the console script calls it
        finally:
            sys.stdout = sys.__stdout__
    own_cpu = time.process_time()
    with open(report_path, "w") as f:
        json.dump({"compiled": compiled, "own_cpu": own_cpu, "helper_cpu": _children_cpu(),
                   "waited": sum(w[2] for w in waits),
                   "critical": _critical_path(own_cpu, started, waits)}, f)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _critical_path(own_cpu, started, waits) -> float:
    """The run's length on an idle machine with a core per process, from CPU seconds alone (a
    loaded machine's wall time says little): this process's own CPU, plus what it would have
    waited for the helper that finishes last, each helper's CPU counted from this process's
    CPU when it started (:func:`_run` adds the interpreter's exit)."""
    if not waits:
        return own_cpu
    ready = waits[0][0]        # this process's own compilations done
    last = max(start + cpu for start, (_, cpu, _) in zip(started, waits))
    return own_cpu + max(0.0, last - ready)


def _run(env: dict, scratch: str, one_process: bool = False) -> dict:
    """One child process: its wall and CPU seconds and its compilations."""
    report = os.path.join(scratch, "compiled.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmarks.cold_start", "--child", report,
                    os.path.join(scratch, "demo")] + (["--one-process"] if one_process else []),
                   env=env, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(report) as f:
        run = dict(json.load(f), wall=wall, cpu=cpu)
    # the interpreter's exit, after the report was written, is on the critical path too
    run["critical"] += max(0.0, cpu - run["helper_cpu"] - run["own_cpu"])
    return run


def _describe(run: dict) -> str:
    """Wall and CPU seconds of a run, the CPU split between the demo and its helper processes
    (and the wall seconds the demo waited for them), and what the demo compiled itself."""
    return (f"{run['wall']:6.2f} s wall, critical path {run['critical']:5.2f} s, "
            f"{run['cpu']:6.2f} s CPU ({run['own_cpu']:.2f} demo + "
            f"{run['helper_cpu']:.2f} helpers, waited for {run['waited']:.2f} s), "
            f"{len(run['compiled'])} kernels compiled by the demo "
            f"({sum(c[2] for c in run['compiled']):.2f} s CPU), load {os.getloadavg()[0]:.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="cold runs (default: 2)")
    parser.add_argument("--warm", type=int, default=2, help="warm runs after each (default: 2)")
    parser.add_argument("--one-process", action="store_true",
                        help="after each cold run, one without helper processes")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child, one_process=args.one_process)
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
            print(f"cold: {_describe(cold)}")
            if args.one_process:
                env["NUMBA_CACHE_DIR"] = os.path.join(scratch, f"numba-{r}-one")
                print(f"cold, one process: {_describe(_run(env, scratch, one_process=True))}")
                env["NUMBA_CACHE_DIR"] = os.path.join(scratch, f"numba-{r}")
            for _ in range(args.warm):
                print(f"warm: {_describe(_run(env, scratch))}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        print("\nkernels compiled by the last cold run (CPU seconds, outermost compilations):")
        for name, signature, seconds in sorted(last_cold["compiled"], key=lambda c: -c[2]):
            print(f"  {seconds:6.2f}  {name}  {signature[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
