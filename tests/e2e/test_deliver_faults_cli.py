"""`publisher deliver` as a subprocess under faults: a killed drain's rows, a refused return
path, an unreadable DKIM key. A real aiosmtpd counts what arrived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.core.clock import SystemClock
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.integration.conftest import fill, statuses, suppressed
from tests.smtpserver import Behaviour, ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
POOL, MARK_BATCH = 8, 50
BOUND = 2 * MARK_BATCH + POOL


def _env(db: str, smtp_url: str, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")},
        "PYTHONPATH": str(ROOT),
        "PUBLISHER_DEMO": "true",
        "PUBLISHER_DATABASE_URL": db,
        "PUBLISHER_SMTP_URL": smtp_url,
        "PUBLISHER_DELIVERY_RATE": "0",
        "PUBLISHER_DELIVERY_DOMAIN_LIMITS": "{}",
        "PUBLISHER_SMTP_POOL_SIZE": str(POOL),
        "PUBLISHER_MARK_BATCH_SIZE": str(MARK_BATCH),
        **extra,
    }


CMD = [sys.executable, "-m", "publisher", "deliver", "--until-empty"]


@pytest.mark.slow
def test_rows_of_a_killed_drain_are_sent_at_once_by_the_next(tmp_path: Path) -> None:
    n = 1500
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), n)  # type: ignore[arg-type]
    with ThreadedServer(Behaviour(final_delay=0.01)) as smtpd:
        env = _env(db, smtpd.url)  # lease_duration stays at its default, 15 minutes
        record = smtpd.server.record
        proc = subprocess.Popen(CMD, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(record.messages) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the first drain finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert "sending" in statuses(engine)  # the dead drain's leases
        started = time.monotonic()
        done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=300)
        took = time.monotonic() - started
        received = record.recipients()
    assert done.returncode == 0, done.stderr.decode()
    assert statuses(engine) == {"sent": n}  # one run: no 15-minute wait for the leases
    assert took < 120
    assert set(received) == {f"user{i}@example.kr" for i in range(n)}  # 0 lost
    assert sum(c - 1 for c in received.values()) <= BOUND
    engine.dispose()


def test_refused_return_path_pauses_exit_3_and_suppresses_nobody(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sender.db'}"
    engine = make_engine(db)
    upgrade(engine)
    fill(engine, SystemClock(), 300)  # type: ignore[arg-type]
    reply = "553 5.1.8 Sender address rejected: Domain not found"
    with ThreadedServer(Behaviour(mail_reply=lambda _s: reply)) as smtpd:
        done = subprocess.run(
            CMD, cwd=tmp_path, env=_env(db, smtpd.url), capture_output=True, timeout=120
        )
        accepted = len(smtpd.server.record.messages)
    err = done.stderr.decode()
    assert done.returncode == 3, err
    assert "refuses the return path" in err and "5.1.8" in err and "Traceback" not in err
    assert accepted == 0
    assert suppressed(engine) == []
    assert set(statuses(engine)) <= {"queued", "deferred"}
    engine.dispose()


def test_missing_dkim_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dkim.db'}"
    env = _env(
        db,
        f"maildir://{tmp_path / 'mail'}",
        PUBLISHER_DKIM_SELECTOR="s1",
        PUBLISHER_DKIM_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem"),
    )
    done = subprocess.run(CMD, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert "dkim_private_key_file" in err and "missing.pem" in err
