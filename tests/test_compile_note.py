"""The command line's "compiling kernels" note (ember/_compile_note.py): once, only when one of
ember's kernels really compiles, never for the user's own numba code or a cached kernel, and
from the command line only on a terminal."""
from __future__ import annotations

import io
import sys

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


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _train_compiling(kernel):
    def train(**kwargs):             # stands for a first run's training: one kernel compiles
        kernel(1)
        print("trained")
    return train


def test_the_command_line_prints_it_on_a_terminal(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(demo, "train", _train_compiling(_fresh_kernel("ember._kernels.fake")))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0
    assert terminal.getvalue() == NOTE + "\n" and capsys.readouterr().out == "trained\n"
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0   # compiled now: silent
    assert terminal.getvalue() == NOTE + "\n"


def test_the_command_line_keeps_a_log_or_pipe_to_its_errors(monkeypatch, capsys, tmp_path):
    # stderr not a terminal (a log, a pipe, CI): no note, so an error stays one "error:" line
    monkeypatch.setattr(demo, "train", _train_compiling(_fresh_kernel("ember._kernels.fake")))
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_terminal_only_skips_other_streams():
    out = io.StringIO()
    with compile_note(out, terminal_only=True) as note:
        _fresh_kernel("ember._kernels.fake")(1)
    assert out.getvalue() == "" and not note.printed
    terminal = _Terminal()
    with compile_note(terminal, terminal_only=True) as note:
        _fresh_kernel("ember._kernels.fake")(1)
    assert terminal.getvalue() == NOTE + "\n" and note.printed
