"""ember vs torch benchmark harness: cases, inputs, the round-robin driver and the report.

A case is a function in a ``benchmarks/bench_<family>.py`` module::

    @case("matmul_256x4096x4096", target=1.1)
    def matmul(lib):
        '''(256, 4096) @ (4096, 4096) float32, forward + backward.'''
        a = randn(lib, 256, 4096, requires_grad=True)
        ...
        return step            # a zero-argument callable: forward + backward, once

``lib`` is the ``ember`` or the ``torch`` module; ember mirrors torch's API, so one body serves
both. ``randn`` draws the same NumPy numbers for both libraries (the generator is reseeded before
every case) and converts them with ``lib.from_numpy``.

``run`` times every case in fresh worker processes (``python -m benchmarks._worker``), one library
per process so that torch's OpenMP pool and NumPy/numba's pools never compete, alternating the
order of the libraries from round to round (ember, torch, torch, ember, ...) so that slow drift of
the machine's load hits both alike. Each library's figure is its best round (the minimum of the
round medians); the ratio is ember / torch, lower is better, and a case meets its target when
the ratio is at most ``target``.

This module imports neither ember nor torch: the workers import exactly one of them.
"""
from __future__ import annotations

import datetime
import json
import os
import pkgutil
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

LIBS = ("ember", "torch")
RESULT_MARKER = "BENCHMARK-RESULT "  # prefix of the worker's one line of JSON on stdout
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable              # setup(lib) -> zero-argument callable (forward + backward)
    target: float | None         # the ember/torch time ratio to stay at or below
    group: str                   # the docs/benchmarks.md section; the module's family by default
    module: str

    @property
    def description(self) -> str:
        doc = (self.setup.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_CASES: dict[str, Case] = {}


def case(name: str, *, target: float | None = None, group: str | None = None):
    """Register ``setup(lib)`` as the benchmark ``name``; ``target`` is the ember/torch ratio to
    meet (None: measured, no target); ``group`` defaults to the module's family
    (``bench_core.py`` -> ``core``)."""
    if target is not None and not target > 0:
        raise ValueError(f"case {name!r}: target must be a positive ratio, got {target!r}")

    def register(setup):
        module = setup.__module__
        previous = _CASES.get(name)
        if previous is not None and (previous.module, previous.setup.__qualname__) != (
                module, setup.__qualname__):
            raise ValueError(f"benchmark case {name!r} is defined twice: in {previous.module} "
                             f"and in {module}")
        _CASES[name] = Case(name, setup, target, group or _family(module), module)
        return setup

    return register


def _family(module: str) -> str:
    """``benchmarks.bench_conv`` -> ``conv``."""
    return module.rsplit(".", 1)[-1].removeprefix("bench_")


def discover() -> dict[str, Case]:
    """Import every ``benchmarks/bench_*.py`` module and return all registered cases by name."""
    import importlib

    package_dir = os.path.dirname(os.path.abspath(__file__))
    for info in sorted(pkgutil.iter_modules([package_dir]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            importlib.import_module(f"{__package__}.{info.name}")
    return dict(_CASES)


def select(cases: dict[str, Case], patterns) -> list[Case]:
    """Cases whose name or group contains any of ``patterns`` (all cases when none given),
    in registration order."""
    chosen = [c for c in cases.values()
              if not patterns or any(p in c.name or p in c.group for p in patterns)]
    if patterns and not chosen:
        raise SystemExit(f"no benchmark case matches {' '.join(patterns)!r}; "
                         f"known cases: {', '.join(cases)}")
    return chosen


# --------------------------------------------------------------------------- inputs

SEED = 0
_rng = np.random.default_rng(SEED)


def reset_inputs(seed: int = SEED) -> None:
    """Reseed the input generator; the worker calls this before building each case, so that both
    libraries see the same numbers whatever ran before."""
    global _rng
    _rng = np.random.default_rng(seed)


def numpy_rng() -> np.random.Generator:
    """The generator ``randn`` draws from, for cases that need other NumPy inputs (indices ...)."""
    return _rng


def array(lib, a: np.ndarray, *, requires_grad: bool = False):
    """A ``lib`` tensor over the NumPy array ``a`` (``lib.from_numpy``: no copy)."""
    t = lib.from_numpy(np.ascontiguousarray(a))
    return t.requires_grad_(True) if requires_grad else t


def randn(lib, *shape: int, requires_grad: bool = False, dtype: str = "float32"):
    """Standard-normal ``lib`` tensor of ``shape``; the same numbers for ember and torch."""
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"randn: dtype must be a floating dtype, got {dtype!r}")
    draw_dtype = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    values = _rng.standard_normal(shape, dtype=draw_dtype).astype(dtype, copy=False)
    return array(lib, values, requires_grad=requires_grad)


def forward_backward(forward, inputs, grad=None):
    """The usual case body: a callable that clears ``inputs``' ``.grad`` (so that every call
    pays the same gradient accumulation, the first one's), runs ``forward()`` and backpropagates
    ``grad`` (None for a scalar output) through the result."""
    def step():
        for t in inputs:
            t.grad = None
        forward().backward(grad)
    return step


# --------------------------------------------------------------------------- driver

@dataclass
class LibResult:
    round_ms: list = field(default_factory=list)   # one median per round
    peak_mib: list = field(default_factory=list)   # one peak per round (None if unmeasured)
    env: dict | None = None
    error: str | None = None

    @property
    def best_ms(self) -> float | None:
        return min(self.round_ms) if self.round_ms and not self.error else None

    @property
    def peak(self) -> float | None:
        measured = [p for p in self.peak_mib if p is not None]
        return max(measured) if measured else None


@dataclass
class CaseResult:
    case: Case
    libs: dict  # lib name -> LibResult

    @property
    def ratio(self) -> float | None:
        ember, torch = self.libs["ember"].best_ms, self.libs["torch"].best_ms
        return ember / torch if ember is not None and torch else None

    @property
    def met(self) -> bool | None:
        if self.case.target is None or self.ratio is None:
            return None
        return self.ratio <= self.case.target

    @property
    def errors(self) -> list[str]:
        return [f"{lib}: {r.error}" for lib, r in self.libs.items() if r.error]


def round_order(round_index: int) -> tuple[str, ...]:
    """ember, torch in even rounds; torch, ember in odd ones (ABBA)."""
    return LIBS if round_index % 2 == 0 else LIBS[::-1]


def run(cases, *, rounds: int = 3, repeat: int = 5, min_time: float = 0.1,
        log=sys.stderr) -> list[CaseResult]:
    """Time every case for both libraries, ``rounds`` worker processes per library; print each
    case's row to ``log`` as it completes."""
    if rounds < 1 or repeat < 1:
        raise ValueError(f"rounds and repeat must be >= 1, got {rounds} and {repeat}")
    results = []
    for c in cases:
        libs = {lib: LibResult() for lib in LIBS}
        for r in range(rounds):
            for lib in round_order(r):
                if libs[lib].error:
                    continue
                outcome = run_worker(lib, c.name, repeat=repeat, min_time=min_time)
                if "error" in outcome:
                    libs[lib].error = outcome["error"]
                    continue
                libs[lib].round_ms.append(outcome["median_ms"])
                libs[lib].peak_mib.append(outcome["peak_mib"])
                libs[lib].env = libs[lib].env or outcome["env"]
        result = CaseResult(c, libs)
        if log is not None:
            print(format_row(result, name_width(cases)), file=log, flush=True)
        results.append(result)
    return results


def run_worker(lib: str, case_name: str, *, repeat: int, min_time: float,
               timeout: float = 900) -> dict:
    """One timing round of one case in a fresh process; the worker's JSON, or {"error": ...}."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "benchmarks._worker", "--lib", lib, "--case", case_name,
           "--repeat", str(repeat), "--min-time", str(min_time)]
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    stderr = proc.stderr.strip().splitlines()
    return {"error": (stderr[-1] if stderr else f"worker exited with status {proc.returncode}")}


# --------------------------------------------------------------------------- report

COLUMNS = ("case", "ember ms", "torch ms", "ember/torch", "target", "met", "ember MiB",
           "torch MiB")


def _ms(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _cells(r: CaseResult) -> list[str]:
    ember, torch = r.libs["ember"], r.libs["torch"]
    met = {None: "-", True: "yes", False: "NO"}[r.met]
    if r.errors:
        met = "error"
    return [r.case.name, _ms(ember.best_ms), _ms(torch.best_ms),
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            "-" if r.case.target is None else f"{r.case.target:g}", met,
            "-" if ember.peak is None else f"{ember.peak:.1f}",
            "-" if torch.peak is None else f"{torch.peak:.1f}"]


_WIDTHS = (10, 10, 11, 6, 5, 9, 9)  # the columns after the case name


def name_width(cases) -> int:
    return max([len(COLUMNS[0])] + [len(c.name) for c in cases])


def _align(cells, width: int) -> str:
    return "  ".join([cells[0].ljust(width)] + [c.rjust(w) for c, w in zip(cells[1:], _WIDTHS)])


def format_row(r: CaseResult, width: int = 28) -> str:
    return _align(_cells(r), width) + "".join(f"\n    {e}" for e in r.errors)


def format_header(width: int = 28) -> str:
    return _align(COLUMNS, width)


def environment_lines(results) -> list[str]:
    """The threading/BLAS facts that explain the figures, from the workers' reports."""
    ember_env = next((r.libs["ember"].env for r in results if r.libs["ember"].env), None)
    torch_env = next((r.libs["torch"].env for r in results if r.libs["torch"].env), None)
    lines = [f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"]
    env = ember_env or torch_env
    if env:
        for lib in env["numpy_blas"]:
            lines.append(f"NumPy {env['numpy']} BLAS: {lib['internal_api']} {lib['version']} "
                         f"({lib['architecture']} kernels, {lib['threading_layer']} threading), "
                         f"{lib['num_threads']} threads ({lib['filename']})")
    if ember_env:
        lines.append(f"ember {ember_env['version']}: numba {ember_env['numba']}, "
                     f"{ember_env['numba_threads']} threads "
                     f"({ember_env['numba_threading_layer']} layer)")
    if torch_env:
        lines.append(f"torch {torch_env['version']}: {torch_env['threads']} threads "
                     f"(set to NumPy's BLAS threads), BLAS {torch_env['blas']}, "
                     f"CPU capability {torch_env['cpu_capability']}")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"OPENBLAS_CORETYPE={coretype}" if coretype else "OPENBLAS_CORETYPE not set")
    return lines


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            match = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def method_line(rounds: int, repeat: int, min_time: float) -> str:
    return (f"{rounds} round(s) per library, each in a fresh process (order ABBA); per round: "
            f"warm-up, then the median of {repeat} repeat(s) of >= {min_time:g} s; the best round "
            f"is shown. ember/torch < 1 means ember is faster. MiB: peak resident memory during "
            f"the timed calls above that before them (inputs and the last call's gradients).")


def format_table(results, *, rounds, repeat, min_time) -> str:
    width = name_width([r.case for r in results])
    lines = [format_header(width)] + [format_row(r, width) for r in results]
    lines += [""] + environment_lines(results) + [method_line(rounds, repeat, min_time)]
    return "\n".join(lines)


def format_markdown(results, *, command: str, rounds: int, repeat: int, min_time: float,
                    load: float | None = None) -> str:
    """One docs/benchmarks.md section per group, each between begin/end markers."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.case.group, []).append(r)
    today = datetime.date.today().isoformat()
    sections = []
    for group, rows in groups.items():
        lines = [_begin(group), f"### {group}", "",
                 f"Measured {today} with `{command}`"
                 + (f" (load average {load:.2f} at the start)." if load is not None else "."), "",
                 "| " + " | ".join(COLUMNS) + " | what |",
                 "|" + "---|" * (len(COLUMNS) + 1)]
        for r in rows:
            cells = _cells(r)
            cells[0] = f"`{cells[0]}`"
            lines.append("| " + " | ".join(cells) + f" | {r.case.description} |")
        errors = [f"- `{r.case.name}`: {e}" for r in rows for e in r.errors]
        lines += ([""] + errors if errors else [])
        lines += [""] + [f"- {line}" for line in environment_lines(rows)]
        lines += [f"- {method_line(rounds, repeat, min_time)}", _end(group)]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def _begin(group: str) -> str:
    return f"<!-- benchmarks:{group} begin -->"


def _end(group: str) -> str:
    return f"<!-- benchmarks:{group} end -->"


def update_docs(path: str, markdown: str) -> None:
    """Replace each group's section of ``path`` (between its markers) with the new one; append
    sections the file does not have yet."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    for match in re.finditer(r"<!-- benchmarks:(\S+) begin -->.*?<!-- benchmarks:\1 end -->",
                             markdown, re.S):
        group, section = match.group(1), match.group(0)
        pattern = re.compile(re.escape(_begin(group)) + ".*?" + re.escape(_end(group)), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: section, text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def multiprocess_group_main(bench, args, argv, what: str) -> int:
    """``python -m benchmarks <group>`` for a group whose cases each run several processes
    (bench_distributed, bench_ddp: the single-process worker cannot time them). ``bench`` is
    the group's module (GROUP, run, format_table, format_markdown); ``what`` says what one
    round runs, for the progress line."""
    from ember.distributed import is_available
    if not is_available():
        print(f"{bench.GROUP}: skipped, ember.distributed's engine is not installed "
              "(pip install 'ember[distributed]')", file=sys.stderr)
        return 0
    load = load_average()
    print(f"{bench.GROUP}: {what}, {args.rounds} round(s)"
          + ("" if load is None else f"; load average {load:.2f}"), file=sys.stderr)
    result = bench.run(args.rounds, args.repeat, args.min_time)
    print(bench.format_table(result))
    if args.markdown or args.update_docs:
        from benchmarks.__main__ import recorded_command
        markdown = bench.format_markdown(result, command=recorded_command(argv),
                                         rounds=args.rounds, repeat=args.repeat,
                                         min_time=args.min_time, load=load)
        if args.markdown:
            print("\n" + markdown)
        if args.update_docs:
            update_docs(args.update_docs, markdown)
            print(f"updated {args.update_docs}", file=sys.stderr)
    return 1 if result["errors"] else 0


def process_result(procs, timeout: float, marker: str) -> dict:
    """The JSON after ``marker`` on the processes' stdout, or {"error": ...}: their last stderr
    line, or the timeout (the processes are then killed and reaped)."""
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    for out, _ in outputs:
        for line in out.splitlines():
            if line.startswith(marker):
                return json.loads(line[len(marker):])
    err = "\n".join(e for _, e in outputs).strip().splitlines()
    return {"error": err[-1] if err else "no result"}
