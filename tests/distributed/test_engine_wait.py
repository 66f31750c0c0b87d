"""The engine's bounded wait in one process (no MPI needed): it returns at the first poll that
finds the operation done, yields the core once per SPIN_S of polling (with 4 ranks on 2
cores a rank that never yields starves the peer it waits for), and raises past its deadline
or at once when a peer is known dead, instead of waiting forever."""
from __future__ import annotations

import os
import time

import pytest

from ember.distributed import _engine


class _DoneAfter:
    """A done() that turns true after ``polls`` polls; counts them."""

    def __init__(self, polls: int):
        self.until = polls
        self.polls = 0

    def __call__(self) -> bool:
        self.polls += 1
        return self.polls >= self.until


def _never_done() -> bool:
    return False


def test_returns_at_the_first_poll_that_finds_it_done():
    done = _DoneAfter(1)
    _engine.wait_until(done, time.monotonic() + 10, lambda: "unreachable")
    assert done.polls == 1
    done = _DoneAfter(1000)
    _engine.wait_until(done, time.monotonic() + 10, lambda: "unreachable")
    assert done.polls == 1000


def test_yields_once_per_spin_period_while_polling(monkeypatch):
    yields = []
    monkeypatch.setattr(_engine, "_yield", lambda: yields.append(time.monotonic()))
    # done once the wait has yielded 4 times: a wait that never yields would run into its deadline
    _engine.wait_until(lambda: len(yields) == 4, time.monotonic() + 30, lambda: "never yielded")
    gaps = [b - a for a, b in zip(yields, yields[1:])]
    assert all(g >= _engine.SPIN_S for g in gaps), gaps


@pytest.mark.skipif(not hasattr(os, "sched_yield"), reason="no sched_yield on this system")
@pytest.mark.parametrize("variable", ["LOCAL_WORLD_SIZE", "MPI_LOCALNRANKS"])
def test_the_yield_is_sched_yield_with_a_core_per_rank_else_a_sleep(monkeypatch, variable):
    # time.sleep(0) sleeps the timer slack (35-70 us measured on Linux); sched_yield, as MPICH,
    # only while every rank has its core (with more ranks, CFS gives a yielder its core back)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.delenv("MPI_LOCALNRANKS", raising=False)
    monkeypatch.setattr(_engine, "_cpus", lambda: 2)
    assert _engine._pick_yield() is os.sched_yield  # no launcher: one rank
    monkeypatch.setenv(variable, "2")
    assert _engine._pick_yield() is os.sched_yield
    monkeypatch.setenv(variable, "4")
    assert _engine._pick_yield() is not os.sched_yield


def test_raises_past_the_deadline_with_the_callers_message():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="^all_reduce timed out$"):
        _engine.wait_until(_never_done, start + 0.05, lambda: "all_reduce timed out")
    assert time.monotonic() - start >= 0.05


def test_raises_at_once_when_a_peer_is_known_dead(monkeypatch):
    monkeypatch.setattr(_engine, "peer_failure", "rank 3 disconnected")
    with pytest.raises(RuntimeError, match="rank 3 disconnected; the process group is aborted"):
        _engine.wait_until(_never_done, time.monotonic() + 60, lambda: "timed out")
