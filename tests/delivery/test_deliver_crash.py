"""Crash safety: kill -9 the drain at random points, restart until empty, count what arrived."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.core.clock import SystemClock
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, statuses
from tests.smtpserver import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
N = 5000
POOL = 8
MARK_BATCH = 50
BOUND = 2 * MARK_BATCH + POOL  # DeliverConfig.duplicate_bound, the README's number


@pytest.mark.slow
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_kill_9_at_random_points_loses_nothing(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """The README's duplicate bound holds on both stores: each kill -9 sends at most
    2 × mark_batch + pool_size messages twice, and nothing is lost."""
    if database == "sqlite":
        db = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        db = request.getfixturevalue("pg_url")
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), N)
    rng = random.Random(20261123)
    with ThreadedServer() as smtpd:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")},
            "PYTHONPATH": str(ROOT),
            "PUBLISHER_DEMO": "true",
            "PUBLISHER_DATABASE_URL": db,
            "PUBLISHER_SMTP_URL": smtpd.url,
            "PUBLISHER_DELIVERY_RATE": "0",
            "PUBLISHER_DELIVERY_DOMAIN_LIMITS": "{}",
            "PUBLISHER_SMTP_POOL_SIZE": str(POOL),
            "PUBLISHER_MARK_BATCH_SIZE": str(MARK_BATCH),
            "PUBLISHER_LEASE_DURATION": "1s",
        }
        cmd = [sys.executable, "-m", "publisher", "deliver", "--until-empty"]
        kills = 0
        for _ in range(4):
            before = len(smtpd.server.record.messages)
            proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
            # Kill once it is really sending, at a random point.
            deadline = time.monotonic() + 30
            while len(smtpd.server.record.messages) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.6))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(30)
            # No wait for the 1 s leases: the next drain frees a dead drain's rows at once.
        for _ in range(20):
            done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, timeout=120)
            assert done.returncode == 0, done.stderr.decode()
            counts = statuses(engine)
            if set(counts) == {"sent"}:
                break
        record = smtpd.server.record
    print(f"kills={kills} duplicates={sum(n - 1 for n in record.recipients().values())}")
    assert kills >= 3
    assert statuses(engine) == {"sent": N}
    received = record.recipients()
    assert set(received) == {f"user{i}@example.kr" for i in range(N)}  # 0 lost
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= kills * BOUND
    # A duplicate is the same message: same Message-ID as its first copy.
    assert len(record.message_ids()) == N
    engine.dispose()


@pytest.mark.slow
def test_sigterm_stops_cleanly_exit_0_nothing_left_sending(tmp_path: Path) -> None:
    from tests.smtpserver import Behaviour

    db = f"sqlite:///{tmp_path / 'term.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 2000)
    with ThreadedServer(Behaviour(final_delay=0.005)) as smtpd:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")},
            "PYTHONPATH": str(ROOT),
            "PUBLISHER_DEMO": "true",
            "PUBLISHER_DATABASE_URL": db,
            "PUBLISHER_SMTP_URL": smtpd.url,
            "PUBLISHER_DELIVERY_RATE": "0",
        }
        cmd = [sys.executable, "-m", "publisher", "deliver"]  # a daemon: no --until-empty
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while len(smtpd.server.record.messages) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        received = len(smtpd.server.record.messages)
    assert proc.returncode == 0, out
    counts = statuses(engine)
    assert "sending" not in counts
    assert counts["sent"] == received  # every accepted message recorded, none twice
    assert 0 < counts["sent"] < 2000 and counts["queued"] == 2000 - counts["sent"]
    engine.dispose()
