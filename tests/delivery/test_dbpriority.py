"""The drain's database thread at background priority (db_thread_priority), and its way back
to normal priority when it starves for CPU."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.vocab import DbPriority
from publisher.delivery import dbpriority
from publisher.delivery.configured import build_drain
from publisher.delivery.dbpriority import HOLD_FIRST, WINDOW, Governor, LinuxSched
from publisher.delivery.dbthread import DbThread
from publisher.delivery.drainstore import Report

linux_only = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="no SCHED_IDLE here")


class FakeSched:
    """Lowers nothing; reports the run-queue wait the test sets."""

    def __init__(self, *, supported: bool = True, readable: bool = True) -> None:
        self.supported, self.readable = supported, readable
        self.wait = 0.0
        self.lowered = 0

    def lower_this_thread(self) -> bool:
        self.lowered += 1
        return self.supported

    def waited(self, tid: int) -> float | None:
        return self.wait if self.readable else None


def started(governor: Governor, *, lower: bool = True) -> Governor:
    governor.thread_started(lower)
    return governor


def test_a_thread_that_waits_for_a_cpu_most_of_a_window_moves_to_normal_then_back() -> None:
    sched = FakeSched()
    gov = started(Governor(sched, "background"))
    assert gov.background and sched.lowered == 1
    assert gov.new_thread_wanted(100.0) is None  # the first look only takes a sample
    sched.wait = 0.5 * WINDOW
    assert gov.new_thread_wanted(100.0 + WINDOW) is None  # waited half the window: fine
    sched.wait += 0.9 * WINDOW
    assert gov.new_thread_wanted(100.0 + 2 * WINDOW) is False  # starving: to normal
    gov.moved(104.0, lower=False)
    started(gov, lower=False)
    assert not gov.background
    assert gov.new_thread_wanted(104.0 + HOLD_FIRST - 1) is None  # held at normal
    assert gov.new_thread_wanted(104.0 + HOLD_FIRST) is True  # then background again
    gov.moved(104.0 + HOLD_FIRST, lower=True)
    started(gov)
    assert gov.background


def test_each_starving_doubles_the_time_held_at_normal() -> None:
    sched = FakeSched()
    gov = started(Governor(sched, "background"))
    holds = []
    now = 0.0
    for _ in range(3):
        gov.new_thread_wanted(now)
        sched.wait += WINDOW
        now += WINDOW
        assert gov.new_thread_wanted(now) is False
        gov.moved(now, lower=False)
        started(gov, lower=False)
        back = now + 1
        while gov.new_thread_wanted(back) is None:
            back += 1
        holds.append(back - now)
        gov.moved(back, lower=True)
        started(gov)
        now = back
    assert holds == [HOLD_FIRST, 2 * HOLD_FIRST, 4 * HOLD_FIRST]


def test_the_hold_starts_again_after_a_long_calm_at_background() -> None:
    sched = FakeSched()
    gov = started(Governor(sched, "background"))

    def starve(at: float) -> float:
        gov.new_thread_wanted(at)
        sched.wait += WINDOW
        assert gov.new_thread_wanted(at + WINDOW) is False
        gov.moved(at + WINDOW, lower=False)
        started(gov, lower=False)
        back = at + WINDOW
        while gov.new_thread_wanted(back) is None:
            back += 1
        gov.moved(back, lower=True)
        started(gov)
        return back - at - WINDOW  # how long it was held at normal

    assert starve(0.0) == HOLD_FIRST
    assert starve(100.0) == 2 * HOLD_FIRST  # soon after: doubled
    assert starve(100.0 + dbpriority.HOLD_MAX + 100) == HOLD_FIRST  # after a long calm


def test_background_that_cannot_take_effect_is_said(caplog: pytest.LogCaptureFixture) -> None:
    started(Governor(FakeSched(supported=False), "background"))
    started(Governor(FakeSched(readable=False), "background"))
    started(Governor(FakeSched(), "normal"), lower=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "db_thread_priority = background has no effect here: the system refuses the idle class",
        "db_thread_priority = background has no effect here: the thread's CPU waits cannot be "
        "read (/proc)",
    ]


def test_normal_priority_and_systems_without_the_idle_class_never_move() -> None:
    sched = FakeSched()
    normal = started(Governor(sched, "normal"), lower=False)
    unsupported = started(Governor(FakeSched(supported=False), "background"))
    assert sched.lowered == 0 and not unsupported.background
    for gov in (normal, unsupported):
        for now in (0.0, 10 * WINDOW, 1000.0):
            sched.wait += 100
            assert gov.new_thread_wanted(now) is None


def test_a_thread_whose_waits_cannot_be_read_is_never_lowered() -> None:
    sched = FakeSched(readable=False)
    gov = started(Governor(sched, "background"))
    assert not gov.background and sched.lowered == 0


@linux_only
@pytest.mark.asyncio
async def test_the_database_thread_runs_in_the_idle_class_at_background() -> None:
    cases: list[tuple[DbPriority, int]] = [
        ("background", os.SCHED_IDLE),
        ("normal", os.SCHED_OTHER),
    ]
    for priority, policy in cases:
        db = DbThread(Report(), asyncio.Event(), priority)
        try:
            assert await db.call(os.sched_getscheduler, 0) == policy
        finally:
            await db.aclose(5)


class Starving(LinuxSched):
    """Really lowers the thread, and says it waited a minute for a CPU at each look."""

    def __init__(self) -> None:
        self.wait = 0.0

    def waited(self, tid: int) -> float | None:
        self.wait += 60.0
        return self.wait


@linux_only
@pytest.mark.asyncio
async def test_a_starving_thread_hands_the_work_on_in_order_one_call_at_a_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dbpriority, "WINDOW", 0.01)  # look every 10 ms (the loop's clock)
    db = DbThread(Report(), asyncio.Event(), "background", Starving())
    seen: list[tuple[int, int, int]] = []  # (call number, thread, policy)
    busy = threading.Lock()
    release = threading.Event()

    def work(n: int) -> None:
        assert busy.acquire(blocking=False), "two store calls at once"
        try:
            seen.append((n, threading.get_native_id(), os.sched_getscheduler(0)))
            if n == 0:  # still running on the starving thread when the work moves
                assert release.wait(10)
        finally:
            busy.release()

    try:
        calls = [asyncio.ensure_future(db.call(work, n)) for n in range(12)]
        async with asyncio.timeout(10):  # polling for the move, not timing anything
            while "normal priority for" not in caplog.text:
                await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*calls)
    finally:
        release.set()
        await db.aclose(5)
    assert [n for n, _, _ in seen] == list(range(12))
    assert seen[0][2] == os.SCHED_IDLE
    # Calls 1–11 were queued on the starving thread before the move: they moved with it.
    assert {policy for _, _, policy in seen[1:]} == {os.SCHED_OTHER}
    assert len({tid for _, tid, _ in seen}) == 2


def test_the_configured_drain_takes_the_setting_normal_by_default(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    assert settings.db_thread_priority == "normal"
    priorities: list[DbPriority] = ["background", "normal"]
    for priority in priorities:
        chosen = settings.model_copy(update={"db_thread_priority": priority})
        drain = build_drain(chosen, engine, clock)
        assert drain.config.db_priority == priority


@pytest.mark.asyncio
async def test_a_thread_that_cannot_start_leaves_the_work_where_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = DbThread(Report(), asyncio.Event(), "normal")
    first = await db.call(threading.get_native_id)

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    try:
        assert not db._workers.start(lower=False)  # a move that cannot happen
        assert await db.call(threading.get_native_id) == first
        with pytest.raises(RuntimeError, match="cannot start the drain's database thread"):
            await DbThread(Report(), asyncio.Event(), "normal").call(int)
    finally:
        monkeypatch.undo()
        await db.aclose(5)
