"""Faults never hang: a rank that raises, is killed, or leaves while the others wait in a
collective ends the launch with a non-zero status naming the failed rank, well before the
subprocess limits here (which are what would catch a hang; no timing is asserted), on one
node and across two. Mismatched collectives raise on every rank: see collective_checks.py."""
from __future__ import annotations

import subprocess
import sys

from tests.distributed.launching import env, needs_mpi, run, write_script

pytestmark = needs_mpi

FAULTY = """
import datetime, os, sys
import ember, ember.distributed as dist

mode, timeout = sys.argv[1], float(sys.argv[2])
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
rank = dist.get_rank()
if rank == 1:
    if mode == "raise":
        raise ValueError("rank 1 gives up")
    if mode == "kill":
        os.kill(os.getpid(), 9)
    if mode == "leave":
        sys.exit(0)
t = ember.ones(3)
dist.all_reduce(t)  # rank 0 waits here for rank 1
print("unreachable: all_reduce completed", flush=True)
"""


def _ember_run(tmp_path, mode: str, timeout: float):
    script = write_script(tmp_path, FAULTY)
    return run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node=2", script,
                mode, str(timeout)], timeout=60)


def test_a_rank_that_raises_ends_the_launch_naming_it(tmp_path):
    # The group timeout (300 s) is far beyond the subprocess limit: the launcher, not the
    # timeout, must end the waiting rank.
    proc = _ember_run(tmp_path, "raise", 300)
    assert proc.returncode == 1, proc.stderr
    assert "ValueError: rank 1 gives up" in proc.stderr  # the rank's own traceback
    assert "FAILED" in proc.stderr and "rank      : 1 (local_rank: 1)" in proc.stderr
    assert "error     : ValueError: rank 1 gives up" in proc.stderr
    assert "unreachable" not in proc.stdout


def test_a_rank_that_leaves_makes_the_waiting_rank_time_out(tmp_path):
    """Rank 1 exits cleanly while rank 0 waits in all_reduce: rank 0 raises RuntimeError
    after the group's timeout (2 s), naming the operation, its rank and the timeout."""
    proc = _ember_run(tmp_path, "leave", 2)
    assert proc.returncode == 1, proc.stderr
    assert "RuntimeError: ember.distributed: all_reduce on rank 0" in proc.stderr
    assert "Timed out waiting 2000ms" in proc.stderr
    assert "rank      : 0 (local_rank: 0)" in proc.stderr


def test_spawn_raises_torchs_exceptions_naming_the_failed_process(tmp_path):
    script = write_script(tmp_path, """
        import os, datetime
        import ember, ember.distributed as dist, ember.multiprocessing as mp

        def raises(rank):
            dist.init_process_group("gloo", rank=rank, world_size=2,
                                    timeout=datetime.timedelta(seconds=300))
            if rank == 1:
                raise KeyError("fn failed on 1")
            dist.barrier()

        def killed(rank):
            if rank == 0:
                os.kill(os.getpid(), 9)
            dist.init_process_group("gloo", rank=rank, world_size=2,
                                    timeout=datetime.timedelta(seconds=300))

        if __name__ == "__main__":
            try:
                mp.spawn(raises, nprocs=2)
            except mp.ProcessRaisedException as e:
                print("RAISED", e.error_index, e.error_pid > 0, e.msg.replace("\\n", "|"))
            try:
                mp.spawn(killed, nprocs=2)
            except mp.ProcessExitedException as e:
                print("EXITED", e.error_index, e.exit_code, e.signal_name, str(e))
        """, "spawn_faults.py")
    proc = run([sys.executable, script], timeout=90)
    assert proc.returncode == 0, proc.stderr
    raised = next(line for line in proc.stdout.splitlines() if line.startswith("RAISED"))
    assert raised.startswith("RAISED 1 True ||-- Process 1 terminated with the following "
                             "error:|Traceback")
    assert "KeyError: 'fn failed on 1'" in raised
    assert "EXITED 0 -9 SIGKILL process 0 terminated with signal SIGKILL" in proc.stdout


def test_a_node_that_never_comes_times_out_at_the_rendezvous(tmp_path):
    """--nnodes=2 but only node 0 starts: init_process_group gives up after its timeout."""
    script = write_script(tmp_path, """
        import datetime, ember.distributed as dist
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=2))
        """)
    from ember.distributed.launch import free_port
    proc = run([sys.executable, "-m", "ember.distributed.run", "--nnodes=2", "--node-rank=0",
                f"--master-port={free_port()}", script], timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "timed out after 2s waiting for the other nodes" in proc.stderr
    assert "did every node start" in proc.stderr and "rank      : 0" in proc.stderr


def test_a_rank_killed_on_another_node_is_named_and_heard_of_at_once(tmp_path):
    """Two "nodes" (two launches joined over TCP): rank 1 is killed (SIGKILL) on node 1 while
    rank 0 waits in all_reduce on node 0 with a 300 s timeout. Node 1's launcher names rank 1
    and the signal; MPI would tell rank 0 only at the timeout, the rendezvous' liveness line
    tells it at once (as gloo's TCP pairs do)."""
    script = write_script(tmp_path, FAULTY)
    from ember.distributed.launch import free_port
    cmd = [sys.executable, "-m", "ember.distributed.run", "--nnodes=2",
           f"--master-port={free_port()}"]
    nodes = [subprocess.Popen(cmd + [f"--node-rank={i}", script, "kill", "300"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env()) for i in (1, 0)]
    (_, err1), (_, err0) = [n.communicate(timeout=90) for n in nodes]
    assert [n.returncode for n in nodes] == [1, 1], (err0, err1)
    assert "rank      : 1 (local_rank: 0)" in err1
    assert "exitcode  : -9" in err1 and "killed by signal SIGKILL" in err1
    assert "rank 1 disconnected without finalizing (it failed or was killed)" in err0
    assert "rank      : 0 (local_rank: 0)" in err0
