"""Launching, both ways the tutorials do it: ``ember run`` (two "nodes" on this machine joined
over TCP here; one node is tested by test_collectives' 2-process launch) and
``ember.multiprocessing.spawn``; and what a plain ``python`` process gets without a launcher."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.distributed.launching import env, needs_mpi, run, write_script

pytestmark = needs_mpi

# Each rank records its view of the launch in OUT/rank<R>.json.
RECORDER = """
import json, os, sys, datetime
import ember, ember.distributed as dist

if __name__ == "__main__":
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    rank, world = dist.get_rank(), dist.get_world_size()
    t = ember.full((3,), float(rank))
    dist.all_reduce(t)
    names = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
             "GROUP_RANK", "OMP_NUM_THREADS")
    record = dict(rank=rank, world=world, sum=t.tolist(), argv=sys.argv, name=__name__,
                  env={k: os.environ.get(k) for k in names},
                  elastic=dist.is_torchelastic_launched())
    out = os.environ["RECORD_DIR"]
    with open(os.path.join(out, f".rank{rank}"), "w") as f:
        json.dump(record, f)
    os.replace(os.path.join(out, f".rank{rank}"), os.path.join(out, f"rank{rank}.json"))
    dist.destroy_process_group()
"""


def _records(out, world):
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]


def test_ember_run_two_nodes_on_this_machine(tmp_path):
    """Two launchers, --nnodes=2 --node-rank=0/1 with 2 processes each, joined at
    --master-addr:--master-port into one group of 4 ordered by RANK."""
    script = write_script(tmp_path, RECORDER)
    port = _free_port()
    cmd = [sys.executable, "-m", "ember.distributed.run", "--nnodes=2", "--nproc-per-node=2",
           "--master-addr=127.0.0.1", f"--master-port={port}"]
    nodes = [subprocess.Popen(cmd + [f"--node-rank={i}", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env(RECORD_DIR=tmp_path))
             for i in (1, 0)]
    outputs = [n.communicate(timeout=90) for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], outputs
    for rank, rec in enumerate(_records(tmp_path, 4)):
        assert rec["rank"] == rank and rec["world"] == 4 and rec["sum"] == [6.0] * 3
        assert rec["env"]["RANK"] == str(rank) and rec["env"]["LOCAL_RANK"] == str(rank % 2)
        assert rec["env"]["GROUP_RANK"] == str(rank // 2) and rec["env"]["WORLD_SIZE"] == "4"
        assert rec["env"]["MASTER_PORT"] == str(port)


def test_spawn_runs_fn_with_rank_and_args(tmp_path):
    """The tutorial's spawn: MASTER_ADDR/PORT set by the user, fn(rank, *args) defined in the
    main script (re-imported as __mp_main__), init_process_group(rank=, world_size=) inside;
    join=False gives a ProcessContext to join (join=True: test_faults)."""
    script = write_script(tmp_path, """
        import json, os, sys
        import ember, ember.distributed as dist, ember.multiprocessing as mp

        def train(rank, world_size, out):
            dist.init_process_group("gloo", rank=rank, world_size=world_size)
            t = ember.full((2,), float(rank + 1))
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
                json.dump(dict(rank=dist.get_rank(), world=dist.get_world_size(), max=t.tolist(),
                               module=__name__, env_rank=os.environ.get("RANK")), f)
            dist.destroy_process_group()

        if __name__ == "__main__":
            os.environ["MASTER_ADDR"] = "localhost"
            os.environ["MASTER_PORT"] = "12355"
            context = mp.spawn(train, args=(2, sys.argv[1]), nprocs=2, join=False)
            while not context.join(timeout=0.5):
                pass
            print("joined")
        """, "spawner.py")
    proc = run([sys.executable, script, tmp_path], timeout=90)
    assert proc.returncode == 0 and "joined" in proc.stdout, proc.stderr
    for rank, rec in enumerate(_records(tmp_path, 2)):
        # torch's spawn sets no RANK in the children: fn is given its rank
        assert rec == dict(rank=rank, world=2, max=[2.0, 2.0], module="__mp_main__",
                           env_rank=None)


def test_plain_python_explains_how_to_launch_and_runs_world_size_one(tmp_path):
    """Without a launcher: world_size > 1 raises saying how to start the processes;
    world_size=1 is a working one-process group (as torch's gloo)."""
    script = write_script(tmp_path, """
        import sys
        import ember, ember.distributed as dist
        print("MPI IMPORTED:", "mpi4py" in sys.modules)  # the engine loads on first use only
        try:
            dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29999", rank=0,
                                    world_size=2)
        except RuntimeError as e:
            print("ERROR:", e)
        try:
            dist.init_process_group("gloo")
        except ValueError as e:
            print("ENV ERROR:", e)
        try:
            dist.init_process_group("nccl", rank=0, world_size=1)
        except RuntimeError as e:
            print("NCCL:", e)
        dist.init_process_group("gloo", rank=0, world_size=1)
        t = ember.arange(4.0)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        outs = [ember.zeros(4)]
        dist.all_gather(outs, t)
        dist.broadcast(t, src=0)
        dist.barrier()
        print("ONE:", dist.get_rank(), dist.get_world_size(), t.tolist(), outs[0].tolist())
        dist.destroy_process_group()
        print("INITIALIZED:", dist.is_initialized())
        """)
    proc = run([sys.executable, script], timeout=60, RANK="", WORLD_SIZE="")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MPI IMPORTED: False" in out
    assert "ERROR: init_process_group(world_size=2)" in out and "ember run" in out
    assert "mpiexec" in out and "ember.multiprocessing.spawn" in out
    assert "ENV ERROR: Error initializing torch.distributed using env:// rendezvous: " \
           "environment variable RANK expected, but not set" in out
    assert "NCCL: Distributed package doesn't have NCCL built in" in out
    assert "ONE: 0 1 [0.0, 1.0, 2.0, 3.0] [0.0, 1.0, 2.0, 3.0]" in out
    assert "INITIALIZED: False" in out


@pytest.mark.parametrize("args, message", [
    (["--nnodes=1:4", "x.py"], "elastic MIN:MAX ranges are not supported"),
    (["--nnodes=2", "--node-rank=2", "x.py"], "--node-rank must be in 0..1"),
    (["--nproc-per-node=0", "x.py"], "--nproc-per-node must be a positive number"),
    (["--max-restarts=3", "x.py"], "does not restart failed workers"),
    (["no_such_script.py"], "does not exist"),
])
def test_ember_run_argument_errors(args, message, capsys):
    from ember.distributed.run import main
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_without_the_engine_imports_work_and_init_names_the_extra(monkeypatch, capsys):
    """mpi4py missing: ember.distributed imports, is_available() is False, and
    init_process_group / ember run say what to install."""
    import ember.distributed as dist
    from ember.distributed import _engine
    from ember.distributed.run import main
    monkeypatch.setattr(_engine, "_MPI", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)   # import mpi4py now fails
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    assert not dist.is_available() and not dist.is_gloo_available()
    with pytest.raises(RuntimeError, match=r"pip install 'ember\[distributed\]'"):
        dist.init_process_group("gloo", rank=0, world_size=1)
    assert not dist.is_initialized()
    assert main(["x.py"]) == 2
    assert "pip install 'ember[distributed]'" in capsys.readouterr().err


def _free_port() -> int:
    from ember.distributed.launch import free_port
    return free_port()


@pytest.mark.parametrize("kind", ["tcp", "file"])
def test_rendezvous_store_set_get_add_and_bounded_waits(kind, tmp_path):
    """The store several launches meet at: get waits for a key set later, add counts, a get
    that nobody answers gives up at the deadline with a message saying why."""
    import threading
    import time as _time
    from ember.distributed import _store
    from ember.distributed.launch import free_port
    deadline = _time.monotonic() + 5
    if kind == "tcp":
        port = free_port()
        server = _store.TCPStoreServer("127.0.0.1", port)
        a, b = (_store.TCPStore("127.0.0.1", port, deadline) for _ in range(2))
    else:
        server = None
        a, b = (_store.FileStore(str(tmp_path / "rdzv"), deadline) for _ in range(2))
    try:
        threading.Timer(0.2, lambda: a.set("late", b"\x00\xffvalue")).start()
        assert b.get("late") == b"\x00\xffvalue"
        assert [a.add("n", 1), b.add("n", 1), a.add("n", 5)] == [1, 2, 7]
        a._deadline = b._deadline = _time.monotonic() + 0.3
        with pytest.raises(RuntimeError, match="timed out waiting for the other nodes"):
            b.get("never")
    finally:
        a.close()
        b.close()
        if server is not None:
            server.close()


def test_rendezvous_server_refuses_oversized_fields():
    """A size read from the wire is bounded before anything is allocated: a client claiming
    a 4 GiB key is dropped, and the server keeps serving others."""
    import socket
    import struct
    import time as _time
    from ember.distributed import _store
    from ember.distributed.launch import free_port
    port = free_port()
    server = _store.TCPStoreServer("127.0.0.1", port)
    try:
        with socket.create_connection(("127.0.0.1", port)) as rogue:
            rogue.sendall(b"S" + struct.pack("!I", 2**32 - 1))
            rogue.settimeout(5)
            assert rogue.recv(1) == b""  # dropped
        client = _store.TCPStore("127.0.0.1", port, _time.monotonic() + 5)
        client.set("k", b"v")
        assert client.get("k") == b"v"
        client.close()
    finally:
        server.close()
