"""ember.distributed (issue 19): all-reduce of 1, 10 and 100 MB of float32 over 2 processes.

Three ways, each in processes of its own, rounds alternating their order:

- ``ember``: ``ember.distributed.all_reduce`` on an ember tensor (processes under ``mpiexec``);
- ``mpi``: the raw engine, mpi4py's ``Allreduce(IN_PLACE, buffer)`` on the same buffer size in
  the same kind of processes - the target is ember within 1.2x of it: what ember adds (the
  cross-rank check of the call, nonblocking request + polling for the timeout, the Work) must
  stay small;
- ``torch``: ``torch.distributed.all_reduce`` with the gloo backend over TCP, for context.

These cases need several processes, so they do not fit the one-process harness workers: this
module has its own driver, reached through ``python -m benchmarks distributed``. Each process
is timed by rank 0: a barrier, then ``calls`` all-reduces, per repeat; a round's figure is
the median repeat, the case's the best round. The buffers hold zeros (sums stay finite).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks import harness

GROUP = "distributed"
SIZES_MB = (1, 10, 100)
NPROCS = 2
TARGET = 1.2   # ember / raw MPI
KINDS = ("ember", "mpi", "torch")
RESULT = "DISTRIBUTED-RESULT "


def case_name(mb: int) -> str:
    return f"all_reduce_{mb}MB_float32_x{NPROCS}"


def list_lines() -> list:
    """This group's lines of ``python -m benchmarks --list``."""
    return [f"{GROUP:<10} {case_name(mb):<28} target {TARGET:g} (vs raw MPI)" for mb in SIZES_MB]


def selected(patterns) -> bool:
    """Whether ``python -m benchmarks PATTERNS`` asks for these cases (all when none given)."""
    names = [GROUP] + [case_name(mb) for mb in SIZES_MB]
    return not patterns or any(p in n for p in patterns for n in names)


# --------------------------------------------------------------------------- in each rank

def _all_reduce_call(kind: str, numel: int):
    """(the call to time, a barrier) in this rank, for ``kind``."""
    import numpy as np
    if kind == "mpi":
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        buf = np.zeros(numel, np.float32)
        return (lambda: comm.Allreduce(MPI.IN_PLACE, buf)), comm.Barrier
    if kind == "ember":
        import ember
        import ember.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        t = ember.zeros(numel)
        return (lambda: dist.all_reduce(t)), dist.barrier
    import torch
    import torch.distributed as tdist
    if not tdist.is_initialized():
        tdist.init_process_group("gloo")
    t = torch.zeros(numel)
    return (lambda: tdist.all_reduce(t)), tdist.barrier


def _time_rank(kind: str, repeat: int, min_time: float) -> dict:
    figures = {}
    for mb in SIZES_MB:
        call, barrier = _all_reduce_call(kind, mb * 2**20 // 4)
        call()
        barrier()
        start = time.perf_counter()
        call()
        per_call = time.perf_counter() - start
        calls = max(1, int(min_time / max(per_call, 1e-6)))
        # every rank must make the same number of calls: rank 0's estimate decides
        calls = _agree(kind, calls)
        times = []
        for _ in range(repeat):
            barrier()
            start = time.perf_counter()
            for _ in range(calls):
                call()
            times.append((time.perf_counter() - start) / calls * 1e3)
        figures[case_name(mb)] = statistics.median(times)
    return figures


def _agree(kind: str, value: int) -> int:
    if kind == "mpi":
        from mpi4py import MPI
        return MPI.COMM_WORLD.bcast(value, root=0)
    if kind == "ember":
        import ember
        import ember.distributed as dist
        t = ember.tensor([value])
        dist.broadcast(t, src=0)
        return int(t.item())
    import torch
    import torch.distributed as tdist
    t = torch.tensor([value])
    tdist.broadcast(t, src=0)
    return int(t.item())


def worker_main(argv) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--min-time", type=float, default=0.1)
    args = p.parse_args(argv)
    figures = _time_rank(args.kind, args.repeat, args.min_time)
    rank = int(os.environ.get("RANK") or os.environ.get("PMI_RANK", "0"))
    if rank == 0:
        print(RESULT + json.dumps(figures), flush=True)


# --------------------------------------------------------------------------- driver

def _round(kind: str, repeat: int, min_time: float, timeout: float = 900) -> dict:
    """One timing round of every size for ``kind``: {case: ms} or {"error": text}."""
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (harness.REPO_ROOT, env.get("PYTHONPATH"))
                                        if p)
    worker = [sys.executable, "-m", "benchmarks.bench_distributed", "--worker", "--kind", kind,
              "--repeat", str(repeat), "--min-time", str(min_time)]
    if kind == "torch":  # torch's gloo: plain processes meeting over TCP
        from ember.distributed.launch import free_port
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()),
                   WORLD_SIZE=str(NPROCS))
        procs = [subprocess.Popen(worker, cwd=harness.REPO_ROOT, env=dict(env, RANK=str(r)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for r in range(NPROCS)]
    else:
        from ember.distributed.launch import mpiexec_path
        procs = [subprocess.Popen([mpiexec_path(), "-n", str(NPROCS), *worker],
                                  cwd=harness.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)]
    return harness.process_result(procs, timeout, RESULT)


def run(rounds: int = 3, repeat: int = 5, min_time: float = 0.1, log=sys.stderr) -> dict:
    """{case: {kind: best ms or None}} plus {"errors": [...]}."""
    best = {case_name(mb): {} for mb in SIZES_MB}
    errors = []
    for r in range(rounds):
        order = KINDS[r % len(KINDS):] + KINDS[:r % len(KINDS)]
        for kind in order:
            figures = _round(kind, repeat, min_time)
            if "error" in figures:
                errors.append(f"{kind}: {figures['error']}")
                continue
            for name, ms in figures.items():
                previous = best[name].get(kind)
                best[name][kind] = ms if previous is None else min(previous, ms)
        if log is not None:
            print(f"round {r + 1}/{rounds} done", file=log, flush=True)
    return {"cases": best, "errors": sorted(set(errors))}


COLUMNS = ("case", "ember ms", "MPI ms", "ember/MPI", "target", "met", "torch gloo ms",
           "ember/torch")


def _cells(name: str, kinds: dict) -> list:
    ember, mpi, torch = (kinds.get(k) for k in KINDS)
    ratio = ember / mpi if ember and mpi else None
    met = "-" if ratio is None else ("yes" if ratio <= TARGET else "NO")
    return [name, harness._ms(ember), harness._ms(mpi), "-" if ratio is None else f"{ratio:.2f}",
            f"{TARGET:g}", met, harness._ms(torch),
            "-" if not (ember and torch) else f"{ember / torch:.2f}"]


def format_table(result: dict) -> str:
    rows = [COLUMNS] + [_cells(n, k) for n, k in result["cases"].items()]
    width = max(len(r[0]) for r in rows)
    lines = ["  ".join([r[0].ljust(width)] + [c.rjust(len(h)) for c, h in zip(r[1:], COLUMNS[1:])])
             for r in rows]
    return "\n".join(lines + [f"error: {e}" for e in result["errors"]])


def format_markdown(result: dict, *, command: str, rounds: int, repeat: int, min_time: float,
                    load=None) -> str:
    lines = [harness._begin(GROUP), f"### {GROUP}", "",
             f"Measured with `{command}`"
             + (f" (load average {load:.2f} at the start)." if load is not None else "."), "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, kinds in result["cases"].items():
        cells = _cells(name, kinds)
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"- {NPROCS} processes on {harness.cpu_model()} ({os.cpu_count()} CPUs), "
                  f"1 thread each; ember and MPI under `mpiexec` (MPICH), torch's gloo over TCP.",
              f"- {rounds} round(s) per way, each in fresh processes, the order rotating; per "
              f"round the median of {repeat} repeat(s) of >= {min_time:g} s; the best round.",
              harness._end(GROUP)]
    return "\n".join(lines) + "\n"


def main(args, argv) -> int:
    """The ``python -m benchmarks distributed`` part of benchmarks/__main__.py."""
    return harness.multiprocess_group_main(sys.modules[__name__], args, argv,
                                           f"{len(SIZES_MB)} case(s) x {len(KINDS)} ways")


if __name__ == "__main__" and "--worker" in sys.argv:
    worker_main([a for a in sys.argv[1:] if a != "--worker"])
