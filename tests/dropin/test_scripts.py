"""Tutorial-style torch scripts (tests/dropin/scripts) run unchanged on ember: each runs in
its own process, once with torch and once with ``import torch`` answered by ember, and the
numbers they print agree."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = sorted(f for f in os.listdir(os.path.join(HERE, "scripts")) if f.endswith(".py"))
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")

# ``import torch`` / ``import torch.nn as nn`` / ``from torch import ...`` load ember's modules
ALIAS = """
import importlib, importlib.abc, importlib.util, sys
import ember

class _TorchIsEmber(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # torch -> ember, torchvision -> ember.vision (and their submodules)
    PREFIXES = (("torchvision", "ember.vision"), ("torch", "ember"))
    def _target(self, name):
        for old, new in self.PREFIXES:
            if name == old or name.startswith(old + "."):
                return new + name[len(old):]
    def find_spec(self, name, path=None, target=None):
        if self._target(name):
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        return importlib.import_module(self._target(spec.name))
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, _TorchIsEmber())
sys.argv = [{path!r}]
exec(compile(open({path!r}).read(), {path!r}, "exec"), {{"__name__": "__main__"}})
"""


# torchvision on a CPU build of torch needs the schemas tests/torchvision_oracle.py declares
TORCH_RUN = ("import sys; sys.path.insert(0, {root!r}); import tests.torchvision_oracle as o; "
             "o._import() if {vision} else None; import runpy; "
             "runpy.run_path({path!r}, run_name='__main__')")


def _start(path, as_ember):
    vision = "torchvision" in open(path).read()
    code = ALIAS.format(path=path) if as_ember else \
        TORCH_RUN.format(root=os.path.dirname(os.path.dirname(HERE)), vision=vision, path=path)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _output(process, timeout=120):
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, err[-3000:]
    return out


def _run(path, as_ember):
    return _output(_start(path, as_ember))


# scripts whose numbers must agree more tightly than printing's rounding needs (absolute,
# relative): the seeded run draws every random number as torch does (issue 20 asks 1e-5)
STRICT = {"seeded_lenet_dropout.py": (1e-8, 1e-5)}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_torchs_numbers(script):
    path = os.path.join(HERE, "scripts", script)
    # both libraries at once, one process each: the machine's two cores halve the wait
    torch_run, ember_run = _start(path, as_ember=False), _start(path, as_ember=True)
    try:
        expected = _output(torch_run)
    finally:
        got = _output(ember_run)
    normalise = lambda s: NUMBER.sub("#", s.replace("torch", "ember"))  # noqa: E731
    assert normalise(got) == normalise(expected), f"ember:\n{got}\ntorch:\n{expected}"
    absolute, relative = STRICT.get(script, (1e-4, 1e-3))
    for g, e in zip(NUMBER.findall(got), NUMBER.findall(expected)):
        assert abs(float(g) - float(e)) <= absolute + relative * abs(float(e)), \
            f"{g} != {e}\n{got}\n{expected}"
