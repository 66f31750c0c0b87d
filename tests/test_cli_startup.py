"""The command line, as a program, takes its start-up objects out of the garbage collector's
sight (ember/cli.py, ``_freeze_startup_objects``); called as a function, it leaves the
collector alone."""
from __future__ import annotations

import gc
import sys

from ember import cli, demo
from ember.nn import _first_run


def _frozen_by(monkeypatch, argv):
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(demo, "train", lambda **kwargs: None)
    monkeypatch.setattr(_first_run, "compile_demo_kernels", lambda: "cached")
    return cli.main(argv), frozen


def test_the_program_freezes_its_start_up_objects(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["ember", "demo", "--output-dir", str(tmp_path)])
    assert _frozen_by(monkeypatch, None) == (0, [True])


def test_a_call_from_python_leaves_the_collector_alone(monkeypatch, tmp_path):
    assert _frozen_by(monkeypatch, ["demo", "--output-dir", str(tmp_path)]) == (0, [])
    monkeypatch.setattr(sys, "argv", ["ember"])                # no command: the help only
    assert _frozen_by(monkeypatch, None) == (0, [])
