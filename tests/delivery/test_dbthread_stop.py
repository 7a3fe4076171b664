"""The drain's database thread at its edges: a drain never run, a stop while a call is stuck,
a move that cannot start, a commit its worker stopped waiting for (second review's cases)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from publisher.delivery.dbthread import DbThread
from publisher.delivery.drain import Drain
from publisher.delivery.drainstore import Report
from publisher.delivery.marks import Marks


def _db_threads() -> int:
    return sum(t.name == "outbox-db" for t in threading.enumerate())


def _wait_until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "deadline passed"
        time.sleep(0.001)


def test_a_drain_built_but_not_run_starts_no_thread(make_drain: Callable[..., Drain]) -> None:
    # The daemon builds a drain on every `deliver` tick and drops it while the relay is down.
    before = _db_threads()
    for _ in range(20):
        make_drain("smtp://127.0.0.1:9")
    assert _db_threads() == before


@pytest.mark.asyncio
async def test_a_stop_does_not_freeze_the_loop_on_a_call_stuck_on_a_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock (a backup)
    started = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        started.set()
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.close()

    db = DbThread(Report(), asyncio.Event(), "normal")
    call = asyncio.ensure_future(db.call(write))
    await asyncio.to_thread(started.wait, 5)
    call.cancel()  # the daemon cancels a drain that outlives its grace
    ticks = 0

    async def ticker() -> None:  # stands for the web app on the same loop
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    served = asyncio.ensure_future(ticker())
    try:
        await db.aclose(0.2)
    finally:
        served.cancel()
        holder.close()  # the stuck call then fails and its thread ends
    assert ticks > 0, "the event loop was frozen while the drain stopped"
    assert "still in a store call after 0.2 s at stop: left behind" in caplog.text
    assert any(r.levelname == "ERROR" for r in caplog.records)


@pytest.mark.asyncio
async def test_a_move_that_cannot_start_while_a_call_finishes_keeps_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = DbThread(Report(), asyncio.Event(), "normal")
    await db.call(int)
    workers = db._workers
    old = workers._current
    assert old is not None
    running, release = threading.Event(), threading.Event()

    def slow() -> None:
        running.set()
        assert release.wait(5)

    first = asyncio.ensure_future(db.call(slow))
    await asyncio.to_thread(running.wait, 5)

    def refuse(self: threading.Thread) -> None:
        # pthread_create fails just as the running call ends: the old thread looks for its
        # next call while the move is under way.
        release.set()
        _wait_until(lambda: not workers._busy)
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    try:
        assert not workers.start(lower=False)  # the work stays where it is
    finally:
        monkeypatch.undo()
    await first
    try:
        assert await asyncio.wait_for(db.call(int, 7), 5) == 7
        assert old.is_alive()
    finally:
        await db.aclose(5)


class Recording:
    """A drain store's ``apply``: the first commit takes a while (a slow database)."""

    def __init__(self) -> None:
        self.applied: list[list[int]] = []
        self.running, self.release = threading.Event(), threading.Event()

    def apply(self, sent: list[int], others: list[Any]) -> None:
        if not self.applied:
            self.running.set()
            assert self.release.wait(5)
        self.applied.append(list(sent))


@pytest.mark.asyncio
async def test_a_commit_whose_worker_was_cancelled_is_applied_once() -> None:
    db = DbThread(Report(), asyncio.Event(), "normal")
    store = Recording()
    marks = Marks(store, db, 1)  # type: ignore[arg-type]
    marks.sent = [1]
    await marks.commit_if_full()  # batch [1] commits in the background
    await asyncio.to_thread(store.running.wait, 5)
    marks.sent = [2]
    worker = asyncio.ensure_future(marks.commit_if_full())  # waits for batch [1]
    await asyncio.sleep(0)
    worker.cancel()  # the drain cancels workers still busy at shutdown_grace
    await asyncio.gather(worker, return_exceptions=True)
    store.release.set()  # batch [1]'s call had already started: it commits
    try:
        await marks.settle()
        await marks.flush(asyncio.get_running_loop().time() + 5)  # as the drain's stop
    finally:
        await db.aclose(5)
    assert sorted(i for batch in store.applied for i in batch) == [1, 2], store.applied
