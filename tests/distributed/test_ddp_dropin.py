"""A DDP training script written for torch (tests/distributed/scripts/ddp_tutorial.py: gloo,
MASTER_ADDR/PORT, DistributedSampler, DDP, rank 0 saves a checkpoint) runs unchanged on ember
through an import alias, launched both ways a torch user launches it - ``mp.spawn`` from the
script, and torchrun's way (``ember run --nproc-per-node=2``) - and prints torch's numbers.

(tests/dropin/scripts runs each script in one process; a launcher's workers are fresh
interpreters, so here the alias is a ``sitecustomize`` on their PYTHONPATH.)"""
from __future__ import annotations

import os
import socket
import sys

import numpy as np
import pytest
import torch

from tests.distributed.launching import REPO, ember_run, needs_mpi, run

pytestmark = needs_mpi

SCRIPT = os.path.join(REPO, "tests", "distributed", "scripts", "ddp_tutorial.py")

ALIAS = '''\
import importlib, importlib.abc, importlib.util, sys


class _TorchIsEmber(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import torch...`` loads ember's modules."""

    def _target(self, name):
        if name == "torch" or name.startswith("torch."):
            return "ember" + name[len("torch"):]

    def find_spec(self, name, path=None, target=None):
        if self._target(name):
            return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module(self._target(spec.name))

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _TorchIsEmber())
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def alias_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("alias")
    (d / "sitecustomize.py").write_text(ALIAS)
    return str(d) + os.pathsep + REPO


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    checkpoint = tmp_path_factory.mktemp("torch") / "model.pt"
    done = run([sys.executable, SCRIPT, str(checkpoint)], timeout=120,
               MASTER_PORT=_free_port())
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, str(checkpoint)


def _check(got, checkpoint, torch_run):
    expected, torch_checkpoint = torch_run
    assert got == expected
    assert "replicas agree: True" in got
    ours, theirs = torch.load(checkpoint), torch.load(torch_checkpoint)
    assert list(ours) == list(theirs) and all(k.startswith("module.") for k in ours)
    for k in theirs:
        torch.testing.assert_close(ours[k], theirs[k], rtol=1e-10, atol=1e-12)
    # and the other way: torch's DDP checkpoint read by ember, module. keys and all
    import ember
    back = ember.load(torch_checkpoint)
    assert list(back) == list(theirs)
    for k in theirs:
        np.testing.assert_array_equal(back[k].numpy(), theirs[k].numpy())


def test_spawn_from_the_script(tmp_path, alias_path, torch_run):
    checkpoint = tmp_path / "model.pt"
    done = run([sys.executable, SCRIPT, str(checkpoint)], timeout=120, PYTHONPATH=alias_path,
               MASTER_PORT=_free_port())
    assert done.returncode == 0, done.stderr[-3000:]
    _check(done.stdout, checkpoint, torch_run)


def test_torchrun_style_launch(tmp_path, alias_path, torch_run):
    checkpoint = tmp_path / "model.pt"
    done = ember_run("--nproc-per-node=2", SCRIPT, checkpoint, timeout=120,
                     PYTHONPATH=alias_path)
    assert done.returncode == 0, done.stderr[-3000:]
    _check(done.stdout, checkpoint, torch_run)
