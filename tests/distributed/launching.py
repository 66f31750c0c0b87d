"""Helpers for the multi-process tests: run a worker script under ``ember run`` (or spawn,
or mpiexec) with a hard wall-clock limit, and skip cleanly when the engine is missing."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import importlib.util

HAVE_MPI = (importlib.util.find_spec("mpi4py") is not None
            and os.access(os.path.join(os.path.dirname(sys.executable), "mpiexec"), os.X_OK))

needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="ember.distributed's engine is not installed "
                               "(pip install 'ember[distributed]': mpi4py and the MPICH wheel)")


def write_script(tmp_path, code: str, name: str = "worker.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def env(**extra) -> dict:
    e = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
             OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(args, timeout: float = 60, cwd=None, **extra_env) -> subprocess.CompletedProcess:
    """Run a command (its output captured); a hang fails the test instead of blocking it."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env(**extra_env))


def ember_run(*args, timeout: float = 60, cwd=None, **extra_env) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "ember", "run", *map(str, args)], timeout, cwd, **extra_env)
