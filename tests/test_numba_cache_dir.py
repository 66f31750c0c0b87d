"""Where ember's compiled kernels are cached (ember/__init__.py ``_numba_cache_dir``): beside the
source when it is writable, else the user's cache folder, else the temp folder, so that a
read-only install never fails numba's ``cache=True`` at import."""
from __future__ import annotations

import os
import tempfile

import pytest

import ember


@pytest.fixture
def read_only_install(monkeypatch):
    """ember's own folder reads as not writable; NUMBA_CACHE_DIR unset (restored afterwards)."""
    here = os.path.dirname(ember.__file__)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: (
        False if mode == os.W_OK and str(path).startswith(here) else real_access(path, mode)))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)


def test_a_writable_install_keeps_numbas_default(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    ember._numba_cache_dir()
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_the_users_choice_wins(read_only_install, monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    ember._numba_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_a_read_only_install_caches_in_the_user_cache_folder(read_only_install, monkeypatch,
                                                              tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ember._numba_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "ember" / "numba")
    assert os.path.isdir(tmp_path / "ember" / "numba")


def test_without_a_usable_home_the_temp_folder(read_only_install, monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made under it
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    ember._numba_cache_dir()
    expected = tmp_path / f"ember-numba-{os.getuid()}"
    assert os.environ["NUMBA_CACHE_DIR"] == str(expected) and expected.is_dir()
