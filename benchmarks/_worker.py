"""One timing round of one benchmark case for one library, in a process of its own.

    python -m benchmarks._worker --lib ember --case matmul_256x4096x4096 --repeat 5

Prints one line ``BENCHMARK-RESULT {json}`` on stdout (median ms per call, all repeats, peak
memory, the threading environment). The worker imports only the library it times: torch's
OpenMP threads and NumPy's/numba's threads would otherwise share the cores and slow each other.
Both libraries get the same number of threads: the BLAS thread count that threadpoolctl reports
for NumPy (read before torch is imported, so it is NumPy's own BLAS). OPENBLAS_* variables are
left to the caller's environment on purpose.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import threadpoolctl

from benchmarks import harness

WARMUP_SECONDS = 0.2   # after a first call, which compiles numba kernels


def numpy_blas_info() -> list[dict]:
    """threadpoolctl's view of the BLAS libraries loaded so far (NumPy's, if torch is not)."""
    return [{"internal_api": info.get("internal_api"), "version": info.get("version"),
             "architecture": info.get("architecture"), "num_threads": info.get("num_threads"),
             "threading_layer": info.get("threading_layer"),
             "filename": os.path.basename(info.get("filepath", ""))}
            for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]


def configure_threads(lib_name: str, lib, threads: int) -> dict:
    """Give ``lib`` ``threads`` threads; return what the report needs to know about it."""
    if lib_name == "torch":
        lib.set_num_threads(threads)
        config = lib.__config__.show()
        blas = next((part.split("=", 1)[1] for part in config.replace(",", " ").split()
                     if part.startswith("BLAS_INFO=")), "unknown")
        return {"version": lib.__version__, "threads": lib.get_num_threads(), "blas": blas,
                "cpu_capability": lib.backends.cpu.get_cpu_capability()}
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return {"version": getattr(lib, "__version__", "?"), "numba": numba.__version__,
            "numba_threads": numba.get_num_threads()}


def numba_threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # numba starts its thread pool only when a parallel kernel first runs
        return "not started"


def warm_up(fn, *, min_time: float) -> int:
    """Run ``fn`` for WARMUP_SECONDS (numba compilation, caches, allocator) and return the
    number of calls per timed repeat: enough for a repeat to last ``min_time`` (a 15 us op is
    timed over thousands of calls, a 200 ms one once)."""
    fn()  # the first call compiles numba kernels: not part of the per-call estimate
    start = time.perf_counter()
    calls = 0
    while calls < 1 or time.perf_counter() - start < WARMUP_SECONDS:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    return max(1, math.ceil(min_time / max(per_call, 1e-9)))


def time_repeats(fn, *, repeat: int, number: int) -> list[float]:
    """Seconds per call of ``fn``, one figure per repeat of ``number`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return times


class PeakMemory:
    """Peak resident memory (MiB) reached inside the block, above the resident memory at its
    start. Linux only: resets the kernel's high-water mark through /proc/self/clear_refs and
    reads VmHWM; elsewhere ``mib`` stays None. Freed heap memory is first handed back to the
    OS (glibc malloc_trim) so that memory cached from the warm-up does not hide the peak."""

    mib: float | None = None

    def __enter__(self):
        gc.collect()
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # 5: reset the peak RSS to the current RSS (Linux >= 4.0)
            self._start = _proc_status_kib("VmRSS")
        except OSError:
            self._start = None
        return self

    def __exit__(self, *exc):
        if self._start is not None:
            self.mib = max(0, _proc_status_kib("VmHWM") - self._start) / 1024
        return False


def _proc_status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._worker")
    parser.add_argument("--lib", choices=harness.LIBS, required=True)
    parser.add_argument("--case", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.1)
    args = parser.parse_args(argv)

    blas = numpy_blas_info()  # before the library is imported: NumPy's BLAS only
    threads = max((b["num_threads"] for b in blas if b["num_threads"]), default=os.cpu_count())
    lib = importlib.import_module(args.lib)
    env = configure_threads(args.lib, lib, threads)
    env.update(numpy=np.__version__, numpy_blas=blas)

    cases = harness.discover()
    if args.case not in cases:
        raise KeyError(f"no benchmark case named {args.case!r}")
    harness.reset_inputs()
    step = cases[args.case].setup(lib)
    if not callable(step):
        raise TypeError(f"case {args.case!r} must return a zero-argument callable, "
                        f"got {type(step).__name__}")

    number = warm_up(step, min_time=args.min_time)
    with PeakMemory() as memory:  # the timed calls only: not the first call's numba compilation
        times = time_repeats(step, repeat=args.repeat, number=number)
    if args.lib == "ember":
        env["numba_threading_layer"] = numba_threading_layer()

    other = next(name for name in harness.LIBS if name != args.lib)
    if other in sys.modules:
        raise RuntimeError(f"the {args.lib} worker imported {other}: a benchmark module or "
                           f"{args.lib} itself imports it; import libraries only through `lib`")

    result = {"lib": args.lib, "case": args.case, "median_ms": statistics.median(times) * 1e3,
              "times_ms": [t * 1e3 for t in times], "number": number, "peak_mib": memory.mib,
              "env": env}
    print(harness.RESULT_MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
