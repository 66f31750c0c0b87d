"""The command line's "compiling kernels" note (ember/_compile_note.py): once, only when one of
ember's kernels really compiles, never for the user's own numba code or a cached kernel."""
from __future__ import annotations

import io

import numba

from ember import cli, demo
from ember._compile_note import NOTE, compile_note


def _fresh_kernel(module: str):
    """A new, uncompiled numba function that claims to live in ``module``."""
    namespace = {"__name__": module}
    exec("def add_one(x):\n    return x + 1\n", namespace)
    return numba.njit(namespace["add_one"])


def test_the_note_is_written_once_when_an_ember_kernel_compiles():
    out = io.StringIO()
    kernel = _fresh_kernel("ember._kernels.fake")
    with compile_note(out) as note:
        assert kernel(1) == 2
        assert kernel(1.5) == 2.5   # a second signature compiles again: no second note
    assert out.getvalue() == NOTE + "\n" and note.printed


def test_no_note_for_the_users_numba_code_or_for_compiled_kernels():
    out = io.StringIO()
    user_kernel = _fresh_kernel("my_project.kernels")
    ember_kernel = _fresh_kernel("ember._kernels.fake")
    ember_kernel(1)                      # compiled before the block
    with compile_note(out) as note:
        assert user_kernel(1) == 2
        assert ember_kernel(2) == 3      # already compiled: no compile event
    assert out.getvalue() == "" and not note.printed


def test_the_listener_is_gone_after_the_block():
    out = io.StringIO()
    with compile_note(out):
        pass
    _fresh_kernel("ember._kernels.fake")(1)
    assert out.getvalue() == ""


def test_the_command_line_prints_it_on_stderr(monkeypatch, capsys, tmp_path):
    kernel = _fresh_kernel("ember._kernels.fake")

    def train(**kwargs):             # stands for a first run's training: one kernel compiles
        kernel(1)
        print("trained")

    monkeypatch.setattr(demo, "train", train)
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == NOTE + "\n" and captured.out == "trained\n"
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0   # compiled now: silent
    assert capsys.readouterr().err == ""
