"""Every collective of ember.distributed on 2 processes (under ``ember run``) and 4 (under a
bare ``mpiexec``), compared with NumPy on all ranks, for float32/float64/int64 and odd sizes.

Each world is launched once (module fixture) and runs every check of collective_checks.py;
each check is then one test here, per world size. The 2-process launch is also the test of
``ember run`` on one node: the ``ember`` command with torchrun's spellings (``--standalone
--nproc_per_node 2 -m module``), the script's own arguments passed through, torchrun's
environment set."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.distributed import collective_checks
from tests.distributed.launching import REPO, env, needs_mpi, run

pytestmark = needs_mpi

CHECKS_SCRIPT = os.path.join(REPO, "tests", "distributed", "collective_checks.py")


def _results(out_dir, world: int, proc) -> list:
    files = [os.path.join(out_dir, f"rank{r}.json") for r in range(world)]
    missing = [f for f in files if not os.path.exists(f)]
    assert proc.returncode == 0 and not missing, (
        f"launch failed (status {proc.returncode}), no results from {missing}:\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    out = []
    for f in files:
        with open(f) as fh:
            out.append(json.load(fh))
    return out


@pytest.fixture(scope="module")
def world2(tmp_path_factory):
    out = tmp_path_factory.mktemp("world2")
    e = env()
    e.pop("OMP_NUM_THREADS")  # ember run sets 1 by default, as torchrun
    proc = subprocess.run([sys.executable, "-m", "ember", "run", "--standalone",
                           "--nproc_per_node", "2", "-m", "tests.distributed.collective_checks",
                           str(out), "--nproc_per_node", "x"],
                          capture_output=True, text=True, timeout=120, env=e, cwd=REPO)
    assert "OMP_NUM_THREADS=1" in proc.stderr
    return _results(out, 2, proc)


@pytest.fixture(scope="module")
def world4(tmp_path_factory):
    out = tmp_path_factory.mktemp("world4")
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    proc = run([mpiexec, "-n", "4", sys.executable, CHECKS_SCRIPT, str(out)], timeout=120)
    return _results(out, 4, proc)


@pytest.mark.parametrize("name", list(collective_checks.CHECKS))
def test_two_processes(world2, name):
    for rank, results in enumerate(world2):
        assert results[name] == "ok", f"rank {rank}:\n{results[name]}"


@pytest.mark.parametrize("name", list(collective_checks.CHECKS))
def test_four_processes(world4, name):
    for rank, results in enumerate(world4):
        assert results[name] == "ok", f"rank {rank}:\n{results[name]}"


def test_ember_run_sets_torchruns_environment(world2):
    for rank, results in enumerate(world2):
        variables = results["environment"]
        assert variables["RANK"] == variables["LOCAL_RANK"] == str(rank)
        assert variables["WORLD_SIZE"] == variables["LOCAL_WORLD_SIZE"] == "2"
        assert variables["MASTER_ADDR"] == "127.0.0.1" and int(variables["MASTER_PORT"]) > 0
        assert variables["OMP_NUM_THREADS"] == "1" and results["elastic"]
        assert results["node_local_rank"] == rank
        # -m module: run as __main__, its arguments untouched (even torchrun's own flags)
        assert results["name"] == "__main__" and results["rank"] == rank
        assert results["argv"][0].endswith("collective_checks.py")
        assert results["argv"][2:] == ["--nproc_per_node", "x"]


def test_bare_mpiexec_takes_rank_and_size_from_mpi(world4):
    for rank, results in enumerate(world4):
        assert results["environment"]["RANK"] is None
        assert (results["rank"], results["world"]) == (rank, 4)
        assert results["node_local_rank"] == -1 and not results["elastic"]  # the fallback
