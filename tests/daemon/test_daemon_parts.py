"""The daemon's small mechanisms: the connection guard, the accept-error filter, the drain's
supervision backoff, and the systemd unit's limits against the settings' defaults."""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from publisher.core.config import Settings
from publisher.daemon.connguard import FD_HEADROOM, AcceptErrorFilter, ConnectionGuard
from publisher.daemon.process import FLUSH_ALLOWANCE
from publisher.daemon.supervise import Backoff, PartState, supervise

ROOT = Path(__file__).resolve().parents[2]


class Conn:
    def __init__(self, name: str) -> None:
        self.name, self.closed, self.paused = name, False, False

    def close_now(self) -> None:
        self.closed = True

    def reading_paused(self) -> bool:
        return self.paused


def test_at_the_limit_the_slowest_waiting_client_goes_and_busy_ones_stay() -> None:
    now = [0.0]

    async def scenario() -> None:
        guard = ConnectionGuard(max_connections=3, header_timeout=10, clock=lambda: now[0])
        a, b, c = Conn("a"), Conn("b"), Conn("c")
        for conn in (a, b, c):
            assert guard.opened(conn)
            now[0] += 1
        guard.busy(a)  # a's request head arrived: it is being served
        d = Conn("d")
        assert guard.opened(d)
        assert (a.closed, b.closed, c.closed) == (False, True, False), "b waited longest"
        guard.busy(c)
        guard.busy(d)
        assert not guard.opened(Conn("e")), "every slot busy: the newcomer is refused"
        assert guard.refused == 1 and guard.evicted == 1
        guard.waiting(a)  # a's response went out; it now waits for its next head
        now[0] += 11
        guard.sweep()
        assert a.closed and not c.closed and not d.closed, "only a waited past the timeout"
        assert guard.timed_out == 1 and guard.open_count == 2

    asyncio.run(scenario())


def test_a_body_that_falls_behind_is_closed_and_evictable() -> None:
    now = [0.0]

    async def scenario() -> None:
        guard = ConnectionGuard(max_connections=3, header_timeout=10, clock=lambda: now[0])
        trickle, paced, stalled = Conn("trickle"), Conn("paced"), Conn("stalled")
        for conn in (trickle, paced, stalled):
            assert guard.opened(conn)
        # Heads in, bodies arriving: a byte now and then, 1 KiB/s, and one the server
        # stopped reading (its application has not consumed what arrived).
        guard.receiving(trickle, 1)
        guard.receiving(paced, 1024)
        guard.receiving(stalled, 1)
        stalled.paused = True
        for _ in range(30):  # 30 s, one sweep a second
            now[0] += 1
            if not trickle.closed:
                guard.receiving(trickle, 1)
            guard.receiving(paced, 1024)
            guard.sweep()
        assert trickle.closed, "a byte a second is far below the minimum rate"
        assert not paced.closed and not stalled.closed
        assert guard.timed_out == 1
        guard.receiving(trickle, 1)  # late data from a closed connection changes nothing
        assert guard.open_count == 2
        newcomer = Conn("new")
        assert guard.opened(newcomer)
        guard.busy(newcomer)  # its whole request arrived: the application has it
        # At the limit with no head awaited, the upload furthest behind its deadline makes
        # room: the stalled one (10 s + the 30 s it was paused, against paced's 10 s + 31 s).
        assert guard.opened(Conn("late"))
        assert stalled.closed and not paced.closed and not newcomer.closed
        assert guard.evicted == 1

    asyncio.run(scenario())


def test_out_of_descriptors_is_one_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    handler = AcceptErrorFilter(every=60, clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    context = {"message": "socket.accept() out of system resource",
               "exception": OSError(errno.EMFILE, "Too many open files")}  # fmt: skip
    try:
        with caplog.at_level(logging.ERROR, logger="publisher.web"):
            for _ in range(1000):
                handler(loop, context)
                now[0] += 0.01
            now[0] += 60
            handler(loop, context)
    finally:
        loop.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "publisher.web"]
    assert len(lines) == 2, lines
    assert "Too many open files" in lines[0] and "999 more" in lines[1]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_failing_part_is_restarted_with_a_capped_backoff_and_reported() -> None:
    async def scenario() -> tuple[list[str], PartState, list[float]]:
        stop = asyncio.Event()
        attempts: list[float] = []
        loop = asyncio.get_running_loop()

        async def part(_stop: asyncio.Event) -> None:
            attempts.append(loop.time())
            if len(attempts) < 5:
                raise OSError(f"failure {len(attempts)}")
            await _stop.wait()  # the fifth attempt runs until stopped

        state = PartState("drain")
        seen: list[str] = []
        state.listeners.append(lambda s: seen.append("up" if s.up else s.reason))
        backoff = Backoff(first=timedelta(seconds=0.01), cap=timedelta(seconds=0.04),
                          healthy_after=timedelta(seconds=0.05))  # fmt: skip
        task = asyncio.create_task(supervise(part, stop, state, backoff))
        while not (len(attempts) == 5 and state.up and seen[-1:] == ["up"]):
            await asyncio.sleep(0.01)  # polling for the fifth attempt, bounded by wait_for
        stop.set()
        await asyncio.wait_for(task, 5)
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        return seen, state, gaps

    seen, state, gaps = asyncio.run(asyncio.wait_for(scenario(), 10))
    delays = (0.01, 0.02, 0.04, 0.04)
    assert seen[:4] == [
        f"OSError: failure {i} (restarting in {d:g} s)" for i, d in enumerate(delays, start=1)
    ]
    assert seen[-1] == "up" and state.restarts == 4
    assert gaps[3] >= 0.04 and gaps[3] < 1, "capped, not doubled again"


def test_the_systemd_unit_leaves_room_for_the_defaults() -> None:
    unit = (ROOT / "contrib" / "systemd" / "publisher.service").read_text()
    nofile = int(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M).group(1))  # type: ignore[union-attr]
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))  # type: ignore[union-attr]
    s = Settings()
    assert nofile >= s.web_max_connections + FD_HEADROOM
    assert stop > (s.shutdown_grace + FLUSH_ALLOWANCE).total_seconds()
